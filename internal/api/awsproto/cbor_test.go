package awsproto

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
)

type cborInput struct {
	Name      string
	Period    *int
	Threshold *float64
	Start     *Timestamp
	Dims      []struct{ Name, Value string }
}

func TestDecodeCBOR(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 500e6, time.UTC)
	body, _ := cbor.Marshal(map[string]any{
		"Name": "a", "Period": 300, "Threshold": 2.5,
		"Start": cbor.Tag{Number: 1, Content: float64(ts.UnixMilli()) / 1e3},
		"Dims":  []any{map[string]any{"Name": "Host", "Value": "h"}},
	})
	var in cborInput
	if err := DecodeCBOR(body, &in); err != nil {
		t.Fatal(err)
	}
	if in.Name != "a" || *in.Period != 300 || *in.Threshold != 2.5 || !in.Start.Equal(ts) || in.Dims[0].Value != "h" {
		t.Fatalf("%+v", in)
	}
	if err := DecodeCBOR(nil, &in); err != nil {
		t.Errorf("empty body: %v", err)
	}
	for _, bad := range []struct {
		v    any
		want string
	}{
		{map[string]any{"Period": "x"}, "Period"},
		{map[string]any{"Threshold": cbor.Tag{Number: 99, Content: 1}}, "Threshold"},
		{[]int{1}, "CBOR map"},
	} {
		b, _ := cbor.Marshal(bad.v)
		if err := DecodeCBOR(b, &in); err == nil || !strings.Contains(err.Message, bad.want) {
			t.Errorf("%v: %v, want an error naming %s", bad.v, err, bad.want)
		}
	}
}

func TestWriteCBOR(t *testing.T) {
	w := httptest.NewRecorder()
	out := struct {
		When  Timestamp
		Value float64
		Skip  string `json:",omitempty"`
	}{Timestamp{time.Unix(1700000000, 250e6)}, 2, ""}
	if err := WriteCBOR(w, out); err != nil {
		t.Fatal(err)
	}
	if w.Header().Get("Smithy-Protocol") != "rpc-v2-cbor" || w.Header().Get("Content-Type") != "application/cbor" {
		t.Errorf("headers %v", w.Header())
	}
	var got map[string]any
	dm, _ := cbor.DecOptions{DefaultMapType: nil, TimeTagToAny: cbor.TimeTagToTime}.DecMode()
	if err := dm.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if when, ok := got["When"].(time.Time); !ok || when.UnixMilli() != 1700000000250 || got["Value"] != 2.0 || len(got) != 2 {
		t.Errorf("%#v", got)
	}
}

func FuzzDecodeCBOR(f *testing.F) {
	for _, v := range []any{map[string]any{"Name": "a", "Period": 60, "Dims": []any{map[string]any{"Name": "x"}}},
		map[string]any{"Start": cbor.Tag{Number: 1, Content: 1.5}}} {
		b, _ := cbor.Marshal(v)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var in cborInput
		DecodeCBOR(b, &in)
	})
}
