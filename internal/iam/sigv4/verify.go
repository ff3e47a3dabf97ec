package sigv4

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	unsignedPayload = "UNSIGNED-PAYLOAD"
	defaultMaxSkew  = 15 * time.Minute
)

// SecretLookup returns the secret access key for an access key ID, or an error
// wrapping ErrUnknownAccessKey. Verify returns any other error wrapped, for the
// caller to answer as a server fault.
type SecretLookup func(ctx context.Context, accessKeyID string) (secret string, err error)

// Verifier checks SigV4 signatures. It holds no mutable state and is safe for
// concurrent use.
type Verifier struct {
	Lookup  SecretLookup
	MaxSkew time.Duration    // allowed clock skew; default 15 minutes, as AWS
	Now     func() time.Time // default time.Now
}

// Verify checks r's signature. body is the full request body, already read;
// r.Body is not touched. Routing is left to the caller: a.Service and a.Region
// are what the client signed for.
//
// It returns the parsed Authorization on success, and on most failures too,
// so that the caller can record who tried. Failures are *Error values except
// when Lookup fails for a reason other than ErrUnknownAccessKey.
func (v *Verifier) Verify(ctx context.Context, r *http.Request, body []byte) (Authorization, error) {
	a, err := Parse(r)
	if err != nil {
		return a, err
	}
	if err := v.checkTime(a); err != nil {
		return a, err
	}
	contentHash := r.Header.Get("X-Amz-Content-Sha256")
	if strings.HasPrefix(contentHash, "STREAMING-") {
		return a, incomplete("Streaming payloads (x-amz-content-sha256: %s) are not supported; send the payload in one piece with its SHA-256 or UNSIGNED-PAYLOAD.", contentHash)
	}
	if a.AccessKeyID == "" {
		return a, newError(ErrUnknownAccessKey, msgUnknownAccessKey)
	}
	if v.Lookup == nil {
		return a, errors.New("sigv4: Verifier has no Lookup")
	}
	secret, err := v.Lookup(ctx, a.AccessKeyID)
	if err != nil {
		if errors.Is(err, ErrUnknownAccessKey) {
			return a, newError(ErrUnknownAccessKey, msgUnknownAccessKey)
		}
		return a, fmt.Errorf("sigv4: looking up access key %q: %w", a.AccessKeyID, err)
	}

	var bodyHash string
	hashBody := func() string {
		if bodyHash == "" {
			sum := sha256.Sum256(body)
			bodyHash = hex.EncodeToString(sum[:])
		}
		return bodyHash
	}
	// What the client may have put on the payload line. Presigned URLs carry
	// no payload hash: S3's use UNSIGNED-PAYLOAD, other services' (botocore,
	// PresignHTTP) the hash of the body, usually empty.
	var payloads []string
	switch {
	case contentHash != "":
		payloads = []string{contentHash}
	case !a.Presigned:
		payloads = []string{hashBody()}
	case a.Service == "s3":
		payloads = []string{unsignedPayload, hashBody()}
	default:
		payloads = []string{hashBody(), unsignedPayload}
	}

	c := canonical{
		r:       r,
		a:       &a,
		key:     signingKey(secret, a.Date, a.Region, a.Service),
		uris:    canonicalURIs(requestPath(r), a.Service == "s3"),
		hosts:   hostVariants(r),
		query:   canonicalQuery(rawQuery(r), a.Presigned),
		amzDate: a.Time.UTC().Format(amzDateLayout),
	}
	if err := c.match(payloads); err != nil {
		return a, err
	}
	// The signature covers the claimed payload hash; make sure it is the body's.
	if contentHash != "" && contentHash != unsignedPayload && contentHash != hashBody() {
		return a, newError(ErrSignatureMismatch, msgContentSHA256Mismatch)
	}
	return a, nil
}

func (v *Verifier) checkTime(a Authorization) error {
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	t, n := a.Time.UTC(), now().UTC().Truncate(time.Second)
	skew := v.MaxSkew
	if skew <= 0 {
		skew = defaultMaxSkew
	}
	if a.Presigned && a.Expires > 0 {
		switch {
		case t.After(n.Add(skew)):
			return newError(ErrSignatureExpired, msgPresignNotYetValid)
		case n.After(t.Add(a.Expires)):
			return newError(ErrSignatureExpired, msgPresignExpired)
		}
		return nil
	}
	f := func(t time.Time) string { return t.Format(amzDateLayout) }
	if lo := n.Add(-skew); t.Before(lo) {
		return newError(ErrSignatureExpired, fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - %s.)", f(t), f(lo), f(n), formatSkew(skew)))
	}
	if hi := n.Add(skew); t.After(hi) {
		return newError(ErrSignatureExpired, fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + %s.)", f(t), f(hi), f(n), formatSkew(skew)))
	}
	return nil
}

func formatSkew(d time.Duration) string {
	if d%time.Minute == 0 {
		return strconv.FormatInt(int64(d/time.Minute), 10) + " min"
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + " sec"
}

// canonical rebuilds the canonical request of r in its possible variants.
type canonical struct {
	r       *http.Request
	a       *Authorization
	key     []byte
	uris    []string // first is the spec's form
	hosts   []string // as received, then without a default port
	query   string
	amzDate string
}

// match tries the variants, the spec's form first, and reports a mismatch
// in terms of that first form. Clients differ on a few details (path
// normalisation, default ports, presigned payload hashes); trying each costs
// nothing when the first matches, which is the usual case.
func (c *canonical) match(payloads []string) error {
	var first *Error
	buf := make([]byte, 0, 1024)
	for _, payload := range payloads {
		for _, uri := range c.uris {
			for _, host := range c.hosts {
				buf = c.request(buf[:0], uri, host, payload)
				sts := c.stringToSign(buf)
				mac := hmac.New(sha256.New, c.key)
				mac.Write([]byte(sts))
				var sig [64]byte
				hex.Encode(sig[:], mac.Sum(nil))
				if subtle.ConstantTimeCompare(sig[:], []byte(c.a.Signature)) == 1 {
					return nil
				}
				if first == nil {
					first = &Error{Kind: ErrSignatureMismatch, Message: msgSignatureMismatch, CanonicalRequest: string(buf), StringToSign: sts}
				}
			}
		}
	}
	return first
}

func (c *canonical) request(b []byte, uri, host, payload string) []byte {
	b = append(b, c.r.Method...)
	b = append(b, '\n')
	b = append(b, uri...)
	b = append(b, '\n')
	b = append(b, c.query...)
	b = append(b, '\n')
	for _, name := range c.a.SignedHeaders {
		b = append(b, name...)
		b = append(b, ':')
		if name == "host" {
			b = appendTrimmed(b, host)
		} else {
			for i, v := range headerValues(c.r, name) {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendTrimmed(b, v)
			}
		}
		b = append(b, '\n')
	}
	b = append(b, '\n')
	for i, name := range c.a.SignedHeaders {
		if i > 0 {
			b = append(b, ';')
		}
		b = append(b, name...)
	}
	b = append(b, '\n')
	return append(b, payload...)
}

func (c *canonical) stringToSign(canonicalRequest []byte) string {
	sum := sha256.Sum256(canonicalRequest)
	return algorithm + "\n" + c.amzDate + "\n" +
		c.a.Date + "/" + c.a.Region + "/" + c.a.Service + "/" + terminator + "\n" +
		hex.EncodeToString(sum[:])
}

func signingKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, terminator)
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// headerValues returns the values of the named header as received. net/http
// keeps Content-Length in the header map but a hand-built request may only
// have r.ContentLength.
func headerValues(r *http.Request, name string) []string {
	if v, ok := r.Header[http.CanonicalHeaderKey(name)]; ok {
		return v
	}
	for k, v := range r.Header { // a key stored without canonicalisation
		if strings.EqualFold(k, name) {
			return v
		}
	}
	if name == "content-length" && r.ContentLength > 0 {
		return []string{strconv.FormatInt(r.ContentLength, 10)}
	}
	return nil
}

// appendTrimmed appends v without leading and trailing blanks and with runs
// of blanks collapsed to one space, as the spec's Trimall.
func appendTrimmed(b []byte, v string) []byte {
	v = strings.Trim(v, " \t")
	blank := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' || c == '\t' {
			blank = true
			continue
		}
		if blank {
			b = append(b, ' ')
			blank = false
		}
		b = append(b, c)
	}
	return b
}

// requestPath is the path exactly as the client sent it, still escaped.
func requestPath(r *http.Request) string {
	if u := r.RequestURI; strings.HasPrefix(u, "/") {
		if i := strings.IndexByte(u, '?'); i >= 0 {
			u = u[:i]
		}
		return u
	}
	if r.URL == nil {
		return "/"
	}
	return r.URL.EscapedPath()
}

func rawQuery(r *http.Request) string {
	if r.URL == nil {
		return ""
	}
	return r.URL.RawQuery
}

// canonicalURIs returns the canonical path: for S3 the path as sent; for
// other services the path with dot segments and empty segments removed, then
// escaped once more, as AWS and botocore do. The Go SDK does not normalise,
// so the unnormalised form is the fallback when it differs.
func canonicalURIs(path string, s3 bool) []string {
	if path == "" {
		path = "/"
	}
	if s3 {
		return []string{path}
	}
	norm, raw := escapePath(removeDotSegments(path)), escapePath(path)
	if norm == raw {
		return []string{norm}
	}
	return []string{norm, raw}
}

// removeDotSegments is RFC 3986 §5.2.4 plus the removal of empty segments,
// as botocore's remove_dot_segments.
func removeDotSegments(path string) string {
	var out []string
	for seg := range strings.SplitSeq(path, "/") {
		switch seg {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, seg)
		}
	}
	s := strings.Join(out, "/")
	if strings.HasPrefix(path, "/") {
		s = "/" + s
	}
	if strings.HasSuffix(path, "/") && len(out) > 0 {
		s += "/"
	}
	return s
}

// escapePath percent-encodes every byte but the unreserved ones and '/'.
func escapePath(s string) string {
	return escape(s, true)
}

func escape(s string, keepSlash bool) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) && !(keepSlash && s[i] == '/') {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hexUpper = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || keepSlash && c == '/' {
			b = append(b, c)
		} else {
			b = append(b, '%', hexUpper[c>>4], hexUpper[c&15])
		}
	}
	return string(b)
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// canonicalQuery sorts the parameters by encoded name, then value, with each
// name and value decoded and re-encoded in the spec's escaping (so a client
// that sent '+' for a space, or lower-case hex, still matches). For presigned
// requests X-Amz-Signature is left out.
func canonicalQuery(raw string, presigned bool) string {
	if raw == "" {
		return ""
	}
	type param struct{ k, v string }
	var params []param
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		p := param{canonicalQueryComponent(k), canonicalQueryComponent(v)}
		if presigned && p.k == "X-Amz-Signature" {
			continue
		}
		params = append(params, p)
	}
	slices.SortFunc(params, func(a, b param) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	var b strings.Builder
	for i, p := range params {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

func canonicalQueryComponent(s string) string {
	if strings.ContainsAny(s, "%+") {
		if u, err := url.QueryUnescape(s); err == nil {
			s = u
		}
	}
	return escape(s, false)
}

// hostVariants returns the Host as received and, when it names a default
// port, without it: the Go SDK and botocore drop ":80" and ":443" from the
// signed host, so a proxy that adds the port back breaks the match. They
// also sign an IPv6 literal without its brackets when they drop a port.
func hostVariants(r *http.Request) []string {
	host := r.Host
	if host == "" && r.URL != nil {
		host = r.URL.Host
	}
	hosts := []string{host}
	h := host
	for _, port := range []string{":80", ":443"} {
		if p, ok := strings.CutSuffix(host, port); ok && p != "" {
			h = p
			hosts = append(hosts, h)
			break
		}
	}
	if len(h) > 2 && h[0] == '[' && h[len(h)-1] == ']' {
		hosts = append(hosts, h[1:len(h)-1])
	}
	return hosts
}
