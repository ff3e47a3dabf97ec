// Package console is cairn's web console: server-rendered pages over the same domain packages
// the AWS API uses (history, trail, iam), signed in with a password and optional MFA, every
// sign-in recorded as a CloudTrail ConsoleLogin event. It is a wire protocol like internal/api:
// it parses forms and renders HTML; decisions stay in the domain packages.
//
// Adding a page: a handler file (see trails.go), a template in templates/ that defines
// "content", a route in routes, and a navigation entry in navItems.
package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/cairn-dev/cairn/internal/history"
	"github.com/cairn-dev/cairn/internal/iam"
	"github.com/cairn-dev/cairn/internal/lake"
	"github.com/cairn-dev/cairn/internal/logs"
	"github.com/cairn-dev/cairn/internal/metrics"
	"github.com/cairn-dev/cairn/internal/notify"
	"github.com/cairn-dev/cairn/internal/recorder"
	"github.com/cairn-dev/cairn/internal/trail"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Prefix is where the console is served.
const Prefix = "/console/"

// Accounts is what the console needs of internal/iam.
type Accounts interface {
	SignIn(ctx context.Context, accountIDOrAlias, userName, password, mfaCode string) (iam.Attempt, error)
	Authorize(ctx context.Context, p iam.Principal, action, resource string) (iam.Decision, error)
}

// Config is what the console serves.
type Config struct {
	Accounts Accounts
	Recorder *recorder.Recorder // ConsoleLogin events
	Auditor  *recorder.Auditor  // changes made in the console, recorded as their API calls
	History  *history.Index
	Operator string // the account operating cairn
	Region   string // the region the console starts in
	Regions  []string
	Logger   *slog.Logger
	Now      func() time.Time

	Trails *trail.Manager // nil hides the trails pages
	Lake   *lake.Lake     // nil hides the Lake pages

	// Monitoring (monitor.go); each nil hides its pages.
	LogGroups *logs.Store     // log groups and metric filters
	Metrics   *metrics.Store  // alarms
	Notify    *notify.Service // topics and subscriptions

	SessionIdle time.Duration // default 1h
	SessionMax  time.Duration // default 12h
}

// Console serves the console's pages.
type Console struct {
	cfg      Config
	nav      []navItem
	mux      *http.ServeMux
	pages    map[string]*template.Template
	sessions *sessions
	samples  []lake.Sample // the Lake page's sample queries
}

// navItem is one entry of the navigation bar.
type navItem struct {
	Page, Title, Path string
}

// navItems lists the console's sections in order; features that are not configured are left
// out.
func (c *Console) navItems() []navItem {
	items := []navItem{
		{"dashboard", "Dashboard", Prefix},
		{"events", "Event history", Prefix + "events"},
	}
	if c.cfg.Trails != nil {
		items = append(items, navItem{"trails", "Trails", Prefix + "trails"})
	}
	if c.cfg.Lake != nil {
		items = append(items, navItem{"lake", "Lake", Prefix + "lake"})
	}
	items = append(items, c.monitorNav()...)
	return items
}

// New returns the console for cfg.
func New(cfg Config) (*Console, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if len(cfg.Regions) == 0 {
		cfg.Regions = []string{cfg.Region}
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = time.Hour
	}
	if cfg.SessionMax <= 0 {
		cfg.SessionMax = 12 * time.Hour
	}
	c := &Console{cfg: cfg, mux: http.NewServeMux(), sessions: newSessions(cfg.SessionIdle, cfg.SessionMax, cfg.Now)}
	if err := c.parseTemplates(); err != nil {
		return nil, err
	}
	if cfg.Lake != nil {
		var err error
		if c.samples, err = lake.Samples(); err != nil {
			return nil, err
		}
	}
	c.nav = c.navItems()
	c.routes()
	return c, nil
}

func (c *Console) routes() {
	static, _ := fs.Sub(staticFS, "static")
	c.mux.Handle("GET "+Prefix+"static/", http.StripPrefix(Prefix+"static/", immutable(http.FileServerFS(static))))
	c.mux.HandleFunc("GET "+Prefix+"signin", c.signInPage)
	c.mux.HandleFunc("POST "+Prefix+"signin", c.signIn)
	c.mux.HandleFunc("POST "+Prefix+"signout", c.auth(c.signOut))
	// Event history and the dashboard read what LookupEvents answers.
	lookup := func(h http.HandlerFunc) http.HandlerFunc { return c.view(cloudtrailSource, "LookupEvents", nil, h) }
	c.mux.HandleFunc("GET "+Prefix+"{$}", lookup(c.dashboard))
	c.mux.HandleFunc("GET "+Prefix+"events", lookup(c.events))
	c.mux.HandleFunc("GET "+Prefix+"events/download", lookup(c.download))
	c.mux.HandleFunc("GET "+Prefix+"events/{id}", lookup(c.eventDetail))
	if c.cfg.Trails != nil {
		c.mux.HandleFunc("GET "+Prefix+"trails", c.view(cloudtrailSource, "DescribeTrails", nil, c.trails))
		c.mux.HandleFunc("GET "+Prefix+"trails/new", c.auth(c.trailForm))
		c.mux.HandleFunc("POST "+Prefix+"trails/new", c.auth(c.createTrail))
		c.mux.HandleFunc("GET "+Prefix+"trails/{name}", c.view(cloudtrailSource, "GetTrail", func(r *http.Request) string {
			return trailARN(r, r.PathValue("name"))
		}, c.trailForm))
		c.mux.HandleFunc("POST "+Prefix+"trails/{name}", c.auth(c.updateTrail))
		c.mux.HandleFunc("POST "+Prefix+"trails/{name}/delete", c.auth(c.deleteTrail))
		c.mux.HandleFunc("POST "+Prefix+"trails/{name}/logging", c.auth(c.setLogging))
	}
	c.lakeRoutes()
	c.monitorRoutes()
	c.mux.HandleFunc(Prefix, c.auth(func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, http.StatusNotFound, "There is no console page at "+r.URL.Path+".")
	}))
}

func immutable(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

// ServeHTTP serves the console with its security headers: no external requests, no framing,
// no scripts at all (the console needs none).
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	c.mux.ServeHTTP(w, r)
}

// Mount returns a handler serving the console under Prefix and api everywhere else, except that
// a browser asking for / is sent to the console. AWS clients never GET / unsigned: their calls
// are signed POSTs (or presigned GETs, which carry X-Amz-Signature), so they still reach api.
func (c *Console) Mount(api http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(Prefix, c)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		if isBrowser(r) {
			http.Redirect(w, r, Prefix, http.StatusFound)
			return
		}
		api.ServeHTTP(w, r)
	})
	// Browsers ask for /favicon.ico on their own; answer it here rather than as an unsigned API
	// call (which would be audited as one).
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix+"static/favicon.svg", http.StatusMovedPermanently)
	})
	mux.Handle("/", api)
	return mux
}

func isBrowser(r *http.Request) bool {
	q := r.URL.Query()
	return r.Header.Get("Authorization") == "" && r.Header.Get("X-Amz-Target") == "" &&
		q.Get("X-Amz-Signature") == "" && q.Get("Action") == "" && strings.Contains(r.Header.Get("Accept"), "text/html")
}

// page is what every template gets.
type page struct {
	Title   string
	Page    string
	Nav     []navItem
	Session *session
	CSRF    string
	Flash   string
	Error   string
	Data    any
}

var funcs = template.FuncMap{
	"time": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05")
	},
	"datetimeLocal": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02T15:04")
	},
}

func (c *Console) parseTemplates() error {
	c.pages = map[string]*template.Template{}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/chart.html")
	if err != nil {
		return fmt.Errorf("console templates: %w", err)
	}
	files, _ := fs.Glob(templateFS, "templates/*.html")
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(f, "templates/"), ".html")
		if name == "layout" || name == "chart" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, f)
		if err != nil {
			return fmt.Errorf("console template %s: %w", name, err)
		}
		c.pages[name] = t
	}
	return nil
}

// render writes a page. Pages are small: rendered to memory first, so a template error becomes
// a clean 500 rather than half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name, title string, p page) {
	t, ok := c.pages[name]
	if !ok {
		panic("console: no template " + name)
	}
	p.Title, p.Page = title, name
	if s := sessionFrom(r); s != nil {
		p.Session, p.CSRF = s, s.csrf
		p.Nav = c.nav
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout.html", p); err != nil {
		c.cfg.Logger.Error("console: render", "page", name, "err", err)
		http.Error(w, "The page could not be rendered.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write([]byte(b.String()))
}

// fail renders an error page that names what went wrong.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	c.render(w, r, status, "error", http.StatusText(status), page{Error: msg})
}

// internal logs err and tells the user cairn failed (not them), unless the user's policies
// refused what they asked: every page's error path ends here, so a refusal is shown as one.
func (c *Console) internal(w http.ResponseWriter, r *http.Request, what string, err error) {
	var denied *iam.AccessDenied
	if errors.As(err, &denied) {
		c.fail(w, r, http.StatusForbidden, denied.Code()+": "+denied.Error())
		return
	}
	c.cfg.Logger.Error("console: "+what, "err", err, "path", r.URL.Path)
	c.fail(w, r, http.StatusInternalServerError, "cairn could not "+what+": "+err.Error())
}
