package exporter

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-dev/cairn/internal/event"
	"github.com/cairn-dev/cairn/internal/logfile"
)

// tree writes a CloudTrail log tree, as CloudTrail delivers it to S3:
// AWSLogs/<account>/CloudTrail[-Insight]/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<time>_<unique>.json.gz,
// one gzip member of {"Records":[…]} per file, each record byte for byte. Events are grouped by
// account, region and five-minute window of their eventTime, and a file is named as delivered
// at the window's end. Names derive from their contents' place, so exporting again overwrites
// the same files rather than adding others.
type tree struct {
	dir      string
	st       *Stats
	open     map[bucketKey]*bucket
	parts    map[bucketKey]int // files written per key, kept when a bucket closes
	buffered int
	newest   int64 // newest window seen (unix seconds)
	seen     int
}

type bucketKey struct {
	account, region string
	insight         bool
	window          int64 // unix seconds of the window's start
}

type bucket struct {
	recs  [][]byte
	bytes int
}

const (
	window = 5 * time.Minute
	// A file holds at most this many records (CloudTrail caps files at 50 MB compressed);
	// the tree holds at most treeBuffer bytes before writing what it has.
	maxFileRecords = 20000
	treeBuffer     = 256 << 20
	// Windows this far behind the newest are complete in a journal in time order: written.
	lag = 2 * time.Hour
)

func newTree(dir string, st *Stats) *tree {
	return &tree{dir: dir, st: st, open: map[bucketKey]*bucket{}, parts: map[bucketKey]int{}}
}

// noRegion is the folder of records without awsRegion.
const noRegion = "no-region"

func (t *tree) write(raw []byte, s *event.Summary, recorded time.Time) error {
	at := s.EventTime
	if at.IsZero() {
		at = recorded // a record without eventTime goes where it was recorded
	}
	k := bucketKey{account: s.Account, region: s.Region, insight: s.Category == event.CategoryInsight, window: at.Truncate(window).Unix()}
	if k.region == "" {
		k.region = noRegion
	}
	if k.account == "" {
		k.account = "000000000000"
	}
	b := t.open[k]
	if b == nil {
		// The summary's strings are views into the journal reader's buffer.
		k.account, k.region = strings.Clone(k.account), strings.Clone(k.region)
		b = &bucket{}
		t.open[k] = b
	}
	b.recs = append(b.recs, bytes.Clone(raw))
	b.bytes += len(raw)
	t.buffered += len(raw)
	t.newest = max(t.newest, k.window)
	if len(b.recs) >= maxFileRecords {
		if err := t.flush(k, b); err != nil {
			return err
		}
	}
	if t.seen++; t.seen%10000 == 0 || t.buffered > treeBuffer {
		cutoff := t.newest - int64(lag/time.Second)
		for k, b := range t.open {
			if k.window < cutoff || t.buffered > treeBuffer {
				if err := t.flush(k, b); err != nil {
					return err
				}
				delete(t.open, k)
			}
		}
	}
	return nil
}

func (t *tree) flush(k bucketKey, b *bucket) error {
	if len(b.recs) == 0 {
		return nil
	}
	delivered := time.Unix(k.window, 0).Add(window).UTC()
	seed := fmt.Sprintf("cairn export/%s/%s/%t/%d/%d", k.account, k.region, k.insight, k.window, t.parts[k])
	unique := logfile.UniqueSuffix([]byte(seed))
	key := logfile.LogKey("", "", k.account, k.region, delivered, unique)
	if k.insight {
		key = logfile.InsightKey("", "", k.account, k.region, delivered, unique)
	}
	path := filepath.Join(t.dir, filepath.FromSlash(key))
	if err := writeAtomic(path, logfile.Marshal(b.recs)); err != nil {
		return err
	}
	t.st.Files++
	t.buffered -= b.bytes
	b.recs, b.bytes = b.recs[:0], 0
	t.parts[k]++
	return nil
}

// writeAtomic gzips data into path by way of a temporary file, so a reader never sees half.
func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := logfile.WriteGzip(tmp, data); err != nil {
		tmp.Close()
		return fmt.Errorf("export %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("export %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

func (t *tree) close() error {
	for k, b := range t.open {
		if err := t.flush(k, b); err != nil {
			return err
		}
	}
	return nil
}
