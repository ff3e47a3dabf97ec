// Package gen produces realistic synthetic CloudTrail traffic, fully
// determined by a seed, for tests, benchmarks, demos and `cairn gen`.
//
// Records look like what AWS writes (field order, types, identities,
// clients, errors, data events, console sign-ins, rare Insights pairs) so
// that everything downstream — parsing, indexing, filters, alarms, SQL — is
// exercised on the shapes it will meet in production.
//
// Output is a pure function of the seed, the configuration and the times
// asked for — within one version of this package. Changing the generator
// changes its output, so tests compare runs rather than golden files.
package gen

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Config chooses the seed and the accounts and regions traffic is spread
// over.
type Config struct {
	Seed int64
	// Accounts are 12-digit IDs; the first is the primary and gets about
	// 70 % of the traffic. Empty means three accounts derived from Seed.
	Accounts []string
	// Regions default to us-east-1, eu-west-1, ap-northeast-1. The first gets
	// most regional traffic. IAM and most sign-ins are recorded in us-east-1
	// whatever the list says, as AWS does for global services.
	Regions []string
}

// defaultRegions are used when Config.Regions is empty.
var defaultRegions = []string{"us-east-1", "eu-west-1", "ap-northeast-1"}

// Validate reports what is wrong with explicitly given accounts or regions.
// New does not require it (it escapes whatever it is given), but callers
// taking user input should check first.
func (c Config) Validate() error {
	for _, a := range c.Accounts {
		if len(a) != 12 || strings.Trim(a, "0123456789") != "" {
			return fmt.Errorf("gen: account %q is not a 12-digit account ID", a)
		}
	}
	for _, r := range c.Regions {
		if r == "" || strings.Trim(r, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" || !strings.Contains(r, "-") {
			return fmt.Errorf("gen: region %q is not a region name like us-east-1", r)
		}
	}
	return nil
}

// Generator makes records. It is not safe for concurrent use; make one per
// goroutine (with different seeds) instead.
type Generator struct {
	seed     int64
	rng      *rand.Rand // everything that shapes records
	jitter   *rand.Rand // Spread's timing only, so Event(t) sequences stay comparable
	accounts []*account
	regions  []string // escaped
	pool     string   // random base64-ish text to slice tokens from
	ops      []op
	opTotal  int

	insightRate float64  // chance per event of starting an Insights pair
	pending     *insight // Start emitted, End not yet

	scratch scratch
}

// New returns a generator for cfg.
func New(cfg Config) *Generator {
	g := &Generator{
		seed:        cfg.Seed,
		rng:         rand.New(rand.NewPCG(uint64(cfg.Seed), 0x63616972_6e67656e)), // "cairngen"
		jitter:      rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6a6974746572)),      // "jitter"
		insightRate: 1.0 / 40000,
	}
	// Static structure comes from its own stream so that it does not depend
	// on how many accounts or regions were asked for.
	setup := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x7365747570)) // "setup"
	accounts := cfg.Accounts
	if len(accounts) == 0 {
		for range 3 {
			accounts = append(accounts, fmt.Sprintf("%d%011d", 1+setup.IntN(9), setup.Int64N(1e11)))
		}
	}
	regions := cfg.Regions
	if len(regions) == 0 {
		regions = defaultRegions
	}
	for _, r := range regions {
		g.regions = append(g.regions, esc(r))
	}
	var pool strings.Builder
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for range 8192 {
		pool.WriteByte(b64[setup.IntN(64)])
	}
	g.pool = pool.String()
	for i, a := range accounts {
		g.accounts = append(g.accounts, newAccount(setup, esc(a), i, g.regions))
	}
	g.ops = catalogue()
	for _, o := range g.ops {
		g.opTotal += o.weight
	}
	return g
}

// Event returns one record whose eventTime is t (UTC, truncated to the
// second). Successive calls continue one deterministic sequence: the same
// seed and the same times give the same bytes.
func (g *Generator) Event(t time.Time) []byte {
	raw, _ := g.event(t)
	return raw
}

// meta says where a record belongs in a log tree.
type meta struct {
	account, region string
	insight         bool
	at              time.Time // eventTime
}

func (g *Generator) event(t time.Time) ([]byte, meta) {
	t = t.UTC().Truncate(time.Second)
	if raw, m, ok := g.maybeInsight(t); ok {
		m.at = t
		return raw, m
	}
	var c call
	g.newCall(&c, t)
	o := g.pickOp()
	return c.build(o), meta{account: c.acct.id, region: c.region, at: t}
}

// Spread generates n events with times spread evenly, with jitter, over
// [start, end), in nondecreasing time order, and calls fn for each. fn's
// error stops it and is returned.
func (g *Generator) Spread(n int, start, end time.Time, fn func(raw []byte) error) error {
	return g.spread(n, start, end, func(raw []byte, _ meta) error { return fn(raw) })
}

func (g *Generator) spread(n int, start, end time.Time, fn func([]byte, meta) error) error {
	if n < 0 {
		return fmt.Errorf("gen: negative event count %d", n)
	}
	if n == 0 {
		return nil
	}
	if !end.After(start) {
		return errors.New("gen: end must be after start")
	}
	span := float64(end.Sub(start))
	for i := range n {
		// Slot i is [i, i+1) of n equal slots; a point drawn in each slot
		// keeps the sequence ordered.
		off := time.Duration((float64(i) + g.jitter.Float64()) * span / float64(n))
		t := start.Add(off)
		if !t.Before(end) {
			t = end.Add(-1)
		}
		raw, m := g.event(t)
		if err := fn(raw, m); err != nil {
			return err
		}
	}
	return nil
}

// --- randomness helpers ---

func (g *Generator) intn(n int) int { return g.rng.IntN(n) }

func (g *Generator) chance(p float64) bool { return g.rng.Float64() < p }

func pick[T any](g *Generator, xs []T) T { return xs[g.rng.IntN(len(xs))] }

// token returns n characters of the random pool (session tokens, encoded
// authorization messages, x-amz-id-2 values).
func (g *Generator) token(n int) string {
	off := g.rng.IntN(len(g.pool) - n)
	return g.pool[off : off+n]
}

// appendUUID appends a random version-4 UUID.
func appendUUID(b []byte, r *rand.Rand) []byte {
	hi, lo := r.Uint64(), r.Uint64()
	hi = hi&^(0xf<<12) | 4<<12           // version 4
	lo = lo&^(0x3<<62) | 0x2<<62         // RFC 4122 variant
	b = appendHex(b, hi>>32, 8)          // time_low
	b = append(b, '-')                   //
	b = appendHex(b, (hi>>16)&0xffff, 4) // time_mid
	b = append(b, '-')
	b = appendHex(b, hi&0xffff, 4)
	b = append(b, '-')
	b = appendHex(b, lo>>48, 4)
	b = append(b, '-')
	return appendHex(b, lo&0xffffffffffff, 12)
}

func appendHex(b []byte, v uint64, digits int) []byte {
	for i := digits - 1; i >= 0; i-- {
		b = append(b, hexDigits[(v>>(4*uint(i)))&0xf])
	}
	return b
}

const base32Upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

// ident returns prefix followed by n characters of AWS's upper-case base32
// identifier alphabet (AKIA…, ASIA…, AIDA…, AROA…).
func ident(r *rand.Rand, prefix string, n int) string {
	b := make([]byte, 0, len(prefix)+n)
	b = append(b, prefix...)
	for range n {
		b = append(b, base32Upper[r.IntN(32)])
	}
	return string(b)
}

// hexID returns prefix followed by n lower-case hex digits (i-…, sg-…, vpc-…).
func hexID(r *rand.Rand, prefix string, n int) string {
	b := make([]byte, 0, len(prefix)+n)
	b = append(b, prefix...)
	for range n {
		b = append(b, hexDigits[r.IntN(16)])
	}
	return string(b)
}

// mix is SplitMix64: it derives stable per-session values (session keys)
// from a seed and a time bucket without consuming the main stream.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
