package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/cairn-dev/cairn/internal/objstore/local"
)

// A Source is where files come from: a local file or directory tree, or an S3 prefix.
type Source interface {
	// Walk calls fn with each file, in key order. Files whose names say they are not JSON
	// logs are passed with Ignore set, so they can be counted and named.
	Walk(ctx context.Context, fn func(Object) error) error
	// Open opens a file for reading and returns its user metadata (S3 only; digest
	// signatures live there).
	Open(ctx context.Context, o Object) (io.ReadCloser, map[string]string, error)
	String() string
}

// Object is one file of a source.
type Object struct {
	// Name is how reports name the file: its path, or s3://bucket/key.
	Name string
	// Key is the file's slash-separated path or S3 key, in which CloudTrail's layout
	// (…/AWSLogs/<account>/CloudTrail/…) is recognised.
	Key string
	// ID names the file where CloudTrail's layout does not: its absolute path or s3:// URL.
	ID   string
	Size int64
	ETag string // S3 only, without quotes
	// Ignore is set for files a directory walk met that are not JSON logs by name.
	Ignore bool
	src    Source
}

// Open opens o from its source.
func (o Object) Open(ctx context.Context) (io.ReadCloser, map[string]string, error) {
	return o.src.Open(ctx, o)
}

// logExtensions are the file names a directory walk imports.
var logExtensions = []string{".json.gz", ".json", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz"}

func isLogName(name string) bool {
	if strings.HasPrefix(name, ".") {
		return false
	}
	for _, ext := range logExtensions {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// Local is a file or a directory tree on disk.
type Local struct {
	path string
}

// NewLocal returns the source for path, which must exist.
func NewLocal(path string) (*Local, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("source %s: %w", path, err)
	}
	return &Local{path: path}, nil
}

func (l *Local) String() string { return l.path }

// Walk visits a directory tree in lexical order, or the file itself. A file named on its own
// is imported whatever its name.
func (l *Local) Walk(ctx context.Context, fn func(Object) error) error {
	abs, err := filepath.Abs(l.path)
	if err != nil {
		return fmt.Errorf("source %s: %w", l.path, err)
	}
	fi, err := os.Stat(l.path)
	if err != nil {
		return fmt.Errorf("source %s: %w", l.path, err)
	}
	if !fi.IsDir() {
		return fn(Object{Name: l.path, Key: filepath.ToSlash(abs), ID: abs, Size: fi.Size(), src: l})
	}
	return filepath.WalkDir(l.path, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("walk %s: %w", path, err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			if path != l.path && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir // .git, .Trash and the like
			}
			return nil
		}
		if !d.Type().IsRegular() || local.Reserved(d.Name()) {
			return nil // cairn's object store's own files: metadata is read with its object
		}
		rel, err := filepath.Rel(l.path, path)
		if err != nil {
			return err
		}
		full := filepath.Join(abs, rel)
		o := Object{Name: path, Key: filepath.ToSlash(full), ID: full, src: l, Ignore: !isLogName(d.Name())}
		if !o.Ignore {
			info, err := d.Info()
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking
			}
			if err != nil {
				return fmt.Errorf("walk %s: %w", path, err)
			}
			o.Size = info.Size()
		}
		return fn(o)
	})
}

// Open opens a local file. A digest's user metadata is read from where cairn's local object
// store keeps it, so that digests cairn delivered to disk keep their signatures; other copies
// on disk have none.
func (l *Local) Open(_ context.Context, o Object) (io.ReadCloser, map[string]string, error) {
	f, err := os.Open(o.Name)
	if err != nil {
		return nil, nil, err
	}
	return f, l.metadata(o), nil
}

// ReadAll reads a local file whole into buf, reusing its capacity, and stops after limit+1
// bytes. Errors are *fs.PathError, saying whether opening or reading failed.
func (l *Local) ReadAll(o Object, buf []byte, limit int64) ([]byte, map[string]string, error) {
	buf, err := readFile(o.Name, buf, limit)
	if err != nil {
		return buf, nil, err
	}
	return buf, l.metadata(o), nil
}

func (l *Local) metadata(o Object) map[string]string {
	if !strings.Contains(o.Key, "/CloudTrail-Digest/") {
		return nil
	}
	var meta map[string]string
	if b, err := os.ReadFile(local.MetadataPath(o.Name)); err == nil {
		if json.Unmarshal(b, &meta) != nil {
			meta = nil
		}
	}
	return meta
}
