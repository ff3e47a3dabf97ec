package importer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"
	"time"
)

// Ledger is what imports remember in the control-plane store (meta.sqlite, table
// import_files): which files were read, under which filters, how far, with what outcome.
type Ledger struct {
	db     *sql.DB
	target string

	mu   sync.Mutex
	rows *sql.Stmt // prepared once: parsing SQL costs more than running it
}

// NewLedger returns the ledger of imports into target: "" for the data directory db belongs
// to, or a server's endpoint (whose imports are remembered in a local state file).
func NewLedger(db *sql.DB, target string) *Ledger { return &Ledger{db: db, target: target} }

// Status of a file in the ledger.
const (
	StatusPartial = "partial" // a run was cut short while reading it
	StatusDone    = "done"
	StatusFailed  = "failed" // unreadable from some record on; Records were read before that
)

// Row is one file read under one filter.
type Row struct {
	Key    string
	Filter string
	Size   int64
	SHA256 string
	ETag   string
	// Records is how many of the file's leading records have a settled fate (recorded,
	// duplicate, rejected or filtered out). Every record of a done file.
	Records                                  int64
	Recorded, Duplicates, Rejected, Filtered int64
	Status                                   string
	Error                                    string
}

// Same reports whether the row describes this very content: same size and the same SHA-256,
// or the same S3 ETag.
func (r *Row) Same(size int64, sha256, etag string) bool {
	return r.Size == size && ((sha256 != "" && r.SHA256 == sha256) || (etag != "" && r.ETag == etag))
}

// Rows returns every row of a file.
func (l *Ledger) Rows(ctx context.Context, key string) ([]Row, error) {
	l.mu.Lock()
	if l.rows == nil {
		stmt, err := l.db.PrepareContext(ctx, `SELECT filter, size, sha256, etag, records, recorded, duplicates, rejected, filtered, status, error
			FROM import_files WHERE target = ? AND key = ?`)
		if err != nil {
			l.mu.Unlock()
			return nil, fmt.Errorf("import ledger: %w", err)
		}
		l.rows = stmt
	}
	stmt := l.rows
	l.mu.Unlock()
	rows, err := stmt.QueryContext(ctx, l.target, key)
	if err != nil {
		return nil, fmt.Errorf("import ledger: %w", err)
	}
	defer rows.Close()
	var out []Row
	for rows.Next() {
		r := Row{Key: key}
		if err := rows.Scan(&r.Filter, &r.Size, &r.SHA256, &r.ETag, &r.Records, &r.Recorded, &r.Duplicates, &r.Rejected, &r.Filtered, &r.Status, &r.Error); err != nil {
			return nil, fmt.Errorf("import ledger: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("import ledger: %w", err)
	}
	return out, nil
}

// Close releases the prepared statements.
func (l *Ledger) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rows != nil {
		return l.rows.Close()
	}
	return nil
}

// KeySet is a compact set of file keys: a run asks the ledger only about files it may know,
// since one query per file would cost more than reading a small file.
type KeySet struct{ hashes []uint64 }

func keyHash(key string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	return h.Sum64()
}

// MayHave reports whether key may be in the set (it is, or a hash collides).
func (s *KeySet) MayHave(key string) bool {
	_, ok := slices.BinarySearch(s.hashes, keyHash(key))
	return ok
}

// Keys returns the set of files the ledger holds, 8 bytes per file.
func (l *Ledger) Keys(ctx context.Context) (*KeySet, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT key FROM import_files WHERE target = ?`, l.target)
	if err != nil {
		return nil, fmt.Errorf("import ledger: %w", err)
	}
	defer rows.Close()
	s := &KeySet{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("import ledger: %w", err)
		}
		s.hashes = append(s.hashes, keyHash(k))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("import ledger: %w", err)
	}
	slices.Sort(s.hashes)
	return s, nil
}

// Mark returns the mark a run left (see import_marks), if one did.
func (l *Ledger) Mark(ctx context.Context) (seq uint64, ok bool, err error) {
	err = l.db.QueryRowContext(ctx, `SELECT after_seq FROM import_marks WHERE target = ?`, l.target).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("import ledger: %w", err)
	}
	return seq, true, nil
}

// markOp says what Save does with the mark.
type markOp int

const (
	markKeep markOp = iota
	markSet
	markClear
)

// ledgerChunk is how many rows one statement writes (14 parameters each; SQLite allows 32,766).
const ledgerChunk = 128

// upsertRows is the statement that writes n rows.
func upsertRows(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO import_files
		(target, key, filter, size, sha256, etag, records, recorded, duplicates, rejected, filtered, status, error, updated_at) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
	}
	b.WriteString(`
		ON CONFLICT (target, key, filter) DO UPDATE SET size = excluded.size, sha256 = excluded.sha256, etag = excluded.etag,
			records = excluded.records, recorded = excluded.recorded, duplicates = excluded.duplicates, rejected = excluded.rejected,
			filtered = excluded.filtered, status = excluded.status, error = excluded.error, updated_at = excluded.updated_at`)
	return b.String()
}

// Save writes rows and updates the mark in one transaction.
func (l *Ledger) Save(ctx context.Context, rows []Row, op markOp, mark uint64) error {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("import ledger: %w", err)
	}
	defer tx.Rollback()
	now := time.Now().UTC().Format(time.RFC3339)
	// Many rows to a statement: executing one costs far more than the row it writes.
	args := make([]any, 0, ledgerChunk*14)
	var full *sql.Stmt
	for len(rows) > 0 {
		n := min(len(rows), ledgerChunk)
		args = args[:0]
		for _, r := range rows[:n] {
			args = append(args, l.target, r.Key, r.Filter, r.Size, r.SHA256, r.ETag, r.Records,
				r.Recorded, r.Duplicates, r.Rejected, r.Filtered, r.Status, r.Error, now)
		}
		rows = rows[n:]
		var err error
		switch {
		case n < ledgerChunk:
			_, err = tx.ExecContext(ctx, upsertRows(n), args...)
		case full == nil:
			if full, err = tx.PrepareContext(ctx, upsertRows(n)); err != nil {
				return fmt.Errorf("import ledger: %w", err)
			}
			defer full.Close()
			fallthrough
		default:
			_, err = full.ExecContext(ctx, args...)
		}
		if err != nil {
			return fmt.Errorf("import ledger: %w", err)
		}
	}
	switch op {
	case markSet:
		if _, err := tx.ExecContext(ctx, `INSERT INTO import_marks (target, after_seq, started_at) VALUES (?, ?, ?)
			ON CONFLICT (target) DO UPDATE SET after_seq = excluded.after_seq`, l.target, mark, now); err != nil {
			return fmt.Errorf("import ledger: %w", err)
		}
	case markClear:
		if _, err := tx.ExecContext(ctx, `DELETE FROM import_marks WHERE target = ?`, l.target); err != nil {
			return fmt.Errorf("import ledger: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("import ledger: %w", err)
	}
	return nil
}
