package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/cairn-dev/cairn/internal/gen"
)

// jqProgram turns records into the columns cairn export writes by default, rendered as cairn
// renders them (objects as JSON, null as nothing), so both outputs can be compared.
const jqProgram = `[.eventTime, .awsRegion, .eventSource, .eventName, .userIdentity.userName, .sourceIPAddress, .userAgent, (.requestParameters | if type == "object" or type == "array" then tojson else . end)] | @tsv`

// benchTree is a generated month of CloudTrail files.
type benchTree struct {
	dir           string
	events, files int
	bytes         int64
	temp          bool
}

type importBenchFlags struct {
	events   int
	days     int
	tree     string
	data     string
	parallel int
	keep     bool
}

func (f *importBenchFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&f.events, "events", 1_000_000, "events in the generated tree")
	fs.IntVar(&f.days, "days", 30, "days the generated tree spans")
	fs.StringVar(&f.tree, "tree", "", "use (or generate once into) this directory instead of a temporary tree")
	fs.StringVar(&f.data, "data", "", "data directory to import into (default: a temporary one)")
	fs.IntVar(&f.parallel, "parallel", 0, "cairn import --parallel (default: the number of CPUs)")
	fs.BoolVar(&f.keep, "keep", false, "keep the temporary tree and data directory")
}

// prepareTree generates the tree as cairn gen --to-dir would, or reuses one.
func prepareTree(f importBenchFlags, stderr io.Writer) (*benchTree, error) {
	t := &benchTree{dir: f.tree}
	if t.dir == "" {
		d, err := os.MkdirTemp("", "cairn-bench-tree-")
		if err != nil {
			return nil, err
		}
		t.dir, t.temp = d, true
	}
	if n, size, err := countTree(t.dir); err == nil && n > 0 {
		t.files, t.bytes = n, size
		fmt.Fprintf(stderr, "using the tree in %s (%d files)\n", t.dir, n)
		return t, nil
	}
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	fmt.Fprintf(stderr, "generating %d events over %d days into %s (cairn gen --to-dir)…\n", f.events, f.days, t.dir)
	g := gen.New(gen.Config{Seed: 1, Accounts: []string{benchAccount, "210987654321", "333344445555"}, Regions: []string{benchRegion, "eu-west-1", "ap-northeast-1"}})
	st, err := g.WriteTree(t.dir, f.events, end.Add(-time.Duration(f.days)*24*time.Hour), end)
	if err != nil {
		return nil, err
	}
	t.events, t.files, t.bytes = st.Events, st.Files, st.Bytes
	return t, nil
}

func countTree(dir string) (files int, size int64, err error) {
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".json.gz") {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			files++
			size += fi.Size()
		}
		return nil
	})
	return files, size, err
}

// timed is one measured child process.
type timed struct {
	wall, cpu time.Duration
	rss       int64 // peak resident set, bytes
}

func runTimed(cmd *exec.Cmd) (timed, error) {
	var errBuf bytes.Buffer
	if cmd.Stderr == nil {
		cmd.Stderr = &errBuf
	}
	start := time.Now()
	err := cmd.Run()
	t := timed{wall: time.Since(start)}
	if ps := cmd.ProcessState; ps != nil {
		t.cpu = ps.UserTime() + ps.SystemTime()
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			t.rss = ru.Maxrss << 10
		}
	}
	if err != nil {
		return t, fmt.Errorf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, errBuf.String())
	}
	return t, nil
}

// runJQ runs the seed's shell pipeline over the tree, writing TSV to out.
func runJQ(tree, out string) (timed, error) {
	for _, tool := range []string{"jq", "bash", "gunzip", "xargs", "find"} {
		if _, err := exec.LookPath(tool); err != nil {
			return timed{}, fmt.Errorf("the jq pipeline needs %s (Debian: apt-get install jq): %v", tool, err)
		}
	}
	script := fmt.Sprintf(`find %q -name '*.json.gz' -print0 | xargs -0 gunzip -c | jq '.Records[]' | jq -r '%s' > %q`, tree, jqProgram, out)
	return runTimed(exec.Command("bash", "-o", "pipefail", "-c", script))
}

func benchImport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f importBenchFlags
	fs := flag.NewFlagSet("bench import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	tree, err := prepareTree(f, stderr)
	if err != nil {
		return err
	}
	defer tree.cleanup(f.keep, stderr)
	work, err := os.MkdirTemp("", "cairn-bench-import-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	fmt.Fprintln(stderr, "running the jq pipeline…")
	jq, err := runJQ(tree.dir, filepath.Join(work, "jq.tsv"))
	if err != nil {
		return err
	}
	events, err := countLines(filepath.Join(work, "jq.tsv"))
	if err != nil {
		return err
	}
	data := f.data
	if data == "" {
		data = filepath.Join(work, "data")
	}
	fmt.Fprintln(stderr, "running cairn import…")
	imp, summary, err := runImportChild(ctx, data, tree.dir, f.parallel)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "cairn bench import — %s — %s\n", time.Now().UTC().Format("2006-01-02"), machine())
	fmt.Fprintf(stdout, "  tree                 %d events in %d files, %.1f MB compressed (cairn gen --to-dir, %d days, 3 accounts × 3 regions)\n",
		events, tree.files, float64(tree.bytes)/1e6, f.days)
	fmt.Fprintf(stdout, "  jq pipeline          %8.0f events/s  %6.1f MB/s  %v wall, %v CPU  (find | xargs gunzip -c | jq '.Records[]' | jq -r '[…] | @tsv')\n",
		float64(events)/jq.wall.Seconds(), float64(tree.bytes)/1e6/jq.wall.Seconds(), jq.wall.Round(time.Millisecond), jq.cpu.Round(time.Millisecond))
	fmt.Fprintf(stdout, "  cairn import         %8.0f events/s  %6.1f MB/s  %v wall, %v CPU, peak RSS %d MiB  (journaled, deduplicated, indexed for LookupEvents)\n",
		float64(events)/imp.wall.Seconds(), float64(tree.bytes)/1e6/imp.wall.Seconds(), imp.wall.Round(time.Millisecond), imp.cpu.Round(time.Millisecond), imp.rss>>20)
	fmt.Fprintf(stdout, "  import vs jq          %.1f× the events/s\n", jq.wall.Seconds()/imp.wall.Seconds())
	fmt.Fprintf(stdout, "  cairn's summary:\n%s", indent(summary, "    "))
	if f.keep {
		fmt.Fprintf(stdout, "  data kept in %s\n", data)
	}
	return nil
}

func runImportChild(ctx context.Context, data, tree string, parallel int) (timed, string, error) {
	self, err := os.Executable()
	if err != nil {
		return timed{}, "", err
	}
	args := []string{"import", "--data", data, "--verify=off", "--quiet"}
	if parallel > 0 {
		args = append(args, "--parallel", fmt.Sprint(parallel))
	}
	cmd := exec.CommandContext(ctx, self, append(args, tree)...)
	var out bytes.Buffer
	cmd.Stdout = &out
	t, err := runTimed(cmd)
	return t, out.String(), err
}

func (t *benchTree) cleanup(keep bool, stderr io.Writer) {
	if !t.temp {
		return
	}
	if keep {
		fmt.Fprintf(stderr, "tree kept in %s\n", t.dir)
		return
	}
	os.RemoveAll(t.dir)
}

func countLines(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n := 0
	buf := make([]byte, 1<<20)
	for {
		k, err := f.Read(buf)
		n += bytes.Count(buf[:k], []byte{'\n'})
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

func indent(s, prefix string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString(prefix + l + "\n")
	}
	return b.String()
}

func benchExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f importBenchFlags
	fs := flag.NewFlagSet("bench export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	tree, err := prepareTree(f, stderr)
	if err != nil {
		return err
	}
	defer tree.cleanup(f.keep, stderr)
	work, err := os.MkdirTemp("", "cairn-bench-export-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	data := f.data
	if data == "" {
		data = filepath.Join(work, "data")
	}
	if _, err := os.Stat(filepath.Join(data, "journal")); err != nil {
		fmt.Fprintln(stderr, "importing the tree (not timed)…")
		if _, _, err := runImportChild(ctx, data, tree.dir, f.parallel); err != nil {
			return err
		}
	}
	fmt.Fprintln(stderr, "running the jq pipeline…")
	jqOut := filepath.Join(work, "jq.tsv")
	jq, err := runJQ(tree.dir, jqOut)
	if err != nil {
		return err
	}
	events, err := countLines(jqOut)
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, "running cairn export…")
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cairnOut := filepath.Join(work, "cairn.tsv")
	out, err := os.Create(cairnOut)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, self, "export", "--data", data, "--format", "tsv", "--no-header", "--quiet")
	cmd.Stdout = out
	exp, err := runTimed(cmd)
	out.Close()
	if err != nil {
		return err
	}
	same, err := sameLines(jqOut, cairnOut)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "cairn bench export — %s — %s\n", time.Now().UTC().Format("2006-01-02"), machine())
	fmt.Fprintf(stdout, "  data                 %d events imported from %d files (cairn gen --to-dir, %d days, 3 accounts × 3 regions)\n", events, tree.files, f.days)
	fmt.Fprintf(stdout, "  jq pipeline          %9.0f events/s  %v wall, %v CPU\n", float64(events)/jq.wall.Seconds(), jq.wall.Round(time.Millisecond), jq.cpu.Round(time.Millisecond))
	fmt.Fprintf(stdout, "  cairn export (TSV)   %9.0f events/s  %v wall, %v CPU, peak RSS %d MiB\n", float64(events)/exp.wall.Seconds(), exp.wall.Round(time.Millisecond), exp.cpu.Round(time.Millisecond), exp.rss>>20)
	fmt.Fprintf(stdout, "  export vs jq          %.0f×\n", jq.wall.Seconds()/exp.wall.Seconds())
	fmt.Fprintf(stdout, "  outputs              %s\n", same)
	return nil
}

// sameLines compares two files' lines as multisets (the orders differ).
func sameLines(a, b string) (string, error) {
	read := func(p string) ([]string, error) {
		d, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		l := strings.Split(strings.TrimSuffix(string(d), "\n"), "\n")
		slices.Sort(l)
		return l, nil
	}
	la, err := read(a)
	if err != nil {
		return "", err
	}
	lb, err := read(b)
	if err != nil {
		return "", err
	}
	if slices.Equal(la, lb) {
		return fmt.Sprintf("identical (%d lines, compared sorted)", len(la)), nil
	}
	diff := 0
	for i := 0; i < min(len(la), len(lb)); i++ {
		if la[i] != lb[i] {
			diff++
		}
	}
	return fmt.Sprintf("DIFFER: %d vs %d lines, %d sorted lines differ", len(la), len(lb), diff), nil
}
