package journal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// ScanStats says what Scan read.
type ScanStats struct {
	Records uint64 // records passed to fn
	LastSeq uint64 // the last sequence seen, 0 if none
	// Removed counts segments that retention deleted between Scan listing and opening them:
	// records older than every retention window, absent from the scan.
	Removed int
}

// Scan reads the journal in dir without opening it: it takes no lock and writes nothing, so it
// may run beside the process that owns the journal (cairn export beside cairn serve). It calls
// fn with each record after sequence after that the journal held when Scan listed its
// segments, in order; Entry.Data is valid until fn returns, and fn's error ends the scan.
//
// A torn or half-written tail of the last segment ends the scan where recovery would cut it (a
// writer may be appending there), so Scan may also see records written but not yet fsynced.
// Damage anywhere else is an ErrCorrupt error.
func Scan(ctx context.Context, dir string, after uint64, fn func(Entry) error) (ScanStats, error) {
	var st ScanStats
	ents, err := os.ReadDir(dir)
	if err != nil {
		return st, fmt.Errorf("scan journal: %w", err)
	}
	var segs []*segment
	for _, e := range ents {
		if first, ok := parseSegmentName(e.Name()); ok && e.Type().IsRegular() {
			segs = append(segs, &segment{first: first, name: e.Name(), path: filepath.Join(dir, e.Name())})
		}
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].first < segs[j].first })
	buf := make([]byte, 0, 1<<20)
	next := uint64(0) // the sequence the next segment must start at, once known
	for i, s := range segs {
		last := i == len(segs)-1
		if !last && segs[i+1].first <= after+1 {
			continue // wholly at or before after
		}
		f, err := os.Open(s.path)
		if errors.Is(err, fs.ErrNotExist) {
			st.Removed++
			next = 0
			continue
		}
		if err != nil {
			return st, fmt.Errorf("scan journal: %w", err)
		}
		if next != 0 && s.first != next {
			f.Close()
			return st, &corruptError{segment: s.name, offset: 0, reason: fmt.Sprintf("segment starts at sequence %d, the one before it ends at %d", s.first, next-1)}
		}
		next, err = scanSegment(ctx, f, s, last, after, &buf, fn, &st)
		f.Close()
		if err != nil {
			return st, err
		}
	}
	return st, nil
}

// scanSegment reads one segment and returns the sequence after its last record.
func scanSegment(ctx context.Context, f *os.File, s *segment, last bool, after uint64, buf *[]byte, fn func(Entry) error, st *ScanStats) (uint64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("scan journal: %w", err)
	}
	hdr := make([]byte, headerSize)
	n, err := f.ReadAt(hdr, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("scan journal: read segment %s: %w", s.name, err)
	}
	if err := checkHeader(hdr[:n], s.first); err != nil {
		if last && !headerIntact(hdr[:n]) && fi.Size() <= headerSize {
			return s.first, nil // a segment being created
		}
		return 0, &corruptError{segment: s.name, offset: 0, reason: err.Error()}
	}
	fr := frameReader{r: f, name: s.name, limit: fi.Size(), buf: (*buf)[:0]}
	defer func() { *buf = fr.buf[:0] }()
	fr.reset(headerSize)
	seq := s.first
	for ; ; seq++ {
		off := fr.offset()
		payload, ts, err := fr.next(true)
		if errors.Is(err, io.EOF) {
			return seq, nil
		}
		if err != nil {
			if last && errors.Is(err, ErrCorrupt) {
				return seq, nil // the tail a writer is appending, or a crash left
			}
			return 0, err
		}
		if seq <= after {
			continue
		}
		if seq%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		if err := fn(Entry{Seq: seq, Time: time.Unix(0, ts).UTC(), Data: payload, Offset: off}); err != nil {
			return 0, err
		}
		st.Records++
		st.LastSeq = seq
	}
}
