package journal

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"time"
)

// ReadAt returns the record with sequence seq, stored at offset in its segment (Entry.Offset from
// a cursor). Indexes that keep (seq, offset) use it to fetch a few records without a cursor. The
// returned Data is the caller's. A wrong offset yields an ErrCorrupt error, never another record.
func (j *Journal) ReadAt(seq uint64, offset int64) (Entry, error) {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return Entry{}, ErrClosed
	}
	if seq == 0 || seq > j.lastSeq.Load() {
		j.mu.Unlock()
		return Entry{}, fmt.Errorf("read sequence %d: beyond the journal's last record %d", seq, j.lastSeq.Load())
	}
	if seq < j.segs[0].first {
		j.mu.Unlock()
		return Entry{}, fmt.Errorf("read sequence %d, journal starts at %d: %w", seq, j.segs[0].first, ErrCompacted)
	}
	seg := j.segs[j.segmentIndexLocked(seq)]
	limit := seg.size
	f := j.readers[seg]
	j.mu.Unlock()

	if offset < headerSize || offset >= limit {
		return Entry{}, &corruptError{segment: seg.name, offset: offset, reason: fmt.Sprintf("no record of sequence %d starts here", seq)}
	}
	if f == nil {
		var cached bool
		var err error
		if f, cached, err = j.reader(seg); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return Entry{}, fmt.Errorf("read sequence %d: %w", seq, ErrCompacted)
			}
			return Entry{}, fmt.Errorf("open segment %s: %w", seg.name, err)
		}
		if !cached {
			defer f.Close()
		}
	}
	fr := frameReader{r: f, name: seg.name, limit: limit}
	fr.reset(offset)
	payload, ts, err := fr.next(true)
	if errors.Is(err, io.EOF) {
		err = fr.corrupt(offset, "no record of sequence %d starts here", seq)
	}
	if err != nil {
		return Entry{}, err
	}
	return Entry{Seq: seq, Time: time.Unix(0, ts).UTC(), Data: payload, Offset: offset}, nil
}

// reader returns a read-only handle on seg for ReadAt, opening it once: a lookup reads tens of
// records from the same few segments. Retain and Close close the handles.
// The handle is not cached (the caller closes it) if the journal closed or the segment was
// retained meanwhile.
func (j *Journal) reader(seg *segment) (f *os.File, cached bool, err error) {
	f, err = os.Open(seg.path)
	if err != nil {
		return nil, false, err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed || !slices.Contains(j.segs, seg) {
		return f, false, nil
	}
	if have := j.readers[seg]; have != nil {
		f.Close()
		return have, true, nil
	}
	if j.readers == nil {
		j.readers = map[*segment]*os.File{}
	}
	j.readers[seg] = f
	return f, true, nil
}
