// Package duck opens cairn's DuckDB database (cairn.duckdb), which holds event history and the
// Lake's event data stores. It fixes the settings every user of the file relies on: UTC, no
// extension downloads (this machine may be offline), bounded memory and threads.
package duck

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// Options bound DuckDB's resources. Zero values keep DuckDB's defaults.
type Options struct {
	MemoryLimit string // e.g. "1GB"
	Threads     int
	// NoExternalAccess opens the database with DuckDB's enable_external_access off: SQL can then
	// read no file (read_csv, read_text…), COPY, ATTACH, INSTALL or LOAD nothing. It holds for
	// the life of the database instance and cannot be turned back on.
	NoExternalAccess bool
	ReadOnly         bool
	// ConnInit are statements run on every new connection after cairn's settings, such as
	// temporary macros.
	ConnInit []string
}

// DB is an open DuckDB database.
type DB struct {
	*sql.DB
	connector *duckdb.Connector
}

// Open opens (or creates) the database at path; "" opens an in-memory database.
func Open(path string, opts Options) (*DB, error) {
	init := func(execer driver.ExecerContext) error {
		stmts := []string{
			"SET TimeZone = 'UTC'",
			"SET autoinstall_known_extensions = false",
			// DuckDB's allocator keeps freed memory for reuse; by default up to 128 MB per
			// thread, which held cairn's RSS 200-250 MB above its memory limits while the Lake
			// ingested. Returning it sooner cost nothing measurable.
			"SET allocator_flush_threshold = '32MB'",
			"SET allocator_background_threads = true",
		}
		if opts.MemoryLimit != "" {
			stmts = append(stmts, fmt.Sprintf("SET memory_limit = '%s'", opts.MemoryLimit))
		}
		if opts.Threads > 0 {
			stmts = append(stmts, fmt.Sprintf("SET threads = %d", opts.Threads))
		}
		stmts = append(stmts, opts.ConnInit...)
		for _, s := range stmts {
			if _, err := execer.ExecContext(context.Background(), s, nil); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	}
	// Settings that must hold before the first connection go in the DSN.
	var params []string
	if opts.NoExternalAccess {
		params = append(params, "enable_external_access=false")
	}
	if opts.ReadOnly {
		params = append(params, "access_mode=read_only")
	}
	dsn := path
	if len(params) > 0 {
		dsn += "?" + strings.Join(params, "&")
	}
	c, err := duckdb.NewConnector(dsn, init)
	if err != nil {
		return nil, fmt.Errorf("open duckdb %s: %w", path, err)
	}
	return &DB{DB: sql.OpenDB(c), connector: c}, nil
}

// Close closes the pool and the database file.
func (db *DB) Close() error {
	err := db.DB.Close()
	if cerr := db.connector.Close(); err == nil {
		err = cerr
	}
	return err
}
