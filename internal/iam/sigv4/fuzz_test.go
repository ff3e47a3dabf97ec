package sigv4

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// checkError fails unless err is an *Error of a known kind with a message.
func checkError(t *testing.T, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not *Error", err, err)
	}
	switch e.Kind {
	case ErrMissingAuthentication, ErrIncompleteSignature, ErrUnknownAccessKey, ErrSignatureMismatch, ErrSignatureExpired:
	default:
		t.Fatalf("unknown Kind %v", e.Kind)
	}
	if e.Message == "" {
		t.Fatal("empty message")
	}
}

func FuzzParseHeader(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/cloudtrail/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=" + sig64)
	f.Add("AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/s3/aws4_request,SignedHeaders=host,Signature=" + sig64)
	f.Add("AWS4-HMAC-SHA256 Credential=a/b/c/d, SignedHeaders=, Signature=")
	f.Add("Bearer abc")
	f.Add("")
	f.Fuzz(func(t *testing.T, h string) {
		a, err := ParseHeader(h)
		if err != nil {
			checkError(t, err)
			return
		}
		// What parses is well-formed, and formats back to something that
		// parses the same.
		if !isLowerHex(a.Signature, 64) || !hasSignedHeader(a, "host") || !validScopeName(a.Region) || !validScopeName(a.Service) {
			t.Fatalf("accepted %q as %+v", h, a)
		}
		if _, err := time.Parse(scopeDateLayout, a.Date); err != nil {
			t.Fatalf("accepted %q with date %q", h, a.Date)
		}
		if strings.ContainsAny(a.AccessKeyID, "/") {
			t.Fatalf("access key %q", a.AccessKeyID)
		}
		again, err := ParseHeader(format(a))
		if err != nil || !reflect.DeepEqual(a, again) {
			t.Fatalf("%q parsed as %+v; formatted as %q it parses as %+v, %v", h, a, format(a), again, err)
		}
	})
}

func format(a Authorization) string {
	return algorithm + " Credential=" + a.AccessKeyID + "/" + a.Date + "/" + a.Region + "/" + a.Service + "/" + terminator +
		", SignedHeaders=" + strings.Join(a.SignedHeaders, ";") + ", Signature=" + a.Signature
}

// FuzzParse drives Parse and Verify with raw Authorization, query and date
// values, which is how they arrive.
func FuzzParse(f *testing.F) {
	hdr := "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/cloudtrail/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + sig64
	f.Add(hdr, "", "20260101T120000Z", "")
	f.Add(hdr, "", "", "Thu, 01 Jan 2026 12:00:00 GMT")
	f.Add("", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20260101T120000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature="+sig64, "", "")
	f.Add("", "X-Amz-Algorithm", "", "")
	f.Add(hdr, "X-Amz-Algorithm=x", "2026", "")
	f.Fuzz(func(t *testing.T, auth, query, amzDate, date string) {
		r := &http.Request{Method: "GET", URL: &url.URL{Path: "/", RawQuery: query}, Host: "example.com", Header: http.Header{}}
		for k, v := range map[string]string{"Authorization": auth, "X-Amz-Date": amzDate, "Date": date} {
			if v != "" {
				r.Header.Set(k, v)
			}
		}
		a, err := Parse(r)
		if err != nil {
			checkError(t, err)
			return
		}
		if a.Date != a.Time.Format(scopeDateLayout) || !isLowerHex(a.Signature, 64) || !hasSignedHeader(a, "host") {
			t.Fatalf("accepted %+v", a)
		}
		v := &Verifier{Lookup: lookup(a.AccessKeyID, "secret"), Now: fixedNow(a.Time)}
		if _, err := v.Verify(context.Background(), r, nil); err != nil {
			checkError(t, err)
		}
	})
}

// FuzzVerify feeds whole HTTP requests, seeded with the real clients'.
func FuzzVerify(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "clients", "*.http"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		r, body, err := readRequest(raw)
		if err != nil {
			return
		}
		a, _ := Parse(r)
		v := &Verifier{Lookup: lookup("AKIACAIRNFIXTURE0001", "cairn/fixture+secret/NOT-A-REAL-KEY/0001xyz"), Now: fixedNow(a.Time)}
		if _, err := v.Verify(context.Background(), r, body); err != nil {
			checkError(t, err)
		}
	})
}
