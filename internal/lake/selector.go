package lake

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/cairn-dev/cairn/internal/event"
)

// Selector is an advanced event selector (the AWS shape): an event is selected when every field
// selector holds. A store selects an event when any of its selectors does.
type Selector struct {
	Name           string          `json:"Name,omitempty"`
	FieldSelectors []FieldSelector `json:"FieldSelectors"`
}

// FieldSelector tests one field. Values of one operator are alternatives (OR); the operators of
// one field selector must all hold (AND).
type FieldSelector struct {
	Field         string   `json:"Field"`
	Equals        []string `json:"Equals,omitempty"`
	StartsWith    []string `json:"StartsWith,omitempty"`
	EndsWith      []string `json:"EndsWith,omitempty"`
	NotEquals     []string `json:"NotEquals,omitempty"`
	NotStartsWith []string `json:"NotStartsWith,omitempty"`
	NotEndsWith   []string `json:"NotEndsWith,omitempty"`
}

// Limits on selectors, from the API reference.
const (
	maxSelectors       = 5
	maxConditionValues = 500
	maxValueLength     = 2048
	maxFieldLength     = 1000
	maxSelectorName    = 1000
)

// DefaultSelectors are what a store created without selectors gets: every management event.
func DefaultSelectors() []Selector {
	return []Selector{{Name: "Default management events", FieldSelectors: []FieldSelector{{Field: "eventCategory", Equals: []string{event.CategoryManagement}}}}}
}

// The fields each event category may filter on in an event data store (API_AdvancedFieldSelector).
var categoryFields = map[string][]string{
	event.CategoryManagement:        {"eventCategory", "eventSource", "readOnly", "eventName", "eventType", "sessionCredentialFromConsole", "userIdentity.arn"},
	event.CategoryData:              {"eventCategory", "eventName", "eventSource", "eventType", "resources.type", "resources.ARN", "readOnly", "sessionCredentialFromConsole", "userIdentity.arn"},
	event.CategoryNetworkActivity:   {"eventCategory", "eventSource", "eventName", "errorCode", "vpcEndpointId"},
	event.CategoryInsight:           {"eventCategory"},
	event.CategoryConfigurationItem: {"eventCategory"},
	event.CategoryActivityAuditLog:  {"eventCategory"},
}

// group is the kind of store a category belongs in: one store holds one group only.
func group(category string) string {
	switch category {
	case event.CategoryManagement, event.CategoryData, event.CategoryNetworkActivity:
		return "CloudTrail events"
	case event.CategoryInsight:
		return "Insights events"
	case event.CategoryConfigurationItem:
		return "configuration items"
	}
	return "events from integrations"
}

func kindOf(category string) Kind {
	switch category {
	case event.CategoryConfigurationItem:
		return KindConfig
	case event.CategoryActivityAuditLog:
		return KindActivity
	}
	return KindEvents
}

var fieldPattern = regexp.MustCompile(`^[\w|\d|\.|_]+$`)

// validateSelectors checks selectors as CloudTrail does for an event data store and returns the
// kind of store they describe and its category group.
func validateSelectors(sels []Selector) (Kind, string, error) {
	bad := func(format string, args ...any) (Kind, string, error) {
		return 0, "", fail(ErrInvalidSelectors, format, args...)
	}
	if len(sels) == 0 {
		return bad("AdvancedEventSelectors is empty; omit it to log every management event")
	}
	if len(sels) > maxSelectors {
		return bad("an event data store takes at most %d advanced event selectors; %d were given", maxSelectors, len(sels))
	}
	values := 0
	storeGroup := ""
	kind := KindEvents
	for i, s := range sels {
		where := "AdvancedEventSelectors[" + strconv.Itoa(i) + "]"
		if len(s.Name) > maxSelectorName {
			return bad("%s: Name is longer than %d characters", where, maxSelectorName)
		}
		if len(s.FieldSelectors) == 0 {
			return bad("%s: FieldSelectors is empty", where)
		}
		category := ""
		seen := map[string]bool{}
		for j, f := range s.FieldSelectors {
			fw := where + ".FieldSelectors[" + strconv.Itoa(j) + "]"
			if f.Field == "" || len(f.Field) > maxFieldLength || !fieldPattern.MatchString(f.Field) {
				return bad("%s: Field %q is not a field name", fw, f.Field)
			}
			if seen[f.Field] {
				return bad("%s: the field %s appears twice in one selector", fw, f.Field)
			}
			seen[f.Field] = true
			ops := 0
			for _, op := range f.operators() {
				if op.values == nil {
					continue
				}
				ops++
				if len(op.values) == 0 {
					return bad("%s: %s is empty", fw, op.name)
				}
				for _, v := range op.values {
					if v == "" || len(v) > maxValueLength {
						return bad("%s: %s values must be 1 to %d characters", fw, op.name, maxValueLength)
					}
				}
				values += len(op.values)
			}
			if ops == 0 {
				return bad("%s: the field %s has no operator (Equals, StartsWith, EndsWith, NotEquals, NotStartsWith, NotEndsWith)", fw, f.Field)
			}
			switch f.Field {
			case "eventCategory", "readOnly", "resources.type":
				if ops != 1 || len(f.Equals) == 0 {
					return bad("%s: %s takes only the Equals operator", fw, f.Field)
				}
			}
			switch f.Field {
			case "eventCategory":
				if len(f.Equals) != 1 {
					return bad("%s: eventCategory takes exactly one value", fw)
				}
				category = f.Equals[0]
			case "readOnly":
				for _, v := range f.Equals {
					if v != "true" && v != "false" {
						return bad("%s: readOnly must be \"true\" or \"false\", not %q", fw, v)
					}
				}
			}
		}
		if category == "" {
			return bad("%s: a selector must set eventCategory (Equals Management, Data, NetworkActivity, Insight, ConfigurationItem or ActivityAuditLog)", where)
		}
		if category == "Evidence" {
			return bad("%s: eventCategory Evidence is AWS Audit Manager evidence, which cairn does not collect", where)
		}
		allowed, ok := categoryFields[category]
		if !ok {
			return bad("%s: eventCategory %q is not one of Management, Data, NetworkActivity, Insight, ConfigurationItem or ActivityAuditLog", where, category)
		}
		for _, f := range s.FieldSelectors {
			if !containsString(allowed, f.Field) {
				return bad("%s: the field %s cannot select %s events; allowed: %s", where, f.Field, category, strings.Join(allowed, ", "))
			}
		}
		switch {
		case category == event.CategoryData && !seen["resources.type"]:
			return bad("%s: data event selectors must set resources.type", where)
		case category == event.CategoryNetworkActivity && !seen["eventSource"]:
			return bad("%s: network activity event selectors must set eventSource", where)
		}
		g := group(category)
		if storeGroup != "" && g != storeGroup {
			return bad("one event data store holds %s or %s, not both: create a store for each", storeGroup, g)
		}
		storeGroup = g
		kind = kindOf(category)
	}
	if values > maxConditionValues {
		return bad("the selectors have %d condition values; an event data store allows %d", values, maxConditionValues)
	}
	return kind, storeGroup, nil
}

type operator struct {
	name   string
	values []string
}

func (f *FieldSelector) operators() [6]operator {
	return [6]operator{{"Equals", f.Equals}, {"StartsWith", f.StartsWith}, {"EndsWith", f.EndsWith},
		{"NotEquals", f.NotEquals}, {"NotStartsWith", f.NotStartsWith}, {"NotEndsWith", f.NotEndsWith}}
}

// holds reports whether v satisfies every operator of f.
func (f *FieldSelector) holds(v string) bool {
	if f.Equals != nil && !containsString(f.Equals, v) {
		return false
	}
	if f.StartsWith != nil && !anyMatch(f.StartsWith, v, strings.HasPrefix) {
		return false
	}
	if f.EndsWith != nil && !anyMatch(f.EndsWith, v, strings.HasSuffix) {
		return false
	}
	if containsString(f.NotEquals, v) || anyMatch(f.NotStartsWith, v, strings.HasPrefix) || anyMatch(f.NotEndsWith, v, strings.HasSuffix) {
		return false
	}
	return true
}

func anyMatch(list []string, v string, match func(s, affix string) bool) bool {
	for _, a := range list {
		if match(v, a) {
			return true
		}
	}
	return false
}

func containsString(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// candidate is an event being routed: its journal summary, and the record parsed on demand for
// the fields the summary lacks.
type candidate struct {
	sum    event.Summary
	raw    []byte
	rec    *event.Record
	parsed bool
}

func (c *candidate) record() *event.Record {
	if !c.parsed {
		c.parsed = true
		c.rec, _ = event.Parse(c.raw) // the recorder parsed it before; an error cannot happen
	}
	return c.rec
}

// values returns what field means for the event; resources fields have one value per resource.
func (c *candidate) values(field string) []string {
	one := func(s string) []string { return []string{s} }
	switch field {
	case "eventCategory":
		return one(c.sum.Category)
	case "eventName":
		return one(c.sum.EventName)
	case "eventSource":
		return one(c.sum.EventSource)
	case "readOnly":
		switch c.sum.ReadOnly {
		case 0:
			return one("false")
		case 1:
			return one("true")
		}
		return one("")
	}
	r := c.record()
	if r == nil {
		return one("")
	}
	switch field {
	case "eventType":
		return one(r.EventType)
	case "errorCode":
		return one(r.ErrorCode)
	case "vpcEndpointId":
		return one(r.VPCEndpointID)
	case "sessionCredentialFromConsole":
		return one(r.SessionCredentialFromConsole)
	case "userIdentity.arn":
		if r.UserIdentity == nil {
			return one("")
		}
		return one(r.UserIdentity.ARN)
	case "resources.type", "resources.ARN":
		var out []string
		for _, res := range r.Resources {
			if field == "resources.type" {
				out = append(out, res.Type)
			} else {
				out = append(out, res.ARN)
			}
		}
		return out
	}
	return one("")
}

// matchSelectors reports whether any selector selects the event. A field with several values
// (resources) holds when one of its values satisfies the field selector.
func matchSelectors(sels []Selector, c *candidate) bool {
	for i := range sels {
		if matchSelector(&sels[i], c) {
			return true
		}
	}
	return false
}

func matchSelector(s *Selector, c *candidate) bool {
	for i := range s.FieldSelectors {
		f := &s.FieldSelectors[i]
		ok := false
		for _, v := range c.values(f.Field) {
			if f.holds(v) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}
