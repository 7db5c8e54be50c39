package ha

import "testing"

// CheckSiteState decodes a site discovery config and checks that Home
// Assistant can show the state payload renders to (sites_state_test.go, an
// external test that may import the decoder, which imports this package).
func CheckSiteState(t *testing.T, m Message, payload []byte) error {
	t.Helper()
	return checkState(decode(t, m), string(payload))
}

// StateTopicOf returns the state topic of a config.
func StateTopicOf(t *testing.T, m Message) string {
	t.Helper()
	return decode(t, m).str("state_topic")
}
