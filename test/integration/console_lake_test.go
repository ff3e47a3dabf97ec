package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/chromedp/chromedp"

	"github.com/cairn-dev/cairn/internal/cairntest"
)

// The Lake in a real browser: an event data store created in the console, known events
// imported into it, the seed scenario's GROUP BY query run from the SQL editor and its rows on
// the page, and a mistyped query answered with the API's exception.
func TestConsoleLakeInChromium(t *testing.T) {
	s := cairntest.Start(t)
	ctx := browser(t)
	if alert := signIn(t, ctx, s, cairntest.ConsolePassword); alert != "" {
		t.Fatalf("sign in: %s", alert)
	}

	// The store takes management events except the test's own calls (made as root, as are the
	// console's), so it holds exactly the imported events.
	selectors := `[{"Name":"imported","FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]},` +
		`{"Field":"userIdentity.arn","NotEquals":["arn:aws:iam::` + cairntest.AccountID + `:root"]}]}]`
	err := chromedp.Do(ctx,
		chromedp.Navigate(s.Endpoint+"/console/lake"),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/console/lake/stores/new"]`)),
		chromedp.Click(chromedp.CSS(`main a[href="/console/lake/stores/new"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#name`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), "console-lake"),
		chromedp.SetValue(chromedp.CSS(`#retention`), "3653"), // the events are from 2022 and 2023
		chromedp.SetValue(chromedp.CSS(`#selectors`), selectors),
		submit(`#name`),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	if err != nil {
		t.Fatalf("create an event data store: %v", err)
	}
	flash, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.flash`)))
	if err != nil || !strings.Contains(flash, "Created event data store console-lake") {
		t.Fatalf("after creating a store: %q %v", flash, err)
	}
	id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('table tbody tr .small').textContent.trim()`))
	if err != nil {
		t.Fatal(err)
	}

	cairnImport(t, s, "--state", filepath.Join(t.TempDir(), "imports.sqlite"), filepath.Join(lakeTestdata, "events.ndjson"))
	want := managementByType(t)
	total := 0
	for _, n := range want {
		total += n
	}
	c := cloudtrail.NewFromConfig(s.AWSConfig())
	cairntest.WaitFor(t, 30*time.Second, "the store to hold the imported events", func() bool {
		_, rows, err := sdkQuery(context.Background(), c, "SELECT count(*) FROM "+id)
		return err == nil && len(rows) == 1 && rows[0][0] == strconv.Itoa(total)
	})

	// The editor opens on the picked store with the seed's query; running it shows its rows.
	err = chromedp.Do(ctx,
		chromedp.Navigate(s.Endpoint+"/console/lake?store="+id),
		chromedp.WaitVisible(chromedp.CSS(`#sql`)),
	)
	if err != nil {
		t.Fatalf("open the Lake page: %v", err)
	}
	sql, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS(`#sql`)))
	if seed := "SELECT userIdentity.type, count(*) FROM " + id + " GROUP BY userIdentity.type;"; err != nil || sql != seed {
		t.Fatalf("editor holds %q (%v), want the seed query %q", sql, err, seed)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`form[action="/console/lake/queries"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.results`)),
	)
	if err != nil {
		t.Fatalf("run the query: %v", err)
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[][]string](
		`[...document.querySelectorAll('table.results tbody tr')].map(tr => [...tr.cells].map(td => td.textContent))`))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, r := range rows {
		n, err := strconv.Atoi(r[1])
		if len(r) != 2 || err != nil {
			t.Fatalf("result row %q", r)
		}
		got[r[0]] = n
	}
	if len(got) != len(want) || len(rows) != len(want) {
		t.Fatalf("rows %v, want %v", rows, want)
	}
	for typ, n := range want {
		if got[typ] != n {
			t.Errorf("%s: %d events on the page, want %d", typ, got[typ], n)
		}
	}
	if status, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.status`))); err != nil || status != "FINISHED" {
		t.Errorf("query status %q %v", status, err)
	}

	// A mistyped column: the editor says InvalidQueryStatementException and keeps the SQL.
	err = chromedp.Do(ctx,
		chromedp.Navigate(s.Endpoint+"/console/lake?store="+id),
		chromedp.WaitVisible(chromedp.CSS(`#sql`)),
		chromedp.SetValue(chromedp.CSS(`#sql`), "SELECT eventNme FROM "+id),
		chromedp.Click(chromedp.CSS(`form[action="/console/lake/queries"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.alert`)),
	)
	if err != nil {
		t.Fatalf("run a mistyped query: %v", err)
	}
	alert, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.alert`)))
	if err != nil || !strings.HasPrefix(alert, "InvalidQueryStatementException: ") || !strings.Contains(alert, "eventNme") {
		t.Errorf("mistyped query: alert %q %v", alert, err)
	}
}

// managementByType counts the management events of the Lake's test data by userIdentity.type.
func managementByType(t *testing.T) map[string]int {
	t.Helper()
	f, err := os.Open(filepath.Join(lakeTestdata, "events.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	counts := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e struct {
			EventCategory string
			UserIdentity  struct{ Type string }
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		if e.EventCategory == "Management" {
			counts[e.UserIdentity.Type]++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return counts
}
