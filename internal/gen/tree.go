package gen

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/cairn-dev/cairn/internal/logfile"
)

// TreeStats counts what WriteTree wrote.
type TreeStats struct {
	Files  int
	Events int
	Bytes  int64 // compressed bytes on disk
}

// deliveryWindow is how often CloudTrail publishes a log file (about every
// five minutes).
const deliveryWindow = 5 * time.Minute

// maxFileRecords caps a log file, as CloudTrail caps files (50 MB
// compressed): a busier window is split into several files, which also
// bounds WriteTree's memory.
const maxFileRecords = 20000

// WriteTree writes n events over [start, end) under dir as CloudTrail
// delivers them to S3: AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/
// with one file per account, region and five-minute window, delivered (and
// named) at the window's end. Insights records go to CloudTrail-Insight/.
// File names are derived from the seed, so the same call writes the same
// tree.
func (g *Generator) WriteTree(dir string, n int, start, end time.Time) (TreeStats, error) {
	var st TreeStats
	type fileKey struct {
		account, region string
		insight         bool
	}
	type file struct {
		recs [][]byte
		part int // files already written for this key and window
	}
	open := map[fileKey]*file{}
	var window time.Time

	write := func(k fileKey, f *file) error {
		if len(f.recs) == 0 {
			return nil
		}
		delivered := window.Add(deliveryWindow)
		seed := strconv.FormatInt(g.seed, 10) + "/" + k.account + "/" + k.region + "/" +
			strconv.FormatInt(delivered.Unix(), 10) + "/" + strconv.FormatBool(k.insight) + "/" + strconv.Itoa(f.part)
		unique := logfile.UniqueSuffix([]byte(seed))
		key := logfile.LogKey("", "", k.account, k.region, delivered, unique)
		if k.insight {
			key = logfile.InsightKey("", "", k.account, k.region, delivered, unique)
		}
		size, err := writeFile(filepath.Join(dir, filepath.FromSlash(key)), logfile.Marshal(f.recs))
		if err != nil {
			return err
		}
		st.Files++
		st.Events += len(f.recs)
		st.Bytes += size
		clear(f.recs) // let the records go
		f.recs = f.recs[:0]
		f.part++
		return nil
	}
	flush := func() error {
		keys := make([]fileKey, 0, len(open))
		for k := range open {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b fileKey) int {
			return cmp.Or(cmp.Compare(a.account, b.account), cmp.Compare(a.region, b.region), boolCmp(a.insight, b.insight))
		})
		for _, k := range keys {
			if err := write(k, open[k]); err != nil {
				return err
			}
		}
		clear(open)
		return nil
	}

	err := g.spread(n, start, end, func(raw []byte, m meta) error {
		if w := m.at.Truncate(deliveryWindow); !w.Equal(window) {
			if err := flush(); err != nil {
				return err
			}
			window = w
		}
		k := fileKey{m.account, m.region, m.insight}
		f := open[k]
		if f == nil {
			f = &file{}
			open[k] = f
		}
		f.recs = append(f.recs, raw)
		if len(f.recs) >= maxFileRecords {
			return write(k, f)
		}
		return nil
	})
	if err != nil {
		return st, err
	}
	return st, flush()
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

func writeFile(path string, uncompressed []byte) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, fmt.Errorf("gen: write tree: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return 0, fmt.Errorf("gen: write tree: %w", err)
	}
	cw := &countWriter{w: f}
	if err := logfile.WriteGzip(cw, uncompressed); err != nil {
		f.Close()
		return 0, fmt.Errorf("gen: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("gen: write %s: %w", path, err)
	}
	return cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
