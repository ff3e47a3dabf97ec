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

// A migration numbered below one already applied (a feature that landed later) still applies.
func TestMigrateAppliesGaps(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "meta.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DELETE FROM schema_migrations WHERE version = 1`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name) VALUES (999, 'later')`); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, db); err == nil {
		t.Fatal("re-applying 0001 over existing tables should fail, proving it was attempted")
	}
}
