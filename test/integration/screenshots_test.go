package integration

import (
	"context"
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

// TestScreenshots regenerates docs/screenshots (make screenshots): every console page at
// 1280×800 against a demo server. It runs only when CAIRN_SCREENSHOTS names the directory.
func TestScreenshots(t *testing.T) {
	dir := os.Getenv("CAIRN_SCREENSHOTS")
	if dir == "" {
		t.Skip("set CAIRN_SCREENSHOTS to a directory to regenerate the console's screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := cairntest.Start(t, "--demo")
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatal(err)
	}
	shot := func(name, path string, wait string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(s.Endpoint+path), chromedp.WaitVisible(chromedp.CSS(wait))); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("screenshot of %s: %v", path, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	shot("signin", "/console/signin", "#account")
	signIn(t, ctx, s, "a-wrong-password")
	signIn(t, ctx, s, "another-wrong-one")
	if alert := signIn(t, ctx, s, cairntest.ConsolePassword); alert != "" {
		t.Fatalf("sign in: %s", alert)
	}
	// The demo's day of backfill is indexed within seconds.
	cairntest.WaitFor(t, 30*time.Second, "demo events in history", func() bool {
		if err := chromedp.Do(ctx, chromedp.Navigate(s.Endpoint+"/console/events"), chromedp.WaitVisible(chromedp.CSS(`h1`))); err != nil {
			t.Fatal(err)
		}
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('table tbody tr').length`))
		if err != nil {
			t.Logf("counting events: %v", err)
		}
		return err == nil && n > 40
	})
	// A trail, so the trails page has one.
	err := chromedp.Do(ctx,
		chromedp.Navigate(s.Endpoint+"/console/trails/new"),
		chromedp.WaitVisible(chromedp.CSS(`#name`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), "management-events"),
		chromedp.SendKeys(chromedp.CSS(`#bucket`), "audit-logs-111122223333"),
		chromedp.Submit(chromedp.CSS(`#bucket`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	shot("dashboard", "/console/", "svg.chart")
	shot("event-history", "/console/events", "table")
	shot("event-history-filtered", "/console/events?EventName=ConsoleLogin", "table")
	id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('table tbody tr td a').getAttribute('href')`))
	if err != nil {
		t.Fatal(err)
	}
	shot("event-detail", id, "pre.json")
	shot("trails", "/console/trails", "table")
	shot("trail-create", "/console/trails/new", "#name")
	shot("trail-edit", "/console/trails/management-events", "#bucket")

	// An event data store of the demo's live management events (leaving out the calls made here,
	// as root), and the seed scenario's query over it.
	shot("lake-store-create", "/console/lake/stores/new", "#selectors")
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`#name`), "security-lake"),
		chromedp.SetValue(chromedp.CSS(`#selectors`), `[{"Name": "Management events of the workloads", "FieldSelectors": [`+
			`{"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "userIdentity.arn", "NotEquals": ["arn:aws:iam::`+cairntest.AccountID+`:root"]}]}]`),
		chromedp.Submit(chromedp.CSS(`#name`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	store, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('table tbody tr .small').textContent.trim()`))
	if err != nil {
		t.Fatal(err)
	}
	c := cloudtrail.NewFromConfig(s.AWSConfig())
	cairntest.WaitFor(t, 2*time.Minute, "demo events in the store", func() bool {
		_, rows, err := sdkQuery(context.Background(), c, "SELECT count(*) FROM "+store)
		n, _ := strconv.Atoi(firstCell(rows))
		time.Sleep(time.Second) // each query is a few calls; the console's history shows them
		return err == nil && n >= 30
	})
	shot("lake-stores", "/console/lake/stores", "table")
	shot("lake-store", "/console/lake/stores/"+store, "#selectors")
	// Two samples, then the seed's query (the editor's default), so the history has some.
	for _, q := range []string{"&sample=4", "&sample=1", ""} {
		err = chromedp.Do(ctx,
			chromedp.Navigate(s.Endpoint+"/console/lake?store="+store+q),
			chromedp.WaitVisible(chromedp.CSS(`#sql`)),
			chromedp.Click(chromedp.CSS(`form[action="/console/lake/queries"] button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`table.results`)),
		)
		if err != nil {
			t.Fatal(err)
		}
	}
	results, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	shot("lake-results", strings.TrimPrefix(results, s.Endpoint), "table.results")
	shot("lake", "/console/lake?store="+store, "#sql")
}

func firstCell(rows [][]string) string {
	if len(rows) == 0 || len(rows[0]) == 0 {
		return ""
	}
	return rows[0][0]
}
