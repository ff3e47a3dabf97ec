package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/klauspost/compress/gzip"

	"github.com/cairn-dev/cairn/internal/api/ingest"
	"github.com/cairn-dev/cairn/internal/event"
	"github.com/cairn-dev/cairn/internal/gen"
)

// The benchmark server's fixed identity.
const (
	benchAccount = "123456789012"
	benchKey     = "AKIABENCHMARKEXAMPLE"
	benchSecret  = "benchmark/secret/key/0000000000000000000"
	benchRegion  = "us-east-1"
	// benchPassword is the root user's console password.
	benchPassword = "benchmark-console-password"
)

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "Usage: cairn bench <ingest|lookup|import|export|alarm|sns|logs|signin|console|lake> [flags]\n\n  ingest   durable ingest rate, accepted→visible latency, peak RSS\n  lookup   LookupEvents latency over a history of --events events\n  import   cairn import of a generated month of CloudTrail files, beside the jq pipeline\n  export   cairn export to TSV, beside the jq pipeline\n  alarm    PutMetricData → alarm state change latency, PutMetricData throughput\n  sns      Publish accepted → HTTP endpoint received latency\n  logs     PutLogEvents throughput, FilterLogEvents scan rate, trail → log group latency\n  signin   scenario 3: second failed sign-in accepted → alarm notification received\n  console  console page load times over a history of --events events\n  lake     Lake SQL latency against DuckDB read_json over the same log files")
		return errUsage
	}
	switch args[0] {
	case "ingest":
		return benchIngest(ctx, args[1:], stdout, stderr)
	case "lookup":
		return benchLookup(ctx, args[1:], stdout, stderr)
	case "import":
		return benchImport(ctx, args[1:], stdout, stderr)
	case "export":
		return benchExport(ctx, args[1:], stdout, stderr)
	case "alarm":
		return benchAlarm(ctx, args[1:], stdout, stderr)
	case "sns":
		return benchSNS(ctx, args[1:], stdout, stderr)
	case "logs":
		return benchLogs(ctx, args[1:], stdout, stderr)
	case "signin":
		return benchSignin(ctx, args[1:], stdout, stderr)
	case "console":
		return benchConsole(ctx, args[1:], stdout, stderr)
	case "lake":
		return benchLake(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "cairn bench: unknown benchmark %q (want ingest, lookup, import, export, alarm, sns, logs, signin, console or lake)\n", args[0])
	return errUsage
}

type benchFlags struct {
	events     int
	clients    int
	batch      int
	data       string
	seed       int64
	plain      bool
	serverLog  string
	serveFlags []string
}

func (b *benchFlags) register(fs *flag.FlagSet, events int) {
	fs.IntVar(&b.events, "events", events, "events to ingest")
	fs.IntVar(&b.clients, "clients", 4, "concurrent ingest connections")
	fs.IntVar(&b.batch, "batch", 1000, "events per ingest request")
	fs.StringVar(&b.data, "data", "", "data directory (default: a temporary one, removed afterwards)")
	fs.Int64Var(&b.seed, "seed", 1, "generator seed")
	fs.BoolVar(&b.plain, "plain", false, "send uncompressed NDJSON instead of gzip")
	fs.StringVar(&b.serverLog, "server-log", "", "also write the server's log to this file")
	fs.Func("serve-flag", "extra flag for the cairn serve under test (repeatable), e.g. --serve-flag=--pprof", func(v string) error {
		b.serveFlags = append(b.serveFlags, v)
		return nil
	})
}

func (b *benchFlags) check() error {
	if b.events < 1 || b.clients < 1 || b.batch < 1 || b.batch > 100_000 {
		return fmt.Errorf("--events, --clients and --batch must be positive (batch at most 100000)")
	}
	return nil
}

// benchServer is a cairn serve child process.
type benchServer struct {
	cmd      *exec.Cmd
	endpoint string
	data     string
	temp     bool
	done     chan error
	logs     bytes.Buffer
}

func startBenchServer(data, logFile string, extra ...string) (*benchServer, error) {
	s := &benchServer{data: data}
	if data == "" {
		d, err := os.MkdirTemp("", "cairn-bench-")
		if err != nil {
			return nil, err
		}
		s.data, s.temp = d, true
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	s.cmd = exec.Command(self, append([]string{"serve", "--data", s.data, "--listen", addr}, extra...)...)
	s.cmd.Env = append(os.Environ(), "CAIRN_ACCOUNT_ID="+benchAccount, "CAIRN_ROOT_ACCESS_KEY_ID="+benchKey, "CAIRN_ROOT_SECRET_ACCESS_KEY="+benchSecret,
		"CAIRN_ROOT_PASSWORD="+benchPassword)
	var out io.Writer = &s.logs
	if logFile != "" {
		f, err := os.Create(logFile)
		if err != nil {
			return nil, err
		}
		out = io.MultiWriter(&s.logs, f)
	}
	s.cmd.Stdout, s.cmd.Stderr = out, out
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	s.done = make(chan error, 1)
	go func() { s.done <- s.cmd.Wait() }()
	s.endpoint = "http://" + addr
	for deadline := time.Now().Add(60 * time.Second); ; {
		if resp, err := http.Get(s.endpoint + "/healthz"); err == nil {
			resp.Body.Close()
			return s, nil
		}
		select {
		case err := <-s.done:
			return nil, fmt.Errorf("cairn serve exited: %v\n%s", err, s.logs.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("cairn serve did not start in 60s")
		}
	}
}

// peakRSS is the server's high-water resident set (VmHWM), in bytes.
func (s *benchServer) peakRSS() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// tail returns the server's last n log lines, for failure reports.
func (s *benchServer) tail(n int) string {
	lines := strings.Split(strings.TrimRight(s.logs.String(), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func (s *benchServer) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(60 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	if s.temp {
		os.RemoveAll(s.data)
	}
}

type lookupAttr struct{ AttributeKey, AttributeValue string }

type lookupInput struct {
	LookupAttributes   []lookupAttr `json:",omitempty"`
	StartTime, EndTime int64        `json:",omitempty"`
}

// lookup sends one signed LookupEvents request and returns how many events came back. It
// speaks HTTP directly: aws-sdk-go-v2 occasionally closes a connection while reading a large
// response and retries after a back-off (aws/aws-sdk-go-v2#2737), which would time the client.
func (s *benchServer) lookup(ctx context.Context, hc *http.Client, region string, in lookupInput) (int, error) {
	body, _ := json.Marshal(in)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "CloudTrail_20131101.LookupEvents")
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: benchKey, SecretAccessKey: benchSecret}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "cloudtrail", region, time.Now()); err != nil {
		return 0, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != 200 {
		return 0, fmt.Errorf("LookupEvents: HTTP %d: %s", resp.StatusCode, data)
	}
	var out struct{ Events []json.RawMessage }
	if err := json.Unmarshal(data, &out); err != nil {
		return 0, fmt.Errorf("LookupEvents: decode response: %w", err)
	}
	return len(out.Events), nil
}

// body is one pre-encoded ingest request.
type body struct {
	data   []byte
	hash   string
	events int
	gzip   bool
}

// sample keeps values of generated events that lookups can search for.
type sample struct {
	eventIDs, usernames, resources []string
	start, end                     time.Time
}

// encodeEvents generates n events spread over [start, end) and gzips them into request bodies,
// so the timed phase measures the server, not the generator.
func encodeEvents(n, batch int, seed int64, plain bool, start, end time.Time) ([]body, *sample, error) {
	smp := &sample{start: start, end: end}
	bodies, err := encodeRange(newBenchGen(seed), n, batch, plain, start, end, smp)
	return bodies, smp, err
}

func newBenchGen(seed int64) *gen.Generator {
	return gen.New(gen.Config{Seed: seed, Accounts: []string{benchAccount, "210987654321", "333344445555"}, Regions: []string{benchRegion, "eu-west-1", "ap-northeast-1"}})
}

// encodeRange generates n events spread over [start, end) with g, adding samples to smp.
func encodeRange(g *gen.Generator, n, batch int, plain bool, start, end time.Time, smp *sample) ([]body, error) {
	rng := rand.New(rand.NewPCG(uint64(start.UnixNano()), 7))
	var bodies []body
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	var w io.Writer = zw
	if plain {
		w = &buf
	}
	count := 0
	flush := func() {
		if !plain {
			zw.Close()
		}
		data := append([]byte(nil), buf.Bytes()...)
		sum := sha256.Sum256(data)
		bodies = append(bodies, body{data: data, hash: hex.EncodeToString(sum[:]), events: count, gzip: !plain})
		buf.Reset()
		zw.Reset(&buf)
		count = 0
	}
	err := g.Spread(n, start, end, func(raw []byte) error {
		w.Write(raw)
		w.Write([]byte{'\n'})
		count++
		if rng.IntN(2000) == 0 {
			if r, err := event.Parse(raw); err == nil && r.RecipientAccountID == benchAccount && r.AWSRegion == benchRegion && r.Category() == event.CategoryManagement {
				// Clone: the record's strings are views into raw, which the generator reuses.
				smp.eventIDs = append(smp.eventIDs, strings.Clone(r.EventID))
				if u := r.Username(); u != "" {
					smp.usernames = append(smp.usernames, strings.Clone(u))
				}
				for _, res := range r.LookupResources() {
					smp.resources = append(smp.resources, strings.Clone(res.Name))
				}
			}
		}
		if count == batch {
			flush()
		}
		return nil
	})
	if count > 0 {
		flush()
	}
	return bodies, err
}

// post sends a pre-encoded body, signed as the ingest endpoint expects.
func post(ctx context.Context, hc *http.Client, endpoint string, b body) (*ingest.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+ingest.Path, bytes.NewReader(b.data))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", ingest.ContentTypeNDJSON)
	if b.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	req.Header.Set("X-Amz-Content-Sha256", b.hash)
	creds := aws.Credentials{AccessKeyID: benchKey, SecretAccessKey: benchSecret}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, b.hash, ingest.SigningName, benchRegion, time.Now()); err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("ingest: HTTP %d: %s", resp.StatusCode, data)
	}
	var out ingest.Response
	return &out, json.Unmarshal(data, &out)
}

// load sends bodies over clients connections and returns how long until all were acknowledged.
func load(ctx context.Context, endpoint string, bodies []body, clients int, progress func(done int)) (time.Duration, int, error) {
	work := make(chan body)
	var recorded atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}}
			for b := range work {
				resp, err := post(ctx, hc, endpoint, b)
				if err != nil {
					once.Do(func() { firstErr = err })
					continue
				}
				if resp.Rejected > 0 {
					for _, r := range resp.Results {
						if r.Status == ingest.StatusRejected {
							once.Do(func() { firstErr = fmt.Errorf("cairn rejected a generated event: %s", r.Reason) })
							break
						}
					}
				}
				n := recorded.Add(int64(resp.Recorded + resp.Duplicates))
				if progress != nil {
					progress(int(n))
				}
			}
		}()
	}
	for _, b := range bodies {
		select {
		case work <- b:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	return time.Since(start), int(recorded.Load()), firstErr
}

// probe measures accepted → visible: it records one marker event at a time and polls
// LookupEvents until the marker appears.
type probe struct {
	lat  []time.Duration
	mu   sync.Mutex
	seq  int
	stop chan struct{}
	done chan struct{}
}

func startProbe(ctx context.Context, s *benchServer, every time.Duration) *probe {
	p := &probe{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		hc := &http.Client{}
		for {
			select {
			case <-p.stop:
				return
			case <-time.After(every):
			}
			if d, err := p.once(ctx, hc, s); err == nil {
				p.mu.Lock()
				p.lat = append(p.lat, d)
				p.mu.Unlock()
			}
		}
	}()
	return p
}

func (p *probe) once(ctx context.Context, hc *http.Client, s *benchServer) (time.Duration, error) {
	p.seq++
	id := fmt.Sprintf("probe-%d-%d", time.Now().UnixNano(), p.seq)
	at := time.Now().UTC().Truncate(time.Second)
	raw := fmt.Sprintf(`{"eventVersion":"1.11","eventSource":"bench.cairn.dev","eventName":"Probe","eventID":%q,"eventTime":%q,"awsRegion":"sa-east-1","recipientAccountId":%q,"readOnly":true,"eventCategory":"Management"}`,
		id, at.Format(time.RFC3339), benchAccount)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(raw))
	zw.Close()
	sum := sha256.Sum256(buf.Bytes())
	if _, err := post(ctx, hc, s.endpoint, body{data: buf.Bytes(), hash: hex.EncodeToString(sum[:]), events: 1, gzip: true}); err != nil {
		return 0, err
	}
	accepted := time.Now()
	// As a user would ask: this event's ID within the minute around it.
	in := lookupInput{LookupAttributes: []lookupAttr{{"EventId", id}}, StartTime: at.Add(-30 * time.Second).Unix(), EndTime: at.Add(30 * time.Second).Unix()}
	for time.Since(accepted) < 30*time.Second {
		if n, err := s.lookup(ctx, hc, "sa-east-1", in); err == nil && n == 1 {
			return time.Since(accepted), nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0, errors.New("probe event not visible after 30s")
}

func (p *probe) finish() []time.Duration {
	close(p.stop)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lat
}

func percentile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

func machine() string {
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "model name") {
				model = strings.TrimSpace(strings.SplitN(line, ":", 2)[1])
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d CPUs, %s/%s", model, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
}

func benchIngest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var bf benchFlags
	fs := flag.NewFlagSet("bench ingest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bf.register(fs, 1_000_000)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := bf.check(); err != nil {
		return err
	}
	now := time.Now().UTC()
	fmt.Fprintf(stderr, "generating %d events in batches of %d…\n", bf.events, bf.batch)
	t0 := time.Now()
	bodies, _, err := encodeEvents(bf.events, bf.batch, bf.seed, bf.plain, now.Add(-30*24*time.Hour), now)
	if err != nil {
		return err
	}
	var size int64
	for _, b := range bodies {
		size += int64(len(b.data))
	}
	fmt.Fprintf(stderr, "generated in %v (%d MB of request bodies); starting cairn serve…\n", time.Since(t0).Round(time.Millisecond), size>>20)
	s, err := startBenchServer(bf.data, bf.serverLog, bf.serveFlags...)
	if err != nil {
		return err
	}
	defer s.stop()
	fmt.Fprintf(stderr, "cairn serve on %s\n", s.endpoint)

	p := startProbe(ctx, s, 250*time.Millisecond)
	took, recorded, err := load(ctx, s.endpoint, bodies, bf.clients, nil)
	if err != nil {
		return err
	}
	// Everything acknowledged is visible once a marker sent after it is.
	hc := &http.Client{}
	tail, err := p.once(ctx, hc, s)
	if err != nil {
		return fmt.Errorf("%w\nlast lines of the server's log:\n%s", err, s.tail(30))
	}
	visibleAll := took + tail
	lat := p.finish()
	rss := s.peakRSS()

	fmt.Fprintf(stdout, "cairn bench ingest — %s — %s\n", time.Now().UTC().Format("2006-01-02"), machine())
	encoding := "gzip NDJSON"
	if bf.plain {
		encoding = "plain NDJSON"
	}
	fmt.Fprintf(stdout, "  events                      %d in %d requests of %d (%s), %d connections\n", recorded, len(bodies), bf.batch, encoding, bf.clients)
	fmt.Fprintf(stdout, "  durable ingest              %.0f events/s (%v until the last acknowledgement)\n", float64(recorded)/took.Seconds(), took.Round(time.Millisecond))
	fmt.Fprintf(stdout, "  ingest + history indexing   %.0f events/s (%v until the last event is visible in LookupEvents)\n", float64(recorded)/visibleAll.Seconds(), visibleAll.Round(time.Millisecond))
	fmt.Fprintf(stdout, "  accepted → visible          p50 %v, p99 %v, max %v (%d probes during ingest)\n",
		percentile(lat, .5).Round(time.Millisecond), percentile(lat, .99).Round(time.Millisecond), percentile(lat, 1).Round(time.Millisecond), len(lat))
	fmt.Fprintf(stdout, "  peak RSS of cairn serve     %d MiB\n", rss>>20)
	return nil
}

func benchLookup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var bf benchFlags
	var queries int
	fs := flag.NewFlagSet("bench lookup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bf.register(fs, 1_000_000)
	fs.IntVar(&queries, "queries", 200, "lookups per query kind")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := bf.check(); err != nil {
		return err
	}
	now := time.Now().UTC()
	s, err := startBenchServer(bf.data, bf.serverLog, bf.serveFlags...)
	if err != nil {
		return err
	}
	defer s.stop()
	smp, recorded, err := fillHistory(ctx, &bf, s, now, stderr)
	if err != nil {
		return err
	}

	rng := rand.New(rand.NewPCG(uint64(bf.seed), 11))
	pick := func(list []string) string {
		if len(list) == 0 {
			return "none"
		}
		return list[rng.IntN(len(list))]
	}
	type input = lookupInput
	one := func(k, v string) input { return input{LookupAttributes: []lookupAttr{{k, v}}} }
	kinds := []struct {
		name string
		in   func() input
	}{
		{"no attribute (newest 50)", func() input { return input{} }},
		{"EventName, common (ConsoleLogin)", func() input { return one("EventName", "ConsoleLogin") }},
		{"EventName, rare (DeleteTable)", func() input { return one("EventName", "DeleteTable") }},
		{"EventName + 1-day window", func() input {
			in := one("EventName", "DescribeInstances")
			day := smp.start.Add(time.Duration(rng.IntN(88)) * 24 * time.Hour)
			in.StartTime, in.EndTime = day.Unix(), day.Add(24*time.Hour).Unix()
			return in
		}},
		{"EventId", func() input { return one("EventId", pick(smp.eventIDs)) }},
		{"Username", func() input { return one("Username", pick(smp.usernames)) }},
		{"ResourceName", func() input { return one("ResourceName", pick(smp.resources)) }},
		{"ReadOnly=false", func() input { return one("ReadOnly", "false") }},
	}
	fmt.Fprintf(stdout, "cairn bench lookup — %s — %s\n", time.Now().UTC().Format("2006-01-02"), machine())
	fmt.Fprintf(stdout, "  history: %d events over 89 days, 3 accounts × 3 regions; one SigV4-signed LookupEvents request at a time over HTTP\n", recorded)
	hc := &http.Client{}
	lookup := func(in lookupInput) (int, error) { return s.lookup(ctx, hc, benchRegion, in) }
	for i := 0; i < 20; i++ { // warm up the connection and DuckDB's caches
		lookup(lookupInput{})
	}
	var all []time.Duration
	for _, k := range kinds {
		var lat []time.Duration
		found := 0
		for i := 0; i < queries; i++ {
			t := time.Now()
			n, err := lookup(k.in())
			if err != nil {
				return fmt.Errorf("%s: %w", k.name, err)
			}
			lat = append(lat, time.Since(t))
			found += n
		}
		all = append(all, lat...)
		fmt.Fprintf(stdout, "  %-34s p50 %7s  p99 %7s  max %7s  (%.1f events per answer)\n", k.name,
			ms(percentile(lat, .5)), ms(percentile(lat, .99)), ms(percentile(lat, 1)), float64(found)/float64(queries))
	}
	fmt.Fprintf(stdout, "  %-34s p50 %7s  p99 %7s  max %7s\n", "all kinds", ms(percentile(all, .5)), ms(percentile(all, .99)), ms(percentile(all, 1)))
	if bf.data != "" {
		fmt.Fprintf(stdout, "  data kept in %s\n", filepath.Clean(bf.data))
	}
	return nil
}

// fillHistory sends bf.events generated events spread over the 89 days before now, in rounds and
// in time order so memory stays bounded at any size, then waits for history to move them into
// DuckDB, so what follows measures DuckDB, not only memory.
func fillHistory(ctx context.Context, bf *benchFlags, s *benchServer, now time.Time, stderr io.Writer) (*sample, int, error) {
	const round = 500_000
	start, end := now.Add(-89*24*time.Hour), now
	smp := &sample{start: start, end: end}
	g := newBenchGen(bf.seed)
	var took time.Duration
	recorded := 0
	for done := 0; done < bf.events; done += round {
		n := min(round, bf.events-done)
		from := start.Add(time.Duration(float64(end.Sub(start)) * float64(done) / float64(bf.events)))
		to := start.Add(time.Duration(float64(end.Sub(start)) * float64(done+n) / float64(bf.events)))
		bodies, err := encodeRange(g, n, bf.batch, bf.plain, from, to, smp)
		if err != nil {
			return nil, 0, err
		}
		d, r, err := load(ctx, s.endpoint, bodies, bf.clients, nil)
		if err != nil {
			return nil, 0, err
		}
		took += d
		recorded += r
		fmt.Fprintf(stderr, "  loaded %d of %d events\n", recorded, bf.events)
	}
	p := &probe{}
	if _, err := p.once(ctx, &http.Client{}, s); err != nil {
		return nil, 0, fmt.Errorf("%w\nlast lines of the server's log:\n%s", err, s.tail(30))
	}
	fmt.Fprintf(stderr, "loaded %d events in %v; waiting for history to move them into DuckDB…\n", recorded, took.Round(time.Second))
	time.Sleep(12 * time.Second) // the default flush interval
	// The load phase left hundreds of MB of request bodies to collect; do it now, not during
	// the timed requests.
	runtime.GC()
	debug.FreeOSMemory()
	return smp, recorded, nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }
