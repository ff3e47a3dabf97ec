package journal

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// frameEnds parses a segment file and returns the offset at which each record ends,
// starting with the end of the header.
func frameEnds(t testing.TB, path string) []int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	fr := frameReader{r: f, name: filepath.Base(path), limit: fi.Size()}
	fr.reset(headerSize)
	ends := []int64{headerSize}
	for {
		_, _, err := fr.next(true)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("parse %s: %v", path, err)
			}
			return ends
		}
		ends = append(ends, fr.offset())
	}
}

// buildJournal appends rec(1)..rec(n), one Append each, and closes the journal.
func buildJournal(t testing.TB, dir string, segmentBytes int64, n int) {
	t.Helper()
	j := mustOpen(t, dir, Options{SegmentBytes: segmentBytes})
	for i := 1; i <= n; i++ {
		mustAppend(t, j, rec(i))
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
}

func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dst, "LOCK"))
}

// logBuffer returns a logger writing text to the returned buffer.
func logBuffer() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewTextHandler(&buf, nil)), &buf
}

// TestRecoveryTruncatedTail cuts the last segment at every byte offset within its last few
// records (and, for a fresh segment, within its header) and checks that Open keeps exactly the
// complete records and that appends continue after them.
func TestRecoveryTruncatedTail(t *testing.T) {
	tests := []struct {
		name         string
		segmentBytes int64
		n            int
		cutFrom      int // cut from the end of this many complete records in the last segment
	}{
		{"single segment", 0, 20, 17},
		{"last of several segments", 200, 40, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pristine := t.TempDir()
			buildJournal(t, pristine, tt.segmentBytes, tt.n)
			files := segmentFiles(t, pristine)
			lastName := files[len(files)-1]
			lastFirst, _ := parseSegmentName(lastName)
			ends := frameEnds(t, filepath.Join(pristine, lastName))
			if got := int(lastFirst) + len(ends) - 2; got != tt.n {
				t.Fatalf("pristine journal ends at %d, want %d", got, tt.n)
			}
			data, err := os.ReadFile(filepath.Join(pristine, lastName))
			if err != nil {
				t.Fatal(err)
			}
			start := ends[tt.cutFrom]
			if tt.cutFrom == 0 {
				start = 0 // inside the header too
			}
			for cut := start; cut <= int64(len(data)); cut++ {
				dir := t.TempDir()
				copyDir(t, pristine, dir)
				path := filepath.Join(dir, lastName)
				if err := os.WriteFile(path, data[:cut], 0o640); err != nil {
					t.Fatal(err)
				}
				complete := 0 // complete records in the cut segment
				for complete+1 < len(ends) && ends[complete+1] <= cut {
					complete++
				}
				wantLast := int(lastFirst) - 1 + complete

				logger, logs := logBuffer()
				j, err := Open(dir, Options{SegmentBytes: tt.segmentBytes, Logger: logger})
				if err != nil {
					t.Fatalf("cut at %d: Open: %v", cut, err)
				}
				if got := j.LastSeq(); got != uint64(wantLast) {
					t.Fatalf("cut at %d: LastSeq = %d, want %d", cut, got, wantLast)
				}
				fi, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if cut >= headerSize && fi.Size() != ends[complete] {
					t.Fatalf("cut at %d: segment is %d bytes, want %d", cut, fi.Size(), ends[complete])
				}
				if cut > headerSize && cut != ends[complete] {
					if want := fmt.Sprintf("dropped_bytes=%d", cut-ends[complete]); !strings.Contains(logs.String(), want) {
						t.Fatalf("cut at %d: log lacks %s:\n%s", cut, want, logs)
					}
				}
				if first := mustAppend(t, j, rec(wantLast+1)); first != uint64(wantLast+1) {
					t.Fatalf("cut at %d: append after recovery got seq %d, want %d", cut, first, wantLast+1)
				}
				j.Close()
				j = mustOpen(t, dir, Options{SegmentBytes: tt.segmentBytes})
				checkRecords(t, readAll(t, j, 0, 1000, 1<<20), 1, wantLast+1)
				j.Close()
			}
		})
	}
}

func TestRecoveryGarbageTail(t *testing.T) {
	badCRC := appendFrame(nil, 1, []byte("a record whose checksum will not match"))
	badCRC[0] ^= 1
	hugeLen := appendFrame(nil, 1, []byte("x"))
	hugeLen[4], hugeLen[7] = 0xff, 0x7f
	random := make([]byte, 5000)
	for i := range random {
		random[i] = byte(i*7919 + i>>3)
	}
	garbage := []struct {
		name string
		data []byte
	}{
		{"one zero", []byte{0}},
		{"15 zeros", make([]byte, 15)},
		{"16 zeros", make([]byte, 16)},
		{"a page of zeros", make([]byte, 4096)},
		{"pseudo-random bytes", random},
		{"frame with bad checksum", badCRC},
		{"frame claiming 2 GiB", hugeLen},
		{"half a frame", appendFrame(nil, 1, bytes.Repeat([]byte("h"), 100))[:60]},
	}
	for _, segBytes := range []int64{0, 300} {
		pristine := t.TempDir()
		buildJournal(t, pristine, segBytes, 25)
		files := segmentFiles(t, pristine)
		lastName := files[len(files)-1]
		for _, g := range garbage {
			t.Run(fmt.Sprintf("%s/segments=%d", g.name, len(files)), func(t *testing.T) {
				dir := t.TempDir()
				copyDir(t, pristine, dir)
				path := filepath.Join(dir, lastName)
				before, _ := os.Stat(path)
				f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
				if err != nil {
					t.Fatal(err)
				}
				f.Write(g.data)
				f.Close()

				logger, logs := logBuffer()
				j, err := Open(dir, Options{SegmentBytes: segBytes, Logger: logger})
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				defer j.Close()
				if j.LastSeq() != 25 {
					t.Fatalf("LastSeq = %d, want 25", j.LastSeq())
				}
				if after, _ := os.Stat(path); after.Size() != before.Size() {
					t.Fatalf("segment is %d bytes after recovery, want %d", after.Size(), before.Size())
				}
				if want := fmt.Sprintf("dropped_bytes=%d", len(g.data)); !strings.Contains(logs.String(), want) {
					t.Fatalf("log lacks %s:\n%s", want, logs)
				}
				mustAppend(t, j, rec(26))
				checkRecords(t, readAll(t, j, 0, 1000, 1<<20), 1, 26)
			})
		}
	}
}

// A record damaged in the middle of the last segment cannot be told from a torn write, so
// recovery keeps the records before it (as Prometheus does); see the package documentation.
func TestRecoveryCorruptLastSegmentMiddle(t *testing.T) {
	dir := t.TempDir()
	buildJournal(t, dir, 0, 10)
	path := filepath.Join(dir, segmentName(1))
	ends := frameEnds(t, path)
	flipByte(t, path, ends[4]+frameHeaderSize+2) // payload of record 5
	logger, logs := logBuffer()
	j, err := Open(dir, Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if j.LastSeq() != 4 {
		t.Fatalf("LastSeq = %d, want 4", j.LastSeq())
	}
	if !strings.Contains(logs.String(), "checksum mismatch") {
		t.Fatalf("log does not give the reason:\n%s", logs)
	}
}

// TestRecoveryTornHeader: a crash while creating a segment can leave it with a partial or zeroed
// header and nothing else; that is repaired. A bad header with records after it is corruption.
func TestRecoveryTornHeader(t *testing.T) {
	for _, tt := range []struct {
		name    string
		content []byte
		wantErr bool
	}{
		{"empty", nil, false},
		{"partial", encodeHeader(11)[:10], false},
		{"zeroed", make([]byte, headerSize), false},
		{"bad header before records", append(make([]byte, headerSize), appendFrame(nil, 1, []byte("r"))...), true},
		{"wrong first sequence", encodeHeader(12), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			buildJournal(t, dir, 0, 10)
			if err := os.WriteFile(filepath.Join(dir, segmentName(11)), tt.content, 0o640); err != nil {
				t.Fatal(err)
			}
			j, err := Open(dir, Options{Logger: quiet})
			if tt.wantErr {
				if err == nil {
					j.Close()
					t.Fatal("Open succeeded")
				}
				if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), segmentName(11)) {
					t.Fatalf("Open error %q does not name the segment or wrap ErrCorrupt", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer j.Close()
			if j.LastSeq() != 10 || j.FirstSeq() != 1 {
				t.Fatalf("FirstSeq, LastSeq = %d, %d", j.FirstSeq(), j.LastSeq())
			}
			mustAppend(t, j, rec(11))
			checkRecords(t, readAll(t, j, 0, 1000, 1<<20), 1, 11)
		})
	}
}

func flipByte(t testing.TB, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := []byte{0}
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x40
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// TestCorruptSealedSegment damages a segment that is not the last one. Open checks only headers,
// so the damage must surface when a cursor (or Retain) reads it, naming the segment and offset.
func TestCorruptSealedSegment(t *testing.T) {
	const segBytes, n = 300, 40
	pristine := t.TempDir()
	buildJournal(t, pristine, segBytes, n)
	files := segmentFiles(t, pristine)
	if len(files) < 4 {
		t.Fatalf("only %d segments", len(files))
	}
	victim := files[1]
	victimFirst, _ := parseSegmentName(victim)
	nextFirst, _ := parseSegmentName(files[2])
	ends := frameEnds(t, filepath.Join(pristine, victim))

	tests := []struct {
		name     string
		damage   func(path string)
		openErr  bool
		wantOff  int64 // offset the error names
		wantText string
	}{
		{"payload byte", func(p string) { flipByte(t, p, ends[1]+frameHeaderSize+1) }, false, ends[1], "checksum mismatch"},
		{"checksum byte", func(p string) { flipByte(t, p, ends[0]) }, false, ends[0], "checksum mismatch"},
		{"length byte", func(p string) { flipByte(t, p, ends[1]+4) }, false, ends[1], ""},
		{"time byte", func(p string) { flipByte(t, p, ends[2]+9) }, false, ends[2], "checksum mismatch"},
		{"header byte", func(p string) { flipByte(t, p, 3) }, true, 0, "bad magic"},
		{"cut mid-record", func(p string) { os.Truncate(p, ends[len(ends)-1]-5) }, false, ends[len(ends)-2], "runs past the end"},
		{"cut at a record boundary", func(p string) { os.Truncate(p, ends[len(ends)-2]) }, false, ends[len(ends)-2], "segment ends"},
		{"extra record", func(p string) {
			f, _ := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
			f.Write(appendFrame(nil, 1, []byte("extra")))
			f.Close()
		}, false, ends[len(ends)-1], "follow the segment's last record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			copyDir(t, pristine, dir)
			tt.damage(filepath.Join(dir, victim))
			wantMsg := fmt.Sprintf("segment %s at offset %d", victim, tt.wantOff)
			check := func(what string, err error) {
				t.Helper()
				if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), wantMsg) || !strings.Contains(err.Error(), tt.wantText) {
					t.Fatalf("%s: error %v; want ErrCorrupt naming %q and %q", what, err, wantMsg, tt.wantText)
				}
			}
			j, err := Open(dir, Options{SegmentBytes: segBytes, Logger: quiet})
			if tt.openErr {
				if err == nil {
					j.Close()
				}
				check("Open", err)
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer j.Close()

			c := j.Cursor(0)
			defer c.Close()
			var got []Entry
			for {
				es, err := c.TryNext(1000, 1<<20)
				if err != nil {
					check("cursor", err)
					break
				}
				if len(es) == 0 {
					t.Fatal("cursor read the damaged segment without an error")
				}
				got = append(got, es...)
			}
			// Everything before the damage was returned, nothing after it.
			for i, e := range got {
				if e.Seq != uint64(i+1) {
					t.Fatalf("entry %d has seq %d", i, e.Seq)
				}
			}
			if len(got) >= int(nextFirst) {
				t.Fatalf("cursor went past the damaged segment (%d entries)", len(got))
			}
			// The error is sticky, not skipped.
			if _, err := c.TryNext(1000, 1<<20); err == nil {
				t.Fatal("second read past the damage succeeded")
			}
			// Later segments are still readable.
			checkRecords(t, readAll(t, j, nextFirst-1, 1000, 1<<20), int(nextFirst), n)

			// Retain scans the segment before deleting it and reports the damage.
			if err := j.SetCheckpoint("r", n); err != nil {
				t.Fatal(err)
			}
			removed, err := j.Retain(time.Now().Add(time.Hour))
			check("Retain", err)
			if removed != 1 || j.FirstSeq() != victimFirst {
				t.Fatalf("Retain removed %d, FirstSeq %d; want 1, %d", removed, j.FirstSeq(), victimFirst)
			}
		})
	}
}
