package server

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hisoka-project/hisoka/crypto"
	"github.com/hisoka-project/hisoka/matcher"
	"github.com/hisoka-project/hisoka/server/internal/alerts"
	"github.com/hisoka-project/hisoka/spec"
	"github.com/hisoka-project/hisoka/store"
)

// pipelineState names the store state blob of a stream's pipeline: its
// cursor (last processed seq) and the engine state, saved together.
func pipelineState(stream string) string {
	if stream == spec.TenantPlatform {
		return "pipeline/platform"
	}
	return "pipeline/tenant/" + hex.EncodeToString([]byte(stream))
}

const (
	// pipelineChunk is how many records the pipeline reads at once.
	pipelineChunk = 32768
	// saveEvery bounds how often the engine state is saved while busy; a
	// restart replays at most this much and skips detections already on
	// boards.
	saveEvery = 2 * time.Second
	// liveWithin: the engine's clock is advanced with the wall clock only
	// when its input is this recent (live logs, not a replay of old ones).
	liveWithin = time.Hour
	// advanceGrace is how far behind the wall clock the engine is advanced,
	// for lines still in flight.
	advanceGrace = 5 * time.Second
)

type pipelineSaved struct {
	Catalog uint64 `json:"catalog"`
	Cursor  uint64 `json:"cursor"`
	Engine  []byte `json:"engine,omitempty"`
}

// pipeline tails one stream from its persisted cursor through the matcher
// engine of the published catalogue, and turns detections into board
// entries for their owners: for the platform stream the owner of the
// detection's resource or project; for a tenant's own VM logs, that tenant.
type pipeline struct {
	svc    *service
	stream string

	engine  *matcher.Engine
	catalog uint64 // version the engine runs
	parser  matcher.Parser
	heat    *heatCounter // platform only: lines per component per minute

	active   atomic.Bool   // an engine runs (for lagging, read by ingest)
	cursor   atomic.Uint64 // last processed platform seq
	appended atomic.Uint64 // last appended platform seq
	wakeCh   chan struct{}
	reloadCh chan struct{}

	// handoff holds records just appended (by first seq), so the pipeline
	// need not read back from the store what it was handed; it falls back
	// to the store for anything missing (a restart, a full handoff).
	hmu     sync.Mutex
	handoff map[uint64][]store.Record
	handed  int
	saved   time.Time
	dirty   bool

	// unposted holds detections the engine emitted that handleDetections
	// could not store yet, and unpostedSeq the cursor they complete (0
	// when they came from a clock advance). They are retried on their own
	// before anything else, so the engine never sees a record twice; the
	// state is not saved while any are held, so a crash replays them.
	unposted    []matcher.Detection
	unpostedSeq uint64
}

// errUnposted refuses to save the pipeline's state while detections the
// engine has already emitted are not stored.
var errUnposted = errors.New("server: detections not yet stored")

func newPipeline(svc *service, stream string) *pipeline {
	p := &pipeline{svc: svc, stream: stream, handoff: map[uint64][]store.Record{}, wakeCh: make(chan struct{}, 1), reloadCh: make(chan struct{}, 1)}
	if stream == spec.TenantPlatform {
		p.heat = newHeatCounter(svc.st)
	}
	return p
}

func (p *pipeline) wake() {
	select {
	case p.wakeCh <- struct{}{}:
	default:
	}
}

// reload asks the pipeline to run the newly published catalogue.
func (p *pipeline) reload() {
	select {
	case p.reloadCh <- struct{}{}:
	default:
	}
	p.wake()
}

// lagging reports whether ingestion of platform lines should wait.
func (p *pipeline) lagging() bool {
	return p.active.Load() && p.appended.Load() > p.cursor.Load()+uint64(p.svc.s.cfg.Limits.MaxPipelineLag)
}

// maxHandoff bounds the records held for the pipeline in memory.
const maxHandoff = 1 << 18

// offer hands the pipeline records just appended as first, first+1, ...
func (p *pipeline) offer(first uint64, recs []store.Record) {
	if !p.active.Load() {
		return
	}
	p.hmu.Lock()
	if p.handed+len(recs) <= maxHandoff {
		p.handoff[first] = recs
		p.handed += len(recs)
	}
	p.hmu.Unlock()
}

// take returns handed-off records that follow after (numbered), or nil,
// and forgets those already behind it.
func (p *pipeline) take(after uint64) []store.Record {
	p.hmu.Lock()
	defer p.hmu.Unlock()
	for first, recs := range p.handoff {
		if first <= after {
			delete(p.handoff, first)
			p.handed -= len(recs)
		}
	}
	recs, ok := p.handoff[after+1]
	if !ok {
		return nil
	}
	delete(p.handoff, after+1)
	p.handed -= len(recs)
	for i := range recs {
		recs[i].Seq = after + 1 + uint64(i)
	}
	return recs
}

// noteAppended records the last appended seq of the stream.
func (p *pipeline) noteAppended(last uint64) {
	for {
		cur := p.appended.Load()
		if last <= cur || p.appended.CompareAndSwap(cur, last) {
			break
		}
	}
	p.wake()
}

// load restores the cursor and the engine of the published catalogue.
func (p *pipeline) load(ctx context.Context) error {
	st := p.svc.st
	u, err := st.Usage(ctx, p.stream)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	p.appended.Store(u.Last)
	var saved pipelineSaved
	blob, err := st.GetState(ctx, pipelineState(p.stream))
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return err
	default:
		if err := json.Unmarshal(blob, &saved); err != nil {
			return fmt.Errorf("server: pipeline state: %w", store.ErrCorrupt)
		}
	}
	p.cursor.Store(saved.Cursor)
	if err := p.loadCatalog(ctx); err != nil {
		return err
	}
	if p.engine != nil && saved.Catalog == p.catalog && len(saved.Engine) > 0 {
		if err := p.engine.RestoreState(saved.Engine); err != nil {
			p.svc.s.log.Warn("pipeline state not restored; starting the engine afresh", "err", err)
			if err := p.newEngine(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *pipeline) loadCatalog(ctx context.Context) error {
	v, data, err := p.svc.st.Published(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	cat, err := matcher.ParseCatalog(data)
	if err != nil {
		return err
	}
	eng, err := matcher.NewEngine(cat, matcher.Options{})
	if err != nil {
		return err
	}
	p.engine, p.catalog = eng, v
	p.active.Store(true)
	return nil
}

func (p *pipeline) newEngine(ctx context.Context) error {
	p.engine = nil
	return p.loadCatalog(ctx)
}

func (p *pipeline) run(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	defer func() {
		if err := p.save(context.WithoutCancel(ctx)); err != nil {
			p.svc.s.log.Error("pipeline state not saved", "err", err)
		}
	}()
	backoff := time.Duration(0)
	for {
		select {
		case <-p.reloadCh:
			if err := p.save(ctx); err != nil {
				// Not now: the old engine's state must be saved first.
				select {
				case p.reloadCh <- struct{}{}:
				default:
				}
			} else if err := p.newEngine(ctx); err != nil {
				p.svc.s.log.Error("catalogue reload failed", "err", err)
			}
		default:
		}
		n, err := p.step(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			p.svc.s.log.Error("pipeline step failed", "err", err)
			backoff = min(max(2*backoff, 100*time.Millisecond), 5*time.Second)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			continue
		}
		backoff = 0
		if n > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-p.wakeCh:
		case <-tick.C:
			if err := p.idle(ctx); err != nil && ctx.Err() == nil {
				p.svc.s.log.Error("pipeline tick failed", "err", err)
			}
		}
	}
}

// step processes one chunk of platform records; it returns how many.
func (p *pipeline) step(ctx context.Context) (int, error) {
	if p.unposted != nil {
		if err := p.post(ctx, p.unposted, p.unpostedSeq); err != nil {
			return 0, err
		}
	}
	cursor := p.cursor.Load()
	recs := p.take(cursor)
	if recs == nil {
		start := time.Now()
		var err error
		if recs, err = p.svc.st.ReadAfter(ctx, p.stream, cursor, pipelineChunk); err != nil {
			return 0, err
		}
		p.svc.s.metrics.ObserveStore("read_after", start)
	}
	if len(recs) == 0 {
		p.svc.s.metrics.PipelineLag.WithLabelValues("matcher").Set(0)
		return 0, nil
	}
	if p.heat != nil {
		if err := p.heat.prepare(ctx, recs); err != nil {
			return 0, err
		}
	}
	last := recs[len(recs)-1]
	if p.engine != nil || p.heat != nil {
		var dets []matcher.Detection
		for i := range recs {
			r := &recs[i]
			mr, _ := p.parser.ParseOrRaw([]byte(r.Line))
			mr.Seq = r.Seq
			// The stored event time, resolved once at ingest (sender's
			// time, the line's, or the receive time; year-less stamps
			// placed then), so a replay sees exactly the same times.
			mr.Time = r.Time
			if p.heat != nil {
				p.heat.add(r.Seq, r.Time, mr.Component)
			}
			if p.engine == nil {
				continue
			}
			for _, d := range p.engine.Process(&mr) {
				dets = append(dets, cloneDetection(d))
			}
		}
		if err := p.post(ctx, dets, last.Seq); err != nil {
			return 0, err
		}
	}
	p.advanced(last)
	if time.Since(p.saved) >= saveEvery || (p.engine == nil && p.heat == nil) { // the heat counts are worth a write only now and then
		if err := p.save(ctx); err != nil {
			return 0, err
		}
	}
	return len(recs), nil
}

// post stores detections through handleDetections and then moves the
// cursor to seq (0: leaves it). On failure it keeps them as unposted, to be
// retried as they are: the engine has already taken in what produced them.
func (p *pipeline) post(ctx context.Context, dets []matcher.Detection, seq uint64) error {
	if err := p.svc.handleDetections(ctx, p.stream, dets); err != nil {
		p.unposted, p.unpostedSeq = dets, seq
		return err
	}
	p.unposted, p.unpostedSeq = nil, 0
	p.dirty = true
	if seq > p.cursor.Load() {
		p.cursor.Store(seq)
	}
	return nil
}

// advanced moves the cursor past a processed chunk and sets the lag gauge.
func (p *pipeline) advanced(last store.Record) {
	p.cursor.Store(last.Seq)
	if p.appended.Load() > last.Seq {
		p.svc.s.metrics.PipelineLag.WithLabelValues("matcher").Set(time.Since(last.Received).Seconds())
	} else {
		p.svc.s.metrics.PipelineLag.WithLabelValues("matcher").Set(0)
	}
}

// idle advances a live engine's clock, closing windows that time out.
func (p *pipeline) idle(ctx context.Context) error {
	if p.unposted != nil {
		if err := p.post(ctx, p.unposted, p.unpostedSeq); err != nil {
			return err
		}
	}
	if p.engine != nil {
		now := p.svc.now()
		if en := p.engine.Now(); !en.IsZero() && now.Sub(en) < liveWithin {
			if dets := p.engine.Advance(now.Add(-advanceGrace)); len(dets) > 0 {
				cp := make([]matcher.Detection, len(dets))
				for i, d := range dets {
					cp[i] = cloneDetection(d)
				}
				if err := p.post(ctx, cp, 0); err != nil {
					return err
				}
			}
		}
	}
	if p.dirty { // idle streams write nothing
		return p.save(ctx)
	}
	return nil
}

func (p *pipeline) save(ctx context.Context) error {
	if p.unposted != nil {
		return errUnposted
	}
	if p.heat != nil { // first: the counts cover at least the saved cursor
		if err := p.heat.save(ctx); err != nil {
			return err
		}
	}
	s := pipelineSaved{Catalog: p.catalog, Cursor: p.cursor.Load()}
	if p.engine != nil {
		b, err := p.engine.SaveState()
		if err != nil {
			return err
		}
		s.Engine = b
	}
	blob, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if err := p.svc.st.PutState(ctx, pipelineState(p.stream), blob); err != nil {
		return err
	}
	p.saved, p.dirty = time.Now(), false
	return nil
}

// permanent reports errors of the token protocol about its inputs, which
// no retry can fix; store and context errors are retried.
func permanent(err error) bool {
	return errors.Is(err, crypto.ErrMalformed) || errors.Is(err, crypto.ErrTooLarge) || errors.Is(err, crypto.ErrEmpty)
}

func cloneDetection(d matcher.Detection) matcher.Detection {
	d.Lines = slices.Clone(d.Lines)
	d.Samples = slices.Clone(d.Samples)
	d.Compliance = slices.Clone(d.Compliance)
	d.Related = slices.Clone(d.Related)
	return d
}

// handleDetections sends the platform's anomalies to the operators'
// "anomalies" stream, its other detections to the operators' "detections"
// stream, and every detection with an owner to the owner's board. A
// tenant's own logs notify that tenant only; their residual anomalies
// (which carry the tenant's lines) are not sent anywhere.
func (svc *service) handleDetections(ctx context.Context, stream string, dets []matcher.Detection) error {
	if len(dets) == 0 {
		return nil
	}
	byOwner := map[string][]matcher.Detection{}
	var owners []string
	var anomalies, records []store.Record
	var sends []alerts.Alert
	now := svc.now()
	for _, d := range dets {
		if d.Kind == matcher.KindAnomaly && stream != spec.TenantPlatform {
			continue
		}
		if d.Kind == matcher.KindAnomaly {
			line, err := json.Marshal(d)
			if err != nil {
				return err
			}
			if len(line) > store.MaxLineLen {
				d.Samples = nil
				line, _ = json.Marshal(d)
			}
			sends = append(sends, alerts.Alert{DetectionID: d.DetectionID, Kind: string(d.Kind), ID: d.ID, Stream: stream,
				Resource: d.Resource, Start: d.Start, End: d.End, Severity: d.Severity, Count: d.Count, Component: d.Component})
			anomalies = append(anomalies, detectionRecord(d, now, line))
			continue
		}
		owner := stream
		if stream == spec.TenantPlatform {
			owner = svc.owner(ctx, &d)
			line, err := json.Marshal(spec.DetectionRecord{DetectionID: d.DetectionID, Kind: string(d.Kind), ID: d.ID, Reason: d.Reason,
				Resource: d.Resource, Owner: owner, Component: d.Component, Start: d.Start, End: d.End, Count: d.Count,
				Severity: d.Severity, Compliance: d.Compliance})
			if err != nil {
				return err
			}
			records = append(records, detectionRecord(d, now, line))
		}
		if stream == spec.TenantPlatform {
			sends = append(sends, alerts.Alert{DetectionID: d.DetectionID, Kind: string(d.Kind), ID: d.ID, Reason: d.Reason, Stream: stream, Tenant: owner,
				Resource: d.Resource, Start: d.Start, End: d.End, Severity: d.Severity, Count: d.Count, Compliance: d.Compliance, Component: d.Component})
		}
		if owner == "" {
			continue
		}
		if _, ok := byOwner[owner]; !ok {
			owners = append(owners, owner)
		}
		byOwner[owner] = append(byOwner[owner], d)
	}
	if err := svc.appendOnce(ctx, spec.TenantAnomalies, anomalies); err != nil {
		return err
	}
	if err := svc.appendOnce(ctx, spec.TenantDetections, records); err != nil {
		return err
	}
	for _, o := range owners {
		if err := svc.boards.publish(ctx, o, byOwner[o], stream != spec.TenantPlatform); err != nil {
			if permanent(err) { // retrying cannot help: skip rather than stall the stream
				svc.s.log.Error("detections not posted", "err", err, "count", len(byOwner[o]))
				continue
			}
			return err
		}
	}
	// Counted and alerted only once everything is stored: a failed post is
	// retried (see pipeline.post) and must not alert or count again.
	for _, d := range dets {
		svc.s.metrics.Detections.WithLabelValues(severityLabel(d.Severity)).Inc()
	}
	if svc.alerts != nil {
		for _, a := range sends {
			svc.alerts.Send(a)
		}
	}
	return nil
}

// detectionField names the record field holding a detection's id in the
// "anomalies" and "detections" streams.
const detectionField = "detection"

// detectionRecord is the stored record of a detection: its JSON line at
// its start time, with its kind, id and detection id as fields.
func detectionRecord(d matcher.Detection, now time.Time, line []byte) store.Record {
	return store.Record{Time: d.Start, Received: now, App: "matcher", Severity: 4, Line: string(line),
		Fields: map[string]string{"kind": string(d.Kind), "id": d.ID, detectionField: d.DetectionID}}
}

// appendOnce appends detection records to a stream, leaving out those
// whose detection id is already there: a pipeline replaying lines after a
// restart finds the same detections (same ids, same start times), so each
// is stored once. Only the platform pipeline writes these streams, so the
// check and the append do not race. The check reads only the records at
// the exact event times of recs (a record is stored at its detection's
// start), so it stays cheap however many detections the stream holds
// around them, as when the same hour of logs is sent again and again.
func (svc *service) appendOnce(ctx context.Context, stream string, recs []store.Record) error {
	if len(recs) == 0 {
		return nil
	}
	seen := map[string]bool{}
	times := map[time.Time]bool{}
	for _, r := range recs {
		t := r.Time.UTC()
		if times[t] {
			continue
		}
		times[t] = true
		q := store.Query{From: t, To: t.Add(time.Nanosecond), Limit: store.MaxLimit}
		for {
			page, err := svc.st.Query(ctx, stream, q)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			for _, r := range page.Records {
				seen[r.Fields[detectionField]] = true
			}
			if page.Next == "" {
				break
			}
			q.Cursor = page.Next
		}
	}
	fresh := recs[:0]
	for _, r := range recs {
		if id := r.Fields[detectionField]; !seen[id] {
			seen[id] = true
			fresh = append(fresh, r)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	_, _, err := svc.st.Append(ctx, stream, fresh)
	return err
}

// owner finds the tenant a detection is about: the resource's owner in the
// resource map, else the tenant registered for the detection's project.
func (svc *service) owner(ctx context.Context, d *matcher.Detection) string {
	if d.Resource != "" {
		r, err := svc.st.GetResource(ctx, d.Resource)
		if err == nil && r.Tenant != "" && !spec.Reserved(r.Tenant) {
			return r.Tenant
		}
	}
	if d.Tenant != "" {
		if t := (*svc.projects.Load())[d.Tenant]; t != "" {
			return t
		}
	}
	return ""
}
