package history

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/duck"
	"github.com/cairn-dev/cairn/internal/event"
	"github.com/cairn-dev/cairn/internal/journal"
)

const (
	acct  = "111122223333"
	other = "444455556666"
)

var t0 = time.Date(2019, 9, 1, 0, 0, 0, 0, time.UTC)

// ev builds a management event; opts are extra JSON members.
func ev(id, name, account, region string, at time.Time, opts string) []byte {
	if opts != "" {
		opts = "," + opts
	}
	return []byte(fmt.Sprintf(`{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::%[3]s:user/alice","accountId":"%[3]s","accessKeyId":"AKIAALICE","userName":"alice"},`+
		`"eventTime":"%[5]s","eventSource":"ec2.amazonaws.com","eventName":"%[2]s","awsRegion":"%[4]s","eventID":"%[1]s","readOnly":false,`+
		`"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"%[3]s","eventCategory":"Management"%[6]s}`,
		id, name, account, region, at.Format(time.RFC3339), opts))
}

type fixture struct {
	t   *testing.T
	dir string
	j   *journal.Journal
	db  *duck.DB
	ix  *Index
	now atomic.Pointer[time.Time]
	run context.CancelFunc
	ran chan error
}

func newFixture(t *testing.T, opts Options) *fixture {
	f := &fixture{t: t, dir: t.TempDir()}
	f.setNow(time.Date(2019, 10, 1, 0, 0, 0, 0, time.UTC))
	f.open(opts)
	t.Cleanup(f.close)
	return f
}

func (f *fixture) open(opts Options) {
	t := f.t
	var err error
	f.j, err = journal.Open(filepath.Join(f.dir, "journal"), journal.Options{Now: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	f.db, err = duck.Open(filepath.Join(f.dir, "cairn.duckdb"), duck.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts.Now = f.clock
	f.ix, err = Open(context.Background(), f.db, f.j, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.run, f.ran = cancel, make(chan error, 1)
	go func() { f.ran <- f.ix.Run(ctx) }()
}

func (f *fixture) clock() time.Time        { return *f.now.Load() }
func (f *fixture) setNow(t time.Time)      { f.now.Store(&t) }
func (f *fixture) advance(d time.Duration) { f.setNow(f.clock().Add(d)) }

func (f *fixture) close() { f.stop(true) }

// stop ends Run; without flush it is a crash as far as the recent tier is concerned.
func (f *fixture) stop(flush bool) {
	if f.run == nil {
		return
	}
	f.run()
	if err := <-f.ran; err != nil {
		f.t.Errorf("Run: %v", err)
	}
	if flush {
		if err := f.ix.Flush(context.Background()); err != nil {
			f.t.Errorf("Flush: %v", err)
		}
	}
	f.db.Close()
	f.j.Close()
	f.run = nil
}

// add journals records as the recorder does, in envelopes.
func (f *fixture) add(recs ...[]byte) {
	f.t.Helper()
	envs := make([][]byte, len(recs))
	for i, raw := range recs {
		r, err := event.Parse(raw)
		if err != nil {
			f.t.Fatal(err)
		}
		envs[i] = event.AppendEnvelope(nil, r)
	}
	first, err := f.j.Append(context.Background(), envs)
	if err != nil {
		f.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.ix.Wait(ctx, first+uint64(len(recs))-1); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) flush() {
	if err := f.ix.flushAll(context.Background()); err != nil {
		f.t.Fatal(err)
	}
}

// ids runs a lookup to the end, following tokens, and returns event IDs in order.
func (f *fixture) ids(q Query) []string {
	f.t.Helper()
	var out []string
	for {
		p, err := f.ix.Lookup(context.Background(), q)
		if err != nil {
			f.t.Fatalf("Lookup(%+v): %v", q, err)
		}
		for _, e := range p.Events {
			out = append(out, e.EventID)
		}
		if p.NextToken == "" {
			return out
		}
		q.NextToken = p.NextToken
	}
}

func TestLookupAcrossTiers(t *testing.T) {
	// A long flush interval keeps events in the recent tier until the test flushes.
	f := newFixture(t, Options{FlushInterval: time.Hour})
	for i := 0; i < 30; i++ {
		f.add(ev(fmt.Sprintf("e%02d", i), "TerminateInstances", acct, "ap-northeast-1", t0.Add(time.Duration(i)*time.Hour), ""))
		if i == 14 {
			f.flush() // half in DuckDB, half in memory
		}
	}
	q := Query{Account: acct, Region: "ap-northeast-1", MaxResults: 7,
		Attributes: []Attribute{{AttrEventName, "TerminateInstances"}}}
	got := f.ids(q)
	if len(got) != 30 || got[0] != "e29" || got[29] != "e00" {
		t.Fatalf("got %v", got)
	}
	for i := 1; i < len(got); i++ {
		if got[i] >= got[i-1] {
			t.Fatalf("not newest first at %d: %v", i, got)
		}
	}
	// Flushing between pages neither repeats nor drops an event.
	p, _ := f.ix.Lookup(context.Background(), q)
	f.flush()
	q.NextToken = p.NextToken
	rest := f.ids(q)
	if len(p.Events)+len(rest) != 30 {
		t.Errorf("pages across a flush: %d + %d events", len(p.Events), len(rest))
	}
}

func TestLookupFilters(t *testing.T) {
	f := newFixture(t, Options{})
	f.add(
		ev("a", "TerminateInstances", acct, "ap-northeast-1", t0.Add(1*time.Hour), `"resources":[{"type":"AWS::EC2::Instance","ARN":"arn:aws:ec2:ap-northeast-1:111122223333:instance/i-1"}]`),
		ev("b", "TerminateInstances", acct, "us-east-1", t0.Add(2*time.Hour), ""),
		ev("c", "TerminateInstances", other, "ap-northeast-1", t0.Add(3*time.Hour), ""),
		ev("d", "RunInstances", acct, "ap-northeast-1", t0.Add(4*time.Hour), ""),
		ev("e", "TerminateInstances", acct, "ap-northeast-1", t0.Add(40*24*time.Hour), ""),
		ev("f", "DescribeInstances", acct, "ap-northeast-1", t0.Add(5*time.Hour), `"readOnly":true`),
		ev("g", "GetObject", acct, "ap-northeast-1", t0.Add(6*time.Hour), `"eventCategory":"Data","managementEvent":false`),
		[]byte(`{"eventVersion":"1.07","eventTime":"2019-09-02T00:00:00Z","awsRegion":"ap-northeast-1","eventID":"i1","eventType":"AwsCloudTrailInsight","recipientAccountId":"111122223333","insightDetails":{"state":"Start","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","insightType":"ApiCallRateInsight"},"eventCategory":"Insight"}`),
	)
	month := func(q Query) Query {
		q.Account, q.Region = acct, "ap-northeast-1"
		q.Start, q.End = t0, time.Date(2019, 9, 30, 23, 59, 59, 0, time.UTC)
		return q
	}
	tests := []struct {
		name string
		q    Query
		want string
	}{
		{"seed command", month(Query{Attributes: []Attribute{{AttrEventName, "TerminateInstances"}}}), "[a]"},
		{"no attributes: management only, newest first", month(Query{}), "[f d a]"},
		{"read-only", month(Query{Attributes: []Attribute{{AttrReadOnly, "true"}}}), "[f]"},
		{"read-write", month(Query{Attributes: []Attribute{{AttrReadOnly, "false"}}}), "[d a]"},
		{"event id", month(Query{Attributes: []Attribute{{AttrEventID, "d"}}}), "[d]"},
		{"username", month(Query{Attributes: []Attribute{{AttrUsername, "alice"}}}), "[f d a]"},
		{"access key", month(Query{Attributes: []Attribute{{AttrAccessKeyID, "AKIAALICE"}}}), "[f d a]"},
		{"event source", month(Query{Attributes: []Attribute{{AttrEventSource, "ec2.amazonaws.com"}}}), "[f d a]"},
		{"resource type", month(Query{Attributes: []Attribute{{AttrResourceType, "AWS::EC2::Instance"}}}), "[a]"},
		{"resource name", month(Query{Attributes: []Attribute{{AttrResourceName, "i-1"}}}), "[a]"},
		{"resource ARN as name", month(Query{Attributes: []Attribute{{AttrResourceName, "arn:aws:ec2:ap-northeast-1:111122223333:instance/i-1"}}}), "[a]"},
		{"several attributes AND", month(Query{Attributes: []Attribute{{AttrEventName, "TerminateInstances"}, {AttrResourceName, "i-1"}}}), "[a]"},
		{"contradictory attributes", month(Query{Attributes: []Attribute{{AttrEventName, "TerminateInstances"}, {AttrEventID, "d"}}}), "[]"},
		{"insights", month(Query{Category: CategoryInsight}), "[i1]"},
		{"insights by API name", month(Query{Category: CategoryInsight, Attributes: []Attribute{{AttrEventName, "RunInstances"}}}), "[i1]"},
		{"no window: everything in retention", Query{Account: acct, Region: "ap-northeast-1", Attributes: []Attribute{{AttrEventName, "TerminateInstances"}}}, "[e a]"},
		{"inclusive bounds", Query{Account: acct, Region: "ap-northeast-1", Start: t0.Add(time.Hour), End: t0.Add(4 * time.Hour)}, "[d a]"},
	}
	for _, flushed := range []bool{false, true} {
		if flushed {
			f.flush()
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/flushed=%v", tt.name, flushed), func(t *testing.T) {
				if got := fmt.Sprint(f.ids(tt.q)); got != tt.want {
					t.Errorf("got %s, want %s", got, tt.want)
				}
			})
		}
	}
}

func TestLookupErrors(t *testing.T) {
	f := newFixture(t, Options{})
	base := Query{Account: acct, Region: "us-east-1"}
	with := func(mod func(*Query)) Query { q := base; mod(&q); return q }
	tok, _ := f.ix.Lookup(context.Background(), base)
	_ = tok
	valid := (&Query{Account: acct, Region: "us-east-1"}).encodeToken(position{time: 1, seq: 1})
	tests := []struct {
		name string
		q    Query
		kind error
	}{
		{"unknown key", with(func(q *Query) { q.Attributes = []Attribute{{"Bogus", "x"}} }), ErrInvalidLookupAttributes},
		{"lower-case key", with(func(q *Query) { q.Attributes = []Attribute{{"eventName", "x"}} }), ErrInvalidLookupAttributes},
		{"empty value", with(func(q *Query) { q.Attributes = []Attribute{{AttrEventName, ""}} }), ErrInvalidLookupAttributes},
		{"long value", with(func(q *Query) { q.Attributes = []Attribute{{AttrEventName, string(make([]byte, 2001))}} }), ErrInvalidLookupAttributes},
		{"long value counting underscores", with(func(q *Query) { q.Attributes = []Attribute{{AttrEventName, strings.Repeat("_", 1001)}} }), ErrInvalidLookupAttributes},
		{"insight with username", with(func(q *Query) { q.Category = "insight"; q.Attributes = []Attribute{{AttrUsername, "x"}} }), ErrInvalidLookupAttributes},
		{"bad category", with(func(q *Query) { q.Category = "Insight" }), ErrInvalidEventCategory},
		{"start after end", with(func(q *Query) { q.Start, q.End = t0.Add(time.Hour), t0 }), ErrInvalidTimeRange},
		{"max results 51", with(func(q *Query) { q.MaxResults = 51 }), ErrInvalidMaxResults},
		{"max results negative", with(func(q *Query) { q.MaxResults = -1 }), ErrInvalidMaxResults},
		{"garbage token", with(func(q *Query) { q.NextToken = "!!!" }), ErrInvalidNextToken},
		{"token of other parameters", with(func(q *Query) { q.NextToken = valid; q.Attributes = []Attribute{{AttrEventName, "x"}} }), ErrInvalidNextToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.ix.Lookup(context.Background(), tt.q)
			var e *Error
			if !errors.Is(err, tt.kind) || !errors.As(err, &e) || e.Message == "" {
				t.Errorf("got %v, want %v", err, tt.kind)
			}
		})
	}
	if _, err := f.ix.Lookup(context.Background(), with(func(q *Query) { q.NextToken = valid })); err != nil {
		t.Errorf("valid token refused: %v", err)
	}
}

// Retention counts from when cairn recorded the event, not its eventTime.
func TestRetentionByRecordedTime(t *testing.T) {
	f := newFixture(t, Options{Retention: 90 * 24 * time.Hour})
	f.add(ev("old-but-new", "A", acct, "us-east-1", t0.AddDate(-5, 0, 0), "")) // a 2014 event imported now
	f.advance(89 * 24 * time.Hour)
	f.add(ev("recent", "A", acct, "us-east-1", t0, ""))
	q := Query{Account: acct, Region: "us-east-1"}
	if got := fmt.Sprint(f.ids(q)); got != "[recent old-but-new]" {
		t.Fatalf("within retention: %s", got)
	}
	f.advance(2 * 24 * time.Hour)
	f.flush()
	if got := fmt.Sprint(f.ids(q)); got != "[recent]" {
		t.Fatalf("after the first expired: %s", got)
	}
	if err := f.ix.purge(context.Background()); err != nil {
		t.Fatal(err)
	}
	var n int
	f.db.QueryRow(`SELECT count(*) FROM history`).Scan(&n)
	if n != 1 {
		t.Errorf("purge left %d rows", n)
	}
}

// After a restart the recent tier is rebuilt from the journal: nothing lost, nothing doubled.
func TestRestart(t *testing.T) {
	f := newFixture(t, Options{FlushInterval: time.Hour})
	for i := 0; i < 10; i++ {
		f.add(ev(fmt.Sprintf("e%d", i), "A", acct, "us-east-1", t0.Add(time.Duration(i)*time.Minute), ""))
		if i == 4 {
			f.flush()
		}
	}
	f.stop(false)
	f.open(Options{FlushInterval: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.ix.Wait(ctx, f.j.LastSeq()); err != nil {
		t.Fatal(err)
	}
	got := f.ids(Query{Account: acct, Region: "us-east-1"})
	if fmt.Sprint(got) != "[e9 e8 e7 e6 e5 e4 e3 e2 e1 e0]" {
		t.Fatalf("after restart: %v", got)
	}
	if ck, _ := f.j.Checkpoint(CheckpointName); ck != 5 {
		t.Errorf("journal checkpoint %d, want 5", ck)
	}
}

// A hash that matches the wrong event (forged here) must never answer for it.
func TestHashCollisionIsRechecked(t *testing.T) {
	f := newFixture(t, Options{})
	f.add(ev("a", "A", acct, "us-east-1", t0, ""), ev("b", "B", acct, "us-east-1", t0.Add(time.Minute), ""))
	f.flush()
	if _, err := f.db.Exec(`UPDATE history SET eventid = ? WHERE seq = 1`, eventIDKey("b")); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(f.ids(Query{Account: acct, Region: "us-east-1", Attributes: []Attribute{{AttrEventID, "b"}}})); got != "[b]" {
		t.Errorf("got %s", got)
	}
}

// Tables with another layout are rebuilt from the journal.
func TestRebuildOnSchemaChange(t *testing.T) {
	f := newFixture(t, Options{})
	f.add(ev("a", "A", acct, "us-east-1", t0, ""), ev("b", "B", acct, "us-east-1", t0.Add(time.Minute), ""))
	f.close()
	db, err := duck.Open(filepath.Join(f.dir, "cairn.duckdb"), duck.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(`UPDATE history_meta SET version = 1`)
	db.Close()
	f.open(Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.ix.Wait(ctx, f.j.LastSeq()); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(f.ids(Query{Account: acct, Region: "us-east-1"})); got != "[b a]" {
		t.Errorf("after rebuild: %s", got)
	}
}
