package sigv4_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/cairn-dev/cairn/internal/iam/sigv4"
)

func ExampleVerifier() {
	secrets := map[string]string{"AKIDEXAMPLE": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	v := &sigv4.Verifier{Lookup: func(_ context.Context, id string) (string, error) {
		s, ok := secrets[id]
		if !ok {
			return "", fmt.Errorf("access key %s: %w", id, sigv4.ErrUnknownAccessKey)
		}
		return s, nil
	}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		a, err := v.Verify(r.Context(), r, body)
		var e *sigv4.Error
		switch {
		case errors.As(err, &e):
			// Answer in the protocol's shape and status, e.g. for JSON 1.1
			// {"__type":"InvalidSignatureException","message":e.Message}.
			http.Error(w, e.Message, http.StatusForbidden)
			return
		case err != nil:
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%s called %s in %s", a.AccessKeyID, a.Service, a.Region) // route by a.Service
	})
	_ = http.ListenAndServe("127.0.0.1:4566", mux)
}
