package lake

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func auditEvent(id, uid, account string) AuditEvent {
	data := fmt.Sprintf(`{"version":"1.0","userIdentity":{"type":"CustomUser","principalId":"user-%[1]s","details":{"team":"payments","level":3}},`+
		`"userAgent":"shop/2.1","eventSource":"shop.example.com","eventName":"RefundIssued","eventTime":"2024-03-01T10:00:00Z","UID":"%[1]s",`+
		`"requestParameters":{"orderId":"o-%[1]s","amount":{"value":12.5,"currency":"EUR"}},"responseElements":{"status":"ok"},`+
		`"sourceIPAddress":"2001:db8::1","recipientAccountId":"%[2]s","additionalEventData":{"shard":"eu"}}`, uid, account)
	sum := sha256.Sum256([]byte(data))
	return AuditEvent{ID: id, EventData: data, EventDataChecksum: base64.StdEncoding.EncodeToString(sum[:])}
}

func TestChannelsAndPutAuditEvents(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	store := e.store(owner, "apps", sel("ActivityAuditLog"))
	cloudtrail := e.store(owner, "cloudtrail")
	unused := e.store(owner, "apps-unused", sel("ActivityAuditLog"))

	if _, err := e.l.CreateChannel(ctx, owner, "bad", SourceCustom, []Destination{{Type: "EVENT_DATA_STORE", Location: cloudtrail.ARN()}}, nil); !errors.Is(err, ErrInvalidStoreCategory) {
		t.Fatalf("channel to a CloudTrail store: %v", err)
	}
	ch, err := e.l.CreateChannel(ctx, owner, "shop", SourceCustom, []Destination{{Type: "EVENT_DATA_STORE", Location: store.ID}}, []Tag{{Key: "app", Value: "shop"}})
	if err != nil {
		t.Fatal(err)
	}
	if ch.Destinations[0].Location != store.ARN() {
		t.Fatalf("destination %+v", ch.Destinations)
	}
	if _, err := e.l.CreateChannel(ctx, owner, "shop", SourceCustom, []Destination{{Type: "EVENT_DATA_STORE", Location: store.ID}}, nil); !errors.Is(err, ErrChannelAlreadyExists) {
		t.Fatalf("same name: %v", err)
	}

	bad := auditEvent("e3", "u3", acct)
	bad.EventDataChecksum = "AAAA"
	ok, failed, err := e.l.PutAuditEvents(ctx, owner, ch.ARN(), []AuditEvent{
		auditEvent("e1", "u1", acct),
		auditEvent("e2", "u2", other), // recipientAccountId is not the channel owner
		bad,
		{ID: "e4", EventData: `{"version":"1.0"}`},
		{ID: "e5", EventData: `not json`},
		{ID: "e6", EventData: strings.Replace(auditEvent("e6", "u6", acct).EventData, `"eventName":"RefundIssued"`, `"eventName":"`+strings.Repeat("x", 1025)+`"`, 1)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ok) != 1 || ok[0].ID != "e1" || len(ok[0].EventID) != 36 {
		t.Fatalf("successful %+v", ok)
	}
	codes := map[string]string{}
	for _, f := range failed {
		codes[f.ID] = f.ErrorCode
	}
	want := map[string]string{"e2": "InvalidRecipient", "e3": "InvalidChecksum", "e4": "FieldNotFound", "e5": "InvalidData", "e6": "FieldTooLong"}
	if fmt.Sprint(codes) != fmt.Sprint(want) {
		t.Fatalf("failed %+v", failed)
	}
	e.sync()
	rows := e.mustQuery(owner, "SELECT eventData.useridentity.principalid, eventData.eventName, element_at(eventData.requestParameters, 'amount'), "+
		"element_at(eventData.useridentity.details, 'level'), metadata.channelarn, eventcategory, eventtype, eventtime, eventid FROM "+store.ID)
	if len(rows) != 2 || rows[1][0] != "user-u1" || rows[1][1] != "RefundIssued" || rows[1][2] != `{"value":12.5,"currency":"EUR"}` ||
		rows[1][3] != "3" || rows[1][4] != ch.ARN() || rows[1][5] != "ActivityAuditLog" || rows[1][6] != "ActivityLog" ||
		rows[1][7] != "2024-03-01 10:00:00.000" || rows[1][8] != ok[0].EventID {
		t.Fatalf("%v", rows)
	}
	if rows := e.mustQuery(owner, "SELECT count(*) FROM "+unused.ID); rows[1][0] != "0" {
		t.Fatalf("a store that is no channel's destination received %s events", rows[1][0])
	}
	if rows := e.mustQuery(owner, "SELECT count(*) FROM "+cloudtrail.ID); rows[1][0] != "0" {
		t.Fatalf("the CloudTrail store received %s integration events", rows[1][0])
	}
	got, _ := e.l.GetChannel(owner, ch.ID)
	if got.Ingestion.LatestSuccessEventID != ok[0].EventID || got.Ingestion.LatestErrorCode == "" {
		t.Fatalf("ingestion status %+v", got.Ingestion)
	}

	// Request-level errors.
	for _, tt := range []struct {
		c       Caller
		channel string
		events  []AuditEvent
		kind    error
	}{
		{owner, "not-an-arn", []AuditEvent{auditEvent("a", "a", acct)}, ErrInvalidChannelARN},
		{owner, strings.Replace(ch.ARN(), ch.ID, "00000000-0000-4000-8000-000000000000", 1), []AuditEvent{auditEvent("a", "a", acct)}, ErrChannelNotFound},
		{Caller{Account: other, Region: region}, ch.ARN(), []AuditEvent{auditEvent("a", "a", other)}, ErrChannelInsufficientPermission},
		{owner, ch.ID, []AuditEvent{auditEvent("a", "a", acct), auditEvent("a", "b", acct)}, ErrDuplicatedAuditEventID},
		{owner, ch.ID, nil, ErrInvalidParameter},
	} {
		if _, _, err := e.l.PutAuditEvents(ctx, tt.c, tt.channel, tt.events); !errors.Is(err, tt.kind) {
			t.Errorf("PutAuditEvents(%s): %v, want %v", tt.channel, err, tt.kind)
		}
	}

	if err := e.l.DeleteStore(ctx, owner, store.ID); !errors.Is(err, ErrChannelExistsForStore) && !errors.Is(err, ErrTerminationProtected) {
		t.Fatalf("delete a channel's destination: %v", err)
	}
	up, err := e.l.UpdateChannel(ctx, owner, ch.ARN(), "shop-renamed", []Destination{{Type: "EVENT_DATA_STORE", Location: unused.ARN()}})
	if err != nil || up.Name != "shop-renamed" || up.Destinations[0].Location != unused.ARN() {
		t.Fatalf("update: %+v %v", up, err)
	}
	list, next, err := e.l.ListChannels(owner, 0, "")
	if err != nil || len(list) != 1 || next != "" {
		t.Fatalf("list: %v %q %v", list, next, err)
	}
	if err := e.l.DeleteChannel(ctx, owner, ch.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.l.GetChannel(owner, ch.ID); !errors.Is(err, ErrChannelNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	_ = time.Now
}

func TestConfigurationItemRecord(t *testing.T) {
	tests := []struct {
		name, item, want, err string
	}{
		{"delivered file spelling", `{"awsAccountId":"111122223333","ARN":"arn:aws:s3:::b","awsRegion":"us-east-1","resourceType":"AWS::S3::Bucket","resourceId":"b","configurationItemCaptureTime":"2022-11-18T10:00:00.000Z","configurationStateId":7}`,
			`"eventTime":"2022-11-18T10:00:00Z","awsRegion":"us-east-1","recipientAccountId":"111122223333","eventData":{"accountId":"111122223333","arn":"arn:aws:s3:::b"`, ""},
		{"API spelling", `{"version":"1.3","accountId":"111122223333","arn":"arn:aws:s3:::b","awsRegion":"eu-west-1","resourceType":"AWS::S3::Bucket","resourceId":"b","configurationItemCaptureTime":1.6687656e9,"configuration":"{\"x\":1}"}`,
			`"eventTime":"2022-11-18T10:00:00Z","awsRegion":"eu-west-1"`, ""},
		{"missing account", `{"awsRegion":"us-east-1","resourceType":"T","resourceId":"r","configurationItemCaptureTime":"2022-11-18T10:00:00Z"}`, "", "accountId"},
		{"bad time", `{"accountId":"111122223333","awsRegion":"us-east-1","resourceType":"T","resourceId":"r","configurationItemCaptureTime":"yesterday"}`, "", "configurationItemCaptureTime"},
		{"not an object", `[1]`, "", "JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := ConfigurationItemRecord([]byte(tt.item))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("%v, want an error naming %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(rec), tt.want) || !strings.Contains(string(rec), `"eventCategory":"ConfigurationItem","eventType":"AwsConfigurationItem"`) {
				t.Fatalf("%s", rec)
			}
			again, _ := ConfigurationItemRecord([]byte(tt.item))
			if string(again) != string(rec) {
				t.Fatal("the same item gives another record (and eventID)")
			}
		})
	}
	if rec, _ := ConfigurationItemRecord([]byte(tests[1].item)); !strings.Contains(string(rec), `"configuration":{"x":1}`) {
		t.Errorf("configuration as JSON text was not made an object: %s", rec)
	}
}

func TestDecodeConfigurationItems(t *testing.T) {
	for _, in := range []string{
		`{"fileVersion":"1.0","configurationItems":[{"a":1},{"a":2}]}`,
		`[{"a":1},{"a":2}]`,
		"{\"a\":1}\n{\"a\":2}\n",
	} {
		var got []string
		err := DecodeConfigurationItems(strings.NewReader(in), func(item []byte) error {
			got = append(got, string(item))
			return nil
		})
		if err != nil || len(got) != 2 || got[1] != `{"a":2}` {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	if err := DecodeConfigurationItems(strings.NewReader(`{"configurationItems":[{"a":1},`), func([]byte) error { return nil }); err == nil {
		t.Error("truncated file accepted")
	}
}
