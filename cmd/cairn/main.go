// Command cairn is a self-hosted audit trail service that speaks AWS CloudTrail.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = []command{
	{"serve", "run the cairn server (AWS CloudTrail API, ingest, history)", runServe},
	{"lookup", "look up events, with the flags of aws cloudtrail lookup-events", runLookup},
	{"import", "import CloudTrail log files (a file, an AWSLogs/ tree, s3://bucket/prefix) or AWS Config items", runImport},
	{"export", "export events as TSV, CSV, NDJSON, Parquet or a CloudTrail log tree", runExport},
	{"query", "run a CloudTrail Lake SQL query on event data stores", runQuery},
	{"gen", "generate realistic synthetic CloudTrail events", runGen},
	{"validate", "validate a trail's digest and log files, as aws cloudtrail validate-logs", runValidate},
	{"org", "manage organisations (for organisation trails)", runOrg},
	{"monitor", "install built-in monitoring: the CIS AWS Foundations metric filters", runMonitor},
	{"passwd", "set a user's console password or MFA device", runPasswd},
	{"iam", "manage IAM users, their access keys and policies", runIAM},
	{"bench", "measure performance: ingest, lookup, import, export, alarms, SNS, logs, console (see docs/benchmarks.md)", runBench},
	{"version", "print the version", runVersion},
}

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], stdout, stderr)
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				return 2
			}
			var ec exitCode
			if errors.As(err, &ec) {
				return int(ec)
			}
			fmt.Fprintf(stderr, "cairn %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "cairn: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: cairn <command> [flags]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'cairn <command> -h' for a command's flags.")
}

func runVersion(_ context.Context, _ []string, stdout, _ io.Writer) error {
	fmt.Fprintln(stdout, "cairn", version)
	return nil
}

// errUsage means the flags were wrong and the flag package has already said why.
var errUsage = errors.New("usage")

// exitCode ends the command with a specific status, having printed what it needed to.
type exitCode int

func (e exitCode) Error() string { return "exit status " + strconv.Itoa(int(e)) }

// parseFlags parses args, mapping flag errors to errUsage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	return nil
}

// durationFlag accepts Go durations plus days ("90d", "7d12h").
type durationFlag struct{ d *time.Duration }

func (f durationFlag) String() string {
	if f.d == nil {
		return ""
	}
	d := *f.d
	if d > 0 && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

func (f durationFlag) Set(s string) error {
	d, err := parseDuration(s)
	if err != nil {
		return err
	}
	*f.d = d
	return nil
}

func parseDuration(s string) (time.Duration, error) {
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.Atoi(s[:i])
		if err != nil || n < 0 {
			return 0, fmt.Errorf("invalid duration %q: want e.g. 90d, 36h or 5m", s)
		}
		days = time.Duration(n) * 24 * time.Hour
		s = s[i+1:]
		if s == "" {
			return days, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("invalid duration %q: want e.g. 90d, 36h or 5m", s)
	}
	return days + d, nil
}
