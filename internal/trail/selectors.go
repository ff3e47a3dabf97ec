package trail

import (
	"strings"

	"github.com/cairn-dev/cairn/internal/event"
)

// Selector types marshal with AWS's member names: they are stored, and answered, as such.

// EventSelector is a basic event selector.
type EventSelector struct {
	ReadWriteType                 string // ReadOnly, WriteOnly, All
	IncludeManagementEvents       bool
	DataResources                 []DataResource
	ExcludeManagementEventSources []string
}

// DataResource selects data events on resources of Type whose ARN starts with one of Values.
type DataResource struct {
	Type   string
	Values []string
}

// AdvancedEventSelector matches events that satisfy every field selector.
type AdvancedEventSelector struct {
	Name           string `json:",omitempty"`
	FieldSelectors []FieldSelector
}

// FieldSelector is one condition on one field. Within an operator the values are
// alternatives (Equals a OR b; NotEquals neither a NOR b); the operators present all apply.
type FieldSelector struct {
	Field         string
	Equals        []string `json:",omitempty"`
	StartsWith    []string `json:",omitempty"`
	EndsWith      []string `json:",omitempty"`
	NotEquals     []string `json:",omitempty"`
	NotStartsWith []string `json:",omitempty"`
	NotEndsWith   []string `json:",omitempty"`
}

// InsightSelector enables one kind of Insights event.
type InsightSelector struct {
	InsightType     string
	EventCategories []string `json:",omitempty"`
}

// DefaultEventSelectors is what a trail without custom selectors logs: every management event.
func DefaultEventSelectors() []EventSelector {
	return []EventSelector{{ReadWriteType: "All", IncludeManagementEvents: true, DataResources: []DataResource{}, ExcludeManagementEventSources: []string{}}}
}

// Limits on selectors (AWS quotas; configurable defaults).
const (
	MaxEventSelectors        = 5
	MaxDataResources         = 250
	MaxAdvancedSelectorValue = 500
)

var dataResourceTypes = map[string]bool{"AWS::S3::Object": true, "AWS::Lambda::Function": true, "AWS::DynamoDB::Table": true}

var excludableSources = map[string]bool{"kms.amazonaws.com": true, "rdsdata.amazonaws.com": true}

// CheckEventSelectors validates basic selectors and fills their defaults.
func CheckEventSelectors(sels []EventSelector) ([]EventSelector, error) {
	if len(sels) > MaxEventSelectors {
		return nil, errorf(ErrInvalidEventSelectors, "You have exceeded the maximum of %d event selectors per trail.", MaxEventSelectors)
	}
	resources := 0
	out := make([]EventSelector, len(sels))
	for i, s := range sels {
		switch s.ReadWriteType {
		case "":
			s.ReadWriteType = "All"
		case "All", "ReadOnly", "WriteOnly":
		default:
			return nil, errorf(ErrInvalidEventSelectors, "Value %s for ReadWriteType is invalid: want ReadOnly, WriteOnly or All.", s.ReadWriteType)
		}
		if s.DataResources == nil {
			s.DataResources = []DataResource{}
		}
		if s.ExcludeManagementEventSources == nil {
			s.ExcludeManagementEventSources = []string{}
		}
		for _, src := range s.ExcludeManagementEventSources {
			if !excludableSources[src] {
				return nil, errorf(ErrInvalidEventSelectors, "Value %s for ExcludeManagementEventSources is invalid: only kms.amazonaws.com and rdsdata.amazonaws.com can be excluded.", src)
			}
		}
		for _, d := range s.DataResources {
			if !dataResourceTypes[d.Type] {
				return nil, errorf(ErrInvalidEventSelectors, "Value %s for DataResources.Type is invalid: basic selectors support AWS::S3::Object, AWS::Lambda::Function and AWS::DynamoDB::Table; use advanced event selectors for other types.", d.Type)
			}
			for _, v := range d.Values {
				if !strings.HasPrefix(v, "arn:") {
					return nil, errorf(ErrInvalidEventSelectors, "Value %s for DataResources.Values is invalid: want an ARN or ARN prefix.", v)
				}
			}
			resources += max(len(d.Values), 1)
		}
		out[i] = s
	}
	if resources > MaxDataResources {
		return nil, errorf(ErrInvalidEventSelectors, "You have exceeded the maximum of %d data resources per trail.", MaxDataResources)
	}
	return out, nil
}

// Fields advanced selectors may test on a trail, by event category.
var advancedFields = map[string]bool{
	"eventCategory": true, "eventSource": true, "eventName": true, "eventType": true, "readOnly": true,
	"resources.type": true, "resources.ARN": true, "sessionCredentialFromConsole": true,
	"userIdentity.arn": true, "errorCode": true, "vpcEndpointId": true,
}

var categories = map[string]bool{event.CategoryManagement: true, event.CategoryData: true, event.CategoryNetworkActivity: true}

// CheckAdvancedEventSelectors validates advanced selectors for a trail.
func CheckAdvancedEventSelectors(sels []AdvancedEventSelector) error {
	if len(sels) == 0 {
		return errorf(ErrInvalidEventSelectors, "AdvancedEventSelectors must hold at least one selector.")
	}
	values := 0
	for _, s := range sels {
		if len(s.Name) > 1000 {
			return errorf(ErrInvalidEventSelectors, "Selector name %.40q… is longer than 1000 characters.", s.Name)
		}
		if len(s.FieldSelectors) == 0 {
			return errorf(ErrInvalidEventSelectors, "Selector %q has no FieldSelectors.", s.Name)
		}
		var category []string
		hasType := false
		for _, f := range s.FieldSelectors {
			if !advancedFields[f.Field] {
				return errorf(ErrInvalidEventSelectors, "Field %s is not a field advanced event selectors support on trails.", f.Field)
			}
			ops := [][]string{f.Equals, f.StartsWith, f.EndsWith, f.NotEquals, f.NotStartsWith, f.NotEndsWith}
			n := 0
			for _, op := range ops {
				for _, v := range op {
					if len(v) < 1 || len(v) > 2048 {
						return errorf(ErrInvalidEventSelectors, "Field %s: values must be 1 to 2048 characters long.", f.Field)
					}
				}
				n += len(op)
			}
			if n == 0 {
				return errorf(ErrInvalidEventSelectors, "Field %s has no condition: give Equals, StartsWith, EndsWith, NotEquals, NotStartsWith or NotEndsWith.", f.Field)
			}
			values += n
			switch f.Field {
			case "eventCategory":
				if len(f.Equals) == 0 || n != len(f.Equals) {
					return errorf(ErrInvalidEventSelectors, "Field eventCategory supports only the Equals operator.")
				}
				for _, v := range f.Equals {
					if !categories[v] {
						return errorf(ErrInvalidEventSelectors, "Value %s for eventCategory is invalid: want Management, Data or NetworkActivity.", v)
					}
				}
				category = f.Equals
			case "resources.type":
				if len(f.Equals) == 0 || n != len(f.Equals) {
					return errorf(ErrInvalidEventSelectors, "Field resources.type supports only the Equals operator.")
				}
				hasType = true
			case "readOnly":
				if n != len(f.Equals) {
					return errorf(ErrInvalidEventSelectors, "Field readOnly supports only the Equals operator.")
				}
				for _, v := range f.Equals {
					if v != "true" && v != "false" {
						return errorf(ErrInvalidEventSelectors, "Value %s for readOnly is invalid: want true or false.", v)
					}
				}
			}
		}
		if category == nil {
			return errorf(ErrInvalidEventSelectors, "Selector %q must have an eventCategory field selector.", s.Name)
		}
		for _, c := range category {
			if c == event.CategoryData && !hasType {
				return errorf(ErrInvalidEventSelectors, "Selector %q selects data events and must have a resources.type field selector.", s.Name)
			}
		}
	}
	if values > MaxAdvancedSelectorValue {
		return errorf(ErrInvalidEventSelectors, "You have exceeded the maximum of %d condition values per trail.", MaxAdvancedSelectorValue)
	}
	return nil
}

// CheckInsightSelectors validates Insights selectors against the trail's event selectors.
func CheckInsightSelectors(sels []InsightSelector) error {
	seen := map[string]bool{}
	for _, s := range sels {
		if s.InsightType != "ApiCallRateInsight" && s.InsightType != "ApiErrorRateInsight" {
			return errorf(ErrInvalidInsightSelectors, "Value %s for InsightType is invalid: want ApiCallRateInsight or ApiErrorRateInsight.", s.InsightType)
		}
		if seen[s.InsightType] {
			return errorf(ErrInvalidInsightSelectors, "InsightType %s appears more than once.", s.InsightType)
		}
		seen[s.InsightType] = true
		for _, c := range s.EventCategories {
			if c != event.CategoryManagement && c != event.CategoryData {
				return errorf(ErrInvalidInsightSelectors, "Value %s for EventCategories is invalid: want Management or Data.", c)
			}
		}
	}
	return nil
}

// Event is an event as selectors see it: the journal summary, and the record parsed only if a
// selector needs a field the summary lacks.
type Event struct {
	Summary event.Summary
	Raw     []byte
	rec     *event.Record
	parsed  bool
}

func (e *Event) record() *event.Record {
	if !e.parsed {
		e.parsed = true
		e.rec, _ = event.Parse(e.Raw)
	}
	return e.rec
}

// resource is one of the event's resources.
type resource struct{ typ, arn string }

func (e *Event) resources() []resource {
	var out []resource
	for _, r := range strings.Split(e.Summary.Resources, "\x1f") {
		f := strings.SplitN(r, "\x1e", 3)
		if len(f) == 3 {
			arn := f[2]
			if arn == "" {
				arn = f[1]
			}
			out = append(out, resource{f[0], arn})
		}
	}
	return out
}

// field returns the value of a top-level field an advanced selector tests.
func (e *Event) field(name string) (string, bool) {
	s := &e.Summary
	switch name {
	case "eventCategory":
		return s.Category, true
	case "eventSource":
		return s.EventSource, true
	case "eventName":
		return s.EventName, true
	case "readOnly":
		switch s.ReadOnly {
		case 0:
			return "false", true
		case 1:
			return "true", true
		}
		return "", false
	}
	r := e.record()
	if r == nil {
		return "", false
	}
	switch name {
	case "eventType":
		return r.EventType, r.EventType != ""
	case "sessionCredentialFromConsole":
		return r.SessionCredentialFromConsole, r.SessionCredentialFromConsole != ""
	case "userIdentity.arn":
		if r.UserIdentity == nil {
			return "", false
		}
		return r.UserIdentity.ARN, r.UserIdentity.ARN != ""
	case "errorCode":
		return r.ErrorCode, r.ErrorCode != ""
	case "vpcEndpointId":
		return r.VPCEndpointID, r.VPCEndpointID != ""
	}
	return "", false
}

// matches applies one field selector's operators to a value (present reports whether the
// field exists: the negative operators hold for an absent field, the positive ones do not).
func (f *FieldSelector) matches(v string, present bool) bool {
	any := func(vals []string, test func(string) bool) bool {
		for _, x := range vals {
			if test(x) {
				return true
			}
		}
		return false
	}
	if len(f.Equals) > 0 && !(present && any(f.Equals, func(x string) bool { return v == x })) {
		return false
	}
	if len(f.StartsWith) > 0 && !(present && any(f.StartsWith, func(x string) bool { return strings.HasPrefix(v, x) })) {
		return false
	}
	if len(f.EndsWith) > 0 && !(present && any(f.EndsWith, func(x string) bool { return strings.HasSuffix(v, x) })) {
		return false
	}
	if present && any(f.NotEquals, func(x string) bool { return v == x }) {
		return false
	}
	if present && any(f.NotStartsWith, func(x string) bool { return strings.HasPrefix(v, x) }) {
		return false
	}
	if present && any(f.NotEndsWith, func(x string) bool { return strings.HasSuffix(v, x) }) {
		return false
	}
	return true
}

// Matches reports whether an advanced selector selects e. Conditions on resources.type and
// resources.ARN must hold for the same resource.
func (s *AdvancedEventSelector) Matches(e *Event) bool {
	var resConds []*FieldSelector
	for i := range s.FieldSelectors {
		f := &s.FieldSelectors[i]
		if f.Field == "resources.type" || f.Field == "resources.ARN" {
			resConds = append(resConds, f)
			continue
		}
		v, ok := e.field(f.Field)
		if !f.matches(v, ok) {
			return false
		}
	}
	if len(resConds) == 0 {
		return true
	}
	for _, r := range e.resources() {
		ok := true
		for _, f := range resConds {
			v := r.typ
			if f.Field == "resources.ARN" {
				v = r.arn
			}
			if !f.matches(v, v != "") {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// Matches reports whether a basic selector selects e.
func (s *EventSelector) Matches(e *Event) bool {
	switch s.ReadWriteType {
	case "ReadOnly":
		if e.Summary.ReadOnly != 1 {
			return false
		}
	case "WriteOnly":
		if e.Summary.ReadOnly == 1 {
			return false
		}
	}
	switch e.Summary.Category {
	case event.CategoryManagement:
		if !s.IncludeManagementEvents {
			return false
		}
		for _, src := range s.ExcludeManagementEventSources {
			if e.Summary.EventSource == src {
				return false
			}
		}
		return true
	case event.CategoryData:
		res := e.resources()
		for _, d := range s.DataResources {
			for _, r := range res {
				if r.typ != d.Type {
					continue
				}
				for _, v := range d.Values {
					if strings.HasPrefix(r.arn, v) {
						return true
					}
				}
			}
		}
	}
	return false
}

// Selects reports whether the trail's event selectors (or the default) select e, an event that
// is not an Insights event.
func (t *Trail) Selects(e *Event) bool {
	if t.AdvancedEventSelectors != nil {
		for i := range t.AdvancedEventSelectors {
			if t.AdvancedEventSelectors[i].Matches(e) {
				return true
			}
		}
		return false
	}
	sels := t.EventSelectors
	if sels == nil {
		sels = DefaultEventSelectors()
	}
	for i := range sels {
		if sels[i].Matches(e) {
			return true
		}
	}
	return false
}
