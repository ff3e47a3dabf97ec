package sigv4

import (
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

const sig64 = "e1e3df6b7a8d1ac36a1a8c92b2b49d2e5a3d8b09e4c5f6a7b8c9d0e1f2a3b4c5"

func TestParseHeader(t *testing.T) {
	const cred = "Credential=AKIDEXAMPLE/20260101/us-east-1/cloudtrail/aws4_request"
	good := Authorization{
		AccessKeyID: "AKIDEXAMPLE", Date: "20260101", Region: "us-east-1", Service: "cloudtrail",
		SignedHeaders: []string{"content-type", "host", "x-amz-date"}, Signature: sig64,
	}
	for _, tc := range []struct {
		name   string
		header string
		want   error  // nil: parses to good
		msg    string // exact message, if set
	}{
		{"botocore", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=content-type;host;x-amz-date, Signature=" + sig64, nil, ""},
		{"commas only", "AWS4-HMAC-SHA256 " + cred + ",SignedHeaders=content-type;host;x-amz-date,Signature=" + sig64, nil, ""},
		{"spaces only", "AWS4-HMAC-SHA256 " + cred + " SignedHeaders=content-type;host;x-amz-date  Signature=" + sig64, nil, ""},
		{"any order", "AWS4-HMAC-SHA256 Signature=" + sig64 + ", SignedHeaders=content-type;host;x-amz-date, " + cred, nil, ""},

		{"empty", "", ErrIncompleteSignature, "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization="},
		{"garbage", "garbage", ErrIncompleteSignature, "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=garbage"},
		{"bearer", "Bearer abc", ErrIncompleteSignature, "'abc' not a valid key=value pair (missing equal-sign) in Authorization header: 'Bearer abc'."},
		{"missing signature", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host", ErrIncompleteSignature,
			"Authorization header requires 'Signature' parameter. Authorization=AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host"},
		{"empty credential", "AWS4-HMAC-SHA256 Credential=, SignedHeaders=host, Signature=" + sig64, ErrIncompleteSignature,
			"Authorization header requires 'Credential' parameter. Authorization=AWS4-HMAC-SHA256 Credential=, SignedHeaders=host, Signature=" + sig64},
		{"duplicate parameter", "AWS4-HMAC-SHA256 " + cred + ", " + cred + ", SignedHeaders=host, Signature=" + sig64, ErrIncompleteSignature, ""},
		{"unknown parameter", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host, Signature=" + sig64 + ", Foo=bar", ErrIncompleteSignature, ""},
		{"sigv4a", "AWS4-ECDSA-P256-SHA256 " + cred + ", SignedHeaders=host, Signature=" + sig64, ErrIncompleteSignature,
			"Unsupported AWS 'algorithm': 'AWS4-ECDSA-P256-SHA256' (only AWS4-HMAC-SHA256 for now)."},
		{"four credential parts", "AWS4-HMAC-SHA256 Credential=a/b/c/d, SignedHeaders=host, Signature=" + sig64, ErrIncompleteSignature,
			"Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'a/b/c/d'"},
		{"wrong terminator", "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/cloudtrail/aws5_request, SignedHeaders=host, Signature=" + sig64,
			ErrSignatureMismatch, "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'."},
		{"no region or service", "AWS4-HMAC-SHA256 Credential=AK/20260101///aws4_request, SignedHeaders=host, Signature=" + sig64,
			ErrSignatureMismatch, "Credential should be scoped to a valid region, not ''. Credential should be scoped to a valid service, not ''."},
		{"bad scope date", "AWS4-HMAC-SHA256 Credential=AK/20261301/us-east-1/cloudtrail/aws4_request, SignedHeaders=host, Signature=" + sig64,
			ErrIncompleteSignature, "Credential scope date must be a date in YYYYMMDD format, got '20261301'."},
		{"host not signed", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=content-type;x-amz-date, Signature=" + sig64, ErrSignatureMismatch, msgHostNotSigned},
		{"no signed headers", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=, Signature=" + sig64, ErrSignatureMismatch, msgHostNotSigned},
		{"upper-case signed header", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=Host;x-amz-date, Signature=" + sig64, ErrIncompleteSignature, ""},
		{"unsorted signed headers", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=x-amz-date;host, Signature=" + sig64, ErrIncompleteSignature, ""},
		{"duplicate signed header", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host;host, Signature=" + sig64, ErrIncompleteSignature, ""},
		{"empty signed header", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host;;x-amz-date, Signature=" + sig64, ErrIncompleteSignature, ""},
		{"upper-case signature", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host, Signature=" + strings.ToUpper(sig64), ErrIncompleteSignature, ""},
		{"short signature", "AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=host, Signature=abc", ErrIncompleteSignature,
			"Signature must be 64 lower-case hexadecimal digits, got 'abc'."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseHeader(tc.header)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(a, good) {
					t.Errorf("ParseHeader = %+v, want %+v", a, good)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("ParseHeader = %+v, %v; want %v", a, err, tc.want)
			}
			if tc.msg != "" && err.Error() != tc.msg {
				t.Errorf("message:\n got %q\nwant %q", err.Error(), tc.msg)
			}
		})
	}
}

func TestParse(t *testing.T) {
	const hdr = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/cloudtrail/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + sig64
	presign := func(mod func(q url.Values)) string {
		q := url.Values{
			"X-Amz-Algorithm":     {"AWS4-HMAC-SHA256"},
			"X-Amz-Credential":    {"AKIDEXAMPLE/20260101/us-east-1/s3/aws4_request"},
			"X-Amz-Date":          {"20260101T120000Z"},
			"X-Amz-Expires":       {"300"},
			"X-Amz-SignedHeaders": {"host"},
			"X-Amz-Signature":     {sig64},
		}
		if mod != nil {
			mod(q)
		}
		return q.Encode()
	}
	for _, tc := range []struct {
		name   string
		header http.Header
		query  string
		want   error
		msg    string
		check  func(t *testing.T, a Authorization)
	}{{
		name:   "header",
		header: http.Header{"Authorization": {hdr}, "X-Amz-Date": {"20260101T120000Z"}},
		check: func(t *testing.T, a Authorization) {
			if !a.Time.Equal(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)) || a.Presigned || a.SessionToken != "" {
				t.Errorf("Authorization = %+v", a)
			}
		},
	}, {
		name:   "Date header instead of X-Amz-Date",
		header: http.Header{"Authorization": {strings.Replace(hdr, "host;x-amz-date", "date;host", 1)}, "Date": {"Thu, 01 Jan 2026 12:00:00 GMT"}},
		check: func(t *testing.T, a Authorization) {
			if !a.Time.Equal(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)) {
				t.Errorf("Time = %v", a.Time)
			}
		},
	}, {
		name:   "unsigned session token is not reported",
		header: http.Header{"Authorization": {hdr}, "X-Amz-Date": {"20260101T120000Z"}, "X-Amz-Security-Token": {"tok"}},
		check: func(t *testing.T, a Authorization) {
			if a.SessionToken != "" {
				t.Errorf("SessionToken = %q", a.SessionToken)
			}
		},
	}, {
		name: "presigned",
		query: presign(func(q url.Values) {
			q.Set("X-Amz-Security-Token", "tok")
		}),
		check: func(t *testing.T, a Authorization) {
			if !a.Presigned || a.Expires != 5*time.Minute || a.Service != "s3" || a.SessionToken != "tok" {
				t.Errorf("Authorization = %+v", a)
			}
		},
	}, {
		name: "presigned without X-Amz-Expires",
		query: presign(func(q url.Values) {
			q.Del("X-Amz-Expires")
		}),
		check: func(t *testing.T, a Authorization) {
			if !a.Presigned || a.Expires != 0 {
				t.Errorf("Authorization = %+v", a)
			}
		},
	}, {
		name: "nothing", want: ErrMissingAuthentication, msg: "Missing Authentication Token",
	}, {
		name: "empty Authorization", header: http.Header{"Authorization": {""}}, want: ErrMissingAuthentication,
	}, {
		name: "X-Amz-Credential without X-Amz-Algorithm", query: "X-Amz-Credential=a&X-Amz-Signature=b", want: ErrMissingAuthentication,
	}, {
		name: "two Authorization headers", header: http.Header{"Authorization": {hdr, hdr}, "X-Amz-Date": {"20260101T120000Z"}},
		want: ErrIncompleteSignature,
	}, {
		name: "header and query", header: http.Header{"Authorization": {hdr}}, query: presign(nil),
		want: ErrSignatureMismatch, msg: msgBothAuthMechanisms,
	}, {
		name: "no date", header: http.Header{"Authorization": {hdr}}, want: ErrIncompleteSignature,
		msg: "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=" + hdr,
	}, {
		name: "garbage and no date", header: http.Header{"Authorization": {"AWS4-"}}, want: ErrIncompleteSignature,
		msg: "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. " +
			"Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-",
	}, {
		name: "extended X-Amz-Date", header: http.Header{"Authorization": {hdr}, "X-Amz-Date": {"2026-01-01T12:00:00Z"}},
		want: ErrIncompleteSignature, msg: "Date must be in ISO-8601 'basic format'. Got '2026-01-01T12:00:00Z'. See http://en.wikipedia.org/wiki/ISO_8601",
	}, {
		name: "scope date is not the request date", header: http.Header{"Authorization": {hdr}, "X-Amz-Date": {"20251231T235959Z"}},
		want: ErrSignatureMismatch,
		msg:  "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20260101' != '20251231', from '20251231T235959Z'.",
	}, {
		name: "empty X-Amz-Algorithm", query: "X-Amz-Algorithm", want: ErrIncompleteSignature,
		msg: "AWS query-string parameters must include 'X-Amz-Algorithm'. AWS query-string parameters must include 'X-Amz-Credential'. " +
			"AWS query-string parameters must include 'X-Amz-Signature'. AWS query-string parameters must include 'X-Amz-SignedHeaders'. " +
			"AWS query-string parameters must include 'X-Amz-Date'. Re-examine the query-string parameters.",
	}, {
		name: "no X-Amz-SignedHeaders", query: presign(func(q url.Values) { q.Del("X-Amz-SignedHeaders") }), want: ErrIncompleteSignature,
		msg: "AWS query-string parameters must include 'X-Amz-SignedHeaders'. Re-examine the query-string parameters.",
	}, {
		name: "duplicate X-Amz-Credential", query: presign(nil) + "&X-Amz-Credential=x", want: ErrIncompleteSignature,
	}, {
		name: "X-Amz-Expires not a number", query: presign(func(q url.Values) { q.Set("X-Amz-Expires", "soon") }),
		want: ErrIncompleteSignature, msg: "X-Amz-Expires should be a number",
	}, {
		name: "X-Amz-Expires negative", query: presign(func(q url.Values) { q.Set("X-Amz-Expires", "-1") }),
		want: ErrIncompleteSignature, msg: "X-Amz-Expires must be non-negative",
	}, {
		name: "X-Amz-Expires over a week", query: presign(func(q url.Values) { q.Set("X-Amz-Expires", "604801") }),
		want: ErrIncompleteSignature, msg: "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds",
	}, {
		name: "presigned SHA-1", query: presign(func(q url.Values) { q.Set("X-Amz-Algorithm", "AWS4-HMAC-SHA1") }),
		want: ErrIncompleteSignature,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			r := &http.Request{Method: "GET", URL: &url.URL{Path: "/", RawQuery: tc.query}, Host: "example.com", Header: tc.header}
			if r.Header == nil {
				r.Header = http.Header{}
			}
			a, err := Parse(r)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Parse = %+v, %v; want %v", a, err, tc.want)
			}
			if tc.msg != "" && err.Error() != tc.msg {
				t.Errorf("message:\n got %q\nwant %q", err.Error(), tc.msg)
			}
			if tc.check != nil {
				tc.check(t, a)
			}
		})
	}
}

func TestCanonicalQuery(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{"", ""},
		{"b=2&a=1", "a=1&b=2"},
		{"a=2&a=1&a=10", "a=1&a=10&a=2"},
		{"tagging", "tagging="},
		{"k=a b+c%2fd%2B", "k=a%20b%20c%2Fd%2B"}, // '+' as a space, lower-case hex
		{"k=%7e~!", "k=~~%21"},
		{"&&a=1&", "a=1"},
		{"k=%zz", "k=%25zz"},
		// Sorted after encoding: "a%2Fb" < "a-b" although "a/b" > "a-b".
		{"v=a-b&v=a/b", "v=a%2Fb&v=a-b"},
	} {
		if got := canonicalQuery(tc.raw, false); got != tc.want {
			t.Errorf("canonicalQuery(%q) = %q, want %q", tc.raw, got, tc.want)
		}
	}
	if got := canonicalQuery("X-Amz-Signature=abc&X-Amz-Date=1", true); got != "X-Amz-Date=1" {
		t.Errorf("presigned: %q", got)
	}
}

func TestCanonicalURIs(t *testing.T) {
	for _, tc := range []struct {
		path string
		s3   bool
		want []string
	}{
		{"", false, []string{"/"}},
		{"/", false, []string{"/"}},
		{"/service/GraniteServiceVersion20100801/operation/ListMetrics", false, []string{"/service/GraniteServiceVersion20100801/operation/ListMetrics"}},
		{"/a%20b/c", false, []string{"/a%2520b/c"}},
		{"/a//b/./c/../d/", false, []string{"/a/b/d/", "/a//b/./c/../d/"}},
		{"/a%20b//c", true, []string{"/a%20b//c"}},
	} {
		if got := canonicalURIs(tc.path, tc.s3); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("canonicalURIs(%q, %v) = %q, want %q", tc.path, tc.s3, got, tc.want)
		}
	}
}

func TestAppendTrimmed(t *testing.T) {
	for in, want := range map[string]string{
		"":                   "",
		"a":                  "a",
		"  a  b \t c  ":      "a b c",
		"application/x-json": "application/x-json",
	} {
		if got := string(appendTrimmed(nil, in)); got != want {
			t.Errorf("appendTrimmed(%q) = %q, want %q", in, got, want)
		}
	}
}
