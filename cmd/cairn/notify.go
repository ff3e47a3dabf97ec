package main

import (
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cairn-dev/cairn/internal/notify"
)

// notifyFlags are serve's SNS settings.
type notifyFlags struct {
	publicURL    string // base of SigningCertURL, SubscribeURL, UnsubscribeURL
	smtpAddr     string
	smtpFrom     string
	smtpUsername string
	smtpStartTLS bool
	endpointCA   string // extra CA certificates for https endpoints
}

func (c *serveConfig) registerNotifyFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.notify.publicURL, "public-url", "", "URL at which SNS endpoints reach cairn: base of SigningCertURL, SubscribeURL and UnsubscribeURL (default http://<listen address>)")
	fs.StringVar(&c.notify.smtpAddr, "smtp-addr", "", "SMTP server (host:port) for email and email-json subscriptions; without it those protocols are refused")
	fs.StringVar(&c.notify.smtpFrom, "smtp-from", "no-reply@sns.cairn.local", "sender address of SNS mail")
	fs.StringVar(&c.notify.smtpUsername, "smtp-username", "", "SMTP AUTH PLAIN user name; the password is read from $CAIRN_SMTP_PASSWORD")
	fs.BoolVar(&c.notify.smtpStartTLS, "smtp-starttls", false, "require STARTTLS (it is used whenever the server offers it)")
	fs.StringVar(&c.notify.endpointCA, "sns-endpoint-ca", "", "PEM file of CA certificates trusted for https subscription endpoints, besides the system's")
}

func (c *serveConfig) validateNotify() []string {
	var problems []string
	if c.notify.publicURL != "" {
		u, err := url.Parse(c.notify.publicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			problems = append(problems, fmt.Sprintf("--public-url %q: want http(s)://host[:port], without a path", c.notify.publicURL))
		}
	}
	if c.notify.smtpAddr != "" {
		if _, _, err := net.SplitHostPort(c.notify.smtpAddr); err != nil {
			problems = append(problems, fmt.Sprintf("--smtp-addr %q: want host:port, e.g. localhost:25", c.notify.smtpAddr))
		}
		if at := strings.LastIndexByte(c.notify.smtpFrom, '@'); at <= 0 || at == len(c.notify.smtpFrom)-1 {
			problems = append(problems, fmt.Sprintf("--smtp-from %q: want an email address", c.notify.smtpFrom))
		}
	}
	if c.notify.smtpUsername != "" && os.Getenv("CAIRN_SMTP_PASSWORD") == "" {
		problems = append(problems, "--smtp-username needs the password in $CAIRN_SMTP_PASSWORD")
	}
	if c.notify.endpointCA != "" {
		if _, err := os.Stat(c.notify.endpointCA); err != nil {
			problems = append(problems, fmt.Sprintf("--sns-endpoint-ca: %v", err))
		}
	}
	return problems
}

// openNotify builds the SNS service; listen is the bound address, the default public URL.
func openNotify(cfg serveConfig, db *sql.DB, listen string, reg prometheus.Registerer, log *slog.Logger) (*notify.Service, error) {
	signer, err := notify.LoadSigner(filepath.Join(cfg.data, "keys", "sns"))
	if err != nil {
		return nil, err
	}
	public := cfg.notify.publicURL
	if public == "" {
		public = "http://" + listen
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.notify.endpointCA != "" {
		pem, err := os.ReadFile(cfg.notify.endpointCA)
		if err != nil {
			return nil, fmt.Errorf("--sns-endpoint-ca: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--sns-endpoint-ca %s: no PEM certificates", cfg.notify.endpointCA)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	var mailer notify.Mailer
	if cfg.notify.smtpAddr != "" {
		mailer = &notify.SMTP{Addr: cfg.notify.smtpAddr, From: cfg.notify.smtpFrom, Username: cfg.notify.smtpUsername,
			Password: os.Getenv("CAIRN_SMTP_PASSWORD"), StartTLS: cfg.notify.smtpStartTLS}
	}
	return notify.New(notify.Options{DB: db, Signer: signer, PublicURL: public, Mailer: mailer,
		HTTPClient: &http.Client{Timeout: 15 * time.Second, Transport: tr}, Logger: log, Registry: reg}), nil
}
