package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cairn-dev/cairn/internal/api/ingest"
	"github.com/cairn-dev/cairn/internal/duck"
	"github.com/cairn-dev/cairn/internal/history"
	"github.com/cairn-dev/cairn/internal/importer"
	"github.com/cairn-dev/cairn/internal/integrity"
	"github.com/cairn-dev/cairn/internal/journal"
	"github.com/cairn-dev/cairn/internal/meta"
	"github.com/cairn-dev/cairn/internal/recorder"
)

const importUsage = `Usage: cairn import [flags] SOURCE...

Imports CloudTrail log files, keeping every record byte for byte. A SOURCE is a file, a
directory (an AWSLogs/ tree copied from S3, or any tree of log files) or s3://bucket/prefix
(credentials, region and endpoint from the standard AWS environment; AWS_ENDPOINT_URL_S3 for
an S3-compatible store). Files may be .json.gz (one or several gzip members), .json with
{"Records":[…]} or a JSON array of records, or NDJSON (.jsonl, .ndjson, gzipped or not).

By default events go into the data directory, with no server running (a running cairn
locks it: import into it with --to). Afterwards cairn serve answers LookupEvents at once.

A re-run skips files already imported and never records an event twice; an import that was
interrupted resumes where it stopped.

With --config-items the SOURCEs are AWS Config configuration items instead (snapshot or history
files, an array, or one item per line; local files or directories), sent to the server named by
--to for ConfigurationItem event data stores.

Flags:
`

type importConfig struct {
	data, to, state string
	filter          importer.Filter
	verify          string
	publicKeys      listFlag
	workers         int
	duckMemory      string
	quiet           bool
	logLevel        string
}

func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg importConfig
	var start, end *time.Time
	var accounts, regions listFlag
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.data, "data", "./cairn-data", "data directory to import into (no server may be running on it)")
	fs.StringVar(&cfg.to, "to", "", `import into the running cairn at this endpoint URL instead ("server": $AWS_ENDPOINT_URL), signed with the standard AWS credentials`)
	fs.StringVar(&cfg.state, "state", "", "with --to: the file that remembers what was imported (default: cairn/imports.sqlite in the user's state directory)")
	fs.Var(timeFlag{&start}, "start-time", "import only events at or after this time")
	fs.Var(timeFlag{&end}, "end-time", "import only events at or before this time")
	fs.Var(&accounts, "account", "import only events of this account (repeatable, or comma-separated)")
	fs.Var(&regions, "region", "import only events of this region (repeatable, or comma-separated)")
	fs.StringVar(&cfg.verify, "verify", "hashes", "digest verification: off, hashes (the digest chain and each log file's hash) or full (and signatures)")
	fs.Var(&cfg.publicKeys, "public-key", "with --verify=full: a file of public keys: the JSON of aws cloudtrail list-public-keys, PEM, DER or base64 DER (repeatable)")
	fs.IntVar(&cfg.workers, "parallel", 0, "files decoded in parallel (default: the number of CPUs)")
	fs.StringVar(&cfg.duckMemory, "duckdb-memory-limit", "256MB", "DuckDB memory limit while indexing event history")
	fs.BoolVar(&cfg.quiet, "quiet", false, "no progress bar")
	configItems := fs.Bool("config-items", false, "the SOURCEs hold AWS Config configuration items, not CloudTrail events (needs --to)")
	fs.StringVar(&cfg.logLevel, "log-level", "warn", "log level: debug, info, warn, error")
	fs.Usage = func() {
		fmt.Fprint(stderr, importUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "cairn import: name at least one SOURCE (a file, a directory or s3://bucket/prefix)")
		fs.Usage()
		return errUsage
	}
	if *configItems {
		if cfg.to == "" {
			return fmt.Errorf("invalid flags:\n  --config-items needs --to (configuration items go to a running cairn's Lake)")
		}
		return importConfigItems(ctx, strings.TrimPrefix(cfg.to, "server"), fs.Args(), stdout, stderr)
	}
	if start != nil {
		cfg.filter.Start = *start
	}
	if end != nil {
		cfg.filter.End = *end
	}
	cfg.filter.Accounts, cfg.filter.Regions = accounts, regions
	var problems []string
	if err := cfg.filter.Validate(); err != nil {
		problems = append(problems, err.Error())
	}
	mode, err := importer.ParseVerifyMode(cfg.verify)
	if err != nil {
		problems = append(problems, err.Error())
	}
	if len(cfg.publicKeys) > 0 && mode != importer.VerifyFull {
		problems = append(problems, "--public-key needs --verify=full")
	}
	for _, k := range cfg.publicKeys {
		if _, err := os.Stat(k); err != nil {
			problems = append(problems, fmt.Sprintf("--public-key %s: %v", k, err))
		}
	}
	if cfg.workers < 0 {
		problems = append(problems, "--parallel must not be negative")
	}
	if cfg.state != "" && cfg.to == "" {
		problems = append(problems, "--state goes with --to")
	}
	level, err := parseLevel(cfg.logLevel)
	if err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return fmt.Errorf("invalid flags:\n  %s", strings.Join(problems, "\n  "))
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	var sources []importer.Source
	for _, a := range fs.Args() {
		var src importer.Source
		var err error
		if importer.IsS3URL(a) {
			src, err = importer.NewS3(ctx, a)
		} else {
			src, err = importer.NewLocal(a)
		}
		if err != nil {
			return err
		}
		sources = append(sources, src)
	}
	verifier, err := newVerifier(mode, cfg.publicKeys, cfg.data, cfg.to == "")
	if err != nil {
		return err
	}
	icfg := importer.Config{Filter: cfg.filter, Verify: mode, Verifier: verifier, Workers: cfg.workers, Logger: log}
	if cfg.to != "" {
		return importToServer(ctx, cfg, icfg, sources, stdout, stderr)
	}
	return importOffline(ctx, cfg, icfg, sources, log, stdout, stderr)
}

// newVerifier returns the digest verifier for --verify: nil for off. Signatures are checked
// with the keys in the --public-key files and, offline, with the data directory's own signing
// keys (the keys of digests cairn delivered).
func newVerifier(mode importer.VerifyMode, publicKeys []string, data string, offline bool) (importer.Verifier, error) {
	if mode == importer.VerifyOff {
		return nil, nil
	}
	var keys []integrity.PublicKey
	for _, path := range publicKeys {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("--public-key: %w", err)
		}
		ks, err := integrity.ParsePublicKeyFile(b)
		if err != nil {
			return nil, fmt.Errorf("--public-key %s: %w", path, err)
		}
		keys = append(keys, ks...)
	}
	if dir := filepath.Join(data, "keys", "digest"); offline && mode == importer.VerifyFull {
		if _, err := os.Stat(dir); err == nil {
			kr, err := integrity.OpenKeyring(dir, 0)
			if err != nil {
				return nil, err
			}
			keys = append(keys, kr.Known()...)
		}
	}
	return importer.NewDigests(mode, keys)
}

// importOffline imports into a data directory with the components cairn serve runs: the
// journal, the recorder and event history, which indexes what was imported as it goes.
func importOffline(ctx context.Context, cfg importConfig, icfg importer.Config, sources []importer.Source, log *slog.Logger, stdout, stderr io.Writer) error {
	tuneGC()
	if err := os.MkdirAll(cfg.data, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	j, err := journal.Open(filepath.Join(cfg.data, "journal"), journal.Options{Logger: log})
	if err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("the data directory %s is in use by a running cairn (its journal is locked): stop it first, or import into it with --to <its endpoint>", cfg.data)
		}
		return err
	}
	defer j.Close()
	metaDB, err := meta.Open(ctx, filepath.Join(cfg.data, "meta.sqlite"))
	if err != nil {
		return err
	}
	defer metaDB.Close()
	db, err := duck.Open(filepath.Join(cfg.data, "cairn.duckdb"), duck.Options{MemoryLimit: cfg.duckMemory})
	if err != nil {
		return err
	}
	defer db.Close()
	hist, err := history.Open(ctx, db, j, history.Options{Logger: log})
	if err != nil {
		return err
	}
	rec := recorder.New(j, recorder.Options{Logger: log})
	if err := rec.Load(ctx); err != nil {
		return err
	}
	histCtx, stopHist := context.WithCancel(context.WithoutCancel(ctx))
	histDone := make(chan error, 1)
	go func() { histDone <- hist.Run(histCtx) }()
	stopHistory := func() error {
		stopHist()
		err := <-histDone
		if ferr := hist.Flush(context.WithoutCancel(ctx)); err == nil {
			err = ferr
		}
		return err
	}

	icfg.Sink = &importer.RecorderSink{Recorder: rec, J: j}
	icfg.Ledger = importer.NewLedger(metaDB, "")
	im, err := importer.New(icfg)
	if err != nil {
		stopHistory()
		return err
	}
	bar := newProgressBar(stderr, cfg.quiet, im.Progress)
	if p := os.Getenv("CAIRN_CPUPROFILE"); p != "" {
		f, _ := os.Create(p)
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	sum, runErr := im.Run(ctx, sources)
	// Searchable before returning: history indexes the rest of what the import journaled.
	if runErr == nil {
		bar.phase("indexing event history")
		err := hist.Wait(ctx, j.LastSeq())
		if err != nil && runErr == nil {
			runErr = err
		}
	}
	bar.stop()
	if err := stopHistory(); err != nil && runErr == nil {
		runErr = fmt.Errorf("event history: %w", err)
	}
	return finishImport(sum, runErr, icfg.Verify, stdout)
}

func finishImport(sum *importer.Summary, runErr error, verify importer.VerifyMode, stdout io.Writer) error {
	if sum != nil {
		sum.Write(stdout, verify)
	}
	if runErr != nil {
		if errors.Is(runErr, context.Canceled) {
			return fmt.Errorf("interrupted; what was imported is kept, and running the same command again continues")
		}
		return fmt.Errorf("%w (what was imported is kept; running the same command again continues)", runErr)
	}
	if !sum.OK() || sum.DigestsUnverified > 0 && verify != importer.VerifyOff {
		return exitCode(1)
	}
	return nil
}

// importToServer imports through a running cairn's ingest endpoint; the ledger lives in a
// local state file, keyed by the endpoint.
func importToServer(ctx context.Context, cfg importConfig, icfg importer.Config, sources []importer.Source, stdout, stderr io.Writer) error {
	endpoint := cfg.to
	if endpoint == "server" {
		endpoint = ""
	}
	client, err := ingest.ClientFromEnv(endpoint)
	if err != nil {
		return err
	}
	state := cfg.state
	if state == "" {
		dir, err := stateDir()
		if err != nil {
			return fmt.Errorf("find a place for the import state (give --state): %w", err)
		}
		state = filepath.Join(dir, "cairn", "imports.sqlite")
	}
	if err := os.MkdirAll(filepath.Dir(state), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(state), err)
	}
	db, err := meta.Open(ctx, state)
	if err != nil {
		return err
	}
	defer db.Close()
	icfg.Sink = &importer.ServerSink{Client: client}
	icfg.Ledger = importer.NewLedger(db, strings.TrimSuffix(client.Endpoint, "/"))
	im, err := importer.New(icfg)
	if err != nil {
		return err
	}
	bar := newProgressBar(stderr, cfg.quiet, im.Progress)
	sum, runErr := im.Run(ctx, sources)
	bar.stop()
	return finishImport(sum, runErr, icfg.Verify, stdout)
}

// stateDir is $XDG_STATE_HOME, else ~/.local/state.
func stateDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return d, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".local", "state"), nil
}

// listFlag collects repeatable, comma-separated values.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

// progressBar draws an import's progress on stderr when it is a terminal.
type progressBar struct {
	w     io.Writer
	get   func() importer.Progress
	start time.Time
	stopc chan struct{}
	done  chan struct{}
	mu    sync.Mutex
	label string
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func newProgressBar(w io.Writer, quiet bool, get func() importer.Progress) *progressBar {
	b := &progressBar{w: w, get: get, start: time.Now(), stopc: make(chan struct{}), done: make(chan struct{})}
	if quiet || !isTerminal(w) {
		close(b.done)
		return b
	}
	go func() {
		defer close(b.done)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-b.stopc:
				fmt.Fprint(b.w, "\r\033[K")
				return
			case <-t.C:
				b.draw()
			}
		}
	}()
	return b
}

func (b *progressBar) phase(label string) {
	b.mu.Lock()
	b.label = label
	b.mu.Unlock()
}

func (b *progressBar) draw() {
	p := b.get()
	secs := max(time.Since(b.start).Seconds(), 1e-3)
	files := fmt.Sprintf("%d", p.FilesDone)
	if p.Listed {
		files += fmt.Sprintf("/%d", p.FilesListed)
	} else {
		files += fmt.Sprintf("/%d+", p.FilesListed)
	}
	bar := ""
	if p.Listed && p.BytesListed > 0 {
		const width = 20
		n := int(float64(width) * float64(p.BytesRead) / float64(p.BytesListed))
		n = min(max(n, 0), width)
		bar = "[" + strings.Repeat("=", n) + strings.Repeat(" ", width-n) + "] "
	}
	b.mu.Lock()
	label := b.label
	b.mu.Unlock()
	if label != "" {
		label = " · " + label + "…"
	}
	fmt.Fprintf(b.w, "\r\033[K%sfiles %s · events %d (%.0f/s) · %.1f MB/s%s", bar, files, p.Records,
		float64(p.Records)/secs, float64(p.BytesRead)/1e6/secs, label)
}

func (b *progressBar) stop() {
	select {
	case <-b.done:
	default:
		close(b.stopc)
		<-b.done
	}
}
