// Package logs is CloudWatch Logs: log groups and streams holding log events, retention,
// metric filters that turn matching events into metric data, and the feed that streams a
// trail's events into its log group. Everything lives in meta.sqlite (migrations 0050–0059):
// a PutLogEvents batch is one transaction, and the trail feed commits its journal position
// with the events it adds.
package logs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/cairn-dev/cairn/internal/metrics"
)

// Error is a request the caller got wrong; Kind says which AWS exception it is.
type Error struct {
	Kind    error
	Message string
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Kind }

func errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Kinds of Error, named as the AWS exceptions the API maps them to.
var (
	ErrInvalidParameter = errors.New("InvalidParameterException")
	ErrNotFound         = errors.New("ResourceNotFoundException")
	ErrAlreadyExists    = errors.New("ResourceAlreadyExistsException")
	ErrLimitExceeded    = errors.New("LimitExceededException")
)

// MetricSink receives the metric data metric filters produce. internal/metrics' Store
// implements it; a nil sink drops the data (metric filters still validate and test).
type MetricSink interface {
	Put(ctx context.Context, data []metrics.Datum) error
}

// Options configure a Store. Zero values take the defaults.
type Options struct {
	Sink   MetricSink
	Logger *slog.Logger
	Now    func() time.Time
	// MaxGroups caps log groups per account and region (AWS: 1,000,000; cairn: 10,000).
	MaxGroups int
}

// Store is the log groups of every account and region.
type Store struct {
	db   *sql.DB
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	filters map[int64][]*compiledFilter // by group ID; loaded on first use

	// Group commit of PutLogEvents (see commitPut).
	commitMu sync.Mutex
	queueMu  sync.Mutex
	queue    []*putRequest
}

// NewStore returns a store over meta.sqlite.
func NewStore(db *sql.DB, opts Options) *Store {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxGroups <= 0 {
		opts.MaxGroups = 10000
	}
	return &Store{db: db, opts: opts, log: opts.Logger, filters: map[int64][]*compiledFilter{}}
}

// SetSink replaces the metric sink (serve wires internal/metrics after opening it).
func (s *Store) SetSink(sink MetricSink) {
	s.mu.Lock()
	s.opts.Sink = sink
	s.mu.Unlock()
}

func (s *Store) sink() MetricSink {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts.Sink
}

// Scope is the account and region a call acts in.
type Scope struct {
	Account string
	Region  string
}

func (sc Scope) groupARN(name string) string {
	return "arn:aws:logs:" + sc.Region + ":" + sc.Account + ":log-group:" + name
}

// GroupARN is a log group's ARN as DescribeLogGroups' arn member shows it (with ":*").
func GroupARN(account, region, name string) string {
	return "arn:aws:logs:" + region + ":" + account + ":log-group:" + name + ":*"
}

// ParseGroupARN splits arn:aws:logs:REGION:ACCOUNT:log-group:NAME[:*].
func ParseGroupARN(arn string) (account, region, name string, err error) {
	f := strings.SplitN(arn, ":", 7)
	if len(f) != 7 || f[0] != "arn" || f[2] != "logs" || f[5] != "log-group" || f[3] == "" || f[4] == "" {
		return "", "", "", errorf(ErrInvalidParameter, "%q is not a log group ARN: want arn:aws:logs:<region>:<account>:log-group:<name>[:*].", arn)
	}
	name = strings.TrimSuffix(f[6], ":*")
	if err := validGroupName(name); err != nil {
		return "", "", "", err
	}
	return f[4], f[3], name, nil
}

var (
	groupNameRE  = regexp.MustCompile(`^[.\-_/#A-Za-z0-9]+$`)
	streamNameRE = regexp.MustCompile(`^[^:*]*$`)
)

func validGroupName(name string) error {
	if name == "" || len(name) > 512 {
		return errorf(ErrInvalidParameter, "1 validation error detected: Value '%s' at 'logGroupName' failed to satisfy constraint: Member must have length between 1 and 512.", name)
	}
	if !groupNameRE.MatchString(name) {
		return errorf(ErrInvalidParameter, "1 validation error detected: Value '%s' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+ (letters, digits and . - _ / # only).", name)
	}
	return nil
}

func validStreamName(name string) error {
	if name == "" || len(name) > 512 {
		return errorf(ErrInvalidParameter, "1 validation error detected: Value '%s' at 'logStreamName' failed to satisfy constraint: Member must have length between 1 and 512.", name)
	}
	if !streamNameRE.MatchString(name) {
		return errorf(ErrInvalidParameter, "1 validation error detected: Value '%s' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]* (no ':' or '*').", name)
	}
	return nil
}

func (s *Store) nowMS() int64 { return s.opts.Now().UnixMilli() }

// inTx runs f in a transaction.
func (s *Store) inTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
