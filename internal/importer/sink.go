package importer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cairn-dev/cairn/internal/api/ingest"
	"github.com/cairn-dev/cairn/internal/event"
	"github.com/cairn-dev/cairn/internal/journal"
	"github.com/cairn-dev/cairn/internal/recorder"
)

// A Sink records batches of parsed records: the recorder of a data directory, or a server.
type Sink interface {
	// Record records recs and reports on each. An error means the batch as a whole failed and
	// nothing more can be recorded.
	Record(ctx context.Context, recs []*event.Record) ([]recorder.Result, error)
	// Journal returns the journal the sink appends to, or nil when it cannot see it (a
	// server). With a journal an import resumes exactly whatever the dedup window.
	Journal() JournalReader
}

// JournalReader is what an import needs of the journal it records into.
type JournalReader interface {
	LastSeq() uint64
	Cursor(after uint64) *journal.Cursor
}

// importScope records for any account and keeps records byte for byte; the importer fills
// the account and region of records that lack them from the file's key, in the parsed record
// only.
var importScope = recorder.Scope{AnyAccount: true, Preserve: true}

// RecorderSink records into a data directory through its recorder, as cairn serve does.
type RecorderSink struct {
	Recorder *recorder.Recorder
	J        *journal.Journal
}

func (s *RecorderSink) Record(ctx context.Context, recs []*event.Record) ([]recorder.Result, error) {
	return s.Recorder.RecordParsed(ctx, importScope, recs)
}

func (s *RecorderSink) Journal() JournalReader { return s.J }

// ServerSink records into a running cairn through its ingest endpoint. The server stamps what
// a record lacks (recipientAccountId, awsRegion, eventID, eventTime) as for any producer.
type ServerSink struct {
	Client *ingest.Client
}

func (s *ServerSink) Journal() JournalReader { return nil }

func (s *ServerSink) Record(ctx context.Context, recs []*event.Record) ([]recorder.Result, error) {
	raws := make([][]byte, len(recs))
	for i, r := range recs {
		raws[i] = r.Raw
	}
	resp, err := s.send(ctx, raws)
	if err != nil {
		return nil, err
	}
	out := make([]recorder.Result, len(recs))
	for _, r := range resp.Results {
		res := recorder.Result{EventID: r.EventID}
		switch r.Status {
		case ingest.StatusRecorded:
			res.Status = recorder.Recorded
		case ingest.StatusDuplicate:
			res.Status = recorder.Duplicate
		default:
			res.Status = recorder.Rejected
			res.Err = errors.New(r.Reason)
		}
		out[r.Index] = res
	}
	return out, nil
}

// send retries what may pass (network errors, throttling, server errors): a retried batch
// is safe, the server answers "duplicate" for what it already recorded.
func (s *ServerSink) send(ctx context.Context, raws [][]byte) (*ingest.Response, error) {
	delay := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		resp, err := s.Client.Send(ctx, raws)
		if err == nil {
			if len(resp.Results) != len(raws) {
				return nil, fmt.Errorf("server answered %d results for %d records", len(resp.Results), len(raws))
			}
			return resp, nil
		}
		var e *ingest.Error
		retryable := !errors.As(err, &e) || e.StatusCode == 429 || e.StatusCode >= 500
		if attempt == 6 || !retryable || ctx.Err() != nil {
			return nil, fmt.Errorf("send to %s: %w", s.Client.Endpoint, err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		delay *= 2
	}
}
