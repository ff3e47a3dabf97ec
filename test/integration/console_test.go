package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/cairn-dev/cairn/internal/cairntest"
)

// browser starts headless Chromium (Debian's chromium package) at 1280×800.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := cairntest.Tool(t, "chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 5*time.Minute) // the screenshots take minutes on a busy machine
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// submit submits the form holding sel and waits until the page that answers it has loaded.
// Waiting for an element alone is not enough: it can be found on the page the form was on,
// before the browser has left it.
func submit(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := chromedp.Evaluate[bool](`window.cairnLeaving = true`)(ctx, t); err != nil {
			return err
		}
		if _, err := chromedp.Submit(chromedp.CSS(sel))(ctx, t); err != nil {
			return err
		}
		for {
			// Errors are expected while the old page's context is torn down: ask again.
			arrived, err := chromedp.Evaluate[bool](`window.cairnLeaving === undefined && document.readyState === 'complete'`)(ctx, t)
			if err == nil && arrived {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("submit %s: no new page: %w", sel, ctx.Err())
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
}

// signIn fills the sign-in form and submits it; it returns the page's alert text, if any.
func signIn(t *testing.T, ctx context.Context, s *cairntest.Server, password string) string {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(s.Endpoint+"/console/signin"),
		chromedp.WaitVisible(chromedp.CSS(`#account`)),
		chromedp.SendKeys(chromedp.CSS(`#account`), cairntest.AccountID),
		chromedp.SendKeys(chromedp.CSS(`#user`), "root"),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		submit(`#password`),
		// The fresh form has neither: wait for the answer, a failure's alert or a signed-in page.
		chromedp.WaitVisible(chromedp.CSS(`.alert, header.top`)),
	)
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	alert, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('.alert') || {textContent: ''}).textContent`))
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	return alert
}

type lookedUp struct {
	Events []struct{ EventName, Username, CloudTrailEvent string }
}

// awsLookup runs Debian's aws CLI's lookup-events against s.
func awsLookup(t *testing.T, s *cairntest.Server, attr string) lookedUp {
	t.Helper()
	aws := cairntest.Tool(t, "/usr/bin/aws")
	cmd := exec.Command(aws, "cloudtrail", "lookup-events", "--lookup-attributes", attr, "--endpoint-url", s.Endpoint, "--output", "json")
	cmd.Env = s.Env()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, stderrOf(err))
	}
	var resp lookedUp
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("lookup-events output: %v\n%s", err, out)
	}
	return resp
}

// The acceptance path in a real browser: two failed sign-ins recorded as ConsoleLogin failures
// (seen through the aws CLI), a sign-in, event history filtered by EventName, a trail created.
func TestConsoleInChromium(t *testing.T) {
	s := cairntest.Start(t)
	ctx := browser(t)

	// A browser asking for / lands on the sign-in page.
	if err := chromedp.Do(ctx, chromedp.Navigate(s.Endpoint+"/"), chromedp.WaitVisible(chromedp.CSS(`#password`))); err != nil {
		t.Fatal(err)
	}
	url, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(url, "/console/signin") {
		t.Errorf("GET / in a browser went to %s, want the sign-in page", url)
	}

	for i := range 2 {
		if alert := signIn(t, ctx, s, "not-the-password"); !strings.Contains(alert, "authentication information is incorrect") {
			t.Fatalf("failed sign-in %d: alert %q", i+1, alert)
		}
	}
	if alert := signIn(t, ctx, s, cairntest.ConsolePassword); alert != "" {
		t.Fatalf("sign-in with the right password: %q", alert)
	}
	if h1, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`h1`))); err != nil || h1 != "Dashboard" {
		t.Fatalf("after sign-in: h1 %q, %v", h1, err)
	}

	// The failures are ConsoleLogin events as AWS records them, through the aws CLI.
	var failures, successes int
	cairntest.WaitFor(t, 10*time.Second, "three ConsoleLogin events in LookupEvents", func() bool {
		failures, successes = 0, 0
		for _, e := range awsLookup(t, s, "AttributeKey=EventName,AttributeValue=ConsoleLogin").Events {
			var rec struct {
				EventSource, EventType, ErrorMessage string
				ResponseElements                     struct{ ConsoleLogin string }
				AdditionalEventData                  struct{ MFAUsed string }
			}
			if err := json.Unmarshal([]byte(e.CloudTrailEvent), &rec); err != nil {
				t.Fatal(err)
			}
			if rec.EventSource != "signin.amazonaws.com" || rec.EventType != "AwsConsoleSignIn" || rec.AdditionalEventData.MFAUsed != "No" {
				t.Errorf("ConsoleLogin record %s", e.CloudTrailEvent)
			}
			switch {
			case rec.ResponseElements.ConsoleLogin == "Failure" && rec.ErrorMessage == "Failed authentication":
				failures++
			case rec.ResponseElements.ConsoleLogin == "Success" && rec.ErrorMessage == "":
				successes++
			}
		}
		return failures+successes >= 3
	})
	if failures != 2 || successes != 1 {
		t.Errorf("ConsoleLogin events: %d failures, %d successes; want 2 and 1", failures, successes)
	}

	// Event history filtered by EventName shows exactly those events.
	err = chromedp.Do(ctx,
		chromedp.Navigate(s.Endpoint+"/console/events"),
		chromedp.WaitVisible(chromedp.CSS(`#f-EventName`)),
		chromedp.SendKeys(chromedp.CSS(`#f-EventName`), "ConsoleLogin"),
		submit(`#f-EventName`),
		chromedp.WaitVisible(chromedp.CSS(`table tbody tr`)),
	)
	if err != nil {
		t.Fatalf("filter event history: %v", err)
	}
	names, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('table tbody tr td:nth-child(2)')].map(td => td.textContent.trim())`))
	if err != nil {
		t.Fatalf("filter event history: %v", err)
	}
	if len(names) != 3 {
		t.Errorf("event history filtered by EventName ConsoleLogin: %d rows %v, want 3", len(names), names)
	}
	for _, n := range names {
		if n != "ConsoleLogin" {
			t.Errorf("row with event name %q in a ConsoleLogin filter", n)
		}
	}

	// Create a trail in the console; the API sees it, logging.
	err = chromedp.Do(ctx,
		chromedp.Navigate(s.Endpoint+"/console/trails/new"),
		chromedp.WaitVisible(chromedp.CSS(`#name`)),
		chromedp.SendKeys(chromedp.CSS(`#name`), "console-trail"),
		chromedp.SendKeys(chromedp.CSS(`#bucket`), "console-trail-bucket"),
		submit(`#bucket`),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	if err != nil {
		t.Fatalf("create a trail: %v", err)
	}
	flash, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.flash`)))
	if err != nil {
		t.Fatalf("create a trail: %v", err)
	}
	if !strings.Contains(flash, "Created trail console-trail") {
		t.Errorf("after creating a trail: %q", flash)
	}
	aws := cairntest.Tool(t, "/usr/bin/aws")
	cmd := exec.Command(aws, "cloudtrail", "get-trail-status", "--name", "console-trail", "--endpoint-url", s.Endpoint, "--output", "json")
	cmd.Env = s.Env()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, stderrOf(err))
	}
	var status struct{ IsLogging bool }
	if err := json.Unmarshal(out, &status); err != nil || !status.IsLogging {
		t.Errorf("get-trail-status: %s (%v)", out, err)
	}
	// The console's change is recorded as the API call it stands for.
	cairntest.WaitFor(t, 10*time.Second, "CreateTrail recorded", func() bool {
		for _, e := range awsLookup(t, s, "AttributeKey=EventName,AttributeValue=CreateTrail").Events {
			if e.Username == "root" && strings.Contains(e.CloudTrailEvent, `"console-trail"`) {
				return true
			}
		}
		return false
	})

	// Signing out ends the session.
	err = chromedp.Do(ctx,
		chromedp.Navigate(s.Endpoint+"/console/"),
		chromedp.Click(chromedp.CSS(`header form button`)),
		chromedp.WaitVisible(chromedp.CSS(`#password`)),
		chromedp.Navigate(s.Endpoint+"/console/events"),
		chromedp.WaitVisible(chromedp.CSS(`#password`)),
	)
	if err != nil {
		t.Fatalf("sign out: %v", err)
	}
}
