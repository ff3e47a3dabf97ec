package event

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"encoding/json"
)

// FieldError says which field of a record is wrong and why. Field is the JSON path ("" for the
// record as a whole).
type FieldError struct {
	Field   string
	Problem string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Problem
	}
	return e.Field + ": " + e.Problem
}

// ErrInvalid is wrapped by every validation error, so callers can tell bad input from failures.
var ErrInvalid = errors.New("invalid record")

func (e *FieldError) Unwrap() error { return ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)}
}

// validVersion accepts major.minor, such as 1.0, 1.05 and 1.11.
func validVersion(v string) bool {
	dot := strings.IndexByte(v, '.')
	if dot < 1 || dot > 3 || len(v)-dot-1 < 1 || len(v)-dot-1 > 3 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if i != dot && (v[i] < '0' || v[i] > '9') {
			return false
		}
	}
	return true
}

// TimeLayout is how CloudTrail writes eventTime.
const TimeLayout = "2006-01-02T15:04:05Z"

// Parse parses and validates one record. raw is kept as Record.Raw without copying, and the
// record's strings and raw fields are views into it: the caller must not modify raw afterwards,
// and must copy (strings.Clone) any value it keeps longer than raw lives.
func Parse(raw []byte) (*Record, error) {
	if len(raw) > MaxRecordBytes {
		return nil, invalid("", "record is %d bytes, over the %d-byte limit", len(raw), MaxRecordBytes)
	}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, invalid("", "record is not a JSON object")
	}
	if !utf8.Valid(raw) {
		return nil, invalid("", "record is not valid UTF-8 (first bad byte at offset %d)", badUTF8Offset(raw))
	}
	r := &Record{Raw: raw}
	sc := scanner{b: trimmed}
	if err := sc.record(r); err != nil {
		return nil, err
	}
	sc.ws()
	if sc.pos != len(trimmed) {
		return nil, sc.errorf("data after the record's closing brace")
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Record) validate() error {
	if r.EventVersion != "" && !validVersion(r.EventVersion) {
		return invalid("eventVersion", "%q is not a version such as %q", r.EventVersion, CurrentVersion)
	}
	if r.EventTimeText != "" {
		t, err := ParseTime(r.EventTimeText)
		if err != nil {
			return invalid("eventTime", "%q is not a time such as %q", r.EventTimeText, TimeLayout)
		}
		r.EventTime = t
	}
	if r.RecipientAccountID != "" && !IsAccountID(r.RecipientAccountID) {
		return invalid("recipientAccountId", "%q is not a 12-digit account ID", r.RecipientAccountID)
	}
	switch r.Category() {
	case CategoryInsight:
		if r.InsightDetails == nil {
			return invalid("insightDetails", "missing (required in Insights records)")
		}
	case CategoryConfigurationItem, CategoryActivityAuditLog:
		// Lake record kinds carry eventData instead of eventName and eventSource.
	default:
		if r.EventName == "" {
			return invalid("eventName", "missing")
		}
		if r.EventSource == "" {
			return invalid("eventSource", "missing")
		}
	}
	return nil
}

// ParseTime accepts CloudTrail's eventTime layout and any RFC 3339 time, returning UTC.
func ParseTime(s string) (time.Time, error) {
	if t, err := time.Parse(TimeLayout, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// IsAccountID reports whether s is a 12-digit AWS account ID.
func IsAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func badUTF8Offset(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// Stamp returns raw with the given string fields added at the end of the top-level object.
// The producer's bytes before them are unchanged. Values are JSON-escaped.
func Stamp(raw []byte, fields ...[2]string) []byte {
	if len(fields) == 0 {
		return raw
	}
	end := bytes.LastIndexByte(raw, '}')
	if end < 0 {
		return raw
	}
	body := bytes.TrimRight(raw[:end], " \t\r\n")
	out := make([]byte, 0, len(raw)+64*len(fields))
	out = append(out, body...)
	empty := len(bytes.TrimSpace(body)) == 1 // just "{"
	for i, f := range fields {
		if i > 0 || !empty {
			out = append(out, ',')
		}
		out = append(out, '"')
		out = append(out, f[0]...)
		out = append(out, '"', ':')
		out = appendJSONString(out, f[1])
	}
	out = append(out, '}')
	return out
}

// appendJSONString appends s as a JSON string literal.
func appendJSONString(dst []byte, s string) []byte {
	b, _ := json.Marshal(s)
	return append(dst, b...)
}
