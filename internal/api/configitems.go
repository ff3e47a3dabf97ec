package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/gzip"

	"github.com/cairn-dev/cairn/internal/api/awsproto"
	"github.com/cairn-dev/cairn/internal/api/ingest"
	"github.com/cairn-dev/cairn/internal/lake"
	"github.com/cairn-dev/cairn/internal/recorder"
)

// putConfigItems is native ingest of AWS Config configuration items: POST
// /v1/configuration-items with a Config snapshot or history file ({"configurationItems":[…]}),
// a JSON array of items, or items one per line, plain or gzip. Each item becomes a
// ConfigurationItem record (lake.ConfigurationItemRecord) and is answered on its own.
func (s *Server) putConfigItems(c *call) {
	c.op, c.data = "PutConfigurationItems", true
	c.params = []byte("{}") // names no resource: spare authorize parsing a bulk body
	if e := s.authorize(c, "cloudtrail"); e != nil {
		c.fail(e, jsonError)
		return
	}
	body := c.body
	if isGzip(body) || strings.EqualFold(c.r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err == nil {
			body, err = io.ReadAll(io.LimitReader(zr, maxIngestBody*8+1))
		}
		if err != nil || len(body) > maxIngestBody*8 {
			c.fail(awsproto.Errorf("SerializationException", "The request body is not valid gzip of at most %d bytes: %v.", maxIngestBody*8, err), jsonError)
			return
		}
	}
	var records [][]byte
	var problems []error // per item: why it is not a record, or nil
	err := lake.DecodeConfigurationItems(bytes.NewReader(body), func(item []byte) error {
		rec, err := lake.ConfigurationItemRecord(item)
		records = append(records, rec)
		problems = append(problems, err)
		return nil
	})
	if err != nil {
		c.fail(awsproto.Errorf("SerializationException", "%v", err), jsonError)
		return
	}
	c.params = fmt.Appendf(nil, `{"itemCount":%d}`, len(records))
	var valid [][]byte
	for i, r := range records {
		if problems[i] == nil {
			valid = append(valid, r)
		}
	}
	scope := recorder.Scope{Account: c.principal.AccountID, Region: c.auth.Region, AnyAccount: c.principal.Operator}
	results, err := s.cfg.Recorder.Record(c.r.Context(), scope, valid)
	if err != nil {
		s.cfg.Logger.Error("configuration items: recording failed", "request", c.id, "err", err)
		c.fail(&awsproto.Error{Code: "ServiceUnavailableException", Message: "Items could not be made durable; nothing in this request was recorded. Retry the request.", Status: 503}, jsonError)
		return
	}
	resp := ingest.Response{Results: make([]ingest.Result, len(records))}
	n := 0
	for i := range records {
		out := ingest.Result{Index: i}
		if problems[i] != nil {
			out.Status, out.Reason = ingest.StatusRejected, "configuration item: "+problems[i].Error()
			resp.Rejected++
		} else {
			r := results[n]
			n++
			out.EventID = r.EventID
			switch r.Status {
			case recorder.Recorded:
				out.Status = ingest.StatusRecorded
				resp.Recorded++
			case recorder.Duplicate:
				out.Status = ingest.StatusDuplicate
				resp.Duplicates++
			default:
				out.Status, out.Reason = ingest.StatusRejected, r.Err.Error()
				resp.Rejected++
			}
		}
		resp.Results[i] = out
	}
	c.response = fmt.Appendf(nil, `{"recorded":%d,"duplicates":%d,"rejected":%d}`, resp.Recorded, resp.Duplicates, resp.Rejected)
	b, _ := json.Marshal(resp)
	c.w.Header().Set("Content-Type", "application/json")
	c.w.Write(b)
}
