package trail

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/logfile"
	"github.com/cairn-dev/cairn/internal/objstore"
)

// delivered lists the trail bucket's log and digest keys and counts each delivered eventID.
func (f *fixture) delivered(bucket string) (logs, digests []string, events map[string]int) {
	f.t.Helper()
	events = map[string]int{}
	ctx := context.Background()
	f.objects.List(ctx, bucket, "", "", func(o objstore.Object) bool {
		info, err := logfile.ParseKey(o.Key)
		if err != nil {
			f.t.Errorf("delivered key %s: %v", o.Key, err)
			return true
		}
		if info.Kind == logfile.Digest {
			digests = append(digests, o.Key)
			return true
		}
		logs = append(logs, o.Key)
		body, _, err := f.objects.Get(ctx, bucket, o.Key)
		if err != nil {
			f.t.Fatal(err)
		}
		defer body.Close()
		if err := logfile.Decode(body, func(raw []byte) error {
			i := strings.Index(string(raw), `"eventID":"`)
			id := string(raw[i+len(`"eventID":"`):])
			events[id[:strings.IndexByte(id, '"')]]++
			return nil
		}); err != nil {
			f.t.Errorf("decode %s: %v", o.Key, err)
		}
		return true
	})
	return logs, digests, events
}

// A batch over MaxFileBytes is split into several files; each event is in exactly one, and
// the digest covers them all.
func TestDeliverySplitsAtMaxFileBytes(t *testing.T) {
	f := newFixture(t)
	f.d = NewDeliverer(f.j, f.store, f.objects, f.keys, DeliveryOptions{Interval: time.Second, DigestInterval: 10 * time.Second,
		MaxFileBytes: 2000, Now: func() time.Time { return f.clock }})
	tr := f.createTrail("main", false)
	f.record(12, "us-east-1", "RunInstances") // about 500 bytes each
	f.step()
	f.clock = f.clock.Add(11 * time.Second)
	f.step()
	logs, digests, events := f.delivered(tr.S3BucketName)
	if len(logs) < 3 || len(digests) != 1 {
		t.Fatalf("%d log files and %d digests; want the 12 records split over at least 3 files, one digest", len(logs), len(digests))
	}
	if len(events) != 12 {
		t.Errorf("%d distinct events delivered, want 12", len(events))
	}
	for id, n := range events {
		if n != 1 {
			t.Errorf("event %s delivered %d times", id, n)
		}
	}
	for _, k := range logs {
		body, _, _ := f.objects.Get(context.Background(), tr.S3BucketName, k)
		n := 0
		logfile.Decode(body, func(raw []byte) error { n += len(raw) + 1; return nil })
		body.Close()
		if n > 2000 {
			t.Errorf("%s holds %d bytes of records, over MaxFileBytes", k, n)
		}
	}
	out, errs, code := f.validate(tr, "us-east-1")
	if code != 0 || !strings.Contains(out, "1/1 digest files valid") || !strings.Contains(out, "log files valid") {
		t.Errorf("validate: exit %d\n%s%s", code, out, errs)
	}
}

// flaky is an object store whose writes fail while fail is set.
type flaky struct {
	objstore.Store
	fail atomic.Bool
}

func (s *flaky) Put(ctx context.Context, bucket, key string, body []byte, meta map[string]string) error {
	if s.fail.Load() {
		return errors.New("SlowDown: please reduce your request rate (injected)")
	}
	return s.Store.Put(ctx, bucket, key, body, meta)
}

// A failed delivery shows in the trail's status (GetTrailStatus's LatestDeliveryError,
// LatestDigestDeliveryError) and the next attempt delivers the same files, each event once.
func TestDeliveryFailureReportedAndRetried(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	store := &flaky{Store: f.objects}
	f.d = NewDeliverer(f.j, f.store, store, f.keys, DeliveryOptions{Interval: time.Second, DigestInterval: 10 * time.Second, Now: func() time.Time { return f.clock }})
	tr := f.createTrail("main", false)
	f.record(5, "us-east-1", "RunInstances")

	store.fail.Store(true)
	if err := f.d.step(ctx); err == nil || !strings.Contains(err.Error(), "injected") {
		t.Fatalf("step with a failing store: %v", err)
	}
	st, err := f.store.Status(ctx, tr.ARN)
	if err != nil || !strings.Contains(st.DeliveryError, "SlowDown") || st.DeliveryAttemptTime.IsZero() || !st.DeliveryTime.IsZero() {
		t.Fatalf("status after a failed delivery: %+v %v", st, err)
	}
	f.record(2, "us-east-1", "StopInstances") // arrives during the outage

	store.fail.Store(false)
	f.clock = f.clock.Add(2 * time.Second)
	f.step() // redoes the failed cycle: the same range, the same object names
	f.clock = f.clock.Add(2 * time.Second)
	f.step() // what arrived meanwhile
	if st, _ = f.store.Status(ctx, tr.ARN); st.DeliveryError != "" || st.DeliveryTime.IsZero() {
		t.Errorf("status after the retry: %+v", st)
	}
	logs, _, events := f.delivered(tr.S3BucketName)
	if len(events) != 7 {
		t.Errorf("%d events in %d files after the retry, want 7", len(events), len(logs))
	}
	for id, n := range events {
		if n != 1 {
			t.Errorf("event %s delivered %d times", id, n)
		}
	}

	// The digest fails, then is written on the next attempt; the chain validates.
	f.clock = f.clock.Add(10 * time.Second)
	store.fail.Store(true)
	if err := f.d.step(ctx); err == nil {
		t.Fatal("digest with a failing store: no error")
	}
	if st, _ = f.store.Status(ctx, tr.ARN); !strings.Contains(st.DigestError, "SlowDown") {
		t.Errorf("status after a failed digest: %+v", st)
	}
	store.fail.Store(false)
	f.step()
	if st, _ = f.store.Status(ctx, tr.ARN); st.DigestError != "" || st.DigestTime.IsZero() {
		t.Errorf("status after the digest retry: %+v", st)
	}
	out, errs, code := f.validate(tr, "us-east-1")
	if code != 0 || !strings.Contains(out, "1/1 digest files valid") {
		t.Errorf("validate: exit %d\n%s%s", code, out, errs)
	}
}

// DeleteTrail on a logging trail delivers what is pending and a final digest before the trail
// goes; the delivered files validate.
func TestDeleteTrailWritesFinalDigest(t *testing.T) {
	f := newFixture(t)
	tr := f.createTrail("main", false)
	f.record(3, "us-east-1", "RunInstances")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.d.Run(ctx) }()
	defer func() { cancel(); <-done }()

	// The stop is at the real time, as the journal stamps the events (the fixture's clock is
	// only delivery's).
	m := &Manager{Store: f.store, Delivery: f.d, Objects: f.objects}
	if err := m.Delete(context.Background(), acct, "us-east-1", "main"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Resolve(context.Background(), acct, "us-east-1", "main", true); !errors.Is(err, ErrNotFound) {
		t.Errorf("trail after DeleteTrail: %v", err)
	}
	logs, digests, events := f.delivered(tr.S3BucketName)
	if len(logs) != 1 || len(events) != 3 || len(digests) != 1 {
		t.Fatalf("after DeleteTrail: %d log files (%d events), %d digests; want 1 (3), 1", len(logs), len(events), len(digests))
	}
	out, errs, code := f.validate(tr, "us-east-1")
	if code != 0 || !strings.Contains(out, "1/1 digest files valid") || !strings.Contains(out, "1/1 log files valid") {
		t.Errorf("validate: exit %d\n%s%s", code, out, errs)
	}
}
