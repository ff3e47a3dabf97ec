package sigv4

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

// fixture is a request captured from a real client by testdata/capture.py.
type fixture struct {
	Name            string `json:"name"`
	Client          string `json:"client"`
	Command         string `json:"command"`
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
	SessionToken    string `json:"session_token"`
	SignedAt        string `json:"signed_at"`

	raw      []byte
	signedAt time.Time
}

func loadFixtures(t *testing.T) []fixture {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "clients", "fixtures.json"))
	if err != nil {
		t.Fatal(err)
	}
	var fs []fixture
	if err := json.Unmarshal(b, &fs); err != nil {
		t.Fatal(err)
	}
	if len(fs) == 0 {
		t.Fatal("no fixtures")
	}
	for i := range fs {
		f := &fs[i]
		if f.raw, err = os.ReadFile(filepath.Join("testdata", "clients", f.Name+".http")); err != nil {
			t.Fatal(err)
		}
		if f.signedAt, err = time.Parse(amzDateLayout, f.SignedAt); err != nil {
			t.Fatal(err)
		}
	}
	return fs
}

func (f *fixture) verifier() *Verifier {
	return &Verifier{Lookup: lookup(f.AccessKeyID, f.SecretAccessKey), Now: fixedNow(f.signedAt.Add(time.Second))}
}

func TestRealClients(t *testing.T) {
	for _, f := range loadFixtures(t) {
		t.Run(f.Name, func(t *testing.T) {
			r, body, err := readRequest(f.raw)
			if err != nil {
				t.Fatal(err)
			}
			a, err := f.verifier().Verify(context.Background(), r, body)
			if err != nil {
				t.Fatalf("%s (%s): %v\n%+v", f.Command, f.Client, err, err)
			}
			if a.AccessKeyID != f.AccessKeyID || !a.Time.Equal(f.signedAt) || a.SessionToken != f.SessionToken {
				t.Errorf("Authorization = %+v", a)
			}
		})
	}
}

// Changing any one byte that the signature covers must make Verify fail:
// the method, path and query, each signed header's value and the body.
func TestRealClientsOneByteChanged(t *testing.T) {
	for _, f := range loadFixtures(t) {
		t.Run(f.Name, func(t *testing.T) {
			r, _, err := readRequest(f.raw)
			if err != nil {
				t.Fatal(err)
			}
			a, err := Parse(r)
			if err != nil {
				t.Fatal(err)
			}
			positions := coveredBytes(f.raw, a)
			if len(positions) < 50 {
				t.Fatalf("only %d covered bytes found", len(positions))
			}
			v := f.verifier()
			unparsable := 0
			for _, i := range positions {
				b := bytes.Clone(f.raw)
				b[i] = changeByte(b[i])
				r, body, err := readRequest(b)
				if err != nil {
					unparsable++ // no longer an HTTP request at all
					continue
				}
				if _, err := v.Verify(context.Background(), r, body); err == nil {
					line := b[bytes.LastIndexByte(b[:i], '\n')+1:]
					line, _, _ = bytes.Cut(line, []byte("\r\n"))
					t.Errorf("byte %d changed %q→%q and still verified; line %q", i, f.raw[i], b[i], line)
				}
			}
			if unparsable > len(positions)/10 {
				t.Errorf("%d of %d changed requests did not parse; the test is not testing Verify", unparsable, len(positions))
			}
			t.Logf("%d bytes changed one at a time, %d made the request unparsable", len(positions), unparsable)
		})
	}
}

// coveredBytes returns the offsets in raw that the signature covers.
func coveredBytes(raw []byte, a Authorization) []int {
	var pos []int
	head, body, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	lines := bytes.Split(head, []byte("\r\n"))
	off := 0
	for n, line := range lines {
		if n == 0 {
			end := bytes.LastIndex(line, []byte(" HTTP/"))
			for i := range end {
				if line[i] != ' ' {
					pos = append(pos, off+i)
				}
			}
		} else if name, _, ok := bytes.Cut(line, []byte(":")); ok {
			lower := string(bytes.ToLower(name))
			if lower == "authorization" || hasSignedHeader(a, lower) {
				for i := len(name) + 1; i < len(line); i++ {
					if line[i] != ' ' {
						pos = append(pos, off+i)
					}
				}
			}
		}
		off += len(line) + 2
	}
	off += 2
	for i := range body {
		pos = append(pos, off+i)
	}
	return pos
}

func changeByte(c byte) byte {
	if c == 'x' {
		return 'y'
	}
	return 'x'
}

// The Go SDK's CloudTrail client against a server that verifies with Verify.
func TestGoSDKClient(t *testing.T) {
	v := &Verifier{Lookup: lookup(testAccessKey, testSecret)}
	var got Authorization
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := new(bytes.Buffer)
		body.ReadFrom(r.Body)
		a, err := v.Verify(r.Context(), r, body.Bytes())
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"__type": "InvalidSignatureException", "message": err.Error()})
			return
		}
		got = a
		w.Write([]byte(`{"Events":[]}`))
	}))
	defer srv.Close()

	client := cloudtrail.New(cloudtrail.Options{
		Region:           testRegion,
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      aws.NewCredentialsCache(staticCreds{}),
		HTTPClient:       srv.Client(),
		RetryMaxAttempts: 1,
	})
	_, err := client.LookupEvents(context.Background(), &cloudtrail.LookupEventsInput{
		LookupAttributes: []types.LookupAttribute{{
			AttributeKey:   types.LookupAttributeKeyEventName,
			AttributeValue: aws.String("ConsoleLogin ünïcode"),
		}},
		MaxResults: aws.Int32(5),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessKeyID != testAccessKey || got.Service != "cloudtrail" || got.Region != testRegion {
		t.Errorf("Authorization = %+v", got)
	}
}

type staticCreds struct{}

func (staticCreds) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecret, Source: "test"}, nil
}
