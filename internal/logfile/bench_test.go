package logfile_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/gen"
	"github.com/cairn-dev/cairn/internal/logfile"
)

// benchFile returns a realistic gzipped log file of about size compressed
// bytes, its uncompressed size and its record count.
func benchFile(b *testing.B, size int) (file []byte, plain, records int) {
	b.Helper()
	g := gen.New(gen.Config{Seed: 1})
	var recs [][]byte
	at := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	for {
		// Grow in steps and re-measure: compression ratio is what it is.
		for range 1000 {
			at = at.Add(50 * time.Millisecond)
			recs = append(recs, g.Event(at))
		}
		p := logfile.Marshal(recs)
		file = gz(b, p)
		if len(file) >= size {
			return file, len(p), len(recs)
		}
	}
}

// BenchmarkDecode reads a 5 MB (compressed) log file. MB/s counts
// uncompressed JSON, which is what the import budget is stated in.
func BenchmarkDecode(b *testing.B) {
	file, plain, n := benchFile(b, 5<<20)
	b.Logf("file: %.1f MB gzipped, %.1f MB JSON, %d records", float64(len(file))/(1<<20), float64(plain)/(1<<20), n)
	b.SetBytes(int64(plain))
	b.ReportAllocs()
	for b.Loop() {
		got := 0
		if err := logfile.Decode(bytes.NewReader(file), func([]byte) error { got++; return nil }); err != nil {
			b.Fatal(err)
		}
		if got != n {
			b.Fatalf("decoded %d records, want %d", got, n)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(len(file))*float64(b.N)/b.Elapsed().Seconds()/1e6, "gzMB/s")
}

// BenchmarkDecodePlain isolates the JSON scanner from decompression.
func BenchmarkDecodePlain(b *testing.B) {
	file, plain, n := benchFile(b, 1<<20)
	_ = file
	var p []byte
	if err := logfile.Decode(bytes.NewReader(file), func(raw []byte) error {
		if p == nil {
			p = append(p, `{"Records":[`...)
		} else {
			p = append(p, ',')
		}
		p = append(p, raw...)
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	p = append(p, "]}"...)
	if len(p) != plain {
		b.Fatalf("re-marshalled %d bytes, want %d", len(p), plain)
	}
	b.SetBytes(int64(plain))
	for b.Loop() {
		if err := logfile.Decode(bytes.NewReader(p), func([]byte) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
