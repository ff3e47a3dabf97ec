package journal

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	crashDirEnv   = "CAIRN_JOURNAL_CRASH_DIR"
	crashRoundEnv = "CAIRN_JOURNAL_CRASH_ROUND"
	crashSegBytes = 64 << 10
)

func contentHash(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// TestCrashHelper is the child process of TestCrash: it appends from several goroutines and
// prints "ACK <seq> <hash>" for each record once Append has returned, until it is killed.
func TestCrashHelper(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("run by TestCrash")
	}
	round := os.Getenv(crashRoundEnv)
	j, err := Open(dir, Options{SegmentBytes: crashSegBytes, Logger: quiet})
	if err != nil {
		fmt.Printf("OPEN-ERROR %v\n", err)
		os.Exit(2)
	}
	var out sync.Mutex
	for g := range 4 {
		go func() {
			rnd := rand.New(rand.NewPCG(uint64(g), uint64(time.Now().UnixNano())))
			for i := 0; ; i++ {
				recs := make([][]byte, 1+rnd.IntN(8))
				for k := range recs {
					pad := make([]byte, rnd.IntN(2000))
					for p := range pad {
						pad[p] = byte('a' + rnd.IntN(26))
					}
					recs[k] = fmt.Appendf(nil, "r%s-g%d-i%d-k%d|%s", round, g, i, k, pad)
				}
				first, err := j.Append(context.Background(), recs)
				if err != nil {
					fmt.Printf("APPEND-ERROR %v\n", err)
					os.Exit(2)
				}
				var b strings.Builder
				for k, r := range recs {
					fmt.Fprintf(&b, "ACK %d %s\n", first+uint64(k), contentHash(r))
				}
				out.Lock()
				os.Stdout.WriteString(b.String())
				out.Unlock()
			}
		}()
	}
	time.Sleep(time.Minute) // the parent kills us long before this
	os.Exit(3)
}

// TestCrash kills a child process with SIGKILL while it appends, several rounds over the same
// directory, and checks after each round that every acknowledged record is there, unchanged,
// exactly once, with contiguous sequence numbers.
func TestCrash(t *testing.T) {
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("in the child")
	}
	rounds := 8
	if testing.Short() {
		rounds = 3
	}
	dir := t.TempDir()
	acked := map[uint64]string{}
	rnd := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	for round := range rounds {
		n := runCrashChild(t, dir, round, time.Duration(rnd.IntN(300))*time.Millisecond, acked)

		j := mustOpen(t, dir, Options{SegmentBytes: crashSegBytes})
		es := readAll(t, j, 0, 1000, 4<<20)
		j.Close()
		seen := map[string]bool{}
		for i, e := range es {
			if e.Seq != uint64(i+1) {
				t.Fatalf("round %d: entry %d has seq %d", round, i, e.Seq)
			}
			id, _, _ := strings.Cut(string(e.Data), "|")
			if seen[id] {
				t.Fatalf("round %d: record %s is in the journal twice", round, id)
			}
			seen[id] = true
		}
		for seq, h := range acked {
			if seq > uint64(len(es)) {
				t.Fatalf("round %d: acknowledged seq %d lost (journal ends at %d)", round, seq, len(es))
			}
			if got := contentHash(es[seq-1].Data); got != h {
				t.Fatalf("round %d: seq %d has hash %s, acknowledged %s", round, seq, got, h)
			}
		}
		t.Logf("round %d: %d acknowledged this round, %d in journal, %d segments", round, n, len(es), len(segmentFiles(t, dir)))
	}
}

// runCrashChild runs TestCrashHelper on dir, kills it after its first acknowledgement plus delay,
// and adds what it acknowledged to acked. It returns how many records that was.
func runCrashChild(t *testing.T, dir string, round int, delay time.Duration, acked map[uint64]string) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashRoundEnv+"="+strconv.Itoa(round))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	first := make(chan struct{})
	var lines []string
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if len(lines) == 0 {
				close(first)
			}
			lines = append(lines, sc.Text())
		}
	}()
	select {
	case <-first:
	case <-readDone:
	case <-time.After(30 * time.Second):
	}
	time.Sleep(delay)
	cmd.Process.Kill() // SIGKILL on Unix
	<-readDone
	cmd.Wait()

	n := 0
	for _, line := range lines {
		f := strings.Fields(line)
		if len(f) != 3 || f[0] != "ACK" {
			if strings.Contains(line, "ERROR") {
				t.Fatalf("round %d: child: %s", round, line)
			}
			continue // a line cut short by the kill, or test framework output
		}
		seq, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil || len(f[2]) != 16 {
			continue
		}
		if prev, ok := acked[seq]; ok && prev != f[2] {
			t.Fatalf("round %d: seq %d acknowledged again with other contents", round, seq)
		}
		acked[seq] = f[2]
		n++
	}
	if n == 0 {
		t.Fatalf("round %d: child acknowledged nothing", round)
	}
	return n
}
