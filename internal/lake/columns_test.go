package lake

import (
	"context"
	"database/sql/driver"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/cairn-dev/cairn/internal/duck"
	"github.com/cairn-dev/cairn/internal/event"
	"github.com/cairn-dev/cairn/internal/gen"
)

// TestColumnsMatchJSONTransform stores the same events through rowValues and through
// json_transform, and requires identical rows: Go's conversion must not change what is stored.
// It also requires Go to take the generated traffic itself, not leave it to SQL.
func TestColumnsMatchJSONTransform(t *testing.T) {
	var events []string
	g := gen.New(gen.Config{Seed: 7})
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	g.Spread(3000, end.Add(-24*time.Hour), end, func(raw []byte) error {
		events = append(events, string(raw))
		return nil
	})
	generated := len(events)
	b, err := os.ReadFile("testdata/events.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	events = append(events, strings.Split(strings.TrimSpace(string(b)), "\n")...)
	base := `"eventVersion":"1.08","eventTime":"2023-01-22T10:00:00Z","eventName":"X"`
	for _, tricky := range []string{
		`"requestParameters":{"n":1,"f":1.50,"e":1e5,"z":-0,"big":123456789012345678901234,"b":true,"nil":null,"o":{"s":"a\/b \u00e9\t\u0001\"","l":[1,{"x":[]}, "q"]}}`,
		`"requestParameters":{"k":"x","k":"y"}`,
		`"requestParameters":{"o":{"s":"a\/b \u00e9\t\u0001\"\b\f\r\n\u001f\\","l":[1,-2,0,{"x":[]},"q",true,null]},"k":"v"},"responseElements":{}`,
		`"requestParameters":"not an object","responseElements":[1,2],"additionalEventData":{}`,
		`"userIdentity":"text"`,
		`"userIdentity":{"type":"AssumedRole","sessionContext":{"attributes":{"creationDate":"2023-01-22T09:00:00Z","mfaAuthenticated":"false"}}}`,
		`"userIdentity":{"sessionContext":{"attributes":{"creationDate":"2023-01-22T09:00:00.123456789Z"}}}`,
		`"userIdentity":{"sessionContext":{"attributes":{"creationDate":"2023-01-22T09:00:00+02:00"}}}`,
		`"userIdentity":{"sessionContext":{"attributes":{"creationDate":"2023-01-22T09:00:00.5Z"}}}`,
		`"readOnly":"true","managementEvent":1`,
		`"readOnly":true,"managementEvent":false,"resources":[{"ARN":"arn:1","accountId":"1"},null,{"type":"T"}]`,
		`"resources":{"ARN":"x"}`,
		`"resources":["x"]`,
		`"eventSource":"a\ud83d\ude00b","errorMessage":"line\nnext \u2028 \u007f"`,
		`"eventName":"Y","eventName":"Z","awsRegion":"us-east-1"`,
		`"tlsDetails":{},"edgeDeviceDetails":{"a":{"b":[true,false,null]}}`,
		`"sessionCredentialFromConsole":true,"apiVersion":42`,
		`"insightDetails":{"state":"Start","insightContext":{"statistics":{"baseline":{"average":0.0123}}}}`,
	} {
		events = append(events, "{"+base+","+tricky+"}")
	}

	ctx := context.Background()
	db, err := duck.Open("", duck.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{"CREATE TABLE viago (" + columnDefs(KindEvents) + ")", "CREATE TABLE viasql (" + columnDefs(KindEvents) + ")", stagingSQL} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	viaSQL := 0
	err = conn.Raw(func(dc any) error {
		app, err := duckdb.NewAppender(dc.(driver.Conn), "", "main", "viago")
		if err != nil {
			return err
		}
		staging, err := duckdb.NewAppender(dc.(driver.Conn), "temp", "main", "lake_staging")
		if err != nil {
			return err
		}
		for i, raw := range events {
			var et any
			var category string
			if rec, err := event.Parse([]byte(raw)); err == nil {
				et, category = rec.EventTime, rec.Category()
			}
			if err := staging.AppendRow(et, category, raw); err != nil {
				return err
			}
			vals, ok := rowValues(KindEvents, []byte(raw), et, category)
			if !ok {
				viaSQL++
				if i < generated {
					t.Errorf("generated event %d left to SQL: %s", i, raw)
				}
				continue
			}
			if err := app.AppendRow(vals...); err != nil {
				return fmt.Errorf("event %d: %w", i, err)
			}
		}
		if err := staging.Close(); err != nil {
			return err
		}
		return app.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	src := `(SELECT eventtime, eventcategory, eventjson FROM lake_staging)`
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`INSERT INTO viasql (%s) %s`, columnNames(KindEvents), projection(KindEvents, src, false))); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.QueryContext(ctx, `SELECT CAST(a AS VARCHAR), CAST(b AS VARCHAR) FROM viago a LEFT JOIN viasql b ON a.eventjson = b.eventjson`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var a, b *string
		if err := rows.Scan(&a, &b); err != nil {
			t.Fatal(err)
		}
		if a == nil || b == nil || *a != *b {
			t.Errorf("event %d differs:\nGo:  %v\nSQL: %v", n, deref(a), deref(b))
		}
		n++
	}
	if n != len(events)-viaSQL {
		t.Fatalf("compared %d rows, want %d", n, len(events)-viaSQL)
	}
	t.Logf("%d events, %d left to SQL", len(events), viaSQL)
}

func deref(s *string) string {
	if s == nil {
		return "<missing>"
	}
	return *s
}
