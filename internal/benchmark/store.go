package benchmark

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hisoka-project/hisoka/internal/loggen"
	"github.com/hisoka-project/hisoka/matcher"
	"github.com/hisoka-project/hisoka/store"
	"github.com/hisoka-project/hisoka/store/embedded"
	"github.com/hisoka-project/hisoka/store/redis"
)

// ErrRedisURL is returned by [Run] for a Redis URL it cannot use (the URL
// itself is left out of the message: it may hold a password).
var ErrRedisURL = errors.New("benchmark: the Redis URL is not a valid redis:// or rediss:// URL")

// batchSize is how many records one append carries.
const batchSize = 1000

// benchTenant is the tenant the store measurements write to.
const benchTenant = "bench"

// redisTarget is the Redis server given by the user; everything written
// goes under prefix and is deleted by close.
type redisTarget struct {
	client *goredis.Client
	prefix string
}

func openRedis(ctx context.Context, url string) (*redisTarget, error) {
	opt, err := goredis.ParseURL(url)
	if err != nil {
		return nil, ErrRedisURL
	}
	c := goredis.NewClient(opt)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("benchmark: Redis: %w", err)
	}
	var b [8]byte
	rand.Read(b[:])
	return &redisTarget{client: c, prefix: "hisoka-bench-" + hex.EncodeToString(b[:]) + ":"}, nil
}

// close deletes the keys written under the prefix and closes the client.
func (t *redisTarget) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	it := t.client.Scan(ctx, 0, t.prefix+"*", 1000).Iterator()
	var keys []string
	for it.Next(ctx) {
		keys = append(keys, it.Val())
	}
	err := it.Err()
	for len(keys) > 0 && err == nil {
		k := keys[:min(len(keys), 1000)]
		keys = keys[len(k):]
		err = t.client.Del(ctx, k...).Err()
	}
	return errors.Join(err, t.client.Close())
}

// severity maps log levels to syslog severities, as the server's intake
// does.
var severity = map[string]uint8{
	"EMERG": 0, "ALERT": 1, "CRITICAL": 2, "FATAL": 2, "ERROR": 3, "WARNING": 4, "WARN": 4,
	"NOTICE": 5, "AUDIT": 5, "INFO": 6, "DEBUG": 7, "TRACE": 7,
}

// record is the stored form of a platform line received from 127.0.0.1:
// time, host, component and severity as the parser reads them, and the
// OpenStack ids as searchable fields (what the server's intake keeps).
func record(p *matcher.Parser, line string) store.Record {
	mr, _ := p.ParseOrRaw([]byte(line))
	rec := store.Record{Time: mr.Time, Received: mr.Time.Add(200 * time.Millisecond), Host: string(mr.Host),
		App: string(mr.Component), Severity: 6, Source: "127.0.0.1", Line: line}
	if s, ok := severity[string(mr.Level)]; ok {
		rec.Severity = s
	}
	if rec.Host == "" {
		rec.Host = rec.Source
	}
	for _, f := range []struct {
		k string
		v []byte
	}{{"request_id", mr.RequestID}, {"user", mr.UserID}, {"project", mr.ProjectID}, {"instance", mr.Instance}, {"volume", mr.Volume}, {"addr", mr.Addr}} {
		if len(f.v) > 0 {
			if rec.Fields == nil {
				rec.Fields = map[string]string{}
			}
			rec.Fields[f.k] = string(f.v)
		}
	}
	return rec
}

// dataSet is platform log generated day after day (a busy site: 200 VM
// creations a day, their operations, periodic tasks, API polling and a few
// faults) as stored records, handed out in batches.
type dataSet struct {
	start time.Time
	first time.Time // of the records handed out
	last  time.Time
	raw   int // bytes of the lines handed out, with their newlines
	// targets is a uniform sample of the lines naming an instance: what an
	// operator looks up.
	targets []target
	seen    int // lines naming an instance
	rng     *mrand.Rand
}

// target is a line to look up: its time, and the ids it names.
type target struct {
	at                  time.Time
	instance, requestID string
}

const maxTargets = 4096

// fill hands n records to fn in batches of batchSize.
func (d *dataSet) fill(n int, fn func([]store.Record) error) error {
	d.rng = mrand.New(mrand.NewPCG(1, 2))
	done := 0
	for day := 0; done < n; day++ {
		from := d.start.Add(time.Duration(day) * 24 * time.Hour)
		// About 4,000 lines an hour: generate no more than needed.
		dur := min(24*time.Hour, time.Duration((n-done)/3000+1)*time.Hour)
		g := loggen.Generate(loggen.Config{Seed: uint64(day + 1), Start: from, Duration: dur, VMs: int(200 * dur / (24 * time.Hour)),
			Projects: 8, Computes: 12, Ops: true, Faults: loggen.Faults{BrokenOff: 1, Slow: 1, BruteForce: 2, BridgeDown: 1}})
		p := &matcher.Parser{Reference: from}
		batch := make([]store.Record, 0, batchSize)
		for _, l := range g.Lines {
			if done+len(batch) == n {
				break
			}
			rec := record(p, l.Text)
			if rec.Time.IsZero() {
				rec.Time, rec.Received = l.Time, l.Time
			}
			if d.first.IsZero() {
				d.first = rec.Time
			}
			if rec.Time.After(d.last) {
				d.last = rec.Time
			}
			d.raw += len(rec.Line) + 1
			if id := rec.Fields["instance"]; id != "" {
				d.sample(target{at: rec.Time, instance: id, requestID: rec.Fields["request_id"]})
			}
			if batch = append(batch, rec); len(batch) == batchSize {
				if err := fn(batch); err != nil {
					return err
				}
				done += len(batch)
				batch = make([]store.Record, 0, batchSize)
			}
		}
		if len(batch) > 0 {
			if err := fn(batch); err != nil {
				return err
			}
			done += len(batch)
		}
	}
	return nil
}

// sample keeps t in a uniform sample of maxTargets (reservoir sampling).
func (d *dataSet) sample(t target) {
	d.seen++
	if len(d.targets) < maxTargets {
		d.targets = append(d.targets, t)
	} else if i := d.rng.IntN(d.seen); i < maxTargets {
		d.targets[i] = t
	}
}

var dataStart = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

func signer() (ed25519.PrivateKey, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("benchmark: %w", err)
	}
	return key, nil
}

// appends measures durable appends of batches of parsed platform lines on
// the embedded store, and on Redis when rdb is set.
func (r *runner) appends(rdb *redisTarget) error {
	var batches [][]store.Record
	ds := &dataSet{start: dataStart}
	if err := ds.fill(16*batchSize, func(b []store.Record) error { batches = append(batches, b); return nil }); err != nil {
		return err
	}
	key, err := signer()
	if err != nil {
		return err
	}
	detail := fmt.Sprintf("durable batches of %d parsed platform lines (%d bytes a line), one tenant", batchSize, ds.raw/(len(batches)*batchSize))
	measure := func(id, name string, st store.Appender) error {
		i := 0
		n, secs, err := r.rate(func() (int, error) {
			b := batches[i%len(batches)]
			i++
			if _, _, err := st.Append(r.ctx, benchTenant, b); err != nil {
				return 0, fmt.Errorf("benchmark: %s: %w", name, err)
			}
			return len(b), nil
		})
		if err != nil {
			return err
		}
		r.add(Result{ID: id, Name: name, Value: float64(n) / secs, Unit: "records/s", Parallelism: OneGoroutine,
			Detail: detail, Count: n, Seconds: secs})
		return nil
	}

	r.say("store appends, embedded")
	db, err := embedded.Open(filepath.Join(r.dir, "appends"), embedded.Options{Signer: key})
	if err != nil {
		return fmt.Errorf("benchmark: embedded store: %w", err)
	}
	err = measure("append_embedded", "store appends, embedded", db)
	if cerr := db.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("benchmark: embedded store: %w", cerr)
	}
	if err != nil || rdb == nil {
		return err
	}
	r.say("store appends, Redis")
	rs, err := redis.New(redis.Options{Client: rdb.client, Prefix: rdb.prefix, Signer: key})
	if err != nil {
		return fmt.Errorf("benchmark: Redis store: %w", err)
	}
	return measure("append_redis", "store appends, Redis", rs)
}

// query fills an embedded store with plan.queryLines records, measures the
// latency of one-hour, one-term queries over it, and how many bytes it
// holds on disk per line once closed.
func (r *runner) query() error {
	r.say("query: filling an embedded store with %d lines", r.plan.queryLines)
	key, err := signer()
	if err != nil {
		return err
	}
	dir := filepath.Join(r.dir, "query")
	db, err := embedded.Open(dir, embedded.Options{Signer: key})
	if err != nil {
		return fmt.Errorf("benchmark: embedded store: %w", err)
	}
	ds := &dataSet{start: dataStart}
	err = ds.fill(r.plan.queryLines, func(b []store.Record) error {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		if _, _, err := db.Append(r.ctx, benchTenant, b); err != nil {
			return fmt.Errorf("benchmark: filling the query store: %w", err)
		}
		return nil
	})
	if err == nil {
		r.say("query: %d queries", r.plan.queries)
		err = r.queries(db, ds)
	}
	if cerr := db.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("benchmark: embedded store: %w", cerr)
	}
	if err != nil {
		return err
	}
	size, err := dirSize(dir)
	if err != nil {
		return fmt.Errorf("benchmark: %w", err)
	}
	n := r.plan.queryLines
	r.add(Result{ID: "bytes_per_line", Name: "bytes stored per line, embedded, on disk", Value: float64(size) / float64(n), Unit: "bytes",
		Parallelism: OneGoroutine, Count: n,
		Detail: fmt.Sprintf("%s lines of %d raw bytes each on average: %.3f of the raw size, the store directory once closed",
			count(n), ds.raw/n, float64(size)/float64(ds.raw))})
	return nil
}

// queries runs the query latency measurement on a filled store: a tenth of
// the queries as warm-up, then the plan's count.
func (r *runner) queries(s store.Searcher, ds *dataSet) error {
	if len(ds.targets) == 0 {
		return errors.New("benchmark: the query data set names no instance")
	}
	rng := mrand.New(mrand.NewPCG(3, 4))
	one := func(i int) (time.Duration, int, error) {
		// Half the queries look a VM up, half a request, in an hour
		// where it logged.
		t := ds.targets[rng.IntN(len(ds.targets))]
		from := t.at.Truncate(time.Hour)
		term := t.instance
		if i%2 == 1 && t.requestID != "" {
			term = t.requestID
		}
		t0 := time.Now()
		p, err := s.Query(r.ctx, benchTenant, store.Query{From: from, To: from.Add(time.Hour), Terms: []string{term}, Limit: 100})
		if err != nil {
			return 0, 0, fmt.Errorf("benchmark: query: %w", err)
		}
		d := time.Since(t0)
		if len(p.Records) == 0 {
			return 0, 0, errQueryMissed
		}
		return d, len(p.Records), nil
	}
	for i := range max(1, r.plan.queries/10) {
		if _, _, err := one(i); err != nil {
			return err
		}
	}
	samples := make([]time.Duration, 0, r.plan.queries)
	hits := 0
	start := time.Now()
	for i := range r.plan.queries {
		d, n, err := one(i)
		if err != nil {
			return err
		}
		samples = append(samples, d)
		hits += n
	}
	secs := time.Since(start).Seconds()
	l := latency(samples)
	r.add(Result{ID: "query_p95", Name: "query p95, one hour + one term", Value: l.P95, Unit: "ms", Parallelism: OneGoroutine,
		Detail: fmt.Sprintf("%s lines over %s; an instance or request id, in an hour where it logged, at most 100 records (%.1f on average); p50 %.2f ms, p99 %.2f ms",
			count(r.plan.queryLines), span(ds.last.Sub(ds.first)), float64(hits)/float64(len(samples)), l.P50, l.P99),
		Count: len(samples), Seconds: secs, Latency: l})
	return nil
}

// errQueryMissed means a query for a line the store holds found nothing.
var errQueryMissed = errors.New("benchmark: a query found no record, though it looked for a stored line")

func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err == nil {
			n += fi.Size()
		}
		return err
	})
	return n, err
}

// span writes d in hours, or in days from two days up.
func span(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%.0f days", d.Hours()/24)
	}
	return fmt.Sprintf("%.0f hours", d.Hours())
}

// count writes n as 20k or 1M.
func count(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}
