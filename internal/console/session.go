package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"

	"github.com/cairn-dev/cairn/internal/iam"
)

// Cookie names. The session cookie is HttpOnly, SameSite=Strict, scoped to the console, and
// Secure whenever the console is served over TLS.
const (
	sessionCookie = "cairn_session"
	signInCookie  = "cairn_signin" // the sign-in form's CSRF token, before there is a session
	csrfField     = "csrf"
)

// session is one signed-in browser.
type session struct {
	Principal iam.Principal
	MFA       bool
	Region    string
	created   time.Time
	seen      time.Time
	csrf      string
}

// Who names the signed-in principal as the console shows it.
func (s *session) Who() string {
	if s.Principal.UserName == "" {
		return "root"
	}
	return s.Principal.UserName
}

// sessions are kept in memory: a restart signs everyone out, which is the safe direction.
type sessions struct {
	idle, max time.Duration
	now       func() time.Time

	mu sync.Mutex
	m  map[[32]byte]*session // by SHA-256 of the cookie's token
}

func newSessions(idle, max time.Duration, now func() time.Time) *sessions {
	return &sessions{idle: idle, max: max, now: now, m: map[[32]byte]*session{}}
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session and returns its cookie token.
func (ss *sessions) create(p iam.Principal, mfa bool, region string) string {
	token := randomToken()
	now := ss.now()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	// Expired sessions are dropped here, so the map stays the size of the live sessions.
	for k, s := range ss.m {
		if ss.expired(s, now) {
			delete(ss.m, k)
		}
	}
	ss.m[sha256.Sum256([]byte(token))] = &session{Principal: p, MFA: mfa, Region: region, created: now, seen: now, csrf: randomToken()}
	return token
}

func (ss *sessions) expired(s *session, now time.Time) bool {
	return now.Sub(s.seen) > ss.idle || now.Sub(s.created) > ss.max
}

// get returns the live session of token, marking it used.
func (ss *sessions) get(token string) *session {
	k := sha256.Sum256([]byte(token))
	now := ss.now()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.m[k]
	if !ok {
		return nil
	}
	if ss.expired(s, now) {
		delete(ss.m, k)
		return nil
	}
	s.seen = now
	return s
}

func (ss *sessions) delete(token string) {
	ss.mu.Lock()
	delete(ss.m, sha256.Sum256([]byte(token)))
	ss.mu.Unlock()
}

type ctxKey struct{}

func sessionFrom(r *http.Request) *session {
	s, _ := r.Context().Value(ctxKey{}).(*session)
	return s
}

// auth requires a session, sending the browser to sign in otherwise, and checks the CSRF token
// of every request that changes something.
func (c *Console) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var s *session
		if ck, err := r.Cookie(sessionCookie); err == nil {
			s = c.sessions.get(ck.Value)
		}
		if s == nil {
			if r.Method != http.MethodGet {
				c.fail(w, r, http.StatusForbidden, "Your session has ended. Sign in again and repeat the change.")
				return
			}
			http.Redirect(w, r, Prefix+"signin?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, s))
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !validCSRF(s.csrf, r.PostFormValue(csrfField)) {
			c.fail(w, r, http.StatusForbidden, "The form's security token is missing or out of date. Reload the page and try again.")
			return
		}
		h(w, r)
	}
}

// validCSRF compares the form's token with the expected one in constant time.
func validCSRF(want, got string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: Prefix, MaxAge: maxAge,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}
