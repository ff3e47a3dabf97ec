package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/cairn-dev/cairn/internal/api"
	"github.com/cairn-dev/cairn/internal/console"
	"github.com/cairn-dev/cairn/internal/duck"
	"github.com/cairn-dev/cairn/internal/gen"
	"github.com/cairn-dev/cairn/internal/history"
	"github.com/cairn-dev/cairn/internal/iam"
	"github.com/cairn-dev/cairn/internal/journal"
	"github.com/cairn-dev/cairn/internal/lake"
	"github.com/cairn-dev/cairn/internal/logs"
	"github.com/cairn-dev/cairn/internal/meta"
	"github.com/cairn-dev/cairn/internal/metrics"
	"github.com/cairn-dev/cairn/internal/objstore"
	"github.com/cairn-dev/cairn/internal/recorder"
	"github.com/cairn-dev/cairn/internal/trail"
)

type serveConfig struct {
	data             string
	listen           string
	region           string
	demo             bool
	demoRate         float64
	historyRetention time.Duration
	historyFlush     time.Duration
	replayWindow     time.Duration
	duckMemory       string
	lakeMemory       string
	lakeTimeout      time.Duration
	lakeWorkers      int
	logLevel         string
	logFormat        string
	pprof            bool

	// Trails (issue 4).
	objectStore      string // local or s3
	deliveryInterval time.Duration
	digestInterval   time.Duration
	createBuckets    bool
	maxTrails        int
	lifecycle        []objstore.Rule
	metricRetention  time.Duration

	notify notifyFlags // SNS (issue 7)
}

func (c *serveConfig) validate() error {
	var problems []string
	if c.data == "" {
		problems = append(problems, "--data must name a directory")
	}
	if _, _, err := net.SplitHostPort(c.listen); err != nil {
		problems = append(problems, fmt.Sprintf("--listen %q: want host:port, e.g. 127.0.0.1:7700", c.listen))
	}
	if !validRegion(c.region) {
		problems = append(problems, fmt.Sprintf("--region %q: want a region name such as us-east-1", c.region))
	}
	if c.historyRetention < time.Hour {
		problems = append(problems, fmt.Sprintf("--history-retention %v: must be at least 1h", c.historyRetention))
	}
	if c.historyFlush <= 0 || c.historyFlush > time.Hour {
		problems = append(problems, fmt.Sprintf("--history-flush-interval %v: must be between 0 and 1h", c.historyFlush))
	}
	if c.lakeTimeout < time.Second || c.lakeTimeout > 24*time.Hour {
		problems = append(problems, fmt.Sprintf("--lake-query-timeout %v: must be between 1s and 24h", c.lakeTimeout))
	}
	if c.lakeWorkers < 1 || c.lakeWorkers > 64 {
		problems = append(problems, fmt.Sprintf("--lake-query-workers %d: must be between 1 and 64", c.lakeWorkers))
	}
	if c.demoRate <= 0 || c.demoRate > 100_000 {
		problems = append(problems, fmt.Sprintf("--demo-rate %v: must be between 0 and 100000 events/s", c.demoRate))
	}
	if _, err := parseLevel(c.logLevel); err != nil {
		problems = append(problems, err.Error())
	}
	if c.logFormat != "text" && c.logFormat != "json" {
		problems = append(problems, fmt.Sprintf("--log-format %q: want text or json", c.logFormat))
	}
	if c.metricRetention < time.Hour {
		problems = append(problems, fmt.Sprintf("--metric-retention %v: must be at least 1h", c.metricRetention))
	}
	problems = append(problems, c.validateTrails()...)
	problems = append(problems, c.validateNotify()...)
	if len(problems) > 0 {
		return fmt.Errorf("invalid configuration:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}

func validRegion(r string) bool {
	parts := strings.Split(r, "-")
	if len(parts) < 3 {
		return false
	}
	for _, c := range r {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := serveConfig{historyRetention: 90 * 24 * time.Hour, historyFlush: 10 * time.Second, replayWindow: 7 * 24 * time.Hour,
		metricRetention: 15 * 24 * time.Hour, lakeTimeout: 10 * time.Minute}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.data, "data", "./cairn-data", "data directory")
	fs.StringVar(&cfg.listen, "listen", "127.0.0.1:7700", "address to serve on")
	fs.StringVar(&cfg.region, "region", "us-east-1", "default region, written to admin.env")
	fs.BoolVar(&cfg.demo, "demo", false, "generate realistic demo traffic in the background")
	fs.Float64Var(&cfg.demoRate, "demo-rate", 5, "demo events per second")
	fs.Var(durationFlag{&cfg.historyRetention}, "history-retention", "how long event history keeps events, from when they were recorded")
	fs.Var(durationFlag{&cfg.historyFlush}, "history-flush-interval", "how often history moves recent events into DuckDB")
	fs.Var(durationFlag{&cfg.replayWindow}, "journal-replay-window", "how long the journal keeps events after every reader has applied them")
	fs.StringVar(&cfg.duckMemory, "duckdb-memory-limit", "256MB", "DuckDB memory limit of event history (DuckDB memory is outside the Go heap)")
	fs.StringVar(&cfg.lakeMemory, "lake-memory-limit", "256MB", "DuckDB memory limit of the Lake (event data stores), shared by its queries; they spill to disk beyond it")
	fs.Var(durationFlag{&cfg.lakeTimeout}, "lake-query-timeout", "how long a Lake query may run before it is TIMED_OUT")
	fs.IntVar(&cfg.lakeWorkers, "lake-query-workers", runtime.GOMAXPROCS(0), "Lake queries run at once; more wait QUEUED (up to 10 per account)")
	fs.StringVar(&cfg.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&cfg.logFormat, "log-format", "text", "log format: text or json")
	fs.BoolVar(&cfg.pprof, "pprof", false, "serve Go profiles at /debug/pprof/ (unauthenticated; for diagnosis only)")
	fs.Var(durationFlag{&cfg.metricRetention}, "metric-retention", "how long CloudWatch metric datapoints (1-minute resolution) are kept")
	cfg.registerTrailFlags(fs)
	cfg.registerNotifyFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: cairn serve [flags]\n\nRuns cairn. The first start creates an account and an admin access key and prints the\nexports the aws CLI needs; they are also written to <data>/admin.env.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg.demoIntervals(fs)
	if err := cfg.validate(); err != nil {
		return err
	}
	level, _ := parseLevel(cfg.logLevel)
	var handler slog.Handler = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})
	if cfg.logFormat == "json" {
		handler = slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})
	}
	log := slog.New(handler)
	return serve(ctx, cfg, log, stdout)
}

func serve(ctx context.Context, cfg serveConfig, log *slog.Logger, stdout io.Writer) error {
	tuneGC()
	if err := os.MkdirAll(cfg.data, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	metaDB, err := meta.Open(ctx, filepath.Join(cfg.data, "meta.sqlite"))
	if err != nil {
		return err
	}
	defer metaDB.Close()
	accounts, err := iam.NewStore(metaDB, filepath.Join(cfg.data, "keys"))
	if err != nil {
		return err
	}
	admin, err := accounts.Bootstrap(ctx, iam.BootstrapConfig{
		AccountID:       os.Getenv("CAIRN_ACCOUNT_ID"),
		AccessKeyID:     os.Getenv("CAIRN_ROOT_ACCESS_KEY_ID"),
		SecretAccessKey: os.Getenv("CAIRN_ROOT_SECRET_ACCESS_KEY"),
		ConsolePassword: os.Getenv("CAIRN_ROOT_PASSWORD"),
	})
	if err != nil {
		return err
	}
	all, err := accounts.Accounts(ctx)
	if err != nil {
		return err
	}
	operator := all[0].ID
	for _, a := range all {
		if a.Operator {
			operator = a.ID
			break
		}
	}

	j, err := journal.Open(filepath.Join(cfg.data, "journal"), journal.Options{Logger: log})
	if err != nil {
		return err
	}
	defer j.Close()
	db, err := duck.Open(filepath.Join(cfg.data, "cairn.duckdb"), duck.Options{MemoryLimit: cfg.duckMemory})
	if err != nil {
		return err
	}
	defer db.Close()
	hist, err := history.Open(ctx, db, j, history.Options{Retention: cfg.historyRetention, FlushInterval: cfg.historyFlush, Logger: log})
	if err != nil {
		return err
	}
	rec := recorder.New(j, recorder.Options{Logger: log})
	if err := rec.Load(ctx); err != nil {
		return err
	}
	auditor := recorder.NewAuditor(rec)
	lk, err := openLake(ctx, cfg, metaDB, j, rec, log)
	if err != nil {
		return err
	}
	defer lk.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cairn_journal_last_sequence", Help: "Sequence number of the newest durable journal record."},
		func() float64 { return float64(j.LastSeq()) }))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cairn_history_applied_sequence", Help: "Newest journal record visible to LookupEvents."},
		func() float64 { return float64(hist.Applied()) }))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cairn_lake_applied_sequence", Help: "Newest journal record the event data stores hold."},
		func() float64 { return float64(lk.Applied()) }))
	tr, err := openTrails(ctx, cfg, metaDB, j, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.listen, err)
	}
	sns, err := openNotify(cfg, metaDB, ln.Addr().String(), reg, log)
	if err != nil {
		ln.Close()
		return err
	}
	metricStore, err := metrics.Open(ctx, metaDB, metrics.Options{Retention: cfg.metricRetention, Logger: log, Publisher: sns})
	if err != nil {
		ln.Close()
		return err
	}
	// CloudWatch Logs: metric filters publish their data to the metric store.
	logStore := logs.NewStore(metaDB, logs.Options{Logger: log, Sink: metricStore})
	srv := api.New(api.Config{Accounts: accounts, Recorder: rec, Auditor: auditor, History: hist, Lake: lk, Operator: operator, Logger: log, Registry: reg,
		Trails: tr.store, Delivery: tr.delivery, Objects: tr.objects, Keys: tr.keys, CreateBuckets: cfg.createBuckets,
		Metrics: metricStore, Notify: sns, Logs: logStore, Organizations: accounts})
	con, err := console.New(console.Config{Accounts: accounts, Recorder: rec, Auditor: auditor, History: hist, Operator: operator,
		Region: cfg.region, Regions: uniq(cfg.region, "us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1"), Logger: log,
		Trails:    &trail.Manager{Store: tr.store, Delivery: tr.delivery, Objects: tr.objects, CreateBuckets: cfg.createBuckets, LogGroups: logStore, Logger: log},
		Lake:      lk,
		LogGroups: logStore, Metrics: metricStore, Notify: sns})
	if err != nil {
		ln.Close()
		return err
	}
	endpoint := "http://" + ln.Addr().String()
	if err := announce(stdout, cfg, admin, operator, endpoint); err != nil {
		ln.Close()
		return err
	}

	// Background work stops when runCtx ends; the server stops first so no call is lost.
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	// The first component to fail stops cairn; later failures are only logged, never blocked on.
	errc := make(chan error, 1)
	goRun := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(runCtx); err != nil {
				err = fmt.Errorf("%s: %w", name, err)
				select {
				case errc <- err:
				default:
					log.Error("component failed", "err", err)
				}
			}
		}()
	}
	goRun("history", hist.Run)
	goRun("lake", lk.Run)
	goRun("trail delivery", tr.delivery.Run)
	goRun("trail → log group feed", logs.NewFeed(logStore, tr.store, j).Run)
	goRun("log retention", func(ctx context.Context) error { return logStore.Run(ctx, time.Minute) })
	goRun("alarms", metricStore.Run)
	goRun("sns delivery", sns.Run)
	if len(cfg.lifecycle) > 0 {
		goRun("object lifecycle", func(ctx context.Context) error { return runLifecycle(ctx, tr.objects, cfg.lifecycle, log) })
	}
	auditDone := make(chan struct{})
	go func() { auditor.Run(runCtx); close(auditDone) }()
	goRun("journal retention", func(ctx context.Context) error {
		return retainJournal(ctx, j, log, max(cfg.replayWindow, cfg.historyRetention))
	})
	demoCtx, stopDemo := context.WithCancel(runCtx)
	if cfg.demo {
		backfill := j.LastSeq() == 0
		goRun("demo", func(context.Context) error { return runDemo(demoCtx, rec, operator, cfg, backfill, log) })
	}

	// The console under /console/ (a browser's GET / goes there), the AWS API everywhere else.
	handler := con.Mount(srv)
	if cfg.pprof {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.Handle("/", handler)
		handler = mux
	}
	httpSrv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	served := make(chan error, 1)
	go func() { served <- httpSrv.Serve(ln) }()
	log.Info("cairn serving", "endpoint", endpoint, "data", cfg.data, "account", operator, "demo", cfg.demo, "objects", tr.objects.Describe())

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-served:
		runErr = fmt.Errorf("http server: %w", err)
	case runErr = <-errc:
		log.Error("component failed; shutting down", "err", runErr)
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	stopDemo()
	if err := httpSrv.Shutdown(shutCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("http shutdown", "err", err)
	}
	stopRun()
	<-auditDone
	wg.Wait()
	// The auditor recorded its last calls after history stopped following; they are in the
	// journal and history picks them up at the next start.
	if err := hist.Flush(shutCtx); err != nil {
		log.Warn("history flush at shutdown", "err", err)
	}
	return runErr
}

// openLake opens the event data stores (lake.duckdb) with the keyring of their KMS keys.
func openLake(ctx context.Context, cfg serveConfig, metaDB *sql.DB, j *journal.Journal, rec *recorder.Recorder, log *slog.Logger) (*lake.Lake, error) {
	keys, err := openKeyring(cfg.data)
	if err != nil {
		return nil, err
	}
	return lake.Open(ctx, lake.Config{
		Path: filepath.Join(cfg.data, "lake.duckdb"), Meta: metaDB, Journal: j, Keys: keys, Recorder: rec, MemoryLimit: cfg.lakeMemory,
		Options: lake.Options{QueryTimeout: cfg.lakeTimeout, QueryWorkers: cfg.lakeWorkers, Logger: log},
	})
}

// openKeyring opens the Lake's KMS keys, kept under keys/lake sealed with the master key.
func openKeyring(data string) (*lake.Keyring, error) {
	master, err := iam.MasterKey(filepath.Join(data, "keys"))
	if err != nil {
		return nil, err
	}
	return lake.OpenKeyring(filepath.Join(data, "keys", "lake"), master)
}

// tuneGC halves garbage collection work under sustained ingest (GOGC 200), while a soft memory
// limit keeps the heap to 400 MiB, leaving room for the two DuckDB databases (256 MB each by
// default) within the 1 GiB budget. Live heap is ~200 MB while the Lake catches up; GOGC 200
// alone would let the heap grow to three times that. GOGC and GOMEMLIMIT in the environment win.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(400 << 20)
	}
}

// announce prints how to reach cairn and, on the first start, writes admin.env.
func announce(w io.Writer, cfg serveConfig, admin *iam.Admin, operator, endpoint string) error {
	envPath := filepath.Join(cfg.data, "admin.env")
	if admin == nil {
		fmt.Fprintf(w, "cairn is serving on %s\nCredentials of the admin account are in %s (source it to use the aws CLI).\nConsole: %s%s (account %s; set a password with cairn passwd)\n",
			endpoint, envPath, endpoint, console.Prefix, operator)
		return nil
	}
	env := fmt.Sprintf("export AWS_ACCESS_KEY_ID=%s\nexport AWS_SECRET_ACCESS_KEY=%s\nexport AWS_ENDPOINT_URL=%s\nexport AWS_REGION=%s\nexport AWS_DEFAULT_REGION=%s\n"+
		"# Console: %s%s  account %s, user root, password below (change it with cairn passwd)\nexport CAIRN_CONSOLE_PASSWORD=%s\n",
		admin.AccessKeyID, admin.SecretAccessKey, endpoint, cfg.region, cfg.region, endpoint, console.Prefix, admin.AccountID, shellQuote(admin.ConsolePassword))
	if err := os.WriteFile(envPath, []byte(env), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", envPath, err)
	}
	fmt.Fprintf(w, "cairn is serving on %s\nCreated account %s with an admin access key. To use the aws CLI:\n\n%s\n(also written to %s)\n",
		endpoint, admin.AccountID, env, envPath)
	return nil
}

// retainJournal deletes journal segments every reader has applied and no reader still needs.
func retainJournal(ctx context.Context, j *journal.Journal, log *slog.Logger, keep time.Duration) error {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		if n, err := j.Retain(time.Now().Add(-keep)); err != nil {
			log.Warn("journal retention", "err", err)
		} else if n > 0 {
			log.Info("journal retention removed segments", "segments", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// runDemo records generated traffic: a day's backfill on an empty journal, then a live trickle.
func runDemo(ctx context.Context, rec *recorder.Recorder, operator string, cfg serveConfig, backfill bool, log *slog.Logger) error {
	g := gen.New(gen.Config{Seed: time.Now().UnixNano(), Accounts: []string{operator, "210987654321", "333344445555"},
		Regions: uniq(cfg.region, "us-east-1", "eu-west-1", "ap-northeast-1")})
	scope := recorder.Scope{AnyAccount: true}
	var batch [][]byte
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := rec.Record(ctx, scope, batch)
		batch = batch[:0]
		return err
	}
	if backfill {
		now := time.Now()
		err := g.Spread(5000, now.Add(-24*time.Hour), now, func(raw []byte) error {
			batch = append(batch, raw)
			if len(batch) == 500 {
				return flush()
			}
			return nil
		})
		if err == nil {
			err = flush()
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("demo backfill: %w", err)
		}
		log.Info("demo: recorded a day of backfill", "events", 5000)
	}
	log.Info("demo: generating live traffic", "rate", cfg.demoRate)
	tick := time.NewTicker(time.Duration(float64(time.Second) / cfg.demoRate))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case t := <-tick.C:
			if _, err := rec.Record(ctx, scope, [][]byte{g.Event(t)}); err != nil && ctx.Err() == nil {
				log.Warn("demo: record failed", "err", err)
			}
		}
	}
}

func uniq(ss ...string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
