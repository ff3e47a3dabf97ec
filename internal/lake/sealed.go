package lake

import (
	"context"
	"database/sql/driver"
	"fmt"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// An encrypted store (one created with a KmsKeyId) keeps each record sealed with the store's data
// key (AES-256-GCM, the store ID as associated data) in a table of (eventtime, eventcategory,
// sealed). Only those two columns are in the clear, so time-bounded queries still skip old row
// groups. Queries read a view that decrypts each record with lake_open, a function implemented in
// Go that holds the keys, and parses the columns a query uses from it. That costs a decryption and
// a JSON parse per row and column read, where a plain store reads stored columns: the price of the
// data being unreadable without the key (docs/benchmarks.md has figures).

// openFunc is the name of the decrypting function. Queries may not call it (lakesql refuses
// names starting with lakesql.InternalPrefix); views of encrypted stores do.
const openFunc = "lake_open"

type openUDF struct{ l *Lake }

func (f openUDF) Config() duckdb.ScalarFuncConfig {
	varchar, _ := duckdb.NewTypeInfo(duckdb.TYPE_VARCHAR)
	blob, _ := duckdb.NewTypeInfo(duckdb.TYPE_BLOB)
	return duckdb.ScalarFuncConfig{InputTypeInfos: []duckdb.TypeInfo{varchar, blob}, ResultTypeInfo: varchar}
}

func (f openUDF) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{RowExecutor: func(v []driver.Value) (any, error) {
		id, _ := v[0].(string)
		sealed, _ := v[1].([]byte)
		aead, ok := f.l.dataKey(id)
		if !ok {
			return nil, fmt.Errorf("event data store %s is encrypted and its KMS key is not available to this cairn", id)
		}
		plain, err := open(aead, sealed, []byte(id))
		if err != nil {
			return nil, fmt.Errorf("a record of event data store %s does not decrypt with its key: it was altered or belongs elsewhere", id)
		}
		return string(plain), nil
	}}
}

// registerOpen makes lake_open available to every connection of the Lake database.
func registerOpen(ctx context.Context, l *Lake) error {
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := duckdb.RegisterScalarUDF(conn, openFunc, openUDF{l}); err != nil {
		return fmt.Errorf("lake: register %s: %w", openFunc, err)
	}
	return nil
}

// sealedProjection is the view of an encrypted store in the store's schema.
func sealedProjection(s *Store) string {
	src := fmt.Sprintf("(SELECT eventtime, eventcategory, %s('%s', sealed) AS eventjson FROM main.%s)", openFunc, s.ID, s.sealedTable())
	return projection(s.Kind, src, true)
}
