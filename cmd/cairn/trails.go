package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/cairn-dev/cairn/internal/integrity"
	"github.com/cairn-dev/cairn/internal/journal"
	"github.com/cairn-dev/cairn/internal/objstore"
	"github.com/cairn-dev/cairn/internal/objstore/local"
	"github.com/cairn-dev/cairn/internal/objstore/s3"
	"github.com/cairn-dev/cairn/internal/trail"
)

// registerTrailFlags adds the flags of trails, delivery and the object store to serve.
func (c *serveConfig) registerTrailFlags(fs *flag.FlagSet) {
	c.deliveryInterval, c.digestInterval = 5*time.Minute, time.Hour
	fs.StringVar(&c.objectStore, "object-store", "local", "where trails deliver: local (under --data) or s3 (CAIRN_S3_ENDPOINT, CAIRN_S3_REGION, CAIRN_S3_ACCESS_KEY_ID, CAIRN_S3_SECRET_ACCESS_KEY)")
	fs.Var(durationFlag{&c.deliveryInterval}, "delivery-interval", "how often trails deliver log files (AWS: about 5m)")
	fs.Var(durationFlag{&c.digestInterval}, "digest-interval", "the span of each digest file (AWS: 1h)")
	fs.BoolVar(&c.createBuckets, "create-buckets", true, "CreateTrail and UpdateTrail create a missing bucket (as the console does); false answers S3BucketDoesNotExistException")
	fs.IntVar(&c.maxTrails, "max-trails-per-region", 5, "trails per account and region (AWS: 5)")
	fs.Func("lifecycle-rule", "object lifecycle rule BUCKET[/PREFIX]:expire=Nd,cold=Nd (repeatable)", func(v string) error {
		r, err := objstore.ParseRule(v)
		if err != nil {
			return err
		}
		c.lifecycle = append(c.lifecycle, r)
		return nil
	})
}

// demoIntervals makes the demo deliver within seconds (10s log files, 1m digests) unless the
// intervals were given.
func (c *serveConfig) demoIntervals(fs *flag.FlagSet) {
	if !c.demo {
		return
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["delivery-interval"] {
		c.deliveryInterval = 10 * time.Second
	}
	if !set["digest-interval"] {
		c.digestInterval = time.Minute
	}
}

func (c *serveConfig) validateTrails() []string {
	var problems []string
	if c.objectStore != "local" && c.objectStore != "s3" {
		problems = append(problems, fmt.Sprintf("--object-store %q: want local or s3", c.objectStore))
	}
	if c.deliveryInterval < time.Second || c.deliveryInterval > time.Hour {
		problems = append(problems, fmt.Sprintf("--delivery-interval %v: must be between 1s and 1h", c.deliveryInterval))
	}
	if c.digestInterval < time.Second || c.digestInterval > 24*time.Hour {
		problems = append(problems, fmt.Sprintf("--digest-interval %v: must be between 1s and 24h", c.digestInterval))
	}
	if c.maxTrails < 1 {
		problems = append(problems, fmt.Sprintf("--max-trails-per-region %d: must be at least 1", c.maxTrails))
	}
	return problems
}

// openObjectStore opens the object store the flags and environment name.
func openObjectStore(kind, data string) (objstore.Store, error) {
	if kind == "s3" {
		return s3.New(s3.Config{
			Endpoint: os.Getenv("CAIRN_S3_ENDPOINT"), Region: os.Getenv("CAIRN_S3_REGION"),
			AccessKeyID: os.Getenv("CAIRN_S3_ACCESS_KEY_ID"), SecretAccessKey: os.Getenv("CAIRN_S3_SECRET_ACCESS_KEY"),
		})
	}
	return local.New(filepath.Join(data, "objects"), filepath.Join(data, "objects-cold"))
}

type trails struct {
	store    *trail.Store
	delivery *trail.Deliverer
	objects  objstore.Store
	keys     *integrity.Keyring
}

func openTrails(ctx context.Context, cfg serveConfig, db *sql.DB, j *journal.Journal, log *slog.Logger) (*trails, error) {
	objects, err := openObjectStore(cfg.objectStore, cfg.data)
	if err != nil {
		return nil, err
	}
	keys, err := integrity.OpenKeyring(filepath.Join(cfg.data, "keys", "digest"), 0)
	if err != nil {
		return nil, err
	}
	store := trail.NewStore(db, trail.Limits{TrailsPerRegion: cfg.maxTrails})
	d := trail.NewDeliverer(j, store, objects, keys, trail.DeliveryOptions{Interval: cfg.deliveryInterval, DigestInterval: cfg.digestInterval, Logger: log})
	return &trails{store: store, delivery: d, objects: objects, keys: keys}, nil
}

// runLifecycle applies lifecycle rules hourly.
func runLifecycle(ctx context.Context, s objstore.Store, rules []objstore.Rule, log *slog.Logger) error {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		tr, ex, err := objstore.ApplyLifecycle(ctx, s, rules, time.Now())
		if err != nil && ctx.Err() == nil {
			log.Warn("object lifecycle", "err", err)
		} else if tr+ex > 0 {
			log.Info("object lifecycle", "transitioned", tr, "expired", ex)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
