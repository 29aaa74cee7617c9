package matcher

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// LearnOptions tune a [Learner]; zero values take the defaults shown.
type LearnOptions struct {
	// SegmentGap splits a resource's lines into bursts at a silence this
	// long (default 30s). A new request from the resource's own tenant
	// (request id with the tenant's project) also starts a burst.
	SegmentGap time.Duration
	// MinSupport is how many bursts a cluster needs to become a pattern (3).
	MinSupport int
	// Similarity is the clustering threshold on run-length sequences (0.8).
	Similarity float64
	// Window is the profile window (5s).
	Window time.Duration
}

// Learner learns a catalogue from normal logs: recurring per-resource bursts
// become proposed patterns, steady templates become the periodic background.
type Learner struct {
	opt   LearnOptions
	miner *Miner
	res   map[string][]resEvent
	order []string // resources in order of first appearance
	strs  map[string]string
	stats map[int32]*tstat
	first time.Time
	last  time.Time
}

type resEvent struct {
	t            time.Time
	tmpl         int32
	req, project string
}

type burst struct {
	resource, tenant string
	req              string
	start, last      time.Time
	tmpls            []int32
	times            []time.Time
}

type tstat struct {
	n     int
	first time.Time
	last  time.Time
	gaps  []float64
	comp  string
	inRes int // lines carrying a resource id
}

// NewLearner returns an empty learner.
func NewLearner(opt LearnOptions) *Learner {
	if opt.SegmentGap <= 0 {
		opt.SegmentGap = 30 * time.Second
	}
	if opt.MinSupport <= 0 {
		opt.MinSupport = 3
	}
	if opt.Similarity <= 0 {
		opt.Similarity = 0.8
	}
	if opt.Window <= 0 {
		opt.Window = 5 * time.Second
	}
	return &Learner{opt: opt, miner: NewMiner(), res: map[string][]resEvent{}, strs: map[string]string{}, stats: map[int32]*tstat{}}
}

// Add feeds one record of normal logs, in time order, and returns the index
// of its template in [Learner.Miner].
func (l *Learner) Add(r *Record) int32 {
	idx := l.miner.Add(r.Message)
	t := r.Time
	if l.first.IsZero() || t.Before(l.first) {
		l.first = t
	}
	if t.After(l.last) {
		l.last = t
	}
	st := l.stats[idx]
	if st == nil {
		st = &tstat{comp: string(r.Component)}
		l.stats[idx] = st
	}
	if st.n == 0 {
		st.first = t
	}
	if st.n > 0 && len(st.gaps) < 4096 {
		st.gaps = append(st.gaps, t.Sub(st.last).Seconds())
	}
	st.n++
	st.last = t
	if len(r.Instance) == 0 {
		return idx
	}
	st.inRes++
	res := string(r.Instance)
	evs, ok := l.res[res]
	if !ok {
		l.order = append(l.order, res)
	}
	l.res[res] = append(evs, resEvent{t: t, tmpl: idx, req: l.intern(r.RequestID), project: l.intern(r.ProjectID)})
	return idx
}

func (l *Learner) intern(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if s, ok := l.strs[string(b)]; ok {
		return s
	}
	s := string(b)
	l.strs[s] = s
	return s
}

// segment splits each resource's lines (background templates left out)
// into bursts: at a silence of SegmentGap, or at a new request from the
// resource's own tenant; requests of service users (neutron notifying nova)
// do not start a burst.
func (l *Learner) segment(skip map[string]bool) []*burst {
	var out []*burst
	for _, res := range l.order {
		var b *burst
		for _, ev := range l.res[res] {
			if skip[l.miner.Template(ev.tmpl).Text] {
				continue
			}
			userReq := ev.project != "" && ev.req != ""
			newOp := userReq && b != nil && b.req != "" && b.req != ev.req && (b.tenant == "" || b.tenant == ev.project)
			if b != nil && (ev.t.Sub(b.last) > l.opt.SegmentGap || newOp) {
				out = append(out, b)
				b = nil
			}
			if b == nil {
				b = &burst{resource: res, start: ev.t}
			}
			if userReq && b.req == "" {
				b.req = ev.req
			}
			if b.tenant == "" && ev.project != "" {
				b.tenant = ev.project
			}
			b.last = ev.t
			b.tmpls = append(b.tmpls, ev.tmpl)
			b.times = append(b.times, ev.t)
		}
		if b != nil {
			out = append(out, b)
		}
	}
	slices.SortStableFunc(out, func(a, b *burst) int { return a.start.Compare(b.start) })
	return out
}

// Miner returns the learner's template miner.
func (l *Learner) Miner() *Miner { return l.miner }

type rle struct {
	tmpl  string
	count int
}

// Catalog proposes a catalogue: patterns with generated ids ("p-" and a
// hash of their elements) for an operator to name, edit and publish.
func (l *Learner) Catalog() *Catalog {
	var background []Background
	// The background first: templates mostly without a resource that log
	// periodically (regular gaps) or steadily (frequent, over most of the
	// span). They are left out of the bursts, so that API polling
	// interleaved with a lifecycle does not vary its sequence.
	idxs := make([]int32, 0, len(l.stats))
	for i := range l.stats {
		idxs = append(idxs, i)
	}
	slices.Sort(idxs)
	span := l.last.Sub(l.first).Seconds()
	seen := map[string]bool{}
	for _, i := range idxs {
		st := l.stats[i]
		t := l.miner.Template(i)
		if seen[t.Text] || st.n < 5 || st.inRes*2 > st.n {
			continue
		}
		period, ok := regularPeriod(st.gaps)
		if !ok {
			// Not periodic, but a steady part of normal operation: frequent
			// and spread over most of the training span.
			if st.n < 4*l.opt.MinSupport || st.last.Sub(st.first).Seconds() < span/2 {
				continue
			}
			period = 0
		}
		seen[t.Text] = true
		rate := 0.0
		if span > 0 {
			rate = float64(st.n) / span * l.opt.Window.Seconds()
		}
		background = append(background, Background{Template: t.Text, Component: st.comp,
			Period: Duration(time.Duration(period * float64(time.Second)).Round(time.Millisecond)), Rate: round3(rate)})
	}
	bursts := l.segment(seen)
	// Encode each burst as the run-length sequence of its templates.
	type group struct {
		key    string
		seq    []rle
		bursts []*burst
		n      int
		first  int
	}
	groups := map[string]*group{}
	var order []*group
	for i, b := range bursts {
		seq := l.encode(b.tmpls)
		if len(seq) == 0 {
			continue
		}
		k := seqKey(seq)
		g := groups[k]
		if g == nil {
			g = &group{key: k, seq: seq, first: i}
			groups[k] = g
			order = append(order, g)
		}
		g.n++
		g.bursts = append(g.bursts, b)
	}
	// Cluster: most frequent sequences first; a sequence joins the first
	// cluster whose representative it resembles.
	sort.SliceStable(order, func(i, j int) bool { return order[i].n > order[j].n })
	type cluster struct {
		rep    []rle
		n      int
		bursts []*burst
		durs   []time.Duration
	}
	var clusters []*cluster
	for _, g := range order {
		var best *cluster
		for _, c := range clusters {
			if seqSimilarity(c.rep, g.seq) >= l.opt.Similarity {
				best = c
				break
			}
		}
		if best == nil {
			best = &cluster{rep: g.seq}
			clusters = append(clusters, best)
		}
		best.n += g.n
		best.bursts = append(best.bursts, g.bursts...)
	}
	// A burst's duration runs to the line of the pattern's last element
	// (lines of a later operation that joined the burst do not count).
	for _, c := range clusters {
		last := c.rep[len(c.rep)-1].tmpl
		for _, b := range c.bursts {
			end := b.last
			for i := len(b.tmpls) - 1; i >= 0; i-- {
				if l.miner.Template(b.tmpls[i]).Text == last {
					end = b.times[i]
					break
				}
			}
			c.durs = append(c.durs, end.Sub(b.start))
		}
	}
	cat := &Catalog{Version: CatalogVersion, Window: Duration(l.opt.Window), Background: background}
	for _, c := range clusters {
		if c.n < l.opt.MinSupport {
			continue
		}
		slices.Sort(c.durs)
		// Slow: well beyond every normal occurrence seen (no false reports
		// on normal ones) and beyond three times the typical duration. An
		// occurrence still open after ten times that is broken off.
		med := c.durs[len(c.durs)/2]
		mx := c.durs[len(c.durs)-1]
		slow := max(3*med, mx+mx/2, 10*time.Second)
		p := Pattern{Resource: "instance", Tenant: "project", Typical: Duration(med.Round(time.Millisecond)),
			SlowAfter: Duration(slow.Round(time.Second)), Window: Duration((10 * slow).Round(time.Second)), Threshold: 0.8,
			Severity: 3, Support: c.n}
		h := fnv.New64a()
		for _, e := range c.rep {
			p.Elements = append(p.Elements, Element{Template: e.tmpl, Count: e.count})
			fmt.Fprintf(h, "%s\x00%d\x00", e.tmpl, e.count)
		}
		p.ID = "p-" + hex.EncodeToString(h.Sum(nil)[:4])
		p.Name = "learned: " + c.rep[0].tmpl
		cat.Patterns = append(cat.Patterns, p)
	}
	return cat
}

func (l *Learner) encode(ts []int32) []rle {
	var out []rle
	for _, i := range ts {
		txt := l.miner.Template(i).Text
		if n := len(out); n > 0 && out[n-1].tmpl == txt {
			out[n-1].count++
			continue
		}
		out = append(out, rle{tmpl: txt, count: 1})
	}
	return out
}

func seqKey(s []rle) string {
	var sb strings.Builder
	for _, e := range s {
		fmt.Fprintf(&sb, "%s\x00%d\x01", e.tmpl, e.count)
	}
	return sb.String()
}

// seqSimilarity is the Dice coefficient of the longest common subsequence of
// two run-length sequences expanded to lines: 2·|LCS| / (|a|+|b|).
func seqSimilarity(a, b []rle) float64 {
	ea, eb := expand(a), expand(b)
	if len(ea)+len(eb) == 0 {
		return 1
	}
	prev := make([]int, len(eb)+1)
	cur := make([]int, len(eb)+1)
	for i := 1; i <= len(ea); i++ {
		for j := 1; j <= len(eb); j++ {
			switch {
			case ea[i-1] == eb[j-1]:
				cur[j] = prev[j-1] + 1
			case prev[j] >= cur[j-1]:
				cur[j] = prev[j]
			default:
				cur[j] = cur[j-1]
			}
		}
		prev, cur = cur, prev
	}
	return 2 * float64(prev[len(eb)]) / float64(len(ea)+len(eb))
}

func expand(s []rle) []string {
	var out []string
	for _, e := range s {
		for k := 0; k < e.count && k < 1000; k++ {
			out = append(out, e.tmpl)
		}
	}
	return out
}

// regularPeriod reports the median gap when most gaps lie within 25% of it
// (or of a multiple of it, for a skipped beat).
func regularPeriod(gaps []float64) (float64, bool) {
	if len(gaps) < 4 {
		return 0, false
	}
	g := slices.Clone(gaps)
	slices.Sort(g)
	med := g[len(g)/2]
	if med <= 0 {
		return 0, false
	}
	ok := 0
	for _, x := range gaps {
		k := math.Max(1, math.Round(x/med))
		if math.Abs(x-k*med) <= 0.25*med && k <= 3 {
			ok++
		}
	}
	return med, float64(ok) >= 0.8*float64(len(gaps))
}

// Profile counts lines per key (component or template) per time window:
// the matrix of the paper's figures 5 and 6.
type Profile struct {
	Window time.Duration
	start  time.Time
	keys   map[string]int
	names  []string
	counts map[int]map[int]int // window index → key index → count
	maxW   int
}

// NewProfile returns a profile with windows of w (5s if zero).
func NewProfile(w time.Duration) *Profile {
	if w <= 0 {
		w = 5 * time.Second
	}
	return &Profile{Window: w, keys: map[string]int{}, counts: map[int]map[int]int{}}
}

// Add counts one line of key at t.
func (p *Profile) Add(key string, t time.Time) {
	if p.start.IsZero() {
		p.start = t.Truncate(p.Window)
	}
	w := int(t.Sub(p.start) / p.Window)
	if w < 0 {
		w = 0
	}
	k, ok := p.keys[key]
	if !ok {
		k = len(p.names)
		p.keys[key] = k
		p.names = append(p.names, key)
	}
	m := p.counts[w]
	if m == nil {
		m = map[int]int{}
		p.counts[w] = m
	}
	m[k]++
	p.maxW = max(p.maxW, w)
}

// CSV writes the matrix: a header of window start times, then one row per
// key (sorted) with its count in each window.
func (p *Profile) CSV() string {
	var sb strings.Builder
	sb.WriteString("key")
	for w := 0; w <= p.maxW && !p.start.IsZero(); w++ {
		sb.WriteString("," + p.start.Add(time.Duration(w)*p.Window).UTC().Format("2006-01-02T15:04:05Z"))
	}
	sb.WriteByte('\n')
	names := slices.Clone(p.names)
	slices.Sort(names)
	for _, n := range names {
		k := p.keys[n]
		sb.WriteString(csvField(n))
		for w := 0; w <= p.maxW; w++ {
			fmt.Fprintf(&sb, ",%d", p.counts[w][k])
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}

func csvField(s string) string {
	if strings.ContainsAny(s, ",\"\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

type profileJSON struct {
	Window  string       `json:"window"`
	Windows []time.Time  `json:"windows"`
	Rows    []profileRow `json:"rows"`
}

type profileRow struct {
	Key    string `json:"key"`
	Counts []int  `json:"counts"`
}

// MarshalJSON writes the matrix as {"window", "windows": [start times],
// "rows": [{"key", "counts"}]}, rows sorted by key.
func (p *Profile) MarshalJSON() ([]byte, error) {
	out := profileJSON{Window: p.Window.String(), Windows: []time.Time{}, Rows: []profileRow{}}
	if !p.start.IsZero() {
		for w := 0; w <= p.maxW; w++ {
			out.Windows = append(out.Windows, p.start.Add(time.Duration(w)*p.Window).UTC())
		}
	}
	names := slices.Clone(p.names)
	slices.Sort(names)
	for _, n := range names {
		k := p.keys[n]
		row := profileRow{Key: n, Counts: make([]int, len(out.Windows))}
		for w := range row.Counts {
			row.Counts[w] = p.counts[w][k]
		}
		out.Rows = append(out.Rows, row)
	}
	return json.Marshal(out)
}
