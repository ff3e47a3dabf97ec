package lake

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Event data store statuses (EventDataStoreStatus).
const (
	StatusCreated           = "CREATED"
	StatusEnabled           = "ENABLED"
	StatusPendingDeletion   = "PENDING_DELETION"
	StatusStartingIngestion = "STARTING_INGESTION"
	StatusStoppingIngestion = "STOPPING_INGESTION"
	StatusStoppedIngestion  = "STOPPED_INGESTION"
)

// Billing modes and the retention each allows (CreateEventDataStore).
const (
	BillingExtendable = "EXTENDABLE_RETENTION_PRICING"
	BillingFixed      = "FIXED_RETENTION_PRICING"
)

// Limits from the CloudTrail API and user guide.
const (
	minRetentionDays        = 7
	maxRetentionExtendable  = 3653
	maxRetentionFixed       = 2557
	defaultRetentionExtend  = 366
	defaultRetentionFixed   = 2557
	maxStoresPerRegion      = 10
	pendingDeletionDuration = 7 * 24 * time.Hour
	maxTagsPerResource      = 50
	maxTagsPerRequest       = 200
)

// Store is an event data store.
type Store struct {
	ID                    string
	Account, Region       string
	Name                  string
	Kind                  Kind
	Status                string
	restoreStatus         string
	Selectors             []Selector
	MultiRegion           bool
	Organization          bool
	RetentionDays         int
	TerminationProtection bool
	BillingMode           string
	KmsKeyID              string
	sealedDataKey         []byte
	startSeq              uint64
	Created, Updated      time.Time
	Deleted               time.Time // zero unless PENDING_DELETION
}

// ARN is the store's ARN.
func (s *Store) ARN() string {
	return "arn:aws:cloudtrail:" + s.Region + ":" + s.Account + ":eventdatastore/" + s.ID
}

// table is the DuckDB relation queries read: a table, or for an encrypted store a view that
// decrypts its sealed table.
func (s *Store) table() string { return "eds_" + strings.ReplaceAll(s.ID, "-", "") }

// sealedTable holds an encrypted store's rows.
func (s *Store) sealedTable() string { return "lake_sealed_" + strings.ReplaceAll(s.ID, "-", "") }

func (s *Store) encrypted() bool { return s.KmsKeyID != "" }

// Caller is who asks, and where: stores are regional resources of an account.
type Caller struct {
	Account, Region string
	Operator        bool // the account that operates cairn (its organisation's management account)
	// Local is whoever holds the data directory (cairn query --offline): they read every
	// account's and region's stores, as they could read the files.
	Local bool
}

// Tag is a resource tag.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value,omitempty"`
}

var (
	namePattern = regexp.MustCompile(`^[a-zA-Z0-9._\-]+$`)
	idPattern   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	storeARN    = regexp.MustCompile(`^arn:aws[a-z-]*:cloudtrail:([a-z0-9-]+):(\d{12}):eventdatastore/([0-9a-fA-F-]+)$`)
)

func validName(what, name string) error {
	if len(name) < 3 || len(name) > 128 || !namePattern.MatchString(name) {
		return fail(ErrInvalidParameter, "%s %q is not valid: use 3 to 128 letters, digits, periods, underscores or hyphens", what, name)
	}
	return nil
}

// resolve finds the caller's store named by ARN or ID. Stores of another account or region are
// not found, as in AWS.
func (l *Lake) resolve(c Caller, ref string) (*Store, error) {
	id := ref
	if m := storeARN.FindStringSubmatch(ref); m != nil {
		if !c.Local && (m[1] != c.Region || m[2] != c.Account) {
			return nil, fail(ErrStoreNotFound, "Event data store %s not found: it is not in account %s, region %s.", ref, c.Account, c.Region)
		}
		id = m[3]
	} else if strings.HasPrefix(ref, "arn:") || len(ref) < 3 || len(ref) > 256 {
		return nil, fail(ErrStoreARNInvalid, "%q is not an event data store ARN (arn:aws:cloudtrail:<region>:<account>:eventdatastore/<id>) or ID.", ref)
	}
	id = strings.ToLower(id)
	if !idPattern.MatchString(id) {
		return nil, fail(ErrStoreARNInvalid, "%q is not an event data store ARN or ID: an ID is a UUID such as EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE.", ref)
	}
	l.mu.RLock()
	s, ok := l.stores[id]
	l.mu.RUnlock()
	if !ok || !c.Local && (s.Account != c.Account || s.Region != c.Region) {
		return nil, fail(ErrStoreNotFound, "Event data store %s not found in account %s, region %s.", ref, c.Account, c.Region)
	}
	return s, nil
}

// CreateInput is CreateEventDataStore's input; nil pointers take AWS's defaults.
type CreateInput struct {
	Name                  string
	Selectors             []Selector
	MultiRegion           *bool
	Organization          *bool
	RetentionDays         *int
	TerminationProtection *bool
	StartIngestion        *bool
	KmsKeyID              string
	BillingMode           string
	Tags                  []Tag
}

// CreateStore creates an event data store. The store receives events recorded from now on.
func (l *Lake) CreateStore(ctx context.Context, c Caller, in CreateInput) (*Store, error) {
	if err := validName("Name", in.Name); err != nil {
		return nil, err
	}
	sels := in.Selectors
	if sels == nil {
		sels = DefaultSelectors()
	}
	kind, _, err := validateSelectors(sels)
	if err != nil {
		return nil, err
	}
	s := &Store{
		ID: uuid.NewString(), Account: c.Account, Region: c.Region, Name: in.Name, Kind: kind,
		Status: StatusEnabled, Selectors: sels, MultiRegion: kind != KindActivity, TerminationProtection: true,
		BillingMode: BillingExtendable,
	}
	s.RetentionDays = defaultRetentionExtend
	if in.BillingMode == BillingFixed {
		s.RetentionDays = defaultRetentionFixed
	}
	if err := setOptions(s, c, in.MultiRegion, in.Organization, in.RetentionDays, in.TerminationProtection, in.BillingMode); err != nil {
		return nil, err
	}
	if in.StartIngestion != nil && !*in.StartIngestion {
		if kind != KindEvents {
			return nil, fail(ErrInvalidParameter, "StartIngestion applies only to event data stores of CloudTrail events.")
		}
		s.Status = StatusStoppedIngestion
	}
	if err := validTags(in.Tags); err != nil {
		return nil, err
	}
	if len(in.Tags) > maxTagsPerResource {
		return nil, fail(ErrTagsLimit, "%d tags were given; a resource has at most %d.", len(in.Tags), maxTagsPerResource)
	}
	if in.KmsKeyID != "" {
		keyID, err := normalizeKeyID(c.Account, in.KmsKeyID)
		if err != nil {
			return nil, err
		}
		if l.keys == nil {
			return nil, fail(ErrKms, "this cairn has no keyring for KMS keys")
		}
		aead, sealed, err := l.keys.newDataKey(c.Account, keyID, s.ID)
		if err != nil {
			return nil, err
		}
		s.KmsKeyID, s.sealedDataKey = in.KmsKeyID, sealed
		l.dataKeys.Store(s.ID, aead)
	}

	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	l.mu.RLock()
	active := 0
	for _, o := range l.stores {
		if o.Account == c.Account && o.Region == c.Region {
			if o.Name == s.Name {
				l.mu.RUnlock()
				return nil, fail(ErrStoreAlreadyExists, "An event data store named %s already exists in account %s, region %s.", s.Name, c.Account, c.Region)
			}
			if o.Status != StatusPendingDeletion {
				active++
			}
		}
	}
	l.mu.RUnlock()
	if active >= maxStoresPerRegion {
		return nil, fail(ErrStoreMaxLimit, "Account %s already has %d event data stores in %s, the maximum.", c.Account, active, c.Region)
	}
	now := l.now().UTC().Truncate(time.Millisecond)
	s.Created, s.Updated = now, now
	s.startSeq = l.j.LastSeq()
	if err := l.createTable(ctx, s); err != nil {
		return nil, fmt.Errorf("create the table of event data store %s: %w", s.ID, err)
	}
	tx, err := l.meta.BeginTx(ctx, nil)
	if err != nil {
		l.dropTable(context.WithoutCancel(ctx), s)
		return nil, err
	}
	defer tx.Rollback()
	sels2, _ := json.Marshal(s.Selectors)
	_, err = tx.ExecContext(ctx, `INSERT INTO lake_event_data_stores (id, account_id, region, name, kind, status, selectors,
		multi_region, organization, retention_days, termination_protection, billing_mode, kms_key_id, data_key, start_seq,
		created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.Account, s.Region, s.Name, int(s.Kind), s.Status, string(sels2), s.MultiRegion, s.Organization,
		s.RetentionDays, s.TerminationProtection, s.BillingMode, s.KmsKeyID, s.sealedDataKey, int64(s.startSeq),
		formatTime(s.Created), formatTime(s.Updated))
	if err == nil {
		err = putTags(ctx, tx, s.ARN(), in.Tags)
	}
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		l.dropTable(context.WithoutCancel(ctx), s)
		return nil, fmt.Errorf("save event data store %s: %w", s.Name, err)
	}
	l.mu.Lock()
	l.stores[s.ID] = s
	l.mu.Unlock()
	l.reroute()
	cp := *s
	return &cp, nil
}

// setOptions applies the options Create and Update share, checking them against each other.
func setOptions(s *Store, c Caller, multiRegion, org *bool, retention *int, protection *bool, billing string) error {
	if billing != "" {
		if billing != BillingExtendable && billing != BillingFixed {
			return fail(ErrInvalidParameter, "BillingMode %q is not EXTENDABLE_RETENTION_PRICING or FIXED_RETENTION_PRICING.", billing)
		}
		if s.BillingMode == BillingExtendable && billing == BillingFixed && !s.Created.IsZero() {
			return fail(ErrInvalidParameter, "An event data store cannot change from EXTENDABLE_RETENTION_PRICING to FIXED_RETENTION_PRICING.")
		}
		s.BillingMode = billing
	}
	if multiRegion != nil {
		s.MultiRegion = *multiRegion
	}
	if org != nil {
		if *org && !c.Operator {
			return fail(ErrNotOrganizationMaster, "Only the organization's management account (the account that operates cairn) can create an organization event data store; %s is a member account.", c.Account)
		}
		s.Organization = *org
	}
	if s.Kind == KindActivity && (s.MultiRegion || s.Organization) {
		return fail(ErrInvalidParameter, "An event data store for events from integrations (ActivityAuditLog) must be single-Region and not an organization store: set MultiRegionEnabled and OrganizationEnabled to false.")
	}
	if retention != nil {
		s.RetentionDays = *retention
	}
	max := maxRetentionExtendable
	if s.BillingMode == BillingFixed {
		max = maxRetentionFixed
	}
	if (retention != nil || billing != "") && (s.RetentionDays < minRetentionDays || s.RetentionDays > max) {
		return fail(ErrInvalidParameter, "RetentionPeriod %d is out of range: with %s it must be between %d and %d days.", s.RetentionDays, s.BillingMode, minRetentionDays, max)
	}
	if protection != nil {
		s.TerminationProtection = *protection
	}
	return nil
}

// GetStore returns the caller's store.
func (l *Lake) GetStore(c Caller, ref string) (*Store, error) {
	s, err := l.resolve(c, ref)
	if err != nil {
		return nil, err
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	cp := *s
	return &cp, nil
}

// ListStores returns the caller's stores in the region, by creation time, a page at a time.
func (l *Lake) ListStores(c Caller, maxResults int, token string) ([]*Store, string, error) {
	if maxResults == 0 {
		maxResults = 1000
	}
	if maxResults < 1 || maxResults > 1000 {
		return nil, "", fail(ErrInvalidMaxResults, "MaxResults %d is out of range: it must be between 1 and 1000.", maxResults)
	}
	l.mu.RLock()
	var all []*Store
	for _, s := range l.stores {
		if s.Account == c.Account && s.Region == c.Region {
			cp := *s
			all = append(all, &cp)
		}
	}
	l.mu.RUnlock()
	slices.SortFunc(all, func(a, b *Store) int {
		if d := a.Created.Compare(b.Created); d != 0 {
			return d
		}
		return strings.Compare(a.ID, b.ID)
	})
	return page(all, maxResults, token, func(s *Store) string { return s.ID })
}

// page returns up to n items after the one token names (an item key, opaque to callers).
func page[T any](all []T, n int, token string, key func(T) string) ([]T, string, error) {
	start := 0
	if token != "" {
		k, err := decodeToken(token)
		if err != nil {
			return nil, "", err
		}
		start = -1
		for i, it := range all {
			if key(it) == k {
				start = i + 1
				break
			}
		}
		if start < 0 {
			return nil, "", fail(ErrInvalidNextToken, "NextToken is not valid: the item it continues from no longer exists. Start again without it.")
		}
	}
	end := min(start+n, len(all))
	var next string
	if end < len(all) {
		next = encodeToken(key(all[end-1]))
	}
	return all[start:end], next, nil
}

// UpdateInput is UpdateEventDataStore's input; nil and "" leave a setting unchanged.
type UpdateInput struct {
	Name                  string
	Selectors             []Selector
	MultiRegion           *bool
	Organization          *bool
	RetentionDays         *int
	TerminationProtection *bool
	KmsKeyID              string
	BillingMode           string
}

// UpdateStore changes a store's settings. Lowering retention removes older events at the next
// purge; changing selectors affects events recorded from then on.
func (l *Lake) UpdateStore(ctx context.Context, c Caller, ref string, in UpdateInput) (*Store, error) {
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	cur, err := l.resolve(c, ref)
	if err != nil {
		return nil, err
	}
	if in.Name == "" && in.Selectors == nil && in.MultiRegion == nil && in.Organization == nil && in.RetentionDays == nil &&
		in.TerminationProtection == nil && in.KmsKeyID == "" && in.BillingMode == "" {
		return nil, fail(ErrInvalidParameter, "UpdateEventDataStore needs at least one setting to change besides EventDataStore.")
	}
	l.mu.RLock()
	s := *cur
	l.mu.RUnlock()
	if s.Status == StatusPendingDeletion {
		return nil, fail(ErrInactiveStore, "Event data store %s is pending deletion; restore it before updating it.", s.ID)
	}
	if in.Name != "" && in.Name != s.Name {
		if err := validName("Name", in.Name); err != nil {
			return nil, err
		}
		l.mu.RLock()
		for _, o := range l.stores {
			if o.Account == c.Account && o.Region == c.Region && o.Name == in.Name {
				l.mu.RUnlock()
				return nil, fail(ErrStoreAlreadyExists, "An event data store named %s already exists in account %s, region %s.", in.Name, c.Account, c.Region)
			}
		}
		l.mu.RUnlock()
		s.Name = in.Name
	}
	if in.Selectors != nil {
		kind, g, err := validateSelectors(in.Selectors)
		if err != nil {
			return nil, err
		}
		if kind != s.Kind || g != storeGroup(s.Selectors) {
			return nil, fail(ErrInvalidSelectors, "Event data store %s holds %s; its selectors cannot change it to hold %s.", s.ID, storeGroup(s.Selectors), g)
		}
		s.Selectors = in.Selectors
	}
	if in.KmsKeyID != "" && in.KmsKeyID != s.KmsKeyID {
		if s.KmsKeyID != "" {
			return nil, fail(ErrInvalidParameter, "Event data store %s is encrypted with %s; its KMS key cannot be changed or removed.", s.ID, s.KmsKeyID)
		}
		return nil, fail(ErrInvalidParameter, "cairn encrypts an event data store with a KMS key only from its creation; create a new store with KmsKeyId %s.", in.KmsKeyID)
	}
	if err := setOptions(&s, c, in.MultiRegion, in.Organization, in.RetentionDays, in.TerminationProtection, in.BillingMode); err != nil {
		return nil, err
	}
	s.Updated = l.now().UTC().Truncate(time.Millisecond)
	sels, _ := json.Marshal(s.Selectors)
	_, err = l.meta.ExecContext(ctx, `UPDATE lake_event_data_stores SET name = ?, selectors = ?, multi_region = ?, organization = ?,
		retention_days = ?, termination_protection = ?, billing_mode = ?, updated_at = ? WHERE id = ?`,
		s.Name, string(sels), s.MultiRegion, s.Organization, s.RetentionDays, s.TerminationProtection, s.BillingMode, formatTime(s.Updated), s.ID)
	if err != nil {
		return nil, fmt.Errorf("update event data store %s: %w", s.ID, err)
	}
	l.mu.Lock()
	*cur = s
	l.mu.Unlock()
	l.reroute()
	return &s, nil
}

// storeGroup names what a store's selectors select (see group).
func storeGroup(sels []Selector) string {
	_, g, _ := validateSelectors(sels)
	return g
}

// setStatus moves a store between statuses, checking it is in one of from.
func (l *Lake) setStatus(ctx context.Context, c Caller, ref, to string, from ...string) (*Store, error) {
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	s, err := l.resolve(c, ref)
	if err != nil {
		return nil, err
	}
	l.mu.RLock()
	cur := *s
	l.mu.RUnlock()
	if !slices.Contains(from, cur.Status) {
		if cur.Status == StatusPendingDeletion {
			return nil, fail(ErrInactiveStore, "Event data store %s is pending deletion; restore it first.", cur.ID)
		}
		return nil, fail(ErrInvalidStoreStatus, "Event data store %s is %s; the operation needs it to be %s.", cur.ID, cur.Status, strings.Join(from, " or "))
	}
	now := l.now().UTC().Truncate(time.Millisecond)
	cur.Updated = now
	restore := cur.restoreStatus
	var deleted any
	switch to {
	case StatusPendingDeletion:
		cur.restoreStatus, cur.Deleted = cur.Status, now
		deleted = formatTime(now)
	case "restore":
		to = cur.restoreStatus
		if to == "" {
			to = StatusEnabled
		}
		cur.restoreStatus, cur.Deleted = "", time.Time{}
	}
	cur.Status = to
	_, err = l.meta.ExecContext(ctx, `UPDATE lake_event_data_stores SET status = ?, restore_status = ?, deleted_at = ?, updated_at = ? WHERE id = ?`,
		cur.Status, cur.restoreStatus, deleted, formatTime(now), cur.ID)
	if err != nil {
		cur.restoreStatus = restore
		return nil, fmt.Errorf("update event data store %s: %w", cur.ID, err)
	}
	l.mu.Lock()
	*s = cur
	l.mu.Unlock()
	l.reroute()
	return &cur, nil
}

// StartIngestion resumes a stopped store of CloudTrail events.
func (l *Lake) StartIngestion(ctx context.Context, c Caller, ref string) error {
	if err := l.ingestionCategory(c, ref); err != nil {
		return err
	}
	_, err := l.setStatus(ctx, c, ref, StatusEnabled, StatusStoppedIngestion)
	return err
}

// StopIngestion stops a store of CloudTrail events from receiving events; it stays queryable.
func (l *Lake) StopIngestion(ctx context.Context, c Caller, ref string) error {
	if err := l.ingestionCategory(c, ref); err != nil {
		return err
	}
	_, err := l.setStatus(ctx, c, ref, StatusStoppedIngestion, StatusEnabled)
	return err
}

func (l *Lake) ingestionCategory(c Caller, ref string) error {
	s, err := l.resolve(c, ref)
	if err != nil {
		return err
	}
	if s.Kind != KindEvents {
		return fail(ErrInvalidStoreCategory, "Event data store %s holds %s; only stores of CloudTrail events start and stop ingestion.", s.ID, s.Kind)
	}
	return nil
}

// DeleteStore marks a store PENDING_DELETION: it stops receiving events and cannot be queried,
// and is removed with its events after seven days unless restored.
func (l *Lake) DeleteStore(ctx context.Context, c Caller, ref string) error {
	s, err := l.resolve(c, ref)
	if err != nil {
		return err
	}
	l.mu.RLock()
	protected, status := s.TerminationProtection, s.Status
	var channel string
	for _, ch := range l.channels {
		for _, d := range ch.Destinations {
			if d.Location == s.ARN() {
				channel = ch.ARN()
			}
		}
	}
	l.mu.RUnlock()
	switch {
	case status == StatusPendingDeletion:
		return fail(ErrInactiveStore, "Event data store %s is already pending deletion.", s.ID)
	case protected:
		return fail(ErrTerminationProtected, "Event data store %s has termination protection enabled; disable it with UpdateEventDataStore --no-termination-protection-enabled first.", s.ID)
	case channel != "":
		return fail(ErrChannelExistsForStore, "Event data store %s is the destination of channel %s; delete the channel or change its destinations first.", s.ID, channel)
	}
	_, err = l.setStatus(ctx, c, ref, StatusPendingDeletion, StatusEnabled, StatusStoppedIngestion, StatusCreated)
	return err
}

// RestoreStore brings back a store pending deletion, with the status it had.
func (l *Lake) RestoreStore(ctx context.Context, c Caller, ref string) (*Store, error) {
	s, err := l.resolve(c, ref)
	if err != nil {
		return nil, err
	}
	l.mu.RLock()
	active := 0
	for _, o := range l.stores {
		if o.Account == c.Account && o.Region == c.Region && o.Status != StatusPendingDeletion {
			active++
		}
	}
	l.mu.RUnlock()
	if s.Status == StatusPendingDeletion && active >= maxStoresPerRegion {
		return nil, fail(ErrStoreMaxLimit, "Account %s already has %d event data stores in %s, the maximum.", c.Account, active, c.Region)
	}
	return l.setStatus(ctx, c, ref, "restore", StatusPendingDeletion)
}

// loadStores reads every store into memory, unsealing the data keys of encrypted ones.
func (l *Lake) loadStores(ctx context.Context) error {
	rows, err := l.meta.QueryContext(ctx, `SELECT id, account_id, region, name, kind, status, restore_status, selectors,
		multi_region, organization, retention_days, termination_protection, billing_mode, kms_key_id, data_key, start_seq,
		created_at, updated_at, COALESCE(deleted_at, '') FROM lake_event_data_stores`)
	if err != nil {
		return fmt.Errorf("read event data stores: %w", err)
	}
	defer rows.Close()
	stores := map[string]*Store{}
	for rows.Next() {
		s := &Store{}
		var kind int
		var sels, created, updated, deleted string
		var start int64
		if err := rows.Scan(&s.ID, &s.Account, &s.Region, &s.Name, &kind, &s.Status, &s.restoreStatus, &sels,
			&s.MultiRegion, &s.Organization, &s.RetentionDays, &s.TerminationProtection, &s.BillingMode, &s.KmsKeyID,
			&s.sealedDataKey, &start, &created, &updated, &deleted); err != nil {
			return err
		}
		s.Kind, s.startSeq = Kind(kind), uint64(start)
		if err := json.Unmarshal([]byte(sels), &s.Selectors); err != nil {
			return fmt.Errorf("event data store %s: selectors: %w", s.ID, err)
		}
		s.Created, s.Updated, s.Deleted = parseTime(created), parseTime(updated), parseTime(deleted)
		stores[s.ID] = s
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, s := range stores {
		if !s.encrypted() {
			continue
		}
		if err := l.openDataKey(s); err != nil {
			l.log.Error("lake: encrypted event data store cannot be read or written until its key is back", "store", s.ID, "kms_key", s.KmsKeyID, "err", err)
		}
	}
	l.mu.Lock()
	l.stores = stores
	l.mu.Unlock()
	return nil
}

func (l *Lake) openDataKey(s *Store) error {
	if l.keys == nil {
		return fail(ErrKms, "no keyring")
	}
	keyID, err := normalizeKeyID(s.Account, s.KmsKeyID)
	if err != nil {
		return err
	}
	a, err := l.keys.dataKey(s.Account, keyID, s.ID, s.sealedDataKey)
	if err != nil {
		return err
	}
	l.dataKeys.Store(s.ID, a)
	return nil
}

// formatTime writes times fixed-width, so that meta.sqlite compares them as text correctly.
func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000000Z") }

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// execer is a *sql.DB or *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

var errNoRows = sql.ErrNoRows

func isNoRows(err error) bool { return errors.Is(err, errNoRows) }
