package lake

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/event"
)

// FuzzConfigurationItems: whatever the input, decoding configuration items never panics, and
// every item turned into a record gives a record cairn's own parser accepts as a
// ConfigurationItem event.
func FuzzConfigurationItems(f *testing.F) {
	if b, err := os.ReadFile("testdata/config-items.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`[{"configurationItemCaptureTime":"2022-11-18T10:00:00.000Z","resourceType":"AWS::S3::Bucket","resourceId":"b","awsRegion":"us-east-1","awsAccountId":"111122223333","configuration":"{\"a\":1}"}]`))
	f.Add([]byte("{\"accountId\":\"111122223333\"}\n{}\n"))
	f.Add([]byte(`{"configurationItems":[null,1,"x"]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		DecodeConfigurationItems(bytes.NewReader(in), func(item []byte) error {
			rec, err := ConfigurationItemRecord(item)
			if err != nil {
				return nil
			}
			r, err := event.Parse(rec)
			if err != nil {
				t.Fatalf("record %s of item %s does not parse: %v", rec, item, err)
			}
			if r.Category() != event.CategoryConfigurationItem {
				t.Fatalf("record %s has category %q", rec, r.Category())
			}
			return nil
		})
	})
}

// FuzzAuditEvent: whatever an application sends as eventData, an entry is either refused with
// an error code and message or becomes an ActivityAuditLog record that parses.
func FuzzAuditEvent(f *testing.F) {
	f.Add("e1", `{"version":"1.0","userIdentity":{"type":"CustomUser","principalId":"alice"},"eventSource":"app","eventName":"Login","eventTime":"2026-11-22T10:00:00Z","UID":"u1","recipientAccountId":"111122223333"}`)
	f.Add("e2", "not json")
	f.Add("e3", `{"version":"1.0","eventTime":"yesterday"}`)
	ch := &Channel{ID: "00000000-0000-4000-8000-000000000001", Account: acct, Region: region, Name: "fuzz", Source: "Custom"}
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, id, data string) {
		rec, code, msg := activityRecord(AuditEvent{ID: id, EventData: data}, ch, region, now)
		if rec == nil {
			if code == "" || msg == "" {
				t.Fatalf("refused without a reason: %q %q", code, msg)
			}
			return
		}
		if !json.Valid(rec) {
			t.Fatalf("record is not JSON: %s", rec)
		}
		if _, err := event.Parse(rec); err != nil {
			t.Fatalf("record %s does not parse: %v", rec, err)
		}
	})
}
