package meta

import (
	"context"
	"path/filepath"
	"testing"
)

func TestMigrateIsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.sqlite")
	for i := 0; i < 2; i++ {
		db, err := Open(context.Background(), path)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n == 0 {
			t.Fatalf("migrations recorded: %d, %v", n, err)
		}
		if _, err := db.Exec(`INSERT INTO accounts (id, created_at) VALUES ('12345678901', 'x')`); err == nil {
			t.Error("11-digit account ID accepted")
		}
		db.Close()
	}
}
