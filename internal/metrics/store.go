package metrics

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"
	"sync"
	"time"
)

// Options configure a Store.
type Options struct {
	// Retention is how long per-minute datapoints are kept (CloudWatch keeps 1-minute data 15 days).
	Retention time.Duration
	// HistoryRetention is how long alarm history is kept (CloudWatch: two weeks).
	HistoryRetention time.Duration
	// Tick is how often every alarm is evaluated for missing data (CloudWatch: every minute).
	Tick time.Duration
	// Publisher receives alarm notifications; nil logs that actions have nowhere to go.
	Publisher Publisher
	Logger    *slog.Logger
	Now       func() time.Time
}

// Store keeps metrics as per-minute aggregates in meta.sqlite and watches them with alarms.
// Writes and alarm evaluation are serialised by one mutex: SQLite has one writer anyway, and an
// alarm then sees every datapoint committed before it is evaluated.
type Store struct {
	db  *sql.DB
	opt Options

	mu      sync.Mutex
	series  map[string]int64             // metric key → metric_series.id
	alarms  map[alarmKey]*Alarm          // every alarm, kept in memory for evaluation
	watched map[string]map[alarmKey]bool // metric key → alarms on it

	actions *actionQueue

	// Prepared once: Put runs them per metric and minute, and preparing costs more than running.
	getPoint, putPoint, points *sql.Stmt
}

// Open loads the alarms and metric index from db (migrated by meta.Open).
func Open(ctx context.Context, db *sql.DB, opt Options) (*Store, error) {
	if opt.Retention <= 0 {
		opt.Retention = 15 * 24 * time.Hour
	}
	if opt.HistoryRetention <= 0 {
		opt.HistoryRetention = 14 * 24 * time.Hour
	}
	if opt.Tick <= 0 {
		opt.Tick = 10 * time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	s := &Store{db: db, opt: opt, series: map[string]int64{}, alarms: map[alarmKey]*Alarm{}, watched: map[string]map[alarmKey]bool{}}
	s.actions = newActionQueue(s)
	var err error
	if s.getPoint, err = db.PrepareContext(ctx, `SELECT sum, count, min, max, sketch FROM metric_points WHERE series = ? AND minute = ? AND unit = ?`); err != nil {
		return nil, fmt.Errorf("prepare datapoint query: %w", err)
	}
	if s.putPoint, err = db.PrepareContext(ctx, `INSERT OR REPLACE INTO metric_points (series, minute, unit, sum, count, min, max, sketch) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`); err != nil {
		return nil, fmt.Errorf("prepare datapoint insert: %w", err)
	}
	if s.points, err = db.PrepareContext(ctx, `SELECT p.minute, p.unit, p.sum, p.count, p.min, p.max, p.sketch FROM metric_points p
		JOIN metric_series m ON m.id = p.series
		WHERE m.account = ? AND m.region = ? AND m.namespace = ? AND m.name = ? AND m.dimensions = ?
		AND p.minute >= ? AND p.minute < ? AND (? = '' OR p.unit = ?) ORDER BY p.minute`); err != nil {
		return nil, fmt.Errorf("prepare datapoints query: %w", err)
	}
	if err := s.loadAlarms(ctx); err != nil {
		return nil, err
	}
	if opt.Publisher == nil {
		opt.Logger.Info("alarm actions have no publisher: state changes are recorded, notifications are not sent")
	}
	return s, nil
}

// Run evaluates every alarm each Tick (missing data moves alarms without any datapoint), sends
// alarm notifications, and enforces retention, until ctx ends.
func (s *Store) Run(ctx context.Context) error {
	go s.actions.run(ctx)
	tick := time.NewTicker(s.opt.Tick)
	defer tick.Stop()
	lastSweep := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if err := s.EvaluateAll(ctx); err != nil {
			s.opt.Logger.Warn("evaluate alarms", "err", err)
		}
		if now := s.opt.Now(); now.Sub(lastSweep) > time.Hour {
			lastSweep = now
			if err := s.Sweep(ctx); err != nil {
				s.opt.Logger.Warn("metric retention", "err", err)
			}
		}
	}
}

// Sweep deletes datapoints and alarm history older than their retention.
func (s *Store) Sweep(ctx context.Context) error {
	now := s.opt.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.db.ExecContext(ctx, `DELETE FROM metric_points WHERE minute < ?`, now.Add(-s.opt.Retention).Unix()); err != nil {
		return fmt.Errorf("delete old datapoints: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM alarm_history WHERE time < ?`, now.Add(-s.opt.HistoryRetention).UnixMilli()); err != nil {
		return fmt.Errorf("delete old alarm history: %w", err)
	}
	return nil
}

// metricKey identifies a metric in memory: account, region, namespace, name and the canonical
// dimension set.
func metricKey(account, region, namespace, name string, dims []Dimension) string {
	return account + "\x00" + region + "\x00" + namespace + "\x00" + name + "\x00" + canonicalDims(dims)
}

// canonicalDims renders a dimension set sorted by name, as stored: the order clients send
// dimensions in does not identify a metric.
func canonicalDims(dims []Dimension) string {
	d := append([]Dimension(nil), dims...)
	sort.Slice(d, func(i, j int) bool { return d[i].Name < d[j].Name })
	if d == nil {
		d = []Dimension{}
	}
	b, _ := json.Marshal(d)
	return string(b)
}

// aggregate is one minute (or, merged, one period) of a metric.
type aggregate struct {
	sum, count, min, max float64
	unit                 string
	sk                   *sketch
}

func (a *aggregate) merge(o *aggregate) {
	if a.count == 0 && a.sk == nil {
		*a = aggregate{sum: o.sum, count: o.count, min: o.min, max: o.max, unit: o.unit, sk: newSketch()}
		a.sk.merge(o.sk)
		return
	}
	a.sum += o.sum
	a.count += o.count
	a.min = math.Min(a.min, o.min)
	a.max = math.Max(a.max, o.max)
	a.sk.merge(o.sk)
}

func datumAggregate(d Datum) aggregate {
	a := aggregate{unit: d.Unit, sk: newSketch()}
	switch {
	case d.Set != nil:
		a.sum, a.count, a.min, a.max = d.Set.Sum, d.Set.SampleCount, d.Set.Minimum, d.Set.Maximum
		// A statistic set has no distribution: its mean stands for its samples in percentiles.
		if d.Set.SampleCount > 0 {
			a.sk.add(d.Set.Sum/d.Set.SampleCount, d.Set.SampleCount)
		}
	default:
		n := d.Count
		if n <= 0 {
			n = 1
		}
		a.sum, a.count, a.min, a.max = d.Value*n, n, d.Value, d.Value
		a.sk.add(d.Value, n)
	}
	return a
}

type pointKey struct {
	series string
	minute int64
	unit   string
}

// Put stores data (from PutMetricData or a metric filter) and evaluates the alarms on the
// metrics it touched at once, so an alarm changes state within the call.
func (s *Store) Put(ctx context.Context, data []Datum) error {
	if len(data) == 0 {
		return nil
	}
	batch := map[pointKey]*aggregate{}
	idents := map[string]Datum{}
	for _, d := range data {
		k := metricKey(d.Account, d.Region, d.Namespace, d.Name, d.Dimensions)
		idents[k] = d
		pk := pointKey{k, d.Time.Unix() / 60 * 60, d.Unit}
		a := datumAggregate(d)
		if cur := batch[pk]; cur != nil {
			cur.merge(&a)
		} else {
			batch[pk] = &a
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opt.Now().UTC().Truncate(time.Millisecond)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store datapoints: %w", err)
	}
	defer tx.Rollback()
	ids := map[string]int64{}
	for k, d := range idents {
		id, err := s.seriesID(ctx, tx, k, d, now)
		if err != nil {
			return err
		}
		ids[k] = id
	}
	for pk, a := range batch {
		var cur aggregate
		var blob []byte
		err := tx.StmtContext(ctx, s.getPoint).QueryRowContext(ctx, ids[pk.series], pk.minute, pk.unit).Scan(&cur.sum, &cur.count, &cur.min, &cur.max, &blob)
		switch {
		case err == sql.ErrNoRows:
			cur = *a
		case err != nil:
			return fmt.Errorf("read datapoint: %w", err)
		default:
			if cur.sk, err = unmarshalSketch(blob); err != nil {
				return fmt.Errorf("read datapoint of %s: %w", pk.series, err)
			}
			cur.merge(a)
		}
		if _, err := tx.StmtContext(ctx, s.putPoint).ExecContext(ctx, ids[pk.series], pk.minute, pk.unit, cur.sum, cur.count, cur.min, cur.max, cur.sk.marshal()); err != nil {
			return fmt.Errorf("store datapoint: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit datapoints: %w", err)
	}
	for k := range idents {
		s.series[k] = ids[k]
		for ak := range s.watched[k] {
			if a := s.alarms[ak]; a != nil {
				if err := s.evaluate(ctx, a, now); err != nil {
					s.opt.Logger.Warn("evaluate alarm", "alarm", a.Name, "err", err)
				}
			}
		}
	}
	return nil
}

func (s *Store) seriesID(ctx context.Context, tx *sql.Tx, key string, d Datum, now time.Time) (int64, error) {
	if id, ok := s.series[key]; ok {
		_, err := tx.ExecContext(ctx, `UPDATE metric_series SET last_seen = ? WHERE id = ? AND last_seen < ?`, now.Unix(), id, now.Unix()-60)
		return id, err
	}
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO metric_series (account, region, namespace, name, dimensions, last_seen) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (account, region, namespace, name, dimensions) DO UPDATE SET last_seen = excluded.last_seen RETURNING id`,
		d.Account, d.Region, d.Namespace, d.Name, canonicalDims(d.Dimensions), now.Unix()).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("register metric %s/%s: %w", d.Namespace, d.Name, err)
	}
	return id, nil
}

// Metric identifies one metric of an account and region.
type Metric struct {
	Account, Region string
	Namespace, Name string
	Dimensions      []Dimension
}

// Query asks for statistics of one metric over [Start, End) in buckets of Period.
type Query struct {
	Metric
	Start, End time.Time
	Period     time.Duration // a multiple of one minute
	Unit       string        // "" = any unit
}

// Datapoint is a metric's statistics over one period. Percentile answers have the sketch's
// error bound (1% relative), clamped to [Minimum, Maximum].
type Datapoint struct {
	Timestamp                          time.Time // start of the period
	SampleCount, Sum, Minimum, Maximum float64
	Unit                               string
	sk                                 *sketch
}

// Average is Sum / SampleCount.
func (d Datapoint) Average() float64 { return d.Sum / d.SampleCount }

// Percentile returns the p-th percentile (0 < p ≤ 100).
func (d Datapoint) Percentile(p float64) float64 {
	if d.sk == nil {
		return math.NaN()
	}
	v := d.sk.quantile(p / 100)
	return math.Min(math.Max(v, d.Minimum), d.Maximum)
}

// Statistic returns a named statistic: SampleCount, Average, Sum, Minimum, Maximum or pNN.
func (d Datapoint) Statistic(name string) (float64, bool) {
	switch name {
	case "SampleCount":
		return d.SampleCount, true
	case "Average":
		return d.Average(), true
	case "Sum":
		return d.Sum, true
	case "Minimum":
		return d.Minimum, true
	case "Maximum":
		return d.Maximum, true
	}
	if p, ok := ParsePercentile(name); ok {
		return d.Percentile(p), true
	}
	return 0, false
}

// Statistics returns the datapoints of q, oldest first, one per period that has samples.
func (s *Store) Statistics(ctx context.Context, q Query) ([]Datapoint, error) {
	if q.Period < time.Minute || q.Period%time.Minute != 0 {
		return nil, invalid("The parameter Period must be a multiple of 60.")
	}
	start := q.Start.Truncate(time.Minute)
	rows, err := s.points.QueryContext(ctx, q.Account, q.Region, q.Namespace, q.Name, canonicalDims(q.Dimensions), start.Unix(), q.End.Unix(), q.Unit, q.Unit)
	if err != nil {
		return nil, fmt.Errorf("read datapoints: %w", err)
	}
	defer rows.Close()
	period := int64(q.Period / time.Second)
	buckets := map[int64]*aggregate{}
	var order []int64
	for rows.Next() {
		var minute int64
		var a aggregate
		var blob []byte
		if err := rows.Scan(&minute, &a.unit, &a.sum, &a.count, &a.min, &a.max, &blob); err != nil {
			return nil, fmt.Errorf("read datapoints: %w", err)
		}
		if a.sk, err = unmarshalSketch(blob); err != nil {
			return nil, err
		}
		b := start.Unix() + (minute-start.Unix())/period*period
		if cur := buckets[b]; cur != nil {
			cur.merge(&a)
		} else {
			buckets[b] = &a
			order = append(order, b)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read datapoints: %w", err)
	}
	out := make([]Datapoint, 0, len(order))
	for _, b := range order {
		a := buckets[b]
		out = append(out, Datapoint{Timestamp: time.Unix(b, 0).UTC(), SampleCount: a.count, Sum: a.sum, Minimum: a.min, Maximum: a.max, Unit: a.unit, sk: a.sk})
	}
	return out, nil
}

// ListQuery filters ListMetrics.
type ListQuery struct {
	Account, Region string
	Namespace, Name string            // "" = any
	Dimensions      []DimensionFilter // each must be present (with the value, when given)
	ActiveSince     time.Time         // zero = any
	After           int64             // page after this metric id
	Limit           int
}

// DimensionFilter matches a dimension by name and, when Value is non-nil, value.
type DimensionFilter struct {
	Name  string
	Value *string
}

// ListMetrics returns metrics matching q ordered by id, and the id to continue after (0 = done).
func (s *Store) ListMetrics(ctx context.Context, q ListQuery) ([]Metric, int64, error) {
	if q.Limit <= 0 {
		q.Limit = 500
	}
	conds := []string{"account = ?", "region = ?", "id > ?"}
	args := []any{q.Account, q.Region, q.After}
	if q.Namespace != "" {
		conds, args = append(conds, "namespace = ?"), append(args, q.Namespace)
	}
	if q.Name != "" {
		conds, args = append(conds, "name = ?"), append(args, q.Name)
	}
	if !q.ActiveSince.IsZero() {
		conds, args = append(conds, "last_seen >= ?"), append(args, q.ActiveSince.Unix())
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, namespace, name, dimensions FROM metric_series WHERE `+strings.Join(conds, " AND ")+` ORDER BY id`, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("list metrics: %w", err)
	}
	defer rows.Close()
	var out []Metric
	for rows.Next() {
		var id int64
		var dims string
		m := Metric{Account: q.Account, Region: q.Region}
		if err := rows.Scan(&id, &m.Namespace, &m.Name, &dims); err != nil {
			return nil, 0, fmt.Errorf("list metrics: %w", err)
		}
		if err := json.Unmarshal([]byte(dims), &m.Dimensions); err != nil {
			return nil, 0, fmt.Errorf("metric %d dimensions: %w", id, err)
		}
		if !dimsMatch(m.Dimensions, q.Dimensions) {
			continue
		}
		if len(out) == q.Limit {
			return out, id - 1, nil
		}
		out = append(out, m)
		q.After = id
	}
	return out, 0, rows.Err()
}

func dimsMatch(have []Dimension, want []DimensionFilter) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if h.Name == w.Name && (w.Value == nil || *w.Value == h.Value) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
