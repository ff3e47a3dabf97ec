package api

import (
	"github.com/cairn-dev/cairn/internal/api/awsproto"
	"github.com/cairn-dev/cairn/internal/lake"
)

func (s *Server) startQuery(c *call) {
	var in struct {
		QueryStatement               string
		DeliveryS3Uri                string
		QueryAlias                   string
		QueryParameters              []string
		EventDataStoreOwnerAccountId string
	}
	if !s.decode(c, &in) {
		return
	}
	c.readOnly = true // a query reads; it changes no resource
	id, err := s.cfg.Lake.StartQuery(c.r.Context(), c.lakeCaller(), in.QueryStatement, lake.StartOptions{
		DeliveryS3Uri: in.DeliveryS3Uri, QueryAlias: in.QueryAlias, HasParameters: len(in.QueryParameters) > 0,
		OwnerAccount: in.EventDataStoreOwnerAccountId,
	})
	if err != nil {
		s.lakeFail(c, err, jsonError)
		return
	}
	c.response = []byte(`{"queryId":"` + id + `"}`)
	s.reply(c, struct{ QueryId string }{id})
}

type queryRef struct {
	EventDataStore string // deprecated; queries are found by ID
	QueryId        string
	QueryAlias     string
}

func (c *call) queryID(in queryRef) (string, bool) {
	if in.QueryAlias != "" {
		c.fail(awsproto.Errorf("InvalidParameterException", "QueryAlias names dashboard queries; cairn has no dashboards. Pass QueryId."), jsonError)
		return "", false
	}
	if in.QueryId == "" {
		c.fail(awsproto.Errorf("InvalidParameterException", "QueryId is required."), jsonError)
		return "", false
	}
	return in.QueryId, true
}

func (s *Server) describeQuery(c *call) {
	var in queryRef
	if !s.decode(c, &in) {
		return
	}
	id, ok := c.queryID(in)
	if !ok {
		return
	}
	q, err := s.cfg.Lake.DescribeQuery(c.r.Context(), c.lakeCaller(), id)
	if err != nil {
		s.lakeFail(c, err, jsonError)
		return
	}
	type stats struct {
		EventsMatched         int64
		EventsScanned         int64
		BytesScanned          int64
		ExecutionTimeInMillis int64
		CreationTime          awsproto.Timestamp
	}
	s.reply(c, struct {
		QueryId         string
		QueryString     string
		QueryStatus     string
		QueryStatistics stats
		ErrorMessage    string `json:",omitempty"`
	}{q.ID, q.Statement, q.Status, stats{q.Stats.EventsMatched, q.Stats.EventsScanned, q.Stats.BytesScanned, q.Stats.ExecutionMillis,
		awsproto.Timestamp{Time: q.Created}}, q.ErrorMessage})
}

func (s *Server) getQueryResults(c *call) {
	var in struct {
		queryRef
		NextToken       string
		MaxQueryResults *int
	}
	if !s.decode(c, &in) {
		return
	}
	id, ok := c.queryID(in.queryRef)
	if !ok {
		return
	}
	max := 0
	if in.MaxQueryResults != nil {
		if *in.MaxQueryResults == 0 {
			c.fail(awsproto.Errorf("InvalidMaxResultsException", "MaxQueryResults 0 is out of range: it must be between 1 and 1000."), jsonError)
			return
		}
		max = *in.MaxQueryResults
	}
	p, err := s.cfg.Lake.GetQueryResults(c.r.Context(), c.lakeCaller(), id, in.NextToken, max)
	if err != nil {
		s.lakeFail(c, err, jsonError)
		return
	}
	// Each row is a list of one-entry maps, column by column, every value a string.
	rows := make([][]map[string]string, len(p.Rows))
	for i, r := range p.Rows {
		cols := make([]map[string]string, len(r))
		for j, v := range r {
			name := ""
			if j < len(p.Query.Columns) {
				name = p.Query.Columns[j]
			}
			cols[j] = map[string]string{name: v}
		}
		rows[i] = cols
	}
	type stats struct {
		ResultsCount      int
		TotalResultsCount int
		BytesScanned      int64
	}
	s.reply(c, struct {
		QueryStatus     string
		QueryStatistics stats
		QueryResultRows [][]map[string]string
		NextToken       string `json:",omitempty"`
		ErrorMessage    string `json:",omitempty"`
	}{p.Query.Status, stats{len(p.Rows), p.Query.ResultCount, p.Query.Stats.BytesScanned}, rows, p.NextToken, p.Query.ErrorMessage})
}

func (s *Server) cancelQuery(c *call) {
	var in queryRef
	if !s.decode(c, &in) {
		return
	}
	id, ok := c.queryID(in)
	if !ok {
		return
	}
	q, err := s.cfg.Lake.CancelQuery(c.r.Context(), c.lakeCaller(), id)
	if err != nil {
		s.lakeFail(c, err, jsonError)
		return
	}
	s.reply(c, struct{ QueryId, QueryStatus string }{q.ID, q.Status})
}

func (s *Server) listQueries(c *call) {
	var in struct {
		EventDataStore string
		NextToken      string
		MaxResults     *int
		StartTime      *awsproto.Timestamp
		EndTime        *awsproto.Timestamp
		QueryStatus    string
	}
	if !s.decode(c, &in) {
		return
	}
	if in.EventDataStore == "" {
		c.fail(awsproto.Errorf("InvalidParameterException", "EventDataStore is required."), jsonError)
		return
	}
	li := lake.ListQueriesInput{Store: in.EventDataStore, Status: in.QueryStatus, NextToken: in.NextToken}
	if in.MaxResults != nil {
		if *in.MaxResults == 0 {
			c.fail(awsproto.Errorf("InvalidMaxResultsException", "MaxResults 0 is out of range: it must be between 1 and 1000."), jsonError)
			return
		}
		li.MaxResults = *in.MaxResults
	}
	if in.StartTime != nil {
		li.Start = in.StartTime.Time
	}
	if in.EndTime != nil {
		li.End = in.EndTime.Time
	}
	qs, next, err := s.cfg.Lake.ListQueries(c.r.Context(), c.lakeCaller(), li)
	if err != nil {
		s.lakeFail(c, err, jsonError)
		return
	}
	type item struct {
		QueryId      string
		QueryStatus  string
		CreationTime awsproto.Timestamp
	}
	out := struct {
		Queries   []item
		NextToken string `json:",omitempty"`
	}{Queries: []item{}, NextToken: next}
	for _, q := range qs {
		out.Queries = append(out.Queries, item{q.ID, q.Status, awsproto.Timestamp{Time: q.Created}})
	}
	s.reply(c, out)
}
