package logs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-dev/cairn/internal/metrics"
	"github.com/cairn-dev/cairn/internal/pattern"
)

// MaxMetricFilters is the number of metric filters a log group may have (AWS: 100).
const MaxMetricFilters = 100

// MaxRegexFilters is the number of filters with a %regular expression% a log group may have
// (AWS: 5; cairn has no subscription filters, so only metric filters count).
const MaxRegexFilters = 5

// Transformation says what metric a filter publishes.
type Transformation struct {
	MetricName      string            `json:"metricName"`
	MetricNamespace string            `json:"metricNamespace"`
	MetricValue     string            `json:"metricValue"`
	DefaultValue    *float64          `json:"defaultValue,omitempty"`
	Dimensions      map[string]string `json:"dimensions,omitempty"`
	Unit            string            `json:"unit,omitempty"`
}

// MetricFilter is a metric filter of a log group.
type MetricFilter struct {
	Group          string
	Name           string
	Pattern        string
	Transformation Transformation
	CreationTime   int64
}

// StandardUnits are CloudWatch's units.
var StandardUnits = []string{"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
	"Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second", "Kilobytes/Second",
	"Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second",
	"Gigabits/Second", "Terabits/Second", "Count/Second", "None"}

var (
	filterNameRE = regexp.MustCompile(`^[^:*]*$`)
	metricNameRE = regexp.MustCompile(`^[^:*$]*$`)
	numberRE     = regexp.MustCompile(`^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$`)
)

// compiledFilter is a metric filter ready to match: pattern and references compiled once.
type compiledFilter struct {
	f       MetricFilter
	p       *pattern.Pattern
	value   *pattern.Ref // nil: literal
	literal float64
	dims    []dimRef
}

type dimRef struct {
	name string
	ref  *pattern.Ref
}

// compileFilter validates a metric filter and compiles it.
func compileFilter(f MetricFilter) (*compiledFilter, error) {
	switch {
	case f.Name == "" || len(f.Name) > 512:
		return nil, errorf(ErrInvalidParameter, "1 validation error detected: Value '%s' at 'filterName' failed to satisfy constraint: Member must have length between 1 and 512.", f.Name)
	case !filterNameRE.MatchString(f.Name):
		return nil, errorf(ErrInvalidParameter, "1 validation error detected: Value '%s' at 'filterName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]* (no ':' or '*').", f.Name)
	}
	p, err := pattern.Compile(f.Pattern)
	if err != nil {
		return nil, errorf(ErrInvalidParameter, "Invalid metric filter pattern %q: %v.", f.Pattern, err)
	}
	t := f.Transformation
	for _, m := range []struct{ member, v string }{{"metricName", t.MetricName}, {"metricNamespace", t.MetricNamespace}} {
		if m.v == "" || len(m.v) > 255 {
			return nil, errorf(ErrInvalidParameter, "1 validation error detected: Value '%s' at 'metricTransformations.1.member.%s' failed to satisfy constraint: Member must have length between 1 and 255.", m.v, m.member)
		}
		if !metricNameRE.MatchString(m.v) {
			return nil, errorf(ErrInvalidParameter, "1 validation error detected: Value '%s' at 'metricTransformations.1.member.%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*$]* (no ':', '*' or '$').", m.v, m.member)
		}
	}
	if t.MetricValue == "" || len(t.MetricValue) > 100 {
		return nil, errorf(ErrInvalidParameter, "1 validation error detected: Value '%s' at 'metricTransformations.1.member.metricValue' failed to satisfy constraint: Member must have length between 1 and 100.", t.MetricValue)
	}
	cf := &compiledFilter{f: f, p: p}
	if strings.HasPrefix(t.MetricValue, "$") {
		r, err := p.Ref(t.MetricValue)
		if err != nil {
			return nil, errorf(ErrInvalidParameter, "Invalid metric value %q: %v.", t.MetricValue, err)
		}
		cf.value = r
	} else {
		v, err := strconv.ParseFloat(t.MetricValue, 64)
		if err != nil || !numberRE.MatchString(t.MetricValue) {
			return nil, errorf(ErrInvalidParameter, "Invalid metric value %q: write a number such as 1, or a reference such as $.bytes (JSON patterns) or $size (space-delimited patterns).", t.MetricValue)
		}
		cf.literal = v
	}
	if t.Unit != "" && !contains(StandardUnits, t.Unit) {
		return nil, errorf(ErrInvalidParameter, "1 validation error detected: Value '%s' at 'metricTransformations.1.member.unit' failed to satisfy constraint: Member must satisfy enum value set: [%s].", t.Unit, strings.Join(StandardUnits, ", "))
	}
	if len(t.Dimensions) > 0 {
		if len(t.Dimensions) > 3 {
			return nil, errorf(ErrInvalidParameter, "A metric filter can have at most 3 dimensions; %d were given.", len(t.Dimensions))
		}
		if t.DefaultValue != nil {
			return nil, errorf(ErrInvalidParameter, "A metric filter with dimensions cannot have a defaultValue.")
		}
		if p.Kind() != pattern.JSON && p.Kind() != pattern.SpaceDelimited {
			return nil, errorf(ErrInvalidParameter, "Dimensions need a JSON or space-delimited filter pattern; %q is a %s pattern.", f.Pattern, p.Kind())
		}
		for _, name := range sortedKeys(t.Dimensions) {
			v := t.Dimensions[name]
			if name == "" || len(name) > 255 {
				return nil, errorf(ErrInvalidParameter, "Dimension name %q must be 1 to 255 characters long.", name)
			}
			if !strings.HasPrefix(v, "$") {
				return nil, errorf(ErrInvalidParameter, "Dimension %s: the value %q must be a reference to a field of the event, such as $.eventName.", name, v)
			}
			r, err := p.Ref(v)
			if err != nil {
				return nil, errorf(ErrInvalidParameter, "Dimension %s: %v.", name, err)
			}
			cf.dims = append(cf.dims, dimRef{name, r})
		}
	}
	return cf, nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// PutMetricFilter creates or replaces a metric filter.
func (s *Store) PutMetricFilter(ctx context.Context, sc Scope, f MetricFilter) error {
	cf, err := compileFilter(f)
	if err != nil {
		return err
	}
	tr, err := json.Marshal(f.Transformation)
	if err != nil {
		return err
	}
	var groupID int64
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		g, err := s.group(ctx, tx, sc, f.Group)
		if err != nil {
			return err
		}
		groupID = g.ID
		var exists bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM metric_filters WHERE group_id = ? AND name = ?)`, g.ID, f.Name).Scan(&exists); err != nil {
			return err
		}
		if !exists && g.MetricFilterCount >= MaxMetricFilters {
			return errorf(ErrLimitExceeded, "Resource limit exceeded: log group %s already has %d metric filters.", f.Group, g.MetricFilterCount)
		}
		if cf.p.RegexCount() > 0 {
			n, err := regexFilters(ctx, tx, g.ID, f.Name)
			if err != nil {
				return err
			}
			if n >= MaxRegexFilters {
				return errorf(ErrLimitExceeded, "Resource limit exceeded: log group %s already has %d filters whose patterns use regular expressions; at most %d may.", f.Group, n, MaxRegexFilters)
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO metric_filters (group_id, name, pattern, transform, created_ms) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (group_id, name) DO UPDATE SET pattern = excluded.pattern, transform = excluded.transform`, g.ID, f.Name, f.Pattern, string(tr), s.nowMS())
		return err
	})
	if err == nil {
		s.forgetFilters(groupID)
	}
	return err
}

// regexFilters counts the group's metric filters other than name whose patterns hold a
// regular expression.
func regexFilters(ctx context.Context, tx *sql.Tx, groupID int64, name string) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT pattern FROM metric_filters WHERE group_id = ? AND name != ?`, groupID, name)
	if err != nil {
		return 0, fmt.Errorf("count regular-expression filters: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var text string
		if err := rows.Scan(&text); err != nil {
			return 0, err
		}
		if p, err := pattern.Compile(text); err == nil && p.RegexCount() > 0 {
			n++
		}
	}
	return n, rows.Err()
}

// DeleteMetricFilter deletes a metric filter.
func (s *Store) DeleteMetricFilter(ctx context.Context, sc Scope, group, name string) error {
	g, err := s.Group(ctx, sc, group)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM metric_filters WHERE group_id = ? AND name = ?`, g.ID, name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errorf(ErrNotFound, "The specified metric filter does not exist: %s in log group %s.", name, group)
	}
	s.forgetFilters(g.ID)
	return nil
}

// MetricFilterQuery selects metric filters for DescribeMetricFilters.
type MetricFilterQuery struct {
	Group           string
	NamePrefix      string
	MetricName      string
	MetricNamespace string
	Limit           int
	NextToken       string
}

// DescribeMetricFilters lists metric filters ordered by log group and filter name.
func (s *Store) DescribeMetricFilters(ctx context.Context, sc Scope, q MetricFilterQuery) ([]MetricFilter, string, error) {
	if q.NamePrefix != "" && q.Group == "" {
		return nil, "", errorf(ErrInvalidParameter, "filterNamePrefix requires logGroupName.")
	}
	if (q.MetricName == "") != (q.MetricNamespace == "") {
		return nil, "", errorf(ErrInvalidParameter, "metricName and metricNamespace must be given together.")
	}
	limit, err := pageLimit(q.Limit, 50)
	if err != nil {
		return nil, "", err
	}
	offset := 0
	if q.NextToken != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(q.NextToken, "m/"))
		if err != nil || n < 0 || !strings.HasPrefix(q.NextToken, "m/") {
			return nil, "", errorf(ErrInvalidParameter, "The specified nextToken is invalid: %q.", q.NextToken)
		}
		offset = n
	}
	where := []string{"g.account_id = ?", "g.region = ?"}
	args := []any{sc.Account, sc.Region}
	if q.Group != "" {
		g, err := s.Group(ctx, sc, q.Group)
		if err != nil {
			return nil, "", err
		}
		where, args = append(where, "g.id = ?"), append(args, g.ID)
	}
	if q.NamePrefix != "" {
		where, args = append(where, "substr(f.name, 1, length(?)) = ?"), append(args, q.NamePrefix, q.NamePrefix)
	}
	if q.MetricName != "" {
		where, args = append(where, "json_extract(f.transform, '$.metricName') = ? AND json_extract(f.transform, '$.metricNamespace') = ?"), append(args, q.MetricName, q.MetricNamespace)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT g.name, f.name, f.pattern, f.transform, f.created_ms FROM metric_filters f JOIN log_groups g ON g.id = f.group_id
		WHERE `+strings.Join(where, " AND ")+` ORDER BY g.name, f.name LIMIT ? OFFSET ?`, append(args, limit+1, offset)...)
	if err != nil {
		return nil, "", fmt.Errorf("list metric filters: %w", err)
	}
	defer rows.Close()
	var out []MetricFilter
	for rows.Next() {
		var f MetricFilter
		var tr string
		if err := rows.Scan(&f.Group, &f.Name, &f.Pattern, &tr, &f.CreationTime); err != nil {
			return nil, "", err
		}
		if err := json.Unmarshal([]byte(tr), &f.Transformation); err != nil {
			return nil, "", fmt.Errorf("metric filter %s: %w", f.Name, err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = "m/" + strconv.Itoa(offset+limit)
	}
	return out, next, nil
}

// TestMatch is one matching message of TestMetricFilter.
type TestMatch struct {
	EventNumber     int // 1-based, as the aws CLI's example and live AWS show
	EventMessage    string
	ExtractedValues map[string]string
}

// TestMetricFilter matches sample messages against a pattern.
func TestMetricFilter(text string, messages []string) ([]TestMatch, error) {
	if len(messages) < 1 || len(messages) > 50 {
		return nil, errorf(ErrInvalidParameter, "1 validation error detected: Value at 'logEventMessages' failed to satisfy constraint: Member must have length between 1 and 50 (got %d).", len(messages))
	}
	p, err := pattern.Compile(text)
	if err != nil {
		return nil, errorf(ErrInvalidParameter, "Invalid metric filter pattern %q: %v.", text, err)
	}
	out := []TestMatch{}
	for i, m := range messages {
		if vals, ok := p.Extract([]byte(m)); ok {
			out = append(out, TestMatch{EventNumber: i + 1, EventMessage: m, ExtractedValues: vals})
		}
	}
	return out, nil
}

func (s *Store) forgetFilters(groupID int64) {
	s.mu.Lock()
	delete(s.filters, groupID)
	s.mu.Unlock()
}

// groupFilters returns a group's compiled metric filters, compiling them on first use.
func (s *Store) groupFilters(ctx context.Context, groupID int64) ([]*compiledFilter, error) {
	s.mu.Lock()
	fs, ok := s.filters[groupID]
	s.mu.Unlock()
	if ok {
		return fs, nil
	}
	rows, err := s.db.QueryContext(ctx, `SELECT name, pattern, transform FROM metric_filters WHERE group_id = ? ORDER BY name`, groupID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var f MetricFilter
		var tr string
		if err := rows.Scan(&f.Name, &f.Pattern, &tr); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(tr), &f.Transformation); err != nil {
			return nil, err
		}
		cf, err := compileFilter(f)
		if err != nil {
			s.log.Warn("stored metric filter does not compile; skipping it", "filter", f.Name, "err", err)
			continue
		}
		fs = append(fs, cf)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.filters[groupID] = fs
	s.mu.Unlock()
	return fs, nil
}

// data appends the metric data a filter produces for one event: a sample of the metric value
// when the event matches, the default value when it does not and the filter has one.
func (cf *compiledFilter) data(account, region string, e *Event, msg []byte, dst []metrics.Datum) []metrics.Datum {
	t := &cf.f.Transformation
	d := metrics.Datum{Account: account, Region: region, Namespace: t.MetricNamespace, Name: t.MetricName,
		Time: time.UnixMilli(e.Timestamp).UTC(), Unit: t.Unit}
	if !cf.p.Match(msg) {
		if t.DefaultValue == nil {
			return dst
		}
		d.Value = *t.DefaultValue
		return append(dst, d)
	}
	d.Value = cf.literal
	if cf.value != nil {
		v := cf.value.Lookup(msg)
		switch v.Kind {
		case pattern.Missing, pattern.Null:
			if t.DefaultValue == nil {
				return dst
			}
			d.Value = *t.DefaultValue
		default:
			f, ok := v.Float()
			if !ok {
				return dst // present but not a number: no datapoint, as AWS
			}
			d.Value = f
		}
	}
	for _, dr := range cf.dims {
		v := dr.ref.Lookup(msg)
		if v.Kind == pattern.Missing || v.Kind == pattern.Null || v.Kind == pattern.Object || v.Kind == pattern.Array {
			d.Dimensions = nil // a missing dimension publishes the sample without dimensions
			break
		}
		d.Dimensions = append(d.Dimensions, metrics.Dimension{Name: dr.name, Value: v.String()})
	}
	return append(dst, d)
}

// applyFilters runs a group's metric filters over newly stored events and hands the data to
// the sink. Failures are logged: the events are stored either way.
func (s *Store) applyFilters(ctx context.Context, g *Group, events []Event) {
	sink := s.sink()
	if sink == nil || len(events) == 0 {
		return
	}
	fs, err := s.groupFilters(ctx, g.ID)
	if err != nil {
		s.log.Warn("load metric filters", "group", g.Name, "err", err)
		return
	}
	if len(fs) == 0 {
		return
	}
	var data []metrics.Datum
	for i := range events {
		msg := []byte(events[i].Message)
		for _, cf := range fs {
			data = cf.data(g.Account, g.Region, &events[i], msg, data)
		}
	}
	if len(data) == 0 {
		return
	}
	sort.SliceStable(data, func(i, j int) bool { return data[i].Time.Before(data[j].Time) })
	// The events are stored: their data is published even if the caller has gone.
	if err := sink.Put(context.WithoutCancel(ctx), data); err != nil && !errors.Is(err, context.Canceled) {
		s.log.Warn("metric filters: publishing metric data failed", "group", g.Name, "datapoints", len(data), "err", err)
	}
}
