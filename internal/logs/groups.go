package logs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// RetentionDays are the values PutRetentionPolicy accepts.
var RetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// MaxTags is the tag limit of a log group.
const MaxTags = 50

// Group is a log group.
type Group struct {
	ID                int64
	Account, Region   string
	Name              string
	CreationTime      int64 // ms
	RetentionInDays   int   // 0: never expire
	KmsKeyID          string
	MetricFilterCount int
	StoredBytes       int64
}

// ARN is the group's ARN ending in ":*", as DescribeLogGroups' arn shows it.
func (g *Group) ARN() string { return GroupARN(g.Account, g.Region, g.Name) }

// Stream is a log stream.
type Stream struct {
	ID                  int64
	Name                string
	CreationTime        int64
	FirstEventTimestamp int64 // 0: none yet
	LastEventTimestamp  int64
	LastIngestionTime   int64
	StoredBytes         int64
}

// CreateGroup creates a log group with tags.
func (s *Store) CreateGroup(ctx context.Context, sc Scope, name, kmsKeyID string, tags map[string]string) error {
	if err := validGroupName(name); err != nil {
		return err
	}
	if err := validTags(tags); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM log_groups WHERE account_id = ? AND region = ?`, sc.Account, sc.Region).Scan(&n); err != nil {
			return err
		}
		if n >= s.opts.MaxGroups {
			return errorf(ErrLimitExceeded, "Resource limit exceeded: this account has %d log groups in %s, the most cairn allows.", n, sc.Region)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO log_groups (account_id, region, name, created_ms, kms_key_id) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			sc.Account, sc.Region, name, s.nowMS(), kmsKeyID)
		if err != nil {
			return fmt.Errorf("create log group: %w", err)
		}
		if k, _ := res.RowsAffected(); k == 0 {
			return errorf(ErrAlreadyExists, "The specified log group already exists: %s.", name)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		return putTags(ctx, tx, id, tags)
	})
}

func validTags(tags map[string]string) error {
	if len(tags) > MaxTags {
		return errorf(ErrInvalidParameter, "A log group can have at most %d tags; %d were given.", MaxTags, len(tags))
	}
	for k, v := range tags {
		switch {
		case k == "" || len(k) > 128:
			return errorf(ErrInvalidParameter, "Tag key %q must be 1 to 128 characters long.", k)
		case strings.HasPrefix(k, "aws:"):
			return errorf(ErrInvalidParameter, "Tag key %q: keys starting with aws: are reserved.", k)
		case len(v) > 256:
			return errorf(ErrInvalidParameter, "The value of tag %q must be at most 256 characters long.", k)
		}
	}
	return nil
}

func putTags(ctx context.Context, tx *sql.Tx, id int64, tags map[string]string) error {
	for k, v := range tags {
		if _, err := tx.ExecContext(ctx, `INSERT INTO log_group_tags (group_id, key, value) VALUES (?, ?, ?) ON CONFLICT (group_id, key) DO UPDATE SET value = excluded.value`, id, k, v); err != nil {
			return fmt.Errorf("tag log group: %w", err)
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM log_group_tags WHERE group_id = ?`, id).Scan(&n); err != nil {
		return err
	}
	if n > MaxTags {
		return errorf(ErrInvalidParameter, "A log group can have at most %d tags; this request would leave %d.", MaxTags, n)
	}
	return nil
}

const groupColumns = `g.id, g.account_id, g.region, g.name, g.created_ms, coalesce(g.retention_days, 0), g.kms_key_id,
	(SELECT count(*) FROM metric_filters f WHERE f.group_id = g.id),
	(SELECT coalesce(sum(stored_bytes), 0) FROM log_streams st WHERE st.group_id = g.id)`

func scanGroup(row interface{ Scan(...any) error }) (*Group, error) {
	g := &Group{}
	err := row.Scan(&g.ID, &g.Account, &g.Region, &g.Name, &g.CreationTime, &g.RetentionInDays, &g.KmsKeyID, &g.MetricFilterCount, &g.StoredBytes)
	return g, err
}

type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// Group returns the named log group.
func (s *Store) Group(ctx context.Context, sc Scope, name string) (*Group, error) {
	return s.group(ctx, s.db, sc, name)
}

func (s *Store) group(ctx context.Context, q querier, sc Scope, name string) (*Group, error) {
	if err := validGroupName(name); err != nil {
		return nil, err
	}
	g, err := scanGroup(q.QueryRowContext(ctx, `SELECT `+groupColumns+` FROM log_groups g WHERE g.account_id = ? AND g.region = ? AND g.name = ?`, sc.Account, sc.Region, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errorf(ErrNotFound, "The specified log group does not exist: %s.", name)
	}
	if err != nil {
		return nil, fmt.Errorf("read log group %s: %w", name, err)
	}
	return g, nil
}

// GroupQuery selects log groups for DescribeLogGroups.
type GroupQuery struct {
	Prefix    string // logGroupNamePrefix
	Pattern   string // logGroupNamePattern: case-insensitive substring
	Limit     int    // 1–50; 0 = 50
	NextToken string
}

// DescribeGroups lists log groups in name order.
func (s *Store) DescribeGroups(ctx context.Context, sc Scope, q GroupQuery) ([]*Group, string, error) {
	if q.Prefix != "" && q.Pattern != "" {
		return nil, "", errorf(ErrInvalidParameter, "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
	}
	limit, err := pageLimit(q.Limit, 50)
	if err != nil {
		return nil, "", err
	}
	after, err := decodeNameToken(q.NextToken)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+groupColumns+` FROM log_groups g WHERE g.account_id = ? AND g.region = ? AND g.name > ?
		AND substr(g.name, 1, length(?)) = ? AND instr(lower(g.name), lower(?)) > 0 ORDER BY g.name LIMIT ?`,
		sc.Account, sc.Region, after, q.Prefix, q.Prefix, q.Pattern, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list log groups: %w", err)
	}
	defer rows.Close()
	var out []*Group
	for rows.Next() {
		g, err := scanGroup(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = encodeNameToken(out[limit-1].Name)
	}
	return out, next, nil
}

// DeleteGroup deletes a log group with its streams, events and metric filters.
func (s *Store) DeleteGroup(ctx context.Context, sc Scope, name string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		g, err := s.group(ctx, tx, sc, name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM log_events WHERE group_id = ?`, g.ID); err != nil {
			return fmt.Errorf("delete log events: %w", err)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM log_groups WHERE id = ?`, g.ID)
		s.forgetFilters(g.ID)
		return err
	})
	return err
}

// PutRetention sets how many days the group keeps events.
func (s *Store) PutRetention(ctx context.Context, sc Scope, name string, days int) error {
	if !validRetention(days) {
		return errorf(ErrInvalidParameter, "1 validation error detected: Value '%d' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: %v.", days, RetentionDays)
	}
	return s.setRetention(ctx, sc, name, days)
}

// DeleteRetention makes the group keep events forever.
func (s *Store) DeleteRetention(ctx context.Context, sc Scope, name string) error {
	return s.setRetention(ctx, sc, name, 0)
}

func (s *Store) setRetention(ctx context.Context, sc Scope, name string, days int) error {
	g, err := s.Group(ctx, sc, name)
	if err != nil {
		return err
	}
	var v any
	if days > 0 {
		v = days
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE log_groups SET retention_days = ? WHERE id = ?`, v, g.ID); err != nil {
		return fmt.Errorf("set retention: %w", err)
	}
	if days > 0 {
		_, err := s.expire(ctx, g.ID, days)
		return err
	}
	return nil
}

func validRetention(days int) bool {
	for _, d := range RetentionDays {
		if d == days {
			return true
		}
	}
	return false
}

// Tags returns a group's tags.
func (s *Store) Tags(ctx context.Context, sc Scope, name string) (map[string]string, error) {
	g, err := s.Group(ctx, sc, name)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT key, value FROM log_group_tags WHERE group_id = ?`, g.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, rows.Err()
}

// TagGroup adds or replaces tags.
func (s *Store) TagGroup(ctx context.Context, sc Scope, name string, tags map[string]string) error {
	if len(tags) == 0 {
		return errorf(ErrInvalidParameter, "tags must name at least one tag.")
	}
	if err := validTags(tags); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		g, err := s.group(ctx, tx, sc, name)
		if err != nil {
			return err
		}
		return putTags(ctx, tx, g.ID, tags)
	})
}

// UntagGroup removes tags by key; absent keys are ignored, as on AWS.
func (s *Store) UntagGroup(ctx context.Context, sc Scope, name string, keys []string) error {
	if len(keys) == 0 {
		return errorf(ErrInvalidParameter, "tagKeys must name at least one tag key.")
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		g, err := s.group(ctx, tx, sc, name)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, `DELETE FROM log_group_tags WHERE group_id = ? AND key = ?`, g.ID, k); err != nil {
				return err
			}
		}
		return nil
	})
}

// CreateStream creates a log stream.
func (s *Store) CreateStream(ctx context.Context, sc Scope, group, name string) error {
	if err := validStreamName(name); err != nil {
		return err
	}
	g, err := s.Group(ctx, sc, group)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO log_streams (group_id, name, created_ms) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, g.ID, name, s.nowMS())
	if err != nil {
		return fmt.Errorf("create log stream: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errorf(ErrAlreadyExists, "The specified log stream already exists: %s in log group %s.", name, group)
	}
	return nil
}

// DeleteStream deletes a log stream and its events.
func (s *Store) DeleteStream(ctx context.Context, sc Scope, group, name string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		g, err := s.group(ctx, tx, sc, group)
		if err != nil {
			return err
		}
		var id int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM log_streams WHERE group_id = ? AND name = ?`, g.ID, name).Scan(&id); errors.Is(err, sql.ErrNoRows) {
			return errorf(ErrNotFound, "The specified log stream does not exist: %s in log group %s.", name, group)
		} else if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM log_events WHERE stream_id = ?`, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM log_streams WHERE id = ?`, id)
		return err
	})
}

// StreamQuery selects streams for DescribeLogStreams.
type StreamQuery struct {
	Prefix      string
	ByLastEvent bool // orderBy LastEventTime
	Descending  bool
	Limit       int
	NextToken   string
}

// DescribeStreams lists a group's streams.
func (s *Store) DescribeStreams(ctx context.Context, sc Scope, group string, q StreamQuery) ([]*Stream, string, error) {
	if q.ByLastEvent && q.Prefix != "" {
		return nil, "", errorf(ErrInvalidParameter, "Cannot order by LastEventTime with a logStreamNamePrefix.")
	}
	limit, err := pageLimit(q.Limit, 50)
	if err != nil {
		return nil, "", err
	}
	offset := 0
	if q.NextToken != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(q.NextToken, "s/"))
		if err != nil || n < 0 || !strings.HasPrefix(q.NextToken, "s/") {
			return nil, "", errorf(ErrInvalidParameter, "The specified nextToken is invalid: %q.", q.NextToken)
		}
		offset = n
	}
	g, err := s.Group(ctx, sc, group)
	if err != nil {
		return nil, "", err
	}
	order := "name"
	if q.ByLastEvent {
		order = "coalesce(last_event_ms, 0)"
	}
	dir := "ASC"
	if q.Descending {
		dir = "DESC"
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, created_ms, coalesce(first_event_ms, 0), coalesce(last_event_ms, 0), coalesce(last_ingestion_ms, 0), stored_bytes
		FROM log_streams WHERE group_id = ? AND substr(name, 1, length(?)) = ? ORDER BY `+order+` `+dir+`, name `+dir+` LIMIT ? OFFSET ?`,
		g.ID, q.Prefix, q.Prefix, limit+1, offset)
	if err != nil {
		return nil, "", fmt.Errorf("list log streams: %w", err)
	}
	defer rows.Close()
	var out []*Stream
	for rows.Next() {
		st := &Stream{}
		if err := rows.Scan(&st.ID, &st.Name, &st.CreationTime, &st.FirstEventTimestamp, &st.LastEventTimestamp, &st.LastIngestionTime, &st.StoredBytes); err != nil {
			return nil, "", err
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = "s/" + strconv.Itoa(offset+limit)
	}
	return out, next, nil
}

func pageLimit(limit, max int) (int, error) {
	if limit == 0 {
		return max, nil
	}
	if limit < 1 || limit > max {
		return 0, errorf(ErrInvalidParameter, "1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and %d.", limit, max)
	}
	return limit, nil
}

// Name tokens page through names in order: "n/" + the last name returned.
func encodeNameToken(name string) string { return "n/" + name }

func decodeNameToken(tok string) (string, error) {
	if tok == "" {
		return "", nil
	}
	if !strings.HasPrefix(tok, "n/") {
		return "", errorf(ErrInvalidParameter, "The specified nextToken is invalid: %q.", tok)
	}
	return tok[2:], nil
}

// sortedKeys returns m's keys in order.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
