package journal

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"
)

// Retain deletes the oldest segments, never the active one, whose every record has a sequence at
// or below every named checkpoint and whose newest record was appended before keepSince. It
// removes a prefix of the journal only, so sequences stay contiguous, and returns how many segments
// it removed. With no checkpoints at all it removes nothing: records nobody has read are kept.
func (j *Journal) Retain(keepSince time.Time) (removed int, err error) {
	j.retainMu.Lock()
	defer j.retainMu.Unlock()
	var cutoff int64
	switch {
	case keepSince.Before(time.Unix(0, math.MinInt64)):
		return 0, nil
	case keepSince.After(time.Unix(0, math.MaxInt64)):
		cutoff = math.MaxInt64
	default:
		cutoff = keepSince.UnixNano()
	}
	for {
		j.mu.Lock()
		if j.closing {
			j.mu.Unlock()
			return removed, ErrClosed
		}
		seg := j.segs[0]
		floor := uint64(0)
		if len(j.ckpts) > 0 {
			floor = math.MaxUint64
			for _, seq := range j.ckpts {
				floor = min(floor, seq)
			}
		}
		ok := seg.sealed && seg.last <= floor
		newest, known := seg.newest, seg.newestKnown
		j.mu.Unlock()
		if !ok {
			break
		}
		if !known {
			if newest, err = scanNewest(seg); err != nil {
				break
			}
			j.mu.Lock()
			seg.newest, seg.newestKnown = newest, true
			j.mu.Unlock()
		}
		if newest >= cutoff {
			break
		}
		// Drop it from the list first so no new cursor opens it; open ones keep reading it.
		j.mu.Lock()
		j.segs = j.segs[1:]
		if f := j.readers[seg]; f != nil {
			f.Close()
			delete(j.readers, seg)
		}
		j.mu.Unlock()
		if err = os.Remove(seg.path); err != nil {
			err = fmt.Errorf("journal: remove segment %s: %w", seg.name, err)
			break
		}
		removed++
		j.log.Info("journal: removed segment", "segment", seg.name, "first_seq", seg.first, "last_seq", seg.last)
	}
	if removed > 0 {
		if serr := syncDir(j.dir); err == nil && serr != nil {
			err = fmt.Errorf("journal: %w", serr)
		}
	}
	return removed, err
}

// scanNewest reads a sealed segment and returns the latest append time among its records,
// verifying every record on the way.
func scanNewest(seg *segment) (int64, error) {
	f, err := os.Open(seg.path)
	if err != nil {
		return 0, fmt.Errorf("journal: open segment %s: %w", seg.name, err)
	}
	defer f.Close()
	fr := frameReader{r: f, name: seg.name, limit: seg.size, buf: make([]byte, 0, 1<<20)}
	fr.reset(headerSize)
	newest := int64(math.MinInt64)
	for n := seg.first; ; n++ {
		off := fr.offset()
		_, ts, err := fr.next(true)
		if errors.Is(err, io.EOF) {
			if n != seg.last+1 {
				return 0, fr.errShort(n-1, seg.last)
			}
			return newest, nil
		}
		if err != nil {
			return 0, err
		}
		if n > seg.last {
			return 0, fr.errTrailing(off, seg.last)
		}
		newest = max(newest, ts)
	}
}
