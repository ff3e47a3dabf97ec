package journal

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCheckpoints(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, dir, Options{})
	for i := 1; i <= 10; i++ {
		mustAppend(t, j, rec(i))
	}
	if seq, err := j.Checkpoint("history"); seq != 0 || err != nil {
		t.Fatalf("unset checkpoint = %d, %v", seq, err)
	}
	sets := []struct {
		name string
		seq  uint64
	}{{"history", 3}, {"trail.us-east-1", 10}, {"history", 7}, {"logs_2", 0}, {"trail.us-east-1", 5}}
	want := map[string]uint64{}
	for _, s := range sets {
		if err := j.SetCheckpoint(s.name, s.seq); err != nil {
			t.Fatalf("SetCheckpoint(%s, %d): %v", s.name, s.seq, err)
		}
		want[s.name] = s.seq
	}
	if err := j.SetCheckpoint("history", 11); err == nil {
		t.Fatal("SetCheckpoint beyond LastSeq succeeded")
	}
	check := func(j *Journal) {
		t.Helper()
		for name, seq := range want {
			if got, err := j.Checkpoint(name); got != seq || err != nil {
				t.Fatalf("Checkpoint(%s) = %d, %v; want %d", name, got, err, seq)
			}
		}
	}
	check(j)
	j.Close()

	// A temporary file left by a crash mid-SetCheckpoint is ignored and removed.
	tmp := filepath.Join(dir, checkpointDir, tmpPrefix+"history")
	if err := os.WriteFile(tmp, []byte("half"), 0o640); err != nil {
		t.Fatal(err)
	}
	j = mustOpen(t, dir, Options{})
	check(j)
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary checkpoint not removed: %v", err)
	}
	if err := j.DeleteCheckpoint("logs_2"); err != nil {
		t.Fatal(err)
	}
	delete(want, "logs_2")
	if seq, err := j.Checkpoint("logs_2"); seq != 0 || err != nil {
		t.Fatalf("deleted checkpoint = %d, %v", seq, err)
	}
	j.Close()
	j = mustOpen(t, dir, Options{})
	check(j)
	j.Close()

	// A damaged checkpoint stops Open rather than silently reading another value.
	flipByte(t, filepath.Join(dir, checkpointDir, "history"), 5)
	if j, err := Open(dir, Options{Logger: quiet}); err == nil || !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "history") {
		if err == nil {
			j.Close()
		}
		t.Fatalf("Open with damaged checkpoint: %v", err)
	}
}

func TestCheckpointNames(t *testing.T) {
	j := mustOpen(t, t.TempDir(), Options{})
	defer j.Close()
	for _, name := range []string{"", ".", "..", ".hidden", "a/b", "../x", `a\b`, "a b", "ü", strings.Repeat("x", 129)} {
		if err := j.SetCheckpoint(name, 0); err == nil {
			t.Errorf("SetCheckpoint(%q) succeeded", name)
		}
		if _, err := j.Checkpoint(name); err == nil {
			t.Errorf("Checkpoint(%q) succeeded", name)
		}
	}
	for _, name := range []string{"a", "A-b_c.d", strings.Repeat("x", 128)} {
		if err := j.SetCheckpoint(name, 0); err != nil {
			t.Errorf("SetCheckpoint(%q): %v", name, err)
		}
	}
}

func TestRetain(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = 30
	// Record i is appended at t0 + (i-1) minutes.
	at := func(i int) time.Time { return t0.Add(time.Duration(i-1) * time.Minute) }
	tests := []struct {
		name      string
		ckpts     map[string]uint64
		keepSince time.Time
		limit     uint64 // segments whose last record is <= limit may go
	}{
		{"no checkpoints", nil, at(n + 1), 0},
		{"checkpoint at zero", map[string]uint64{"a": 0}, at(n + 1), 0},
		{"everything read and old", map[string]uint64{"a": n}, at(n + 1), n},
		{"one reader held back", map[string]uint64{"a": n, "b": 12}, at(n + 1), 12},
		{"held back at a segment's first record", map[string]uint64{"a": n, "b": 13}, at(n + 1), 13},
		{"records too recent", map[string]uint64{"a": n}, at(11), 10},
		{"keepSince equals a record's time", map[string]uint64{"a": n}, at(10), 9},
		{"keep everything", map[string]uint64{"a": n}, t0, 0},
		{"zero keepSince", map[string]uint64{"a": n}, time.Time{}, 0},
	}
	for _, tt := range tests {
		for _, reopen := range []bool{false, true} {
			name := tt.name
			if reopen {
				name += "/reopened"
			}
			t.Run(name, func(t *testing.T) {
				dir := t.TempDir()
				opts := Options{SegmentBytes: 150, Now: fixedClock(t0, time.Minute)}
				j := mustOpen(t, dir, opts)
				for i := 1; i <= n; i++ {
					mustAppend(t, j, rec(i))
				}
				for name, seq := range tt.ckpts {
					if err := j.SetCheckpoint(name, seq); err != nil {
						t.Fatal(err)
					}
				}
				if reopen { // segment times are then unknown until scanned
					j.Close()
					j = mustOpen(t, dir, opts)
				}
				defer j.Close()
				files := segmentFiles(t, dir)
				if len(files) < 5 {
					t.Fatalf("only %d segments", len(files))
				}
				wantRemoved := 0
				for i := 0; i+1 < len(files); i++ {
					next, _ := parseSegmentName(files[i+1])
					if next-1 > tt.limit {
						break
					}
					wantRemoved++
				}

				removed, err := j.Retain(tt.keepSince)
				if err != nil || removed != wantRemoved {
					t.Fatalf("Retain = %d, %v; want %d", removed, err, wantRemoved)
				}
				left := segmentFiles(t, dir)
				if len(left) != len(files)-removed || left[0] != files[removed] {
					t.Fatalf("segments left %v, want %v", left, files[removed:])
				}
				first, _ := parseSegmentName(left[0])
				if st := j.Stats(); st.FirstSeq != first || st.LastSeq != n || st.Segments != len(left) {
					t.Fatalf("Stats = %+v, want FirstSeq %d, LastSeq %d, %d segments", st, first, n, len(left))
				}
				checkRecords(t, readAll(t, j, first-1, 10, 1000), int(first), n)
				if removed > 0 {
					if _, err := j.Cursor(first-2).TryNext(1, 1); !errors.Is(err, ErrCompacted) {
						t.Fatalf("cursor before FirstSeq: %v, want ErrCompacted", err)
					}
				}
				// Retain is idempotent and the result survives a reopen.
				if again, err := j.Retain(tt.keepSince); again != 0 || err != nil {
					t.Fatalf("second Retain = %d, %v", again, err)
				}
				j.Close()
				j = mustOpen(t, dir, opts)
				if j.FirstSeq() != first || j.LastSeq() != n {
					t.Fatalf("reopened: FirstSeq, LastSeq = %d, %d", j.FirstSeq(), j.LastSeq())
				}
			})
		}
	}
}

// TestRetainNeverActive: the active segment stays even when everything is read and old, and
// sequence numbers carry on after it.
func TestRetainNeverActive(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, dir, Options{SegmentBytes: 1})
	for i := 1; i <= 5; i++ {
		mustAppend(t, j, rec(i))
	}
	j.SetCheckpoint("a", 5)
	if removed, err := j.Retain(time.Now().Add(time.Hour)); removed != 4 || err != nil {
		t.Fatalf("Retain = %d, %v; want 4", removed, err)
	}
	if st := j.Stats(); st.Segments != 1 || st.FirstSeq != 5 || st.LastSeq != 5 {
		t.Fatalf("Stats = %+v", st)
	}
	j.Close()
	j = mustOpen(t, dir, Options{SegmentBytes: 1})
	defer j.Close()
	if first := mustAppend(t, j, rec(6)); first != 6 {
		t.Fatalf("append after retention got seq %d", first)
	}
	checkRecords(t, readAll(t, j, 4, 10, 1000), 5, 6)
}

func TestCompacted(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, dir, Options{SegmentBytes: 150})
	defer j.Close()
	for i := 1; i <= 30; i++ {
		mustAppend(t, j, rec(i))
	}
	files := segmentFiles(t, dir)
	second, _ := parseSegmentName(files[1])
	third, _ := parseSegmentName(files[2])

	// reading holds the first segment open; fresh has not started yet.
	reading := j.Cursor(0)
	defer reading.Close()
	if es, err := reading.TryNext(1, 1); err != nil || es[0].Seq != 1 {
		t.Fatalf("TryNext = %v, %v", es, err)
	}
	fresh := j.Cursor(0)
	defer fresh.Close()
	inThird := j.Cursor(third)
	defer inThird.Close()

	j.SetCheckpoint("a", third-1)
	if removed, err := j.Retain(time.Now().Add(time.Hour)); removed != 2 || err != nil {
		t.Fatalf("Retain = %d, %v; want 2", removed, err)
	}
	if _, err := fresh.TryNext(10, 1000); !errors.Is(err, ErrCompacted) {
		t.Fatalf("fresh cursor: %v, want ErrCompacted", err)
	}
	// The open cursor finishes the removed segment it holds, then finds its next one gone.
	got := 1
	var err error
	for err == nil {
		var es []Entry
		es, err = reading.TryNext(10, 1000)
		got += len(es)
	}
	if !errors.Is(err, ErrCompacted) || got != int(second)-1 {
		t.Fatalf("open cursor read %d records then %v; want %d then ErrCompacted", got, err, second-1)
	}
	checkRecords(t, readAll(t, j, third, 10, 1000), int(third)+1, 30)
	if _, err := inThird.TryNext(10, 1000); err != nil {
		t.Fatal(err)
	}
}
