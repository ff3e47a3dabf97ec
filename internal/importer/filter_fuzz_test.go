package importer

import (
	"testing"
	"time"
)

// ParseFilter reads the filters the ledger keeps: it must never panic, and a filter it
// accepts must come back the same through String.
func FuzzParseFilter(f *testing.F) {
	f.Add("")
	f.Add(Filter{Start: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Accounts: []string{"123456789012", "111122223333"}, Regions: []string{"us-east-1"}}.String())
	f.Add("end=2026-01-01T00:00:00Z;region=eu-west-1,us-east-1")
	f.Add("start=x;;account=")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseFilter(s)
		if err != nil || p.Validate() != nil {
			return
		}
		again, err := ParseFilter(p.String())
		if err != nil {
			t.Fatalf("ParseFilter(%q).String() = %q does not parse: %v", s, p.String(), err)
		}
		if again.String() != p.String() {
			t.Fatalf("%q → %q → %q", s, p.String(), again.String())
		}
	})
}
