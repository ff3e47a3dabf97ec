package lake

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/cairn-dev/cairn/internal/event"
)

// Configuration items (AWS Config) reach ConfigurationItem event data stores as records like
// CloudTrail's: eventCategory ConfigurationItem, eventType AwsConfigurationItem, eventTime the
// item's capture time, and the item itself as eventData (reference §5.3). Anything that holds
// items (the ingest endpoint, cairn import of Config snapshot and history files) turns each into
// a record with ConfigurationItemRecord and records it through the recorder.

// configNamespace makes an item's eventID a function of the item, so the recorder recognises an
// item sent or imported twice.
var configNamespace = uuid.MustParse("6c6f2b7e-8d67-4bc4-9f2e-63616972e001")

const configItemVersion = "1.0"

// ConfigurationItemRecord turns one configuration item, as the Config API returns it or as Config
// delivers it in snapshot and history files, into the record a ConfigurationItem store keeps.
// Delivered files' spellings (awsAccountId, ARN) become the API's (accountId, arn); a
// configuration given as JSON text becomes the object. Errors wrap event.ErrInvalid and name the
// field.
func ConfigurationItemRecord(item []byte) ([]byte, error) {
	var m map[string]json.RawMessage
	d := json.NewDecoder(bytes.NewReader(item))
	d.UseNumber()
	if err := d.Decode(&m); err != nil || m == nil {
		return nil, &event.FieldError{Problem: "a configuration item must be a JSON object"}
	}
	rename := map[string]string{"awsAccountId": "accountId", "ARN": "arn", "configurationItemVersion": "configurationItemVersion", "version": "configurationItemVersion"}
	for from, to := range rename {
		if v, ok := m[from]; ok && from != to {
			if _, has := m[to]; !has {
				m[to] = v
			}
			delete(m, from)
		}
	}
	str := func(k string) string {
		var s string
		if json.Unmarshal(m[k], &s) != nil {
			return ""
		}
		return s
	}
	// The Config API returns configuration as JSON text and timestamps as epoch seconds.
	if c, ok := m["configuration"]; ok && len(c) > 0 && c[0] == '"' {
		var text string
		if json.Unmarshal(c, &text) == nil && json.Valid([]byte(text)) {
			m["configuration"] = json.RawMessage(text)
		}
	}
	for _, k := range []string{"configurationItemCaptureTime", "resourceCreationTime", "configurationItemDeliveryTime"} {
		if v, ok := m[k]; ok && len(v) > 0 && v[0] != '"' && string(v) != "null" {
			f, err := strconv.ParseFloat(string(v), 64)
			if err != nil {
				return nil, &event.FieldError{Field: k, Problem: "not a time"}
			}
			t := time.Unix(0, int64(f*1e9)).UTC()
			m[k], _ = json.Marshal(t.Format("2006-01-02T15:04:05.000Z"))
		}
	}
	account, region := str("accountId"), str("awsRegion")
	switch {
	case !event.IsAccountID(account):
		return nil, &event.FieldError{Field: "accountId", Problem: fmt.Sprintf("%q is not a 12-digit account ID", account)}
	case region == "":
		return nil, &event.FieldError{Field: "awsRegion", Problem: "missing"}
	case str("resourceType") == "":
		return nil, &event.FieldError{Field: "resourceType", Problem: "missing"}
	case str("resourceId") == "" && str("resourceName") == "":
		return nil, &event.FieldError{Field: "resourceId", Problem: "missing"}
	}
	captured, err := event.ParseTime(str("configurationItemCaptureTime"))
	if err != nil {
		return nil, &event.FieldError{Field: "configurationItemCaptureTime", Problem: fmt.Sprintf("%q is not a time such as 2024-01-31T15:04:05.000Z", str("configurationItemCaptureTime"))}
	}
	data, err := marshal(m)
	if err != nil {
		return nil, &event.FieldError{Problem: "not valid JSON: " + err.Error()}
	}
	id := uuid.NewSHA1(configNamespace, []byte(strings.Join([]string{account, region, str("resourceType"), str("resourceId"),
		str("configurationStateId"), str("configurationItemCaptureTime")}, "\x00")))
	return marshal(struct {
		EventVersion       string          `json:"eventVersion"`
		EventCategory      string          `json:"eventCategory"`
		EventType          string          `json:"eventType"`
		EventID            string          `json:"eventID"`
		EventTime          string          `json:"eventTime"`
		AWSRegion          string          `json:"awsRegion"`
		RecipientAccountID string          `json:"recipientAccountId"`
		EventData          json.RawMessage `json:"eventData"`
	}{configItemVersion, event.CategoryConfigurationItem, "AwsConfigurationItem", id.String(), captured.Format(event.TimeLayout), region, account, data})
}

// DecodeConfigurationItems reads configuration items from r: a Config snapshot or history file
// ({"configurationItems":[…]}, as Config delivers it, uncompressed), a JSON array of items, or
// items one per line. fn gets each item's bytes, valid only during the call.
func DecodeConfigurationItems(r io.Reader, fn func(item []byte) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	d := json.NewDecoder(br)
	n := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			if n == 0 {
				return errors.New("no configuration items found")
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("configuration items: %w", err)
		}
		switch tok {
		case json.Delim('['):
			c, err := decodeArray(d, fn)
			n += c
			if err != nil {
				return err
			}
		case json.Delim('{'):
			c, err := decodeObject(d, fn)
			n += c
			if err != nil {
				return err
			}
		default:
			return fmt.Errorf("configuration items: want an object or array, found %v", tok)
		}
	}
}

func decodeArray(d *json.Decoder, fn func([]byte) error) (int, error) {
	n := 0
	for d.More() {
		var raw json.RawMessage
		if err := d.Decode(&raw); err != nil {
			return n, fmt.Errorf("configuration item %d: %w", n+1, err)
		}
		if err := fn(raw); err != nil {
			return n, err
		}
		n++
	}
	_, err := d.Token() // ]
	return n, err
}

// decodeObject reads an object whose opening brace was read: a file with configurationItems, or
// one item.
func decodeObject(d *json.Decoder, fn func([]byte) error) (int, error) {
	item := map[string]json.RawMessage{}
	n := 0
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return n, fmt.Errorf("configuration items: %w", err)
		}
		key, _ := tok.(string)
		if key == "configurationItems" {
			if t, err := d.Token(); err != nil || t != json.Delim('[') {
				return n, errors.New("configuration items: configurationItems is not an array")
			}
			c, err := decodeArray(d, fn)
			n += c
			if err != nil {
				return n, err
			}
			item = nil
			continue
		}
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			return n, fmt.Errorf("configuration items: member %s: %w", key, err)
		}
		if item != nil {
			item[key] = v
		}
	}
	if _, err := d.Token(); err != nil { // }
		return n, err
	}
	if item != nil {
		b, _ := json.Marshal(item)
		if err := fn(b); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
