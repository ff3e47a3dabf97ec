package integration

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"

	"github.com/cairn-dev/cairn/internal/api/ingest"
	"github.com/cairn-dev/cairn/internal/cairntest"
)

// SIGKILL during sustained ingest, then restart: every acknowledged event is found exactly once,
// and a client retrying the batch that was in flight creates no duplicate.
func TestCrashDuringIngest(t *testing.T) {
	const region = "ca-central-1" // only this test's events live here
	s := cairntest.Start(t, "--history-flush-interval", "300ms")
	acked := map[string]bool{}
	var inflight [][][]byte // batches sent without an answer: the client will retry them
	var mu sync.Mutex

	for round := 0; round < 3; round++ {
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				c := ingestClient(s)
				for b := 0; ctx.Err() == nil; b++ {
					batch := make([][]byte, 100)
					for i := range batch {
						id := fmt.Sprintf("r%d-w%d-b%04d-%03d", round, w, b, i)
						batch[i] = record(id, "PutObject", cairntest.AccountID, region, time.Now(), "")
					}
					resp, err := c.Send(context.Background(), batch)
					mu.Lock()
					if err != nil {
						inflight = append(inflight, batch)
						mu.Unlock()
						return
					}
					for _, r := range resp.Results {
						if r.Status != ingest.StatusRecorded {
							t.Errorf("fresh event %s: %s %s", r.EventID, r.Status, r.Reason)
						}
						acked[r.EventID] = true
					}
					mu.Unlock()
					time.Sleep(5 * time.Millisecond)
				}
			}(w)
		}
		time.Sleep(time.Duration(700+300*round) * time.Millisecond)
		s.Kill()
		stop()
		wg.Wait()
		s.Restart()

		// The client retries what it never got an answer for.
		for _, batch := range inflight {
			resp, err := ingestClient(s).Send(context.Background(), batch)
			if err != nil {
				t.Fatalf("retry after restart: %v", err)
			}
			for _, r := range resp.Results {
				acked[r.EventID] = true
			}
		}
		inflight = nil
	}
	if len(acked) < 1000 {
		t.Fatalf("only %d events acknowledged; the test did not load the server", len(acked))
	}

	client := cloudtrail.NewFromConfig(s.AWSConfig(), func(o *cloudtrail.Options) { o.Region = region })
	seen := map[string]int{}
	cairntest.WaitFor(t, 30*time.Second, "every acknowledged event", func() bool {
		clear(seen)
		p := cloudtrail.NewLookupEventsPaginator(client, &cloudtrail.LookupEventsInput{})
		for p.HasMorePages() {
			page, err := p.NextPage(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page.Events {
				seen[aws.ToString(e.EventId)]++
			}
		}
		return len(seen) >= len(acked)
	})
	for id, n := range seen {
		if n != 1 {
			t.Errorf("event %s found %d times", id, n)
		}
	}
	for id := range acked {
		if seen[id] != 1 {
			t.Errorf("acknowledged event %s found %d times", id, seen[id])
		}
	}
	t.Logf("%d events acknowledged across 3 crashes; all found exactly once", len(acked))
}
