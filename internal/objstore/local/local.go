// Package local is the embedded object store: one directory per bucket under a root, each object
// a file at its key's path and, if it has user metadata, a JSON file beside it
// (".<name>.cairn-meta", which globs such as *.json.gz do not match, so other tools can read
// the tree). Objects moved to the colder tier live under a separate root with the same layout;
// Get and List see both tiers.
package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cairn-dev/cairn/internal/objstore"
)

const (
	metaSuffix = ".cairn-meta"
	tmpPrefix  = ".cairn-tmp."
)

// reserved reports whether a file or key segment name is one of cairn's own files.
func reserved(name string) bool {
	return strings.HasPrefix(name, tmpPrefix) || (strings.HasPrefix(name, ".") && strings.HasSuffix(name, metaSuffix))
}

// Store is a directory-backed object store.
type Store struct {
	root, cold string
}

// New returns a store of buckets under root, with the colder tier under cold.
func New(root, cold string) (*Store, error) {
	for _, d := range []string{root, cold} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("object store: %w", err)
		}
	}
	return &Store{root: root, cold: cold}, nil
}

// Describe implements objstore.Store.
func (s *Store) Describe() string { return "local:" + s.root }

// checkKey refuses keys that cannot map to a path safely: empty or "."/".." segments, and
// names cairn reserves for its own files.
func checkKey(key string) error {
	if key == "" || len(key) > 1024 {
		return fmt.Errorf("%w: %q must be 1 to 1024 bytes", objstore.ErrInvalidKey, key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." || reserved(seg) || strings.ContainsRune(seg, 0) {
			return fmt.Errorf("%w: %q has an empty, '.', '..' or reserved path segment", objstore.ErrInvalidKey, key)
		}
	}
	return nil
}

func (s *Store) bucketDir(root, bucket string) string { return filepath.Join(root, bucket) }

func (s *Store) path(root, bucket, key string) string {
	return filepath.Join(root, bucket, filepath.FromSlash(key))
}

func metaPath(p string) string {
	return filepath.Join(filepath.Dir(p), "."+filepath.Base(p)+metaSuffix)
}

// CreateBucket implements objstore.Store.
func (s *Store) CreateBucket(ctx context.Context, bucket string) error {
	if err := objstore.ValidBucketName(bucket); err != nil {
		return err
	}
	if err := os.MkdirAll(s.bucketDir(s.root, bucket), 0o750); err != nil {
		return fmt.Errorf("create bucket %s: %w", bucket, err)
	}
	return nil
}

// BucketExists implements objstore.Store.
func (s *Store) BucketExists(ctx context.Context, bucket string) (bool, error) {
	if objstore.ValidBucketName(bucket) != nil {
		return false, nil
	}
	st, err := os.Stat(s.bucketDir(s.root, bucket))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return st.IsDir(), nil
}

func (s *Store) requireBucket(bucket string) error {
	ok, err := s.BucketExists(context.Background(), bucket)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: %s", objstore.ErrNoSuchBucket, bucket)
	}
	return nil
}

// Put implements objstore.Store: metadata first, then the object, each written to a temporary
// file, fsynced and renamed into place.
func (s *Store) Put(ctx context.Context, bucket, key string, body []byte, meta map[string]string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := s.requireBucket(bucket); err != nil {
		return err
	}
	p := s.path(s.root, bucket, key)
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", bucket, key, err)
	}
	if len(meta) > 0 {
		m := map[string]string{}
		for k, v := range meta {
			m[strings.ToLower(k)] = v
		}
		mb, _ := json.Marshal(m)
		if err := writeAtomic(metaPath(p), mb); err != nil {
			return fmt.Errorf("put s3://%s/%s: metadata: %w", bucket, key, err)
		}
	} else if err := os.Remove(metaPath(p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("put s3://%s/%s: metadata: %w", bucket, key, err)
	}
	if err := writeAtomic(p, body); err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", bucket, key, err)
	}
	// A colder copy of an overwritten object must not shadow it.
	removeObject(s.path(s.cold, bucket, key))
	return syncDir(filepath.Dir(p))
}

func writeAtomic(path string, data []byte) error {
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := filepath.Join(filepath.Dir(path), tmpPrefix+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Get implements objstore.Store.
func (s *Store) Get(ctx context.Context, bucket, key string) (io.ReadCloser, objstore.Object, error) {
	if err := checkKey(key); err != nil {
		return nil, objstore.Object{}, fmt.Errorf("%w: %v", objstore.ErrNotFound, err)
	}
	if err := s.requireBucket(bucket); err != nil {
		return nil, objstore.Object{}, err
	}
	for _, root := range []string{s.root, s.cold} {
		p := s.path(root, bucket, key)
		f, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrInvalid) {
			continue
		}
		if err != nil {
			return nil, objstore.Object{}, fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
		}
		st, err := f.Stat()
		if err != nil || st.IsDir() {
			f.Close()
			continue
		}
		o := objstore.Object{Key: key, Size: st.Size(), Modified: st.ModTime(), Cold: root == s.cold, Metadata: map[string]string{}}
		if mb, err := os.ReadFile(metaPath(p)); err == nil {
			json.Unmarshal(mb, &o.Metadata)
		}
		return f, o, nil
	}
	return nil, objstore.Object{}, fmt.Errorf("get s3://%s/%s: %w", bucket, key, objstore.ErrNotFound)
}

// List implements objstore.Store. It reads the directories under the prefix and sorts the
// keys, since S3's order ('-' and '.' sort before '/') is not a directory walk's.
func (s *Store) List(ctx context.Context, bucket, prefix, marker string, fn func(objstore.Object) bool) error {
	if err := s.requireBucket(bucket); err != nil {
		return err
	}
	var objs []objstore.Object
	for _, root := range []string{s.root, s.cold} {
		base := s.bucketDir(root, bucket)
		start := base
		if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
			start = filepath.Join(base, filepath.FromSlash(prefix[:i]))
		}
		err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if reserved(d.Name()) || d.IsDir() {
				return nil
			}
			rel, err := filepath.Rel(base, p)
			if err != nil {
				return err
			}
			key := filepath.ToSlash(rel)
			if !strings.HasPrefix(key, prefix) || key <= marker {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return nil // removed meanwhile
			}
			objs = append(objs, objstore.Object{Key: key, Size: info.Size(), Modified: info.ModTime(), Cold: root == s.cold})
			return nil
		})
		if err != nil {
			return fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err)
		}
	}
	slices.SortFunc(objs, func(a, b objstore.Object) int { return strings.Compare(a.Key, b.Key) })
	for i, o := range objs {
		if i > 0 && objs[i-1].Key == o.Key {
			continue // in both tiers during a transition: the same object
		}
		if !fn(o) {
			return nil
		}
	}
	return nil
}

// Delete implements objstore.Store.
func (s *Store) Delete(ctx context.Context, bucket, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := s.requireBucket(bucket); err != nil {
		return err
	}
	for _, root := range []string{s.root, s.cold} {
		if err := removeObject(s.path(root, bucket, key)); err != nil {
			return fmt.Errorf("delete s3://%s/%s: %w", bucket, key, err)
		}
	}
	return nil
}

func removeObject(p string) error {
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Remove(metaPath(p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Transition implements objstore.Store: the object and its metadata move to the cold root.
func (s *Store) Transition(ctx context.Context, bucket, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	src, dst := s.path(s.root, bucket, key), s.path(s.cold, bucket, key)
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return err
	}
	if err := os.Rename(metaPath(src), metaPath(dst)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Rename(src, dst); err != nil {
		return fmt.Errorf("transition s3://%s/%s: %w", bucket, key, err)
	}
	return syncDir(filepath.Dir(dst))
}
