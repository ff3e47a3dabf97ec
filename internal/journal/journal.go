// Package journal is cairn's write-ahead log: the source of truth for every accepted event until
// each reader has applied it.
//
// Records are appended to segment files named after the sequence number of their first record
// (dir/00000000000000000001.wal, …). Each segment starts with a 24-byte header (magic, format
// version, first sequence, CRC) followed by frames:
//
//	CRC-32C (Castagnoli) | length uint32 | append time int64 unix nanos | payload
//
// little-endian, the CRC covering length, time and payload. Appends are group-committed: one
// writer goroutine writes every pending Append in one write and one fsync, and only then
// acknowledges them. Readers follow the journal with cursors and record their progress in named
// checkpoints (dir/checkpoints/<name>), which also bound what Retain may delete.
//
// Recovery scans only the last segment: a torn or corrupt tail there is what a crash during an
// unacknowledged write leaves, and is cut off and logged. Damage anywhere else is reported as
// ErrCorrupt, never skipped. (A record damaged in the middle of the last segment cannot be told
// from a torn write, as the format has no commit markers, so recovery cuts there too.)
package journal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a journal. The zero value gives the defaults.
type Options struct {
	// SegmentBytes is the size after which the writer starts a new segment; default 64 MiB.
	// A segment exceeds it only when a single Append is larger.
	SegmentBytes int64
	// MaxRecordBytes is the largest record Append accepts; default 4 MiB, at most 1 GiB.
	MaxRecordBytes int
	// Logger receives recovery and retention messages; default slog.Default().
	Logger *slog.Logger
	// Now gives the append time stored with each record; default time.Now.
	Now func() time.Time

	// wrapFile, if set, wraps every segment file the writer opens (tests inject failures with it).
	wrapFile func(*os.File) segmentFile
}

const (
	defaultSegmentBytes   = 64 << 20
	defaultMaxRecordBytes = 4 << 20
	maxMaxRecordBytes     = 1 << 30
	// maxBatchBytes caps one group commit: past a few MiB a bigger write buys no throughput.
	maxBatchBytes = 8 << 20
)

var (
	// ErrClosed is returned by operations on a closed journal or cursor.
	ErrClosed = errors.New("journal: closed")
	// ErrCompacted is returned by a cursor whose position Retain has removed.
	ErrCompacted = errors.New("journal: position removed by retention")
	// ErrRecordTooLarge is returned by Append for a record over Options.MaxRecordBytes.
	ErrRecordTooLarge = errors.New("journal: record too large")
)

// Journal is an append-only, durable sequence of records. Its methods are safe for concurrent use.
type Journal struct {
	dir  string
	opts Options
	log  *slog.Logger
	lock *os.File

	mu       sync.Mutex
	segs     []*segment // oldest first; the last is the active one
	pending  []*appendReq
	closing  bool          // no new Appends; the writer drains pending and exits
	closed   bool          // writer gone, files closed
	notify   chan struct{} // closed and replaced whenever lastSeq advances, closed for good on Close
	ckpts    map[string]uint64
	lastSeq  atomic.Uint64         // written under mu, read without it
	ckptMu   sync.Mutex            // serialises checkpoint file writes
	retainMu sync.Mutex            // serialises Retain
	readers  map[*segment]*os.File // read-only handles for ReadAt, guarded by mu

	kick       chan struct{} // wakes the writer
	writerDone chan struct{}
	w          writer // owned by the writer goroutine
}

// Open opens or creates the journal in dir, recovering from a crash. A torn or corrupt tail of the
// last segment is truncated and logged, losing nothing that an Append acknowledged; a damaged
// segment header is an error. Only the last segment is scanned, so Open stays fast however long
// the journal is; records in older segments are verified as cursors (and Retain) read them.
func Open(dir string, opts Options) (*Journal, error) {
	switch {
	case opts.SegmentBytes < 0:
		return nil, fmt.Errorf("open journal: negative SegmentBytes %d", opts.SegmentBytes)
	case opts.MaxRecordBytes < 0 || opts.MaxRecordBytes > maxMaxRecordBytes:
		return nil, fmt.Errorf("open journal: MaxRecordBytes %d outside 0..%d", opts.MaxRecordBytes, maxMaxRecordBytes)
	}
	if opts.SegmentBytes == 0 {
		opts.SegmentBytes = defaultSegmentBytes
	}
	if opts.MaxRecordBytes == 0 {
		opts.MaxRecordBytes = defaultMaxRecordBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	j := &Journal{
		dir:        dir,
		opts:       opts,
		log:        opts.Logger.With("journal", dir),
		notify:     make(chan struct{}),
		kick:       make(chan struct{}, 1),
		writerDone: make(chan struct{}),
	}
	if err := os.MkdirAll(filepath.Join(dir, checkpointDir), 0o750); err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	// Make the directories themselves durable, in case Open just created them.
	if err := errors.Join(syncDir(filepath.Dir(filepath.Clean(dir))), syncDir(dir)); err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	lock, err := lockFile(filepath.Join(dir, "LOCK"))
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	j.lock = lock
	if err := j.load(); err != nil {
		lock.Close()
		return nil, fmt.Errorf("open journal %s: %w", dir, err)
	}
	go j.run()
	return j, nil
}

// load reads the directory: segment headers, the last segment's records, checkpoints.
func (j *Journal) load() error {
	ckpts, err := j.loadCheckpoints()
	if err != nil {
		return err
	}
	j.ckpts = ckpts

	ents, err := os.ReadDir(j.dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		first, ok := parseSegmentName(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		j.segs = append(j.segs, &segment{first: first, name: e.Name(), path: filepath.Join(j.dir, e.Name())})
	}
	// ReadDir sorts by name and names are zero-padded, so segs are in sequence order.
	if len(j.segs) == 0 {
		f, seg, err := j.createSegment(1)
		if err != nil {
			return err
		}
		j.segs = []*segment{seg}
		j.w.f, j.w.seg = f, seg
		return nil
	}
	for i, s := range j.segs[:len(j.segs)-1] {
		if err := readSealedHeader(s); err != nil {
			return err
		}
		s.last = j.segs[i+1].first - 1
		s.sealed = true
	}
	return j.recoverLast()
}

func readSealedHeader(s *segment) error {
	f, err := os.Open(s.path)
	if err != nil {
		return fmt.Errorf("open segment %s: %w", s.name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat segment %s: %w", s.name, err)
	}
	s.size = fi.Size()
	b := make([]byte, headerSize)
	if _, err := io.ReadFull(f, b); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read segment %s: %w", s.name, err)
	}
	if err := checkHeader(b, s.first); err != nil {
		return &corruptError{segment: s.name, offset: 0, reason: err.Error()}
	}
	return nil
}

// recoverLast scans the last segment, cuts off a torn tail and opens it for appending.
func (j *Journal) recoverLast() error {
	s := j.segs[len(j.segs)-1]
	osf, err := os.OpenFile(s.path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("open segment %s: %w", s.name, err)
	}
	f := j.wrap(osf)
	fail := func(err error) error {
		f.Close()
		return err
	}
	fi, err := osf.Stat()
	if err != nil {
		return fail(fmt.Errorf("stat segment %s: %w", s.name, err))
	}
	size := fi.Size()
	hdr := make([]byte, headerSize)
	n, err := osf.ReadAt(hdr, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return fail(fmt.Errorf("read segment %s: %w", s.name, err))
	}
	if herr := checkHeader(hdr[:n], s.first); herr != nil {
		if size > headerSize || headerIntact(hdr[:n]) {
			return fail(&corruptError{segment: s.name, offset: 0, reason: herr.Error()})
		}
		// Records are written only after the header is fsynced, so a segment holding no more
		// than a bad header is one whose creation a crash interrupted. Write it again.
		j.log.Warn("journal: rewriting torn segment header", "segment", s.name, "reason", herr.Error())
		if err := f.Truncate(0); err != nil {
			return fail(fmt.Errorf("truncate segment %s: %w", s.name, err))
		}
		if _, err := f.WriteAt(encodeHeader(s.first), 0); err != nil {
			return fail(fmt.Errorf("write segment %s: %w", s.name, err))
		}
		if err := f.Sync(); err != nil {
			return fail(fmt.Errorf("sync segment %s: %w", s.name, err))
		}
		size = headerSize
	}

	s.last, s.size, s.newest, s.newestKnown = s.first-1, headerSize, math.MinInt64, true
	fr := frameReader{r: osf, name: s.name, limit: size, buf: make([]byte, 0, 1<<20)}
	fr.reset(headerSize)
	lastIndexed := int64(headerSize)
	var cut error
	for {
		off := fr.offset()
		_, ts, err := fr.next(true)
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, ErrCorrupt) {
			cut = err
			break
		}
		if err != nil {
			return fail(err)
		}
		s.last++
		s.size = fr.offset()
		s.newest = max(s.newest, ts)
		if off-lastIndexed >= indexInterval {
			s.index = append(s.index, indexEntry{s.last, off})
			lastIndexed = off
		}
	}
	if cut != nil {
		// What a crash leaves past the last complete record was never acknowledged: an Append
		// returns only after its whole batch is fsynced.
		j.log.Warn("journal: truncating torn tail of last segment",
			"segment", s.name, "offset", s.size, "dropped_bytes", size-s.size, "reason", cut.Error())
		if err := f.Truncate(s.size); err != nil {
			return fail(fmt.Errorf("truncate segment %s: %w", s.name, err))
		}
		if err := f.Sync(); err != nil {
			return fail(fmt.Errorf("sync segment %s: %w", s.name, err))
		}
	}
	j.w.f, j.w.seg = f, s
	j.lastSeq.Store(s.last)
	j.log.Debug("journal: opened", "segments", len(j.segs), "last_seq", s.last)
	return nil
}

// FirstSeq returns the lowest sequence number the journal still holds, or 0 if it holds none.
func (j *Journal) FirstSeq() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.firstSeqLocked()
}

func (j *Journal) firstSeqLocked() uint64 {
	first := j.segs[0].first
	if first > j.lastSeq.Load() {
		return 0
	}
	return first
}

// LastSeq returns the highest durable sequence number, or 0 if nothing was ever appended.
func (j *Journal) LastSeq() uint64 { return j.lastSeq.Load() }

// Wait blocks until LastSeq() > after, ctx is done, or the journal is closed (ErrClosed).
func (j *Journal) Wait(ctx context.Context, after uint64) error {
	for {
		j.mu.Lock()
		last, closed, ch := j.lastSeq.Load(), j.closed, j.notify
		j.mu.Unlock()
		switch {
		case last > after:
			return nil
		case closed:
			return ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Stats describes the journal's size.
type Stats struct {
	Segments          int
	Bytes             int64
	FirstSeq, LastSeq uint64
}

// Stats returns the number of segments, their total durable size and the sequence range held.
func (j *Journal) Stats() Stats {
	j.mu.Lock()
	defer j.mu.Unlock()
	st := Stats{Segments: len(j.segs), FirstSeq: j.firstSeqLocked(), LastSeq: j.lastSeq.Load()}
	for _, s := range j.segs {
		st.Bytes += s.size
	}
	return st
}

// Close writes and acknowledges the Appends already queued, then closes the files. Later Appends
// fail with ErrClosed, and blocked Wait and Next calls return ErrClosed. Closing again returns nil.
func (j *Journal) Close() error {
	j.mu.Lock()
	if j.closing {
		j.mu.Unlock()
		<-j.writerDone
		return nil
	}
	j.closing = true
	j.mu.Unlock()
	j.wake()
	<-j.writerDone
	// Let a Retain or SetCheckpoint in progress finish before the directory lock goes.
	j.retainMu.Lock()
	defer j.retainMu.Unlock()
	j.ckptMu.Lock()
	defer j.ckptMu.Unlock()

	err := j.w.close()
	j.mu.Lock()
	for seg, f := range j.readers {
		f.Close()
		delete(j.readers, seg)
	}
	j.closed = true
	close(j.notify)
	j.mu.Unlock()
	if cerr := j.lock.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close journal: %w", cerr)
	}
	return err
}

// isClosing reports whether Close has begun.
func (j *Journal) isClosing() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.closing
}

// segmentIndexLocked returns the index of the segment holding seq (the last with first <= seq).
func (j *Journal) segmentIndexLocked(seq uint64) int {
	return sort.Search(len(j.segs), func(i int) bool { return j.segs[i].first > seq }) - 1
}
