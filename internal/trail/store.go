package trail

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Limits are AWS's trail quotas, as configurable defaults.
type Limits struct {
	TrailsPerRegion int // default 5
	TagsPerResource int // default 50
}

func (l *Limits) setDefaults() {
	if l.TrailsPerRegion <= 0 {
		l.TrailsPerRegion = 5
	}
	if l.TagsPerResource <= 0 {
		l.TagsPerResource = 50
	}
}

// Store keeps trails in the control-plane database.
type Store struct {
	db     *sql.DB
	limits Limits
	now    func() time.Time
}

// NewStore returns a store over the control-plane database.
func NewStore(db *sql.DB, limits Limits) *Store {
	limits.setDefaults()
	return &Store{db: db, limits: limits, now: time.Now}
}

const trailColumns = `arn, account_id, home_region, name, config, created_at`

func scanTrail(sc interface{ Scan(...any) error }) (*Trail, error) {
	t := &Trail{}
	var config, created string
	if err := sc.Scan(&t.ARN, &t.Account, &t.HomeRegion, &t.Name, &config, &created); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(config), t); err != nil {
		return nil, fmt.Errorf("trail %s: stored configuration is damaged: %w", t.ARN, err)
	}
	t.Created, _ = time.Parse(time.RFC3339Nano, created)
	return t, nil
}

// loadLogging fills the logging periods of trails.
func (s *Store) loadLogging(ctx context.Context, trails ...*Trail) error {
	for _, t := range trails {
		t.Logging = nil
		rows, err := s.db.QueryContext(ctx, `SELECT started_at, stopped_at FROM trail_logging WHERE arn = ? ORDER BY started_at`, t.ARN)
		if err != nil {
			return fmt.Errorf("read logging periods of %s: %w", t.ARN, err)
		}
		for rows.Next() {
			var start int64
			var stop sql.NullInt64
			if err := rows.Scan(&start, &stop); err != nil {
				rows.Close()
				return err
			}
			p := Period{Start: time.Unix(0, start).UTC()}
			if stop.Valid {
				p.Stop = time.Unix(0, stop.Int64).UTC()
			}
			t.Logging = append(t.Logging, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) query(ctx context.Context, where string, args ...any) ([]*Trail, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+trailColumns+` FROM trails `+where+` ORDER BY home_region, name`, args...)
	if err != nil {
		return nil, fmt.Errorf("read trails: %w", err)
	}
	var out []*Trail
	for rows.Next() {
		t, err := scanTrail(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, s.loadLogging(ctx, out...)
}

// All returns every trail.
func (s *Store) All(ctx context.Context) ([]*Trail, error) { return s.query(ctx, "") }

// ByAccount returns the account's trails in every region.
func (s *Store) ByAccount(ctx context.Context, account string) ([]*Trail, error) {
	return s.query(ctx, "WHERE account_id = ?", account)
}

// InRegion returns the account's trails visible in region: those whose home it is and, with
// shadows, multi-region trails homed elsewhere.
func (s *Store) InRegion(ctx context.Context, account, region string, shadows bool) ([]*Trail, error) {
	all, err := s.ByAccount(ctx, account)
	if err != nil {
		return nil, err
	}
	var out []*Trail
	for _, t := range all {
		if t.HomeRegion == region || (shadows && t.IsMultiRegionTrail) {
			out = append(out, t)
		}
	}
	return out, nil
}

// Resolve finds the trail a request names, by name or ARN, as seen by account from region.
// Trails homed in another region are found by ARN, or by name when they are multi-region
// (shadow trails). home requires the call to be made in the trail's home region, as every
// change must be.
func (s *Store) Resolve(ctx context.Context, account, region, nameOrARN string, home bool) (*Trail, error) {
	if nameOrARN == "" {
		return nil, errorf(ErrInvalidName, "Trail name or ARN can't be empty.")
	}
	var trails []*Trail
	var err error
	if strings.HasPrefix(nameOrARN, "arn:") {
		if _, _, _, err := ParseARN(nameOrARN); err != nil {
			return nil, err
		}
		trails, err = s.query(ctx, "WHERE arn = ? AND account_id = ?", nameOrARN, account)
	} else {
		if err := CheckName(nameOrARN); err != nil {
			return nil, err
		}
		trails, err = s.query(ctx, "WHERE name = ? AND account_id = ? AND home_region = ?", nameOrARN, account, region)
		if err == nil && len(trails) == 0 {
			var all []*Trail
			all, err = s.query(ctx, "WHERE name = ? AND account_id = ?", nameOrARN, account)
			for _, t := range all {
				if t.IsMultiRegionTrail {
					trails = append(trails, t)
				}
			}
		}
	}
	if err != nil {
		return nil, err
	}
	if len(trails) == 0 {
		return nil, errorf(ErrNotFound, "Unknown trail: %s for the user: %s", nameOrARN, account)
	}
	t := trails[0]
	if home && t.HomeRegion != region {
		return nil, errorf(ErrInvalidHomeRegion, "This operation must be called from the trail's home region, %s.", t.HomeRegion)
	}
	return t, nil
}

// Create stores a new trail with its tags. The trail is not logging until StartLogging.
func (s *Store) Create(ctx context.Context, t *Trail, tags []Tag) error {
	if len(tags) > s.limits.TagsPerResource {
		return errorf(ErrTagsLimit, "The number of tags (%d) exceeds the limit of %d per trail.", len(tags), s.limits.TagsPerResource)
	}
	if err := CheckTags(tags); err != nil {
		return err
	}
	existing, err := s.ByAccount(ctx, t.Account)
	if err != nil {
		return err
	}
	inRegion := 0
	for _, e := range existing {
		if e.Name == t.Name && (e.HomeRegion == t.HomeRegion || e.IsMultiRegionTrail || t.IsMultiRegionTrail) {
			return errorf(ErrAlreadyExists, "Trail %s already exists for customer: %s", t.Name, t.Account)
		}
		if e.HomeRegion == t.HomeRegion || e.IsMultiRegionTrail {
			inRegion++
		}
	}
	if inRegion >= s.limits.TrailsPerRegion {
		return errorf(ErrMaxTrails, "User: %s already has %d trails in %s.", t.Account, inRegion, t.HomeRegion)
	}
	t.ARN = ARN(t.HomeRegion, t.Account, t.Name)
	t.Created = s.now().UTC()
	config, err := json.Marshal(t)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO trails (`+trailColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
		t.ARN, t.Account, t.HomeRegion, t.Name, string(config), t.Created.Format(time.RFC3339Nano)); err != nil {
		return fmt.Errorf("create trail %s: %w", t.ARN, err)
	}
	for _, tag := range tags {
		if _, err := tx.ExecContext(ctx, `INSERT INTO trail_tags (arn, key, value) VALUES (?, ?, ?)`, t.ARN, tag.Key, tag.Value); err != nil {
			return fmt.Errorf("tag trail %s: %w", t.ARN, err)
		}
	}
	return tx.Commit()
}

// Save stores a changed configuration.
func (s *Store) Save(ctx context.Context, t *Trail) error {
	config, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE trails SET config = ? WHERE arn = ?`, string(config), t.ARN); err != nil {
		return fmt.Errorf("update trail %s: %w", t.ARN, err)
	}
	return nil
}

// Delete removes a trail, its tags, status and logging history. Delivered files stay.
func (s *Store) Delete(ctx context.Context, arn string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, q := range []string{`DELETE FROM trail_log_files WHERE arn = ?`, `DELETE FROM trail_digest_chains WHERE arn = ?`, `DELETE FROM trail_status WHERE arn = ?`, `DELETE FROM trails WHERE arn = ?`} {
		if _, err := tx.ExecContext(ctx, q, arn); err != nil {
			return fmt.Errorf("delete trail %s: %w", arn, err)
		}
	}
	return tx.Commit()
}

// SetLogging opens (on) or closes a logging period at time at. It is idempotent.
func (s *Store) SetLogging(ctx context.Context, arn string, on bool, at time.Time) error {
	var err error
	if on {
		_, err = s.db.ExecContext(ctx, `INSERT INTO trail_logging (arn, started_at) SELECT ?, ? WHERE NOT EXISTS (SELECT 1 FROM trail_logging WHERE arn = ? AND stopped_at IS NULL)`,
			arn, at.UnixNano(), arn)
	} else {
		_, err = s.db.ExecContext(ctx, `UPDATE trail_logging SET stopped_at = ? WHERE arn = ? AND stopped_at IS NULL`, at.UnixNano(), arn)
	}
	if err != nil {
		return fmt.Errorf("set logging of %s: %w", arn, err)
	}
	return nil
}

// Tags returns a trail's tags, sorted by key.
func (s *Store) Tags(ctx context.Context, arn string) ([]Tag, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT key, value FROM trail_tags WHERE arn = ? ORDER BY key`, arn)
	if err != nil {
		return nil, fmt.Errorf("read tags of %s: %w", arn, err)
	}
	defer rows.Close()
	out := []Tag{}
	for rows.Next() {
		var t Tag
		if err := rows.Scan(&t.Key, &t.Value); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// AddTags adds or replaces tags, within the per-resource limit.
func (s *Store) AddTags(ctx context.Context, arn string, tags []Tag) error {
	if err := CheckTags(tags); err != nil {
		return err
	}
	have, err := s.Tags(ctx, arn)
	if err != nil {
		return err
	}
	keys := map[string]bool{}
	for _, t := range have {
		keys[t.Key] = true
	}
	for _, t := range tags {
		keys[t.Key] = true
	}
	if len(keys) > s.limits.TagsPerResource {
		return errorf(ErrTagsLimit, "The number of tags (%d) would exceed the limit of %d per trail.", len(keys), s.limits.TagsPerResource)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, t := range tags {
		if _, err := tx.ExecContext(ctx, `INSERT INTO trail_tags (arn, key, value) VALUES (?, ?, ?) ON CONFLICT (arn, key) DO UPDATE SET value = excluded.value`, arn, t.Key, t.Value); err != nil {
			return fmt.Errorf("tag %s: %w", arn, err)
		}
	}
	return tx.Commit()
}

// RemoveTags removes tags by key (and value, when one is given).
func (s *Store) RemoveTags(ctx context.Context, arn string, tags []Tag) error {
	for _, t := range tags {
		if t.Key == "" {
			return errorf(ErrInvalidTag, "Tag keys must not be empty.")
		}
		q, args := `DELETE FROM trail_tags WHERE arn = ? AND key = ?`, []any{arn, t.Key}
		if t.Value != "" {
			q, args = q+` AND value = ?`, append(args, t.Value)
		}
		if _, err := s.db.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("untag %s: %w", arn, err)
		}
	}
	return nil
}

// Organizations returns every organisation's accounts.
func (s *Store) Organizations(ctx context.Context) (map[string][]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT organization_id, account_id FROM organization_accounts`)
	if err != nil {
		return nil, fmt.Errorf("read organisations: %w", err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var o, a string
		if err := rows.Scan(&o, &a); err != nil {
			return nil, err
		}
		out[o] = append(out[o], a)
	}
	return out, rows.Err()
}

// ManagedOrganization returns the organisation account manages, for organisation trails.
func (s *Store) ManagedOrganization(ctx context.Context, account string) (string, error) {
	var id, mgmt string
	err := s.db.QueryRowContext(ctx, `SELECT o.id, o.management_account FROM organization_accounts a JOIN organizations o ON o.id = a.organization_id WHERE a.account_id = ?`, account).Scan(&id, &mgmt)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errorf(ErrOrganizationsNotInUse, "This account is not a member of an organization.")
	}
	if err != nil {
		return "", err
	}
	if mgmt != account {
		return "", errorf(ErrNotOrganizationManager, "The request was rejected because this account is not the management account of organization %s.", id)
	}
	return id, nil
}

// Status is what GetTrailStatus reports about a trail's deliveries.
type Status struct {
	DeliveryTime        time.Time // latest successful log file delivery
	DeliveryAttemptTime time.Time
	DeliveryError       string
	DigestTime          time.Time
	DigestError         string
}

// Status returns a trail's delivery status.
func (s *Store) Status(ctx context.Context, arn string) (Status, error) {
	var st Status
	var dt, at, gt sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT delivery_time, delivery_attempt_time, delivery_error, digest_time, digest_error FROM trail_status WHERE arn = ?`, arn).
		Scan(&dt, &at, &st.DeliveryError, &gt, &st.DigestError)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("read status of %s: %w", arn, err)
	}
	for _, p := range []struct {
		v *sql.NullInt64
		t *time.Time
	}{{&dt, &st.DeliveryTime}, {&at, &st.DeliveryAttemptTime}, {&gt, &st.DigestTime}} {
		if p.v.Valid {
			*p.t = time.Unix(0, p.v.Int64).UTC()
		}
	}
	return st, nil
}

// recordDelivery updates a trail's status after a delivery attempt (err nil: success).
func (s *Store) recordDelivery(ctx context.Context, arn string, at time.Time, digest bool, err error) error {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	var q string
	switch {
	case digest && err == nil:
		q = `INSERT INTO trail_status (arn, digest_time, digest_error) VALUES (?1, ?2, '') ON CONFLICT (arn) DO UPDATE SET digest_time = ?2, digest_error = ''`
	case digest:
		q = `INSERT INTO trail_status (arn, digest_error) VALUES (?1, ?3) ON CONFLICT (arn) DO UPDATE SET digest_error = ?3`
	case err == nil:
		q = `INSERT INTO trail_status (arn, delivery_time, delivery_attempt_time, delivery_error) VALUES (?1, ?2, ?2, '') ON CONFLICT (arn) DO UPDATE SET delivery_time = ?2, delivery_attempt_time = ?2, delivery_error = ''`
	default:
		q = `INSERT INTO trail_status (arn, delivery_attempt_time, delivery_error) VALUES (?1, ?2, ?3) ON CONFLICT (arn) DO UPDATE SET delivery_attempt_time = ?2, delivery_error = ?3`
	}
	if _, err := s.db.ExecContext(ctx, q, arn, at.UnixNano(), msg); err != nil {
		return fmt.Errorf("record delivery status of %s: %w", arn, err)
	}
	return nil
}
