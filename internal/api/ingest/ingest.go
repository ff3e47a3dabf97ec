// Package ingest defines cairn's native ingest endpoint on the wire — the
// request and per-record response the server and its clients share — and a
// client for it.
//
// A producer POSTs records to /v1/events as NDJSON or {"Records":[…]},
// optionally gzip-compressed, signed with SigV4 for the service name
// "cloudtrail". The answer is 200 with one Result per record: bad records
// are rejected one by one, never the whole batch.
package ingest

import (
	"fmt"
	"strings"
)

// Wire constants shared by server and client.
const (
	// Path is where the endpoint listens.
	Path = "/v1/events"
	// ConfigItemsPath takes AWS Config configuration items (a Config snapshot or history
	// file, a JSON array, or one item per line) for ConfigurationItem event data stores.
	ConfigItemsPath = "/v1/configuration-items"
	// SigningName is the SigV4 service name requests are signed for.
	SigningName = "cloudtrail"
	// ContentTypeNDJSON and ContentTypeJSON are the two body forms: one
	// record per line, or {"Records":[…]}.
	ContentTypeNDJSON = "application/x-ndjson"
	ContentTypeJSON   = "application/json"
)

// Status is what became of one record.
type Status string

const (
	StatusRecorded  Status = "recorded"  // durable in the journal
	StatusDuplicate Status = "duplicate" // an event with this eventID was already recorded
	StatusRejected  Status = "rejected"  // not recorded; Reason says why
)

// Result reports on the record at Index (0-based, in request order).
type Result struct {
	Index   int    `json:"index"`
	EventID string `json:"eventID,omitempty"`
	Status  Status `json:"status"`
	Reason  string `json:"reason,omitempty"`
}

// Response is the 200 answer: counts and one Result per record, in order.
type Response struct {
	Recorded   int      `json:"recorded"`
	Duplicates int      `json:"duplicates"`
	Rejected   int      `json:"rejected"`
	Results    []Result `json:"results"`
}

// Error is a non-200 answer, carrying the AWS-style JSON error body
// ({"__type": …, "message": …}) when the server sent one.
type Error struct {
	StatusCode int
	Type       string // __type, without any "namespace#" prefix
	Message    string
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ingest: HTTP %d", e.StatusCode)
	if e.Type != "" {
		b.WriteString(" " + e.Type)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}
