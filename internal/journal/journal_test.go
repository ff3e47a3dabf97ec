package journal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fixedClock returns a clock that starts at t0 and advances by step on every call.
func fixedClock(t0 time.Time, step time.Duration) func() time.Time {
	var mu sync.Mutex
	now := t0
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t := now
		now = now.Add(step)
		return t
	}
}

func mustOpen(t testing.TB, dir string, opts Options) *Journal {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	j, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return j
}

func mustAppend(t testing.TB, j *Journal, recs ...[]byte) uint64 {
	t.Helper()
	first, err := j.Append(context.Background(), recs)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return first
}

// rec returns deterministic contents for sequence i, of varying length.
func rec(i int) []byte {
	return fmt.Appendf(nil, "record-%06d-%s", i, strings.Repeat("x", i%37))
}

// readAll reads every durable record after after, copying the data.
func readAll(t testing.TB, j *Journal, after uint64, max, maxBytes int) []Entry {
	t.Helper()
	c := j.Cursor(after)
	defer c.Close()
	return drain(t, c, max, maxBytes)
}

// drain reads with c until nothing more is durable, copying the data.
func drain(t testing.TB, c *Cursor, max, maxBytes int) []Entry {
	t.Helper()
	var all []Entry
	for {
		es, err := c.TryNext(max, maxBytes)
		if err != nil {
			t.Fatalf("TryNext: %v", err)
		}
		if len(es) == 0 {
			return all
		}
		if len(es) > max && max > 0 {
			t.Fatalf("TryNext(%d, %d) returned %d entries", max, maxBytes, len(es))
		}
		for _, e := range es {
			e.Data = bytes.Clone(e.Data)
			all = append(all, e)
		}
	}
}

// checkRecords checks that entries are exactly rec(from)..rec(to).
func checkRecords(t testing.TB, es []Entry, from, to int) {
	t.Helper()
	if want := to - from + 1; len(es) != want {
		t.Fatalf("got %d entries, want %d (sequences %d..%d)", len(es), want, from, to)
	}
	for i, e := range es {
		seq := from + i
		if e.Seq != uint64(seq) {
			t.Fatalf("entry %d: seq %d, want %d", i, e.Seq, seq)
		}
		if !bytes.Equal(e.Data, rec(seq)) {
			t.Fatalf("seq %d: data %q, want %q", seq, e.Data, rec(seq))
		}
	}
}

func segmentFiles(t testing.TB, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.wal"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range names {
		names[i] = filepath.Base(names[i])
	}
	slices.Sort(names)
	return names
}

func TestRoundTrip(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.FixedZone("X", 3600))
	tests := []struct {
		name    string
		batches [][][]byte
	}{
		{"one empty record", [][][]byte{{{}}}},
		{"one record", [][][]byte{{[]byte("hello")}}},
		{"batches", [][][]byte{{rec(1)}, {rec(2), rec(3), rec(4)}, {rec(5)}}},
		{"binary", [][][]byte{{{0, 0, 0, 0}, {0xff, 0xfe}, bytes.Repeat([]byte{0}, 4096)}}},
		{"large", [][][]byte{{bytes.Repeat([]byte("L"), 3<<20)}, {[]byte("after")}}},
		{"many", func() [][][]byte {
			var b [][]byte
			for i := range 5000 {
				b = append(b, rec(i))
			}
			return [][][]byte{b}
		}()},
	}
	for _, tt := range tests {
		for _, reopen := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/reopen=%v", tt.name, reopen), func(t *testing.T) {
				dir := t.TempDir()
				j := mustOpen(t, dir, Options{Now: fixedClock(t0, time.Second)})
				var want [][]byte
				for bi, b := range tt.batches {
					first := mustAppend(t, j, b...)
					if first != uint64(len(want)+1) {
						t.Fatalf("batch %d: first = %d, want %d", bi, first, len(want)+1)
					}
					want = append(want, b...)
				}
				if got := j.LastSeq(); got != uint64(len(want)) {
					t.Fatalf("LastSeq = %d, want %d", got, len(want))
				}
				if reopen {
					if err := j.Close(); err != nil {
						t.Fatal(err)
					}
					j = mustOpen(t, dir, Options{})
				}
				defer j.Close()
				if got := j.FirstSeq(); got != 1 {
					t.Fatalf("FirstSeq = %d, want 1", got)
				}
				es := readAll(t, j, 0, 100, 1<<20)
				if len(es) != len(want) {
					t.Fatalf("read %d records, want %d", len(es), len(want))
				}
				seqTime := map[uint64]time.Time{}
				for i, e := range es {
					if e.Seq != uint64(i+1) || !bytes.Equal(e.Data, want[i]) {
						t.Fatalf("entry %d: seq %d, %d bytes; want seq %d, %d bytes", i, e.Seq, len(e.Data), i+1, len(want[i]))
					}
					if e.Time.Location() != time.UTC {
						t.Fatalf("entry %d: time %v not UTC", i, e.Time)
					}
					seqTime[e.Seq] = e.Time
				}
				// One clock reading per batch, with nanoseconds kept.
				n := uint64(0)
				for bi, b := range tt.batches {
					for range b {
						n++
						if want := t0.Add(time.Duration(bi) * time.Second); !seqTime[n].Equal(want) {
							t.Fatalf("seq %d: time %v, want %v", n, seqTime[n], want)
						}
					}
				}
			})
		}
	}
}

func TestAppendNothing(t *testing.T) {
	j := mustOpen(t, t.TempDir(), Options{})
	defer j.Close()
	for _, recs := range [][][]byte{nil, {}} {
		first, err := j.Append(context.Background(), recs)
		if first != 0 || err != nil {
			t.Fatalf("Append(%v) = %d, %v; want 0, nil", recs, first, err)
		}
	}
	if j.LastSeq() != 0 || j.FirstSeq() != 0 {
		t.Fatalf("LastSeq, FirstSeq = %d, %d; want 0, 0", j.LastSeq(), j.FirstSeq())
	}
	if es, err := j.Cursor(0).TryNext(10, 100); err != nil || len(es) != 0 {
		t.Fatalf("TryNext on empty journal = %v, %v", es, err)
	}
}

func TestOpenOptions(t *testing.T) {
	for _, opts := range []Options{
		{SegmentBytes: -1},
		{MaxRecordBytes: -1},
		{MaxRecordBytes: maxMaxRecordBytes + 1},
	} {
		if j, err := Open(t.TempDir(), opts); err == nil {
			j.Close()
			t.Errorf("Open(%+v) succeeded", opts)
		}
	}
}

func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, dir, Options{})
	if j2, err := Open(dir, Options{Logger: quiet}); err == nil {
		j2.Close()
		t.Fatal("second Open of the same directory succeeded")
	}
	j.Close()
	mustOpen(t, dir, Options{}).Close()
}

func TestRotation(t *testing.T) {
	tests := []struct {
		name         string
		segmentBytes int64
		batch        int
		n            int
	}{
		{"one record per segment", 1, 1, 60},
		{"small segments, single appends", 300, 1, 200},
		{"small segments, batches of 7", 300, 7, 400},
		{"batches larger than a segment", 100, 9, 400},
	}
	for _, tt := range tests {
		n := tt.n
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			j := mustOpen(t, dir, Options{SegmentBytes: tt.segmentBytes})
			for i := 1; i <= n; i += tt.batch {
				var b [][]byte
				for k := i; k < i+tt.batch && k <= n; k++ {
					b = append(b, rec(k))
				}
				if first := mustAppend(t, j, b...); first != uint64(i) {
					t.Fatalf("first = %d, want %d", first, i)
				}
			}
			st := j.Stats()
			files := segmentFiles(t, dir)
			if st.Segments != len(files) || st.Segments < 10 {
				t.Fatalf("Stats.Segments = %d, files = %d; want the same and >= 10", st.Segments, len(files))
			}
			if st.FirstSeq != 1 || st.LastSeq != uint64(n) {
				t.Fatalf("Stats = %+v", st)
			}
			var total int64
			for _, name := range files {
				fi, err := os.Stat(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				total += fi.Size()
				// A segment exceeds SegmentBytes only by holding a single larger Append.
				if limit := max(tt.segmentBytes, headerSize+int64(tt.batch)*(frameHeaderSize+60)); fi.Size() > limit {
					t.Errorf("segment %s is %d bytes, over %d", name, fi.Size(), limit)
				}
			}
			if total != st.Bytes {
				t.Fatalf("Stats.Bytes = %d, files hold %d", st.Bytes, total)
			}
			checkRecords(t, readAll(t, j, 0, 1000, 1<<20), 1, n)
			j.Close()

			// Each file is named after its first record.
			j = mustOpen(t, dir, Options{SegmentBytes: tt.segmentBytes})
			defer j.Close()
			for _, name := range files {
				first, ok := parseSegmentName(name)
				if !ok || len(name) != 24 {
					t.Fatalf("bad segment name %q", name)
				}
				es := readAll(t, j, first-1, 1, 1)
				if len(es) == 0 || es[0].Seq != first {
					t.Fatalf("segment %s: first record is not %d", name, first)
				}
			}
			checkRecords(t, readAll(t, j, 0, 3, 100), 1, n)
			if first := mustAppend(t, j, rec(n+1)); first != uint64(n+1) {
				t.Fatalf("append after reopen: first = %d", first)
			}
		})
	}
}

func TestCursorFromEveryPosition(t *testing.T) {
	tests := []struct {
		name          string
		segmentBytes  int64
		n             int
		recordBytes   int // 0: rec(i)
		max, maxBytes int
	}{
		{"one segment, one at a time", 0, 150, 0, 1, 1 << 20},
		{"one segment, all at once", 0, 150, 0, 1000, 1 << 20},
		{"small segments, max 7", 200, 150, 0, 7, 1 << 20},
		{"small segments, maxBytes 1", 200, 150, 0, 100, 1},
		{"small segments, maxBytes 100", 200, 150, 0, 100, 100},
		{"zero limits", 500, 60, 0, 0, 0},
		// 4 KiB records over several MiB exercise the sparse index.
		{"indexed", 0, 1500, 4096, 50, 64 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := func(i int) []byte {
				if tt.recordBytes == 0 {
					return rec(i)
				}
				b := bytes.Repeat([]byte{byte(i)}, tt.recordBytes)
				copy(b, fmt.Sprint(i))
				return b
			}
			dir := t.TempDir()
			j := mustOpen(t, dir, Options{SegmentBytes: tt.segmentBytes})
			for i := 1; i <= tt.n; i += 10 {
				var b [][]byte
				for k := i; k < i+10 && k <= tt.n; k++ {
					b = append(b, data(k))
				}
				mustAppend(t, j, b...)
			}
			check := func(j *Journal) {
				step := 1
				if tt.n > 200 {
					step = 37
				}
				for after := 0; after <= tt.n; after += step {
					es := readAll(t, j, uint64(after), tt.max, tt.maxBytes)
					if len(es) != tt.n-after {
						t.Fatalf("after %d: %d entries, want %d", after, len(es), tt.n-after)
					}
					for i, e := range es {
						if want := after + 1 + i; e.Seq != uint64(want) || !bytes.Equal(e.Data, data(want)) {
							t.Fatalf("after %d: entry %d is seq %d %.20q, want %d", after, i, e.Seq, e.Data, want)
						}
					}
				}
				// Batches respect max and, past the first entry, maxBytes.
				c := j.Cursor(0)
				defer c.Close()
				for {
					es, err := c.TryNext(tt.max, tt.maxBytes)
					if err != nil {
						t.Fatal(err)
					}
					if len(es) == 0 {
						break
					}
					size := 0
					for _, e := range es {
						size += len(e.Data)
					}
					if len(es) > max(tt.max, 1) || (len(es) > 1 && size > tt.maxBytes) {
						t.Fatalf("TryNext(%d, %d) returned %d entries, %d bytes", tt.max, tt.maxBytes, len(es), size)
					}
				}
			}
			check(j)
			j.Close()
			j = mustOpen(t, dir, Options{SegmentBytes: tt.segmentBytes})
			defer j.Close()
			check(j)
			if tt.recordBytes > 0 {
				j.mu.Lock()
				indexed := len(j.segs[len(j.segs)-1].index)
				j.mu.Unlock()
				if indexed == 0 {
					t.Fatal("recovery built no sparse index")
				}
			}
		})
	}
}

func TestNextWakesUp(t *testing.T) {
	j := mustOpen(t, t.TempDir(), Options{SegmentBytes: 200})
	defer j.Close()
	ctx := context.Background()

	type result struct {
		es  []Entry
		err error
	}
	c := j.Cursor(0)
	defer c.Close()
	got := make(chan result)
	waited := make(chan error)
	for i := 1; i <= 20; i++ {
		go func() {
			es, err := c.Next(ctx, 100, 1<<20)
			got <- result{slices.Clone(es), err}
		}()
		go func() { waited <- j.Wait(ctx, uint64(i-1)) }()
		select {
		case r := <-got:
			t.Fatalf("Next returned %v, %v before any append", r.es, r.err)
		case err := <-waited:
			t.Fatalf("Wait returned %v before any append", err)
		case <-time.After(10 * time.Millisecond):
		}
		mustAppend(t, j, rec(i))
		r := <-got
		if r.err != nil || len(r.es) != 1 || r.es[0].Seq != uint64(i) || !bytes.Equal(r.es[0].Data, rec(i)) {
			t.Fatalf("Next after append %d = %v, %v", i, r.es, r.err)
		}
		if err := <-waited; err != nil {
			t.Fatalf("Wait: %v", err)
		}
	}

	// Deadlines.
	tctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := j.Wait(tctx, j.LastSeq()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait past deadline = %v", err)
	}
	if _, err := c.Next(tctx, 1, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next past deadline = %v", err)
	}
	if err := j.Wait(tctx, 0); err != nil {
		t.Fatalf("Wait for an old sequence = %v", err)
	}

	// Close wakes a blocked Next and Wait.
	go func() {
		es, err := c.Next(ctx, 1, 1)
		got <- result{es, err}
	}()
	go func() { waited <- j.Wait(ctx, j.LastSeq()) }()
	time.Sleep(10 * time.Millisecond)
	j.Close()
	if r := <-got; !errors.Is(r.err, ErrClosed) {
		t.Fatalf("Next on Close = %v, %v", r.es, r.err)
	}
	if err := <-waited; !errors.Is(err, ErrClosed) {
		t.Fatalf("Wait on Close = %v", err)
	}
}

func TestConcurrentAppend(t *testing.T) {
	const producers, appends = 8, 150
	dir := t.TempDir()
	j := mustOpen(t, dir, Options{SegmentBytes: 4096})
	type acked struct {
		first uint64
		recs  [][]byte
	}
	results := make([][]acked, producers)
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range appends {
				var recs [][]byte
				for k := range 1 + (p+i)%5 {
					recs = append(recs, fmt.Appendf(nil, "p%d-i%d-k%d-%s", p, i, k, strings.Repeat("z", (p*i+k)%100)))
				}
				first, err := j.Append(context.Background(), recs)
				if err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				results[p] = append(results[p], acked{first, recs})
			}
		})
	}
	wg.Wait()
	want := map[uint64][]byte{}
	for _, rs := range results {
		for _, a := range rs {
			for k, r := range a.recs {
				seq := a.first + uint64(k)
				if _, dup := want[seq]; dup {
					t.Fatalf("sequence %d handed out twice", seq)
				}
				want[seq] = r
			}
		}
	}
	if j.LastSeq() != uint64(len(want)) {
		t.Fatalf("LastSeq = %d, acknowledged %d records", j.LastSeq(), len(want))
	}
	check := func() {
		es := readAll(t, j, 0, 64, 64<<10)
		if len(es) != len(want) {
			t.Fatalf("read %d records, want %d", len(es), len(want))
		}
		for i, e := range es {
			if e.Seq != uint64(i+1) || !bytes.Equal(e.Data, want[e.Seq]) {
				t.Fatalf("seq %d: %q, want %q", e.Seq, e.Data, want[e.Seq])
			}
		}
	}
	check()
	j.Close()
	j = mustOpen(t, dir, Options{})
	defer j.Close()
	check()
}

func TestConcurrentReaders(t *testing.T) {
	const n = 2000
	j := mustOpen(t, t.TempDir(), Options{SegmentBytes: 2048})
	defer j.Close()
	ctx := context.Background()
	var wg sync.WaitGroup
	for r := range 4 {
		wg.Go(func() {
			c := j.Cursor(0)
			defer c.Close()
			next := 1
			for next <= n {
				es, err := c.Next(ctx, 1+r*10, 1<<r*100)
				if err != nil {
					t.Errorf("reader %d: %v", r, err)
					return
				}
				for _, e := range es {
					if e.Seq != uint64(next) || !bytes.Equal(e.Data, rec(next)) {
						t.Errorf("reader %d: got seq %d %q, want %d", r, e.Seq, e.Data, next)
						return
					}
					next++
				}
			}
		})
	}
	for i := 1; i <= n; i += 3 {
		mustAppend(t, j, rec(i), rec(i+1), rec(i+2))
	}
	wg.Wait()
}

func TestRecordTooLarge(t *testing.T) {
	j := mustOpen(t, t.TempDir(), Options{MaxRecordBytes: 100})
	defer j.Close()
	ctx := context.Background()
	if _, err := j.Append(ctx, [][]byte{make([]byte, 10), make([]byte, 101)}); !errors.Is(err, ErrRecordTooLarge) {
		t.Fatalf("Append of 101 bytes = %v, want ErrRecordTooLarge", err)
	}
	if j.LastSeq() != 0 {
		t.Fatalf("a rejected batch wrote records: LastSeq = %d", j.LastSeq())
	}
	if first, err := j.Append(ctx, [][]byte{make([]byte, 100)}); err != nil || first != 1 {
		t.Fatalf("Append of 100 bytes = %d, %v", first, err)
	}
}

func TestAppendCanceled(t *testing.T) {
	j := mustOpen(t, t.TempDir(), Options{})
	defer j.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := j.Append(ctx, [][]byte{rec(1)}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append with canceled ctx = %v", err)
	}
	if j.LastSeq() != 0 {
		t.Fatal("canceled Append wrote")
	}
}

func TestClose(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, dir, Options{SegmentBytes: 1024})
	ctx := context.Background()

	// Appends racing Close either succeed durably or fail with ErrClosed.
	var mu sync.Mutex
	ok := map[uint64][]byte{}
	var wg sync.WaitGroup
	for p := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				r := fmt.Appendf(nil, "p%d-%d", p, i)
				first, err := j.Append(ctx, [][]byte{r})
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				mu.Lock()
				ok[first] = r
				mu.Unlock()
			}
		})
	}
	time.Sleep(20 * time.Millisecond)
	if err := j.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()
	if err := j.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	if _, err := j.Append(ctx, [][]byte{rec(1)}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close = %v", err)
	}
	if err := j.Wait(ctx, j.LastSeq()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Wait after Close = %v", err)
	}
	if err := j.SetCheckpoint("r", 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("SetCheckpoint after Close = %v", err)
	}
	if _, err := j.Checkpoint("r"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Checkpoint after Close = %v", err)
	}
	if _, err := j.Retain(time.Now()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Retain after Close = %v", err)
	}
	// A cursor still drains what is durable, then reports ErrClosed.
	c := j.Cursor(0)
	n := 0
	for {
		es, err := c.Next(ctx, 100, 1<<20)
		if errors.Is(err, ErrClosed) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n += len(es)
	}
	if n != len(ok) || uint64(n) != j.LastSeq() {
		t.Fatalf("after Close: read %d, acknowledged %d, LastSeq %d", n, len(ok), j.LastSeq())
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TryNext(1, 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("TryNext on closed cursor = %v", err)
	}

	j = mustOpen(t, dir, Options{})
	defer j.Close()
	es := readAll(t, j, 0, 1000, 1<<20)
	if len(es) != len(ok) {
		t.Fatalf("reopened: %d records, acknowledged %d", len(es), len(ok))
	}
	for _, e := range es {
		if !bytes.Equal(e.Data, ok[e.Seq]) {
			t.Fatalf("seq %d: %q, want %q", e.Seq, e.Data, ok[e.Seq])
		}
	}
}
