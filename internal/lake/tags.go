package lake

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"unicode/utf8"
)

// validTags checks a tag list as CloudTrail does: keys 1–128 characters, values up to 256, no
// key twice, no reserved aws: keys.
func validTags(tags []Tag) error {
	if len(tags) > maxTagsPerRequest {
		return fail(ErrInvalidTag, "TagsList has %d tags; a request takes at most %d.", len(tags), maxTagsPerRequest)
	}
	seen := map[string]bool{}
	for _, t := range tags {
		switch {
		case utf8.RuneCountInString(t.Key) < 1 || utf8.RuneCountInString(t.Key) > 128:
			return fail(ErrInvalidTag, "Tag key %q must be 1 to 128 characters.", t.Key)
		case utf8.RuneCountInString(t.Value) > 256:
			return fail(ErrInvalidTag, "The value of tag %s is longer than 256 characters.", t.Key)
		case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
			return fail(ErrInvalidTag, "Tag key %s is reserved: keys may not start with aws:.", t.Key)
		case seen[t.Key]:
			return fail(ErrInvalidTag, "Tag key %s appears twice.", t.Key)
		}
		seen[t.Key] = true
	}
	return nil
}

func putTags(ctx context.Context, db execer, arn string, tags []Tag) error {
	for _, t := range tags {
		if _, err := db.ExecContext(ctx, `INSERT INTO lake_tags (resource_arn, key, value) VALUES (?, ?, ?)
			ON CONFLICT (resource_arn, key) DO UPDATE SET value = excluded.value`, arn, t.Key, t.Value); err != nil {
			return fmt.Errorf("save tags of %s: %w", arn, err)
		}
	}
	return nil
}

// Tagged reports whether Lake owns the resource an ARN names (an event data store or a
// channel), so the API knows where to send AddTags, RemoveTags and ListTags.
func Tagged(arn string) bool { return storeARN.MatchString(arn) || channelARN.MatchString(arn) }

// taggable resolves an event data store or channel ARN of the caller to its canonical ARN.
func (l *Lake) taggable(c Caller, arn string) (string, error) {
	switch {
	case storeARN.MatchString(arn):
		s, err := l.resolve(c, arn)
		if err != nil {
			return "", err
		}
		if s.Status == StatusPendingDeletion {
			return "", fail(ErrInactiveStore, "Event data store %s is pending deletion.", s.ID)
		}
		return s.ARN(), nil
	case channelARN.MatchString(arn):
		ch, err := l.channel(c, arn)
		if err != nil {
			return "", err
		}
		return ch.ARN(), nil
	}
	return "", fail(ErrResourceTypeNotSupported, "%s is not an event data store or channel ARN.", arn)
}

// AddTags adds or replaces tags on an event data store or channel.
func (l *Lake) AddTags(ctx context.Context, c Caller, arn string, tags []Tag) error {
	if err := validTags(tags); err != nil {
		return err
	}
	res, err := l.taggable(c, arn)
	if err != nil {
		return err
	}
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	have, err := l.tags(ctx, res)
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
	if len(keys) > maxTagsPerResource {
		return fail(ErrTagsLimit, "%s would have %d tags; a resource has at most %d.", arn, len(keys), maxTagsPerResource)
	}
	return putTags(ctx, l.meta, res, tags)
}

// RemoveTags removes tags (by key) from an event data store or channel.
func (l *Lake) RemoveTags(ctx context.Context, c Caller, arn string, tags []Tag) error {
	res, err := l.taggable(c, arn)
	if err != nil {
		return err
	}
	for _, t := range tags {
		if _, err := l.meta.ExecContext(ctx, `DELETE FROM lake_tags WHERE resource_arn = ? AND key = ?`, res, t.Key); err != nil {
			return fmt.Errorf("remove tags of %s: %w", arn, err)
		}
	}
	return nil
}

// ListTags returns the tags of an event data store or channel.
func (l *Lake) ListTags(ctx context.Context, c Caller, arn string) ([]Tag, error) {
	res, err := l.taggable(c, arn)
	if err != nil {
		return nil, err
	}
	return l.tags(ctx, res)
}

// Tags returns a resource's tags (for responses that include them).
func (l *Lake) Tags(ctx context.Context, arn string) ([]Tag, error) { return l.tags(ctx, arn) }

func (l *Lake) tags(ctx context.Context, arn string) ([]Tag, error) {
	rows, err := l.meta.QueryContext(ctx, `SELECT key, value FROM lake_tags WHERE resource_arn = ? ORDER BY key`, arn)
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

var _ execer = (*sql.Tx)(nil)
