package journal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// faults makes the writer's next file operations fail. A failing write still writes the first
// half of its bytes, as a full disk can.
type faults struct {
	mu                           sync.Mutex
	writes, syncs, truncates     int // how many of the next calls fail
	skipSyncs                    int // syncs that succeed before those fail
	wroteHalf                    int // failed writes so far
	failedSyncs, failedTruncates int
}

func (f *faults) set(writes, syncs, truncates int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes, f.syncs, f.truncates = writes, syncs, truncates
}

func (f *faults) take(n *int, count *int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if *n == 0 {
		return false
	}
	*n--
	*count++
	return true
}

type faultyFile struct {
	*os.File
	f *faults
}

func (ff faultyFile) WriteAt(p []byte, off int64) (int, error) {
	if ff.f.take(&ff.f.writes, &ff.f.wroteHalf) {
		n, _ := ff.File.WriteAt(p[:len(p)/2], off)
		return n, &os.PathError{Op: "write", Path: ff.Name(), Err: syscall.ENOSPC}
	}
	return ff.File.WriteAt(p, off)
}

func (ff faultyFile) Sync() error {
	ff.f.mu.Lock()
	skip := ff.f.skipSyncs > 0
	if skip {
		ff.f.skipSyncs--
	}
	ff.f.mu.Unlock()
	if !skip && ff.f.take(&ff.f.syncs, &ff.f.failedSyncs) {
		return &os.PathError{Op: "sync", Path: ff.Name(), Err: syscall.EIO}
	}
	return ff.File.Sync()
}

func (ff faultyFile) Truncate(size int64) error {
	if ff.f.take(&ff.f.truncates, &ff.f.failedTruncates) {
		return &os.PathError{Op: "truncate", Path: ff.Name(), Err: syscall.EIO}
	}
	return ff.File.Truncate(size)
}

func openFaulty(t *testing.T, dir string, segmentBytes int64) (*Journal, *faults) {
	f := &faults{}
	j := mustOpen(t, dir, Options{
		SegmentBytes: segmentBytes,
		wrapFile:     func(osf *os.File) segmentFile { return faultyFile{osf, f} },
	})
	return j, f
}

func TestWriteFailure(t *testing.T) {
	tests := []struct {
		name                     string
		segmentBytes             int64
		writes, syncs, truncates int
		skipSyncs                int
		failing                  int // Appends that fail before one succeeds
		wantErr                  error
		rotates                  bool // the failing Append would start a new segment
	}{
		{"write fails half-way", 0, 1, 0, 0, 0, 1, syscall.ENOSPC, false},
		{"fsync fails", 0, 0, 1, 0, 0, 1, syscall.EIO, false},
		{"write fails, truncate fails once", 0, 1, 0, 1, 0, 1, syscall.ENOSPC, false},
		{"write fails, truncate fails three times", 0, 1, 0, 3, 0, 3, syscall.EIO, false},
		{"new segment's header write fails", 200, 1, 0, 0, 0, 1, syscall.ENOSPC, true},
		{"old segment's fsync before rotation fails", 200, 0, 1, 0, 0, 1, syscall.EIO, true},
		{"new segment's fsync fails", 200, 0, 1, 0, 1, 1, syscall.EIO, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			j, f := openFaulty(t, dir, tt.segmentBytes)
			const good = 5
			for i := 1; i <= good; i++ {
				mustAppend(t, j, rec(i))
			}
			files := segmentFiles(t, dir)
			active := filepath.Join(dir, files[len(files)-1])
			before, _ := os.Stat(active)
			c := j.Cursor(0)
			defer c.Close()

			f.set(tt.writes, tt.syncs, tt.truncates)
			f.skipSyncs = tt.skipSyncs
			for k := range tt.failing {
				_, err := j.Append(context.Background(), [][]byte{rec(good + 1), rec(good + 2)})
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("failing Append %d: %v, want %v", k, err, tt.wantErr)
				}
				if j.LastSeq() != good {
					t.Fatalf("LastSeq = %d after a failed Append", j.LastSeq())
				}
				// Readers never see the failed bytes.
				if es := readAll(t, j, 0, 100, 1<<20); len(es) != good {
					t.Fatalf("readers see %d records, want %d", len(es), good)
				}
			}
			if got := segmentFiles(t, dir); len(got) != len(files) {
				t.Fatalf("failed Appends left segments %v, had %v", got, files)
			}
			after, _ := os.Stat(active)
			switch {
			case tt.truncates == 0 && after.Size() != before.Size():
				t.Fatalf("active segment is %d bytes after the failure, was %d", after.Size(), before.Size())
			case tt.truncates > 0 && after.Size() <= before.Size():
				t.Fatal("the failed write left nothing behind for the next Append to truncate")
			}

			if first := mustAppend(t, j, rec(good+1), rec(good+2)); first != good+1 {
				t.Fatalf("Append after failure: first = %d, want %d", first, good+1)
			}
			if tt.rotates && len(segmentFiles(t, dir)) != len(files)+1 {
				t.Fatal("the retried Append did not start a new segment")
			}
			if after, _ := os.Stat(active); !tt.rotates && after.Size() != before.Size()+int64(len(appendFrame(appendFrame(nil, 0, rec(good+1)), 0, rec(good+2)))) {
				t.Fatalf("active segment is %d bytes, want the good prefix plus two records", after.Size())
			}
			// The cursor opened before the failure carries on across it.
			checkRecords(t, drain(t, c, 100, 1<<20), 1, good+2)
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
			j = mustOpen(t, dir, Options{SegmentBytes: tt.segmentBytes})
			defer j.Close()
			checkRecords(t, readAll(t, j, 0, 100, 1<<20), 1, good+2)
		})
	}
}

// TestWriteFailureConcurrent fails writes and fsyncs at random while several producers append:
// every caller in a failed batch gets the error, the others get contiguous sequences, and the
// journal holds exactly the acknowledged records.
func TestWriteFailureConcurrent(t *testing.T) {
	dir := t.TempDir()
	j, f := openFaulty(t, dir, 8192)
	type acked struct {
		first uint64
		recs  [][]byte
	}
	var mu sync.Mutex
	var ok []acked
	failed := 0
	var wg sync.WaitGroup
	for p := range 6 {
		wg.Go(func() {
			for i := range 100 {
				recs := [][]byte{fmt.Appendf(nil, "p%d-i%d-a", p, i), fmt.Appendf(nil, "p%d-i%d-b", p, i)}
				first, err := j.Append(context.Background(), recs)
				mu.Lock()
				if err != nil {
					failed++
				} else {
					ok = append(ok, acked{first, recs})
				}
				mu.Unlock()
			}
		})
	}
	done := make(chan struct{})
	producersDone := waitChan(&wg)
	go func() {
		defer close(done)
		for k := 0; ; k++ {
			select {
			case <-time.After(2 * time.Millisecond):
			case <-producersDone:
				return
			}
			switch k % 3 {
			case 0:
				f.set(1, 0, 0)
			case 1:
				f.set(0, 1, 0)
			case 2:
				f.set(1, 0, 1)
			}
		}
	}()
	wg.Wait()
	<-done
	f.set(0, 0, 0)
	if failed == 0 || len(ok) == 0 {
		t.Fatalf("%d failed, %d succeeded: the test did not exercise both", failed, len(ok))
	}
	want := map[uint64][]byte{}
	for _, a := range ok {
		for k, r := range a.recs {
			if _, dup := want[a.first+uint64(k)]; dup {
				t.Fatalf("sequence %d acknowledged twice", a.first+uint64(k))
			}
			want[a.first+uint64(k)] = r
		}
	}
	j.Close()
	j = mustOpen(t, dir, Options{})
	defer j.Close()
	es := readAll(t, j, 0, 100, 1<<20)
	if len(es) != len(want) {
		t.Fatalf("journal holds %d records, %d were acknowledged (%d Appends failed)", len(es), len(want), failed)
	}
	for _, e := range es {
		if string(e.Data) != string(want[e.Seq]) {
			t.Fatalf("seq %d: %q, want %q", e.Seq, e.Data, want[e.Seq])
		}
	}
	t.Logf("%d Appends failed, %d succeeded", failed, len(ok))
}

// waitChan returns a channel closed once wg is done.
func waitChan(wg *sync.WaitGroup) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		wg.Wait()
		close(ch)
	}()
	return ch
}
