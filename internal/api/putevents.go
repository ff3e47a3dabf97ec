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
	"github.com/cairn-dev/cairn/internal/logfile"
	"github.com/cairn-dev/cairn/internal/recorder"
)

// putEvents is native ingest: POST /v1/events with NDJSON or {"Records":[…]}, plain or gzip.
// Each record gets its own answer; one bad record never blocks the rest.
func (s *Server) putEvents(c *call) {
	c.op, c.data = "PutEvents", true
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
		if err != nil {
			c.fail(awsproto.Errorf("SerializationException", "The request body is not valid gzip: %v.", err), jsonError)
			return
		}
		if len(body) > maxIngestBody*8 {
			c.fail(awsproto.Errorf("RequestEntityTooLargeException", "The decompressed body exceeds %d bytes.", maxIngestBody*8), jsonError)
			return
		}
	}
	records, err := splitRecords(body, c.r.Header.Get("Content-Type"))
	if err != nil {
		c.fail(awsproto.Errorf("SerializationException", "%v", err), jsonError)
		return
	}
	c.params = fmt.Appendf(nil, `{"recordCount":%d}`, len(records))

	scope := recorder.Scope{Account: c.principal.AccountID, Region: c.auth.Region, AnyAccount: c.principal.Operator}
	results, err := s.cfg.Recorder.Record(c.r.Context(), scope, records)
	if err != nil {
		s.cfg.Logger.Error("ingest: recording failed", "request", c.id, "records", len(records), "err", err)
		c.fail(&awsproto.Error{Code: "ServiceUnavailableException", Message: "Events could not be made durable; nothing in this request was recorded. Retry the request.", Status: 503}, jsonError)
		return
	}
	resp := ingest.Response{Results: make([]ingest.Result, len(results))}
	for i, r := range results {
		out := ingest.Result{Index: i, EventID: r.EventID}
		switch r.Status {
		case recorder.Recorded:
			out.Status = ingest.StatusRecorded
			resp.Recorded++
		case recorder.Duplicate:
			out.Status = ingest.StatusDuplicate
			resp.Duplicates++
		default:
			out.Status = ingest.StatusRejected
			out.Reason = r.Err.Error()
			resp.Rejected++
		}
		resp.Results[i] = out
	}
	s.metrics.events.WithLabelValues("recorded").Add(float64(resp.Recorded))
	s.metrics.events.WithLabelValues("duplicate").Add(float64(resp.Duplicates))
	s.metrics.events.WithLabelValues("rejected").Add(float64(resp.Rejected))
	c.response = fmt.Appendf(nil, `{"recorded":%d,"duplicates":%d,"rejected":%d}`, resp.Recorded, resp.Duplicates, resp.Rejected)
	b, _ := json.Marshal(resp)
	c.w.Header().Set("Content-Type", "application/json")
	c.w.Write(b)
}

// splitRecords returns the records of an ingest body. NDJSON is split by line, so a malformed
// line becomes one rejected record; {"Records":[…]} and JSON arrays must parse as a whole.
func splitRecords(body []byte, contentType string) ([][]byte, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("the request body holds no records")
	}
	if trimmed[0] == '[' || isRecordsWrapper(trimmed) || strings.HasPrefix(contentType, ingest.ContentTypeJSON) && !looksLikeNDJSON(trimmed) {
		var records [][]byte
		err := logfile.Decode(bytes.NewReader(trimmed), func(raw []byte) error {
			records = append(records, append([]byte(nil), raw...))
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("the request body is not valid {\"Records\":[…]} JSON: %v", err)
		}
		return records, nil
	}
	// Lines are views into the body, which this request owns: no copy per record.
	var records [][]byte
	for rest := trimmed; len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		if line = bytes.TrimSpace(line); len(line) > 0 {
			records = append(records, line)
		}
	}
	return records, nil
}

// isRecordsWrapper reports whether b is an object whose first member is "Records".
func isRecordsWrapper(b []byte) bool {
	rest := bytes.TrimLeft(b[1:], " \t\r\n")
	return b[0] == '{' && bytes.HasPrefix(rest, []byte(`"Records"`))
}

// looksLikeNDJSON reports whether b has more than one line that starts an object.
func looksLikeNDJSON(b []byte) bool {
	return bytes.Contains(b, []byte("}\n{")) || bytes.Contains(b, []byte("}\r\n{"))
}
