package trail

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/event"
)

// makeEvent builds a journal-style event from a few record fields.
func makeEvent(t *testing.T, fields map[string]any) *Event {
	t.Helper()
	rec := map[string]any{"eventVersion": "1.11", "eventTime": "2026-01-01T00:00:00Z", "eventSource": "ec2.amazonaws.com", "eventName": "RunInstances",
		"awsRegion": "us-east-1", "eventID": "e1", "recipientAccountId": acct, "eventType": "AwsApiCall"}
	for k, v := range fields {
		rec[k] = v
	}
	raw, _ := json.Marshal(rec)
	r, err := event.Parse(raw)
	if err != nil {
		t.Fatalf("event %s: %v", raw, err)
	}
	return &Event{Summary: r.Summary(), Raw: raw}
}

func TestSelectorsConformance(t *testing.T) {
	b, err := os.ReadFile("testdata/selectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name  string
		Trail struct {
			EventSelectors         []EventSelector
			AdvancedEventSelectors []AdvancedEventSelector
		}
		Event map[string]any
		Want  bool
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		tr := &Trail{EventSelectors: c.Trail.EventSelectors, AdvancedEventSelectors: c.Trail.AdvancedEventSelectors}
		if tr.EventSelectors != nil {
			if _, err := CheckEventSelectors(tr.EventSelectors); err != nil {
				t.Errorf("%s: selectors rejected: %v", c.Name, err)
			}
		}
		if tr.AdvancedEventSelectors != nil {
			if err := CheckAdvancedEventSelectors(tr.AdvancedEventSelectors); err != nil {
				t.Errorf("%s: selectors rejected: %v", c.Name, err)
			}
		}
		if got := tr.Selects(makeEvent(t, c.Event)); got != c.Want {
			t.Errorf("%s: Selects = %v, want %v", c.Name, got, c.Want)
		}
	}
}

func TestSelectorValidation(t *testing.T) {
	for _, c := range []struct {
		name string
		adv  []AdvancedEventSelector
	}{
		{"no eventCategory", []AdvancedEventSelector{{FieldSelectors: []FieldSelector{{Field: "eventName", Equals: []string{"x"}}}}}},
		{"unknown field", []AdvancedEventSelector{{FieldSelectors: []FieldSelector{{Field: "eventCategory", Equals: []string{"Management"}}, {Field: "bogus", Equals: []string{"x"}}}}}},
		{"data without resources.type", []AdvancedEventSelector{{FieldSelectors: []FieldSelector{{Field: "eventCategory", Equals: []string{"Data"}}}}}},
		{"no condition", []AdvancedEventSelector{{FieldSelectors: []FieldSelector{{Field: "eventCategory", Equals: []string{"Management"}}, {Field: "eventName"}}}}},
		{"readOnly not boolean", []AdvancedEventSelector{{FieldSelectors: []FieldSelector{{Field: "eventCategory", Equals: []string{"Management"}}, {Field: "readOnly", Equals: []string{"yes"}}}}}},
	} {
		if err := CheckAdvancedEventSelectors(c.adv); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
	if _, err := CheckEventSelectors([]EventSelector{{DataResources: []DataResource{{Type: "AWS::EC2::Instance", Values: []string{"arn:aws:ec2"}}}}}); err == nil {
		t.Error("basic selector with an unsupported data resource type accepted")
	}
	if _, err := CheckEventSelectors(make([]EventSelector, 6)); err == nil {
		t.Error("six basic selectors accepted")
	}
}

// Routing: account, organisation (including an account that joins later), region, global
// service events and logging periods.
func TestRouter(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	logging := []Period{{Start: start}}
	single := &Trail{ARN: "single", Account: acct, HomeRegion: "eu-west-1", IncludeGlobalServiceEvents: true, Logging: logging}
	noGlobal := &Trail{ARN: "noglobal", Account: acct, HomeRegion: "us-east-1", Logging: logging}
	multi := &Trail{ARN: "multi", Account: acct, HomeRegion: "us-east-1", IsMultiRegionTrail: true, IncludeGlobalServiceEvents: true, Logging: logging}
	org := &Trail{ARN: "org", Account: acct, HomeRegion: "us-east-1", IsMultiRegionTrail: true, IncludeGlobalServiceEvents: true, IsOrganizationTrail: true, OrganizationID: "o-abcdefghij", Logging: logging}
	stopped := &Trail{ARN: "stopped", Account: acct, HomeRegion: "us-east-1", IsMultiRegionTrail: true, IncludeGlobalServiceEvents: true, Logging: []Period{{Start: start, Stop: start.Add(time.Hour)}}}
	trails := []*Trail{single, noGlobal, multi, org, stopped}
	route := func(r *Router, at time.Time, fields map[string]any) []string {
		var names []string
		for _, tr := range r.Route(makeEvent(t, fields), at, nil) {
			names = append(names, tr.ARN)
		}
		return names
	}
	r := NewRouter(trails, map[string][]string{"o-abcdefghij": {acct}})
	at := start.Add(2 * time.Hour)
	for _, c := range []struct {
		name   string
		fields map[string]any
		want   string
	}{
		{"eu-west-1 event", map[string]any{"awsRegion": "eu-west-1"}, "[single multi org]"},
		{"us-east-1 event", map[string]any{}, "[noglobal multi org]"},
		{"global IAM event", map[string]any{"eventSource": "iam.amazonaws.com"}, "[single multi org]"},
		{"member account not yet in the organisation", map[string]any{"recipientAccountId": "444455556666"}, "[]"},
	} {
		if got := fmt.Sprint(route(r, at, c.fields)); got != c.want {
			t.Errorf("%s: routed to %s, want %s", c.name, got, c.want)
		}
	}
	// The account joins: the organisation trail covers it without being touched.
	r = NewRouter(trails, map[string][]string{"o-abcdefghij": {acct, "444455556666"}})
	if got := fmt.Sprint(route(r, at, map[string]any{"recipientAccountId": "444455556666"})); got != "[org]" {
		t.Errorf("joined account: routed to %s, want [org]", got)
	}
	// While the stopped trail was logging, it received events.
	if got := fmt.Sprint(route(r, start.Add(time.Minute), map[string]any{"awsRegion": "ap-south-1"})); got != "[multi org stopped]" {
		t.Errorf("during the stopped trail's logging period: %s", got)
	}
}
