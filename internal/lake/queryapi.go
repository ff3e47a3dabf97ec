package lake

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

var queryIDPattern = regexp.MustCompile(`^[a-f0-9\-]{36}$`)

func (l *Lake) loadQuery(ctx context.Context, id string) (*Query, error) {
	q := &Query{ID: id}
	var created, finished, cols string
	err := l.meta.QueryRowContext(ctx, `SELECT account_id, region, statement, status, error_message, created_at, finished_at,
		events_matched, events_scanned, bytes_scanned, execution_ms, result_count, columns, seal_store FROM lake_queries WHERE id = ?`, id).
		Scan(&q.Account, &q.Region, &q.Statement, &q.Status, &q.ErrorMessage, &created, &finished,
			&q.Stats.EventsMatched, &q.Stats.EventsScanned, &q.Stats.BytesScanned, &q.Stats.ExecutionMillis, &q.ResultCount, &cols, &q.sealStore)
	if err == sql.ErrNoRows {
		return nil, fail(ErrQueryNotFound, "Query %s does not exist.", id)
	}
	if err != nil {
		return nil, fmt.Errorf("read query %s: %w", id, err)
	}
	q.Created, q.Finished = parseTime(created), parseTime(finished)
	json.Unmarshal([]byte(cols), &q.Columns)
	rows, err := l.meta.QueryContext(ctx, `SELECT store_id FROM lake_query_stores WHERE query_id = ?`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		rows.Scan(&s)
		q.Stores = append(q.Stores, s)
	}
	return q, rows.Err()
}

// callerQuery returns the caller's query, refusing it while one of its stores is pending deletion
// (as AWS does).
func (l *Lake) callerQuery(ctx context.Context, c Caller, id string) (*Query, error) {
	if !queryIDPattern.MatchString(id) {
		return nil, fail(ErrInvalidParameter, "QueryId %q is not a query ID (36 characters: lower-case hex digits and hyphens).", id)
	}
	q, err := l.loadQuery(ctx, id)
	if err != nil {
		return nil, err
	}
	if q.Account != c.Account || q.Region != c.Region {
		return nil, fail(ErrQueryNotFound, "Query %s does not exist in account %s, region %s.", id, c.Account, c.Region)
	}
	for _, sid := range q.Stores {
		l.mu.RLock()
		s, ok := l.stores[sid]
		status := ""
		if ok {
			status = s.Status
		}
		l.mu.RUnlock()
		switch {
		case !ok:
			return nil, fail(ErrStoreNotFound, "Event data store %s, which query %s read, no longer exists.", sid, id)
		case status == StatusPendingDeletion:
			return nil, fail(ErrInactiveStore, "Event data store %s, which query %s read, is pending deletion.", sid, id)
		}
	}
	return q, nil
}

// DescribeQuery returns a query's status and statistics.
func (l *Lake) DescribeQuery(ctx context.Context, c Caller, id string) (*Query, error) {
	return l.callerQuery(ctx, c, id)
}

// ResultPage is one page of a query's results.
type ResultPage struct {
	Query     *Query
	Rows      [][]string
	NextToken string
}

// GetQueryResults returns a page of a query's rows. While the query is queued or running it
// returns its status and no rows; a TIMED_OUT or FAILED query returns the rows it produced.
func (l *Lake) GetQueryResults(ctx context.Context, c Caller, id, token string, maxResults int) (*ResultPage, error) {
	if maxResults == 0 {
		maxResults = maxPageRows
	}
	if maxResults < 1 || maxResults > maxPageRows {
		return nil, fail(ErrInvalidMaxResults, "MaxQueryResults %d is out of range: it must be between 1 and %d.", maxResults, maxPageRows)
	}
	q, err := l.callerQuery(ctx, c, id)
	if err != nil {
		return nil, err
	}
	from := 0
	if token != "" {
		key, err := decodeToken(token)
		if err != nil {
			return nil, err
		}
		qid, n, ok := strings.Cut(key, "/")
		from, err = strconv.Atoi(n)
		if !ok || qid != id || err != nil || from < 0 {
			return nil, fail(ErrInvalidNextToken, "NextToken does not continue the results of query %s.", id)
		}
	}
	page := &ResultPage{Query: q, Rows: [][]string{}}
	if !q.terminal() {
		return page, nil
	}
	unseal, err := l.unsealer(q.sealStore)
	if err != nil {
		return nil, err
	}
	rows, err := l.meta.QueryContext(ctx, `SELECT data FROM lake_query_results WHERE query_id = ? AND row_no >= ? ORDER BY row_no LIMIT ?`, id, from, maxResults)
	if err != nil {
		return nil, fmt.Errorf("read results of query %s: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		plain, err := unseal(data)
		if err != nil {
			return nil, fail(ErrKms, "A result row of query %s does not decrypt: %v", id, err)
		}
		var row []string
		if err := json.Unmarshal(plain, &row); err != nil {
			return nil, fmt.Errorf("results of query %s: %w", id, err)
		}
		page.Rows = append(page.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if next := from + len(page.Rows); next < q.ResultCount {
		page.NextToken = encodeToken(id + "/" + strconv.Itoa(next))
	}
	return page, nil
}

// CancelQuery stops a queued or running query.
func (l *Lake) CancelQuery(ctx context.Context, c Caller, id string) (*Query, error) {
	q, err := l.callerQuery(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if q.terminal() {
		return nil, fail(ErrInactiveQuery, "Query %s is %s; only QUEUED or RUNNING queries can be cancelled.", id, q.Status)
	}
	qs := l.queries
	qs.mu.Lock()
	a, ok := qs.active[id]
	if ok && a.cancel == nil {
		// Still queued: it never runs.
		close(a.done)
		delete(qs.active, id)
		qs.mu.Unlock()
		_, err := l.meta.ExecContext(ctx, `UPDATE lake_queries SET status = ?, finished_at = ? WHERE id = ? AND status = ?`,
			QueryCancelled, formatTime(l.now()), id, QueryQueued)
		if err != nil {
			return nil, err
		}
		return l.loadQuery(ctx, id)
	}
	if ok {
		a.cancel(errCancelled)
	}
	qs.mu.Unlock()
	if ok {
		select {
		case <-a.done:
		case <-time.After(10 * time.Second):
		case <-ctx.Done():
		}
	}
	return l.loadQuery(ctx, id)
}

// ListQueriesInput is ListQueries' input.
type ListQueriesInput struct {
	Store      string
	Start, End time.Time // zero: the last seven days
	Status     string
	MaxResults int
	NextToken  string
}

// ListQueries lists the queries of the last seven days that read a store, newest first.
func (l *Lake) ListQueries(ctx context.Context, c Caller, in ListQueriesInput) ([]*Query, string, error) {
	s, err := l.resolve(c, in.Store)
	if err != nil {
		return nil, "", err
	}
	if s.Status == StatusPendingDeletion {
		return nil, "", fail(ErrInactiveStore, "Event data store %s is pending deletion.", s.ID)
	}
	if in.MaxResults == 0 {
		in.MaxResults = 1000
	}
	if in.MaxResults < 1 || in.MaxResults > 1000 {
		return nil, "", fail(ErrInvalidMaxResults, "MaxResults %d is out of range: it must be between 1 and 1000.", in.MaxResults)
	}
	if in.Status != "" && !slices.Contains(queryStatuses, in.Status) {
		return nil, "", fail(ErrInvalidQueryStatus, "QueryStatus %q is not one of %s.", in.Status, strings.Join(queryStatuses, ", "))
	}
	now := l.now().UTC()
	start, end := in.Start, in.End
	if start.IsZero() {
		start = now.Add(-queryRetention)
	}
	if end.IsZero() {
		end = now
	}
	if start.After(end) {
		return nil, "", fail(ErrInvalidDateRange, "StartTime %s is after EndTime %s.", start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	q := `SELECT q.id, q.status, q.created_at FROM lake_queries q JOIN lake_query_stores s ON s.query_id = q.id
		WHERE s.store_id = ? AND q.account_id = ? AND q.created_at >= ? AND q.created_at <= ?`
	args := []any{s.ID, c.Account, formatTime(start), formatTime(end)}
	if in.Status != "" {
		q += ` AND q.status = ?`
		args = append(args, in.Status)
	}
	rows, err := l.meta.QueryContext(ctx, q+` ORDER BY q.created_at DESC, q.id`, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list queries: %w", err)
	}
	defer rows.Close()
	var all []*Query
	for rows.Next() {
		qq := &Query{}
		var created string
		if err := rows.Scan(&qq.ID, &qq.Status, &created); err != nil {
			return nil, "", err
		}
		qq.Created = parseTime(created)
		all = append(all, qq)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	return page(all, in.MaxResults, in.NextToken, func(q *Query) string { return q.ID })
}

// purge removes queries and results older than seven days.
func (qs *queries) purge(ctx context.Context) error {
	cutoff := formatTime(qs.l.now().Add(-queryRetention))
	_, err := qs.l.meta.ExecContext(ctx, `DELETE FROM lake_queries WHERE created_at < ? AND status NOT IN (?, ?)`, cutoff, QueryQueued, QueryRunning)
	return err
}
