package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"time"
)

// benchConsole measures the console's pages as a browser loads them (one HTML response each;
// the stylesheet is static and cached) over a history of --events events.
func benchConsole(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var bf benchFlags
	var loads int
	fs := flag.NewFlagSet("bench console", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bf.register(fs, 1_000_000)
	fs.IntVar(&loads, "loads", 50, "loads per page")
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
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	get := func(path string) (int, error) {
		req, _ := http.NewRequestWithContext(ctx, "GET", s.endpoint+path, nil)
		req.Header.Set("Accept", "text/html")
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return int(n), err
	}
	if err := benchSignIn(ctx, hc, s.endpoint); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(uint64(bf.seed), 12))
	pick := func(list []string) string {
		if len(list) == 0 {
			return "none"
		}
		return list[rng.IntN(len(list))]
	}
	day := func() string {
		d := smp.start.Add(time.Duration(rng.IntN(88)) * 24 * time.Hour)
		return url.Values{"range": {"custom"}, "start": {d.Format("2006-01-02T15:04")}, "end": {d.Add(24 * time.Hour).Format("2006-01-02T15:04")}}.Encode()
	}
	pages := []struct {
		name string
		path func() string
	}{
		{"sign-in page", func() string { return "/console/signin" }},
		{"dashboard, last day (first page)", func() string { return "/console/" }},
		{"dashboard, last 7 days", func() string { return "/console/?range=168h" }},
		{"dashboard, last 30 days", func() string { return "/console/?range=720h" }},
		{"event history, newest 50", func() string { return "/console/events" }},
		{"event history, EventName", func() string { return "/console/events?EventName=ConsoleLogin" }},
		{"event history, Username + 1 day", func() string { return "/console/events?Username=" + url.QueryEscape(pick(smp.usernames)) + "&" + day() }},
		{"event detail", func() string { return "/console/events/" + pick(smp.eventIDs) }},
		{"trails", func() string { return "/console/trails" }},
	}
	fmt.Fprintf(stdout, "cairn bench console — %s — %s\n", time.Now().UTC().Format("2006-01-02"), machine())
	fmt.Fprintf(stdout, "  history: %d events over 89 days, 3 accounts × 3 regions; one page load (the HTML) at a time over HTTP\n", recorded)
	for range 5 { // warm up the connection and DuckDB's caches
		get("/console/events")
	}
	for _, p := range pages {
		var lat []time.Duration
		size := 0
		for range loads {
			t := time.Now()
			n, err := get(p.path())
			if err != nil {
				return fmt.Errorf("%s: %w", p.name, err)
			}
			lat = append(lat, time.Since(t))
			size += n
		}
		fmt.Fprintf(stdout, "  %-34s p50 %7s  p99 %7s  max %7s  (%d KB)\n", p.name,
			ms(percentile(lat, .5)), ms(percentile(lat, .99)), ms(percentile(lat, 1)), size/loads/1024)
	}
	return nil
}

var benchCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// benchSignIn signs in to the console as the bench account's root user.
func benchSignIn(ctx context.Context, hc *http.Client, endpoint string) error {
	resp, err := hc.Get(endpoint + "/console/signin")
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := benchCSRF.FindSubmatch(body)
	if m == nil {
		return fmt.Errorf("console sign-in page has no form token")
	}
	resp, err = hc.PostForm(endpoint+"/console/signin", url.Values{"csrf": {string(m[1])}, "account": {benchAccount},
		"user": {"root"}, "password": {benchPassword}})
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/console/" {
		return fmt.Errorf("console sign-in failed: ended at %s (%s)", resp.Request.URL, resp.Status)
	}
	return nil
}
