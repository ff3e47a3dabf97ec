package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/klauspost/compress/gzip"

	"github.com/cairn-dev/cairn/internal/logfile"
)

// benchLake measures Lake queries over --events events in an event data store, side by side
// with the same questions asked by DuckDB's read_json of the equivalent CloudTrail log files.
func benchLake(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var bf benchFlags
	var runs int
	fs := flag.NewFlagSet("bench lake", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bf.register(fs, 1_000_000)
	fs.IntVar(&runs, "runs", 5, "times each query runs (the median and best are reported)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := bf.check(); err != nil {
		return err
	}
	if runs < 1 {
		return fmt.Errorf("--runs %d: must be at least 1", runs)
	}
	s, err := startBenchServer(bf.data, bf.serverLog, bf.serveFlags...)
	if err != nil {
		return err
	}
	defer s.stop()
	hc := &http.Client{}
	var created struct{ EventDataStoreArn string }
	// Management and data events, as generated (insights go to stores of their own).
	selectors := []map[string]any{
		{"Name": "management", "FieldSelectors": []map[string]any{{"Field": "eventCategory", "Equals": []string{"Management"}}}},
		{"Name": "data", "FieldSelectors": []map[string]any{{"Field": "eventCategory", "Equals": []string{"Data"}},
			{"Field": "resources.type", "Equals": []string{"AWS::S3::Object", "AWS::DynamoDB::Table", "AWS::Lambda::Function", "AWS::S3::Bucket", "AWS::KMS::Key"}}}},
	}
	if err := s.call(ctx, hc, "CreateEventDataStore", map[string]any{"Name": "bench", "RetentionPeriod": 3653, "AdvancedEventSelectors": selectors}, &created); err != nil {
		return err
	}
	store := created.EventDataStoreArn[strings.LastIndexByte(created.EventDataStoreArn, '/')+1:]

	files := filepath.Join(s.data, "bench-logfiles")
	if err := os.MkdirAll(files, 0o755); err != nil {
		return err
	}
	// Generate and send in rounds, in time order, writing the same events as CloudTrail log
	// files (one per ingest request) for read_json.
	now := time.Now().UTC()
	start, end := now.Add(-89*24*time.Hour), now
	const round = 500_000
	smp := &sample{start: start, end: end}
	g := newBenchGen(bf.seed)
	var took time.Duration
	recorded, nfiles := 0, 0
	var fileBytes int64
	for done := 0; done < bf.events; done += round {
		n := min(round, bf.events-done)
		from := start.Add(time.Duration(float64(end.Sub(start)) * float64(done) / float64(bf.events)))
		to := start.Add(time.Duration(float64(end.Sub(start)) * float64(done+n) / float64(bf.events)))
		bodies, err := encodeRange(g, n, bf.batch, bf.plain, from, to, smp)
		if err != nil {
			return err
		}
		for _, b := range bodies {
			size, err := writeLogFile(filepath.Join(files, fmt.Sprintf("%08d.json.gz", nfiles)), b)
			if err != nil {
				return err
			}
			nfiles++
			fileBytes += size
		}
		d, r, err := load(ctx, s.endpoint, bodies, bf.clients, nil)
		if err != nil {
			return err
		}
		took += d
		recorded += r
		fmt.Fprintf(stderr, "  loaded %d of %d events\n", recorded, bf.events)
	}
	fmt.Fprintf(stderr, "loaded %d events in %v; waiting for the event data store to hold them all…\n", recorded, took.Round(time.Second))
	waitStart := time.Now()
	last, err := s.metric(hc, "cairn_journal_last_sequence")
	if err != nil {
		return err
	}
	for {
		applied, err := s.metric(hc, "cairn_lake_applied_sequence")
		if err != nil {
			return err
		}
		if applied >= last {
			break
		}
		if time.Since(waitStart) > time.Hour {
			return fmt.Errorf("the Lake applied journal record %.0f an hour after ingest, want %.0f", applied, last)
		}
		time.Sleep(time.Second)
	}
	fmt.Fprintf(stderr, "the store holds them %v after the last acknowledgement\n", time.Since(waitStart).Round(time.Second))
	res, err := s.lakeQuery(ctx, hc, "SELECT count(*) FROM "+store)
	if err != nil {
		return err
	}
	inStore := res.rows[0][0]

	// A selective window: one hour, some two-thirds of the way through the data.
	from := start.Add(60 * 24 * time.Hour).Truncate(time.Hour)
	to := from.Add(time.Hour)
	ts := func(t time.Time) string { return t.Format("2006-01-02 15:04:05") }
	// read_json reads only the fields a query names, typed, as someone who knows the CloudTrail
	// schema would write it; other fields are skipped. It keeps what the store holds: the
	// bench account's management and data events (the files have every account's, and insights).
	records := `(SELECT * FROM (SELECT unnest(Records) AS r FROM read_json(?, columns={'Records': 'STRUCT(eventTime VARCHAR, eventName VARCHAR, ` +
		`eventCategory VARCHAR, recipientAccountId VARCHAR, sourceIPAddress VARCHAR, errorMessage VARCHAR, userIdentity STRUCT("type" VARCHAR, arn VARCHAR))[]'}, format='auto'))` +
		` WHERE r.recipientAccountId = '` + benchAccount + `' AND r.eventCategory IN ('Management', 'Data'))`
	queries := []struct{ name, lake, files string }{
		{"count by userIdentity.type",
			"SELECT userIdentity.type, count(*) FROM " + store + " GROUP BY 1",
			"SELECT r.userIdentity.type, count(*) FROM " + records + " GROUP BY 1"},
		{"1-hour window, ConsoleLogin rows",
			"SELECT eventTime, userIdentity.arn, sourceIPAddress, errorMessage FROM " + store + " WHERE eventTime >= '" + ts(from) + "' AND eventTime < '" + ts(to) + "' AND eventName = 'ConsoleLogin'",
			"SELECT r.eventTime, r.userIdentity.arn, r.sourceIPAddress, r.errorMessage FROM " + records +
				" WHERE CAST(r.eventTime AS TIMESTAMP) >= '" + ts(from) + "' AND CAST(r.eventTime AS TIMESTAMP) < '" + ts(to) + "' AND r.eventName = 'ConsoleLogin'"},
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return err
	}
	defer db.Close()
	// The same limits as the server's Lake: its memory limit and the machine's cores.
	if _, err := db.Exec("SET memory_limit = '256MB'"); err != nil {
		return err
	}
	glob := filepath.Join(files, "*.json.gz")

	fmt.Fprintf(stdout, "cairn bench lake — %s — %s\n", time.Now().UTC().Format("2006-01-02"), machine())
	fmt.Fprintf(stdout, "  %d events generated over 89 days (3 accounts), %s of them (the bench account's management and data events) in one event data store; all of them in %d CloudTrail log files (%.0f MB gzip)\n",
		recorded, inStore, nfiles, float64(fileBytes)/1e6)
	fmt.Fprintf(stdout, "  Lake: StartQuery → DescribeQuery FINISHED (wall, as a client sees it; polled every 5 ms); read_json: in-process DuckDB, %d runs each\n", runs)
	for _, q := range queries {
		var lake, eng, files []time.Duration
		var lakeRows, fileRows int
		var scanned int64
		for i := 0; i < runs; i++ {
			t := time.Now()
			res, err := s.lakeQuery(ctx, hc, q.lake)
			if err != nil {
				return fmt.Errorf("%s: %w", q.name, err)
			}
			lake = append(lake, time.Since(t))
			eng = append(eng, time.Duration(res.millis)*time.Millisecond)
			lakeRows, scanned = len(res.rows), res.bytes
		}
		for i := 0; i < min(runs, 3); i++ { // read_json is slow: at most 3 runs
			t := time.Now()
			rows, err := db.QueryContext(ctx, q.files, glob)
			if err != nil {
				return fmt.Errorf("%s with read_json: %w", q.name, err)
			}
			n := 0
			for rows.Next() {
				n++
			}
			err = rows.Err()
			rows.Close()
			if err != nil {
				return fmt.Errorf("%s with read_json: %w", q.name, err)
			}
			files = append(files, time.Since(t))
			fileRows = n
		}
		fmt.Fprintf(stdout, "  %-34s Lake median %8s best %8s (engine %s, %d rows, %.0f MB scanned)   read_json median %9s best %9s (%d rows)\n",
			q.name, ms(median(lake)), ms(slices.Min(lake)), ms(median(eng)), lakeRows, float64(scanned)/1e6, ms(median(files)), ms(slices.Min(files)), fileRows)
	}
	if bf.data != "" {
		fmt.Fprintf(stdout, "  data kept in %s\n", filepath.Clean(bf.data))
	}
	return nil
}

// metric reads one gauge of the server's /metrics.
func (s *benchServer) metric(hc *http.Client, name string) (float64, error) {
	resp, err := hc.Get(s.endpoint + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			var f float64
			_, err := fmt.Sscan(v, &f)
			return f, err
		}
	}
	return 0, fmt.Errorf("/metrics has no %s", name)
}

func median(d []time.Duration) time.Duration { return percentile(d, .5) }

// writeLogFile writes an ingest body's events as one CloudTrail log file ({"Records":[…]},
// gzip) and returns its size.
func writeLogFile(path string, b body) (int64, error) {
	var r io.Reader = bytes.NewReader(b.data)
	if b.gzip {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return 0, err
		}
		r = zr
	}
	var records [][]byte
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		records = append(records, append([]byte(nil), sc.Bytes()...))
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	var out bytes.Buffer
	if err := logfile.WriteGzip(&out, logfile.Marshal(records)); err != nil {
		return 0, err
	}
	return int64(out.Len()), os.WriteFile(path, out.Bytes(), 0o644)
}

// call sends one signed CloudTrail JSON 1.1 request and decodes the answer into out. Like
// lookup, it speaks HTTP directly so that no SDK retry is timed.
func (s *benchServer) call(ctx context.Context, hc *http.Client, op string, in, out any) error {
	body, _ := json.Marshal(in)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "CloudTrail_20131101."+op)
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: benchKey, SecretAccessKey: benchSecret}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "cloudtrail", benchRegion, time.Now()); err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: HTTP %d: %s", op, resp.StatusCode, data)
	}
	return json.Unmarshal(data, out)
}

type lakeResult struct {
	rows   [][]string
	millis int64 // ExecutionTimeInMillis
	bytes  int64 // BytesScanned
}

// lakeQuery runs a statement as a Lake client does: StartQuery, DescribeQuery until it ends,
// every page of GetQueryResults.
func (s *benchServer) lakeQuery(ctx context.Context, hc *http.Client, statement string) (*lakeResult, error) {
	var started struct{ QueryId string }
	if err := s.call(ctx, hc, "StartQuery", map[string]string{"QueryStatement": statement}, &started); err != nil {
		return nil, err
	}
	var d struct {
		QueryStatus     string
		ErrorMessage    string
		QueryStatistics struct{ ExecutionTimeInMillis, BytesScanned int64 }
	}
	for {
		if err := s.call(ctx, hc, "DescribeQuery", map[string]string{"QueryId": started.QueryId}, &d); err != nil {
			return nil, err
		}
		if d.QueryStatus == "FINISHED" {
			break
		}
		if d.QueryStatus != "QUEUED" && d.QueryStatus != "RUNNING" {
			return nil, fmt.Errorf("query %s: %s", d.QueryStatus, d.ErrorMessage)
		}
		time.Sleep(5 * time.Millisecond)
	}
	res := &lakeResult{millis: d.QueryStatistics.ExecutionTimeInMillis, bytes: d.QueryStatistics.BytesScanned}
	in := map[string]any{"QueryId": started.QueryId, "MaxQueryResults": 1000}
	for {
		var page struct {
			QueryResultRows [][]map[string]string
			NextToken       string
		}
		if err := s.call(ctx, hc, "GetQueryResults", in, &page); err != nil {
			return nil, err
		}
		for _, row := range page.QueryResultRows {
			var vals []string
			for _, cell := range row {
				for _, v := range cell {
					vals = append(vals, v)
				}
			}
			res.rows = append(res.rows, vals)
		}
		if page.NextToken == "" {
			return res, nil
		}
		in["NextToken"] = page.NextToken
	}
}
