package sigv4

import "errors"

// Sentinel errors, for use with errors.Is. Verify and Parse return them wrapped
// in an *Error carrying AWS's own message text. Each maps to one AWS error; the
// names differ by protocol (JSON protocols / query protocol):
//
//	ErrMissingAuthentication  MissingAuthenticationTokenException / MissingAuthenticationToken
//	ErrIncompleteSignature    IncompleteSignatureException        / IncompleteSignature
//	ErrUnknownAccessKey       UnrecognizedClientException         / InvalidClientTokenId
//	ErrSignatureMismatch      InvalidSignatureException           / SignatureDoesNotMatch
//	ErrSignatureExpired       InvalidSignatureException           / SignatureDoesNotMatch
//
// ErrSignatureExpired must keep AWS's code and its "Signature expired" wording:
// the SDKs recognise it and correct their clock skew before retrying.
var (
	// ErrMissingAuthentication: no Authorization header and no X-Amz-Algorithm
	// query parameter.
	ErrMissingAuthentication = errors.New("sigv4: missing authentication token")

	// ErrIncompleteSignature: the authorization is malformed or incomplete,
	// uses an unsupported algorithm, or lacks a usable request date.
	ErrIncompleteSignature = errors.New("sigv4: incomplete signature")

	// ErrUnknownAccessKey: no secret for the access key ID. SecretLookup
	// implementations return an error wrapping it.
	ErrUnknownAccessKey = errors.New("sigv4: unknown access key")

	// ErrSignatureMismatch: the signature does not match the request, or
	// cannot: a wrong secret, an altered request, a credential scope that does
	// not fit the request, or an unsigned Host header. AWS answers all of these
	// with InvalidSignatureException.
	ErrSignatureMismatch = errors.New("sigv4: signature mismatch")

	// ErrSignatureExpired: the signing time is further from now than the
	// allowed clock skew, or a presigned URL is past its expiry.
	ErrSignatureExpired = errors.New("sigv4: signature expired")
)

// Error is a verification failure: Kind is one of the sentinels above and
// Message is the text AWS returns for the same failure.
type Error struct {
	Kind    error
	Message string

	// CanonicalRequest and StringToSign are what the server computed, set only
	// when a signature does not match. AWS JSON services append them to the
	// message ("The Canonical String for this request should have been …") so
	// that a client can diff them against its own; they contain nothing secret.
	CanonicalRequest string
	StringToSign     string
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Kind }

func newError(kind error, msg string) *Error { return &Error{Kind: kind, Message: msg} }

// AWS's wording for the fixed messages.
const (
	msgMissingAuthentication = "Missing Authentication Token"
	msgUnknownAccessKey      = "The security token included in the request is invalid."
	msgSignatureMismatch     = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgContentSHA256Mismatch = "The provided 'x-amz-content-sha256' header does not match what was computed."
	msgHostNotSigned         = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
	msgBothAuthMechanisms    = "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."
	msgPresignExpired        = "Request has expired"
	msgPresignNotYetValid    = "Request is not valid yet"
)
