package objstore

import (
	"strings"
	"testing"
	"time"
)

func TestParseRule(t *testing.T) {
	const day = 24 * time.Hour
	for _, c := range []struct {
		in   string
		want Rule
		err  string // a word the error must hold; "" = valid
	}{
		{in: "audit-logs/AWSLogs:cold=90d,expire=2555d", want: Rule{Bucket: "audit-logs", Prefix: "AWSLogs", TransitionAfter: 90 * day, ExpireAfter: 2555 * day}},
		{in: "audit-logs:expire=30d", want: Rule{Bucket: "audit-logs", ExpireAfter: 30 * day}},
		{in: "audit-logs/AWSLogs/111122223333/:cold=1d", want: Rule{Bucket: "audit-logs", Prefix: "AWSLogs/111122223333/", TransitionAfter: day}},
		{in: "audit-logs", err: "BUCKET[/PREFIX]"},
		{in: "audit-logs:", err: "BUCKET[/PREFIX]"},
		{in: "Audit_Logs:expire=1d", err: "invalid bucket name"},
		{in: "audit-logs:expire=30", err: "positive number of days"},
		{in: "audit-logs:expire=0d", err: "positive number of days"},
		{in: "audit-logs:expire=-1d", err: "positive number of days"},
		{in: "audit-logs:delete=1d", err: "unknown action"},
		{in: "audit-logs:cold=30d,expire=30d", err: "cold must come before expire"},
	} {
		r, err := ParseRule(c.in)
		if c.err == "" {
			if err != nil || r != c.want {
				t.Errorf("ParseRule(%q) = %+v, %v; want %+v", c.in, r, err, c.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), c.in) {
			t.Errorf("ParseRule(%q) = %+v, %v; want an error naming the rule and %q", c.in, r, err, c.err)
		}
	}
}
