package console

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/cairn-dev/cairn/internal/iam"
	"github.com/cairn-dev/cairn/internal/recorder"
)

type signInData struct {
	Account, User, Next string
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// safeNext keeps a post-sign-in redirect inside the console (no open redirect).
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return Prefix
	}
	return next
}

func (c *Console) signInPage(w http.ResponseWriter, r *http.Request) {
	c.renderSignIn(w, r, http.StatusOK, signInData{Next: safeNext(r.URL.Query().Get("next"))}, "")
}

// renderSignIn shows the form with a fresh CSRF token in a cookie and the form (double submit):
// before signing in there is no session to hold it.
func (c *Console) renderSignIn(w http.ResponseWriter, r *http.Request, status int, d signInData, msg string) {
	token := randomToken()
	setCookie(w, r, signInCookie, token, 3600)
	c.render(w, r, status, "signin", "Sign in", page{CSRF: token, Error: msg, Data: d})
}

// failedSignIn is all a failed sign-in says, whatever failed, as AWS's sign-in page.
const failedSignIn = "Your authentication information is incorrect. Please try again. After 5 failed attempts in a row a user is locked out for 15 minutes."

func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	ck, err := r.Cookie(signInCookie)
	if err != nil || !validCSRF(ck.Value, r.PostFormValue(csrfField)) {
		c.renderSignIn(w, r, http.StatusForbidden, signInData{Next: Prefix}, "The sign-in form expired. Please try again.")
		return
	}
	d := signInData{Account: strings.TrimSpace(r.PostFormValue("account")), User: strings.TrimSpace(r.PostFormValue("user")),
		Next: safeNext(r.PostFormValue("next"))}
	if d.Account == "" || r.PostFormValue("password") == "" {
		c.renderSignIn(w, r, http.StatusBadRequest, d, "Enter your account ID or alias, user name and password.")
		return
	}
	a, err := c.cfg.Accounts.SignIn(r.Context(), d.Account, d.User, r.PostFormValue("password"), r.PostFormValue("mfa"))
	ok := err == nil
	if err != nil && !errors.Is(err, iam.ErrFailedAuthentication) {
		// cairn failed, not the user: record it as the failure it is to the user.
		c.cfg.Logger.Error("console: sign-in", "err", err)
	}
	if !ok {
		c.cfg.Logger.Info("console: failed sign-in", "account", d.Account, "user", d.User, "reason", a.Reason, "source", clientIP(r))
	}
	account := c.cfg.Operator
	if a.Account {
		account = a.AccountID
	}
	if _, rerr := c.cfg.Recorder.RecordSignIn(r.Context(), recorder.SignIn{
		Time: c.cfg.Now(), Identity: a.Identity(ok), Account: account, Region: c.cfg.Region,
		SourceIP: clientIP(r), UserAgent: r.UserAgent(), Success: ok, MFAUsed: a.MFAUsed, MFADevice: a.MFADevice(),
		LoginTo: consoleURL(r),
	}); rerr != nil {
		// An unrecorded sign-in must not succeed.
		c.internal(w, r, "record the sign-in", rerr)
		return
	}
	if !ok {
		c.renderSignIn(w, r, http.StatusUnauthorized, d, failedSignIn)
		return
	}
	token := c.sessions.create(a.Principal(a.AccountID == c.cfg.Operator), a.MFAUsed, c.cfg.Region)
	setCookie(w, r, sessionCookie, token, int(c.cfg.SessionMax.Seconds()))
	setCookie(w, r, signInCookie, "", -1)
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}

func (c *Console) signOut(w http.ResponseWriter, r *http.Request) {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		c.sessions.delete(ck.Value)
	}
	setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, Prefix+"signin", http.StatusSeeOther)
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func consoleURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + Prefix
}
