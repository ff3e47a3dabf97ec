package integration

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/smithy-go"

	"github.com/cairn-dev/cairn/internal/cairntest"
)

// The Lake's data with known answers: the conformance data of internal/lake (events from 2022
// and 2023, AWS Config items), its sample queries and the rows each returns (testdata/conformance).
var (
	lakeTestdata = filepath.Join("..", "..", "internal", "lake", "testdata")
	lakeSamples  = filepath.Join("..", "..", "internal", "lake", "samples") // the conformance queries
)

// lakeStores creates the conformance stores through the API and fills them with cairn import:
// the events in three stores with different selectors, the configuration items in a fourth.
// It returns the store IDs by role and waits until every store holds its events.
func lakeStores(t *testing.T, s *cairntest.Server, c *cloudtrail.Client) map[string]string {
	t.Helper()
	ctx := context.Background()
	sel := func(category string, more ...types.AdvancedFieldSelector) []types.AdvancedEventSelector {
		return []types.AdvancedEventSelector{{FieldSelectors: append([]types.AdvancedFieldSelector{
			{Field: aws.String("eventCategory"), Equals: []string{category}}}, more...)}}
	}
	// cairn records the test's own API calls, made with the root key, as management events: the
	// stores leave them out so that the answers are those of the data alone.
	notMe := types.AdvancedFieldSelector{Field: aws.String("userIdentity.arn"), NotEquals: []string{"arn:aws:iam::" + cairntest.AccountID + ":root"}}
	specs := []struct {
		role string
		sels []types.AdvancedEventSelector
	}{
		{"events", sel("Management", notMe)},
		{"creates", sel("Management", notMe, types.AdvancedFieldSelector{Field: aws.String("eventName"), StartsWith: []string{"Create"}})},
		{"reads", sel("Management", notMe, types.AdvancedFieldSelector{Field: aws.String("readOnly"), Equals: []string{"true"}})},
		{"config", sel("ConfigurationItem")},
	}
	ids := map[string]string{}
	for _, sp := range specs {
		out, err := c.CreateEventDataStore(ctx, &cloudtrail.CreateEventDataStoreInput{
			Name: aws.String("lake-" + sp.role), AdvancedEventSelectors: sp.sels, RetentionPeriod: aws.Int32(3653), // the data is from 2022
			TerminationProtectionEnabled: aws.Bool(false),
		})
		if err != nil {
			t.Fatalf("create %s store: %v", sp.role, err)
		}
		ids[sp.role] = aws.ToString(out.EventDataStoreArn)[strings.LastIndexByte(aws.ToString(out.EventDataStoreArn), '/')+1:]
	}
	cairnImport(t, s, "--state", filepath.Join(t.TempDir(), "imports.sqlite"), filepath.Join(lakeTestdata, "events.ndjson"))
	cairnImport(t, s, "--config-items", filepath.Join(lakeTestdata, "config-items.json"))
	cairntest.WaitFor(t, 30*time.Second, "the Lake to hold the imported events", func() bool {
		_, rows, err := sdkQuery(ctx, c, "SELECT count(*) FROM "+ids["events"])
		if err != nil || len(rows) != 1 || rows[0][0] != "47" {
			return false
		}
		_, rows, err = sdkQuery(ctx, c, "SELECT count(*) FROM "+ids["config"])
		return err == nil && len(rows) == 1 && rows[0][0] != "0"
	})
	return ids
}

func cairnImport(t *testing.T, s *cairntest.Server, args ...string) {
	t.Helper()
	cmd := exec.Command(cairntest.Binary(t), append([]string{"import", "--to", "server", "--quiet"}, args...)...)
	cmd.Env = s.Env()
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "recorded") {
		t.Fatalf("cairn import %v: %v\n%s", args, err, out)
	}
}

// sdkQuery runs a statement as a Lake user does: StartQuery, DescribeQuery until it ends, every
// page of GetQueryResults. It returns the columns and rows, or the query's failure.
func sdkQuery(ctx context.Context, c *cloudtrail.Client, sql string) ([]string, [][]string, error) {
	started, err := c.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String(sql)})
	if err != nil {
		return nil, nil, err
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		d, err := c.DescribeQuery(ctx, &cloudtrail.DescribeQueryInput{QueryId: started.QueryId})
		if err != nil {
			return nil, nil, err
		}
		if d.QueryStatus == types.QueryStatusFinished {
			break
		}
		if d.QueryStatus != types.QueryStatusQueued && d.QueryStatus != types.QueryStatusRunning {
			return nil, nil, fmt.Errorf("%s: %s", d.QueryStatus, aws.ToString(d.ErrorMessage))
		}
		if time.Now().After(deadline) {
			return nil, nil, fmt.Errorf("query still %s after 60s", d.QueryStatus)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var cols []string
	var rows [][]string
	in := &cloudtrail.GetQueryResultsInput{QueryId: started.QueryId, MaxQueryResults: aws.Int32(5)}
	for {
		p, err := c.GetQueryResults(ctx, in)
		if err != nil {
			return nil, nil, err
		}
		for _, r := range p.QueryResultRows {
			c, v := cells(r)
			cols, rows = c, append(rows, v)
		}
		if p.NextToken == nil {
			return cols, rows, nil
		}
		in.NextToken = p.NextToken
	}
}

// cells splits a result row, a list of one-entry maps, into column names and values.
func cells(row []map[string]string) (cols, vals []string) {
	for _, cell := range row {
		if len(cell) != 1 {
			panic(fmt.Sprintf("result cell %v has %d entries, want 1", cell, len(cell)))
		}
		for k, v := range cell {
			cols, vals = append(cols, k), append(vals, v)
		}
	}
	return cols, vals
}

// conformanceQuery reads a conformance query, with the stores' IDs in place of the AWS
// samples' placeholders, and the rows it must return.
func conformanceQuery(t *testing.T, name string, ids map[string]string) (sql string, want string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(lakeSamples, name+".sql"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := os.ReadFile(filepath.Join(lakeTestdata, "conformance", name+".want"))
	if err != nil {
		t.Fatal(err)
	}
	sql = string(b)
	for _, p := range []struct{ text, role string }{
		{"config_event_data_store_ID", "config"}, {"event_data_store_ID", "events"},
		{"$CONFIG_EDS_ID", "config"}, {"$CLOUDTRAIL_EDS_ID", "events"}, {"$EDS_ID", "events"},
		{"<EDS ID>", "events"}, {"<EDS_ID>", "events"}, {"<table>", "events"},
		{"EDS1", "events"}, {"EDS2", "creates"}, {"EDS3", "reads"}, {"eds1", "events"}, {"eds2", "creates"},
	} {
		sql = strings.ReplaceAll(sql, p.text, ids[p.role])
	}
	return sql, string(w)
}

// render writes rows as the conformance .want files do: columns, then rows (sorted unless the
// query orders them), cells separated by " | ".
func render(sql string, cols []string, rows [][]string) string {
	lines := make([]string, len(rows))
	for i, r := range rows {
		lines[i] = strings.Join(r, " | ")
	}
	if !strings.Contains(strings.ToLower(sql), "order by") {
		slices.Sort(lines)
	}
	var b strings.Builder
	b.WriteString(strings.Join(cols, " | ") + "\n")
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	return b.String()
}

// Every AWS sample query and the seed scenarios' queries return the known rows through
// aws-sdk-go-v2, and the seed scenarios' two queries (the JOIN included) through both aws CLIs.
func TestLakeQueriesSDKAndCLI(t *testing.T) {
	s := cairntest.Start(t)
	c := cloudtrail.NewFromConfig(s.AWSConfig())
	ids := lakeStores(t, s, c)
	ctx := context.Background()

	files, _ := filepath.Glob(filepath.Join(lakeSamples, "*.sql"))
	if len(files) < 19 {
		t.Fatalf("found %d conformance queries", len(files))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".sql")
		t.Run("sdk/"+name, func(t *testing.T) {
			sql, want := conformanceQuery(t, name, ids)
			cols, rows, err := sdkQuery(ctx, c, sql)
			var got string
			var ae smithy.APIError
			switch {
			case errors.As(err, &ae):
				got = "ERROR: " + ae.ErrorMessage() + "\n" // the samples AWS's own engine refuses too
			case err != nil:
				got = "ERROR: " + err.Error() + "\n"
			case len(rows) == 0 && strings.Count(want, "\n") == 1:
				got = want // no rows: GetQueryResults names no columns
			default:
				got = render(sql, cols, rows)
			}
			if got != want {
				t.Errorf("query:\n%s\ngot:\n%s\nwant:\n%s", sql, got, want)
			}
		})
	}

	clis := []struct {
		name string
		argv []string // the program, then flags
	}{
		// Both get --endpoint-url: Debian's CLI 2.9 predates AWS_ENDPOINT_URL.
		{"aws-cli-1", []string{"aws", "--endpoint-url", s.Endpoint}},
		{"aws-cli-2.9", []string{"/usr/bin/aws", "--endpoint-url", s.Endpoint}},
	}
	for _, cli := range clis {
		for _, name := range []string{"s1-count-by-identity-type", "s4a-resource-creation-times", "s4b-who-changed-bucket-encryption"} {
			t.Run(cli.name+"/"+name, func(t *testing.T) {
				argv := append([]string{cairntest.Tool(t, cli.argv[0])}, cli.argv[1:]...)
				sql, want := conformanceQuery(t, name, ids)
				cols, rows := cliQuery(t, s, argv, sql)
				if got := render(sql, cols, rows); got != want {
					t.Errorf("query:\n%s\ngot:\n%s\nwant:\n%s", sql, got, want)
				}
			})
		}
	}

	// cairn query asks the server as the CLI does, and prints CSV.
	cmd := exec.Command(cairntest.Binary(t), "query", "--output", "csv", "SELECT eventName, count(*) AS n FROM "+ids["creates"]+" GROUP BY 1 ORDER BY 2 DESC, 1")
	cmd.Env = s.Env()
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "eventName,n\n") || strings.Count(string(out), "\n") < 2 {
		t.Fatalf("cairn query: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n")[1:] {
		if !strings.HasPrefix(line, "Create") {
			t.Errorf("cairn query: the creates store holds %q", line)
		}
	}

	// cairn query --offline reads the data directory, but only once the server has stopped. Every
	// event of the creates store is also in the events store.
	offline := func() (string, error) {
		cmd := exec.Command(cairntest.Binary(t), "query", "--offline", "--data", s.Data, "--output", "json",
			"SELECT count(*) AS n FROM "+ids["events"]+" e JOIN "+ids["creates"]+" c ON e.eventID = c.eventID")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := offline(); err == nil || !strings.Contains(out, "in use by a running cairn") {
		t.Errorf("cairn query --offline beside a running server: %v\n%s", err, out)
	}
	_, rows, err := sdkQuery(ctx, c, "SELECT count(*) FROM "+ids["creates"])
	if err != nil {
		t.Fatal(err)
	}
	wantCreates := rows[0][0]
	s.Stop()
	if out, err := offline(); err != nil || strings.Join(strings.Fields(out), "") != `[{"n":"`+wantCreates+`"}]` {
		t.Errorf("cairn query --offline: %v\n%s", err, out)
	}
}

// cliQuery runs start-query, describe-query until the query ends and get-query-results with an
// aws CLI.
func cliQuery(t *testing.T, s *cairntest.Server, argv []string, sql string) ([]string, [][]string) {
	t.Helper()
	run := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(argv[0], append(append(argv[1:], "--output", "json", "cloudtrail"), args...)...)
		cmd.Env = s.Env()
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%v: %v\n%s", args[0], err, stderrOf(err))
		}
		return out
	}
	var started struct{ QueryId string }
	if err := json.Unmarshal(run("start-query", "--query-statement", sql), &started); err != nil || started.QueryId == "" {
		t.Fatalf("start-query: %v %+v", err, started)
	}
	cairntest.WaitFor(t, 60*time.Second, "the query to finish", func() bool {
		var d struct {
			QueryStatus  string
			ErrorMessage string
		}
		json.Unmarshal(run("describe-query", "--query-id", started.QueryId), &d)
		if d.QueryStatus == "FAILED" || d.QueryStatus == "TIMED_OUT" || d.QueryStatus == "CANCELLED" {
			t.Fatalf("query %s: %s", d.QueryStatus, d.ErrorMessage)
		}
		return d.QueryStatus == "FINISHED"
	})
	var res struct {
		QueryStatus     string
		QueryResultRows [][]map[string]string
	}
	if err := json.Unmarshal(run("get-query-results", "--query-id", started.QueryId), &res); err != nil {
		t.Fatal(err)
	}
	var cols []string
	var rows [][]string
	for _, r := range res.QueryResultRows {
		c, v := cells(r)
		cols, rows = c, append(rows, v)
	}
	return cols, rows
}

// Event data stores through their life: AWS validation, termination protection, PENDING_DELETION
// and restore, ingestion stopped and started, tags; queries on unknown stores.
func TestLakeEventDataStoreLifecycleSDK(t *testing.T) {
	s := cairntest.Start(t)
	c := cloudtrail.NewFromConfig(s.AWSConfig())
	ctx := context.Background()

	for _, tc := range []struct {
		in   cloudtrail.CreateEventDataStoreInput
		code string
	}{
		{cloudtrail.CreateEventDataStoreInput{Name: aws.String("no spaces allowed")}, "InvalidParameterException"},
		{cloudtrail.CreateEventDataStoreInput{Name: aws.String("short-retention"), RetentionPeriod: aws.Int32(6)}, "InvalidParameterException"},
		{cloudtrail.CreateEventDataStoreInput{Name: aws.String("bad-selector"), AdvancedEventSelectors: []types.AdvancedEventSelector{{
			FieldSelectors: []types.AdvancedFieldSelector{{Field: aws.String("eventCategory"), Equals: []string{"Nonsense"}}}}}}, "InvalidEventSelectorsException"},
	} {
		if _, err := c.CreateEventDataStore(ctx, &tc.in); apiCode(err) != tc.code {
			t.Errorf("create %s: %v, want %s", aws.ToString(tc.in.Name), err, tc.code)
		}
	}

	created, err := c.CreateEventDataStore(ctx, &cloudtrail.CreateEventDataStoreInput{Name: aws.String("audit"),
		TagsList: []types.Tag{{Key: aws.String("team"), Value: aws.String("sec")}}})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(created.EventDataStoreArn)
	if created.Status != types.EventDataStoreStatusCreated || !aws.ToBool(created.TerminationProtectionEnabled) ||
		!aws.ToBool(created.MultiRegionEnabled) || aws.ToInt32(created.RetentionPeriod) != 366 {
		t.Errorf("defaults: %+v", created)
	}
	if _, err := c.CreateEventDataStore(ctx, &cloudtrail.CreateEventDataStoreInput{Name: aws.String("audit")}); apiCode(err) != "EventDataStoreAlreadyExistsException" {
		t.Errorf("same name again: %v", err)
	}
	got, err := c.GetEventDataStore(ctx, &cloudtrail.GetEventDataStoreInput{EventDataStore: aws.String(arn)})
	if err != nil || got.Status != types.EventDataStoreStatusEnabled || aws.ToString(got.Name) != "audit" {
		t.Fatalf("get: %+v %v", got, err)
	}
	list, err := c.ListEventDataStores(ctx, &cloudtrail.ListEventDataStoresInput{})
	if err != nil || len(list.EventDataStores) != 1 || aws.ToString(list.EventDataStores[0].EventDataStoreArn) != arn {
		t.Fatalf("list: %+v %v", list, err)
	}
	tags, err := c.ListTags(ctx, &cloudtrail.ListTagsInput{ResourceIdList: []string{arn}})
	if err != nil || len(tags.ResourceTagList) != 1 || len(tags.ResourceTagList[0].TagsList) != 1 {
		t.Fatalf("list tags: %+v %v", tags, err)
	}
	if _, err := c.AddTags(ctx, &cloudtrail.AddTagsInput{ResourceId: aws.String(arn), TagsList: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RemoveTags(ctx, &cloudtrail.RemoveTagsInput{ResourceId: aws.String(arn), TagsList: []types.Tag{{Key: aws.String("team")}}}); err != nil {
		t.Fatal(err)
	}
	tags, _ = c.ListTags(ctx, &cloudtrail.ListTagsInput{ResourceIdList: []string{arn}})
	if len(tags.ResourceTagList) != 1 || len(tags.ResourceTagList[0].TagsList) != 1 || aws.ToString(tags.ResourceTagList[0].TagsList[0].Key) != "env" {
		t.Errorf("tags after add and remove: %+v", tags)
	}

	up, err := c.UpdateEventDataStore(ctx, &cloudtrail.UpdateEventDataStoreInput{EventDataStore: aws.String(arn), RetentionPeriod: aws.Int32(3653)})
	if err != nil || aws.ToInt32(up.RetentionPeriod) != 3653 {
		t.Fatalf("update retention: %+v %v", up, err)
	}
	if _, err := c.StopEventDataStoreIngestion(ctx, &cloudtrail.StopEventDataStoreIngestionInput{EventDataStore: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	got, _ = c.GetEventDataStore(ctx, &cloudtrail.GetEventDataStoreInput{EventDataStore: aws.String(arn)})
	if got.Status != types.EventDataStoreStatusStoppedIngestion {
		t.Errorf("after stop: %s", got.Status)
	}
	if _, err := c.StartEventDataStoreIngestion(ctx, &cloudtrail.StartEventDataStoreIngestionInput{EventDataStore: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}

	if _, err := c.DeleteEventDataStore(ctx, &cloudtrail.DeleteEventDataStoreInput{EventDataStore: aws.String(arn)}); apiCode(err) != "EventDataStoreTerminationProtectedException" {
		t.Fatalf("delete protected: %v", err)
	}
	if _, err := c.UpdateEventDataStore(ctx, &cloudtrail.UpdateEventDataStoreInput{EventDataStore: aws.String(arn), TerminationProtectionEnabled: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteEventDataStore(ctx, &cloudtrail.DeleteEventDataStoreInput{EventDataStore: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	got, err = c.GetEventDataStore(ctx, &cloudtrail.GetEventDataStoreInput{EventDataStore: aws.String(arn)})
	if err != nil || got.Status != types.EventDataStoreStatusPendingDeletion {
		t.Fatalf("after delete: %+v %v", got, err)
	}
	id := arn[strings.LastIndexByte(arn, '/')+1:]
	if _, err := c.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String("SELECT * FROM " + id)}); apiCode(err) != "InactiveEventDataStoreException" {
		t.Errorf("query a store pending deletion: %v", err)
	}
	restored, err := c.RestoreEventDataStore(ctx, &cloudtrail.RestoreEventDataStoreInput{EventDataStore: aws.String(arn)})
	if err != nil || restored.Status != types.EventDataStoreStatusEnabled {
		t.Fatalf("restore: %+v %v", restored, err)
	}
	if _, err := c.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String("SELECT * FROM 00000000-0000-4000-8000-000000000000")}); apiCode(err) != "EventDataStoreNotFoundException" {
		t.Errorf("query an unknown store: %v", err)
	}
	if _, err := c.DescribeQuery(ctx, &cloudtrail.DescribeQueryInput{QueryId: aws.String("00000000-0000-4000-8000-000000000000")}); apiCode(err) != "QueryIdNotFoundException" {
		t.Errorf("describe an unknown query: %v", err)
	}
}

// Sandbox escapes are refused with the reason; a query past --lake-query-timeout ends TIMED_OUT
// and can be listed; a running query can be cancelled.
func TestLakeSandboxAndTimeout(t *testing.T) {
	s := cairntest.Start(t, "--lake-query-timeout", "1s")
	c := cloudtrail.NewFromConfig(s.AWSConfig())
	ctx := context.Background()
	st, err := c.CreateEventDataStore(ctx, &cloudtrail.CreateEventDataStoreInput{Name: aws.String("sandbox")})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(st.EventDataStoreArn)
	id := arn[strings.LastIndexByte(arn, '/')+1:]
	for _, sql := range []string{
		"SELECT * FROM read_csv('/etc/passwd')",
		"SELECT * FROM read_text('/etc/passwd')",
		"COPY (SELECT * FROM " + id + ") TO '/tmp/out.csv'",
		"ATTACH '/tmp/x.duckdb' AS x",
		"INSTALL httpfs",
		"LOAD httpfs",
		"PRAGMA database_list",
		"SET enable_external_access = true",
		"SELECT 1 FROM " + id + "; SELECT 2 FROM " + id,
		"SELEC eventName FROM " + id,
	} {
		_, err := c.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String(sql)})
		var msg string
		if err != nil {
			msg = err.Error()
		}
		if apiCode(err) != "InvalidQueryStatementException" || len(msg) < 40 {
			t.Errorf("%s: %v, want InvalidQueryStatementException with a reason", sql, err)
		}
	}

	slow := "SELECT count(*) FROM " + id + ", range(100000000000) r"
	// An empty store would make the cross join empty: give it an event.
	cl := ingestClient(s)
	if _, err := cl.Send(ctx, [][]byte{record("lake-slow-1", "CreateBucket", cairntest.AccountID, cairntest.Region, time.Now().Add(-time.Hour), "")}); err != nil {
		t.Fatal(err)
	}
	cairntest.WaitFor(t, 30*time.Second, "the event in the store", func() bool {
		_, rows, err := sdkQuery(ctx, c, "SELECT count(*) FROM "+id+" WHERE eventName = 'CreateBucket'")
		return err == nil && rows[0][0] == "1"
	})
	start := time.Now()
	_, _, err = sdkQuery(ctx, c, slow)
	if err == nil || !strings.HasPrefix(err.Error(), "TIMED_OUT") {
		t.Fatalf("slow query: %v", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the 1s timeout took %v", d)
	}
	listed, err := c.ListQueries(ctx, &cloudtrail.ListQueriesInput{EventDataStore: aws.String(arn), QueryStatus: types.QueryStatusTimedOut})
	if err != nil || len(listed.Queries) != 1 {
		t.Errorf("list TIMED_OUT queries: %+v %v", listed, err)
	}

	started, err := c.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String(slow)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CancelQuery(ctx, &cloudtrail.CancelQueryInput{QueryId: started.QueryId}); err != nil {
		t.Fatal(err)
	}
	d, err := c.DescribeQuery(ctx, &cloudtrail.DescribeQueryInput{QueryId: started.QueryId})
	if err != nil || d.QueryStatus != types.QueryStatusCancelled {
		t.Errorf("after cancel: %+v %v", d, err)
	}
	if _, err := c.CancelQuery(ctx, &cloudtrail.CancelQueryInput{QueryId: started.QueryId}); apiCode(err) != "InactiveQueryException" {
		t.Errorf("cancel twice: %v", err)
	}
}

// Any application's audit events: a channel into an ActivityAuditLog store, events sent with
// aws cloudtrail-data put-audit-events (aws CLI 1) and a SigV4-signed request for the
// cloudtrail-data service; good events are found by SQL, bad ones are answered in "failed".
func TestLakePutAuditEvents(t *testing.T) {
	s := cairntest.Start(t)
	c := cloudtrail.NewFromConfig(s.AWSConfig())
	ctx := context.Background()
	st, err := c.CreateEventDataStore(ctx, &cloudtrail.CreateEventDataStoreInput{Name: aws.String("apps"), MultiRegionEnabled: aws.Bool(false),
		TerminationProtectionEnabled: aws.Bool(false),
		AdvancedEventSelectors: []types.AdvancedEventSelector{{FieldSelectors: []types.AdvancedFieldSelector{
			{Field: aws.String("eventCategory"), Equals: []string{"ActivityAuditLog"}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	storeARN := aws.ToString(st.EventDataStoreArn)
	storeID := storeARN[strings.LastIndexByte(storeARN, '/')+1:]
	ch, err := c.CreateChannel(ctx, &cloudtrail.CreateChannelInput{Name: aws.String("payments"), Source: aws.String("Custom"),
		Destinations: []types.Destination{{Type: types.DestinationTypeEventDataStore, Location: aws.String(storeARN)}}})
	if err != nil {
		t.Fatal(err)
	}
	channel := aws.ToString(ch.ChannelArn)
	if _, err := c.CreateChannel(ctx, &cloudtrail.CreateChannelInput{Name: aws.String("payments"), Source: aws.String("Custom"),
		Destinations: []types.Destination{{Type: types.DestinationTypeEventDataStore, Location: aws.String(storeARN)}}}); apiCode(err) != "ChannelAlreadyExistsException" {
		t.Errorf("same channel name again: %v", err)
	}
	event := func(uid, name, user string) string {
		return fmt.Sprintf(`{"version":"1.0","userIdentity":{"type":"CustomUser","principalId":%q},"eventSource":"payments.example.com","eventName":%q,"eventTime":%q,"UID":%q,"recipientAccountId":%q}`,
			user, name, time.Now().UTC().Add(-time.Minute).Format(time.RFC3339), uid, cairntest.AccountID)
	}

	// A signed restJson1 request as any SDK sends it, with a checksum, and one with a wrong checksum.
	good := event("u-sdk-1", "Charge", "bob")
	sum := sha256.Sum256([]byte(good))
	body, _ := json.Marshal(map[string]any{"auditEvents": []map[string]string{
		{"id": "sdk-1", "eventData": good, "eventDataChecksum": base64.StdEncoding.EncodeToString(sum[:])},
		{"id": "sdk-2", "eventData": event("u-sdk-2", "Charge", "eve"), "eventDataChecksum": base64.StdEncoding.EncodeToString(make([]byte, 32))},
	}})
	status, answer := putAuditEvents(t, s, channel, body)
	if status != 200 || !strings.Contains(answer, `"sdk-1"`) || !strings.Contains(answer, `"failed":[{"id":"sdk-2"`) {
		t.Fatalf("PutAuditEvents: %d %s", status, answer)
	}
	// An unknown channel is a ChannelNotFound error of the cloudtrail-data protocol.
	status, answer = putAuditEvents(t, s, channel[:len(channel)-4]+"0000", body)
	if status != 400 || !strings.HasSuffix(answer, "ChannelNotFound") {
		t.Errorf("unknown channel: %d %s", status, answer)
	}

	// The aws CLI: one good event, one that is not JSON.
	cliRan := false
	t.Run("aws-cli-1", func(t *testing.T) {
		aws1 := cairntest.Tool(t, "aws")
		// The machine image's aws CLI 1.45 has cloudtrail-data; Debian's 2.9 (which may be the
		// only aws on a fresh machine) predates it.
		if err := exec.Command(aws1, "cloudtrail-data", "help").Run(); err != nil {
			t.Skipf("%s has no cloudtrail-data command: %v", aws1, err)
		}
		cliRan = true
		events, _ := json.Marshal([]map[string]string{
			{"id": "cli-1", "eventData": event("u-cli-1", "Refund", "alice")},
			{"id": "cli-2", "eventData": "not json"},
		})
		cmd := exec.Command(aws1, "--endpoint-url", s.Endpoint, "cloudtrail-data", "put-audit-events", "--channel-arn", channel, "--audit-events", string(events), "--output", "json")
		cmd.Env = s.Env()
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("put-audit-events: %v\n%s", err, stderrOf(err))
		}
		var res struct {
			Successful []struct{ ID, EventID string }
			Failed     []struct{ ID, ErrorCode, ErrorMessage string }
		}
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatal(err)
		}
		if len(res.Successful) != 1 || res.Successful[0].ID != "cli-1" || res.Successful[0].EventID == "" ||
			len(res.Failed) != 1 || res.Failed[0].ID != "cli-2" || res.Failed[0].ErrorMessage == "" {
			t.Fatalf("put-audit-events answered %s", out)
		}
	})

	want := "uid | eventName | principalId\nu-sdk-1 | Charge | bob\n"
	if cliRan {
		want = "uid | eventName | principalId\nu-cli-1 | Refund | alice\nu-sdk-1 | Charge | bob\n"
	}
	cairntest.WaitFor(t, 30*time.Second, "the audit events in the store", func() bool {
		_, rows, err := sdkQuery(ctx, c, "SELECT count(*) FROM "+storeID)
		return err == nil && rows[0][0] == fmt.Sprint(strings.Count(want, "\n")-1)
	})
	cols, rows, err := sdkQuery(ctx, c, "SELECT eventData.uid, eventData.eventName, eventData.userIdentity.principalId FROM "+storeID+" ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	if got := render("order by", cols, rows); got != want {
		t.Errorf("audit events by SQL:\n%s", got)
	}
	gc, err := c.GetChannel(ctx, &cloudtrail.GetChannelInput{Channel: aws.String(channel)})
	if err != nil || gc.IngestionStatus == nil || gc.IngestionStatus.LatestIngestionSuccessTime == nil {
		t.Errorf("get channel: %+v %v", gc, err)
	}
	// A store with a channel cannot be deleted; the channel can.
	if _, err := c.DeleteEventDataStore(ctx, &cloudtrail.DeleteEventDataStoreInput{EventDataStore: aws.String(storeARN)}); apiCode(err) != "ChannelExistsForEDSException" {
		t.Errorf("delete a store with a channel: %v", err)
	}
	if _, err := c.DeleteChannel(ctx, &cloudtrail.DeleteChannelInput{Channel: aws.String(channel)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetChannel(ctx, &cloudtrail.GetChannelInput{Channel: aws.String(channel)}); apiCode(err) != "ChannelNotFoundException" {
		t.Errorf("get a deleted channel: %v", err)
	}
}

// putAuditEvents sends a PutAuditEvents request signed for the cloudtrail-data service.
func putAuditEvents(t *testing.T, s *cairntest.Server, channel string, body []byte) (int, string) {
	t.Helper()
	ctx := context.Background()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.Endpoint+"/PutAuditEvents?channelArn="+channel, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	creds, _ := s.AWSConfig().Credentials.Retrieve(ctx)
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "cloudtrail-data", cairntest.Region, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String() + resp.Header.Get("X-Amzn-ErrorType")
}
