package importer

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/cairn-dev/cairn/internal/meta"
)

// BenchmarkLedgerSave writes the ledger as a run over many small files does: about 4,000
// finished files a commit.
func BenchmarkLedgerSave(b *testing.B) {
	ctx := context.Background()
	db, err := meta.Open(ctx, filepath.Join(b.TempDir(), "meta.sqlite"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	l := NewLedger(db, "")
	rows := make([]Row, 4000)
	b.ResetTimer()
	for i := range b.N {
		for k := range rows {
			rows[k] = Row{Key: fmt.Sprintf("AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/01/f%d-%d.json.gz", i, k),
				Size: 2200, SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Records: 5, Recorded: 5, Status: StatusDone}
		}
		if err := l.Save(ctx, rows, markSet, uint64(i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(rows)), "ns/row")
}
