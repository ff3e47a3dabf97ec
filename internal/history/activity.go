package history

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/cairn-dev/cairn/internal/event"
)

// ActivityQuery asks for a summary of an account's management events in a time window: what
// dashboards draw.
type ActivityQuery struct {
	Account string
	Region  string   // the region summarised
	Regions []string // regions counted for ByRegion (the index keys events by region)
	Start   time.Time
	End     time.Time
	Buckets int // timeline buckets; default 48
	Top     int // entries per top list; default 10
	// Sample is how many of the newest events in the window are read in full for what the
	// index does not keep (source IPs, error codes); default 2,000.
	Sample int
}

// Count is one entry of a top list.
type Count struct {
	Key string
	N   int64
}

// Bucket is one interval of a timeline.
type Bucket struct {
	Start time.Time
	N     int64
}

// Activity is the summary.
type Activity struct {
	Total      int64
	Step       time.Duration
	Timeline   []Bucket
	EventNames []Count
	Users      []Count
	UserCount  int // distinct user names
	Sources    []Count
	ByRegion   []Count

	// From the newest Sampled events of the window, read in full.
	Sampled       int
	SampledErrors int // of the sampled events, how many failed (have an errorCode)
	SourceIPs     []Count
	Errors        []Count

	// Failed console sign-ins in the window (all of them, up to MaxSignIns), by time and user.
	FailedSignIns     int64
	FailedSignInTimes []Bucket
	FailedSignInUsers []Count
}

// MaxSignIns bounds how many ConsoleLogin events one summary reads.
const MaxSignIns = 10_000

// Activity summarises the window. Counts come from the index (both tiers), in one DuckDB scan.
func (ix *Index) Activity(ctx context.Context, q ActivityQuery) (*Activity, error) {
	if q.Buckets <= 0 {
		q.Buckets = 48
	}
	if q.Top <= 0 {
		q.Top = 10
	}
	if q.Sample <= 0 {
		q.Sample = 2000
	}
	if q.End.IsZero() {
		q.End = ix.opts.Now()
	}
	if q.Start.IsZero() || !q.Start.Before(q.End) {
		return nil, invalid(ErrInvalidTimeRange, "Invalid time range: the start must be before the end.")
	}
	step := q.End.Sub(q.Start) / time.Duration(q.Buckets)
	if step < time.Second {
		step = time.Second
	}
	a := &Activity{Step: step, Timeline: make([]Bucket, q.Buckets)}
	for i := range a.Timeline {
		a.Timeline[i].Start = q.Start.Add(time.Duration(i) * step)
	}
	bucketOf := func(t int64) int {
		i := int((t - q.Start.UnixNano()) / int64(step))
		return min(max(i, 0), q.Buckets-1)
	}
	scope := scopeKey(q.Account, q.Region, event.CategoryManagement)
	scopes := map[int64]string{}
	for _, r := range q.Regions {
		scopes[scopeKey(q.Account, r, event.CategoryManagement)] = r
	}
	scopes[scope] = q.Region
	names, users, sources, regions := map[string]int64{}, map[string]int64{}, map[string]int64{}, map[string]int64{}

	cutoff := ix.opts.Now().Add(-ix.opts.Retention)
	ix.mu.RLock()
	flushed, hot := ix.flushed, ix.hot
	ix.mu.RUnlock()

	// The recent tier, in memory.
	lo, hi, cut := q.Start.UnixNano(), q.End.UnixNano(), cutoff.UnixNano()
	for i := range hot {
		e := &hot[i]
		r, ok := scopes[e.scope]
		if !ok || e.recorded < cut || e.eventTime < lo || e.eventTime > hi {
			continue
		}
		regions[r]++
		if e.scope != scope {
			continue
		}
		a.Total++
		a.Timeline[bucketOf(e.eventTime)].N++
		names[e.name]++
		users[e.username]++
		sources[e.source]++
	}

	// DuckDB: one scan with grouping sets; gid says which grouping a row belongs to.
	keys := make([]any, 0, len(scopes))
	marks := ""
	for k := range scopes {
		keys = append(keys, k)
		if marks != "" {
			marks += ","
		}
		marks += "?"
	}
	args := append([]any{q.Start.UTC(), step.Microseconds()}, keys...)
	args = append(args, q.Start.UTC(), q.End.UTC(), flushed, cutoff)
	rows, err := ix.db.QueryContext(ctx, `
		WITH w AS (
			SELECT scope, eventname, username, eventsource,
				(epoch_us(eventtime) - epoch_us(?::TIMESTAMP)) // ? AS bucket
			FROM history
			WHERE scope IN (`+marks+`) AND eventtime >= ? AND eventtime <= ? AND seq <= ? AND recordedtime >= ?)
		SELECT GROUPING(scope, eventname, username, eventsource, bucket) AS gid, scope,
			COALESCE(eventname, ''), COALESCE(username, ''), COALESCE(eventsource, ''), COALESCE(bucket, 0), count(*)
		FROM w
		GROUP BY GROUPING SETS ((scope), (scope, eventname), (scope, username), (scope, eventsource), (scope, bucket))`, args...)
	if err != nil {
		return nil, fmt.Errorf("history: activity: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var gid, sc, bucket, n int64
		var name, user, source string
		if err := rows.Scan(&gid, &sc, &name, &user, &source, &bucket, &n); err != nil {
			return nil, fmt.Errorf("history: activity: %w", err)
		}
		// GROUPING's bits, most significant first: scope, eventname, username, eventsource, bucket.
		if gid == 0b01111 {
			regions[scopes[sc]] += n
			continue
		}
		if sc != scope {
			continue
		}
		switch gid {
		case 0b00111:
			names[name] += n
			a.Total += n
		case 0b01011:
			users[user] += n
		case 0b01101:
			sources[source] += n
		case 0b01110:
			a.Timeline[min(max(int(bucket), 0), q.Buckets-1)].N += n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history: activity: %w", err)
	}
	delete(users, "")
	a.UserCount = len(users)
	a.EventNames, a.Users, a.Sources, a.ByRegion = top(names, q.Top), top(users, q.Top), top(sources, q.Top), top(regions, len(regions))

	// What the index does not keep, from the newest events' records.
	base := Query{Account: q.Account, Region: q.Region, Start: q.Start, End: q.End}
	ips, errs := map[string]int64{}, map[string]int64{}
	err = ix.records(ctx, base, q.Sample, hot, flushed, cutoff, func(r *event.Record) {
		a.Sampled++
		ips[r.SourceIPAddress]++
		if r.ErrorCode != "" {
			a.SampledErrors++
			errs[r.ErrorCode]++
		}
	})
	if err != nil {
		return nil, err
	}
	delete(ips, "")
	a.SourceIPs, a.Errors = top(ips, q.Top), top(errs, q.Top)

	signIns := base
	signIns.Attributes = []Attribute{{AttrEventName, "ConsoleLogin"}}
	a.FailedSignInTimes = make([]Bucket, len(a.Timeline))
	copy(a.FailedSignInTimes, a.Timeline)
	for i := range a.FailedSignInTimes {
		a.FailedSignInTimes[i].N = 0
	}
	failedUsers := map[string]int64{}
	err = ix.records(ctx, signIns, MaxSignIns, hot, flushed, cutoff, func(r *event.Record) {
		if r.EventSource != "signin.amazonaws.com" || r.ErrorMessage == "" {
			return
		}
		a.FailedSignIns++
		a.FailedSignInTimes[bucketOf(r.EventTime.UnixNano())].N++
		failedUsers[r.Username()]++
	})
	if err != nil {
		return nil, err
	}
	a.FailedSignInUsers = top(failedUsers, q.Top)
	return a, nil
}

// records reads the newest limit events matching q (both tiers) and calls f with each.
func (ix *Index) records(ctx context.Context, q Query, limit int, hot []entry, flushed uint64, cutoff time.Time, f func(*event.Record)) error {
	matches := ix.scanHot(hot, &q, nil, cutoff, limit)
	cold, err := ix.queryCold(ctx, &q, nil, cutoff, flushed, limit)
	if err != nil {
		return err
	}
	matches = append(matches, cold...)
	sortNewestFirst(matches)
	if len(matches) > limit {
		matches = matches[:limit]
	}
	for _, m := range matches {
		e, err := ix.j.ReadAt(m.pos.seq, m.off)
		if err != nil {
			return fmt.Errorf("history: read event %d from the journal: %w", m.pos.seq, err)
		}
		sum, raw, err := event.OpenEnvelope(e.Data)
		if err != nil || !matchesSummary(sum, &q) {
			continue
		}
		r, err := event.Parse(raw)
		if err != nil {
			continue
		}
		f(r)
	}
	return nil
}

// top returns the n largest counts, ties by key.
func top(m map[string]int64, n int) []Count {
	out := make([]Count, 0, len(m))
	for k, v := range m {
		out = append(out, Count{k, v})
	}
	slices.SortFunc(out, func(a, b Count) int {
		if c := cmp.Compare(b.N, a.N); c != 0 {
			return c
		}
		return cmp.Compare(a.Key, b.Key)
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}
