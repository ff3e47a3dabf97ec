package journal

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
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
	j.mu.Unlock()

	if offset < headerSize || offset >= limit {
		return Entry{}, &corruptError{segment: seg.name, offset: offset, reason: fmt.Sprintf("no record of sequence %d starts here", seq)}
	}
	f, err := os.Open(seg.path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Entry{}, fmt.Errorf("read sequence %d: %w", seq, ErrCompacted)
		}
		return Entry{}, fmt.Errorf("open segment %s: %w", seg.name, err)
	}
	defer f.Close()
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
