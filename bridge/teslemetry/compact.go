package teslemetry

import (
	"bytes"
	"encoding/json"
)

// jsonCompact appends v without insignificant white space; v must be valid JSON.
func jsonCompact(dst, v []byte) []byte {
	b := bytes.NewBuffer(dst)
	if err := json.Compact(b, v); err != nil {
		return append(dst, v...)
	}
	return b.Bytes()
}
