package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cairn-dev/cairn/internal/api/ingest"
	"github.com/cairn-dev/cairn/internal/gen"
)

const genUsage = `Usage: cairn gen [flags]

Generate realistic synthetic CloudTrail events. The same --seed, accounts,
regions and time range always give the same events.

Output (one of):
  (default)      NDJSON to stdout, one record per line
  --to-dir DIR   a CloudTrail log tree as delivered to S3:
                 DIR/AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/*.json.gz
  --to URL       POST batches to a cairn server's ingest endpoint, signed with
                 the standard AWS credentials; "--to server" means
                 $AWS_ENDPOINT_URL

Live mode: --rate N sends N events per second stamped with the current time,
to --to or stdout, for --duration (default: until interrupted).

Flags:
`

// runGen implements "cairn gen".
func runGen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), genUsage)
		fs.PrintDefaults()
	}
	var (
		seed     = fs.Int64("seed", 1, "random seed")
		count    = fs.Int("count", 1000, "number of events")
		startS   = fs.String("start", "", "first event time, RFC 3339 (default: 24h before --end)")
		endS     = fs.String("end", "", "events are before this time, RFC 3339 (default: now)")
		accounts = fs.String("accounts", "", "comma-separated 12-digit account IDs; the first gets ~70% of events (default: three derived from --seed)")
		regions  = fs.String("regions", "", "comma-separated regions (default: us-east-1,eu-west-1,ap-northeast-1)")
		toDir    = fs.String("to-dir", "", "write a CloudTrail log tree under this directory")
		to       = fs.String("to", "", `send to this cairn endpoint URL ("server": $AWS_ENDPOINT_URL)`)
		batch    = fs.Int("batch", 1000, "events per request with --to")
		rate     = fs.Float64("rate", 0, "live mode: events per second, stamped with the current time")
		duration = fs.Duration("duration", 0, "live mode: how long to run (0: until interrupted)")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("gen: unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	cfg := gen.Config{Seed: *seed, Accounts: splitList(*accounts), Regions: splitList(*regions)}
	if err := cfg.Validate(); err != nil {
		return err
	}
	switch {
	case *count < 0:
		return errors.New("gen: --count must not be negative")
	case *batch < 1:
		return errors.New("gen: --batch must be at least 1")
	case *rate < 0 || *duration < 0:
		return errors.New("gen: --rate and --duration must not be negative")
	case *toDir != "" && *to != "":
		return errors.New("gen: --to-dir and --to are exclusive")
	case set["duration"] && *rate == 0:
		return errors.New("gen: --duration needs --rate")
	case *rate > 0 && (set["count"] || set["start"] || set["end"] || *toDir != ""):
		return errors.New("gen: --rate (live mode) does not combine with --count, --start, --end or --to-dir")
	}

	var client *ingest.Client
	if *to != "" {
		endpoint := *to
		if endpoint == "server" {
			endpoint = ""
		}
		var err error
		if client, err = ingest.ClientFromEnv(endpoint); err != nil {
			return fmt.Errorf("gen: %w", err)
		}
	}
	g := gen.New(cfg)
	if *rate > 0 {
		return genLive(ctx, g, *rate, *duration, client, *batch, stdout, stderr)
	}

	start, end, err := timeRange(*startS, *endS, time.Now())
	if err != nil {
		return err
	}
	switch {
	case *toDir != "":
		st, err := g.WriteTree(*toDir, *count, start, end)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %d events in %d files (%d bytes) under %s\n", st.Events, st.Files, st.Bytes, *toDir)
		return nil
	case client != nil:
		s := &sender{client: client, batch: *batch, stderr: stderr}
		err := g.Spread(*count, start, end, func(raw []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			return s.add(ctx, raw)
		})
		if err == nil {
			err = s.flush(ctx)
		}
		s.summary(stdout)
		if err != nil {
			return fmt.Errorf("gen: after %d of %d events: %w", s.sent, *count, err)
		}
		return nil
	default:
		w := bufio.NewWriterSize(stdout, 1<<20)
		err := g.Spread(*count, start, end, func(raw []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			w.Write(raw)
			return w.WriteByte('\n')
		})
		if ferr := w.Flush(); err == nil {
			err = ferr
		}
		if err != nil {
			return fmt.Errorf("gen: %w", err)
		}
		return nil
	}
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// timeRange resolves --start and --end: end defaults to now, start to 24
// hours before end.
func timeRange(startS, endS string, now time.Time) (start, end time.Time, err error) {
	end = now.UTC().Truncate(time.Second)
	if endS != "" {
		if end, err = time.Parse(time.RFC3339, endS); err != nil {
			return start, end, fmt.Errorf("gen: --end: %w", err)
		}
	}
	start = end.Add(-24 * time.Hour)
	if startS != "" {
		if start, err = time.Parse(time.RFC3339, startS); err != nil {
			return start, end, fmt.Errorf("gen: --start: %w", err)
		}
	}
	if !end.After(start) {
		return start, end, fmt.Errorf("gen: --start %s is not before --end %s", start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	return start, end, nil
}

// sender batches records to the ingest endpoint and tallies the answers.
// A failed request is retried, which is safe: the server answers
// "duplicate" for events it already recorded.
type sender struct {
	client  *ingest.Client
	batch   int
	stderr  io.Writer
	pending [][]byte
	sent    int
	totals  ingest.Response
	shown   int // rejection reasons printed
}

const maxShown = 5

func (s *sender) add(ctx context.Context, raw []byte) error {
	s.pending = append(s.pending, raw)
	if len(s.pending) >= s.batch {
		return s.flush(ctx)
	}
	return nil
}

func (s *sender) flush(ctx context.Context) error {
	for len(s.pending) > 0 {
		n := min(len(s.pending), s.batch)
		resp, err := s.sendRetry(ctx, s.pending[:n])
		if err != nil {
			return err
		}
		s.sent += n
		s.totals.Recorded += resp.Recorded
		s.totals.Duplicates += resp.Duplicates
		s.totals.Rejected += resp.Rejected
		for _, r := range resp.Results {
			if r.Status != ingest.StatusRejected {
				continue
			}
			if s.shown < maxShown {
				fmt.Fprintf(s.stderr, "rejected: event %d: %s\n", s.sent-n+r.Index, r.Reason)
			}
			s.shown++
		}
		s.pending = s.pending[n:]
	}
	s.pending = s.pending[:0]
	return nil
}

func (s *sender) sendRetry(ctx context.Context, recs [][]byte) (*ingest.Response, error) {
	delay := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		resp, err := s.client.Send(ctx, recs)
		if err == nil || attempt == 4 || !retryable(err) || ctx.Err() != nil {
			return resp, err
		}
		fmt.Fprintf(s.stderr, "retrying in %v: %v\n", delay, err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay *= 2
	}
}

// retryable reports whether a failure may pass: network errors, throttling
// and server errors, but not a request the server refused.
func retryable(err error) bool {
	var e *ingest.Error
	if errors.As(err, &e) {
		return e.StatusCode == 429 || e.StatusCode >= 500
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

func (s *sender) summary(w io.Writer) {
	fmt.Fprintf(w, "sent %d events: %d recorded, %d duplicates, %d rejected\n",
		s.sent, s.totals.Recorded, s.totals.Duplicates, s.totals.Rejected)
	if s.shown > maxShown {
		fmt.Fprintf(w, "(%d more rejections not shown)\n", s.shown-maxShown)
	}
}

// genLive emits rate events per second stamped with the current time, to
// the client or as NDJSON to stdout, until duration has passed (0: until
// ctx ends). Interruption is a normal end.
func genLive(ctx context.Context, g *gen.Generator, rate float64, duration time.Duration, client *ingest.Client, batch int, stdout, stderr io.Writer) error {
	// Sends use the caller's context, not the duration's, so that the last
	// batch still goes out when time is up; an interruption stops them.
	sendCtx := ctx
	if duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, duration)
		defer cancel()
	}
	const tick = 100 * time.Millisecond
	ticker := time.NewTicker(tick)
	defer ticker.Stop()

	var s *sender
	var w *bufio.Writer
	info := stdout // where the summary goes: not into the NDJSON stream
	if client != nil {
		s = &sender{client: client, batch: batch, stderr: stderr}
	} else {
		w = bufio.NewWriterSize(stdout, 1<<20)
		info = stderr
	}
	began := time.Now()
	emitted := 0
	var err error
	for err == nil {
		var stop bool
		select {
		case <-ctx.Done():
			stop = true
		case <-ticker.C:
		}
		now := time.Now()
		due := int(rate*now.Sub(began).Seconds()) - emitted
		if duration > 0 {
			// Exactly rate × duration in all: a late tick on a loaded machine must not overshoot,
			// and a clean finish tops up.
			total := int(rate * duration.Seconds())
			if stop {
				due = total - emitted
			} else {
				due = min(due, total-emitted)
			}
		}
		for ; due > 0 && err == nil; due-- {
			raw := g.Event(now)
			emitted++
			if s != nil {
				err = s.add(sendCtx, raw)
			} else if _, err = w.Write(raw); err == nil {
				err = w.WriteByte('\n')
			}
		}
		if err == nil {
			if s != nil {
				err = s.flush(sendCtx)
			} else {
				err = w.Flush()
			}
		}
		if stop {
			break
		}
	}
	elapsed := time.Since(began)
	if s != nil {
		s.summary(info)
	}
	fmt.Fprintf(info, "live: %d events in %v (%.0f/s, asked for %.0f/s)\n", emitted, elapsed.Round(time.Millisecond), float64(emitted)/elapsed.Seconds(), rate)
	if err != nil && !(sendCtx.Err() != nil && errors.Is(err, context.Canceled)) {
		return fmt.Errorf("gen: live: %w", err)
	}
	return nil
}
