package lake

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/recorder"
)

func TestStoreDefaultsAndValidation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	s, err := e.l.CreateStore(ctx, owner, CreateInput{Name: "defaults"})
	if err != nil {
		t.Fatal(err)
	}
	if !s.MultiRegion || s.Organization || !s.TerminationProtection || s.RetentionDays != 366 || s.BillingMode != BillingExtendable ||
		s.Kind != KindEvents || len(s.Selectors) != 1 || s.Selectors[0].Name != "Default management events" || s.Status != StatusEnabled {
		t.Fatalf("defaults: %+v", s)
	}
	fixed, err := e.l.CreateStore(ctx, owner, CreateInput{Name: "fixed", BillingMode: BillingFixed})
	if err != nil || fixed.RetentionDays != 2557 {
		t.Fatalf("fixed billing: %+v %v", fixed, err)
	}
	yes, no, days := true, false, func(n int) *int { return &n }
	tests := []struct {
		name string
		in   CreateInput
		c    Caller
		kind error
		want string
	}{
		{"short name", CreateInput{Name: "ab"}, owner, ErrInvalidParameter, "3 to 128"},
		{"bad name", CreateInput{Name: "has space"}, owner, ErrInvalidParameter, "not valid"},
		{"duplicate name", CreateInput{Name: "defaults"}, owner, ErrStoreAlreadyExists, "already exists"},
		{"retention too short", CreateInput{Name: "ret1", RetentionDays: days(6)}, owner, ErrInvalidParameter, "between 7 and 3653"},
		{"retention too long for fixed", CreateInput{Name: "ret2", RetentionDays: days(3000), BillingMode: BillingFixed}, owner, ErrInvalidParameter, "between 7 and 2557"},
		{"billing mode", CreateInput{Name: "bil1", BillingMode: "CHEAP"}, owner, ErrInvalidParameter, "BillingMode"},
		{"org store from a member account", CreateInput{Name: "org1", Organization: &yes}, Caller{Account: other, Region: region}, ErrNotOrganizationMaster, "management account"},
		{"multi-region integration store", CreateInput{Name: "act1", MultiRegion: &yes, Selectors: []Selector{sel("ActivityAuditLog")}}, owner, ErrInvalidParameter, "single-Region"},
		{"stop ingestion of config store", CreateInput{Name: "cfg1", StartIngestion: &no, Selectors: []Selector{sel("ConfigurationItem")}}, owner, ErrInvalidParameter, "StartIngestion"},
		{"bad KMS key", CreateInput{Name: "kms1", KmsKeyID: "my key"}, owner, ErrInvalidKmsKeyID, "not a KMS key"},
		{"KMS key of another account", CreateInput{Name: "kms2", KmsKeyID: "arn:aws:kms:us-east-1:444455556666:alias/x"}, owner, ErrInvalidKmsKeyID, "belongs to account 444455556666"},
		{"tag key reserved", CreateInput{Name: "tag1", Tags: []Tag{{Key: "aws:x", Value: "y"}}}, owner, ErrInvalidTag, "reserved"},
		{"mixed categories", CreateInput{Name: "mix1", Selectors: []Selector{sel("Management"), sel("ConfigurationItem")}}, owner, ErrInvalidSelectors, "not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.l.CreateStore(ctx, tt.c, tt.in)
			if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("%v; want %v saying %q", err, tt.kind, tt.want)
			}
		})
	}
}

func TestStoreLimit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for i := 0; i < maxStoresPerRegion; i++ {
		if _, err := e.l.CreateStore(ctx, owner, CreateInput{Name: "store-" + string(rune('a'+i))}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.l.CreateStore(ctx, owner, CreateInput{Name: "one-too-many"}); !errors.Is(err, ErrStoreMaxLimit) {
		t.Fatalf("%v", err)
	}
	// Another region has its own limit.
	if _, err := e.l.CreateStore(ctx, Caller{Account: acct, Region: "eu-west-1"}, CreateInput{Name: "one-too-many"}); err != nil {
		t.Fatal(err)
	}
}

// Deleting needs termination protection off, leaves the store pending deletion (not queryable,
// not receiving events, restorable) and removes it after seven days.
func TestDeleteRestorePurge(t *testing.T) {
	now := time.Now()
	clock := &now
	e := newEnv(t, func(c *Config) { c.Now = func() time.Time { return *clock } })
	ctx := context.Background()
	s := e.store(owner, "doomed")
	e.record(recorder.Scope{Account: acct}, mgmt("d1", "CreateBucket", acct, "alice", now))
	if err := e.l.DeleteStore(ctx, owner, s.ARN()); !errors.Is(err, ErrTerminationProtected) {
		t.Fatalf("delete protected: %v", err)
	}
	no := false
	if _, err := e.l.UpdateStore(ctx, owner, s.ID, UpdateInput{TerminationProtection: &no}); err != nil {
		t.Fatal(err)
	}
	if err := e.l.DeleteStore(ctx, owner, s.ID); err != nil {
		t.Fatal(err)
	}
	got, _ := e.l.GetStore(owner, s.ID)
	if got.Status != StatusPendingDeletion {
		t.Fatalf("status %s", got.Status)
	}
	if _, err := e.l.StartQuery(ctx, owner, "SELECT * FROM "+s.ID, StartOptions{}); !errors.Is(err, ErrInactiveStore) {
		t.Fatalf("query pending store: %v", err)
	}
	if err := e.l.DeleteStore(ctx, owner, s.ID); !errors.Is(err, ErrInactiveStore) {
		t.Fatalf("delete twice: %v", err)
	}
	e.record(recorder.Scope{Account: acct}, mgmt("d2", "CreateBucket", acct, "alice", now)) // not received
	r, err := e.l.RestoreStore(ctx, owner, s.ID)
	if err != nil || r.Status != StatusEnabled {
		t.Fatalf("restore: %+v %v", r, err)
	}
	if _, err := e.l.RestoreStore(ctx, owner, s.ID); !errors.Is(err, ErrInvalidStoreStatus) {
		t.Fatalf("restore twice: %v", err)
	}
	rows := e.mustQuery(owner, "SELECT eventid FROM "+s.ID)
	if len(rows) != 2 || rows[1][0] != "d1" {
		t.Fatalf("after restore: %v", rows)
	}
	if err := e.l.DeleteStore(ctx, owner, s.ID); err != nil {
		t.Fatal(err)
	}
	later := now.Add(pendingDeletionDuration + time.Minute)
	clock = &later
	e.l.housekeeping(ctx)
	if _, err := e.l.GetStore(owner, s.ID); !errors.Is(err, ErrStoreNotFound) {
		t.Fatalf("after seven days: %v", err)
	}
	var n int
	e.l.db.QueryRow(`SELECT count(*) FROM duckdb_tables() WHERE table_name = ?`, s.table()).Scan(&n)
	if n != 0 {
		t.Fatal("table still there")
	}
}

// Retention is by eventTime: older events are not ingested, and lowering retention removes them.
func TestRetention(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	s := e.store(owner, "kept")
	now := time.Now().UTC()
	e.record(recorder.Scope{Account: acct},
		mgmt("old", "CreateBucket", acct, "alice", now.AddDate(-20, 0, 0)), // older than any retention
		mgmt("month", "CreateBucket", acct, "alice", now.AddDate(0, -1, 0)),
		mgmt("new", "CreateBucket", acct, "alice", now))
	if rows := e.mustQuery(owner, "SELECT eventid FROM "+s.ID+" ORDER BY eventtime"); len(rows) != 3 || rows[1][0] != "month" {
		t.Fatalf("%v", rows)
	}
	week := 7
	if _, err := e.l.UpdateStore(ctx, owner, s.ID, UpdateInput{RetentionDays: &week}); err != nil {
		t.Fatal(err)
	}
	e.l.housekeeping(ctx)
	if rows := e.mustQuery(owner, "SELECT eventid FROM "+s.ID); len(rows) != 2 || rows[1][0] != "new" {
		t.Fatalf("after lowering retention: %v", rows)
	}
}

func TestStopStartIngestionAndSelectors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	writes := e.store(owner, "writes", sel("Management", FieldSelector{Field: "readOnly", Equals: []string{"false"}},
		FieldSelector{Field: "eventSource", NotEquals: []string{"kms.amazonaws.com"}}))
	data := e.store(owner, "s3-objects", sel("Data", FieldSelector{Field: "resources.type", Equals: []string{"AWS::S3::Object"}},
		FieldSelector{Field: "resources.ARN", StartsWith: []string{"arn:aws:s3:::alpha/"}}))
	cfg := e.store(owner, "config", sel("ConfigurationItem"))
	at := time.Now()
	object := func(id, arn string) string {
		return `{"eventVersion":"1.08","eventTime":"` + at.UTC().Format(time.RFC3339) + `","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1",` +
			`"eventID":"` + id + `","readOnly":true,"managementEvent":false,"eventCategory":"Data","recipientAccountId":"` + acct + `",` +
			`"resources":[{"type":"AWS::S3::Object","ARN":"` + arn + `"},{"type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::alpha"}]}`
	}
	e.record(recorder.Scope{Account: acct}, mgmt("w1", "PutObjectAcl", acct, "alice", at), object("o1", "arn:aws:s3:::alpha/x"),
		object("o2", "arn:aws:s3:::beta/x"))
	if err := e.l.StopIngestion(ctx, owner, writes.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.l.StopIngestion(ctx, owner, writes.ID); !errors.Is(err, ErrInvalidStoreStatus) {
		t.Fatalf("stop twice: %v", err)
	}
	if err := e.l.StopIngestion(ctx, owner, cfg.ID); !errors.Is(err, ErrInvalidStoreCategory) {
		t.Fatalf("stop config store: %v", err)
	}
	e.record(recorder.Scope{Account: acct}, mgmt("w2", "PutObjectAcl", acct, "alice", at))
	if err := e.l.StartIngestion(ctx, owner, writes.ID); err != nil {
		t.Fatal(err)
	}
	e.record(recorder.Scope{Account: acct}, mgmt("w3", "PutObjectAcl", acct, "alice", at))
	if rows := e.mustQuery(owner, "SELECT eventid FROM "+writes.ID+" ORDER BY eventid"); len(rows) != 3 || rows[1][0] != "w1" || rows[2][0] != "w3" {
		t.Fatalf("writes: %v", rows)
	}
	if rows := e.mustQuery(owner, "SELECT eventid, resources[1].arn FROM "+data.ID); len(rows) != 2 || rows[1][0] != "o1" || rows[1][1] != "arn:aws:s3:::alpha/x" {
		t.Fatalf("data: %v", rows)
	}
	if _, err := e.l.UpdateStore(ctx, owner, writes.ID, UpdateInput{Selectors: []Selector{sel("ConfigurationItem")}}); !errors.Is(err, ErrInvalidSelectors) {
		t.Fatalf("changing what a store holds: %v", err)
	}
}

// An encrypted store's events are not in lake.duckdb in the clear, nor are its query results in
// meta.sqlite; without the key file they cannot be read.
func TestEncryptionAtRest(t *testing.T) {
	e := newEnv(t)
	e.kmsKey = "alias/secrets"
	s := e.store(owner, "sealed")
	e.kmsKey = ""
	const marker = "needle-in-the-haystack-bucket"
	ev := strings.Replace(mgmt("k1", "CreateBucket", acct, "alice", time.Now()), "bucket-k1", marker, 1)
	e.record(recorder.Scope{Account: acct}, ev)
	rows := e.mustQuery(owner, "SELECT element_at(requestParameters, 'bucketName') FROM "+s.ID)
	if len(rows) != 2 || rows[1][0] != marker {
		t.Fatalf("%v", rows)
	}
	r := runAsync(t, e, owner, "SELECT element_at(requestParameters, 'bucketName') AS b FROM "+s.ID)
	if r.err != "" || r.rows[0][0] != marker {
		t.Fatalf("%+v", r)
	}
	if _, err := e.l.db.Exec("CHECKPOINT"); err != nil {
		t.Fatal(err)
	}
	e.l.meta.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	lakeFile, _ := os.ReadFile(filepath.Join(e.dir, "lake.duckdb"))
	metaFile, _ := os.ReadFile(filepath.Join(e.dir, "meta.sqlite"))
	if len(lakeFile) == 0 || bytes.Contains(lakeFile, []byte(marker)) {
		t.Errorf("the encrypted store's event is in lake.duckdb in the clear")
	}
	if bytes.Contains(metaFile, []byte(marker)) {
		t.Errorf("query results of the encrypted store are in meta.sqlite in the clear")
	}

	// Lose the key file: the store can no longer be read.
	e.stop()
	e.stop = nil
	os.RemoveAll(filepath.Join(e.dir, "keys"))
	e2 := reopen(t, e.dir)
	if _, err := e2.l.StartQuery(context.Background(), owner, "SELECT * FROM "+s.ID, StartOptions{}); !errors.Is(err, ErrKms) {
		t.Fatalf("query without the key: %v", err)
	}
}
