package objstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rule is a lifecycle rule: objects in Bucket whose keys start with Prefix move to the colder
// tier TransitionAfter their last write and are deleted ExpireAfter it. Zero disables either.
type Rule struct {
	Bucket          string
	Prefix          string
	TransitionAfter time.Duration
	ExpireAfter     time.Duration
}

// ParseRule reads a rule written as BUCKET[/PREFIX]:expire=DAYSd,cold=DAYSd (either part may
// be left out), e.g. "audit-logs/AWSLogs:expire=2555d,cold=90d".
func ParseRule(s string) (Rule, error) {
	target, spec, ok := strings.Cut(s, ":")
	if !ok || spec == "" {
		return Rule{}, fmt.Errorf("lifecycle rule %q: want BUCKET[/PREFIX]:expire=Nd,cold=Nd", s)
	}
	var r Rule
	r.Bucket, r.Prefix, _ = strings.Cut(target, "/")
	if err := ValidBucketName(r.Bucket); err != nil {
		return Rule{}, fmt.Errorf("lifecycle rule %q: %w", s, err)
	}
	for _, part := range strings.Split(spec, ",") {
		name, val, _ := strings.Cut(part, "=")
		days, err := strconv.Atoi(strings.TrimSuffix(val, "d"))
		if err != nil || days <= 0 || !strings.HasSuffix(val, "d") {
			return Rule{}, fmt.Errorf("lifecycle rule %q: %q: want a positive number of days such as 90d", s, part)
		}
		d := time.Duration(days) * 24 * time.Hour
		switch name {
		case "expire":
			r.ExpireAfter = d
		case "cold":
			r.TransitionAfter = d
		default:
			return Rule{}, fmt.Errorf("lifecycle rule %q: unknown action %q (want expire or cold)", s, name)
		}
	}
	if r.ExpireAfter > 0 && r.TransitionAfter >= r.ExpireAfter {
		return Rule{}, fmt.Errorf("lifecycle rule %q: cold must come before expire", s)
	}
	return r, nil
}

// ApplyLifecycle applies rules to the objects they cover as of now and returns how many
// objects it moved to the colder tier and how many it deleted.
func ApplyLifecycle(ctx context.Context, s Store, rules []Rule, now time.Time) (transitioned, expired int, err error) {
	for _, r := range rules {
		type action struct {
			key    string
			expire bool
		}
		var todo []action
		err := s.List(ctx, r.Bucket, r.Prefix, "", func(o Object) bool {
			age := now.Sub(o.Modified)
			switch {
			case r.ExpireAfter > 0 && age >= r.ExpireAfter:
				todo = append(todo, action{o.Key, true})
			case r.TransitionAfter > 0 && age >= r.TransitionAfter && !o.Cold:
				todo = append(todo, action{o.Key, false})
			}
			return true
		})
		if err != nil {
			return transitioned, expired, fmt.Errorf("lifecycle of s3://%s/%s: %w", r.Bucket, r.Prefix, err)
		}
		for _, a := range todo {
			if a.expire {
				if err := s.Delete(ctx, r.Bucket, a.key); err != nil {
					return transitioned, expired, fmt.Errorf("lifecycle: expire s3://%s/%s: %w", r.Bucket, a.key, err)
				}
				expired++
				continue
			}
			if err := s.Transition(ctx, r.Bucket, a.key); err != nil {
				return transitioned, expired, fmt.Errorf("lifecycle: transition s3://%s/%s: %w", r.Bucket, a.key, err)
			}
			transitioned++
		}
	}
	return transitioned, expired, nil
}
