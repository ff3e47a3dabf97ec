package journal

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func scanAll(t *testing.T, dir string, after uint64) ([]Entry, ScanStats, error) {
	t.Helper()
	var out []Entry
	st, err := Scan(context.Background(), dir, after, func(e Entry) error {
		e.Data = bytes.Clone(e.Data)
		out = append(out, e)
		return nil
	})
	return out, st, err
}

func TestScan(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, dir, Options{SegmentBytes: 300})
	for i := 1; i <= 40; i++ {
		mustAppend(t, j, rec(i))
	}
	if n := len(segmentFiles(t, dir)); n < 4 {
		t.Fatalf("want several segments, got %d", n)
	}
	// Beside the open journal, which holds the lock, and from every position.
	for _, after := range []uint64{0, 1, 7, 39, 40, 41} {
		got, st, err := scanAll(t, dir, after)
		if err != nil {
			t.Fatalf("after %d: %v", after, err)
		}
		if after < 40 {
			checkRecords(t, got, int(after)+1, 40)
			if st.Records != uint64(len(got)) || st.LastSeq != 40 {
				t.Errorf("stats %+v", st)
			}
		} else if len(got) != 0 {
			t.Fatalf("after %d: %d records", after, len(got))
		}
		// Offsets are usable with ReadAt.
		for _, e := range got {
			r, err := j.ReadAt(e.Seq, e.Offset)
			if err != nil || !bytes.Equal(r.Data, e.Data) {
				t.Fatalf("ReadAt(%d, %d) = %q, %v", e.Seq, e.Offset, r.Data, err)
			}
		}
	}
	j.Close()

	// A torn tail of the last segment ends the scan, as recovery would cut it.
	segs := segmentFiles(t, dir)
	lastSeg := filepath.Join(dir, segs[len(segs)-1])
	f, err := os.OpenFile(lastSeg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("\x01\x02\x03 torn write"))
	f.Close()
	got, _, err := scanAll(t, dir, 0)
	if err != nil {
		t.Fatalf("torn tail: %v", err)
	}
	checkRecords(t, got, 1, 40)

	// Damage in a sealed segment is an error, not silently skipped.
	first := filepath.Join(dir, segs[0])
	b, _ := os.ReadFile(first)
	b[headerSize+frameHeaderSize+2] ^= 0xff
	os.WriteFile(first, b, 0o640)
	if _, _, err := scanAll(t, dir, 0); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("corrupt sealed segment: err = %v", err)
	}
	// A missing middle segment breaks the sequence: reported.
	os.WriteFile(first, nil, 0o640)
	os.Remove(first)
	os.Remove(filepath.Join(dir, segs[1]))
	os.Remove(filepath.Join(dir, segs[3]))
	if _, _, err := scanAll(t, dir, 0); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("gap: err = %v", err)
	}
}

func TestScanStops(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, dir, Options{})
	for i := 1; i <= 10; i++ {
		mustAppend(t, j, rec(i))
	}
	j.Close()
	stop := errors.New("stop")
	n := 0
	_, err := Scan(context.Background(), dir, 0, func(Entry) error {
		if n++; n == 3 {
			return stop
		}
		return nil
	})
	if err != stop || n != 3 {
		t.Fatalf("err %v after %d", err, n)
	}
	if _, err := Scan(context.Background(), filepath.Join(dir, "missing"), 0, func(Entry) error { return nil }); err == nil {
		t.Fatal("scan of a missing directory succeeded")
	}
}
