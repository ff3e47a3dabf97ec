package awsproto

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// The restJson1 protocol (cloudtrail-data): the operation is the HTTP method and path, inputs are
// in the path, query string and a JSON body, and an error's shape name travels in the
// X-Amzn-ErrorType header and the body's __type (botocore reads either).

// WriteRESTJSON writes a successful restJson1 response.
func WriteRESTJSON(w http.ResponseWriter, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(body)
	return err
}

// WriteRESTJSONError writes e in the restJson1 error shape.
func WriteRESTJSONError(w http.ResponseWriter, e *Error) {
	body, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{e.Code, e.Message})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	w.Write(body)
}
