// Package api is cairn's one HTTP listener: the AWS protocols (SigV4 on every call, AWS error
// shapes and exception names), native ingest, health and metrics. Wire formats stay here;
// domain packages never see HTTP. Every call is recorded as a CloudTrail event (self-audit).
package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cairn-dev/cairn/internal/api/awsproto"
	"github.com/cairn-dev/cairn/internal/api/ingest"
	"github.com/cairn-dev/cairn/internal/event"
	"github.com/cairn-dev/cairn/internal/history"
	"github.com/cairn-dev/cairn/internal/iam"
	"github.com/cairn-dev/cairn/internal/iam/sigv4"
	"github.com/cairn-dev/cairn/internal/integrity"
	"github.com/cairn-dev/cairn/internal/lake"
	"github.com/cairn-dev/cairn/internal/logs"
	cw "github.com/cairn-dev/cairn/internal/metrics"
	"github.com/cairn-dev/cairn/internal/notify"
	"github.com/cairn-dev/cairn/internal/objstore"
	"github.com/cairn-dev/cairn/internal/recorder"
	"github.com/cairn-dev/cairn/internal/trail"
)

// Accounts resolves access keys to principals and secrets, and decides what principals may do.
type Accounts interface {
	Lookup(ctx context.Context, keyID string) (iam.Principal, string, error)
	Authorize(ctx context.Context, p iam.Principal, action, resource string) (iam.Decision, error)
}

// Config is what the server serves.
type Config struct {
	Accounts Accounts
	Recorder *recorder.Recorder
	Auditor  *recorder.Auditor
	History  *history.Index
	Lake     *lake.Lake // nil: no Lake operations
	// Operator is the account that operates cairn; calls from unknown callers are recorded in it.
	Operator string
	Logger   *slog.Logger
	Registry *prometheus.Registry // metrics are registered here and served at /metrics
	Now      func() time.Time
	MaxSkew  time.Duration // SigV4 clock skew; default 15 minutes

	// Trails (issue 4).
	Trails        *trail.Store
	Delivery      *trail.Deliverer
	Objects       objstore.Store
	Keys          *integrity.Keyring
	CreateBuckets bool // CreateTrail creates a missing bucket instead of failing

	// CloudWatch Logs (issue 6).
	Logs *logs.Store
	// CloudWatch metrics and alarms (issue 7).
	Metrics *cw.Store
	// SNS (issue 7): topics, subscriptions, delivery.
	Notify *notify.Service
	// The read side of AWS Organizations; nil: not served.
	Organizations Organizations
}

// Server handles HTTP requests.
type Server struct {
	cfg      Config
	verifier *sigv4.Verifier
	mux      *http.ServeMux
	metrics  *metrics

	cloudtrailOps map[string]operation
	logsOps       map[string]operation
	cloudwatchOps map[string]cwOperation
	snsOps        map[string]operation
	trails        *trail.Manager
}

// Body limits: AWS JSON operations are small; ingest batches can be large.
const (
	maxRPCBody    = 8 << 20
	maxIngestBody = 64 << 20
)

// New returns a server for cfg.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), metrics: newMetrics(cfg.Registry)}
	s.verifier = &sigv4.Verifier{
		Lookup: func(ctx context.Context, id string) (string, error) {
			_, sec, err := cfg.Accounts.Lookup(ctx, id)
			return sec, err
		},
		MaxSkew: cfg.MaxSkew,
		Now:     cfg.Now,
	}
	s.trails = &trail.Manager{Store: cfg.Trails, Delivery: cfg.Delivery, Objects: cfg.Objects, CreateBuckets: cfg.CreateBuckets, Now: cfg.Now, Logger: cfg.Logger}
	if cfg.Logs != nil {
		s.trails.LogGroups = cfg.Logs
	}
	s.cloudtrailOps = s.cloudtrailOperations()
	s.logsOps = s.logsOperations()
	if cfg.Metrics != nil {
		s.cloudwatchOps = s.cloudwatchOperations()
	}
	s.snsOps = s.snsOperations()
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{Registry: cfg.Registry}))
	s.mux.HandleFunc("POST "+ingest.Path, s.aws)
	s.mux.HandleFunc("POST "+ingest.ConfigItemsPath, s.aws)
	s.mux.HandleFunc("/", s.aws)
	if cfg.Notify != nil {
		s.mux.HandleFunc("GET "+cfg.Notify.CertPath(), s.snsCert)
		s.mux.HandleFunc("GET /{$}", s.snsLink)
	}
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok\n")
}

// call is one AWS-protocol request on its way through the server.
type call struct {
	r         *http.Request
	w         http.ResponseWriter
	id        string // request ID, also the event's requestID
	start     time.Time
	body      []byte
	auth      sigv4.Authorization
	principal iam.Principal
	known     bool // principal resolved from the access key

	// Filled by the operation for the self-audit record.
	service   string // eventSource prefix, e.g. "cloudtrail"
	op        string
	readOnly  bool
	data      bool
	query     *awsproto.Query // awsQuery operations
	params    []byte          // requestParameters JSON
	response  []byte          // responseElements JSON
	errorCode string
	errorMsg  string
	status    int
}

func (s *Server) aws(w http.ResponseWriter, r *http.Request) {
	c := &call{r: r, w: w, id: uuid.NewString(), start: time.Now(), status: http.StatusOK}
	w.Header().Set("x-amzn-RequestId", c.id)
	defer s.finish(c)

	limit := int64(maxRPCBody)
	if r.URL.Path == ingest.Path || r.URL.Path == ingest.ConfigItemsPath {
		limit = maxIngestBody
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		c.fail(awsproto.Errorf("SerializationException", "Could not read the request body: %v.", err), jsonError)
		return
	}
	if int64(len(body)) > limit {
		c.fail(&awsproto.Error{Code: "RequestEntityTooLargeException", Message: fmt.Sprintf("The request body exceeds the %d-byte limit.", limit), Status: http.StatusRequestEntityTooLarge}, jsonError)
		return
	}
	c.body = body

	auth, err := s.verifier.Verify(r.Context(), r, body)
	c.auth = auth
	c.service = auth.Service
	if auth.AccessKeyID != "" {
		if p, _, lerr := s.cfg.Accounts.Lookup(r.Context(), auth.AccessKeyID); lerr == nil {
			c.principal, c.known = p, true
		}
	}
	if err != nil {
		c.op = operationName(r)
		write := jsonError
		if auth.Service == "sns" {
			write = snsError
		}
		c.fail(authError(err, c.id), write)
		if !errors.As(err, new(*sigv4.Error)) {
			s.cfg.Logger.Error("signature verification failed", "request", c.id, "err", err)
		}
		return
	}

	switch {
	case r.URL.Path == ingest.Path && auth.Service == ingest.SigningName:
		s.putEvents(c)
	case r.URL.Path == ingest.ConfigItemsPath && auth.Service == ingest.SigningName:
		s.putConfigItems(c)
	case auth.Service == cloudtrailDataSigningName:
		s.cloudtrailData(c)
	case auth.Service == "cloudtrail":
		s.cloudtrail(c)
	case auth.Service == "logs":
		s.logs(c)
	case auth.Service == "monitoring" && s.cfg.Metrics != nil:
		s.cloudwatch(c) // awsQuery, JSON 1.0, and RPC v2 CBOR at /service/…/operation/<Op>
	case auth.Service == "sns":
		s.sns(c)
	case auth.Service == "organizations" && s.cfg.Organizations != nil:
		s.organizations(c)
	default:
		c.fail(awsproto.Errorf("UnknownOperationException", "cairn does not serve the service %q signed for in this request.", auth.Service), jsonError)
	}
}

// errorWriter renders an error in the protocol of the operation that failed.
type errorWriter func(w http.ResponseWriter, e *awsproto.Error)

func jsonError(w http.ResponseWriter, e *awsproto.Error) { awsproto.WriteJSONError(w, "1.1", e) }

func (c *call) fail(e *awsproto.Error, write errorWriter) {
	c.errorCode, c.errorMsg, c.status = e.Code, e.Message, e.Status
	write(c.w, e)
}

// authError maps SigV4 failures to AWS's exceptions.
func authError(err error, requestID string) *awsproto.Error {
	var se *sigv4.Error
	msg := err.Error()
	if errors.As(err, &se) {
		msg = se.Message
	}
	switch {
	case errors.Is(err, sigv4.ErrMissingAuthentication):
		return &awsproto.Error{Code: "MissingAuthenticationTokenException", Message: msg, Status: http.StatusForbidden}
	case errors.Is(err, sigv4.ErrIncompleteSignature):
		return awsproto.Errorf("IncompleteSignatureException", "%s", msg)
	case errors.Is(err, sigv4.ErrUnknownAccessKey):
		return awsproto.Errorf("UnrecognizedClientException", "The security token included in the request is invalid.")
	case errors.Is(err, sigv4.ErrSignatureMismatch), errors.Is(err, sigv4.ErrSignatureExpired):
		return awsproto.Errorf("InvalidSignatureException", "%s", msg)
	}
	return awsproto.Internal(requestID)
}

// operationName guesses the operation of a request that failed before dispatch, for the record.
func operationName(r *http.Request) string {
	switch r.URL.Path {
	case ingest.Path:
		return "PutEvents"
	case ingest.ConfigItemsPath:
		return "PutConfigurationItems"
	case "/PutAuditEvents":
		return "PutAuditEvents"
	}
	if _, op, ok := awsproto.Target(r.Header.Get("X-Amz-Target")); ok {
		return op
	}
	if _, op, ok := awsproto.CBORPath(r.URL.Path); ok {
		return op
	}
	return "Unknown"
}

// finish records the call (self-audit) and its metrics.
func (s *Server) finish(c *call) {
	service := c.service
	if service == "" {
		service = "unknown"
	}
	took := time.Since(c.start)
	s.metrics.requests.WithLabelValues(service, c.op, fmt.Sprint(c.status)).Inc()
	s.metrics.duration.WithLabelValues(service, c.op).Observe(took.Seconds())
	if took > time.Second {
		s.cfg.Logger.Info("slow request", "request", c.id, "operation", c.op, "took", took)
	} else {
		s.cfg.Logger.Debug("request", "request", c.id, "operation", c.op, "took", took, "status", c.status)
	}
	if s.cfg.Auditor == nil || c.op == "" {
		return
	}
	account := s.cfg.Operator
	var identity *event.UserIdentity
	if c.known {
		account = c.principal.AccountID
		identity = c.principal.Identity()
	} else if c.auth.AccessKeyID != "" {
		identity = &event.UserIdentity{Type: "Unknown", AccessKeyID: c.auth.AccessKeyID}
	}
	region := c.auth.Region
	if region == "" {
		region = "us-east-1"
	}
	source := service
	if source == "unknown" {
		source = "cloudtrail"
	}
	s.cfg.Auditor.Audit(context.WithoutCancel(c.r.Context()), recorder.Call{
		Time: s.cfg.Now(), Identity: identity, Account: account, Region: region,
		Source: source + ".amazonaws.com", Name: c.op, ReadOnly: c.readOnly, Data: c.data,
		SourceIP: sourceIP(c.r), UserAgent: c.r.UserAgent(),
		RequestParameters: c.params, ResponseElements: c.response,
		ErrorCode: c.errorCode, ErrorMessage: c.errorMsg, RequestID: c.id,
	})
}

func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// isGzip reports whether b starts with the gzip magic number.
func isGzip(b []byte) bool { return bytes.HasPrefix(b, []byte{0x1f, 0x8b}) }
