// Package redact is the one place that removes secrets from text: log lines,
// error messages, URLs and configuration dumps all go through it.
//
// A secret is caught in the forms it takes when other code prints it: as is,
// URL-escaped (query form with '+' for a space, path form, user-info form,
// upper- or lower-case %XX), JSON-escaped and Go-quoted. A password in a
// URL's user info (scheme://user:password@host) is removed whether or not it
// is a known secret.
package redact

import (
	"encoding/json"

	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Mark replaces a secret in text.
const Mark = "<redacted>"

// URLMark replaces the password of a URL's user info where the result must
// stay a valid URL (the configuration dump).
const URLMark = "redacted"

// Redactor removes a fixed set of secrets from text. The zero value and a nil
// *Redactor remove only URL user-info passwords.
type Redactor struct {
	forms []string // every form of every secret, longest first
}

// New returns a Redactor for secrets; empty and blank secrets are ignored.
func New(secrets ...string) *Redactor {
	r := &Redactor{}
	seen := map[string]bool{}
	for _, s := range secrets {
		if strings.TrimSpace(s) == "" {
			continue
		}
		for _, f := range forms(s) {
			if f != "" && !seen[f] {
				seen[f] = true
				r.forms = append(r.forms, f)
			}
		}
	}
	// Longest first: a form that contains another is replaced whole.
	slices.SortStableFunc(r.forms, func(a, b string) int { return len(b) - len(a) })
	return r
}

// forms lists the spellings of secret that printed text may contain: as is
// and URL-escaped, each of these also JSON-escaped and Go-quoted, and those
// escaped once more (a quoted error inside a quoted log field).
func forms(secret string) []string {
	userinfo := strings.TrimPrefix(url.UserPassword("", secret).String(), ":")
	out := []string{secret}
	for _, esc := range []string{url.QueryEscape(secret), url.PathEscape(secret), userinfo} {
		out = append(out, esc, lowerHex(esc))
	}
	for range 2 {
		for _, f := range out {
			out = append(out, quoted(f), jsonEscaped(f))
		}
	}
	return out
}

func quoted(s string) string {
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

func jsonEscaped(s string) string {
	j, err := json.Marshal(s)
	if err != nil {
		return s
	}
	return string(j[1 : len(j)-1])
}

var hexEscape = regexp.MustCompile(`%[0-9A-F]{2}`)

func lowerHex(s string) string { return hexEscape.ReplaceAllStringFunc(s, strings.ToLower) }

// userinfoPassword matches scheme://user:password@ in any text.
var userinfoPassword = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@:]*):[^\s/?#@]*@`)

// String returns text with every secret (in any of its forms) and every URL
// user-info password replaced by Mark.
func (r *Redactor) String(text string) string {
	if r != nil {
		for _, f := range r.forms {
			if strings.Contains(text, f) {
				text = strings.ReplaceAll(text, f, Mark)
			}
		}
	}
	if strings.Contains(text, "@") {
		text = userinfoPassword.ReplaceAllString(text, "${1}:"+Mark+"@")
	}
	return text
}

// Bytes is String for a byte slice; it returns b itself when nothing matched.
func (r *Redactor) Bytes(b []byte) []byte {
	s := string(b)
	if out := r.String(s); out != s {
		return []byte(out)
	}
	return b
}

// Error returns err with its text redacted; errors.Is and errors.As still see
// the original chain. It returns err itself when its text holds nothing secret.
func (r *Redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if out := r.String(msg); out != msg {
		return &redactedError{msg: out, err: err}
	}
	return err
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// String is New(secrets...).String(text), for a one-off.
func String(text string, secrets ...string) string { return New(secrets...).String(text) }

// Error is New(secrets...).Error(err), for a one-off.
func Error(err error, secrets ...string) error { return New(secrets...).Error(err) }

// URL returns raw with the password of its user info replaced by URLMark
// (user:redacted@host), still a valid URL. Text that does not parse as a URL
// goes through String instead.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return New().String(raw)
	}
	if u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), URLMark)
	}
	return u.String()
}

// Host returns scheme://host of a URL, without user info, path or query, for logs.
func Host(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(unparsable URL)"
	}
	return u.Scheme + "://" + u.Host
}

// MaxShownValue is the longest value that Value shows. A user who pastes a
// token or a password under the wrong key must not see it echoed back, yet
// short typos are worth showing; tokens are far longer than this.
const MaxShownValue = 12

// Value shows a value of unknown secrecy in a message: quoted when it is
// short, otherwise only its length ("a 23-character value").
func Value(s string) string {
	if n := utf8.RuneCountInString(s); n > MaxShownValue {
		return fmt.Sprintf("a %d-character value", n)
	}
	return strconv.Quote(s)
}

// quotedExcerpt matches the parts of a parser's message that repeat the
// input: 'single-quoted' and `back-quoted` excerpts.
var quotedExcerpt = regexp.MustCompile("'[^'\n]*'|`[^`\n]*`")

// Excerpts passes every quoted excerpt of a parser's message (yaml.v3 quotes
// what it read with '…' or `…`) through Value.
func Excerpts(msg string) string {
	return quotedExcerpt.ReplaceAllStringFunc(msg, func(m string) string {
		return Value(m[1 : len(m)-1])
	})
}
