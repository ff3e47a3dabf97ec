package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/cairn-dev/cairn/internal/exporter"
	"github.com/cairn-dev/cairn/internal/history"
)

const exportUsage = `Usage: cairn export [flags]

Writes recorded events to stdout (or --out): TSV or CSV with chosen columns, NDJSON, Parquet,
or a CloudTrail log tree (.json.gz files in AWS's key layout, records byte for byte).
Reads the data directory's journal without locking it: cairn serve may be running.

Columns (--fields) are dotted paths into the record, e.g. userIdentity.sessionContext.sessionIssuer.userName
or resources.0.ARN; CloudTrailEvent is the whole record. Default for TSV and CSV:
  ` + "eventTime,awsRegion,eventSource,eventName,userIdentity.userName,sourceIPAddress,userAgent,requestParameters" + `

Examples:
  cairn export > events.tsv
  cairn export --format csv --lookup-attributes AttributeKey=EventName,AttributeValue=ConsoleLogin --start-time 2024-06-01
  cairn export --format cloudtrail --out ./tree --account 123456789012

Flags:
`

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var (
		data, format, fields, out string
		noHeader, quiet           bool
		attrs                     attrFlag
		start, end                *time.Time
		accounts, regions, cats   listFlag
	)
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&data, "data", "./cairn-data", "data directory")
	fs.StringVar(&format, "format", "tsv", "tsv, csv, ndjson, parquet or cloudtrail")
	fs.StringVar(&fields, "fields", "", "comma-separated columns for tsv, csv and parquet (dotted paths)")
	fs.BoolVar(&noHeader, "no-header", false, "tsv and csv: no first line naming the columns")
	fs.StringVar(&out, "out", "", "write to this file instead of stdout; the directory for --format cloudtrail")
	fs.Var(&attrs, "lookup-attributes", "AttributeKey=KEY,AttributeValue=VALUE as for lookup-events: several after one flag or the flag repeated (ANDed), or the JSON form")
	fs.Var(timeFlag{&start}, "start-time", "events at or after this time")
	fs.Var(timeFlag{&end}, "end-time", "events at or before this time")
	fs.Var(&accounts, "account", "events of this account (repeatable, or comma-separated)")
	fs.Var(&regions, "region", "events of this region (repeatable, or comma-separated)")
	fs.Var(&cats, "event-category", "management, data, insight, networkactivity, … (repeatable, or comma-separated)")
	fs.BoolVar(&quiet, "quiet", false, "no summary on stderr")
	fs.Usage = func() {
		fmt.Fprint(stderr, exportUsage)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, expandAttrArgs(args)); err != nil {
		return err
	}
	q := exporter.Query{Accounts: accounts, Regions: regions, Categories: cats}
	for _, a := range attrs {
		q.Attributes = append(q.Attributes, history.Attribute{Key: string(a.AttributeKey), Value: *a.AttributeValue})
	}
	if start != nil {
		q.Start = *start
	}
	if end != nil {
		q.End = *end
	}
	if err := q.Validate(); err != nil {
		return err
	}
	opts := exporter.Options{Format: exporter.Format(format), Header: !noHeader}
	if fields != "" {
		if format != "tsv" && format != "csv" && format != "parquet" {
			return fmt.Errorf("--fields goes with --format tsv, csv or parquet, not %s", format)
		}
		opts.Fields = splitList(fields)
	}
	jdir := filepath.Join(data, "journal")
	if fi, err := os.Stat(jdir); err != nil || !fi.IsDir() {
		return fmt.Errorf("%s holds no journal: nothing was recorded there (is --data right?)", data)
	}

	var w io.Writer = stdout
	var file *os.File
	switch {
	case opts.Format == exporter.CloudTrail:
		if out == "" {
			return errors.New("--format cloudtrail writes a directory tree: name it with --out DIR")
		}
		opts.Dir = out
		w = io.Discard
	case out != "":
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		file, w = f, f
	}
	if p := os.Getenv("CAIRN_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			return fmt.Errorf("CAIRN_CPUPROFILE: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("CAIRN_CPUPROFILE: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	began := time.Now()
	st, err := exporter.Export(ctx, jdir, q, opts, w)
	if file != nil {
		if cerr := file.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return err
	}
	if !quiet {
		took := time.Since(began)
		msg := fmt.Sprintf("exported %d of %d events in %v (%.0f events/s)", st.Exported, st.Scanned, took.Round(time.Millisecond), float64(st.Scanned)/max(took.Seconds(), 1e-9))
		if opts.Format == exporter.CloudTrail {
			msg += fmt.Sprintf(" into %d files under %s", st.Files, out)
		}
		fmt.Fprintln(stderr, msg)
		if st.RemovedSegments > 0 {
			fmt.Fprintf(stderr, "note: journal retention removed %d segments while the export read; their events, older than every retention window, are not in the output\n", st.RemovedSegments)
		}
	}
	return nil
}
