package journal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestReadAt(t *testing.T) {
	j, err := Open(t.TempDir(), Options{SegmentBytes: 4 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var recs [][]byte
	for i := 0; i < 200; i++ {
		recs = append(recs, []byte(fmt.Sprintf("record %d %s", i, bytes.Repeat([]byte{'x'}, i))))
	}
	if _, err := j.Append(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	c := j.Cursor(0)
	defer c.Close()
	type pos struct {
		seq uint64
		off int64
	}
	var all []pos
	for len(all) < len(recs) {
		ents, err := c.Next(context.Background(), 50, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			all = append(all, pos{e.Seq, e.Offset})
		}
	}
	for _, p := range all {
		e, err := j.ReadAt(p.seq, p.off)
		if err != nil {
			t.Fatalf("ReadAt(%d, %d): %v", p.seq, p.off, err)
		}
		if !bytes.Equal(e.Data, recs[p.seq-1]) {
			t.Fatalf("ReadAt(%d) = %q", p.seq, e.Data)
		}
	}
	// A wrong offset is corruption, never a silently different record.
	if _, err := j.ReadAt(all[5].seq, all[5].off+3); !errors.Is(err, ErrCorrupt) {
		t.Errorf("bad offset: %v, want ErrCorrupt", err)
	}
	if _, err := j.ReadAt(999, 24); err == nil {
		t.Error("sequence beyond the end accepted")
	}
}
