package console

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/lake"
	"github.com/cairn-dev/cairn/internal/recorder"
)

// withLake gives the console a Lake over the fixture's journal, ingesting in the background, and
// an auditor recording the console's changes.
func withLake(f *fixture, cfg *Config) {
	t := f.t
	ctx, cancel := context.WithCancel(context.Background())
	keys, err := lake.OpenKeyring(filepath.Join(t.TempDir(), "lake-keys"), bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	l, err := lake.Open(ctx, lake.Config{Meta: f.db, Journal: f.j, Keys: keys, MemoryLimit: "256MB", Threads: 1,
		Options: lake.Options{FlushInterval: 10 * time.Millisecond, QueryWorkers: 1}})
	if err != nil {
		t.Fatal(err)
	}
	aud := recorder.NewAuditor(f.rec)
	done := make(chan struct{}, 2)
	go func() { l.Run(ctx); done <- struct{}{} }()
	go func() { aud.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() {
		cancel()
		<-done
		<-done
		l.Close()
	})
	cfg.Lake, cfg.Auditor = l, aud
}

// lakeClient is a signed-in browser on a console with a Lake.
func lakeClient(t *testing.T) (*fixture, *client) {
	f := newFixture(t, withLake)
	cl := f.client()
	if w := cl.signIn(testPassword); w.Code != http.StatusSeeOther {
		t.Fatalf("sign in: %d", w.Code)
	}
	return f, cl
}

var alertRE = regexp.MustCompile(`(?s)<div class="alert" role="alert">(.*?)</div>`)

func alertOf(w *httptest.ResponseRecorder) string {
	m := alertRE.FindStringSubmatch(w.Body.String())
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// ec2Only selects the management events of EC2, leaving out the console's own audit records.
const ec2Only = `[{"Name":"ec2","FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]},{"Field":"eventSource","Equals":["ec2.amazonaws.com"]}]}]`

// createStore creates a store through the console and returns its ID.
func (cl *client) createStore(name string, more url.Values) string {
	t := cl.f.t
	t.Helper()
	form := url.Values{"name": {name}, "retention": {"3653"}, "multiregion": {"on"}, "ingestion": {"on"}, "selectors": {ec2Only}}
	for k, v := range more {
		form[k] = v
	}
	w := cl.post("/console/lake/stores/new", "/console/lake/stores/new", form)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("create store %s: %d %s", name, w.Code, alertOf(w))
	}
	st, _, err := cl.f.c.cfg.Lake.ListStores(lake.Caller{Account: testAccount, Region: "us-east-1"}, 0, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.Name == name {
			return s.ID
		}
	}
	t.Fatalf("store %s not listed after creation", name)
	return ""
}

// recordEC2 records EC2 calls by identities of the given types and waits for the Lake to hold them.
func (f *fixture) recordEC2(types ...string) {
	var raws [][]byte
	for i, typ := range types {
		raws = append(raws, fmt.Appendf(nil, `{"eventVersion":"1.08","userIdentity":{"type":%[1]q,"principalId":"P%[2]d","arn":"arn:aws:iam::%[3]s:user/u%[2]d","accountId":%[3]q},`+
			`"eventTime":%[4]q,"eventSource":"ec2.amazonaws.com","eventName":"RunInstances","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.1",`+
			`"requestParameters":null,"responseElements":null,"eventID":"00000000-0000-4000-8000-%012[2]d","readOnly":false,"eventType":"AwsApiCall",`+
			`"managementEvent":true,"recipientAccountId":%[3]q,"eventCategory":"Management"}`, typ, i, testAccount, time.Now().UTC().Format(time.RFC3339)))
	}
	res, err := f.rec.Record(context.Background(), recorder.Scope{Account: testAccount}, raws)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, r := range res {
		if r.Status != recorder.Recorded {
			f.t.Fatalf("record: %v %v", r.Status, r.Err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.c.cfg.Lake.Wait(ctx, f.j.LastSeq()); err != nil {
		f.t.Fatal(err)
	}
}

var cellRE = regexp.MustCompile(`<tr><td>([^<]*)</td><td>([^<]*)</td></tr>`)

// The seed's question end to end: a store created in the console, the GROUP BY query run from
// the editor, its rows on the page and in both downloads, the query in the store's history,
// and StartQuery recorded as the API records it.
func TestLakeQueryPage(t *testing.T) {
	f, cl := lakeClient(t)
	id := cl.createStore("ec2-events", nil)
	f.recordEC2("IAMUser", "AssumedRole", "IAMUser", "IAMUser", "AssumedRole")

	w := cl.do("GET", "/console/lake?store="+id, nil)
	seed := "SELECT userIdentity.type, count(*) FROM " + id + " GROUP BY userIdentity.type;"
	if w.Code != http.StatusOK || !strings.Contains(html.UnescapeString(w.Body.String()), seed) {
		t.Fatalf("editor: %d, want the seed query in the editor\n%s", w.Code, w.Body)
	}
	w = cl.post("/console/lake?store="+id, "/console/lake/queries", url.Values{"store": {id},
		"sql": {"SELECT userIdentity.type, count(*) FROM " + id + " GROUP BY 1 ORDER BY 1"}})
	loc := w.Header().Get("Location")
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(loc, "/console/lake/queries/") {
		t.Fatalf("run query: %d %q %s", w.Code, loc, alertOf(w))
	}
	qid := strings.TrimPrefix(loc[:strings.Index(loc, "?")], "/console/lake/queries/")
	w = cl.do("GET", loc, nil)
	body := w.Body.String()
	got := cellRE.FindAllStringSubmatch(body, -1)
	if w.Code != http.StatusOK || len(got) != 2 || got[0][1] != "AssumedRole" || got[0][2] != "2" || got[1][1] != "IAMUser" || got[1][2] != "3" {
		t.Fatalf("results page: %d rows %v\n%s", w.Code, got, body)
	}
	if !strings.Contains(body, "FINISHED") || strings.Contains(body, `http-equiv="refresh"`) {
		t.Error("a finished query's page does not say FINISHED, or refreshes")
	}

	w = cl.do("GET", "/console/lake/queries/"+qid+"/download?format=csv", nil)
	rows, err := csv.NewReader(w.Body).ReadAll()
	if err != nil || fmt.Sprint(rows) != "[[type _col1] [AssumedRole 2] [IAMUser 3]]" || !strings.Contains(w.Header().Get("Content-Disposition"), "lake-query-"+qid+".csv") {
		t.Errorf("CSV download: %v %v (%s)", rows, err, w.Header().Get("Content-Disposition"))
	}
	w = cl.do("GET", "/console/lake/queries/"+qid+"/download?format=json", nil)
	var objs []map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &objs); err != nil || len(objs) != 2 || objs[1]["type"] != "IAMUser" || objs[1]["_col1"] != "3" {
		t.Errorf("JSON download: %v %v\n%s", objs, err, w.Body)
	}
	if w := cl.do("GET", "/console/lake/queries/"+qid+"/download?format=xml", nil); w.Code != http.StatusBadRequest {
		t.Errorf("download as xml: %d", w.Code)
	}

	// The store's history lists the query, linked to its results.
	w = cl.do("GET", "/console/lake?store="+id, nil)
	if !strings.Contains(w.Body.String(), `href="/console/lake/queries/`+qid+`?store=`+id+`"`) {
		t.Errorf("history does not link the query\n%s", w.Body)
	}
	cairnWait(t, "StartQuery recorded", func() bool { return len(f.records("StartQuery")) == 1 })
	r := f.records("StartQuery")[0]
	if r.ReadOnly == nil || !*r.ReadOnly || !strings.Contains(string(r.ResponseElements), qid) || !strings.Contains(string(r.RequestParameters), `"queryStatement"`) {
		t.Errorf("StartQuery record %s", r.Raw)
	}
}

// cairnWait waits for cond (the auditor records asynchronously).
func cairnWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// A statement the Lake refuses comes back in the editor with the API's exception and message,
// and the SQL as typed; the refusal is recorded as the failed call.
func TestLakeQueryErrors(t *testing.T) {
	f, cl := lakeClient(t)
	id := cl.createStore("ec2-events", nil)
	tests := []struct{ sql, want string }{
		{"SELECT nosuchcolumn FROM " + id, "InvalidQueryStatementException: "},
		{"SELEC eventName FROM " + id, "InvalidQueryStatementException: "},
		{"SELECT eventName FROM 01234567-89ab-4def-8123-456789abcdef", "EventDataStoreNotFoundException: Event data store 01234567-89ab-4def-8123-456789abcdef not found"},
		{"   ", "InvalidParameterException: QueryStatement is required."},
	}
	for _, tt := range tests {
		w := cl.post("/console/lake", "/console/lake/queries", url.Values{"store": {id}, "sql": {tt.sql}})
		if w.Code != http.StatusBadRequest || !strings.HasPrefix(alertOf(w), tt.want) {
			t.Errorf("%q: %d alert %q, want %q", tt.sql, w.Code, alertOf(w), tt.want)
		}
		if !strings.Contains(w.Body.String(), html.EscapeString(tt.sql)+"</textarea>") {
			t.Errorf("%q: the editor lost the statement", tt.sql)
		}
	}
	cairnWait(t, "failed StartQuery calls recorded", func() bool { return len(f.records("StartQuery")) == len(tests) })
	if r := f.records("StartQuery")[0]; r.ErrorCode != "InvalidQueryStatementException" || r.ErrorMessage == "" {
		t.Errorf("failed StartQuery record %s", r.Raw)
	}
	for path, want := range map[string]int{
		"/console/lake/queries/01234567-89ab-4def-8123-456789abcdef": http.StatusNotFound,
		"/console/lake/queries/not-a-query":                          http.StatusBadRequest,
		"/console/lake/stores/01234567-89ab-4def-8123-456789abcdef":  http.StatusNotFound,
	} {
		if w := cl.do("GET", path, nil); w.Code != want {
			t.Errorf("GET %s: %d, want %d", path, w.Code, want)
		}
	}
}

// Store pages take the Lake's rules and say its messages verbatim: a rejected create keeps the
// form, termination protection blocks deletion, a deleted store is pending deletion until
// restored, ingestion stops and starts; each change is recorded as its API call.
func TestLakeStorePages(t *testing.T) {
	f, cl := lakeClient(t)
	create := []struct {
		name string
		form url.Values
		want string
	}{
		{"bad name", url.Values{"name": {"no spaces please"}}, `InvalidParameterException: Name "no spaces please" is not valid`},
		{"retention not a number", url.Values{"retention": {"ten"}}, `Retention period "ten" is not a whole number of days.`},
		{"retention out of range", url.Values{"retention": {"3"}}, "InvalidParameterException: RetentionPeriod 3 is out of range"},
		{"selectors not JSON", url.Values{"selectors": {"{"}}, "Advanced event selectors are not a JSON list of selectors"},
		{"selectors wrong", url.Values{"selectors": {`[{"FieldSelectors":[{"Field":"eventName","Equals":["x"]}]}]`}}, "InvalidEventSelectorsException: "},
	}
	for _, tt := range create {
		form := url.Values{"name": {"good-name"}, "retention": {"30"}, "selectors": {""}}
		for k, v := range tt.form {
			form[k] = v
		}
		w := cl.post("/console/lake/stores/new", "/console/lake/stores/new", form)
		if w.Code != http.StatusBadRequest || !strings.HasPrefix(alertOf(w), tt.want) {
			t.Errorf("%s: %d alert %q, want %q", tt.name, w.Code, alertOf(w), tt.want)
		}
		if !strings.Contains(w.Body.String(), `value="`+html.EscapeString(form.Get("name"))+`"`) {
			t.Errorf("%s: the form lost the name", tt.name)
		}
	}

	id := cl.createStore("audit", url.Values{"selectors": {""}, "protection": {"on"}})
	page := "/console/lake/stores/" + id
	st, _ := f.c.cfg.Lake.GetStore(lake.Caller{Account: testAccount, Region: "us-east-1"}, id)
	if st.RetentionDays != 3653 || !st.TerminationProtection || st.Selectors[0].Name != "Default management events" {
		t.Errorf("created store %+v", st)
	}
	steps := []struct {
		name, path string
		form       url.Values
		status     int
		want       string // in the flash (after the redirect) or the alert
		check      func(*lake.Store) bool
	}{
		{"protected delete", page + "/delete", url.Values{}, http.StatusBadRequest, "EventDataStoreTerminationProtectedException: Event data store " + id + " has termination protection enabled",
			func(s *lake.Store) bool { return s.Status == lake.StatusEnabled }},
		{"rename, unprotect", page, url.Values{"name": {"audit-2"}, "retention": {"90"}, "multiregion": {"on"}}, http.StatusSeeOther, "Saved event data store audit-2.",
			func(s *lake.Store) bool {
				return s.Name == "audit-2" && s.RetentionDays == 90 && !s.TerminationProtection
			}},
		{"nothing changed", page, url.Values{"name": {"audit-2"}, "retention": {"90"}, "multiregion": {"on"}}, http.StatusSeeOther, "Nothing to save",
			func(s *lake.Store) bool { return s.Name == "audit-2" }},
		{"stop ingestion", page + "/ingestion", url.Values{}, http.StatusSeeOther, "Stopped ingestion into event data store audit-2.",
			func(s *lake.Store) bool { return s.Status == lake.StatusStoppedIngestion }},
		{"stop again", page + "/ingestion", url.Values{}, http.StatusBadRequest, "InvalidEventDataStoreStatusException: ",
			func(s *lake.Store) bool { return s.Status == lake.StatusStoppedIngestion }},
		{"start ingestion", page + "/ingestion", url.Values{"ingestion": {"on"}}, http.StatusSeeOther, "Started ingestion into event data store audit-2.",
			func(s *lake.Store) bool { return s.Status == lake.StatusEnabled }},
		{"delete", page + "/delete", url.Values{}, http.StatusSeeOther, "Deleted event data store audit-2",
			func(s *lake.Store) bool { return s.Status == lake.StatusPendingDeletion }},
		{"change while pending", page, url.Values{"name": {"audit-3"}, "retention": {"90"}}, http.StatusBadRequest, "InactiveEventDataStoreException: ",
			func(s *lake.Store) bool { return s.Name == "audit-2" }},
		{"restore", page + "/restore", url.Values{}, http.StatusSeeOther, "Restored event data store audit-2.",
			func(s *lake.Store) bool { return s.Status == lake.StatusEnabled }},
	}
	for _, tt := range steps {
		w := cl.post(page, tt.path, tt.form)
		msg := alertOf(w)
		if w.Code == http.StatusSeeOther {
			next := cl.do("GET", w.Header().Get("Location"), nil)
			msg = html.UnescapeString(next.Body.String())
		}
		if w.Code != tt.status || !strings.Contains(msg, tt.want) {
			t.Errorf("%s: %d, want %d with %q; got %q", tt.name, w.Code, tt.status, tt.want, alertOf(w))
		}
		if st, err := f.c.cfg.Lake.GetStore(lake.Caller{Account: testAccount, Region: "us-east-1"}, id); err != nil || !tt.check(st) {
			t.Errorf("%s: store after: %+v %v", tt.name, st, err)
		}
	}
	// A pending store's page offers restore, not the settings form; the list says when it goes.
	cl.post(page, page+"/delete", url.Values{})
	if b := cl.do("GET", page, nil).Body.String(); !strings.Contains(b, "/restore") || strings.Contains(b, `id="retention"`) {
		t.Errorf("pending store's page\n%s", b)
	}
	if b := cl.do("GET", "/console/lake/stores", nil).Body.String(); !strings.Contains(b, "Pending deletion") || !strings.Contains(b, "removed after") {
		t.Errorf("store list\n%s", b)
	}

	cairnWait(t, "store changes recorded", func() bool { return len(f.records("DeleteEventDataStore")) == 3 })
	for name, n := range map[string]int{"CreateEventDataStore": len(create) - 2 + 1, "UpdateEventDataStore": 2, "StopEventDataStoreIngestion": 2,
		"StartEventDataStoreIngestion": 1, "RestoreEventDataStore": 1} {
		if got := len(f.records(name)); got != n {
			t.Errorf("%d %s records, want %d", got, name, n)
		}
	}
	if r := f.records("DeleteEventDataStore")[0]; r.ErrorCode != "EventDataStoreTerminationProtectedException" ||
		!strings.Contains(string(r.RequestParameters), `"eventDataStore":"arn:aws:cloudtrail:us-east-1:`+testAccount+`:eventdatastore/`+id+`"`) {
		t.Errorf("refused DeleteEventDataStore record %s", r.Raw)
	}
	if r := f.records("UpdateEventDataStore")[0]; string(r.RequestParameters) != fmt.Sprintf(`{"eventDataStore":%q,"name":"audit-2","retentionPeriod":90,"terminationProtectionEnabled":false}`, st.ARN()) {
		t.Errorf("UpdateEventDataStore records only what changed: %s", r.RequestParameters)
	}
}

// The form sets what CreateEventDataStore takes beyond the basics: an organisation store, and a
// KMS key, which only a new store can be given.
func TestLakeStoreOrganizationAndKey(t *testing.T) {
	f, cl := lakeClient(t)
	caller := lake.Caller{Account: testAccount, Region: "us-east-1", Operator: true}
	sealed := cl.createStore("sealed", url.Values{"organization": {"on"}, "kms": {"alias/audit"}})
	if st, err := f.c.cfg.Lake.GetStore(caller, sealed); err != nil || !st.Organization || st.KmsKeyID != "alias/audit" {
		t.Fatalf("created store %+v %v", st, err)
	}
	if b := cl.do("GET", "/console/lake/stores/"+sealed, nil).Body.String(); strings.Contains(b, `id="kms"`) || !strings.Contains(b, "alias/audit") {
		t.Errorf("a store's page offers a key field or hides its key\n%s", b)
	}

	plain := cl.createStore("plain", nil)
	page := "/console/lake/stores/" + plain
	form := url.Values{"name": {"plain"}, "retention": {"3653"}, "multiregion": {"on"}, "selectors": {ec2Only}, "organization": {"on"}}
	wantRedirect(t, cl.post(page, page, form), "/console/lake/stores?done=")
	if st, _ := f.c.cfg.Lake.GetStore(caller, plain); !st.Organization || st.KmsKeyID != "" {
		t.Errorf("store after making it an organisation store: %+v", st)
	}
	cairnWait(t, "the update recorded", func() bool { return len(f.records("UpdateEventDataStore")) == 1 })
	want := `{"eventDataStore":"arn:aws:cloudtrail:us-east-1:` + testAccount + `:eventdatastore/` + plain + `","organizationEnabled":true}`
	if got := string(f.records("UpdateEventDataStore")[0].RequestParameters); got != want {
		t.Errorf("UpdateEventDataStore recorded %s, want %s", got, want)
	}
}

// Every Lake form needs the session's CSRF token.
func TestLakeCSRF(t *testing.T) {
	f, cl := lakeClient(t)
	id := cl.createStore("ec2-events", nil)
	for _, path := range []string{"/console/lake/queries", "/console/lake/queries/01234567-89ab-4def-8123-456789abcdef/cancel",
		"/console/lake/stores/new", "/console/lake/stores/" + id, "/console/lake/stores/" + id + "/delete",
		"/console/lake/stores/" + id + "/restore", "/console/lake/stores/" + id + "/ingestion"} {
		for _, token := range []string{"", "forged"} {
			if w := cl.do("POST", path, url.Values{"csrf": {token}, "name": {"x-y-z"}, "sql": {"SELECT 1"}}); w.Code != http.StatusForbidden {
				t.Errorf("POST %s with token %q: %d", path, token, w.Code)
			}
		}
	}
	if st, _ := f.c.cfg.Lake.GetStore(lake.Caller{Account: testAccount, Region: "us-east-1"}, id); st.Status != lake.StatusEnabled {
		t.Errorf("a forged form changed the store: %s", st.Status)
	}
}

// Without a Lake the console has no Lake pages and no Lake in its navigation.
func TestLakeHiddenWithoutLake(t *testing.T) {
	f := newFixture(t)
	cl := f.client()
	cl.signIn(testPassword)
	if w := cl.do("GET", "/console/lake", nil); w.Code != http.StatusNotFound {
		t.Errorf("GET /console/lake without a Lake: %d", w.Code)
	}
	if strings.Contains(cl.do("GET", "/console/nowhere", nil).Body.String(), `href="/console/lake"`) {
		t.Error("navigation links the Lake without one")
	}
}

func TestSampleForStore(t *testing.T) {
	const id = "01234567-89ab-4def-8123-456789abcdef"
	samples, err := lake.Samples()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range samples {
		sql := sampleFor(s, id)
		if !strings.Contains(sql, id) {
			t.Errorf("sample %q does not read the store:\n%s", s.Title, sql)
		}
		for _, p := range lake.SamplePlaceholders {
			if strings.Contains(sql, p) {
				t.Errorf("sample %q keeps the placeholder %s", s.Title, p)
			}
		}
	}
}

// A query still running when the page gives up waiting is shown running, refreshing itself,
// with a button that cancels it (recorded as CancelQuery).
func TestLakeQueryRunningAndCancel(t *testing.T) {
	f, cl := lakeClient(t)
	id := cl.createStore("ec2-events", nil)
	f.recordEC2("IAMUser", "IAMUser")
	w := cl.post("/console/lake", "/console/lake/queries", url.Values{"store": {id},
		"sql": {"SELECT count(*) FROM " + id + ", range(100000000000) r"}})
	loc := w.Header().Get("Location")
	if w.Code != http.StatusSeeOther {
		t.Fatalf("start a long query: %d %s", w.Code, alertOf(w))
	}
	// The browser stops waiting before the query ends.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	r := httptest.NewRequestWithContext(ctx, "GET", loc, nil)
	for _, c := range cl.cookies {
		r.AddCookie(c)
	}
	w = httptest.NewRecorder()
	f.c.ServeHTTP(w, r)
	body := w.Body.String()
	if w.Code != http.StatusOK || !strings.Contains(body, `<meta http-equiv="refresh" content="2">`) || !strings.Contains(body, "Cancel query") ||
		!(strings.Contains(body, "s-RUNNING") || strings.Contains(body, "s-QUEUED")) {
		t.Fatalf("running query's page: %d\n%s", w.Code, body)
	}
	qid := strings.TrimPrefix(loc[:strings.Index(loc, "?")], "/console/lake/queries/")
	w = cl.post("/console/lake/stores", "/console/lake/queries/"+qid+"/cancel", url.Values{"store": {id}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("cancel: %d %s", w.Code, w.Body)
	}
	w = cl.do("GET", w.Header().Get("Location"), nil)
	if b := w.Body.String(); !strings.Contains(b, "s-CANCELLED") || strings.Contains(b, "http-equiv") {
		t.Errorf("cancelled query's page\n%s", b)
	}
	if w := cl.do("GET", "/console/lake/queries/"+qid+"/download?format=csv", nil); w.Code != http.StatusOK {
		t.Errorf("download of a cancelled query: %d", w.Code)
	}
	cairnWait(t, "CancelQuery recorded", func() bool { return len(f.records("CancelQuery")) == 1 })
}
