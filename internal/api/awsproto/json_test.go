package awsproto

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"
)

func TestTarget(t *testing.T) {
	tests := []struct {
		in, prefix, op string
		ok             bool
	}{
		{"CloudTrail_20131101.LookupEvents", "CloudTrail_20131101", "LookupEvents", true},
		{"com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents", "CloudTrail_20131101", "LookupEvents", true},
		{"Logs_20140328.PutLogEvents", "Logs_20140328", "PutLogEvents", true},
		{"LookupEvents", "", "", false},
		{"CloudTrail_20131101.", "", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		prefix, op, ok := Target(tt.in)
		if prefix != tt.prefix || op != tt.op || ok != tt.ok {
			t.Errorf("Target(%q) = %q, %q, %v", tt.in, prefix, op, ok)
		}
	}
}

func TestTimestamp(t *testing.T) {
	for in, want := range map[string]string{
		`1567296000`:             "2019-09-01T00:00:00Z",
		`1567296000.5`:           "2019-09-01T00:00:00.5Z",
		`"2019-09-01T00:00:00Z"`: "2019-09-01T00:00:00Z",
	} {
		var ts Timestamp
		if err := json.Unmarshal([]byte(in), &ts); err != nil || ts.Format(time.RFC3339Nano) != want {
			t.Errorf("%s: %v %v", in, ts.Time, err)
		}
	}
	for _, bad := range []string{`"yesterday"`, `1e300`, `true`} {
		var ts Timestamp
		if err := json.Unmarshal([]byte(bad), &ts); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	b, _ := json.Marshal(Timestamp{time.Unix(1567296000, 0)})
	if string(b) != "1567296000" {
		t.Errorf("marshal: %s", b)
	}
}

func TestErrorShape(t *testing.T) {
	w := httptest.NewRecorder()
	WriteJSONError(w, "1.1", Errorf("InvalidMaxResultsException", "bad %d", 51))
	var body map[string]string
	json.Unmarshal(w.Body.Bytes(), &body)
	if w.Code != 400 || body["__type"] != "InvalidMaxResultsException" || body["message"] != "bad 51" ||
		w.Header().Get("Content-Type") != "application/x-amz-json-1.1" {
		t.Errorf("got %d %v %v", w.Code, body, w.Header())
	}
}

func TestDecodeJSONNamesMember(t *testing.T) {
	var v struct{ MaxResults *int }
	if err := DecodeJSON([]byte(`{"MaxResults":"ten"}`), &v); err == nil || err.Code != "SerializationException" || err.Message == "" {
		t.Fatalf("got %v", err)
	}
	if err := DecodeJSON(nil, &v); err != nil {
		t.Errorf("empty body: %v", err)
	}
}
