// Package objstoretest is the conformance suite every objstore backend passes.
package objstoretest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/objstore"
)

// Run checks s's behaviour. bucket must not exist yet.
func Run(t *testing.T, s objstore.Store, bucket string) {
	ctx := context.Background()
	if ok, err := s.BucketExists(ctx, bucket); err != nil || ok {
		t.Fatalf("BucketExists before create = %v, %v", ok, err)
	}
	if err := s.Put(ctx, bucket, "k", []byte("x"), nil); !errors.Is(err, objstore.ErrNoSuchBucket) {
		t.Fatalf("Put into a missing bucket: %v, want ErrNoSuchBucket", err)
	}
	if err := s.CreateBucket(ctx, "Bad_Bucket"); !errors.Is(err, objstore.ErrInvalidBucket) {
		t.Fatalf("CreateBucket(Bad_Bucket) = %v", err)
	}
	if err := s.CreateBucket(ctx, bucket); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateBucket(ctx, bucket); err != nil {
		t.Fatalf("CreateBucket again (ours): %v", err)
	}
	if ok, err := s.BucketExists(ctx, bucket); err != nil || !ok {
		t.Fatalf("BucketExists after create = %v, %v", ok, err)
	}

	// S3 order: '-' and '.' sort before '/'.
	keys := []string{"AWSLogs/a/b.json.gz", "AWSLogs/a-b.json.gz", "AWSLogs/a.b", "AWSLogs/a/c/d.json.gz", "other/x", "AWSLogs/a0"}
	for i, k := range keys {
		meta := map[string]string{"signature": fmt.Sprintf("%02x", i), "signature-algorithm": "SHA256withRSA"}
		if err := s.Put(ctx, bucket, k, []byte("body of "+k), meta); err != nil {
			t.Fatalf("Put %s: %v", k, err)
		}
	}
	list := func(prefix, marker string, max int) []string {
		var got []string
		err := s.List(ctx, bucket, prefix, marker, func(o objstore.Object) bool {
			if o.Size <= 0 || o.Modified.IsZero() {
				t.Errorf("List %s: size %d, modified %v", o.Key, o.Size, o.Modified)
			}
			got = append(got, o.Key)
			return len(got) < max
		})
		if err != nil {
			t.Fatalf("List(%q, %q): %v", prefix, marker, err)
		}
		return got
	}
	for _, c := range []struct {
		prefix, marker string
		max            int
		want           string
	}{
		{"", "", 100, "[AWSLogs/a-b.json.gz AWSLogs/a.b AWSLogs/a/b.json.gz AWSLogs/a/c/d.json.gz AWSLogs/a0 other/x]"},
		{"AWSLogs/a", "", 100, "[AWSLogs/a-b.json.gz AWSLogs/a.b AWSLogs/a/b.json.gz AWSLogs/a/c/d.json.gz AWSLogs/a0]"},
		{"AWSLogs/a/", "", 100, "[AWSLogs/a/b.json.gz AWSLogs/a/c/d.json.gz]"},
		{"AWSLogs/", "AWSLogs/a/b.json.gz", 100, "[AWSLogs/a/c/d.json.gz AWSLogs/a0]"},
		{"AWSLogs/", "AWSLogs/a/a", 2, "[AWSLogs/a/b.json.gz AWSLogs/a/c/d.json.gz]"},
		{"nothing/", "", 100, "[]"},
	} {
		if got := fmt.Sprint(list(c.prefix, c.marker, c.max)); got != c.want {
			t.Errorf("List(%q, %q) = %s, want %s", c.prefix, c.marker, got, c.want)
		}
	}

	body, o, err := s.Get(ctx, bucket, "AWSLogs/a/b.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(body)
	body.Close()
	if string(b) != "body of AWSLogs/a/b.json.gz" || o.Metadata["signature"] != "00" || o.Metadata["signature-algorithm"] != "SHA256withRSA" {
		t.Errorf("Get = %q, %v", b, o.Metadata)
	}
	if time.Since(o.Modified) > time.Hour || o.Modified.After(time.Now().Add(time.Minute)) {
		t.Errorf("Modified = %v", o.Modified)
	}
	if _, _, err := s.Get(ctx, bucket, "AWSLogs/missing"); !errors.Is(err, objstore.ErrNotFound) {
		t.Errorf("Get missing: %v, want ErrNotFound", err)
	}

	// Overwrite replaces body and metadata.
	if err := s.Put(ctx, bucket, "AWSLogs/a/b.json.gz", []byte("new"), map[string]string{"signature": "ff"}); err != nil {
		t.Fatal(err)
	}
	body, o, err = s.Get(ctx, bucket, "AWSLogs/a/b.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(body)
	body.Close()
	if string(b) != "new" || o.Metadata["signature"] != "ff" || o.Metadata["signature-algorithm"] != "" {
		t.Errorf("after overwrite: %q, %v", b, o.Metadata)
	}

	// The colder tier keeps the object readable, with its metadata, and says it is cold.
	if err := s.Transition(ctx, bucket, "AWSLogs/a/c/d.json.gz"); err != nil {
		t.Fatalf("Transition: %v", err)
	}
	body, o, err = s.Get(ctx, bucket, "AWSLogs/a/c/d.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(body)
	body.Close()
	if string(b) != "body of AWSLogs/a/c/d.json.gz" || !o.Cold || o.Metadata["signature"] != "03" {
		t.Errorf("after Transition: %q cold=%v %v", b, o.Cold, o.Metadata)
	}
	if err := s.Delete(ctx, bucket, "AWSLogs/a/c/d.json.gz"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, bucket, "AWSLogs/a/c/d.json.gz"); err != nil {
		t.Errorf("Delete missing: %v", err)
	}
	if _, _, err := s.Get(ctx, bucket, "AWSLogs/a/c/d.json.gz"); !errors.Is(err, objstore.ErrNotFound) {
		t.Errorf("Get deleted: %v", err)
	}

	// Lifecycle: everything is older than a rule of 0 days would allow, so use a clock ahead.
	future := time.Now().Add(10 * 24 * time.Hour)
	tr, ex, err := objstore.ApplyLifecycle(ctx, s, []objstore.Rule{
		{Bucket: bucket, Prefix: "other/", ExpireAfter: 5 * 24 * time.Hour},
		{Bucket: bucket, Prefix: "AWSLogs/a/", TransitionAfter: 24 * time.Hour, ExpireAfter: 30 * 24 * time.Hour},
	}, future)
	if err != nil || tr != 1 || ex != 1 {
		t.Errorf("ApplyLifecycle = %d transitioned, %d expired, %v; want 1, 1", tr, ex, err)
	}
	if got := fmt.Sprint(list("", "", 100)); got != "[AWSLogs/a-b.json.gz AWSLogs/a.b AWSLogs/a/b.json.gz AWSLogs/a0]" {
		t.Errorf("after lifecycle: %s", got)
	}
}
