package journal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"time"
)

// Entry is one record read from the journal.
type Entry struct {
	Seq  uint64
	Time time.Time // when the journal appended it (UTC, nanosecond precision)
	Data []byte    // valid until the next call to Next or TryNext on the same cursor
	// Offset locates the record in its segment; with Seq it lets ReadAt fetch the record again
	// without scanning.
	Offset int64
}

// Cursor reads records in sequence order. It sees only durable records. A cursor is not safe for
// concurrent use; each reader has its own.
type Cursor struct {
	j      *Journal
	after  uint64   // last sequence returned
	seg    *segment // segment being read, nil until positioned
	f      *os.File
	fr     frameReader
	ents   []Entry
	closed bool
}

// Read buffer bounds: a cursor reads about maxBytes at a time, within these.
const (
	minReadBuffer = 64 << 10
	maxReadBuffer = 16 << 20
)

// Cursor returns a cursor that reads the records with sequence > after.
func (j *Journal) Cursor(after uint64) *Cursor {
	return &Cursor{j: j, after: after}
}

// Next blocks until at least one record is durable, then returns up to max entries and about
// maxBytes of data, always at least one entry. It returns ErrCompacted if retention removed the
// cursor's position, ctx.Err() if ctx is done, and ErrClosed once the journal is closed and every
// durable record has been read.
func (c *Cursor) Next(ctx context.Context, max, maxBytes int) ([]Entry, error) {
	for {
		ents, err := c.TryNext(max, maxBytes)
		if err != nil || len(ents) > 0 {
			return ents, err
		}
		if err := c.j.Wait(ctx, c.after); err != nil {
			return nil, err
		}
	}
}

// TryNext is Next without blocking: it returns an empty slice when nothing new is durable.
func (c *Cursor) TryNext(max, maxBytes int) ([]Entry, error) {
	if c.closed {
		return nil, ErrClosed
	}
	c.ents = c.ents[:0]
	for {
		if c.seg == nil {
			ok, err := c.position()
			if err != nil || !ok {
				return c.ents, err
			}
		}
		j := c.j
		j.mu.Lock()
		limit, last, sealed, closed := c.seg.size, c.seg.last, c.seg.sealed, j.closed
		j.mu.Unlock()
		c.fr.limit = limit
		if c.after < last {
			return c.read(max, maxBytes, last)
		}
		if !sealed {
			if closed {
				return c.ents, ErrClosed
			}
			return c.ents, nil
		}
		if off := c.fr.offset(); off != limit {
			return nil, c.fr.errTrailing(off, last)
		}
		c.release()
	}
}

// position opens the segment holding the next sequence and moves to it. It reports false if that
// sequence is not durable yet.
func (c *Cursor) position() (bool, error) {
	j := c.j
	j.mu.Lock()
	if c.after >= j.lastSeq.Load() {
		closed := j.closed
		j.mu.Unlock()
		if closed {
			return false, ErrClosed
		}
		return false, nil
	}
	want := c.after + 1
	if first := j.segs[0].first; want < first {
		j.mu.Unlock()
		return false, fmt.Errorf("read from sequence %d, journal starts at %d: %w", want, first, ErrCompacted)
	}
	seg := j.segs[j.segmentIndexLocked(want)]
	seq, off := seg.seek(want)
	limit := seg.size
	j.mu.Unlock()

	f, err := os.Open(seg.path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && c.removed(seg) {
			return false, fmt.Errorf("read from sequence %d: %w", want, ErrCompacted)
		}
		return false, fmt.Errorf("open segment %s: %w", seg.name, err)
	}
	c.seg, c.f = seg, f
	c.fr = frameReader{r: f, name: seg.name, limit: limit, buf: c.fr.buf}
	c.fr.reset(off)
	for ; seq < want; seq++ {
		if _, _, err := c.fr.next(true); err != nil {
			c.release()
			if errors.Is(err, io.EOF) {
				err = c.fr.errShort(seq-1, seq)
			}
			return false, err
		}
	}
	return true, nil
}

func (c *Cursor) removed(seg *segment) bool {
	c.j.mu.Lock()
	defer c.j.mu.Unlock()
	return !slices.Contains(c.j.segs, seg)
}

// read returns up to max entries from the current segment, up to sequence last.
func (c *Cursor) read(max, maxBytes int, last uint64) ([]Entry, error) {
	want := minReadBuffer
	if maxBytes > want {
		want = min(maxBytes, maxReadBuffer)
	}
	if err := c.fr.fill(0, want); err != nil {
		return nil, err
	}
	bytes := 0
	for c.after < last && (len(c.ents) == 0 || len(c.ents) < max) {
		if len(c.ents) > 0 {
			if n, ok := c.fr.peekLen(); !ok || bytes+n > maxBytes {
				break
			}
		}
		off := c.fr.offset()
		payload, ts, err := c.fr.next(len(c.ents) == 0)
		if errors.Is(err, io.EOF) {
			err = c.fr.errShort(c.after, c.after+1)
		}
		if err != nil {
			if len(c.ents) > 0 {
				break // return what is good; the error comes back on the next call
			}
			return nil, err
		}
		c.after++
		c.ents = append(c.ents, Entry{Seq: c.after, Time: time.Unix(0, ts).UTC(), Data: payload, Offset: off})
		bytes += len(payload)
	}
	return c.ents, nil
}

// peekLen returns the payload length of the next frame if its header is buffered.
func (fr *frameReader) peekLen() (int, bool) {
	if len(fr.buf)-fr.pos < frameHeaderSize {
		return 0, false
	}
	return int(binary.LittleEndian.Uint32(fr.buf[fr.pos+4:])), true
}

func (c *Cursor) release() {
	if c.f != nil {
		c.f.Close()
	}
	c.f, c.seg = nil, nil
}

// Close releases the cursor's file. Later calls return ErrClosed.
func (c *Cursor) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	var err error
	if c.f != nil {
		err = c.f.Close()
		c.f, c.seg = nil, nil
	}
	c.ents, c.fr.buf = nil, nil
	return err
}
