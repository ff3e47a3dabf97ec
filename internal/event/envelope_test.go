package event

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

func TestEnvelopeRoundTrip(t *testing.T) {
	for _, name := range []string{"run-instances-1.11.json", "insight.json", "assumed-role-console-login.json"} {
		raw, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		r, err := Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		env := AppendEnvelope([]byte("prefix"), r)[len("prefix"):]
		s, got, err := OpenEnvelope(env)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got, raw) {
			t.Errorf("%s: raw changed", name)
		}
		want := r.Summary()
		if s != want {
			t.Errorf("%s: summary\n got %+v\nwant %+v", name, s, want)
		}
	}
	r, _ := Parse([]byte(`{"eventName":"A","eventSource":"b","readOnly":true,"eventTime":"2024-01-01T00:00:00Z"}`))
	s, _, _ := OpenEnvelope(AppendEnvelope(nil, r))
	if s.ReadOnly != 1 || s.EventTime.Year() != 2024 || s.Category != CategoryManagement {
		t.Errorf("got %+v", s)
	}
}

func TestOpenEnvelopeRejects(t *testing.T) {
	r, _ := Parse([]byte(`{"eventName":"A","eventSource":"b","eventID":"x"}`))
	env := AppendEnvelope(nil, r)
	for _, bad := range [][]byte{nil, {}, {9, 0}, env[:3], append([]byte{1, 0, 7}, env[3:]...), []byte(`{"eventName":"A"}`)} {
		if _, _, err := OpenEnvelope(bad); !errors.Is(err, ErrEnvelope) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func FuzzOpenEnvelope(f *testing.F) {
	r, _ := Parse([]byte(`{"eventName":"A","eventSource":"b","eventID":"x","resources":[{"ARN":"arn:aws:s3:::b"}]}`))
	f.Add(AppendEnvelope(nil, r))
	f.Add([]byte{1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, raw, err := OpenEnvelope(b)
		if err != nil {
			return
		}
		if len(raw) > len(b) || len(s.Account)+len(s.Resources) > len(b) {
			t.Fatal("summary larger than its envelope")
		}
	})
}
