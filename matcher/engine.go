package matcher

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"time"
)

// TimeRange is an absolute maintenance window.
type TimeRange struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Options tune an [Engine].
type Options struct {
	// Maintenance windows apply to every schedule rule, in addition to the
	// rule's own recurring windows.
	Maintenance []TimeRange
	// Samples is how many sample lines an anomaly keeps (default 3).
	Samples int
}

// Engine runs a catalogue over one ordered stream of records (the
// platform's, or one tenant's VM logs). It is deterministic and not safe
// for concurrent use. Memory is bounded by the templates, the open pattern
// occurrences and rule windows, and the current residual window.
type Engine struct {
	cat      *Catalog
	opt      Options
	window   time.Duration
	miner    *Miner
	pats     []*cpattern
	rules    []*crule
	lineRule []int32 // rules evaluated on every line (no template condition)
	bgTmpl   [][]string
	bgComp   map[string]bool
	compEl   map[string][]elemRef // component-only pattern elements
	metas    []tmeta

	s       engineState
	out     []Detection
	lastT   int32
	keyBuf  []byte
	absence []int32 // absence rules
	// comps caches what depends on the component alone (one lookup per
	// line instead of one per rule); at most maxCompCache entries.
	comps   map[string]*compInfo
	compTmp compInfo // scratch for components beyond the cache
	// freeOccs holds closed occurrences for reuse.
	freeOccs []*occ
	// silent[j] bounds when absence rule e.absence[j] can next find a
	// silent source, so the per-second check skips its sources until then.
	silent []silentCheck
}

// silentCheck is the earliest time any watched source of an absence rule
// can be found silent. Not saved: unknown (zero) means check now.
type silentCheck struct {
	known  bool
	none   bool // no source is watched: only a new observation can change it
	at     time.Time
	atUnix int64 // at.Unix(), for a quick test that an observation cannot lower at
}

// silentDeadline is a time no later than the one at which s is found
// silent (now - Last > intervals × Mean), with a millisecond to spare for
// rounding; a window beyond 1e9 s is capped (an earlier bound is safe).
func silentDeadline(s *source, intervals float64) time.Time {
	w := intervals * s.Mean
	if !(w > 0) {
		return s.Last
	}
	w = min(w, 1e9)
	return s.Last.Add(time.Duration(w*float64(time.Second)) - time.Millisecond)
}

// compInfo is what the engine derives from a component name.
type compInfo struct {
	// mask: which line rules its component filter lets through (bit i
	// for e.lineRule[i]; all bits beyond 64 rules, which check for
	// themselves).
	mask uint64
	refs []elemRef // component-only pattern elements
	bg   bool      // a background component
	// absOK[j]: absence rule e.absence[j] watches this component; src[j]
	// its source when the rule's key is the component itself (nil until
	// seen, or when not cached).
	absOK []bool
	src   []*source
}

const maxCompCache = 4096

type engineState struct {
	Now      time.Time
	Seq      uint64
	NextTick time.Time
	WinStart time.Time
	Occs     []map[string]*occ
	Resid    map[int32]*resGroup
	// Instances maps instance → project; Projects counts live instances.
	Instances map[string]string
	Freq      []map[string]*freqState
	// Sources holds, per absence rule, each source's interval statistics.
	Sources []map[string]*source
	Stats   Stats
	// NextExpire is the earliest time an open occurrence can time out;
	// NextPrune the next time frequency windows are pruned.
	NextExpire time.Time
	NextPrune  time.Time
}

// Stats counts what the engine has seen.
type Stats struct {
	Lines     uint64 `json:"lines"`
	Unparsed  uint64 `json:"unparsed"`
	Periodic  uint64 `json:"periodic"`
	Matched   uint64 `json:"matched"`
	Residual  uint64 `json:"residual"`
	Templates int    `json:"templates"`
}

type cpattern struct {
	p        *Pattern
	steps    []int // element index of each expanded step
	elems    [][]string
	comps    []string
	window   time.Duration
	slow     time.Duration
	thresh   float64
	schedule []int32 // schedule rules fired by this pattern
}

type elemRef struct {
	pat   int32
	steps []int
}

type tmeta struct {
	ready      bool
	refs       []elemRef
	background bool
	rules      []int32
	// comp/ci: the component that last logged this template and its
	// cached information (a template nearly always comes from one
	// component, so this saves the map lookup).
	comp string
	ci   *compInfo
}

type occ struct {
	Pat      int32     `json:"pat"`
	Resource string    `json:"resource"`
	Tenant   string    `json:"tenant,omitempty"`
	Pos      int       `json:"pos"`
	Matched  int       `json:"matched"`
	Start    time.Time `json:"start"`
	Last     time.Time `json:"last"`
	Lines    []uint64  `json:"lines"`
	Count    int       `json:"count"`
}

type resGroup struct {
	Tmpl      int32     `json:"tmpl"`
	Component string    `json:"component"`
	Count     int       `json:"count"`
	First     time.Time `json:"first"`
	Last      time.Time `json:"last"`
	FirstSeq  uint64    `json:"first_seq"`
	Lines     []uint64  `json:"lines"`
	Samples   []string  `json:"samples"`
}

type freqState struct {
	Times []time.Time `json:"times"`
	Seqs  []uint64    `json:"seqs"`
}

type source struct {
	First  time.Time `json:"first"`
	Last   time.Time `json:"last"`
	N      int       `json:"n"`
	Mean   float64   `json:"mean"` // seconds
	M2     float64   `json:"m2"`
	Silent bool      `json:"silent"`
}

type crule struct {
	r        *Rule
	tmpls    [][]string
	keywords []finder
	// kwGuard, when set, is a string every keyword contains: a message
	// without it holds none of them (one scan instead of one per keyword).
	kwGuard *finder
	comps   map[string]bool
	levels  map[string]bool
	maint   []maintWindow
}

const maxLines = 256

// NewEngine compiles a validated catalogue.
func NewEngine(c *Catalog, opt Options) (*Engine, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if opt.Samples <= 0 {
		opt.Samples = 3
	}
	e := &Engine{cat: c, opt: opt, miner: NewMiner(), bgComp: map[string]bool{}, compEl: map[string][]elemRef{}}
	e.miner.onChange = func(i int32) {
		if int(i) < len(e.metas) {
			e.metas[i] = tmeta{}
		}
	}
	e.window = c.Window.D()
	if e.window <= 0 {
		e.window = 5 * time.Second
	}
	for i := range c.Patterns {
		p := &c.Patterns[i]
		cp := &cpattern{p: p, window: p.Window.D(), slow: p.SlowAfter.D(), thresh: p.Threshold}
		if cp.thresh == 0 {
			cp.thresh = 0.8
		}
		for j, el := range p.Elements {
			cp.elems = append(cp.elems, compileTemplate(el.Template))
			cp.comps = append(cp.comps, el.Component)
			n := max(el.Count, 1)
			for k := 0; k < n; k++ {
				cp.steps = append(cp.steps, j)
			}
		}
		e.pats = append(e.pats, cp)
		for j, el := range p.Elements {
			if el.Template == "" {
				var steps []int
				for s, ej := range cp.steps {
					if ej == j {
						steps = append(steps, s)
					}
				}
				e.compEl[el.Component] = append(e.compEl[el.Component], elemRef{pat: int32(i), steps: steps})
			}
		}
	}
	for i := range c.Rules {
		r := &c.Rules[i]
		cr := &crule{r: r, comps: set(r.Match.Components), levels: set(r.Match.Levels)}
		for _, t := range r.Match.Templates {
			cr.tmpls = append(cr.tmpls, compileTemplate(t))
		}
		for _, k := range r.Match.Keywords {
			cr.keywords = append(cr.keywords, newFinder(k))
		}
		if len(r.Match.Keywords) > 1 {
			if g := commonSubstring(r.Match.Keywords); len(g) >= minGuard {
				f := newFinder(g)
				cr.kwGuard = &f
			}
		}
		for _, w := range r.Maintenance {
			mw, _ := parseMaintenance(w)
			cr.maint = append(cr.maint, mw)
		}
		e.rules = append(e.rules, cr)
		if len(cr.tmpls) == 0 && r.Type != RuleAbsence && (len(cr.keywords)+len(cr.comps)+len(cr.levels) > 0) {
			e.lineRule = append(e.lineRule, int32(i))
		}
		for _, pid := range r.Match.Patterns {
			for _, cp := range e.pats {
				if cp.p.ID == pid {
					cp.schedule = append(cp.schedule, int32(i))
				}
			}
		}
	}
	for _, b := range c.Background {
		if b.Template != "" {
			e.bgTmpl = append(e.bgTmpl, compileTemplate(b.Template))
		} else if b.Component != "" {
			e.bgComp[b.Component] = true
		}
	}
	e.s = engineState{
		Occs:      make([]map[string]*occ, len(e.pats)),
		Resid:     map[int32]*resGroup{},
		Instances: map[string]string{},
		Freq:      make([]map[string]*freqState, len(e.rules)),
		Sources:   make([]map[string]*source, len(e.rules)),
	}
	for i, cr := range e.rules {
		if cr.r.Type == RuleAbsence {
			e.absence = append(e.absence, int32(i))
			e.silent = append(e.silent, silentCheck{})
		}
		e.s.Sources[i] = map[string]*source{}
	}
	for i := range e.s.Occs {
		e.s.Occs[i] = map[string]*occ{}
	}
	for i := range e.s.Freq {
		e.s.Freq[i] = map[string]*freqState{}
	}
	return e, nil
}

func set(ss []string) map[string]bool {
	if len(ss) == 0 {
		return nil
	}
	m := map[string]bool{}
	for _, s := range ss {
		m[s] = true
	}
	return m
}

// Miner returns the engine's template miner (for template ids and text).
func (e *Engine) Miner() *Miner { return e.miner }

// LastTemplate returns the template of the record last processed, for a
// caller that indexes lines by template id.
func (e *Engine) LastTemplate() Template { return e.miner.Template(e.lastT) }

// Stats returns the counters.
func (e *Engine) Stats() Stats {
	s := e.s.Stats
	s.Templates = len(e.miner.Templates())
	return s
}

// Now is the engine's clock: the latest record time seen or advanced to.
func (e *Engine) Now() time.Time { return e.s.Now }

func (e *Engine) meta(idx int32) *tmeta {
	for int(idx) >= len(e.metas) {
		e.metas = append(e.metas, tmeta{})
	}
	m := &e.metas[idx]
	if m.ready {
		return m
	}
	t := e.miner.tmpls[idx]
	*m = tmeta{ready: true}
	for pi, cp := range e.pats {
		var steps []int
		for s, ej := range cp.steps {
			if len(cp.elems[ej]) > 0 && templateMatches(cp.elems[ej], t) {
				steps = append(steps, s)
			}
		}
		if len(steps) > 0 {
			m.refs = append(m.refs, elemRef{pat: int32(pi), steps: steps})
		}
	}
	for _, bt := range e.bgTmpl {
		if templateMatches(bt, t) {
			m.background = true
		}
	}
	for ri, cr := range e.rules {
		for _, rt := range cr.tmpls {
			if templateMatches(rt, t) {
				m.rules = append(m.rules, int32(ri))
				break
			}
		}
	}
	return m
}

// Process feeds one record, in stream order, and returns the detections it
// completed (including windows closed because its time moved the clock).
// The returned slice is reused by the next call.
func (e *Engine) Process(r *Record) []Detection {
	e.out = e.out[:0]
	e.s.Seq++
	seq := r.Seq
	if seq == 0 {
		seq = e.s.Seq
	}
	e.s.Stats.Lines++
	if r.Format == FormatUnparsed {
		e.s.Stats.Unparsed++
	}
	if r.Time.After(e.s.Now) {
		e.advance(r.Time)
	}
	t := r.Time
	if t.IsZero() {
		t = e.s.Now
	}
	idx := e.miner.Add(r.Message)
	e.lastT = idx
	m := e.meta(idx)
	if len(r.Instance) > 0 && len(r.ProjectID) > 0 {
		if p, ok := e.s.Instances[string(r.Instance)]; !ok || p != string(r.ProjectID) {
			e.s.Instances[string(r.Instance)] = string(r.ProjectID)
		}
	}
	consumed := false
	ci := m.ci
	if ci == nil || string(r.Component) != m.comp {
		ci = e.compInfo(r.Component)
		if ci != &e.compTmp {
			m.comp, m.ci = string(r.Component), ci
		} else {
			m.comp, m.ci = "", nil
		}
	}
	// The template's pattern elements, then the component's.
	if len(m.refs)+len(ci.refs) > 0 {
		for _, refs := range [2][]elemRef{m.refs, ci.refs} {
			for _, ref := range refs {
				if e.advanceOcc(ref, r, t, seq) {
					consumed = true
				}
			}
		}
		if !consumed {
			for _, refs := range [2][]elemRef{m.refs, ci.refs} {
				for _, ref := range refs {
					if e.openOcc(ref, r, t, seq) {
						consumed = true
					}
				}
			}
		}
	}
	for _, ri := range m.rules {
		if e.ruleLine(ri, r, t, seq, true) {
			consumed = true
		}
	}
	if len(e.lineRule) > 0 {
		mask := ci.mask
		for i, ri := range e.lineRule {
			if mask&(1<<uint(i&63)) != 0 && e.ruleLine(ri, r, t, seq, false) {
				consumed = true
			}
		}
	}
	if len(e.absence) > 0 {
		e.observeSource(r, t, ci)
	}
	switch {
	case consumed:
		e.s.Stats.Matched++
	case m.background || ci.bg:
		e.s.Stats.Periodic++
	default:
		e.s.Stats.Residual++
		e.addResidual(idx, r, t, seq)
	}
	return e.out
}

// compInfo returns what the engine derives from a component, cached for
// the first maxCompCache components; beyond them it is computed each time
// into a scratch value (valid until the next call).
func (e *Engine) compInfo(comp []byte) *compInfo {
	if ci, ok := e.comps[string(comp)]; ok {
		return ci
	}
	var ci *compInfo
	if len(e.comps) < maxCompCache {
		ci = &compInfo{}
	} else {
		ci = &e.compTmp
		*ci = compInfo{absOK: ci.absOK[:0], src: ci.src[:0]}
	}
	for i, ri := range e.lineRule {
		cr := e.rules[ri]
		if i >= 64 || cr.comps == nil || cr.comps[string(comp)] {
			ci.mask |= 1 << uint(i&63)
		}
	}
	ci.refs = e.compEl[string(comp)]
	ci.bg = e.bgComp[string(comp)]
	for _, ri := range e.absence {
		cr := e.rules[ri]
		ci.absOK = append(ci.absOK, cr.comps == nil || cr.comps[string(comp)])
		ci.src = append(ci.src, nil)
	}
	if ci != &e.compTmp {
		if e.comps == nil {
			e.comps = map[string]*compInfo{}
		}
		e.comps[string(comp)] = ci
	}
	return ci
}

func fieldOf(r *Record, name string) []byte {
	switch name {
	case "instance":
		return r.Instance
	case "volume":
		return r.Volume
	case "host":
		return r.Host
	case "project":
		return r.ProjectID
	case "addr":
		return r.Addr
	case "component":
		return r.Component
	case "user":
		return r.UserID
	case "request":
		return r.RequestID
	}
	if after, ok := strings.CutPrefix(name, "after:"); ok {
		i := bytes.Index(r.Message, []byte(after))
		if i < 0 {
			return nil
		}
		v := r.Message[i+len(after):]
		end := 0
		for end < len(v) && (isAlpha(v[end]) || isDigit(v[end]) || v[end] == '-' || v[end] == '_' || v[end] == '.' || v[end] == ':') {
			end++
		}
		v = v[:end]
		for len(v) > 0 && (v[len(v)-1] == '.' || v[len(v)-1] == ':') {
			v = v[:len(v)-1]
		}
		return v
	}
	return nil
}

func (e *Engine) advanceOcc(ref elemRef, r *Record, t time.Time, seq uint64) bool {
	cp := e.pats[ref.pat]
	res := fieldOf(r, cp.p.Resource)
	if cp.p.Resource != "" && len(res) == 0 {
		return false
	}
	o := e.s.Occs[ref.pat][string(res)]
	if o == nil {
		return false
	}
	if len(o.Tenant) == 0 && len(r.ProjectID) > 0 {
		o.Tenant = string(r.ProjectID)
	}
	o.Count++
	o.Last = t
	if len(o.Lines) < maxLines {
		o.Lines = append(o.Lines, seq)
	}
	for _, s := range ref.steps {
		if s >= o.Pos {
			o.Matched++
			o.Pos = s + 1
			if o.Pos == len(cp.steps) {
				e.complete(ref.pat, o)
			}
			return true
		}
	}
	return true // an extra repeat of an earlier element
}

func (e *Engine) openOcc(ref elemRef, r *Record, t time.Time, seq uint64) bool {
	if ref.steps[0] != 0 {
		return false
	}
	cp := e.pats[ref.pat]
	res := fieldOf(r, cp.p.Resource)
	if cp.p.Resource != "" && len(res) == 0 {
		return false
	}
	o := e.newOcc(len(cp.steps) + 4)
	*o = occ{Pat: ref.pat, Resource: string(res), Tenant: string(r.ProjectID), Pos: 1, Matched: 1, Start: t, Last: t, Lines: append(o.Lines, seq), Count: 1}
	if len(cp.steps) == 1 {
		e.complete(ref.pat, o)
		return true
	}
	e.s.Occs[ref.pat][o.Resource] = o
	if dl := t.Add(cp.window); e.s.NextExpire.IsZero() || dl.Before(e.s.NextExpire) {
		e.s.NextExpire = dl
	}
	return true
}

func (e *Engine) tenantOf(o *occ, cp *cpattern) string {
	if o.Tenant != "" {
		return o.Tenant
	}
	if cp.p.Resource == "instance" {
		return e.s.Instances[o.Resource]
	}
	return ""
}

func (e *Engine) complete(pi int32, o *occ) {
	cp := e.pats[pi]
	delete(e.s.Occs[pi], o.Resource)
	sim := float64(o.Matched) / float64(len(cp.steps))
	d := Detection{Kind: KindPattern, ID: cp.p.ID, Resource: o.Resource, Tenant: e.tenantOf(o, cp),
		Start: o.Start, End: o.Last, Severity: cp.p.Severity, Similarity: round3(sim),
		Compliance: cp.p.Compliance, Lines: slices.Clone(o.Lines), Count: o.Count}
	switch {
	case sim < cp.thresh:
		d.Kind, d.Reason = KindIncomplete, ReasonDissimilar
	case cp.slow > 0 && o.Last.Sub(o.Start) > cp.slow:
		d.Kind, d.Reason = KindIncomplete, ReasonSlow
	}
	e.emit(d)
	if cp.p.Resource == "instance" && d.Kind == KindPattern {
		switch cp.p.Effect {
		case "create":
			if d.Tenant != "" {
				e.s.Instances[o.Resource] = d.Tenant
			}
		case "delete":
			delete(e.s.Instances, o.Resource)
		}
	}
	// Drop other open occurrences on the same resource made only of lines
	// this one consumed.
	for _, m := range e.s.Occs {
		if other := m[o.Resource]; other != nil && subset(other.Lines, o.Lines) {
			delete(m, o.Resource)
			e.freeOcc(other)
		}
	}
	if d.Kind == KindPattern {
		for _, ri := range cp.schedule {
			e.scheduleFire(ri, o.Resource, d.Tenant, o.Start, o.Last, o.Lines)
		}
	}
	e.freeOcc(o)
}

// maxFreeOccs bounds the occurrences kept for reuse.
const maxFreeOccs = 1024

// newOcc returns an occurrence to fill, reusing one that closed (its Lines
// emptied, with capacity for at least n).
func (e *Engine) newOcc(n int) *occ {
	if k := len(e.freeOccs); k > 0 {
		o := e.freeOccs[k-1]
		e.freeOccs = e.freeOccs[:k-1]
		if cap(o.Lines) < n {
			o.Lines = make([]uint64, 0, n)
		}
		return o
	}
	return &occ{Lines: make([]uint64, 0, n)}
}

// freeOcc takes back an occurrence that left the open set and is not
// referenced any more (detections hold copies of its lines).
func (e *Engine) freeOcc(o *occ) {
	if len(e.freeOccs) < maxFreeOccs && cap(o.Lines) <= maxLines {
		*o = occ{Lines: o.Lines[:0]}
		e.freeOccs = append(e.freeOccs, o)
	}
}

func subset(a, b []uint64) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

func (e *Engine) emit(d Detection) {
	first := uint64(0)
	if len(d.Lines) > 0 {
		first = d.Lines[0]
	}
	d.DetectionID = detectionID(d.Kind, d.ID, d.Resource, d.Reason, first, d.Start)
	e.out = append(e.out, d)
}

// ruleLine evaluates rule ri on a record; byTemplate says its template
// condition already holds.
func (e *Engine) ruleLine(ri int32, r *Record, t time.Time, seq uint64, byTemplate bool) bool {
	cr := e.rules[ri]
	if cr.r.Type == RuleAbsence || (len(cr.tmpls) > 0 && !byTemplate) {
		return false
	}
	if byTemplate && cr.comps != nil && !cr.comps[string(r.Component)] {
		return false // (line rules had their component checked by lineMask)
	}
	if len(cr.r.Match.Levels) > 0 {
		ok := false
		for _, l := range cr.r.Match.Levels {
			if string(r.Level) == l {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if len(cr.keywords) > 0 {
		found := false
		if cr.kwGuard != nil && !cr.kwGuard.contains(r.Message) {
			return false
		}
		for i := range cr.keywords {
			if cr.keywords[i].contains(r.Message) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	rl := cr.r
	resource := e.resourceOf(rl, r)
	tenant := e.tenantOfRule(rl, r)
	switch rl.Type {
	case RuleKeyword:
		e.emit(Detection{Kind: KindRule, ID: rl.ID, Reason: rl.Type, Resource: resource, Tenant: tenant, Start: t, End: t,
			Severity: rl.Severity, Compliance: rl.Compliance, Lines: []uint64{seq}, Count: 1, Component: string(r.Component)})
	case RuleSchedule:
		if len(rl.Match.Patterns) > 0 {
			return false
		}
		e.scheduleFire(ri, resource, tenant, t, t, []uint64{seq})
	case RuleFrequency:
		key := fieldOf(r, rl.Key)
		if len(key) == 0 && rl.Key != "" {
			return false
		}
		fs := e.s.Freq[ri][string(key)]
		if fs == nil {
			fs = &freqState{}
			e.s.Freq[ri][string(key)] = fs
		}
		cut := t.Add(-rl.Within.D())
		k := 0
		for k < len(fs.Times) && fs.Times[k].Before(cut) {
			k++
		}
		fs.Times, fs.Seqs = append(fs.Times[k:], t), append(fs.Seqs[k:], seq)
		if len(fs.Times) >= rl.Threshold {
			res := resource
			if rl.Resource == "" {
				res = string(key)
			}
			e.emit(Detection{Kind: KindRule, ID: rl.ID, Reason: rl.Type, Resource: res, Tenant: tenant, Start: fs.Times[0], End: t,
				Severity: rl.Severity, Compliance: rl.Compliance, Lines: slices.Clone(fs.Seqs), Count: len(fs.Seqs), Component: string(r.Component)})
			delete(e.s.Freq[ri], string(key))
			return true
		}
		// Counted but not (yet) a burst: the line stays in the residue.
		return false
	case RuleCorrelation:
		proj := string(fieldOf(r, rl.Key))
		if proj == "" {
			return false
		}
		var left []string
		for inst, p := range e.s.Instances {
			if p == proj {
				left = append(left, inst)
			}
		}
		if len(left) == 0 {
			return true
		}
		slices.Sort(left)
		e.emit(Detection{Kind: KindRule, ID: rl.ID, Reason: rl.Type, Resource: proj, Tenant: proj, Start: t, End: t,
			Severity: rl.Severity, Compliance: rl.Compliance, Lines: []uint64{seq}, Count: 1, Related: left, Component: string(r.Component)})
	}
	return true
}

func (e *Engine) resourceOf(rl *Rule, r *Record) string {
	if rl.Resource != "" {
		return string(fieldOf(r, rl.Resource))
	}
	for _, b := range [][]byte{r.Instance, r.Volume, r.Host, r.Component} {
		if len(b) > 0 {
			return string(b)
		}
	}
	return ""
}

func (e *Engine) tenantOfRule(rl *Rule, r *Record) string {
	if rl.Tenant != "" {
		return string(fieldOf(r, rl.Tenant))
	}
	if len(r.ProjectID) > 0 {
		return string(r.ProjectID)
	}
	if len(r.Instance) > 0 {
		return e.s.Instances[string(r.Instance)]
	}
	return ""
}

func (e *Engine) scheduleFire(ri int32, resource, tenant string, start, end time.Time, lines []uint64) {
	cr := e.rules[ri]
	for _, w := range cr.maint {
		if w.contains(start) {
			return
		}
	}
	for _, w := range e.opt.Maintenance {
		if !start.Before(w.Start) && start.Before(w.End) {
			return
		}
	}
	rl := cr.r
	e.emit(Detection{Kind: KindRule, ID: rl.ID, Reason: rl.Type, Resource: resource, Tenant: tenant, Start: start, End: end,
		Severity: rl.Severity, Compliance: rl.Compliance, Lines: slices.Clone(lines), Count: len(lines)})
}

// observeSource updates the absence rules' per-source interval statistics.
func (e *Engine) observeSource(r *Record, t time.Time, ci *compInfo) {
	for j, ri := range e.absence {
		if !ci.absOK[j] {
			continue
		}
		cr := e.rules[ri]
		// A source keyed by the component alone is cached with it (sources
		// are never removed, and the cache is dropped on restore).
		s := ci.src[j]
		if s == nil {
			if cr.r.Key != "" {
				e.keyBuf = append(e.keyBuf[:0], fieldOf(r, cr.r.Key)...)
			} else {
				e.keyBuf = append(append(append(e.keyBuf[:0], r.Host...), ' '), r.Component...)
			}
			if len(e.keyBuf) == 0 {
				continue
			}
			m := e.s.Sources[ri]
			s = m[string(e.keyBuf)]
			if s == nil {
				s = &source{First: t, Last: t, N: 1}
				m[string(e.keyBuf)] = s
				if cr.r.Key == "component" {
					ci.src[j] = s
				}
				continue
			}
			if cr.r.Key == "component" {
				ci.src[j] = s
			}
		}
		gap := t.Sub(s.Last).Seconds()
		if gap < 0 {
			continue
		}
		s.Silent = false
		s.N++
		// Welford over the gaps (N-1 of them).
		k := float64(s.N - 1)
		d := gap - s.Mean
		s.Mean += d / k
		s.M2 += d * (gap - s.Mean)
		s.Last = t
		if c := &e.silent[j]; c.known {
			// The deadline is at least t + w - 1ms with t >= t.Unix() and
			// at < atUnix + 1: when that clears atUnix + 2 (a second more
			// for float rounding), it cannot be before at.
			w := min(cr.r.Intervals*s.Mean, 1e9)
			if !c.none && float64(t.Unix())+w >= float64(c.atUnix)+2 {
				continue
			}
			if dl := silentDeadline(s, cr.r.Intervals); c.none || dl.Before(c.at) {
				c.at, c.atUnix, c.none = dl, dl.Unix(), false
			}
		}
	}
}

// addResidual puts a line left over after patterns, rules and the periodic
// background into the current window's anomaly groups.
func (e *Engine) addResidual(idx int32, r *Record, t time.Time, seq uint64) {
	g := e.s.Resid[idx]
	if g == nil {
		g = &resGroup{Tmpl: idx, Component: string(r.Component), First: t, FirstSeq: seq}
		e.s.Resid[idx] = g
	}
	g.Count++
	g.Last = t
	if len(g.Lines) < maxLines {
		g.Lines = append(g.Lines, seq)
	}
	if len(g.Samples) < e.opt.Samples {
		g.Samples = append(g.Samples, string(r.Line))
	}
}

// Advance moves the engine's clock to t (if later), closing residual windows
// and timing out pattern occurrences and silent sources. A server calls it
// on a timer with the time up to which its input is complete.
func (e *Engine) Advance(t time.Time) []Detection {
	e.out = e.out[:0]
	if t.After(e.s.Now) {
		e.advance(t)
	}
	return e.out
}

func (e *Engine) advance(t time.Time) {
	if e.s.WinStart.IsZero() {
		e.s.WinStart = t.Truncate(e.window)
	}
	e.s.Now = t
	if t.Before(e.s.NextTick) {
		return
	}
	e.s.NextTick = t.Truncate(time.Second).Add(time.Second)
	if !t.Before(e.s.WinStart.Add(e.window)) {
		e.flushResidual()
		e.s.WinStart = t.Truncate(e.window)
	}
	e.expire(t, false)
}

// expire times out occurrences, frequency windows and checks silence.
func (e *Engine) expire(now time.Time, all bool) {
	var done []*occ
	if all || !now.Before(e.s.NextExpire) {
		e.s.NextExpire = time.Time{}
		for pi, m := range e.s.Occs {
			w := e.pats[pi].window
			for _, o := range m {
				lim := w
				if all && e.pats[pi].slow > 0 {
					lim = e.pats[pi].slow
				}
				if now.Sub(o.Start) > lim {
					done = append(done, o)
				} else if dl := o.Start.Add(w); e.s.NextExpire.IsZero() || dl.Before(e.s.NextExpire) {
					e.s.NextExpire = dl
				}
			}
		}
	}
	slices.SortFunc(done, func(a, b *occ) int {
		if a.Lines[0] != b.Lines[0] {
			return cmpU(a.Lines[0], b.Lines[0])
		}
		return int(a.Pat - b.Pat)
	})
	for _, o := range done {
		cp := e.pats[o.Pat]
		delete(e.s.Occs[o.Pat], o.Resource)
		e.emit(Detection{Kind: KindIncomplete, ID: cp.p.ID, Reason: ReasonBrokenOff, Resource: o.Resource, Tenant: e.tenantOf(o, cp),
			Start: o.Start, End: o.Last, Severity: cp.p.Severity, Similarity: round3(float64(o.Matched) / float64(len(cp.steps))),
			Compliance: cp.p.Compliance, Lines: slices.Clone(o.Lines), Count: o.Count})
		e.freeOcc(o)
	}
	if all || !now.Before(e.s.NextPrune) {
		e.s.NextPrune = now.Add(10 * time.Second)
		for ri, m := range e.s.Freq {
			within := e.rules[ri].r.Within.D()
			for k, fs := range m {
				if len(fs.Times) == 0 || now.Sub(fs.Times[len(fs.Times)-1]) > within {
					delete(m, k)
				}
			}
		}
	}
	if all {
		return
	}
	for j, ri := range e.absence {
		c := &e.silent[j]
		if c.known && (c.none || now.Before(c.at)) {
			continue // no watched source can be silent yet
		}
		rl := e.rules[ri].r
		var silent []string
		next, none := time.Time{}, true
		for k, s := range e.s.Sources[ri] {
			if s.Silent || s.N < rl.MinEvents || s.Mean <= 0 || s.Last.Sub(s.First) < rl.MinSpan.D() {
				continue
			}
			sd := math.Sqrt(s.M2 / float64(s.N-1))
			if sd > 0.5*s.Mean { // not steady: irregular sources are not watched
				continue
			}
			if now.Sub(s.Last).Seconds() > rl.Intervals*s.Mean {
				silent = append(silent, k)
			} else if dl := silentDeadline(s, rl.Intervals); none || dl.Before(next) {
				next, none = dl, false
			}
		}
		// Sources skipped here change only when observed again, and an
		// observation brings the bound forward to the source's own.
		*c = silentCheck{known: true, none: none, at: next, atUnix: next.Unix()}
		slices.Sort(silent)
		for _, k := range silent {
			s := e.s.Sources[ri][k]
			s.Silent = true
			e.emit(Detection{Kind: KindRule, ID: rl.ID, Reason: rl.Type, Resource: k, Start: s.Last, End: now,
				Severity: rl.Severity, Compliance: rl.Compliance, Count: s.N})
		}
	}
}

func cmpU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (e *Engine) flushResidual() {
	if len(e.s.Resid) == 0 {
		return
	}
	gs := make([]*resGroup, 0, len(e.s.Resid))
	for _, g := range e.s.Resid {
		gs = append(gs, g)
	}
	slices.SortFunc(gs, func(a, b *resGroup) int { return cmpU(a.FirstSeq, b.FirstSeq) })
	sev := e.cat.AnomalySeverity
	for _, g := range gs {
		t := e.miner.Template(g.Tmpl)
		e.emit(Detection{Kind: KindAnomaly, ID: t.ID, Resource: g.Component, Start: g.First, End: g.Last,
			Severity: sev, Lines: g.Lines, Count: g.Count, Component: g.Component, Template: t.Text, Samples: g.Samples})
	}
	clear(e.s.Resid)
}

// Flush closes what can be closed at the end of the input: the residual
// window, and open occurrences already older than their pattern's
// slow_after (reported as broken off). Younger ones stay open.
func (e *Engine) Flush() []Detection {
	e.out = e.out[:0]
	e.flushResidual()
	e.expire(e.s.Now, true)
	return e.out
}
