package sigv4

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	algorithm       = "AWS4-HMAC-SHA256"
	terminator      = "aws4_request"
	amzDateLayout   = "20060102T150405Z"
	scopeDateLayout = "20060102"
	maxPresignAge   = 604800 // seconds, one week, as S3
)

// Authorization is what a request claims: the parsed Authorization header or
// presigned query. Nothing in it is verified until Verify succeeds.
type Authorization struct {
	AccessKeyID   string
	Date          string // YYYYMMDD from the credential scope
	Region        string
	Service       string
	SignedHeaders []string // lower-case, as listed
	Signature     string   // lower-case hex
	Presigned     bool     // from X-Amz-* query parameters
	Expires       time.Duration

	// Time is the signing time, from X-Amz-Date (or the Date header). Parse
	// sets it; ParseHeader cannot, as the date is not in the header.
	Time time.Time
	// SessionToken is X-Amz-Security-Token when the signature covers it, for
	// the caller to check against temporary credentials.
	SessionToken string
}

// ParseHeader parses an Authorization header value of the form
//
//	AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/cloudtrail/aws4_request, SignedHeaders=host;x-amz-date, Signature=…
//
// Parameters may be separated by commas, spaces or both, as AWS accepts.
func ParseHeader(h string) (Authorization, error) {
	return parseHeader(h, false)
}

// parseHeader is ParseHeader that also reports a missing request date in the
// same message as missing parameters, as AWS does.
func parseHeader(h string, noDate bool) (Authorization, error) {
	alg, params := h, ""
	if i := strings.IndexAny(h, " \t"); i >= 0 {
		alg, params = h[:i], h[i+1:]
	}
	var cred, signed, sig string
	var haveCred, haveSigned, haveSig bool
	for tok := range strings.FieldsFuncSeq(params, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		k, v, ok := strings.Cut(tok, "=")
		if !ok {
			return Authorization{}, incomplete("'%s' not a valid key=value pair (missing equal-sign) in Authorization header: '%s'.", tok, h)
		}
		var dup bool
		switch k {
		case "Credential":
			cred, dup, haveCred = v, haveCred, true
		case "SignedHeaders":
			signed, dup, haveSigned = v, haveSigned, true
		case "Signature":
			sig, dup, haveSig = v, haveSig, true
		default:
			return Authorization{}, incomplete("Authorization header has an unknown parameter '%s'. Authorization=%s", k, h)
		}
		if dup {
			return Authorization{}, incomplete("Authorization header has more than one '%s' parameter. Authorization=%s", k, h)
		}
	}
	var missing []string
	if cred == "" {
		missing = append(missing, "Authorization header requires 'Credential' parameter.")
	}
	if sig == "" {
		missing = append(missing, "Authorization header requires 'Signature' parameter.")
	}
	if !haveSigned {
		missing = append(missing, "Authorization header requires 'SignedHeaders' parameter.")
	}
	if noDate {
		missing = append(missing, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
	}
	if len(missing) > 0 {
		return Authorization{}, incomplete("%s Authorization=%s", strings.Join(missing, " "), h)
	}
	if alg != algorithm {
		return Authorization{}, unsupportedAlgorithm(alg)
	}
	return build(cred, signed, sig)
}

// build checks and assembles the parts shared by header and query auth. It
// returns what it could parse even on error, so that failures can be audited.
func build(cred, signed, sig string) (Authorization, error) {
	parts := strings.Split(cred, "/")
	if len(parts) != 5 {
		return Authorization{}, incomplete("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", cred)
	}
	a := Authorization{AccessKeyID: parts[0], Date: parts[1], Region: parts[2], Service: parts[3]}
	var scope []string
	if !validScopeName(a.Region) {
		scope = append(scope, fmt.Sprintf("Credential should be scoped to a valid region, not '%s'.", a.Region))
	}
	if !validScopeName(a.Service) {
		scope = append(scope, fmt.Sprintf("Credential should be scoped to a valid service, not '%s'.", a.Service))
	}
	if parts[4] != terminator {
		scope = append(scope, fmt.Sprintf("Credential should be scoped with a valid terminator: 'aws4_request', not '%s'.", parts[4]))
	}
	if len(scope) > 0 {
		return a, newError(ErrSignatureMismatch, strings.Join(scope, " "))
	}
	if _, err := time.Parse(scopeDateLayout, a.Date); err != nil || len(a.Date) != len(scopeDateLayout) {
		return a, incomplete("Credential scope date must be a date in YYYYMMDD format, got '%s'.", a.Date)
	}

	if signed != "" {
		a.SignedHeaders = strings.Split(signed, ";")
	}
	host := false
	for i, name := range a.SignedHeaders {
		if !validHeaderName(name) {
			return a, incomplete("SignedHeaders must list lower-case header names separated by ';', got '%s'.", signed)
		}
		if i > 0 && name <= a.SignedHeaders[i-1] {
			return a, incomplete("SignedHeaders must be sorted and without duplicates, got '%s'.", signed)
		}
		host = host || name == "host"
	}
	if !host {
		return a, newError(ErrSignatureMismatch, msgHostNotSigned)
	}

	if !isLowerHex(sig, 64) {
		return a, incomplete("Signature must be 64 lower-case hexadecimal digits, got '%s'.", sig)
	}
	a.Signature = sig
	return a, nil
}

// Parse finds the authorization of r: the Authorization header, else the
// presigned query parameters (X-Amz-Algorithm, X-Amz-Credential,
// X-Amz-SignedHeaders, X-Amz-Signature, X-Amz-Date and, optionally,
// X-Amz-Expires). It also reads the signing time and checks that the
// credential scope's date is that time's date.
func Parse(r *http.Request) (Authorization, error) {
	var query url.Values
	if r.URL != nil {
		query, _ = url.ParseQuery(r.URL.RawQuery) // keeps what parses; a bad pair cannot be an auth parameter
	}
	_, presigned := query["X-Amz-Algorithm"]
	headers := r.Header.Values("Authorization")
	switch {
	case len(headers) > 1:
		return Authorization{}, incomplete("Request has more than one Authorization header.")
	case len(headers) == 1 && headers[0] != "" && presigned:
		return Authorization{}, newError(ErrSignatureMismatch, msgBothAuthMechanisms)
	case len(headers) == 1 && headers[0] != "":
		return parseHeaderAuth(r, headers[0])
	case presigned:
		return parseQueryAuth(query)
	}
	return Authorization{}, newError(ErrMissingAuthentication, msgMissingAuthentication)
}

func parseHeaderAuth(r *http.Request, h string) (Authorization, error) {
	amzDate, date := r.Header.Get("X-Amz-Date"), r.Header.Get("Date")
	a, err := parseHeader(h, amzDate == "" && date == "")
	if err != nil {
		return a, err
	}
	if amzDate != "" {
		a.Time, err = time.Parse(amzDateLayout, amzDate)
	} else {
		a.Time, err = parseHTTPDate(date)
		amzDate = date
	}
	if err != nil {
		return a, badDate(amzDate)
	}
	if err := checkScopeDate(a); err != nil {
		return a, err
	}
	if hasSignedHeader(a, "x-amz-security-token") {
		a.SessionToken = r.Header.Get("X-Amz-Security-Token")
	}
	return a, nil
}

func parseQueryAuth(q url.Values) (Authorization, error) {
	required := []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date"}
	var missing []string
	for _, k := range required {
		if q.Get(k) == "" {
			missing = append(missing, fmt.Sprintf("AWS query-string parameters must include '%s'.", k))
		}
	}
	if len(missing) > 0 {
		return Authorization{}, incomplete("%s Re-examine the query-string parameters.", strings.Join(missing, " "))
	}
	for _, k := range append(required, "X-Amz-Expires", "X-Amz-Security-Token") {
		if len(q[k]) > 1 {
			return Authorization{}, incomplete("Query-string parameter '%s' must appear only once.", k)
		}
	}
	if alg := q.Get("X-Amz-Algorithm"); alg != algorithm {
		return Authorization{}, unsupportedAlgorithm(alg)
	}
	a, err := build(q.Get("X-Amz-Credential"), q.Get("X-Amz-SignedHeaders"), q.Get("X-Amz-Signature"))
	a.Presigned = true
	if err != nil {
		return a, err
	}
	if v, ok := q["X-Amz-Expires"]; ok {
		n, err := strconv.ParseInt(v[0], 10, 64)
		switch {
		case err != nil:
			return a, incomplete("X-Amz-Expires should be a number")
		case n < 0:
			return a, incomplete("X-Amz-Expires must be non-negative")
		case n == 0:
			return a, incomplete("X-Amz-Expires must be at least 1 second")
		case n > maxPresignAge:
			return a, incomplete("X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than %d seconds", maxPresignAge)
		}
		a.Expires = time.Duration(n) * time.Second
	}
	amzDate := q.Get("X-Amz-Date")
	if a.Time, err = time.Parse(amzDateLayout, amzDate); err != nil {
		return a, badDate(amzDate)
	}
	if err := checkScopeDate(a); err != nil {
		return a, err
	}
	a.SessionToken = q.Get("X-Amz-Security-Token") // in the canonical query, so signed
	return a, nil
}

func checkScopeDate(a Authorization) error {
	if d := a.Time.Format(scopeDateLayout); a.Date != d {
		return newError(ErrSignatureMismatch, fmt.Sprintf(
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			a.Date, d, a.Time.Format(amzDateLayout)))
	}
	return nil
}

// parseHTTPDate parses a Date header: the HTTP formats, and the numeric zone
// that botocore writes (email.utils.formatdate: "…10:56:38 -0000").
func parseHTTPDate(s string) (time.Time, error) {
	if t, err := http.ParseTime(s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC1123Z, s)
	return t.UTC(), err
}

func hasSignedHeader(a Authorization, name string) bool {
	for _, h := range a.SignedHeaders {
		if h == name {
			return true
		}
	}
	return false
}

func incomplete(format string, args ...any) *Error {
	return newError(ErrIncompleteSignature, fmt.Sprintf(format, args...))
}

func unsupportedAlgorithm(alg string) *Error {
	return incomplete("Unsupported AWS 'algorithm': '%s' (only AWS4-HMAC-SHA256 for now).", alg)
}

func badDate(d string) *Error {
	return incomplete("Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", d)
}

// validScopeName accepts region and service names: AWS's are lower-case
// letters, digits and dashes; be a little more lenient, never empty.
func validScopeName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// validHeaderName reports whether s is a lower-case HTTP field name (an RFC
// 9110 token without upper-case letters).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
