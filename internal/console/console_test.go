package console

import (
	"context"
	"crypto/tls"
	"database/sql"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/event"
	"github.com/cairn-dev/cairn/internal/iam"
	"github.com/cairn-dev/cairn/internal/journal"
	"github.com/cairn-dev/cairn/internal/meta"
	"github.com/cairn-dev/cairn/internal/recorder"
)

const (
	testAccount  = "111122223333"
	testPassword = "console-password-1"
)

type fixture struct {
	t        *testing.T
	c        *Console
	j        *journal.Journal
	db       *sql.DB
	accounts *iam.Store
	rec      *recorder.Recorder
	now      time.Time
}

// newFixture starts a console over fresh stores; configure adds to its Config.
func newFixture(t *testing.T, configure ...func(f *fixture, cfg *Config)) *fixture {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	db, err := meta.Open(ctx, filepath.Join(dir, "meta.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	accounts, err := iam.NewStore(db, filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.Bootstrap(ctx, iam.BootstrapConfig{AccountID: testAccount, ConsolePassword: testPassword}); err != nil {
		t.Fatal(err)
	}
	j, err := journal.Open(filepath.Join(dir, "journal"), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	f := &fixture{t: t, j: j, db: db, accounts: accounts, rec: recorder.New(j, recorder.Options{Logger: slog.New(slog.DiscardHandler)}), now: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
	cfg := Config{Accounts: accounts, Recorder: f.rec, Operator: testAccount,
		Now: func() time.Time { return f.now }, Logger: slog.New(slog.DiscardHandler)}
	for _, c := range configure {
		c(f, &cfg)
	}
	f.c, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// client is a browser: it keeps cookies and reads CSRF tokens from forms.
type client struct {
	f       *fixture
	cookies map[string]*http.Cookie
	tls     bool
}

func (f *fixture) client() *client { return &client{f: f, cookies: map[string]*http.Cookie{}} }

// post submits a form from the page at from, with the page's CSRF token.
func (cl *client) post(from, action string, form url.Values) *httptest.ResponseRecorder {
	cl.f.t.Helper()
	form.Set("csrf", csrfOf(cl.f.t, cl.do("GET", from, nil)))
	return cl.do("POST", action, form)
}

func (cl *client) do(method, path string, form url.Values) *httptest.ResponseRecorder {
	var r *http.Request
	if form != nil {
		r = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, path, nil)
	}
	if cl.tls {
		r.TLS = &tls.ConnectionState{}
	}
	for _, c := range cl.cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	cl.f.c.ServeHTTP(w, r)
	for _, c := range w.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(cl.cookies, c.Name)
		} else {
			cl.cookies[c.Name] = c
		}
	}
	return w
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(w.Body.String())
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%s", w.Body)
	}
	return m[1]
}

func (cl *client) signIn(password string) *httptest.ResponseRecorder {
	return cl.signInAs("root", password)
}

func (cl *client) signInAs(user, password string) *httptest.ResponseRecorder {
	token := csrfOf(cl.f.t, cl.do("GET", "/console/signin", nil))
	return cl.do("POST", "/console/signin", url.Values{"csrf": {token}, "account": {testAccount}, "user": {user}, "password": {password}})
}

// signIns returns the ConsoleLogin records in the journal.
func (f *fixture) signIns() []*event.Record { return f.records("ConsoleLogin") }

// records returns the journal's records of the event named name, or all of them for "".
func (f *fixture) records(name string) []*event.Record {
	c := f.j.Cursor(0)
	defer c.Close()
	var out []*event.Record
	for {
		ents, err := c.TryNext(1000, 1<<20)
		if err != nil {
			f.t.Fatal(err)
		}
		if len(ents) == 0 {
			return out
		}
		for _, e := range ents {
			_, raw, err := event.OpenEnvelope(e.Data)
			if err != nil {
				f.t.Fatal(err)
			}
			r, err := event.Parse(append([]byte(nil), raw...))
			if err != nil {
				f.t.Fatal(err)
			}
			if name == "" || r.EventName == name {
				out = append(out, r)
			}
		}
	}
}

func TestSignInAndCookies(t *testing.T) {
	f := newFixture(t)
	for _, secure := range []bool{false, true} {
		cl := f.client()
		cl.tls = secure
		w := cl.signIn(testPassword)
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/" {
			t.Fatalf("sign-in: %d %s\n%s", w.Code, w.Header().Get("Location"), w.Body)
		}
		c := cl.cookies[sessionCookie]
		if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure != secure || c.Path != Prefix {
			t.Errorf("TLS %v: session cookie %+v", secure, c)
		}
	}
	recs := f.signIns()
	if len(recs) != 2 || string(recs[0].ResponseElements) != `{"ConsoleLogin":"Success"}` {
		t.Errorf("recorded %d sign-ins, first %s", len(recs), recs[0].Raw)
	}
}

func TestCSRF(t *testing.T) {
	f := newFixture(t)
	// Sign-in without the form's token (a cross-site post) is refused and attempts nothing.
	cl := f.client()
	w := cl.do("POST", "/console/signin", url.Values{"account": {testAccount}, "user": {"root"}, "password": {testPassword}})
	if w.Code != http.StatusForbidden || cl.cookies[sessionCookie] != nil {
		t.Errorf("sign-in without CSRF token: %d", w.Code)
	}
	if n := len(f.signIns()); n != 0 {
		t.Errorf("%d sign-ins recorded for a refused form", n)
	}
	// A signed-in form without the session's token is refused; with it, accepted.
	cl.signIn(testPassword)
	if w := cl.do("POST", "/console/signout", url.Values{}); w.Code != http.StatusForbidden {
		t.Errorf("sign-out without CSRF token: %d", w.Code)
	}
	if w := cl.do("POST", "/console/signout", url.Values{"csrf": {"forged"}}); w.Code != http.StatusForbidden {
		t.Errorf("sign-out with a wrong CSRF token: %d", w.Code)
	}
	if cl.cookies[sessionCookie] == nil {
		t.Fatal("session ended by a forged form")
	}
	w = cl.do("GET", "/console/nowhere", nil)
	token := csrfOf(t, w)
	if w := cl.do("POST", "/console/signout", url.Values{"csrf": {token}}); w.Code != http.StatusSeeOther {
		t.Errorf("sign-out: %d", w.Code)
	}
	if w := cl.do("GET", "/console/", nil); w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/console/signin") {
		t.Errorf("after sign-out: %d %s", w.Code, w.Header().Get("Location"))
	}
}

// Repeated failures lock the user out, every attempt (the locked ones too) is recorded as a
// ConsoleLogin failure, and the lock-out ends on its own.
func TestLockoutRecorded(t *testing.T) {
	f := newFixture(t)
	cl := f.client()
	for range iam.LockoutThreshold {
		if w := cl.signIn("wrong-password"); w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "authentication information is incorrect") {
			t.Fatalf("wrong password: %d", w.Code)
		}
	}
	if w := cl.signIn(testPassword); w.Code != http.StatusUnauthorized {
		t.Fatalf("locked out, right password: %d", w.Code)
	}
	recs := f.signIns()
	if len(recs) != iam.LockoutThreshold+1 {
		t.Fatalf("%d ConsoleLogin records, want %d", len(recs), iam.LockoutThreshold+1)
	}
	for _, r := range recs {
		if r.ErrorMessage != "Failed authentication" || string(r.ResponseElements) != `{"ConsoleLogin":"Failure"}` || r.EventType != "AwsConsoleSignIn" {
			t.Errorf("record %s", r.Raw)
		}
	}
}

func TestSessionExpiry(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	ss := newSessions(time.Hour, 3*time.Hour, func() time.Time { return now })
	tok := ss.create(iam.Principal{AccountID: testAccount}, false, "us-east-1")
	for i := range 5 {
		now = now.Add(50 * time.Minute)
		s := ss.get(tok)
		if want := i < 3; (s != nil) != want { // used every 50 min: alive until the 3 h cap
			t.Errorf("after %d min: session %v, want alive %v", (i+1)*50, s != nil, want)
		}
	}
	tok = ss.create(iam.Principal{AccountID: testAccount}, false, "us-east-1")
	now = now.Add(61 * time.Minute)
	if ss.get(tok) != nil {
		t.Error("idle session still alive")
	}
	if ss.get("made-up") != nil {
		t.Error("unknown token has a session")
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/console/events?x=1": "/console/events?x=1", "": "/console/", "https://evil.example/": "/console/",
		"//evil.example/console/": "/console/", "/console/\\evil": "/console/", "/other": "/console/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMountSplitsBrowsersFromAWS(t *testing.T) {
	f := newFixture(t)
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) })
	h := f.c.Mount(api)
	tests := []struct {
		name, method, target string
		header               map[string]string
		want                 int
	}{
		{"browser GET /", "GET", "/", map[string]string{"Accept": "text/html,application/xhtml+xml"}, http.StatusFound},
		{"signed POST /", "POST", "/", map[string]string{"Authorization": "AWS4-HMAC-SHA256 Credential=x", "X-Amz-Target": "CloudTrail_20131101.LookupEvents"}, 299},
		{"presigned GET /", "GET", "/?X-Amz-Signature=abc&Action=GetCallerIdentity", map[string]string{"Accept": "text/html"}, 299},
		{"unsigned GET / without HTML", "GET", "/", nil, 299},
		{"console", "GET", "/console/signin", nil, http.StatusOK},
		{"other API path", "GET", "/healthz", nil, 299},
		{"favicon", "GET", "/favicon.ico", nil, http.StatusMovedPermanently},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, tt.target, nil)
		for k, v := range tt.header {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, w.Code, tt.want)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t)
	w := f.client().do("GET", "/console/signin", nil)
	csp := w.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
	if strings.Contains(w.Body.String(), "http://") || strings.Contains(w.Body.String(), "https://") {
		t.Error("the sign-in page refers to an external URL")
	}
}

// FuzzParseFilter: any query string gives a filter or problems to show, never a panic, and a
// filter's query string parses back to the same filter.
func FuzzParseFilter(f *testing.F) {
	f.Add("EventName=ConsoleLogin&range=24h")
	f.Add("range=custom&start=2026-01-02T03:04&end=2026-13-40T99:99")
	f.Add("range=-5h&ReadOnly=maybe&region=%00")
	c := &Console{cfg: Config{Now: func() time.Time { return time.Unix(1_800_000_000, 0) }}}
	s := &session{Region: "us-east-1"}
	f.Fuzz(func(t *testing.T, q string) {
		r := httptest.NewRequest("GET", "/console/events", nil)
		r.URL.RawQuery = q
		flt, problems := c.parseFilter(r, s)
		if len(problems) > 0 {
			return
		}
		r2 := httptest.NewRequest("GET", "/console/events?"+flt.Query(), nil)
		again, problems := c.parseFilter(r2, s)
		if len(problems) > 0 || again.Query() != flt.Query() {
			t.Fatalf("round trip of %q: %q → %q %v", q, flt.Query(), again.Query(), problems)
		}
	})
}
