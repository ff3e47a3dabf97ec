package lake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
	"github.com/google/uuid"

	"github.com/cairn-dev/cairn/internal/lake/lakesql"
)

// Query statuses (QueryStatus).
const (
	QueryQueued    = "QUEUED"
	QueryRunning   = "RUNNING"
	QueryFinished  = "FINISHED"
	QueryFailed    = "FAILED"
	QueryCancelled = "CANCELLED"
	QueryTimedOut  = "TIMED_OUT"
)

var queryStatuses = []string{QueryQueued, QueryRunning, QueryFinished, QueryFailed, QueryCancelled, QueryTimedOut}

const (
	// maxActiveQueries is AWS's limit on queries queued or running at once, per account and Region.
	maxActiveQueries = 10
	// queryRetention is how long queries and their results are kept.
	queryRetention = 7 * 24 * time.Hour
	maxPageRows    = 1000
	resultBatch    = 1000
)

// Query is a Lake query and what it found.
type Query struct {
	ID              string
	Account, Region string
	Statement       string
	Status          string
	ErrorMessage    string
	Created         time.Time
	Finished        time.Time
	Stats           QueryStats
	ResultCount     int
	Columns         []string
	Stores          []string
	sealStore       string
}

// QueryStats is what DescribeQuery and GetQueryResults report of a query's work.
type QueryStats struct {
	EventsMatched   int64 // rows the scans of the stores returned, after the query's filters
	EventsScanned   int64 // rows the scans read (row groups skipped by time bounds are not read)
	BytesScanned    int64 // bytes of column data the scans returned
	ExecutionMillis int64
}

func (q *Query) terminal() bool {
	return q.Status != QueryQueued && q.Status != QueryRunning
}

// plan is a statement ready to run.
type plan struct {
	sql       string
	columns   []string
	types     []*colType
	stores    []*Store
	sealStore string // the encrypted store (if any) whose data key seals the results
}

// prepare checks a statement and turns it into DuckDB SQL: the rewrite, DuckDB's parse checked by
// lakesql.Check, and a DESCRIBE, which binds every name without running anything.
func (l *Lake) prepare(ctx context.Context, c Caller, statement string) (*plan, error) {
	var stores []*Store
	allowed := map[string]bool{}
	resolve := func(id string) (string, error) {
		s, err := l.resolve(c, id)
		if err != nil {
			return "", err
		}
		if s.Status == StatusPendingDeletion {
			return "", fail(ErrInactiveStore, "Event data store %s is pending deletion and cannot be queried.", s.ID)
		}
		if s.encrypted() {
			if _, ok := l.dataKey(s.ID); !ok {
				return "", fail(ErrKms, "Event data store %s is encrypted with %s, which is not available to this cairn.", s.ID, s.KmsKeyID)
			}
		}
		if !allowed[s.table()] {
			stores = append(stores, s)
			allowed[s.table()] = true
		}
		return "main." + s.table(), nil
	}
	st, err := lakesql.Rewrite(statement, resolve)
	if err != nil {
		return nil, invalidQuery(err)
	}
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var ast string
	if err := conn.QueryRowContext(ctx, `SELECT CAST(json_serialize_sql(CAST($1 AS VARCHAR)) AS VARCHAR)`, st.SQL).Scan(&ast); err != nil {
		return nil, fmt.Errorf("parse query: %w", err)
	}
	shape, err := lakesql.Check([]byte(ast), func(schema, table string) bool {
		return (schema == "" || schema == "main") && allowed[table]
	})
	if err != nil {
		return nil, invalidQuery(err)
	}
	if len(st.Stores) == 0 {
		return nil, fail(ErrInvalidQuery, "The query names no event data store: write the store's ID in FROM, e.g. SELECT eventName FROM EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE.")
	}
	rows, err := conn.QueryContext(ctx, "DESCRIBE "+st.SQL)
	if err != nil {
		return nil, invalidQuery(&lakesql.ParseError{Msg: cleanDuckError(err)})
	}
	defer rows.Close()
	p := &plan{stores: stores}
	var duckNames, typeNames []string
	cols, _ := rows.Columns()
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		name, _ := vals[0].(string)
		typ, _ := vals[1].(string)
		duckNames = append(duckNames, name)
		typeNames = append(typeNames, typ)
	}
	if err := rows.Err(); err != nil {
		return nil, invalidQuery(&lakesql.ParseError{Msg: cleanDuckError(err)})
	}
	p.columns = shape.ColumnNames(duckNames)
	// JSON values reach Go decoded; cast them to their text in DuckDB instead.
	wrap := false
	sel := make([]string, len(typeNames))
	alias := make([]string, len(typeNames))
	for i, tn := range typeNames {
		alias[i] = "c" + strconv.Itoa(i)
		sel[i] = alias[i]
		if tt := textType(tn); tt != "" {
			sel[i] = fmt.Sprintf("CAST(%s AS %s)", alias[i], tt)
			tn, wrap = tt, true
		}
		p.types = append(p.types, parseType(tn))
	}
	p.sql = st.SQL
	if wrap {
		p.sql = fmt.Sprintf("SELECT %s FROM (%s) AS lake_q(%s)", strings.Join(sel, ", "), st.SQL, strings.Join(alias, ", "))
	}
	for _, s := range stores {
		if s.encrypted() {
			p.sealStore = s.ID
			break
		}
	}
	return p, nil
}

// invalidQuery maps a statement the SQL layer rejected to InvalidQueryStatementException, keeping
// resolver errors (an unknown store…) as they are.
func invalidQuery(err error) error {
	var le *Error
	if errors.As(err, &le) {
		return err
	}
	if lakesql.IsSyntax(err) {
		return fail(ErrInvalidQuery, "%s", err.Error())
	}
	return err
}

// cleanDuckError trims DuckDB's error to its first paragraph (dropping the echo of the SQL and
// candidate lists that name internal columns). An encrypted store is a view inside, which DuckDB
// calls a values list; to the user every store is a table.
func cleanDuckError(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, "\n\n"); i > 0 {
		msg = msg[:i]
	}
	msg = strings.ReplaceAll(msg, `Values list "`, `Table "`)
	return strings.TrimSpace(msg)
}

// StartOptions are StartQuery's other parameters.
type StartOptions struct {
	DeliveryS3Uri string
	QueryAlias    string
	HasParameters bool
	OwnerAccount  string
}

// StartQuery checks a statement and queues it. Statements that do not parse, that name columns
// or functions that do not exist, or that try to leave the sandbox fail here, with the reason.
func (l *Lake) StartQuery(ctx context.Context, c Caller, statement string, o StartOptions) (string, error) {
	switch {
	case o.DeliveryS3Uri != "":
		return "", fail(ErrInvalidParameter, "cairn keeps query results for GetQueryResults and cannot deliver them to S3; omit DeliveryS3Uri.")
	case o.QueryAlias != "" || o.HasParameters:
		return "", fail(ErrInvalidParameter, "QueryAlias and QueryParameters run dashboard queries; cairn has no dashboards. Pass QueryStatement.")
	case o.OwnerAccount != "" && o.OwnerAccount != c.Account:
		return "", fail(ErrInvalidParameter, "EventDataStoreOwnerAccountId %s: cairn queries only the caller's own event data stores (account %s).", o.OwnerAccount, c.Account)
	case strings.TrimSpace(statement) == "":
		return "", fail(ErrInvalidParameter, "QueryStatement is required.")
	}
	p, err := l.prepare(ctx, c, statement)
	if err != nil {
		return "", err
	}
	q := &Query{ID: uuid.NewString(), Account: c.Account, Region: c.Region, Statement: statement, Status: QueryQueued,
		Created: l.now().UTC(), Columns: p.columns, sealStore: p.sealStore}
	for _, s := range p.stores {
		q.Stores = append(q.Stores, s.ID)
	}
	if err := l.queries.admit(q); err != nil {
		return "", err
	}
	if err := l.queries.save(ctx, q); err != nil {
		l.queries.done(q.ID)
		return "", err
	}
	l.queries.enqueue(q.ID)
	return q.ID, nil
}

// queries runs queries: a queue, a few workers, and the record of each query in meta.sqlite.
type queries struct {
	l *Lake

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []string
	active  map[string]*active // queued or running
	stopped bool
	wg      sync.WaitGroup
}

type active struct {
	account, region string
	cancel          context.CancelCauseFunc // set while running
	done            chan struct{}
}

var errCancelled = errors.New("cancelled by CancelQuery")

func newQueries(l *Lake) *queries {
	qs := &queries{l: l, active: map[string]*active{}}
	qs.cond = sync.NewCond(&qs.mu)
	for i := 0; i < l.opts.QueryWorkers; i++ {
		qs.wg.Add(1)
		go qs.worker()
	}
	return qs
}

func (qs *queries) stop() {
	qs.mu.Lock()
	qs.stopped = true
	for _, a := range qs.active {
		if a.cancel != nil {
			a.cancel(context.Canceled)
		}
	}
	qs.cond.Broadcast()
	qs.mu.Unlock()
	qs.wg.Wait()
}

// admit counts the query against its account's limit.
func (qs *queries) admit(q *Query) error {
	qs.mu.Lock()
	defer qs.mu.Unlock()
	n := 0
	for _, a := range qs.active {
		if a.account == q.Account && a.region == q.Region {
			n++
		}
	}
	if n >= maxActiveQueries {
		return fail(ErrMaxConcurrent, "You are already running the maximum number of concurrent queries (%d). Wait for some queries to finish, or cancel one, and run the query again.", maxActiveQueries)
	}
	qs.active[q.ID] = &active{account: q.Account, region: q.Region, done: make(chan struct{})}
	return nil
}

func (qs *queries) enqueue(id string) {
	qs.mu.Lock()
	qs.queue = append(qs.queue, id)
	qs.cond.Signal()
	qs.mu.Unlock()
}

func (qs *queries) done(id string) {
	qs.mu.Lock()
	if a, ok := qs.active[id]; ok {
		close(a.done)
		delete(qs.active, id)
	}
	qs.mu.Unlock()
}

func (qs *queries) save(ctx context.Context, q *Query) error {
	cols, _ := json.Marshal(q.Columns)
	tx, err := qs.l.meta.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO lake_queries (id, account_id, region, statement, status, created_at, columns, seal_store)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, q.ID, q.Account, q.Region, q.Statement, q.Status, formatTime(q.Created), string(cols), q.sealStore); err != nil {
		return fmt.Errorf("save query: %w", err)
	}
	for _, s := range q.Stores {
		if _, err := tx.ExecContext(ctx, `INSERT INTO lake_query_stores (query_id, store_id) VALUES (?, ?)`, q.ID, s); err != nil {
			return fmt.Errorf("save query: %w", err)
		}
	}
	return tx.Commit()
}

// recover queues again the queries a previous run left queued or running; their partial results
// are discarded.
func (qs *queries) recover(ctx context.Context) error {
	rows, err := qs.l.meta.QueryContext(ctx, `SELECT id, account_id, region FROM lake_queries WHERE status IN (?, ?) ORDER BY created_at`, QueryQueued, QueryRunning)
	if err != nil {
		return fmt.Errorf("lake: read unfinished queries: %w", err)
	}
	type unfinished struct{ id, account, region string }
	var list []unfinished
	for rows.Next() {
		var u unfinished
		if err := rows.Scan(&u.id, &u.account, &u.region); err != nil {
			rows.Close()
			return err
		}
		list = append(list, u)
	}
	rows.Close()
	for _, u := range list {
		if _, err := qs.l.meta.ExecContext(ctx, `DELETE FROM lake_query_results WHERE query_id = ?`, u.id); err != nil {
			return err
		}
		if _, err := qs.l.meta.ExecContext(ctx, `UPDATE lake_queries SET status = ?, result_count = 0 WHERE id = ?`, QueryQueued, u.id); err != nil {
			return err
		}
		qs.mu.Lock()
		qs.active[u.id] = &active{account: u.account, region: u.region, done: make(chan struct{})}
		qs.mu.Unlock()
		qs.enqueue(u.id)
	}
	if len(list) > 0 {
		qs.l.log.Info("lake: queued again the queries a previous run left unfinished", "queries", len(list))
	}
	return nil
}

func (qs *queries) worker() {
	defer qs.wg.Done()
	for {
		qs.mu.Lock()
		for len(qs.queue) == 0 && !qs.stopped {
			qs.cond.Wait()
		}
		if qs.stopped {
			qs.mu.Unlock()
			return
		}
		id := qs.queue[0]
		qs.queue = qs.queue[1:]
		a, ok := qs.active[id]
		if !ok { // cancelled while queued
			qs.mu.Unlock()
			continue
		}
		ctx, cancel := context.WithCancelCause(context.Background())
		a.cancel = cancel
		qs.mu.Unlock()
		qs.execute(ctx, id)
		cancel(nil)
		qs.done(id)
	}
}

// execute runs one query and records its outcome.
func (qs *queries) execute(ctx context.Context, id string) {
	l := qs.l
	q, err := l.loadQuery(context.Background(), id)
	if err != nil {
		l.log.Error("lake: query vanished before it ran", "query", id, "err", err)
		return
	}
	if q.Status != QueryQueued {
		return
	}
	start := time.Now()
	if _, err := l.meta.ExecContext(ctx, `UPDATE lake_queries SET status = ? WHERE id = ? AND status = ?`, QueryRunning, id, QueryQueued); err != nil {
		l.log.Error("lake: starting query", "query", id, "err", err)
		return
	}
	var stats QueryStats
	count, err := qs.run(ctx, q, &stats)
	stats.ExecutionMillis = time.Since(start).Milliseconds()
	status, msg := QueryFinished, ""
	switch {
	case err == nil:
	case errors.Is(context.Cause(ctx), errCancelled):
		status = QueryCancelled
	case errors.Is(context.Cause(ctx), context.Canceled):
		return // cairn is stopping: the next start runs it again
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(context.Cause(ctx), context.DeadlineExceeded):
		status, msg = QueryTimedOut, fmt.Sprintf("The query ran longer than the %v limit and was stopped; %d rows it returned before are kept.", l.opts.QueryTimeout, count)
	default:
		status, msg = QueryFailed, errorMessage(err)
	}
	_, err = l.meta.ExecContext(context.Background(), `UPDATE lake_queries SET status = ?, error_message = ?, finished_at = ?, events_matched = ?,
		events_scanned = ?, bytes_scanned = ?, execution_ms = ?, result_count = ? WHERE id = ?`,
		status, msg, formatTime(l.now()), stats.EventsMatched, stats.EventsScanned, stats.BytesScanned, stats.ExecutionMillis, count, id)
	if err != nil {
		l.log.Error("lake: recording query outcome", "query", id, "err", err)
	}
}

// errorMessage is what a failed query reports: DuckDB's message, within the API's 1000 characters.
func errorMessage(err error) string {
	msg := err.Error()
	var le *Error
	if !errors.As(err, &le) {
		msg = cleanDuckError(err)
	}
	if len(msg) > 1000 {
		msg = msg[:997] + "..."
	}
	if len(msg) < 4 {
		msg = "query failed: " + msg
	}
	return msg
}

// run executes q, storing its rows, and returns how many it stored.
func (qs *queries) run(ctx context.Context, q *Query, stats *QueryStats) (int, error) {
	l := qs.l
	c := Caller{Account: q.Account, Region: q.Region}
	p, err := l.prepare(ctx, c, q.Statement)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeoutCause(ctx, l.opts.QueryTimeout, context.DeadlineExceeded)
	defer cancel()
	seal := l.sealer(p.sealStore)
	var batch [][]byte
	stored := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		tx, err := l.meta.BeginTx(context.Background(), nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		for i, row := range batch {
			if _, err := tx.Exec(`INSERT INTO lake_query_results (query_id, row_no, data) VALUES (?, ?, ?)`, q.ID, stored+i, row); err != nil {
				return fmt.Errorf("store results: %w", err)
			}
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("store results: %w", err)
		}
		stored += len(batch)
		batch = batch[:0]
		return nil
	}
	err = l.stream(ctx, p, stats, func(row []string) error {
		if stored+len(batch) >= l.opts.MaxResultRows {
			return fail(ErrInvalidQuery, "The query returns more than %d rows, the most cairn keeps; add LIMIT or narrow it. The first %d rows are kept.", l.opts.MaxResultRows, l.opts.MaxResultRows)
		}
		b, _ := json.Marshal(row)
		batch = append(batch, seal(b))
		if len(batch) >= resultBatch {
			return flush()
		}
		return nil
	})
	if ferr := flush(); err == nil {
		err = ferr
	}
	return stored, err
}

// sealer returns how result rows of a query over storeID are stored: sealed with the store's data
// key when it is encrypted, so results are as unreadable without the key as the events.
func (l *Lake) sealer(storeID string) func([]byte) []byte {
	if storeID == "" {
		return func(b []byte) []byte { return b }
	}
	aead, _ := l.dataKey(storeID)
	return func(b []byte) []byte { return seal(aead, b, []byte("result\x00"+storeID)) }
}

func (l *Lake) unsealer(storeID string) (func([]byte) ([]byte, error), error) {
	if storeID == "" {
		return func(b []byte) ([]byte, error) { return b, nil }, nil
	}
	aead, ok := l.dataKey(storeID)
	if !ok {
		return nil, fail(ErrKms, "The results of this query are encrypted with the key of event data store %s, which is not available.", storeID)
	}
	return func(b []byte) ([]byte, error) { return open(aead, b, []byte("result\x00"+storeID)) }, nil
}

// stream runs a plan, calling fn with each row rendered as strings, and fills stats from DuckDB's
// profile of the run.
func (l *Lake) stream(ctx context.Context, p *plan, stats *QueryStats, fn func([]string) error) error {
	conn, err := l.db.Conn(context.Background())
	if err != nil {
		return err
	}
	defer conn.Close()
	profiling := stats != nil
	if profiling {
		if _, err := conn.ExecContext(ctx, `PRAGMA enable_profiling = 'no_output'`); err != nil {
			profiling = false
		} else {
			defer conn.ExecContext(context.Background(), `PRAGMA disable_profiling`)
			conn.ExecContext(ctx, `SET custom_profiling_settings = '{"OPERATOR_CARDINALITY":"true","OPERATOR_ROWS_SCANNED":"true","OPERATOR_TYPE":"true","RESULT_SET_SIZE":"true"}'`)
		}
	}
	rows, err := conn.QueryContext(ctx, p.sql)
	if err != nil {
		return err
	}
	vals := make([]any, len(p.types))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			rows.Close()
			return err
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			row[i] = formatValue(v, p.types[i])
		}
		if err := fn(row); err != nil {
			rows.Close()
			return err
		}
	}
	err = rows.Err()
	rows.Close()
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if profiling {
		if info, perr := duckdb.GetProfilingInfo(conn); perr == nil {
			addScanStats(info, stats)
		}
	}
	return err
}

// addScanStats sums what the table scans of a profile read and returned.
func addScanStats(info duckdb.ProfilingInfo, stats *QueryStats) {
	if info.Metrics["OPERATOR_TYPE"] == "TABLE_SCAN" {
		n := func(k string) int64 { v, _ := strconv.ParseInt(info.Metrics[k], 10, 64); return v }
		stats.EventsScanned += n("OPERATOR_ROWS_SCANNED")
		stats.EventsMatched += n("OPERATOR_CARDINALITY")
		stats.BytesScanned += n("RESULT_SET_SIZE")
	}
	for _, c := range info.Children {
		addScanStats(c, stats)
	}
}

// Execute runs a statement at once, streaming its rows to fn with the result's column names,
// and returns the column names (also when there are no rows): cairn query --offline uses it.
func (l *Lake) Execute(ctx context.Context, c Caller, statement string, fn func(cols, row []string) error) ([]string, error) {
	p, err := l.prepare(ctx, c, statement)
	if err != nil {
		return nil, err
	}
	return p.columns, l.stream(ctx, p, nil, func(row []string) error { return fn(p.columns, row) })
}
