// Package awsproto holds the AWS wire protocols cairn speaks. This file: the JSON RPC protocols
// (awsJson1_0 and awsJson1_1), where the operation is named by X-Amz-Target and errors carry
// their shape name in the body's __type, which is the only place botocore reads it from.
package awsproto

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Error is an AWS error response: its exception shape name, message and HTTP status.
type Error struct {
	Code    string
	Message string
	Status  int
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns a client error (HTTP 400) with the given exception name.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

// Internal is the error for cairn's own failures; details stay in the server log.
func Internal(requestID string) *Error {
	return &Error{Code: "InternalFailure", Message: "The request processing has failed because of an unknown error, exception or failure. Request ID: " + requestID, Status: http.StatusInternalServerError}
}

// Target splits an X-Amz-Target value into service prefix and operation. Both spellings work:
// Smithy SDKs send "CloudTrail_20131101.LookupEvents", botocore sends
// "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents".
func Target(h string) (prefix, op string, ok bool) {
	i := strings.LastIndexByte(h, '.')
	if i <= 0 || i == len(h)-1 {
		return "", "", false
	}
	prefix = h[:i]
	if j := strings.LastIndexByte(prefix, '.'); j >= 0 {
		prefix = prefix[j+1:]
	}
	return prefix, h[i+1:], true
}

// WriteJSON writes a successful JSON RPC response.
func WriteJSON(w http.ResponseWriter, version string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-amz-json-"+version)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(body)
	return err
}

// WriteJSONError writes e in the JSON protocols' error shape.
func WriteJSONError(w http.ResponseWriter, version string, e *Error) {
	body, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{e.Code, e.Message})
	w.Header().Set("Content-Type", "application/x-amz-json-"+version)
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	w.Write(body)
}

// Timestamp is a JSON protocol timestamp: epoch seconds, possibly fractional.
type Timestamp struct{ time.Time }

// UnmarshalJSON accepts a number of epoch seconds (the protocol) or an RFC 3339 string (lenient).
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		return nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e11 {
			return fmt.Errorf("timestamp %s is out of range", s)
		}
		sec, frac := math.Modf(f)
		t.Time = time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC()
		return nil
	}
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return fmt.Errorf("timestamp %s is neither epoch seconds nor a string", s)
	}
	v, err := time.Parse(time.RFC3339Nano, str)
	if err != nil {
		return fmt.Errorf("timestamp %q is not epoch seconds or RFC 3339", str)
	}
	t.Time = v.UTC()
	return nil
}

// MarshalJSON writes epoch seconds, with a fraction only when there is one.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	if t.Nanosecond() == 0 {
		return []byte(strconv.FormatInt(t.Unix(), 10)), nil
	}
	return []byte(strconv.FormatFloat(float64(t.UnixNano())/1e9, 'f', -1, 64)), nil
}

// DecodeJSON decodes a JSON RPC request body into v. An empty body is an empty object, as
// clients send for operations without input. Errors are SerializationException, naming the
// member that is wrong where the decoder knows it.
func DecodeJSON(body []byte, v any) *Error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return Errorf("SerializationException", "Member %s: expected %s, got JSON %s.", te.Field, te.Type, te.Value)
		}
		return Errorf("SerializationException", "The request body is not valid JSON for this operation: %v.", err)
	}
	return nil
}
