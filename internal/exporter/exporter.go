// Package exporter writes recorded events out: as TSV or CSV with chosen columns, NDJSON,
// Parquet, or a CloudTrail log tree in AWS's key layout, each record byte for byte where the
// format carries records whole.
//
// Events come from the journal, read without locking it (journal.Scan), so an export runs
// beside cairn serve. The journal is the one store that holds every event — management, data,
// Insights and network activity — with its original bytes, and each record's envelope carries
// the fields exports filter on (time, account, region, category, lookup attributes), so most
// records are skipped without parsing JSON. Event history's DuckDB tables hold only
// management and Insights events, and only hashes of their fields; they would add nothing.
// What the journal no longer holds (beyond its retention, at least history's 90 days) cannot
// be exported.
package exporter

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/cairn-dev/cairn/internal/event"
	"github.com/cairn-dev/cairn/internal/history"
	"github.com/cairn-dev/cairn/internal/journal"
)

// Format is an output format.
type Format string

const (
	TSV        Format = "tsv"
	CSV        Format = "csv"
	NDJSON     Format = "ndjson"
	Parquet    Format = "parquet"
	CloudTrail Format = "cloudtrail" // a directory tree of .json.gz log files
)

// Formats lists every format, for help texts.
var Formats = []Format{TSV, CSV, NDJSON, Parquet, CloudTrail}

// RecordField is the pseudo-field that stands for the whole record, as LookupEvents names it.
const RecordField = "CloudTrailEvent"

// DefaultFields are the columns of TSV and CSV exports: those of the everyday shell pipeline
// (aws s3 sync, gunzip, jq) that exports replace.
var DefaultFields = []string{"eventTime", "awsRegion", "eventSource", "eventName", "userIdentity.userName", "sourceIPAddress", "userAgent", "requestParameters"}

// ParquetFields are the columns of Parquet exports: the fields people query by, and the record.
var ParquetFields = []string{"eventTime", "eventVersion", "eventSource", "eventName", "awsRegion", "sourceIPAddress", "userAgent",
	"userIdentity.type", "userIdentity.arn", "userIdentity.accountId", "userIdentity.userName", "userIdentity.accessKeyId",
	"errorCode", "errorMessage", "requestParameters", "responseElements", "requestID", "eventID", "eventType", "readOnly",
	"resources", "recipientAccountId", "sharedEventID", "eventCategory", RecordField}

// Query selects events. The zero Query selects every event.
type Query struct {
	Attributes []history.Attribute // LookupEvents attributes, all of which must match
	Start, End time.Time           // eventTime bounds, inclusive; zero means unbounded
	Accounts   []string            // recipientAccountId; empty means any
	Regions    []string            // awsRegion; empty means any
	Categories []string            // eventCategory (Management, Data, Insight, NetworkActivity, …); empty means any
}

// categories by their lower-case names, for case-insensitive flags.
var categories = map[string]string{}

func init() {
	for _, c := range []string{event.CategoryManagement, event.CategoryData, event.CategoryInsight, event.CategoryNetworkActivity,
		event.CategoryConfigurationItem, event.CategoryActivityAuditLog} {
		categories[strings.ToLower(c)] = c
	}
}

// Validate checks q and puts its categories in CloudTrail's spelling.
func (q *Query) Validate() error {
	if err := history.ValidateAttributes(q.Attributes); err != nil {
		return err
	}
	if !q.Start.IsZero() && !q.End.IsZero() && q.Start.After(q.End) {
		return fmt.Errorf("start time %s is after end time %s", q.Start.Format(time.RFC3339), q.End.Format(time.RFC3339))
	}
	for _, a := range q.Accounts {
		if !event.IsAccountID(a) {
			return fmt.Errorf("account %q is not a 12-digit account ID", a)
		}
	}
	for i, c := range q.Categories {
		canon, ok := categories[strings.ToLower(c)]
		if !ok {
			return fmt.Errorf("event category %q: want one of management, data, insight, networkactivity, configurationitem, activityauditlog", c)
		}
		q.Categories[i] = canon
	}
	return nil
}

func (q *Query) match(s event.Summary) bool {
	if len(q.Accounts) > 0 && !slices.Contains(q.Accounts, s.Account) {
		return false
	}
	if len(q.Regions) > 0 && !slices.Contains(q.Regions, s.Region) {
		return false
	}
	if len(q.Categories) > 0 && !slices.Contains(q.Categories, s.Category) {
		return false
	}
	if !q.Start.IsZero() || !q.End.IsZero() {
		if s.EventTime.IsZero() || (!q.Start.IsZero() && s.EventTime.Before(q.Start)) || (!q.End.IsZero() && s.EventTime.After(q.End)) {
			return false
		}
	}
	return len(q.Attributes) == 0 || history.MatchAttributes(s, q.Attributes)
}

// Options choose the output.
type Options struct {
	Format Format
	// Fields are the columns of TSV, CSV and Parquet: dotted paths into the record
	// ("userIdentity.sessionContext.sessionIssuer.userName", "resources.0.ARN"), or
	// RecordField for the record itself. Empty means the format's defaults.
	Fields []string
	// Header adds a first line naming the columns (TSV and CSV).
	Header bool
	// Dir is where the CloudTrail format writes its tree.
	Dir string
}

// Stats says what an export did.
type Stats struct {
	Scanned  uint64 // records read from the journal
	Exported int64  // records written
	Files    int    // files written (CloudTrail format)
	// RemovedSegments counts journal segments retention deleted while the export read.
	RemovedSegments int
}

// sink receives the selected records in journal order.
type sink interface {
	write(raw []byte, s *event.Summary, recorded time.Time) error
	close() error
}

// Export writes the events q selects from the journal in journalDir to w (or opts.Dir).
func Export(ctx context.Context, journalDir string, q Query, opts Options, w io.Writer) (Stats, error) {
	var st Stats
	if err := q.Validate(); err != nil {
		return st, err
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var out sink
	var err error
	switch opts.Format {
	case TSV, CSV:
		out, err = newTable(bw, opts)
	case NDJSON:
		out = &ndjson{w: bw}
	case Parquet:
		out, err = newParquet(bw, opts)
	case CloudTrail:
		if opts.Dir == "" {
			return st, errors.New("the cloudtrail format writes a directory tree: name the directory")
		}
		out = newTree(opts.Dir, &st)
	default:
		return st, fmt.Errorf("format %q: want one of tsv, csv, ndjson, parquet, cloudtrail", opts.Format)
	}
	if err != nil {
		return st, err
	}
	var s event.Summary // one for every event: passed by pointer, a new one would escape each time
	scan, err := journal.Scan(ctx, journalDir, 0, func(e journal.Entry) error {
		var raw []byte
		var err error
		s, raw, err = event.OpenEnvelope(e.Data)
		if err != nil || !q.match(s) {
			return nil // not an event, or not selected
		}
		st.Exported++
		return out.write(raw, &s, e.Time)
	})
	st.Scanned, st.RemovedSegments = scan.Records, scan.Removed
	if cerr := out.close(); err == nil {
		err = cerr
	}
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return st, err
}

// parseFields compiles column paths; RecordField becomes a nil path.
func parseFields(fields []string) ([]event.Path, error) {
	paths := make([]event.Path, len(fields))
	for i, f := range fields {
		if f == RecordField {
			continue
		}
		p, err := event.ParsePath(f)
		if err != nil {
			return nil, err
		}
		paths[i] = p
	}
	return paths, nil
}

// columns extracts column values from records, with RecordField as the record itself.
type columns struct {
	fields *event.Fields
	whole  []bool // column i is the record
	idx    []int  // column i's index among the extracted paths
	vals   [][]byte
	out    [][]byte
}

func newColumns(names []string) (*columns, error) {
	paths, err := parseFields(names)
	if err != nil {
		return nil, err
	}
	c := &columns{whole: make([]bool, len(names)), idx: make([]int, len(names)), out: make([][]byte, len(names))}
	var extract []event.Path
	for i, p := range paths {
		if p == nil {
			c.whole[i] = true
			continue
		}
		c.idx[i] = len(extract)
		extract = append(extract, p)
	}
	c.fields = event.NewFields(extract)
	c.vals = make([][]byte, len(extract))
	return c, nil
}

// values returns each column's JSON value in raw (nil where absent).
func (c *columns) values(raw []byte) ([][]byte, error) {
	if err := c.fields.Extract(raw, c.vals); err != nil {
		return nil, err
	}
	for i := range c.out {
		if c.whole[i] {
			c.out[i] = raw
		} else {
			c.out[i] = c.vals[c.idx[i]]
		}
	}
	return c.out, nil
}

// ndjson writes one record per line. A record from a pretty-printed file has line breaks
// between its tokens (never inside strings, where JSON escapes them): they become spaces.
type ndjson struct{ w *bufio.Writer }

func (n *ndjson) write(raw []byte, _ *event.Summary, _ time.Time) error {
	if bytes.ContainsAny(raw, "\r\n") {
		raw = bytes.Map(func(r rune) rune {
			if r == '\r' || r == '\n' {
				return ' '
			}
			return r
		}, raw)
	}
	n.w.Write(raw)
	return n.w.WriteByte('\n')
}

func (n *ndjson) close() error { return nil }
