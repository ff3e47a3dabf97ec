package local

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/cairn-dev/cairn/internal/objstore"
	"github.com/cairn-dev/cairn/internal/objstore/objstoretest"
)

func TestConformance(t *testing.T) {
	dir := t.TempDir()
	s, err := New(filepath.Join(dir, "objects"), filepath.Join(dir, "objects-cold"))
	if err != nil {
		t.Fatal(err)
	}
	objstoretest.Run(t, s, "cairn-test-bucket")
}

func TestRejectsUnsafeKeys(t *testing.T) {
	s, err := New(t.TempDir(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s.CreateBucket(ctx, "b-1")
	for _, k := range []string{"", "../escape", "a/../../b", "a//b", "/abs", "a/.x.cairn-meta", "a/.cairn-tmp.1", "a/./b"} {
		if err := s.Put(ctx, "b-1", k, []byte("x"), nil); !errors.Is(err, objstore.ErrInvalidKey) {
			t.Errorf("Put(%q) = %v, want ErrInvalidKey", k, err)
		}
	}
}
