package console

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cairn-dev/cairn/internal/lake"
)

// Lake pages run queries and change event data stores through internal/lake, the code path of
// the API's StartQuery, GetQueryResults, CreateEventDataStore…, so validation and messages are
// the API's. Queries run asynchronously as there: the page starts one, then waits on it.

// lakeRoutes registers the Lake pages, when the console has a Lake.
func (c *Console) lakeRoutes() {
	if c.cfg.Lake == nil {
		return
	}
	handle := func(pattern string, h http.HandlerFunc) {
		method, path, _ := strings.Cut(pattern, " ")
		c.mux.HandleFunc(method+" "+Prefix+path, c.auth(h))
	}
	// A page that shows what a read-only call answers is refused as that call would be.
	view := func(pattern, call string, resource func(*http.Request) string, h http.HandlerFunc) {
		handle(pattern, c.view(cloudtrailSource, call, resource, h))
	}
	storeARN := func(r *http.Request) string {
		if id := r.PathValue("id"); strings.HasPrefix(id, "arn:") {
			return id
		}
		return arn(r, "cloudtrail", "eventdatastore/"+r.PathValue("id"))
	}
	view("GET lake", "ListEventDataStores", nil, c.lakeEditor)
	handle("POST lake/queries", c.startQuery)
	view("GET lake/queries/{id}", "GetQueryResults", nil, c.queryPage)
	view("GET lake/queries/{id}/download", "GetQueryResults", nil, c.queryDownload)
	handle("POST lake/queries/{id}/cancel", c.cancelQuery)
	view("GET lake/stores", "ListEventDataStores", nil, c.stores)
	handle("GET lake/stores/new", c.storeForm)
	handle("POST lake/stores/new", c.createStore)
	view("GET lake/stores/{id}", "GetEventDataStore", storeARN, c.storeForm)
	handle("POST lake/stores/{id}", c.updateStore)
	handle("POST lake/stores/{id}/delete", c.deleteStore)
	handle("POST lake/stores/{id}/restore", c.restoreStore)
	handle("POST lake/stores/{id}/ingestion", c.setIngestion)
}

func lakeCaller(s *session) lake.Caller {
	return lake.Caller{Account: s.Principal.AccountID, Region: s.Region, Operator: s.Principal.Operator}
}

// lakeMessage is how a page shows a Lake error: the API's exception name and message.
func lakeMessage(err error) (string, bool) {
	code, msg, ok := lake.Exception(err)
	return code + ": " + msg, ok
}

// lakeFail shows a Lake refusal on the error page, or reports cairn's own failure.
func (c *Console) lakeFail(w http.ResponseWriter, r *http.Request, what string, err error) {
	msg, ok := lakeMessage(err)
	if !ok {
		c.internal(w, r, what, err)
		return
	}
	status := http.StatusBadRequest
	if errors.Is(err, lake.ErrStoreNotFound) || errors.Is(err, lake.ErrQueryNotFound) {
		status = http.StatusNotFound
	}
	c.fail(w, r, status, msg)
}

const (
	queryWait     = 10 * time.Second // how long a query's page waits for it to end before showing it running
	queryPageRows = 100              // result rows a page shows
	historyRows   = 25               // recent queries the editor lists
)

type editorData struct {
	Stores       []*lake.Store
	Store        string // the picked store's ID
	SQL          string
	Samples      []lake.Sample
	History      []queryHistoryRow
	HistoryError string // why the store's queries cannot be listed (it is pending deletion…)
}

type queryHistoryRow struct {
	ID, Status, Statement string
	Created               time.Time
}

// pickStore returns the caller's stores and the one picked: the one asked for, else the first
// that can be queried.
func (c *Console) pickStore(s *session, want string) ([]*lake.Store, string, error) {
	stores, _, err := c.cfg.Lake.ListStores(lakeCaller(s), 0, "")
	if err != nil {
		return nil, "", err
	}
	for _, st := range stores {
		if st.ID == want {
			return stores, want, nil
		}
	}
	for _, st := range stores {
		if st.Status != lake.StatusPendingDeletion {
			return stores, st.ID, nil
		}
	}
	return stores, "", nil
}

func (c *Console) lakeEditor(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d, err := c.editorData(r, q.Get("store"))
	if err != nil {
		c.lakeFail(w, r, "list event data stores", err)
		return
	}
	d.SQL = q.Get("sql")
	if n, err := strconv.Atoi(q.Get("sample")); err == nil && n >= 0 && n < len(c.samples) {
		d.SQL = sampleFor(c.samples[n], d.Store)
	}
	if d.SQL == "" && d.Store != "" {
		d.SQL = sampleFor(c.samples[0], d.Store)
	}
	c.render(w, r, http.StatusOK, "lake", "Lake", page{Data: d})
}

// editorData is the editor page for a store: the picker, the samples and the store's recent
// queries, as ListQueries returns them.
func (c *Console) editorData(r *http.Request, store string) (editorData, error) {
	s := sessionFrom(r)
	stores, picked, err := c.pickStore(s, store)
	if err != nil {
		return editorData{}, err
	}
	d := editorData{Stores: stores, Store: picked, Samples: c.samples}
	if picked == "" {
		return d, nil
	}
	qs, _, err := c.cfg.Lake.ListQueries(r.Context(), lakeCaller(s), lake.ListQueriesInput{Store: picked, MaxResults: historyRows})
	if err != nil {
		msg, ok := lakeMessage(err)
		if !ok {
			return d, err
		}
		d.HistoryError = msg
	}
	for _, q := range qs {
		row := queryHistoryRow{ID: q.ID, Status: q.Status, Created: q.Created}
		// ListQueries names queries only; the statement is what tells them apart.
		if full, err := c.cfg.Lake.DescribeQuery(r.Context(), lakeCaller(s), q.ID); err == nil {
			row.Statement = full.Statement
		}
		d.History = append(d.History, row)
	}
	return d, nil
}

func (c *Console) startQuery(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r)
	sql, store := r.PostFormValue("sql"), r.PostFormValue("store")
	var id string
	// "*" as the API authorizes StartQuery: the stores are named inside the statement.
	err := c.change(r, cloudtrailSource, "StartQuery", "*", map[string]string{"queryStatement": sql}, func() (_ any, err error) {
		id, err = c.cfg.Lake.StartQuery(r.Context(), lakeCaller(s), sql, lake.StartOptions{})
		return map[string]string{"queryId": id}, err
	})
	if err != nil {
		msg, ok := lakeMessage(err)
		if !ok {
			c.internal(w, r, "start the query", err)
			return
		}
		d, derr := c.editorData(r, store)
		if derr != nil {
			c.lakeFail(w, r, "list event data stores", derr)
			return
		}
		d.SQL = sql
		c.render(w, r, http.StatusBadRequest, "lake", "Lake", page{Error: msg, Data: d})
		return
	}
	http.Redirect(w, r, Prefix+"lake/queries/"+id+"?store="+url.QueryEscape(store), http.StatusSeeOther)
}

type queryData struct {
	Q       *lake.Query
	Store   string
	Running bool
	Columns []string
	Rows    [][]string
	NextURL string
	Paged   bool // a later page: link back to the first
}

// awaitQuery polls DescribeQuery, as a client of the API does, until the query ends, wait
// passes or the browser goes away; it returns the query as last seen.
func (c *Console) awaitQuery(r *http.Request, id string, wait time.Duration) (*lake.Query, error) {
	caller := lakeCaller(sessionFrom(r))
	deadline := time.Now().Add(wait)
	var last *lake.Query
	for pause := 20 * time.Millisecond; ; pause = min(pause*2, 500*time.Millisecond) {
		q, err := c.cfg.Lake.DescribeQuery(r.Context(), caller, id)
		switch {
		case err != nil && last != nil && r.Context().Err() != nil:
			return last, nil
		case err != nil:
			return nil, err
		case finished(q) || time.Now().Add(pause).After(deadline):
			return q, nil
		}
		last = q
		select {
		case <-r.Context().Done():
			return q, nil
		case <-time.After(pause):
		}
	}
}

func finished(q *lake.Query) bool {
	return q.Status != lake.QueryQueued && q.Status != lake.QueryRunning
}

func (c *Console) queryPage(w http.ResponseWriter, r *http.Request) {
	id, store, next := r.PathValue("id"), r.URL.Query().Get("store"), r.URL.Query().Get("next")
	q, err := c.awaitQuery(r, id, queryWait)
	if err != nil {
		c.lakeFail(w, r, "describe the query", err)
		return
	}
	d := queryData{Q: q, Store: store, Running: !finished(q), Paged: next != ""}
	if store == "" && len(q.Stores) > 0 {
		d.Store = q.Stores[0]
	}
	if !d.Running {
		p, err := c.cfg.Lake.GetQueryResults(r.Context(), lakeCaller(sessionFrom(r)), id, next, queryPageRows)
		if err != nil {
			c.lakeFail(w, r, "get the query's results", err)
			return
		}
		d.Q, d.Columns, d.Rows = p.Query, p.Query.Columns, p.Rows
		if p.NextToken != "" {
			d.NextURL = Prefix + "lake/queries/" + id + "?" + url.Values{"store": {d.Store}, "next": {p.NextToken}}.Encode()
		}
	}
	c.render(w, r, http.StatusOK, "lake_query", "Query "+id, page{Data: d})
}

func (c *Console) cancelQuery(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	err := c.change(r, cloudtrailSource, "CancelQuery", "*", map[string]string{"queryId": id}, func() (any, error) {
		_, err := c.cfg.Lake.CancelQuery(r.Context(), lakeCaller(sessionFrom(r)), id)
		return nil, err
	})
	if err != nil {
		c.lakeFail(w, r, "cancel the query", err)
		return
	}
	http.Redirect(w, r, Prefix+"lake/queries/"+id+"?store="+url.QueryEscape(r.PostFormValue("store")), http.StatusSeeOther)
}

// queryDownload writes every row of a finished query as CSV (a header of column names) or as
// JSON (an array of objects, one per row, as cairn query --output json prints them).
func (c *Console) queryDownload(w http.ResponseWriter, r *http.Request) {
	id, format := r.PathValue("id"), r.URL.Query().Get("format")
	if format != "csv" && format != "json" {
		c.fail(w, r, http.StatusBadRequest, fmt.Sprintf("Download format %q: choose csv or json.", format))
		return
	}
	caller := lakeCaller(sessionFrom(r))
	p, err := c.cfg.Lake.GetQueryResults(r.Context(), caller, id, "", 1000)
	if err != nil {
		c.lakeFail(w, r, "get the query's results", err)
		return
	}
	if !finished(p.Query) {
		c.fail(w, r, http.StatusConflict, fmt.Sprintf("Query %s is %s; its results can be downloaded when it ends.", id, p.Query.Status))
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="lake-query-`+id+`.`+format+`"`)
	var cw *csv.Writer
	keys := jsonKeys(p.Query.Columns)
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		cw = csv.NewWriter(w)
		cw.Write(p.Query.Columns)
	} else {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("["))
	}
	n := 0
	for {
		for _, row := range p.Rows {
			if format == "csv" {
				cw.Write(row)
			} else {
				if n > 0 {
					w.Write([]byte(","))
				}
				w.Write(jsonRow(keys, row))
			}
			n++
		}
		if p.NextToken == "" {
			break
		}
		if p, err = c.cfg.Lake.GetQueryResults(r.Context(), caller, id, p.NextToken, 1000); err != nil {
			// Headers are sent: all that is left is to end the file short and log why.
			c.cfg.Logger.Error("console: query download", "query", id, "err", err)
			break
		}
	}
	if format == "csv" {
		cw.Flush()
	} else {
		w.Write([]byte("]\n"))
	}
}

// jsonKeys are a row object's keys: the column names, a repeated one with a suffix (name_2) so
// that no value is lost.
func jsonKeys(cols []string) [][]byte {
	seen := map[string]int{}
	keys := make([][]byte, len(cols))
	for i, c := range cols {
		seen[c]++
		if seen[c] > 1 {
			c += "_" + strconv.Itoa(seen[c])
		}
		keys[i], _ = json.Marshal(c)
	}
	return keys
}

func jsonRow(keys [][]byte, row []string) []byte {
	b := []byte("\n{")
	for i, v := range row {
		if i > 0 {
			b = append(b, ", "...)
		}
		if i < len(keys) {
			b = append(b, keys[i]...)
		}
		val, _ := json.Marshal(v)
		b = append(append(b, ':', ' '), val...)
	}
	return append(b, '}')
}

func (c *Console) stores(w http.ResponseWriter, r *http.Request) {
	stores, _, err := c.cfg.Lake.ListStores(lakeCaller(sessionFrom(r)), 0, "")
	if err != nil {
		c.lakeFail(w, r, "list event data stores", err)
		return
	}
	views := make([]storeView, len(stores))
	for i, st := range stores {
		views[i] = storeView{st}
	}
	c.render(w, r, http.StatusOK, "lake_stores", "Event data stores", page{Flash: r.URL.Query().Get("done"), Data: views})
}

// storeView is a store as the pages show it.
type storeView struct{ *lake.Store }

// Ingests says whether ingestion can be started and stopped: only for CloudTrail events.
func (v storeView) Ingests() bool { return v.Kind == lake.KindEvents }

func (v storeView) Pending() bool { return v.Status == lake.StatusPendingDeletion }

// PurgeAt is when a store pending deletion is removed for good.
func (v storeView) PurgeAt() time.Time { return v.Deleted.Add(7 * 24 * time.Hour) }

// storeFormData is the create/change form, as submitted (so a rejected form keeps what was
// typed), with the store it changes.
type storeFormData struct {
	New                                     bool
	Store                                   storeView
	Name, Retention, Selectors              string
	Protection, MultiRegion, StartIngestion bool
	Organization                            bool
	KMSKey                                  string
}

func storeFormOf(st *lake.Store) storeFormData {
	return storeFormData{Store: storeView{st}, Name: st.Name, Retention: strconv.Itoa(st.RetentionDays), Selectors: selectorsJSON(st.Selectors),
		Protection: st.TerminationProtection, MultiRegion: st.MultiRegion, Organization: st.Organization, KMSKey: st.KmsKeyID}
}

func selectorsJSON(sels []lake.Selector) string {
	b, _ := json.MarshalIndent(sels, "", "  ")
	return string(b)
}

func (c *Console) storeForm(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if id == "" {
		c.render(w, r, http.StatusOK, "lake_store", "Create event data store", page{Data: storeFormData{New: true,
			Retention: "366", Selectors: selectorsJSON(lake.DefaultSelectors()), Protection: true, MultiRegion: true, StartIngestion: true}})
		return
	}
	st, err := c.cfg.Lake.GetStore(lakeCaller(sessionFrom(r)), id)
	if err != nil {
		c.lakeFail(w, r, "read the event data store", err)
		return
	}
	c.render(w, r, http.StatusOK, "lake_store", "Event data store "+st.Name, page{Flash: r.URL.Query().Get("done"), Data: storeFormOf(st)})
}

// parseStoreForm reads the form. Its own errors are the ones the API's JSON decoding would
// answer (a retention that is not a number, selectors that are not JSON); the rest is the Lake's.
func parseStoreForm(r *http.Request) (storeFormData, int, []lake.Selector, string) {
	f := storeFormData{Name: strings.TrimSpace(r.PostFormValue("name")), Retention: strings.TrimSpace(r.PostFormValue("retention")),
		Selectors: strings.TrimSpace(r.PostFormValue("selectors")), Protection: r.PostFormValue("protection") == "on",
		MultiRegion: r.PostFormValue("multiregion") == "on", StartIngestion: r.PostFormValue("ingestion") == "on",
		Organization: r.PostFormValue("organization") == "on", KMSKey: strings.TrimSpace(r.PostFormValue("kms"))}
	days, err := strconv.Atoi(f.Retention)
	if err != nil {
		return f, 0, nil, fmt.Sprintf("Retention period %q is not a whole number of days.", f.Retention)
	}
	var sels []lake.Selector
	if f.Selectors != "" {
		if err := json.Unmarshal([]byte(f.Selectors), &sels); err != nil {
			return f, 0, nil, "Advanced event selectors are not a JSON list of selectors: " + err.Error()
		}
	}
	return f, days, sels, ""
}

func (c *Console) createStore(w http.ResponseWriter, r *http.Request) {
	f, days, sels, problem := parseStoreForm(r)
	f.New = true
	if problem != "" {
		c.render(w, r, http.StatusBadRequest, "lake_store", "Create event data store", page{Error: problem, Data: f})
		return
	}
	in := lake.CreateInput{Name: f.Name, Selectors: sels, MultiRegion: &f.MultiRegion, Organization: &f.Organization, RetentionDays: &days,
		TerminationProtection: &f.Protection, StartIngestion: &f.StartIngestion, KmsKeyID: f.KMSKey}
	params := map[string]any{"name": f.Name, "multiRegionEnabled": f.MultiRegion, "organizationEnabled": f.Organization, "retentionPeriod": days,
		"terminationProtectionEnabled": f.Protection, "startIngestion": f.StartIngestion}
	if f.KMSKey != "" {
		params["kmsKeyId"] = f.KMSKey
	}
	if sels != nil {
		params["advancedEventSelectors"] = sels
	}
	var st *lake.Store
	err := c.change(r, cloudtrailSource, "CreateEventDataStore", "*", params, func() (_ any, err error) {
		st, err = c.cfg.Lake.CreateStore(r.Context(), lakeCaller(sessionFrom(r)), in)
		return nil, err
	})
	if err != nil {
		c.storeFormError(w, r, f, err)
		return
	}
	http.Redirect(w, r, Prefix+"lake/stores?done="+urlQueryEscape("Created event data store "+st.Name+" ("+st.ID+")."), http.StatusSeeOther)
}

// updateStore sends UpdateEventDataStore the settings the form changes.
func (c *Console) updateStore(w http.ResponseWriter, r *http.Request) {
	caller := lakeCaller(sessionFrom(r))
	cur, err := c.cfg.Lake.GetStore(caller, r.PathValue("id"))
	if err != nil {
		c.lakeFail(w, r, "read the event data store", err)
		return
	}
	f, days, sels, problem := parseStoreForm(r)
	f.Store = storeView{cur}
	if problem != "" {
		c.render(w, r, http.StatusBadRequest, "lake_store", "Event data store "+cur.Name, page{Error: problem, Data: f})
		return
	}
	var in lake.UpdateInput
	params := map[string]any{"eventDataStore": cur.ARN()}
	if f.Name != cur.Name {
		in.Name, params["name"] = f.Name, f.Name
	}
	if days != cur.RetentionDays {
		in.RetentionDays, params["retentionPeriod"] = &days, days
	}
	if f.Protection != cur.TerminationProtection {
		in.TerminationProtection, params["terminationProtectionEnabled"] = &f.Protection, f.Protection
	}
	if f.MultiRegion != cur.MultiRegion {
		in.MultiRegion, params["multiRegionEnabled"] = &f.MultiRegion, f.MultiRegion
	}
	if f.Organization != cur.Organization {
		in.Organization, params["organizationEnabled"] = &f.Organization, f.Organization
	}
	if sels != nil && selectorsJSON(sels) != selectorsJSON(cur.Selectors) {
		in.Selectors, params["advancedEventSelectors"] = sels, sels
	}
	if len(params) == 1 {
		http.Redirect(w, r, Prefix+"lake/stores/"+cur.ID+"?done="+urlQueryEscape("Nothing to save: no setting changed."), http.StatusSeeOther)
		return
	}
	var st *lake.Store
	err = c.change(r, cloudtrailSource, "UpdateEventDataStore", cur.ARN(), params, func() (_ any, err error) {
		st, err = c.cfg.Lake.UpdateStore(r.Context(), caller, cur.ID, in)
		return nil, err
	})
	if err != nil {
		c.storeFormError(w, r, f, err)
		return
	}
	http.Redirect(w, r, Prefix+"lake/stores?done="+urlQueryEscape("Saved event data store "+st.Name+"."), http.StatusSeeOther)
}

// storeAction is a change of a store's status: the Lake call, the API operation it stands for
// and what the page says when it is done.
func (c *Console) storeAction(w http.ResponseWriter, r *http.Request, op, done string, act func(lake.Caller, string) error) {
	caller := lakeCaller(sessionFrom(r))
	st, err := c.cfg.Lake.GetStore(caller, r.PathValue("id"))
	if err != nil {
		c.lakeFail(w, r, "read the event data store", err)
		return
	}
	err = c.change(r, cloudtrailSource, op, st.ARN(), map[string]string{"eventDataStore": st.ARN()}, func() (any, error) {
		return nil, act(caller, st.ID)
	})
	if err != nil {
		c.storeFormError(w, r, storeFormOf(st), err)
		return
	}
	http.Redirect(w, r, Prefix+"lake/stores?done="+urlQueryEscape(fmt.Sprintf(done, st.Name)), http.StatusSeeOther)
}

func (c *Console) deleteStore(w http.ResponseWriter, r *http.Request) {
	c.storeAction(w, r, "DeleteEventDataStore", "Deleted event data store %s: it is pending deletion for 7 days, and can be restored until then.",
		func(caller lake.Caller, id string) error { return c.cfg.Lake.DeleteStore(r.Context(), caller, id) })
}

func (c *Console) restoreStore(w http.ResponseWriter, r *http.Request) {
	c.storeAction(w, r, "RestoreEventDataStore", "Restored event data store %s.", func(caller lake.Caller, id string) error {
		_, err := c.cfg.Lake.RestoreStore(r.Context(), caller, id)
		return err
	})
}

func (c *Console) setIngestion(w http.ResponseWriter, r *http.Request) {
	if r.PostFormValue("ingestion") == "on" {
		c.storeAction(w, r, "StartEventDataStoreIngestion", "Started ingestion into event data store %s.",
			func(caller lake.Caller, id string) error { return c.cfg.Lake.StartIngestion(r.Context(), caller, id) })
		return
	}
	c.storeAction(w, r, "StopEventDataStoreIngestion", "Stopped ingestion into event data store %s.",
		func(caller lake.Caller, id string) error { return c.cfg.Lake.StopIngestion(r.Context(), caller, id) })
}

// storeFormError shows the store's page again with what was typed and the Lake's message.
func (c *Console) storeFormError(w http.ResponseWriter, r *http.Request, f storeFormData, err error) {
	msg, ok := lakeMessage(err)
	if !ok {
		c.internal(w, r, "change the event data store", err)
		return
	}
	title := "Create event data store"
	if !f.New {
		title = "Event data store " + f.Store.Name
	}
	c.render(w, r, http.StatusBadRequest, "lake_store", title, page{Error: msg, Data: f})
}
