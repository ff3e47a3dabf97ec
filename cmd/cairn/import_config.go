package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/gzip"

	"github.com/cairn-dev/cairn/internal/api/ingest"
	"github.com/cairn-dev/cairn/internal/lake"
)

// configItemBatch is how many configuration items go in one request.
const configItemBatch = 1000

// importConfigItems sends AWS Config configuration items (snapshot or history files as Config
// delivers them, an array, or one item per line; gzip or plain) to a running cairn, where they
// land in ConfigurationItem event data stores. endpoint "" is $AWS_ENDPOINT_URL.
func importConfigItems(ctx context.Context, endpoint string, paths []string, stdout, stderr io.Writer) error {
	files, err := configItemFiles(paths)
	if err != nil {
		return err
	}
	client, err := ingest.ClientFromEnv(endpoint)
	if err != nil {
		return err
	}
	var recorded, duplicates, rejected int
	summary := func() string {
		return fmt.Sprintf("%d configuration items recorded, %d duplicates, %d rejected", recorded, duplicates, rejected)
	}
	send := func(path string, batch [][]byte) error {
		resp, err := client.SendConfigurationItems(ctx, batch)
		if err != nil {
			return err
		}
		recorded += resp.Recorded
		duplicates += resp.Duplicates
		rejected += resp.Rejected
		for _, r := range resp.Results {
			if r.Status == ingest.StatusRejected {
				fmt.Fprintf(stderr, "%s: item %d rejected: %s\n", path, r.Index, r.Reason)
			}
		}
		return nil
	}
	for _, path := range files {
		if err := importConfigFile(path, send); err != nil {
			return fmt.Errorf("import %s: %w (%s)", path, err, summary())
		}
	}
	fmt.Fprintf(stdout, "%d files: %s\n", len(files), summary())
	if rejected > 0 {
		return fmt.Errorf("%d rejected (reasons above)", rejected)
	}
	return nil
}

func importConfigFile(path string, send func(string, [][]byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := maybeGunzip(f)
	if err != nil {
		return err
	}
	var batch [][]byte
	err = lake.DecodeConfigurationItems(r, func(raw []byte) error {
		batch = append(batch, append([]byte(nil), raw...))
		if len(batch) < configItemBatch {
			return nil
		}
		err := send(path, batch)
		batch = batch[:0]
		return err
	})
	if err != nil {
		return err
	}
	if len(batch) > 0 {
		return send(path, batch)
	}
	return nil
}

// configItemFiles expands directories into the .json/.ndjson files (gzipped or not) under them.
func configItemFiles(paths []string) ([]string, error) {
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

// maybeGunzip reads r through gzip when it starts with gzip's magic bytes.
func maybeGunzip(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		return gzip.NewReader(br)
	}
	return br, nil
}
