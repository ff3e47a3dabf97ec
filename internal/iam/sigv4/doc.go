// Package sigv4 verifies AWS Signature Version 4 on incoming requests, so that
// the aws CLI and the SDKs can talk to cairn unchanged.
//
// Verify rebuilds the canonical request from the request exactly as received:
// the raw path and query, and only the headers the client listed. It does not
// re-sign a copy with aws-sdk-go-v2's signer, which is written for clients: it
// always signs X-Amz-Date (botocore may sign Date instead), signs Content-Length
// whenever there is a body, cannot sign some headers other clients may sign
// (User-Agent, Expect) and strips default ports. That signer and botocore serve
// as the oracles in the tests instead.
//
// Failures carry AWS's own error text; see the sentinel errors for the codes.
// Not supported: streaming payloads (aws-chunked, STREAMING-*) and SigV4a.
package sigv4
