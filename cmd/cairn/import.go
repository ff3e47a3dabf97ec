package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/gzip"

	"github.com/cairn-dev/cairn/internal/api/ingest"
	"github.com/cairn-dev/cairn/internal/lake"
	"github.com/cairn-dev/cairn/internal/logfile"
)

const importUsage = `Usage: cairn import [flags] PATH...

Sends files to a running cairn through its ingest endpoints, signed with the aws CLI's
credentials (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, …). PATH is a file or a directory, walked for
*.json, *.json.gz, *.ndjson and *.ndjson.gz.

By default the files are CloudTrail log files (gzip or plain; {"Records":[…]}, an array or one
event per line). With --config-items they are AWS Config configuration items (snapshot or
history files as Config delivers them, an array, or one item per line), which land in
ConfigurationItem event data stores.

Examples:
  cairn import ./AWSLogs
  cairn import --config-items ./config-snapshots

Flags:
`

// importBatch is how many records or items go in one request.
const importBatch = 1000

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("import", flag.ContinueOnError)
	fset.SetOutput(stderr)
	configItems := fset.Bool("config-items", false, "the files hold AWS Config configuration items, not CloudTrail events")
	endpoint := fset.String("endpoint-url", "", "cairn endpoint (default AWS_ENDPOINT_URL)")
	fset.Usage = func() {
		fmt.Fprint(stderr, importUsage)
		fset.PrintDefaults()
	}
	if err := fset.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fset.NArg() == 0 {
		fset.Usage()
		fmt.Fprintln(stderr, "\ncairn import needs at least one file or directory")
		return errUsage
	}
	files, err := importFiles(fset.Args())
	if err != nil {
		return err
	}
	client, err := ingest.ClientFromEnv(*endpoint)
	if err != nil {
		return err
	}
	im := &importer{ctx: ctx, client: client, configItems: *configItems, stderr: stderr}
	for _, f := range files {
		if err := im.file(f); err != nil {
			return fmt.Errorf("import %s: %w (%s)", f, err, im.summary())
		}
	}
	fmt.Fprintf(stdout, "%d files: %s\n", len(files), im.summary())
	if im.rejected > 0 {
		return fmt.Errorf("%d rejected (reasons above)", im.rejected)
	}
	return nil
}

// importFiles expands directories into the data files under them, in lexical order.
func importFiles(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := strings.TrimSuffix(d.Name(), ".gz")
			if !d.IsDir() && (strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".ndjson")) {
				out = append(out, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

type importer struct {
	ctx                            context.Context
	client                         *ingest.Client
	configItems                    bool
	stderr                         io.Writer
	recorded, duplicates, rejected int
}

func (im *importer) summary() string {
	what := "events"
	if im.configItems {
		what = "configuration items"
	}
	return fmt.Sprintf("%d %s recorded, %d duplicates, %d rejected", im.recorded, what, im.duplicates, im.rejected)
}

func (im *importer) file(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var batch [][]byte
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		var resp *ingest.Response
		var err error
		if im.configItems {
			resp, err = im.client.SendConfigurationItems(im.ctx, batch)
		} else {
			resp, err = im.client.Send(im.ctx, batch)
		}
		if err != nil {
			return err
		}
		im.recorded += resp.Recorded
		im.duplicates += resp.Duplicates
		im.rejected += resp.Rejected
		for _, r := range resp.Results {
			if r.Status == ingest.StatusRejected {
				fmt.Fprintf(im.stderr, "%s: record %d rejected: %s\n", path, r.Index, r.Reason)
			}
		}
		batch = batch[:0]
		return nil
	}
	add := func(raw []byte) error {
		batch = append(batch, append([]byte(nil), raw...))
		if len(batch) >= importBatch {
			return flush()
		}
		return nil
	}
	if im.configItems {
		r, err := maybeGunzip(f)
		if err != nil {
			return err
		}
		err = lake.DecodeConfigurationItems(r, add)
	} else {
		err = logfile.Decode(f, add)
	}
	if err != nil {
		return err
	}
	return flush()
}

// maybeGunzip reads r through gzip when it starts with gzip's magic bytes.
func maybeGunzip(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		return gzip.NewReader(br)
	}
	return br, nil
}
