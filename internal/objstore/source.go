package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/cairn-dev/cairn/internal/integrity"
)

// Source adapts a Store to the validation walk's object source.
type Source struct{ Store Store }

// List implements integrity.Source.
func (s Source) List(ctx context.Context, bucket, prefix, marker string, fn func(string) bool) error {
	return s.Store.List(ctx, bucket, prefix, marker, func(o Object) bool { return fn(o.Key) })
}

// Get implements integrity.Source.
func (s Source) Get(ctx context.Context, bucket, key string) (io.ReadCloser, map[string]string, error) {
	body, o, err := s.Store.Get(ctx, bucket, key)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, fmt.Errorf("%w: %v", integrity.ErrNotFound, err)
	}
	if err != nil {
		return nil, nil, err
	}
	return body, o.Metadata, nil
}
