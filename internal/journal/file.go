package journal

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
)

// segmentFile is what the writer needs of the active segment. It is an interface so tests can
// inject write and fsync failures.
type segmentFile interface {
	WriteAt(p []byte, off int64) (int, error)
	Sync() error
	Truncate(size int64) error
	Close() error
}

// syncDir fsyncs a directory so that file creations, renames and removals in it are durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be fsynced there; NTFS journals metadata itself
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// createSegment creates the segment file for first, writes and fsyncs its header and fsyncs the
// directory. On failure it removes what it created.
func (j *Journal) createSegment(first uint64) (segmentFile, *segment, error) {
	name := segmentName(first)
	path := filepath.Join(j.dir, name)
	osf, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return nil, nil, fmt.Errorf("create segment %s: %w", name, err)
	}
	f := j.wrap(osf)
	fail := func(err error) (segmentFile, *segment, error) {
		f.Close()
		os.Remove(path)
		return nil, nil, fmt.Errorf("create segment %s: %w", name, err)
	}
	if _, err := f.WriteAt(encodeHeader(first), 0); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := syncDir(j.dir); err != nil {
		return fail(err)
	}
	seg := &segment{first: first, name: name, path: path, size: headerSize, last: first - 1, newest: math.MinInt64, newestKnown: true}
	return f, seg, nil
}

func (j *Journal) wrap(f *os.File) segmentFile {
	if j.opts.wrapFile != nil {
		return j.opts.wrapFile(f)
	}
	return f
}
