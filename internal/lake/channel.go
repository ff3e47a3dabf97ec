package lake

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Channel is how events from outside AWS reach event data stores (PutAuditEvents).
type Channel struct {
	ID, Account, Region string
	Name                string
	Source              string // "Custom", or the partner the channel integrates
	Destinations        []Destination
	Created             time.Time
	Ingestion           IngestionStatus
}

// Destination is where a channel's events go.
type Destination struct {
	Type     string `json:"Type"`
	Location string `json:"Location"`
}

// IngestionStatus is what GetChannel reports of the channel's latest PutAuditEvents.
type IngestionStatus struct {
	LatestSuccess        time.Time
	LatestSuccessEventID string
	LatestAttempt        time.Time
	LatestAttemptEventID string
	LatestErrorCode      string
}

// ARN is the channel's ARN.
func (ch *Channel) ARN() string {
	return "arn:aws:cloudtrail:" + ch.Region + ":" + ch.Account + ":channel/" + ch.ID
}

const (
	maxChannelsPerRegion = 25
	maxDestinations      = 200
	// SourceCustom is the source of a channel for the caller's own applications.
	SourceCustom = "Custom"
)

var (
	channelARN    = regexp.MustCompile(`^arn:aws[a-z-]*:cloudtrail:([a-z0-9-]+):(\d{12}):channel/([0-9a-fA-F-]+)$`)
	sourcePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._\-]{0,255}$`)
)

// parseChannelRef returns the channel ID in an ARN or ID, checking the ARN's account and region.
func parseChannelRef(c Caller, ref string, invalid error) (string, error) {
	id := ref
	if m := channelARN.FindStringSubmatch(ref); m != nil {
		if m[1] != c.Region || m[2] != c.Account {
			return "", fail(ErrChannelNotFound, "Channel %s not found in account %s, region %s.", ref, c.Account, c.Region)
		}
		id = m[3]
	}
	id = strings.ToLower(id)
	if !idPattern.MatchString(id) {
		return "", fail(invalid, "%q is not a channel ARN (arn:aws:cloudtrail:<region>:<account>:channel/<id>) or channel ID.", ref)
	}
	return id, nil
}

func (l *Lake) channel(c Caller, ref string) (*Channel, error) {
	id, err := parseChannelRef(c, ref, ErrChannelARNInvalid)
	if err != nil {
		return nil, err
	}
	l.mu.RLock()
	ch, ok := l.channels[id]
	l.mu.RUnlock()
	if !ok || ch.Account != c.Account || ch.Region != c.Region {
		return nil, fail(ErrChannelNotFound, "Channel %s not found in account %s, region %s.", ref, c.Account, c.Region)
	}
	return ch, nil
}

// destinations checks a channel's destinations: event data stores of the caller that hold
// events from integrations. Locations are returned as store ARNs.
func (l *Lake) destinations(c Caller, ds []Destination) ([]Destination, error) {
	if len(ds) == 0 || len(ds) > maxDestinations {
		return nil, fail(ErrInvalidParameter, "Destinations must list 1 to %d destinations; %d were given.", maxDestinations, len(ds))
	}
	var out []Destination
	for _, d := range ds {
		switch d.Type {
		case "EVENT_DATA_STORE":
		case "AWS_SERVICE":
			return nil, fail(ErrInvalidParameter, "Destination type AWS_SERVICE is for channels AWS services create; cairn delivers channel events to event data stores (EVENT_DATA_STORE).")
		default:
			return nil, fail(ErrInvalidParameter, "Destination type %q is not EVENT_DATA_STORE.", d.Type)
		}
		s, err := l.resolve(c, d.Location)
		if err != nil {
			return nil, err
		}
		if s.Kind != KindActivity {
			return nil, fail(ErrInvalidStoreCategory, "Event data store %s holds %s; a channel delivers to stores whose selectors select eventCategory ActivityAuditLog.", s.ID, s.Kind)
		}
		if s.Status == StatusPendingDeletion {
			return nil, fail(ErrInactiveStore, "Event data store %s is pending deletion.", s.ID)
		}
		dst := Destination{Type: d.Type, Location: s.ARN()}
		if slices.Contains(out, dst) {
			return nil, fail(ErrInvalidParameter, "Destination %s is listed twice.", d.Location)
		}
		out = append(out, dst)
	}
	return out, nil
}

// CreateChannel creates a channel for events from outside AWS.
func (l *Lake) CreateChannel(ctx context.Context, c Caller, name, source string, dests []Destination, tags []Tag) (*Channel, error) {
	if err := validName("Name", name); err != nil {
		return nil, err
	}
	if !sourcePattern.MatchString(source) {
		return nil, fail(ErrInvalidSource, "Source %q is not valid: use %q for your own applications, or a partner's source name.", source, SourceCustom)
	}
	if err := validTags(tags); err != nil {
		return nil, err
	}
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	ds, err := l.destinations(c, dests)
	if err != nil {
		return nil, err
	}
	l.mu.RLock()
	n := 0
	for _, o := range l.channels {
		if o.Account != c.Account || o.Region != c.Region {
			continue
		}
		n++
		if o.Name == name {
			l.mu.RUnlock()
			return nil, fail(ErrChannelAlreadyExists, "A channel named %s already exists.", name)
		}
		if source != SourceCustom && o.Source == source {
			l.mu.RUnlock()
			return nil, fail(ErrChannelAlreadyExists, "Channel %s already integrates source %s; a partner source has one channel.", o.ARN(), source)
		}
	}
	l.mu.RUnlock()
	if n >= maxChannelsPerRegion {
		return nil, fail(ErrChannelMaxLimit, "Account %s already has %d channels in %s, the maximum.", c.Account, n, c.Region)
	}
	ch := &Channel{ID: uuid.NewString(), Account: c.Account, Region: c.Region, Name: name, Source: source, Destinations: ds,
		Created: l.now().UTC().Truncate(time.Millisecond)}
	b, _ := json.Marshal(ds)
	tx, err := l.meta.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO lake_channels (id, account_id, region, name, source, destinations, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		ch.ID, ch.Account, ch.Region, ch.Name, ch.Source, string(b), formatTime(ch.Created)); err != nil {
		return nil, fmt.Errorf("save channel %s: %w", name, err)
	}
	if err := putTags(ctx, tx, ch.ARN(), tags); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.channels[ch.ID] = ch
	l.mu.Unlock()
	cp := *ch
	return &cp, nil
}

// GetChannel returns the caller's channel.
func (l *Lake) GetChannel(c Caller, ref string) (*Channel, error) {
	ch, err := l.channel(c, ref)
	if err != nil {
		return nil, err
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	cp := *ch
	return &cp, nil
}

// ListChannels returns the caller's channels in the region, a page at a time.
func (l *Lake) ListChannels(c Caller, maxResults int, token string) ([]*Channel, string, error) {
	if maxResults == 0 {
		maxResults = 1000
	}
	if maxResults < 1 || maxResults > 1000 {
		return nil, "", fail(ErrInvalidMaxResults, "MaxResults %d is out of range: it must be between 1 and 1000.", maxResults)
	}
	l.mu.RLock()
	var all []*Channel
	for _, ch := range l.channels {
		if ch.Account == c.Account && ch.Region == c.Region {
			cp := *ch
			all = append(all, &cp)
		}
	}
	l.mu.RUnlock()
	slices.SortFunc(all, func(a, b *Channel) int {
		if d := a.Created.Compare(b.Created); d != 0 {
			return d
		}
		return strings.Compare(a.ID, b.ID)
	})
	return page(all, maxResults, token, func(ch *Channel) string { return ch.ID })
}

// UpdateChannel renames a channel or changes its destinations.
func (l *Lake) UpdateChannel(ctx context.Context, c Caller, ref, name string, dests []Destination) (*Channel, error) {
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	cur, err := l.channel(c, ref)
	if err != nil {
		return nil, err
	}
	l.mu.RLock()
	ch := *cur
	l.mu.RUnlock()
	if name != "" && name != ch.Name {
		if err := validName("Name", name); err != nil {
			return nil, err
		}
		l.mu.RLock()
		for _, o := range l.channels {
			if o.Account == c.Account && o.Region == c.Region && o.Name == name {
				l.mu.RUnlock()
				return nil, fail(ErrChannelAlreadyExists, "A channel named %s already exists.", name)
			}
		}
		l.mu.RUnlock()
		ch.Name = name
	}
	if dests != nil {
		if ch.Destinations, err = l.destinations(c, dests); err != nil {
			return nil, err
		}
	}
	b, _ := json.Marshal(ch.Destinations)
	if _, err := l.meta.ExecContext(ctx, `UPDATE lake_channels SET name = ?, destinations = ? WHERE id = ?`, ch.Name, string(b), ch.ID); err != nil {
		return nil, fmt.Errorf("update channel %s: %w", ch.ID, err)
	}
	l.mu.Lock()
	*cur = ch
	l.mu.Unlock()
	return &ch, nil
}

// DeleteChannel deletes a channel; its events already in stores stay there.
func (l *Lake) DeleteChannel(ctx context.Context, c Caller, ref string) error {
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	ch, err := l.channel(c, ref)
	if err != nil {
		return err
	}
	tx, err := l.meta.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM lake_channels WHERE id = ?`, ch.ID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM lake_tags WHERE resource_arn = ?`, ch.ARN()); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("delete channel %s: %w", ch.ID, err)
	}
	l.mu.Lock()
	delete(l.channels, ch.ID)
	l.mu.Unlock()
	return nil
}

// channelDelivers reports whether the channel with that ARN delivers to the store with that ARN.
func (l *Lake) channelDelivers(channel, store string) bool {
	m := channelARN.FindStringSubmatch(channel)
	if m == nil {
		return false
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	ch, ok := l.channels[strings.ToLower(m[3])]
	if !ok || ch.ARN() != channel {
		return false
	}
	for _, d := range ch.Destinations {
		if d.Location == store {
			return true
		}
	}
	return false
}

func (l *Lake) loadChannels(ctx context.Context) error {
	rows, err := l.meta.QueryContext(ctx, `SELECT id, account_id, region, name, source, destinations, created_at,
		last_success_at, last_success_id, last_attempt_at, last_attempt_id, last_error_code FROM lake_channels`)
	if err != nil {
		return fmt.Errorf("read channels: %w", err)
	}
	defer rows.Close()
	chans := map[string]*Channel{}
	for rows.Next() {
		ch := &Channel{}
		var dests, created, success, attempt string
		if err := rows.Scan(&ch.ID, &ch.Account, &ch.Region, &ch.Name, &ch.Source, &dests, &created,
			&success, &ch.Ingestion.LatestSuccessEventID, &attempt, &ch.Ingestion.LatestAttemptEventID, &ch.Ingestion.LatestErrorCode); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(dests), &ch.Destinations); err != nil {
			return fmt.Errorf("channel %s: destinations: %w", ch.ID, err)
		}
		ch.Created, ch.Ingestion.LatestSuccess, ch.Ingestion.LatestAttempt = parseTime(created), parseTime(success), parseTime(attempt)
		chans[ch.ID] = ch
	}
	if err := rows.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	l.channels = chans
	l.mu.Unlock()
	return nil
}
