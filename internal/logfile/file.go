// Package logfile reads and writes CloudTrail log files and names them the
// way CloudTrail does, so that what cairn writes is accepted by AWS tools and
// what AWS writes is accepted by cairn.
//
// A log file is one gzip member holding {"Records":[r1,r2,…]} where each
// record is the producer's JSON, byte for byte. Digest files hash the
// uncompressed bytes, so Marshal's output is what gets hashed and WriteGzip
// compresses exactly that.
package logfile

import (
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
)

const (
	head = `{"Records":[`
	tail = `]}`
)

// Marshal returns the uncompressed log file holding records, each copied
// unchanged. Records must each be one JSON object; Marshal does not check.
func Marshal(records [][]byte) []byte {
	n := len(head) + len(tail)
	for _, r := range records {
		n += len(r) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, head...)
	for i, r := range records {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, r...)
	}
	return append(b, tail...)
}

// WriteGzip writes uncompressed to w as exactly one gzip member (aws-cli's
// validate-logs rejects anything after the first member). The header carries
// no name or time, so the same bytes always compress to the same file.
func WriteGzip(w io.Writer, uncompressed []byte) error {
	zw, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
	if err != nil {
		return fmt.Errorf("logfile: gzip: %w", err)
	}
	if _, err := zw.Write(uncompressed); err != nil {
		return fmt.Errorf("logfile: gzip: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("logfile: gzip: %w", err)
	}
	return nil
}
