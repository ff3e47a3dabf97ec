package sigv4

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	testAccessKey = "AKIDCAIRNTEST0000001"
	testSecret    = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	testRegion    = "us-east-1"
)

var signTime = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func lookup(ak, secret string) SecretLookup {
	return func(_ context.Context, id string) (string, error) {
		if id != ak {
			return "", fmt.Errorf("access key %q: %w", id, ErrUnknownAccessKey)
		}
		return secret, nil
	}
}

func fixedNow(t time.Time) func() time.Time { return func() time.Time { return t } }

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// sdkCase is a request as a service client of aws-sdk-go-v2 would send it,
// signed by the SDK's own signer.
type sdkCase struct {
	name    string
	service string
	method  string
	url     string // already escaped, as the SDK puts it on the wire
	header  http.Header
	body    []byte
	presign time.Duration // > 0: presigned URL valid this long
	token   string        // session token
}

var jsonBody = []byte(`{"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"ConsoleLogin"}],"MaxResults":50}`)

func sdkCases() []sdkCase {
	s3Body := []byte("{\"Records\":[{\"eventName\":\"PutObject\",\"note\":\"ünïcode\"}]}\n")
	return []sdkCase{{
		name: "cloudtrail", service: "cloudtrail", method: "POST", url: "https://cloudtrail.us-east-1.amazonaws.com/",
		header: http.Header{
			"Content-Type": {"application/x-amz-json-1.1"},
			"X-Amz-Target": {"CloudTrail_20131101.LookupEvents"},
		},
		body: jsonBody,
	}, {
		name: "cloudtrail session token", service: "cloudtrail", method: "POST", url: "http://127.0.0.1:4566/",
		header: http.Header{
			"Content-Type": {"application/x-amz-json-1.1"},
			"X-Amz-Target": {"CloudTrail_20131101.DescribeTrails"},
		},
		body:  []byte(`{}`),
		token: "IQoJb3JpZ2luX2VjEXAMPLE//token+with=chars",
	}, {
		name: "logs", service: "logs", method: "POST", url: "http://localhost:8080/",
		header: http.Header{
			"Content-Type": {"application/x-amz-json-1.1"},
			"X-Amz-Target": {"Logs_20140328.DescribeLogGroups"},
		},
		body: []byte(`{"limit":5,"logGroupNamePrefix":"/aws/cairn"}`),
	}, {
		name: "monitoring cbor", service: "monitoring", method: "POST",
		url: "http://127.0.0.1:4566/service/GraniteServiceVersion20100801/operation/ListMetrics",
		header: http.Header{
			"Content-Type":       {"application/cbor"},
			"Accept":             {"application/cbor"},
			"Smithy-Protocol":    {"rpc-v2-cbor"},
			"X-Amzn-Query-Mode":  {"true"},
			"Amz-Sdk-Request":    {"attempt=1; max=3"},
			"Amz-Sdk-Invocation": {"0f0e0d0c"},
		},
		// {"Namespace": "AWS/CloudTrail"} in CBOR, plus bytes that are not text.
		body: append([]byte{0xa1, 0x69}, append([]byte("Namespace"), append([]byte{0x6e}, []byte("AWS/CloudTrail\x00\xff")...)...)...),
	}, {
		name: "sns form", service: "sns", method: "POST", url: "http://127.0.0.1:4566/",
		header: http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}},
		body:   []byte("Action=Publish&Version=2010-03-31&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A123456789012%3Aalarms&Message=root+login%21"),
	}, {
		name: "s3 put unicode key", service: "s3", method: "PUT",
		url: "http://127.0.0.1:9000/cairn-logs/AWSLogs/a%20b/%C3%BCn%C3%AFcode%2B%3D%20%281%29.json?tagging&x-id=PutObject&versionId=a%2Fb%20c",
		header: http.Header{
			"Content-Type":         {"application/json"},
			"X-Amz-Content-Sha256": {sha256Hex(s3Body)},
			"X-Amz-Meta-Note":      {"  two  spaces   inside  "},
			"X-Amz-Meta-Multi":     {"first", "second"},
		},
		body: s3Body,
	}, {
		name: "s3 unsigned payload", service: "s3", method: "PUT", url: "http://127.0.0.1:9000/cairn-logs/key.json",
		header: http.Header{"X-Amz-Content-Sha256": {unsignedPayload}},
		body:   []byte("anything at all"),
	}, {
		name: "s3 presigned get", service: "s3", method: "GET",
		url:     "http://127.0.0.1:9000/cairn-logs/AWSLogs/a%20b/%C3%BCn%C3%AFcode.json?response-content-type=application%2Fjson",
		presign: 300 * time.Second,
	}, {
		name: "sts presigned get", service: "sts", method: "GET",
		url:     "https://sts.us-east-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15",
		presign: 60 * time.Second,
		token:   "session/token+1",
	}}
}

// signRaw signs c with aws-sdk-go-v2's signer at signTime and returns the
// request as it goes on the wire.
func signRaw(t testing.TB, c sdkCase) []byte {
	t.Helper()
	ctx := context.Background()
	req, err := http.NewRequest(c.method, c.url, bytes.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	creds := aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecret, SessionToken: c.token}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = c.service == "s3" })
	hash := sha256Hex(c.body)
	if h := c.header.Get("X-Amz-Content-Sha256"); h != "" {
		hash = h
	}
	if c.presign > 0 {
		if c.service == "s3" {
			hash = unsignedPayload
		}
		q := req.URL.Query()
		q.Set("X-Amz-Expires", fmt.Sprint(int(c.presign.Seconds())))
		req.URL.RawQuery = q.Encode()
		u, hdr, err := signer.PresignHTTP(ctx, creds, req, hash, c.service, testRegion, signTime)
		if err != nil {
			t.Fatal(err)
		}
		if req, err = http.NewRequest(c.method, u, nil); err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			if k != "Host" {
				req.Header[k] = v
			}
		}
	} else if err := signer.SignHTTP(ctx, creds, req, hash, c.service, testRegion, signTime); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := req.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readRequest parses raw as net/http's server does.
func readRequest(raw []byte) (*http.Request, []byte, error) {
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(r.Body)
	return r, body, err
}

func TestVerifyGoSDK(t *testing.T) {
	for _, c := range sdkCases() {
		t.Run(c.name, func(t *testing.T) {
			raw := signRaw(t, c)
			r, body, err := readRequest(raw)
			if err != nil {
				t.Fatal(err)
			}
			v := &Verifier{Lookup: lookup(testAccessKey, testSecret), Now: fixedNow(signTime.Add(time.Second))}
			a, err := v.Verify(context.Background(), r, body)
			if err != nil {
				t.Fatalf("Verify: %v\nrequest:\n%s\n%+v", err, raw, err)
			}
			if a.AccessKeyID != testAccessKey || a.Service != c.service || a.Region != testRegion ||
				a.Date != "20260101" || !a.Time.Equal(signTime) || a.Presigned != (c.presign > 0) ||
				a.Expires != c.presign || a.SessionToken != c.token {
				t.Errorf("Authorization = %+v", a)
			}
		})
	}
}

// tamper changes a signed request (or the verifier) so that it must fail.
type tamper struct {
	name string
	// skip reports whether the tamper does not apply to c.
	skip   func(c sdkCase) bool
	mutate func(r *http.Request, body []byte, v *Verifier) []byte
	want   error
	msg    string // the exact message, when it is fixed
}

func setQuery(r *http.Request, q string) {
	r.URL.RawQuery = q
	path, _, _ := strings.Cut(r.RequestURI, "?")
	r.RequestURI = path + "?" + q
}

// signedHeader is a signed header of r other than host and x-amz-date.
func signedHeader(r *http.Request) string {
	a, _ := Parse(r)
	for _, h := range a.SignedHeaders {
		if h != "host" && h != "x-amz-date" && h != "content-length" {
			return h
		}
	}
	return ""
}

var (
	isPresign   = func(c sdkCase) bool { return c.presign > 0 }
	notPresign  = func(c sdkCase) bool { return c.presign == 0 }
	noBody      = func(c sdkCase) bool { return len(c.body) == 0 }
	noQuery     = func(c sdkCase) bool { return !strings.Contains(c.url, "?") }
	unsignedPay = func(c sdkCase) bool { return c.header.Get("X-Amz-Content-Sha256") == unsignedPayload }
)

var tampers = []tamper{{
	name: "body changed", skip: func(c sdkCase) bool { return noBody(c) || unsignedPay(c) },
	mutate: func(r *http.Request, body []byte, v *Verifier) []byte {
		b := bytes.Clone(body)
		b[len(b)/2] ^= 0x20
		return b
	},
	want: ErrSignatureMismatch,
}, {
	name: "body truncated", skip: func(c sdkCase) bool { return noBody(c) || unsignedPay(c) },
	mutate: func(r *http.Request, body []byte, v *Verifier) []byte { return body[:len(body)-1] },
	want:   ErrSignatureMismatch,
}, {
	name: "signed header changed", skip: func(c sdkCase) bool { return c.header == nil },
	mutate: func(r *http.Request, body []byte, v *Verifier) []byte {
		h := signedHeader(r)
		r.Header.Set(h, r.Header.Get(h)+"x")
		return body
	},
	want: ErrSignatureMismatch, msg: msgSignatureMismatch,
}, {
	name: "signed header removed", skip: func(c sdkCase) bool { return c.header == nil },
	mutate: func(r *http.Request, body []byte, v *Verifier) []byte {
		r.Header.Del(signedHeader(r))
		return body
	},
	want: ErrSignatureMismatch, msg: msgSignatureMismatch,
}, {
	name: "host changed",
	mutate: func(r *http.Request, body []byte, v *Verifier) []byte {
		r.Host = "evil.example.com"
		return body
	},
	want: ErrSignatureMismatch, msg: msgSignatureMismatch,
}, {
	name: "path changed",
	mutate: func(r *http.Request, body []byte, v *Verifier) []byte {
		r.RequestURI = "/x" + r.RequestURI
		return body
	},
	want: ErrSignatureMismatch,
}, {
	name: "method changed",
	mutate: func(r *http.Request, body []byte, v *Verifier) []byte {
		r.Method = "DELETE"
		return body
	},
	want: ErrSignatureMismatch,
}, {
	name: "query parameter added",
	mutate: func(r *http.Request, body []byte, v *Verifier) []byte {
		setQuery(r, strings.TrimPrefix(r.URL.RawQuery+"&extra=1", "&"))
		return body
	},
	want: ErrSignatureMismatch,
}, {
	name: "query value changed", skip: noQuery,
	mutate: func(r *http.Request, body []byte, v *Verifier) []byte {
		for q := range strings.SplitSeq(r.URL.RawQuery, "&") {
			if !strings.HasPrefix(q, "X-Amz-") {
				setQuery(r, strings.Replace(r.URL.RawQuery, q, q+"x", 1))
				break
			}
		}
		return body
	},
	want: ErrSignatureMismatch,
}, {
	name: "wrong secret",
	mutate: func(r *http.Request, body []byte, v *Verifier) []byte {
		v.Lookup = lookup(testAccessKey, testSecret+"x")
		return body
	},
	want: ErrSignatureMismatch, msg: msgSignatureMismatch,
}, {
	name: "unknown access key",
	mutate: func(r *http.Request, body []byte, v *Verifier) []byte {
		v.Lookup = lookup("AKIDSOMEONEELSE", testSecret)
		return body
	},
	want: ErrUnknownAccessKey, msg: "The security token included in the request is invalid.",
}, {
	name: "clock 16 min ahead", skip: isPresign,
	mutate: func(r *http.Request, body []byte, v *Verifier) []byte {
		v.Now = fixedNow(signTime.Add(16 * time.Minute))
		return body
	},
	want: ErrSignatureExpired,
	msg:  "Signature expired: 20260101T120000Z is now earlier than 20260101T120100Z (20260101T121600Z - 15 min.)",
}, {
	name: "clock 16 min behind", skip: isPresign,
	mutate: func(r *http.Request, body []byte, v *Verifier) []byte {
		v.Now = fixedNow(signTime.Add(-16 * time.Minute))
		return body
	},
	want: ErrSignatureExpired,
	msg:  "Signature not yet current: 20260101T120000Z is still later than 20260101T115900Z (20260101T114400Z + 15 min.)",
}, {
	name: "clock 16 min behind presign", skip: notPresign,
	mutate: func(r *http.Request, body []byte, v *Verifier) []byte {
		v.Now = fixedNow(signTime.Add(-16 * time.Minute))
		return body
	},
	want: ErrSignatureExpired, msg: "Request is not valid yet",
}, {
	name: "presign expired", skip: notPresign,
	mutate: func(r *http.Request, body []byte, v *Verifier) []byte {
		a, _ := Parse(r)
		v.Now = fixedNow(signTime.Add(a.Expires + time.Second))
		return body
	},
	want: ErrSignatureExpired, msg: "Request has expired",
}, {
	name: "scope date not the X-Amz-Date date",
	mutate: func(r *http.Request, body []byte, v *Verifier) []byte {
		next := signTime.AddDate(0, 0, 1).Format(amzDateLayout)
		if r.Header.Get("X-Amz-Date") != "" {
			r.Header.Set("X-Amz-Date", next)
		} else {
			setQuery(r, strings.Replace(r.URL.RawQuery, "X-Amz-Date=20260101T120000Z", "X-Amz-Date="+next, 1))
		}
		v.Now = fixedNow(signTime.AddDate(0, 0, 1))
		return body
	},
	want: ErrSignatureMismatch,
	msg:  "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20260101' != '20260102', from '20260102T120000Z'.",
}, {
	name: "host not signed",
	mutate: func(r *http.Request, body []byte, v *Verifier) []byte {
		if h := r.Header.Get("Authorization"); h != "" {
			h = strings.Replace(h, ";host;", ";", 1)
			h = strings.Replace(h, "SignedHeaders=host;", "SignedHeaders=", 1)
			r.Header.Set("Authorization", h)
		} else {
			setQuery(r, strings.Replace(r.URL.RawQuery, "X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=x-amz-date", 1))
		}
		return body
	},
	want: ErrSignatureMismatch, msg: msgHostNotSigned,
}, {
	name: "garbage authorization", skip: isPresign,
	mutate: func(r *http.Request, body []byte, v *Verifier) []byte {
		r.Header.Set("Authorization", "garbage")
		return body
	},
	want: ErrIncompleteSignature,
	msg:  "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=garbage",
}, {
	name: "garbage credential", skip: notPresign,
	mutate: func(r *http.Request, body []byte, v *Verifier) []byte {
		q := r.URL.Query()
		q.Set("X-Amz-Credential", "garbage")
		setQuery(r, q.Encode())
		return body
	},
	want: ErrIncompleteSignature,
}, {
	name: "no authentication",
	mutate: func(r *http.Request, body []byte, v *Verifier) []byte {
		r.Header.Del("Authorization")
		setQuery(r, "")
		return body
	},
	want: ErrMissingAuthentication, msg: "Missing Authentication Token",
}, {
	name: "no X-Amz-Date", skip: isPresign,
	mutate: func(r *http.Request, body []byte, v *Verifier) []byte {
		r.Header.Del("X-Amz-Date")
		return body
	},
	want: ErrIncompleteSignature,
}, {
	name: "unsupported algorithm", skip: isPresign,
	mutate: func(r *http.Request, body []byte, v *Verifier) []byte {
		r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "SHA256", "SHA512", 1))
		return body
	},
	want: ErrIncompleteSignature, msg: "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now).",
}, {
	name: "signature flipped",
	mutate: func(r *http.Request, body []byte, v *Verifier) []byte {
		flip := func(s string) string {
			i := strings.LastIndex(s, "ignature=") + len("ignature=")
			c := byte('0')
			if s[i] == '0' {
				c = '1'
			}
			return s[:i] + string(c) + s[i+1:]
		}
		if h := r.Header.Get("Authorization"); h != "" {
			r.Header.Set("Authorization", flip(h))
		} else {
			setQuery(r, flip(r.URL.RawQuery))
		}
		return body
	},
	want: ErrSignatureMismatch, msg: msgSignatureMismatch,
}, {
	name: "streaming payload", skip: isPresign,
	mutate: func(r *http.Request, body []byte, v *Verifier) []byte {
		r.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
		return body
	},
	want: ErrIncompleteSignature,
}, {
	name: "both header and query auth", skip: notPresign,
	mutate: func(r *http.Request, body []byte, v *Verifier) []byte {
		r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x")
		return body
	},
	want: ErrSignatureMismatch, msg: msgBothAuthMechanisms,
}}

func TestVerifyTampered(t *testing.T) {
	for _, c := range sdkCases() {
		raw := signRaw(t, c)
		for _, tc := range tampers {
			if tc.skip != nil && tc.skip(c) {
				continue
			}
			t.Run(c.name+"/"+tc.name, func(t *testing.T) {
				r, body, err := readRequest(raw)
				if err != nil {
					t.Fatal(err)
				}
				v := &Verifier{Lookup: lookup(testAccessKey, testSecret), Now: fixedNow(signTime.Add(time.Second))}
				body = tc.mutate(r, body, v)
				a, err := v.Verify(context.Background(), r, body)
				if !errors.Is(err, tc.want) {
					t.Fatalf("Verify = %v, want %v", err, tc.want)
				}
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("Verify error %T is not *Error", err)
				}
				if tc.msg != "" && e.Message != tc.msg {
					t.Errorf("message:\n got %q\nwant %q", e.Message, tc.msg)
				}
				if errors.Is(err, ErrSignatureExpired) || errors.Is(err, ErrUnknownAccessKey) {
					if a.AccessKeyID != testAccessKey {
						t.Errorf("Authorization not returned with the error: %+v", a)
					}
				}
			})
		}
	}
}

// A mismatch reports the canonical request and string to sign that the
// server computed, which for an untampered request are the SDK's own.
func TestMismatchDetails(t *testing.T) {
	c := sdkCases()[0]
	r, body, err := readRequest(signRaw(t, c))
	if err != nil {
		t.Fatal(err)
	}
	v := &Verifier{Lookup: lookup(testAccessKey, "wrong"), Now: fixedNow(signTime)}
	_, err = v.Verify(context.Background(), r, body)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Verify = %v", err)
	}
	wantCR := "POST\n/\n\n" +
		"content-length:" + fmt.Sprint(len(jsonBody)) + "\n" +
		"content-type:application/x-amz-json-1.1\n" +
		"host:cloudtrail.us-east-1.amazonaws.com\n" +
		"x-amz-date:20260101T120000Z\n" +
		"x-amz-target:CloudTrail_20131101.LookupEvents\n\n" +
		"content-length;content-type;host;x-amz-date;x-amz-target\n" +
		sha256Hex(jsonBody)
	if e.CanonicalRequest != wantCR {
		t.Errorf("CanonicalRequest:\n%s\nwant:\n%s", e.CanonicalRequest, wantCR)
	}
	wantSTS := "AWS4-HMAC-SHA256\n20260101T120000Z\n20260101/us-east-1/cloudtrail/aws4_request\n" + sha256Hex([]byte(wantCR))
	if e.StringToSign != wantSTS {
		t.Errorf("StringToSign:\n%s\nwant:\n%s", e.StringToSign, wantSTS)
	}
}

func TestVerifyLookupFailure(t *testing.T) {
	r, body, err := readRequest(signRaw(t, sdkCases()[0]))
	if err != nil {
		t.Fatal(err)
	}
	down := errors.New("database is down")
	v := &Verifier{
		Lookup: func(context.Context, string) (string, error) { return "", down },
		Now:    fixedNow(signTime),
	}
	a, err := v.Verify(context.Background(), r, body)
	if !errors.Is(err, down) || errors.Is(err, ErrUnknownAccessKey) {
		t.Fatalf("Verify = %v, want the lookup error", err)
	}
	if a.AccessKeyID != testAccessKey {
		t.Errorf("Authorization = %+v", a)
	}
}

// Clients drop a default port from the signed host even when they send it,
// and botocore normalises paths that the Go SDK signs as they are.
func TestVerifyVariants(t *testing.T) {
	for _, tc := range []struct {
		name, url, host string
	}{
		{"default port sent", "https://cairn.example.com/", "cairn.example.com:443"},
		{"default http port sent", "http://cairn.example.com/", "cairn.example.com:80"},
		{"ipv6 default port", "http://[::1]/", "[::1]:80"},
		{"ipv6 signed without brackets", "http://[::1]:80/", "[::1]"},
		{"unnormalised path", "http://127.0.0.1:4566/a//b/./c", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := sdkCase{service: "cloudtrail", method: "POST", url: tc.url, body: []byte("{}"),
				header: http.Header{"Content-Type": {"application/x-amz-json-1.1"}}}
			raw := signRaw(t, c)
			if tc.host != "" {
				raw = bytes.Replace(raw, []byte("Host: "), []byte("Host: "+tc.host+"\r\nX-Old-Host: "), 1)
			}
			r, body, err := readRequest(raw)
			if err != nil {
				t.Fatal(err)
			}
			v := &Verifier{Lookup: lookup(testAccessKey, testSecret), Now: fixedNow(signTime)}
			if _, err := v.Verify(context.Background(), r, body); err != nil {
				t.Fatalf("Verify: %v\n%s", err, raw)
			}
		})
	}
}

func TestMaxSkew(t *testing.T) {
	r, body, err := readRequest(signRaw(t, sdkCases()[0]))
	if err != nil {
		t.Fatal(err)
	}
	v := &Verifier{Lookup: lookup(testAccessKey, testSecret), MaxSkew: 90 * time.Second, Now: fixedNow(signTime.Add(2 * time.Minute))}
	_, err = v.Verify(context.Background(), r, body)
	want := "Signature expired: 20260101T120000Z is now earlier than 20260101T120030Z (20260101T120200Z - 90 sec.)"
	if !errors.Is(err, ErrSignatureExpired) || err.Error() != want {
		t.Fatalf("Verify = %v, want %q", err, want)
	}
	v.Now = fixedNow(signTime.Add(89 * time.Second))
	if _, err := v.Verify(context.Background(), r, body); err != nil {
		t.Fatalf("within MaxSkew: %v", err)
	}
}

func BenchmarkVerify(b *testing.B) {
	body := bytes.Repeat([]byte(" "), 1536)
	copy(body, jsonBody)
	c := sdkCases()[0]
	c.body = body
	r, body, err := readRequest(signRaw(b, c))
	if err != nil {
		b.Fatal(err)
	}
	v := &Verifier{Lookup: lookup(testAccessKey, testSecret), Now: fixedNow(signTime)}
	ctx := context.Background()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, r, body); err != nil {
			b.Fatal(err)
		}
	}
}
