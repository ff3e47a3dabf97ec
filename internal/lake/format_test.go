package lake

import (
	"math/big"
	"strings"
	"testing"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

func TestFormatValue(t *testing.T) {
	ts := time.Date(2023, 1, 22, 16, 53, 53, 500_000_000, time.UTC)
	tests := []struct {
		name string
		v    any
		typ  string
		want string
	}{
		{"null", nil, "VARCHAR", ""},
		{"string", "x", "VARCHAR", "x"},
		{"count", int64(96059), "BIGINT", "96059"},
		{"bool", true, "BOOLEAN", "true"},
		{"timestamp", ts, "TIMESTAMP", "2023-01-22 16:53:53.500"},
		{"timestamptz", ts, "TIMESTAMP WITH TIME ZONE", "2023-01-22 16:53:53.500 UTC"},
		{"date", ts, "DATE", "2023-01-22"},
		{"double", 1.0, "DOUBLE", "1.0"},
		{"small double", 0.25, "DOUBLE", "0.25"},
		{"large double", 12345678.0, "DOUBLE", "1.2345678E7"},
		{"decimal", duckdb.Decimal{Width: 10, Scale: 2, Value: big.NewInt(-150)}, "DECIMAL(10,2)", "-1.50"},
		{"hugeint", big.NewInt(7), "HUGEINT", "7"},
		{"map", duckdb.OrderedMap{}, "MAP(VARCHAR, VARCHAR)", "{}"},
		{"struct in declared order", map[string]any{"b": int32(1), "a": nil}, `STRUCT("b" INTEGER, "a" VARCHAR)`, "{b=1, a=null}"},
		{"list of structs", []any{map[string]any{"ARN": "x", "type": "t"}}, `STRUCT("type" VARCHAR, "ARN" VARCHAR)[]`, "[{type=t, ARN=x}]"},
		{"nested timestamp", map[string]any{"d": ts}, `STRUCT("d" TIMESTAMP)`, "{d=2023-01-22 16:53:53.500}"},
		{"uuid", []byte{0x30, 0x65, 0x3a, 0xab, 0x77, 0x37, 0x41, 0x2e, 0x81, 0x25, 0x3f, 0xa7, 0x1a, 0x6c, 0x9f, 0x47}, "UUID", "30653aab-7737-412e-8125-3fa71a6c9f47"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := formatValue(tt.v, parseType(tt.typ)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTextType(t *testing.T) {
	for in, want := range map[string]string{
		"JSON":                             "VARCHAR",
		"JSON[]":                           "VARCHAR[]",
		"MAP(VARCHAR, JSON)":               "MAP(VARCHAR, VARCHAR)",
		`STRUCT("json" JSON, "b" INTEGER)`: `STRUCT("json" VARCHAR, "b" INTEGER)`,
		"VARCHAR":                          "",
		`STRUCT("jsonish" VARCHAR)`:        "",
	} {
		if got := textType(in); got != want {
			t.Errorf("textType(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestSelectorMatch(t *testing.T) {
	c := &candidate{raw: []byte(`{"eventName":"PutObject","eventSource":"s3.amazonaws.com","eventType":"AwsApiCall","userIdentity":{"arn":"arn:aws:iam::1:user/x"},` +
		`"resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::logs/a"},{"type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::logs"}]}`)}
	c.sum.Category, c.sum.EventName, c.sum.EventSource, c.sum.ReadOnly = "Data", "PutObject", "s3.amazonaws.com", 0
	tests := []struct {
		name string
		f    FieldSelector
		want bool
	}{
		{"equals", FieldSelector{Field: "eventName", Equals: []string{"GetObject", "PutObject"}}, true},
		{"not equals", FieldSelector{Field: "eventName", NotEquals: []string{"PutObject"}}, false},
		{"starts and not ends", FieldSelector{Field: "eventName", StartsWith: []string{"Put"}, NotEndsWith: []string{"Acl"}}, true},
		{"read only", FieldSelector{Field: "readOnly", Equals: []string{"true"}}, false},
		{"resources any", FieldSelector{Field: "resources.ARN", StartsWith: []string{"arn:aws:s3:::logs/"}}, true},
		{"resources type", FieldSelector{Field: "resources.type", Equals: []string{"AWS::Lambda::Function"}}, false},
		{"user arn", FieldSelector{Field: "userIdentity.arn", EndsWith: []string{":user/x"}}, true},
		{"event type", FieldSelector{Field: "eventType", Equals: []string{"AwsServiceEvent"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Selector{FieldSelectors: []FieldSelector{{Field: "eventCategory", Equals: []string{"Data"}}, tt.f}}
			if got := matchSelector(&s, c); got != tt.want {
				t.Errorf("got %v", got)
			}
		})
	}
}

func TestValidateSelectors(t *testing.T) {
	tests := []struct {
		name string
		sels []Selector
		want string // "" for valid
	}{
		{"management", []Selector{sel("Management", FieldSelector{Field: "readOnly", Equals: []string{"false"}})}, ""},
		{"data needs resources.type", []Selector{sel("Data", FieldSelector{Field: "eventName", Equals: []string{"GetObject"}})}, "resources.type"},
		{"network needs eventSource", []Selector{sel("NetworkActivity")}, "eventSource"},
		{"no category", []Selector{{FieldSelectors: []FieldSelector{{Field: "eventName", Equals: []string{"x"}}}}}, "must set eventCategory"},
		{"unknown category", []Selector{sel("Everything")}, "is not one of"},
		{"evidence", []Selector{sel("Evidence")}, "Audit Manager"},
		{"field not allowed", []Selector{sel("Management", FieldSelector{Field: "resources.ARN", StartsWith: []string{"x"}})}, "cannot select Management"},
		{"readOnly value", []Selector{sel("Management", FieldSelector{Field: "readOnly", Equals: []string{"yes"}})}, `"true" or "false"`},
		{"readOnly operator", []Selector{sel("Management", FieldSelector{Field: "readOnly", NotEquals: []string{"true"}})}, "only the Equals"},
		{"no operator", []Selector{sel("Management", FieldSelector{Field: "eventName"})}, "no operator"},
		{"empty value", []Selector{sel("Management", FieldSelector{Field: "eventName", Equals: []string{""}})}, "1 to 2048"},
		{"config with filter", []Selector{sel("ConfigurationItem", FieldSelector{Field: "eventName", Equals: []string{"x"}})}, "cannot select ConfigurationItem"},
		{"six selectors", []Selector{sel("Management"), sel("Management"), sel("Management"), sel("Management"), sel("Management"), sel("Management")}, "at most 5"},
		{"management and data together", []Selector{sel("Management"), sel("Data", FieldSelector{Field: "resources.type", Equals: []string{"AWS::S3::Object"}})}, ""},
		{"insights alone", []Selector{sel("Insight")}, ""},
		{"insights with management", []Selector{sel("Insight"), sel("Management")}, "not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := validateSelectors(tt.sels)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("%v; want %q", err, tt.want)
			}
		})
	}
}
