package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
	"strings"
)

// Segment header: magic | format version uint32 | first sequence uint64 | CRC-32C of the preceding 20 bytes.
// The first sequence repeats the file name so a renamed or misplaced file is caught.
const (
	segmentMagic   = "CAIRNWAL"
	segmentVersion = 1
	headerSize     = 24

	// Frame: CRC-32C | length uint32 | append time int64 unix nanos | payload.
	frameHeaderSize = 16

	segmentSuffix = ".wal"
	segmentDigits = 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// segment is the journal's view of one file. Fields other than first, name and path
// change while the segment is active and are guarded by Journal.mu.
type segment struct {
	first  uint64
	name   string
	path   string
	size   int64  // durable bytes (final size once sealed)
	last   uint64 // sequence of its last durable record; first-1 when it has none
	sealed bool   // no more appends: a later segment exists
	// newest is the latest append time of its records (unix nanos); valid if newestKnown.
	// Segments sealed before Open are not scanned up front; Retain scans them when it has to.
	newest      int64
	newestKnown bool
	// index holds sparse (sequence, offset) points so a cursor need not scan the whole segment.
	index []indexEntry
}

type indexEntry struct {
	seq uint64
	off int64
}

// indexInterval is the distance in bytes between sparse index points.
const indexInterval = 1 << 20

// seek returns the closest indexed position at or before seq.
func (s *segment) seek(seq uint64) (uint64, int64) {
	pos := indexEntry{s.first, headerSize}
	lo, hi := 0, len(s.index)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.index[m].seq <= seq {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo > 0 {
		pos = s.index[lo-1]
	}
	return pos.seq, pos.off
}

func segmentName(first uint64) string {
	return fmt.Sprintf("%0*d%s", segmentDigits, first, segmentSuffix)
}

// parseSegmentName returns the first sequence encoded in a segment file name.
func parseSegmentName(name string) (uint64, bool) {
	num, ok := strings.CutSuffix(name, segmentSuffix)
	if !ok || len(num) != segmentDigits {
		return 0, false
	}
	first, err := strconv.ParseUint(num, 10, 64)
	if err != nil || first == 0 {
		return 0, false
	}
	return first, true
}

func encodeHeader(first uint64) []byte {
	b := make([]byte, headerSize)
	copy(b, segmentMagic)
	binary.LittleEndian.PutUint32(b[8:], segmentVersion)
	binary.LittleEndian.PutUint64(b[12:], first)
	binary.LittleEndian.PutUint32(b[20:], crc32.Checksum(b[:20], castagnoli))
	return b
}

// headerIntact reports whether b holds a whole header that was written as is: magic and CRC match.
// A header that is intact but fails checkHeader is not a torn write.
func headerIntact(b []byte) bool {
	return len(b) >= headerSize && string(b[:8]) == segmentMagic &&
		binary.LittleEndian.Uint32(b[20:]) == crc32.Checksum(b[:20], castagnoli)
}

// checkHeader verifies a segment header against the sequence its file name claims.
func checkHeader(b []byte, first uint64) error {
	switch {
	case len(b) < headerSize:
		return fmt.Errorf("short header (%d bytes)", len(b))
	case string(b[:8]) != segmentMagic:
		return errors.New("bad magic")
	case !headerIntact(b):
		return errors.New("header checksum mismatch")
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != segmentVersion {
		return fmt.Errorf("unsupported format version %d", v)
	}
	if got := binary.LittleEndian.Uint64(b[12:]); got != first {
		return fmt.Errorf("header says first sequence %d, file name says %d", got, first)
	}
	return nil
}

// appendFrame appends one encoded record to b.
func appendFrame(b []byte, ts int64, payload []byte) []byte {
	n := len(b)
	b = append(b, make([]byte, frameHeaderSize)...)
	h := b[n:]
	binary.LittleEndian.PutUint32(h[4:], uint32(len(payload)))
	binary.LittleEndian.PutUint64(h[8:], uint64(ts))
	crc := crc32.Update(0, castagnoli, h[4:])
	crc = crc32.Update(crc, castagnoli, payload)
	binary.LittleEndian.PutUint32(h, crc)
	return append(b, payload...)
}

// ErrCorrupt is wrapped by errors that report damaged journal data. The message names the
// segment file and byte offset.
var ErrCorrupt = errors.New("journal: corrupt data")

type corruptError struct {
	segment string
	offset  int64
	reason  string
}

func (e *corruptError) Error() string {
	return fmt.Sprintf("journal: corrupt data in segment %s at offset %d: %s", e.segment, e.offset, e.reason)
}

func (e *corruptError) Is(target error) bool { return target == ErrCorrupt }

// frameReader reads frames from one segment file through a buffer, never past limit,
// the durable end of the file. Bytes beyond limit may belong to a write in flight.
type frameReader struct {
	r     io.ReaderAt
	name  string
	limit int64
	base  int64  // file offset of buf[0]
	buf   []byte // buf[:len(buf)] holds file bytes [base, base+len)
	pos   int    // next frame starts at buf[pos]
}

func (fr *frameReader) offset() int64 { return fr.base + int64(fr.pos) }

func (fr *frameReader) corrupt(off int64, format string, args ...any) error {
	return &corruptError{segment: fr.name, offset: off, reason: fmt.Sprintf(format, args...)}
}

// errTrailing reports bytes after the record that should be a sealed segment's last.
func (fr *frameReader) errTrailing(off int64, last uint64) error {
	return fr.corrupt(off, "%d bytes follow the segment's last record (sequence %d)", fr.limit-off, last)
}

// errShort reports a sealed segment that ends before its last record.
func (fr *frameReader) errShort(got, want uint64) error {
	return fr.corrupt(fr.offset(), "segment ends after sequence %d, before sequence %d", got, want)
}

// errNotBuffered is returned by next when mayRead is false and the frame is not fully buffered.
var errNotBuffered = errors.New("frame not buffered")

// next returns the next frame's payload and time. The payload aliases the buffer and stays valid
// until a later call that is allowed to read. io.EOF means the reader is exactly at limit.
func (fr *frameReader) next(mayRead bool) (payload []byte, ts int64, err error) {
	off := fr.offset()
	if off >= fr.limit {
		return nil, 0, io.EOF
	}
	if fr.limit-off < frameHeaderSize {
		return nil, 0, fr.corrupt(off, "incomplete frame header (%d bytes before end)", fr.limit-off)
	}
	if len(fr.buf)-fr.pos < frameHeaderSize {
		if !mayRead {
			return nil, 0, errNotBuffered
		}
		if err := fr.fill(frameHeaderSize, frameHeaderSize); err != nil {
			return nil, 0, err
		}
	}
	h := fr.buf[fr.pos:]
	length := int64(binary.LittleEndian.Uint32(h[4:]))
	n := frameHeaderSize + length
	if n > fr.limit-off {
		return nil, 0, fr.corrupt(off, "record length %d runs past the end of the segment (%d bytes left)", length, fr.limit-off-frameHeaderSize)
	}
	if int64(len(fr.buf)-fr.pos) < n {
		if !mayRead {
			return nil, 0, errNotBuffered
		}
		if err := fr.fill(int(n), int(n)); err != nil {
			return nil, 0, err
		}
	}
	f := fr.buf[fr.pos : fr.pos+int(n)]
	crc := crc32.Update(0, castagnoli, f[4:])
	if want := binary.LittleEndian.Uint32(f); crc != want {
		return nil, 0, fr.corrupt(off, "checksum mismatch (stored %08x, computed %08x)", want, crc)
	}
	fr.pos += int(n)
	return f[frameHeaderSize:n:n], int64(binary.LittleEndian.Uint64(f[8:])), nil
}

// fill makes at least need bytes available from pos (need must not pass limit), reading up to
// want bytes ahead. It moves unread bytes to the front of the buffer, invalidating earlier payloads.
func (fr *frameReader) fill(need, want int) error {
	want = max(want, need)
	if rest := fr.limit - fr.offset(); int64(want) > rest {
		want = int(rest)
	}
	have := len(fr.buf) - fr.pos
	if have >= want {
		return nil
	}
	if cap(fr.buf) < want {
		nb := make([]byte, have, want)
		copy(nb, fr.buf[fr.pos:])
		fr.buf = nb
	} else {
		fr.buf = fr.buf[:copy(fr.buf, fr.buf[fr.pos:])]
	}
	fr.base += int64(fr.pos)
	fr.pos = 0
	// Read as much as fits: fewer, larger reads.
	end := min(int64(cap(fr.buf)), fr.limit-fr.base)
	n, err := fr.r.ReadAt(fr.buf[have:end], fr.base+int64(have))
	fr.buf = fr.buf[:have+n]
	if n < need-have {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("read segment %s at offset %d: %w", fr.name, fr.base+int64(have), err)
	}
	return nil
}

// reset positions the reader at off with nothing buffered.
func (fr *frameReader) reset(off int64) {
	fr.base, fr.pos, fr.buf = off, 0, fr.buf[:0]
}
