package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/smithy-go"

	"github.com/cairn-dev/cairn/internal/lake"
	"github.com/cairn-dev/cairn/internal/meta"
)

const queryUsage = `Usage: cairn query [flags] "SQL"

Runs a CloudTrail Lake query (Trino-flavoured SQL; name event data stores by their IDs in FROM)
and prints the rows. By default it asks a running cairn, as aws cloudtrail start-query and
get-query-results do. With --offline it reads the data directory itself (every account's
stores), which needs the server stopped.

Examples:
  cairn query "SELECT eventName, count(*) FROM <store-id> GROUP BY 1 ORDER BY 2 DESC"
  cairn query --output csv --offline --data ./cairn-data "SELECT * FROM <store-id> LIMIT 10"

Flags:
`

func runQuery(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		output, endpoint, region, data string
		offline                        bool
		timeout                        time.Duration
	)
	fs := flag.NewFlagSet("query", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&output, "output", "table", "table, csv or json")
	fs.StringVar(&endpoint, "endpoint-url", "", "cairn endpoint (default AWS_ENDPOINT_URL, else from <data>/admin.env)")
	fs.StringVar(&region, "region", "", "region (default AWS_REGION / AWS_DEFAULT_REGION, else from admin.env)")
	fs.StringVar(&data, "data", "./cairn-data", "data directory: credentials from its admin.env, or with --offline the data itself")
	fs.BoolVar(&offline, "offline", false, "read the data directory directly instead of asking a server")
	fs.DurationVar(&timeout, "timeout", 0, "give up after this long (0: wait for the query)")
	fs.Usage = func() {
		fmt.Fprint(stderr, queryUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() != 1 {
		fs.Usage()
		fmt.Fprintf(stderr, "\ncairn query takes one argument, the SQL statement (quote it); got %d\n", fs.NArg())
		return errUsage
	}
	sql := fs.Arg(0)
	var w rowWriter
	switch output {
	case "table":
		w = &tableWriter{w: stdout}
	case "csv":
		w = &csvWriter{w: csv.NewWriter(stdout)}
	case "json":
		w = &jsonWriter{w: stdout}
	default:
		return fmt.Errorf("--output %q: want table, csv or json", output)
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var err error
	if offline {
		err = queryOffline(ctx, data, sql, w)
	} else {
		err = queryServer(ctx, endpoint, region, data, sql, w, stderr)
	}
	if err != nil {
		return err
	}
	return w.finish()
}

// queryServer runs the statement as aws cloudtrail start-query does, then pages through
// get-query-results.
func queryServer(ctx context.Context, endpoint, region, data, sql string, w rowWriter, stderr io.Writer) error {
	client, err := cloudtrailClient(ctx, endpoint, region, data)
	if err != nil {
		return err
	}
	started, err := client.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String(sql)})
	if err != nil {
		return queryAPIError("StartQuery", err)
	}
	id := started.QueryId
	var status types.QueryStatus
	var message string
	for wait := 50 * time.Millisecond; ; wait = min(wait*2, time.Second) {
		d, err := client.DescribeQuery(ctx, &cloudtrail.DescribeQueryInput{QueryId: id})
		if err != nil {
			if ctx.Err() != nil {
				client.CancelQuery(context.WithoutCancel(ctx), &cloudtrail.CancelQueryInput{QueryId: id})
				return fmt.Errorf("query %s cancelled: %w", aws.ToString(id), ctx.Err())
			}
			return queryAPIError("DescribeQuery", err)
		}
		status, message = d.QueryStatus, aws.ToString(d.ErrorMessage)
		if status != types.QueryStatusQueued && status != types.QueryStatusRunning {
			break
		}
		select {
		case <-ctx.Done():
			client.CancelQuery(context.WithoutCancel(ctx), &cloudtrail.CancelQueryInput{QueryId: id})
			return fmt.Errorf("query %s cancelled: %w", aws.ToString(id), ctx.Err())
		case <-time.After(wait):
		}
	}
	in := &cloudtrail.GetQueryResultsInput{QueryId: id, MaxQueryResults: aws.Int32(1000)}
	for {
		page, err := client.GetQueryResults(ctx, in)
		if err != nil {
			return queryAPIError("GetQueryResults", err)
		}
		for _, row := range page.QueryResultRows {
			cols := make([]string, len(row))
			vals := make([]string, len(row))
			for i, cell := range row {
				for k, v := range cell {
					cols[i], vals[i] = k, v
				}
			}
			if err := w.row(cols, vals); err != nil {
				return err
			}
		}
		if page.NextToken == nil {
			break
		}
		in.NextToken = page.NextToken
	}
	if status != types.QueryStatusFinished {
		return fmt.Errorf("query %s %s: %s", aws.ToString(id), status, message)
	}
	return nil
}

func queryAPIError(op string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return fmt.Errorf("an error occurred (%s) when calling the %s operation: %s", ae.ErrorCode(), op, ae.ErrorMessage())
	}
	return err
}

// queryOffline opens the data directory's Lake read-only and runs the statement in process.
func queryOffline(ctx context.Context, data, sql string, w rowWriter) error {
	if _, err := os.Stat(filepath.Join(data, "lake.duckdb")); err != nil {
		return fmt.Errorf("%s has no Lake database (lake.duckdb): %w", data, err)
	}
	metaDB, err := meta.Open(ctx, filepath.Join(data, "meta.sqlite"))
	if err != nil {
		return err
	}
	defer metaDB.Close()
	keys, err := openKeyring(data)
	if err != nil {
		return err
	}
	l, err := lake.Open(ctx, lake.Config{Path: filepath.Join(data, "lake.duckdb"), Meta: metaDB, Keys: keys, ReadOnly: true})
	if err != nil {
		if strings.Contains(err.Error(), "lock") {
			return fmt.Errorf("%s is in use by a running cairn; query through the server instead (omit --offline): %w", data, err)
		}
		return err
	}
	defer l.Close()
	cols, err := l.Execute(ctx, lake.Caller{Local: true}, sql, w.row)
	if err != nil {
		var le *lake.Error
		if errors.As(err, &le) {
			return errors.New(le.Message)
		}
		return err
	}
	return w.header(cols)
}

// rowWriter prints rows in one of cairn query's formats.
type rowWriter interface {
	row(cols, vals []string) error
	header(cols []string) error // called when the columns are known but rows may be none
	finish() error
}

type tableWriter struct {
	w    io.Writer
	cols []string
	rows [][]string
}

func (t *tableWriter) row(cols, vals []string) error {
	if t.cols == nil {
		t.cols = cols
	}
	t.rows = append(t.rows, vals)
	return nil
}

func (t *tableWriter) header(cols []string) error {
	if t.cols == nil {
		t.cols = cols
	}
	return nil
}

func (t *tableWriter) finish() error {
	if t.cols == nil && len(t.rows) == 0 {
		_, err := fmt.Fprintln(t.w, "(no rows)")
		return err
	}
	tw := tabwriter.NewWriter(t.w, 0, 0, 2, ' ', 0)
	clean := func(s string) string { return strings.NewReplacer("\t", " ", "\n", " ").Replace(s) }
	var head []string
	for _, c := range t.cols {
		head = append(head, strings.ToUpper(clean(c)))
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, r := range t.rows {
		cells := make([]string, len(r))
		for i, v := range r {
			cells[i] = clean(v)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(t.w, "(%d rows)\n", len(t.rows))
	return err
}

type csvWriter struct {
	w      *csv.Writer
	headed bool
}

func (c *csvWriter) row(cols, vals []string) error {
	if err := c.header(cols); err != nil {
		return err
	}
	return c.w.Write(vals)
}

func (c *csvWriter) header(cols []string) error {
	if c.headed || cols == nil {
		return nil
	}
	c.headed = true
	return c.w.Write(cols)
}

func (c *csvWriter) finish() error {
	c.w.Flush()
	return c.w.Error()
}

// jsonWriter prints an array of objects, one per row; a repeated column name gets a suffix
// (name_2) so that no value is lost.
type jsonWriter struct {
	w    io.Writer
	n    int
	keys []string
}

func (j *jsonWriter) row(cols, vals []string) error {
	if j.keys == nil {
		seen := map[string]int{}
		for _, c := range cols {
			seen[c]++
			if seen[c] > 1 {
				c += "_" + strconv.Itoa(seen[c])
			}
			j.keys = append(j.keys, c)
		}
	}
	sep := ",\n  "
	if j.n == 0 {
		sep = "[\n  "
	}
	j.n++
	var b strings.Builder
	b.WriteString(sep + "{")
	for i, v := range vals {
		if i > 0 {
			b.WriteString(", ")
		}
		k, _ := json.Marshal(j.keys[i])
		val, _ := json.Marshal(v)
		b.Write(k)
		b.WriteString(": ")
		b.Write(val)
	}
	b.WriteString("}")
	_, err := io.WriteString(j.w, b.String())
	return err
}

func (j *jsonWriter) header([]string) error { return nil }

func (j *jsonWriter) finish() error {
	if j.n == 0 {
		_, err := io.WriteString(j.w, "[]\n")
		return err
	}
	_, err := io.WriteString(j.w, "\n]\n")
	return err
}
