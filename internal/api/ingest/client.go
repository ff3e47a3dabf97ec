package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/klauspost/compress/gzip"
)

// maxResponse bounds how much of an answer the client reads.
const maxResponse = 64 << 20

// Client sends records to a cairn server's ingest endpoint.
type Client struct {
	Endpoint    string // base URL, e.g. http://127.0.0.1:4566
	Region      string // signing region
	Credentials aws.CredentialsProvider
	HTTPClient  *http.Client // nil means http.DefaultClient
}

// Send posts records (each one JSON object) in one gzip-compressed, signed
// request and returns the server's per-record answer, indexed like records.
//
// A record that is not a single JSON object is rejected here, without being
// sent, so that it cannot shift the server's framing of the others; its
// Result says so and the rest go through. Records are sent byte for byte:
// as NDJSON normally, or as {"Records":[…]} when one of them spans lines.
// A non-200 answer is returned as an *Error. Send does not retry.
func (c *Client) Send(ctx context.Context, records [][]byte) (*Response, error) {
	resp := &Response{Results: make([]Result, 0, len(records))}
	var local []Result // rejected here
	sent := make([]int, 0, len(records))
	multiline := false
	for i, r := range records {
		if reason := checkRecord(r); reason != "" {
			local = append(local, Result{Index: i, Status: StatusRejected, Reason: reason})
			continue
		}
		sent = append(sent, i)
		multiline = multiline || bytes.ContainsAny(r, "\r\n")
	}
	if len(sent) > 0 {
		body, ctype, err := encode(records, sent, multiline)
		if err != nil {
			return nil, err
		}
		server, err := c.post(ctx, Path, body, ctype)
		if err != nil {
			return nil, err
		}
		if len(server.Results) != len(sent) {
			return nil, fmt.Errorf("ingest: server answered %d results for %d records", len(server.Results), len(sent))
		}
		for _, res := range server.Results {
			if res.Index < 0 || res.Index >= len(sent) {
				return nil, fmt.Errorf("ingest: server answered for record %d of %d", res.Index, len(sent))
			}
			res.Index = sent[res.Index]
			resp.Results = append(resp.Results, res)
		}
	}
	resp.Results = mergeByIndex(resp.Results, local)
	for _, r := range resp.Results {
		switch r.Status {
		case StatusRecorded:
			resp.Recorded++
		case StatusDuplicate:
			resp.Duplicates++
		default:
			resp.Rejected++
		}
	}
	return resp, nil
}

// checkRecord returns why r cannot be sent, or "".
func checkRecord(r []byte) string {
	t := bytes.TrimSpace(r)
	if len(t) == 0 {
		return "empty record"
	}
	if t[0] != '{' {
		return "not a JSON object"
	}
	if !json.Valid(t) {
		return "invalid JSON"
	}
	return ""
}

// encode gzips the records at the sent indices as NDJSON, or as
// {"Records":[…]} when a record contains a line break.
func encode(records [][]byte, sent []int, multiline bool) ([]byte, string, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return nil, "", fmt.Errorf("ingest: gzip: %w", err)
	}
	ctype := ContentTypeNDJSON
	if multiline {
		ctype = ContentTypeJSON
		io.WriteString(zw, `{"Records":[`)
	}
	for k, i := range sent {
		if multiline && k > 0 {
			zw.Write([]byte{','})
		}
		zw.Write(bytes.TrimSpace(records[i]))
		if !multiline {
			zw.Write([]byte{'\n'})
		}
	}
	if multiline {
		io.WriteString(zw, `]}`)
	}
	if err := zw.Close(); err != nil { // writes to a bytes.Buffer fail only here, if at all
		return nil, "", fmt.Errorf("ingest: gzip: %w", err)
	}
	return buf.Bytes(), ctype, nil
}

// SendConfigurationItems posts AWS Config configuration items (each one JSON object, as the
// Config API returns them or as Config delivers them in snapshot and history files) in one
// gzip-compressed, signed request to the configuration item endpoint, and returns the server's
// per-item answer, indexed like items. A non-200 answer is returned as an *Error.
func (c *Client) SendConfigurationItems(ctx context.Context, items [][]byte) (*Response, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return nil, fmt.Errorf("ingest: gzip: %w", err)
	}
	zw.Write([]byte{'['})
	for i, it := range items {
		if i > 0 {
			zw.Write([]byte{','})
		}
		zw.Write(bytes.TrimSpace(it))
	}
	zw.Write([]byte{']'})
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("ingest: gzip: %w", err)
	}
	resp, err := c.post(ctx, ConfigItemsPath, buf.Bytes(), ContentTypeJSON)
	if err != nil {
		return nil, err
	}
	if len(resp.Results) != len(items) {
		return nil, fmt.Errorf("ingest: server answered %d results for %d configuration items", len(resp.Results), len(items))
	}
	return resp, nil
}

func (c *Client) post(ctx context.Context, path string, body []byte, ctype string) (*Response, error) {
	if c.Credentials == nil {
		return nil, errors.New("ingest: no credentials to sign with")
	}
	creds, err := c.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("ingest: retrieve credentials: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.Endpoint, "/")+path, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Content-Encoding", "gzip")
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), SigningName, c.Region, time.Now()); err != nil {
		return nil, fmt.Errorf("ingest: sign request: %w", err)
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("ingest: %w", err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("ingest: read response: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, apiError(res.StatusCode, data)
	}
	var out Response
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("ingest: decode response: %w", err)
	}
	return &out, nil
}

// apiError reads an AWS JSON error body; other bodies become the message.
func apiError(status int, body []byte) *Error {
	e := &Error{StatusCode: status}
	var env struct {
		Type     string `json:"__type"`
		Message  string `json:"message"`
		MessageU string `json:"Message"`
	}
	if json.Unmarshal(body, &env) == nil && (env.Type != "" || env.Message != "" || env.MessageU != "") {
		e.Type = env.Type[strings.LastIndexByte(env.Type, '#')+1:]
		e.Message = env.Message
		if e.Message == "" {
			e.Message = env.MessageU
		}
		return e
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	e.Message = msg
	return e
}

// mergeByIndex merges two Result lists that are each sorted by Index.
func mergeByIndex(a, b []Result) []Result {
	if len(b) == 0 {
		return a
	}
	out := make([]Result, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if a[0].Index < b[0].Index {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}

// ClientFromEnv builds a client the way the AWS CLI finds its settings:
// endpoint from endpointOverride or AWS_ENDPOINT_URL; region from
// AWS_REGION, AWS_DEFAULT_REGION, the shared config profile, else
// us-east-1; credentials from the SDK's default chain (environment, shared
// files, SSO, container and instance roles).
func ClientFromEnv(endpointOverride string) (*Client, error) {
	endpoint := endpointOverride
	if endpoint == "" {
		endpoint = os.Getenv("AWS_ENDPOINT_URL")
	}
	if endpoint == "" {
		return nil, errors.New("ingest: no endpoint: set AWS_ENDPOINT_URL or give one")
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("ingest: endpoint %q is not an http(s) URL", endpoint)
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		return nil, fmt.Errorf("ingest: load AWS configuration: %w", err)
	}
	region := os.Getenv("AWS_REGION")
	if region == "" {
		region = os.Getenv("AWS_DEFAULT_REGION")
	}
	if region == "" {
		region = cfg.Region
	}
	if region == "" {
		region = "us-east-1"
	}
	return &Client{Endpoint: endpoint, Region: region, Credentials: cfg.Credentials}, nil
}
