package importer

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cairn-dev/cairn/internal/event"
	"github.com/cairn-dev/cairn/internal/logfile"
)

// Filter selects the events an import records. The zero Filter selects every event.
type Filter struct {
	Start, End time.Time // eventTime bounds, inclusive; zero means unbounded
	Accounts   []string  // recipientAccountId; empty means any
	Regions    []string  // awsRegion; empty means any
}

// deliverySlack allows for clocks: an event is never delivered much before its eventTime.
const deliverySlack = 15 * time.Minute

// Validate reports what is wrong with a filter.
func (f Filter) Validate() error {
	if !f.Start.IsZero() && !f.End.IsZero() && f.Start.After(f.End) {
		return fmt.Errorf("start time %s is after end time %s", f.Start.Format(time.RFC3339), f.End.Format(time.RFC3339))
	}
	for _, a := range f.Accounts {
		if !event.IsAccountID(a) {
			return fmt.Errorf("account %q is not a 12-digit account ID", a)
		}
	}
	for _, r := range f.Regions {
		if r == "" || strings.Trim(r, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" || !strings.Contains(r, "-") {
			return fmt.Errorf("region %q is not a region name such as us-east-1", r)
		}
	}
	return nil
}

// IsZero reports whether f selects every event.
func (f Filter) IsZero() bool {
	return f.Start.IsZero() && f.End.IsZero() && len(f.Accounts) == 0 && len(f.Regions) == 0
}

// String is f in the canonical form the ledger keeps: "" for the zero Filter, otherwise
// ";"-separated start=, end=, account=, region= parts with sorted lists.
func (f Filter) String() string {
	var parts []string
	if !f.Start.IsZero() {
		parts = append(parts, "start="+f.Start.UTC().Format(time.RFC3339Nano))
	}
	if !f.End.IsZero() {
		parts = append(parts, "end="+f.End.UTC().Format(time.RFC3339Nano))
	}
	if len(f.Accounts) > 0 {
		parts = append(parts, "account="+strings.Join(sortedSet(f.Accounts), ","))
	}
	if len(f.Regions) > 0 {
		parts = append(parts, "region="+strings.Join(sortedSet(f.Regions), ","))
	}
	return strings.Join(parts, ";")
}

func sortedSet(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

// ParseFilter parses Filter.String's form.
func ParseFilter(s string) (Filter, error) {
	var f Filter
	if s == "" {
		return f, nil
	}
	for _, part := range strings.Split(s, ";") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return f, fmt.Errorf("filter %q: part %q has no '='", s, part)
		}
		var err error
		switch k {
		case "start":
			f.Start, err = time.Parse(time.RFC3339Nano, v)
		case "end":
			f.End, err = time.Parse(time.RFC3339Nano, v)
		case "account":
			f.Accounts = strings.Split(v, ",")
		case "region":
			f.Regions = strings.Split(v, ",")
		default:
			err = fmt.Errorf("unknown part %q", k)
		}
		if err != nil {
			return f, fmt.Errorf("filter %q: %w", s, err)
		}
	}
	return f, nil
}

// MatchKey reports whether a file in CloudTrail's layout may hold events f selects: its
// account and region folders are selected, and it was not delivered before f's start.
func (f Filter) MatchKey(info logfile.KeyInfo) bool {
	if len(f.Accounts) > 0 && !slices.Contains(f.Accounts, info.Account) {
		return false
	}
	if len(f.Regions) > 0 && !slices.Contains(f.Regions, info.Region) {
		return false
	}
	if !f.Start.IsZero() && info.Kind != logfile.Digest && info.Time.Add(time.Minute+deliverySlack).Before(f.Start) {
		return false
	}
	return true
}

// Match reports whether f selects an event. A record without an eventTime is outside any
// time bound.
func (f Filter) Match(r *event.Record) bool {
	if len(f.Accounts) > 0 && !slices.Contains(f.Accounts, r.RecipientAccountID) {
		return false
	}
	if len(f.Regions) > 0 && !slices.Contains(f.Regions, r.AWSRegion) {
		return false
	}
	if !f.Start.IsZero() || !f.End.IsZero() {
		if r.EventTime.IsZero() || (!f.Start.IsZero() && r.EventTime.Before(f.Start)) || (!f.End.IsZero() && r.EventTime.After(f.End)) {
			return false
		}
	}
	return true
}
