package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Checkpoint file: magic | sequence uint64 | CRC-32C of the preceding 12 bytes.
const (
	checkpointDir   = "checkpoints"
	checkpointMagic = "CKP1"
	checkpointSize  = 16
	tmpPrefix       = ".tmp-"
	maxNameLen      = 128
)

// checkName accepts names made of letters, digits, '-', '_' and '.', not starting with '.'.
func checkName(name string) error {
	if name == "" || len(name) > maxNameLen || name[0] == '.' {
		return fmt.Errorf("journal: invalid checkpoint name %q", name)
	}
	for _, r := range name {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("journal: invalid checkpoint name %q", name)
		}
	}
	return nil
}

// Checkpoint returns the sequence last stored under name, or 0 if none was.
func (j *Journal) Checkpoint(name string) (uint64, error) {
	if err := checkName(name); err != nil {
		return 0, err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return 0, ErrClosed
	}
	return j.ckpts[name], nil
}

// SetCheckpoint durably records that the reader called name has applied every record up to seq.
// It writes a temporary file, fsyncs it, renames it into place and fsyncs the directory, so a crash
// leaves either the old or the new value. seq may not exceed LastSeq.
func (j *Journal) SetCheckpoint(name string, seq uint64) error {
	if err := checkName(name); err != nil {
		return err
	}
	if last := j.LastSeq(); seq > last {
		return fmt.Errorf("journal: set checkpoint %s to %d: beyond last sequence %d", name, seq, last)
	}
	j.ckptMu.Lock()
	defer j.ckptMu.Unlock()
	if j.isClosing() {
		return ErrClosed
	}
	if err := j.writeCheckpoint(name, seq); err != nil {
		return fmt.Errorf("journal: set checkpoint %s: %w", name, err)
	}
	j.mu.Lock()
	j.ckpts[name] = seq
	j.mu.Unlock()
	return nil
}

// DeleteCheckpoint removes a reader's checkpoint, so it no longer holds back Retain.
func (j *Journal) DeleteCheckpoint(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	j.ckptMu.Lock()
	defer j.ckptMu.Unlock()
	if j.isClosing() {
		return ErrClosed
	}
	dir := filepath.Join(j.dir, checkpointDir)
	if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("journal: delete checkpoint %s: %w", name, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("journal: delete checkpoint %s: %w", name, err)
	}
	j.mu.Lock()
	delete(j.ckpts, name)
	j.mu.Unlock()
	return nil
}

func (j *Journal) writeCheckpoint(name string, seq uint64) error {
	dir := filepath.Join(j.dir, checkpointDir)
	tmp := filepath.Join(dir, tmpPrefix+name)
	b := make([]byte, checkpointSize)
	copy(b, checkpointMagic)
	binary.LittleEndian.PutUint64(b[4:], seq)
	binary.LittleEndian.PutUint32(b[12:], crc32.Checksum(b[:12], castagnoli))

	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

// loadCheckpoints reads every checkpoint and removes temporary files a crash left behind.
func (j *Journal) loadCheckpoints() (map[string]uint64, error) {
	dir := filepath.Join(j.dir, checkpointDir)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	ckpts := make(map[string]uint64)
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, tmpPrefix) {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return nil, fmt.Errorf("remove temporary checkpoint %s: %w", name, err)
			}
			continue
		}
		if checkName(name) != nil || !e.Type().IsRegular() {
			j.log.Warn("journal: ignoring unexpected file among checkpoints", "file", name)
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read checkpoint %s: %w", name, err)
		}
		if len(b) != checkpointSize || string(b[:4]) != checkpointMagic ||
			binary.LittleEndian.Uint32(b[12:]) != crc32.Checksum(b[:12], castagnoli) {
			return nil, fmt.Errorf("checkpoint %s: %w: bad size, magic or checksum", name, ErrCorrupt)
		}
		ckpts[name] = binary.LittleEndian.Uint64(b[4:])
	}
	return ckpts, nil
}
