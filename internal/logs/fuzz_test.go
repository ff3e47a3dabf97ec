package logs

import (
	"errors"
	"testing"
)

// FuzzParseGroupARN: any input is either a log group ARN that round-trips or an
// InvalidParameterException.
func FuzzParseGroupARN(f *testing.F) {
	for _, s := range []string{"arn:aws:logs:us-east-1:123456789012:log-group:CloudTrail/Default:*",
		"arn:aws:logs:eu-west-1:1:log-group:a", "arn:aws:logs:::log-group::*", "arn:aws:s3:::b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arn string) {
		account, region, name, err := ParseGroupARN(arn)
		if err != nil {
			if !errors.Is(err, ErrInvalidParameter) {
				t.Fatalf("%q: %v is not InvalidParameterException", arn, err)
			}
			return
		}
		a2, r2, n2, err := ParseGroupARN(GroupARN(account, region, name))
		if err != nil || a2 != account || r2 != region || n2 != name {
			t.Fatalf("%q → (%q, %q, %q) does not round-trip: %q %q %q %v", arn, account, region, name, a2, r2, n2, err)
		}
	})
}

// FuzzParsePosition: pagination tokens round-trip or are rejected as invalid.
func FuzzParsePosition(f *testing.F) {
	for _, s := range []string{"f/1700000000000/12", "b/0/0", "e/-5/3", "f//", "x/1/2", "f/1/2/3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		p, dir, err := parsePosition(tok, "f", "b", "e")
		if err != nil {
			if !errors.Is(err, ErrInvalidParameter) {
				t.Fatalf("%q: %v", tok, err)
			}
			return
		}
		if q, d2, err := parsePosition(p.token(dir), dir); err != nil || q != p || d2 != dir {
			t.Fatalf("%q → %+v %q does not round-trip", tok, p, dir)
		}
	})
}
