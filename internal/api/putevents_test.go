package api

import (
	"fmt"
	"strings"
	"testing"
)

func TestSplitRecords(t *testing.T) {
	tests := []struct {
		name, body, ctype string
		want              int
		err               string
	}{
		{"ndjson", "{\"a\":1}\n\n{\"b\":2}\r\n{\"c\":3}", "application/x-ndjson", 3, ""},
		{"ndjson keeps a bad line as a record", "{\"a\":1}\nnot json\n{\"c\":3}", "", 3, ""},
		{"wrapper", `{"Records":[{"a":1},{"b":2}]}`, "application/json", 2, ""},
		{"wrapper without content type", ` { "Records" : [{"a":1}]}`, "", 1, ""},
		{"array", `[{"a":1},{"b":2}]`, "", 2, ""},
		{"single object", `{"eventName":"A"}`, "application/json", 1, ""},
		{"broken wrapper", `{"Records":[{"a":1},`, "application/json", 0, "not valid"},
		{"empty", "  \n ", "", 0, "no records"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := splitRecords([]byte(tt.body), tt.ctype)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || len(got) != tt.want {
				t.Fatalf("got %d records, %v", len(got), err)
			}
		})
	}
}

func TestLowerCamelJSON(t *testing.T) {
	got := string(lowerCamelJSON([]byte(`{"LookupAttributes":[{"AttributeKey":"EventName"}],"MaxResults":5}`)))
	if got != `{"lookupAttributes":[{"attributeKey":"EventName"}],"maxResults":5}` {
		t.Errorf("got %s", got)
	}
	if lowerCamelJSON([]byte(`[1]`)) != nil || lowerCamelJSON([]byte(`nope`)) != nil {
		t.Error("non-object bodies should record null")
	}
}

// A large body must come back line for line: an earlier version aliased a bufio.Scanner's
// buffer, which the scanner compacts, and corrupted records of big batches.
func TestSplitRecordsLargeBody(t *testing.T) {
	var body []byte
	var want []string
	for i := 0; i < 5000; i++ {
		line := fmt.Sprintf(`{"eventName":"E%d","pad":"%s"}`, i, strings.Repeat("x", i%1500))
		want = append(want, line)
		body = append(body, line...)
		body = append(body, '\n')
	}
	got, err := splitRecords(body, "application/x-ndjson")
	if err != nil || len(got) != len(want) {
		t.Fatalf("%d records, %v", len(got), err)
	}
	for i := range want {
		if string(got[i]) != want[i] {
			t.Fatalf("record %d corrupted: %.60s…", i, got[i])
		}
	}
}
