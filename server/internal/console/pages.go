package console

import (
	"cmp"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hisoka-project/hisoka/matcher"
	"github.com/hisoka-project/hisoka/spec"
)

// Bounds of what one page shows.
const (
	heatSpan      = 24 * time.Hour     // the heatmap's default range
	maxHeatSpan   = 8 * 24 * time.Hour // the counts are kept that long
	heatColumns   = 96                 // default columns of the heatmap
	maxColumns    = 480
	maxZoom       = time.Hour // longest window one zoom reads line by line
	zoomLines     = 5000      // lines one zoom reads
	zoomColumns   = 60
	zoomShown     = 100 // lines one zoom lists
	maxDetections = 10000
	maxAnomalies  = 200
	// maxOccurrences bounds the table of a pattern's occurrences.
	maxOccurrences = 500
	// zoomRows bounds the component rows of a zoom (the heatmap's rows
	// are bounded by its Source); the components with the fewest lines
	// are summed into one "(other)" row.
	zoomRows = 64
)

func (c *Console) root(w http.ResponseWriter, r *http.Request, ss *session) error {
	if ss == nil {
		http.Redirect(w, r, "/ui/signin", http.StatusSeeOther)
	} else {
		http.Redirect(w, r, "/ui/heatmap", http.StatusSeeOther)
	}
	return nil
}

func (c *Console) static(w http.ResponseWriter, r *http.Request, _ *session) error {
	name := path.Base(r.URL.Path)
	b, err := assets.ReadFile("static/" + name)
	if err != nil || name == "." || name == "/" {
		return errNotFound
	}
	switch path.Ext(name) {
	case ".css":
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case ".js":
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	default:
		return errNotFound
	}
	w.Header().Set("Cache-Control", "max-age=3600")
	_, _ = w.Write(b)
	return nil
}

// signinForm shows the sign-in form, its CSRF token bound to a fresh
// nonce in a cookie.
func (c *Console) signinForm(w http.ResponseWriter, r *http.Request, _ *session) error {
	nonce, err := randomString(c.cfg.Rand)
	if err != nil {
		return err
	}
	http.SetCookie(w, cookie(c.secure(r), signinCookie, nonce, c.cfg.Now().Add(time.Hour)))
	c.render(w, r, http.StatusOK, "signin", view{Title: "Sign in", Data: signinToken(c.key, nonce)})
	return nil
}

// signin checks the pasted operator token and starts a session that ends
// when the token expires, or after the session lifetime.
func (c *Console) signin(w http.ResponseWriter, r *http.Request, _ *session) error {
	if err := c.parseForm(w, r); err != nil {
		return err
	}
	ck, err := r.Cookie(signinCookie)
	if err != nil || !sameOrigin(r, c.origin) || !equal(r.PostFormValue("csrf"), signinToken(c.key, ck.Value)) {
		return errForbidden
	}
	tok := strings.TrimSpace(r.PostFormValue("token"))
	tok = strings.TrimSpace(strings.TrimPrefix(tok, "Bearer "))
	if tok == "" || len(tok) > 8192 {
		return errBadInput
	}
	op, err := c.cfg.Source.SignIn(r.Context(), tok)
	if err != nil {
		return err
	}
	now := c.cfg.Now()
	expires := now.Add(c.cfg.SessionTTL)
	if op.Expires.Before(expires) {
		expires = op.Expires
	}
	if !expires.After(now) {
		return errForbidden
	}
	id, err := c.sessions.create(c.cfg.Rand, op, expires, now)
	if err != nil {
		return err
	}
	http.SetCookie(w, cookie(c.secure(r), signinCookie, "", time.Time{}))
	http.SetCookie(w, cookie(c.secure(r), sessionCookie, id, expires))
	http.Redirect(w, r, "/ui/heatmap", http.StatusSeeOther)
	return nil
}

func (c *Console) signout(w http.ResponseWriter, r *http.Request, _ *session) error {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		c.sessions.remove(ck.Value)
	}
	http.SetCookie(w, cookie(c.secure(r), sessionCookie, "", time.Time{}))
	http.Redirect(w, r, "/ui/signin", http.StatusSeeOther)
	return nil
}

// heatCell is one cell of a heatmap row.
type heatCell struct {
	From, To time.Time
	Count    int
	Shade    string
	Burst    bool
}

type heatRow struct {
	Key   string
	Other bool // the row sums the components not shown
	Total int
	Cells []heatCell
}

// burstCol is one window of the burst row: the patterns that matched in it.
type burstCol struct {
	From, To time.Time
	Label    bool // the column carries a time label
	Patterns []string
}

type heatmapData struct {
	From, To time.Time
	Window   time.Duration
	Columns  []burstCol
	Rows     []heatRow
	Bursts   int
	// Truncated is the number of detections read when that hit the cap:
	// the bursts shown are those of the newest Truncated.
	Truncated int
}

// heatmap is the paper's figure 5: lines per component per window, the
// windows where published patterns matched highlighted; every cell opens
// its window.
func (c *Console) heatmap(w http.ResponseWriter, r *http.Request, _ *session) error {
	ctx := r.Context()
	from, to, err := timeRange(r, c.cfg.Now(), heatSpan, maxHeatSpan)
	if err != nil {
		return err
	}
	win := (to.Sub(from) / heatColumns).Truncate(time.Minute)
	if v := r.URL.Query().Get("window"); v != "" {
		if win, err = time.ParseDuration(v); err != nil {
			return errBadInput
		}
	}
	win = max(min(win, to.Sub(from)).Truncate(time.Minute), time.Minute)
	if to.Sub(from)/win > maxColumns {
		return errBadInput
	}
	if q := r.URL.Query(); q.Get("from") == "" && q.Get("to") == "" {
		// The default range ends with the current window, on its boundary.
		span := to.Sub(from)
		to = c.cfg.Now().UTC().Truncate(win).Add(win)
		from = to.Add(-span)
	}
	h, err := c.cfg.Source.Heatmap(ctx, from, to, win)
	if err != nil {
		return err
	}
	dets, err := c.cfg.Source.Detections(ctx, from, to, nil, maxDetections)
	if err != nil {
		return err
	}
	n := int((to.Sub(h.From) + h.Window - 1) / h.Window)
	d := heatmapData{From: h.From, To: to, Window: h.Window, Columns: make([]burstCol, n), Truncated: truncated(len(dets), maxDetections)}
	for i := range d.Columns {
		at := h.From.Add(time.Duration(i) * h.Window)
		d.Columns[i] = burstCol{From: at, To: at.Add(h.Window), Label: i%max(1, n/12) == 0}
	}
	for _, det := range dets {
		if det.Kind != string(matcher.KindPattern) {
			continue
		}
		i := int(det.Start.Sub(h.From) / h.Window)
		if i < 0 || i >= n {
			continue
		}
		if col := &d.Columns[i]; !slices.Contains(col.Patterns, det.ID) {
			col.Patterns = append(col.Patterns, det.ID)
		}
		d.Bursts++
	}
	keys, counts := h.Components, h.Counts
	if h.Other != nil {
		keys = append(keys[:len(keys):len(keys)], "(other)")
		counts = append(counts[:len(counts):len(counts)], h.Other)
	}
	top := 0
	for _, row := range counts {
		for _, v := range row {
			top = max(top, v)
		}
	}
	for i, key := range keys {
		row := heatRow{Key: key, Cells: make([]heatCell, n)}
		if i >= len(h.Components) {
			row.Other = true
			if h.Folded > 0 {
				row.Key = "(other: " + strconv.Itoa(h.Folded) + " more components)"
			}
		}
		for j := range row.Cells {
			v := 0
			if j < len(counts[i]) {
				v = counts[i][j]
			}
			row.Total += v
			row.Cells[j] = heatCell{From: d.Columns[j].From, To: d.Columns[j].To, Count: v, Shade: shade(v, top), Burst: len(d.Columns[j].Patterns) > 0}
		}
		d.Rows = append(d.Rows, row)
	}
	c.render(w, r, http.StatusOK, "heatmap", view{Title: "Heatmap", Nav: "heatmap", Data: d})
	return nil
}

// truncated is n when n records were read under a cap of limit (the page
// shows only the newest n), else 0.
func truncated(n, limit int) int {
	if n >= limit {
		return n
	}
	return 0
}

type zoomRow struct {
	Component string
	Other     bool // the row sums the components not shown
	Count     int
	Cells     []heatCell
	Templates []matcher.Template
}

type zoomLine struct {
	Time      time.Time
	Component string
	Message   string
}

type zoomData struct {
	From, To   time.Time
	Columns    []burstCol
	Rows       []zoomRow
	Lines      []zoomLine
	Total      int
	Truncated  bool
	Detections []spec.DetectionRecord // newest first
	// DetTruncated is the number of detections read when that hit the
	// cap (the newest only), else 0.
	DetTruncated int
	Before       time.Time // the window before, same length
	After        time.Time
}

// window zooms into one window, the paper's figure 6: per component, its
// lines over the window at a finer resolution and the templates they come
// from; the detections that started in it; the first lines themselves.
func (c *Console) window(w http.ResponseWriter, r *http.Request, _ *session) error {
	ctx := r.Context()
	q := r.URL.Query()
	if q.Get("from") == "" || q.Get("to") == "" {
		return errBadInput
	}
	from, to, err := timeRange(r, c.cfg.Now(), maxZoom, maxZoom)
	if err != nil {
		return err
	}
	recs, err := c.cfg.Source.Lines(ctx, from, to, zoomLines)
	if err != nil {
		return err
	}
	dets, err := c.cfg.Source.Detections(ctx, from, to, nil, maxDetections)
	if err != nil {
		return err
	}
	span := to.Sub(from)
	d := zoomData{From: from, To: to, Total: len(recs), Truncated: len(recs) >= zoomLines, Detections: dets, DetTruncated: truncated(len(dets), maxDetections),
		Before: from.Add(-span), After: to.Add(span)}
	col := max(span/zoomColumns, time.Nanosecond)
	n := int((span + col - 1) / col)
	d.Columns = make([]burstCol, n)
	for i := range d.Columns {
		at := from.Add(time.Duration(i) * col)
		d.Columns[i] = burstCol{From: at, To: at.Add(col), Label: i%max(1, n/6) == 0}
	}
	for _, det := range dets {
		if i := int(det.Start.Sub(from) / col); i >= 0 && i < n && !slices.Contains(d.Columns[i].Patterns, det.ID) {
			d.Columns[i].Patterns = append(d.Columns[i].Patterns, det.ID)
		}
	}
	type acc struct {
		row   *zoomRow
		miner *matcher.Miner
		seen  map[int32]bool
		order []int32
	}
	// The lines parsed, and the zoomRows components with the most lines.
	type parsed struct {
		comp string
		msg  []byte
	}
	lines := make([]parsed, len(recs))
	perComp := map[string]int{}
	var p matcher.Parser
	for i, rec := range recs {
		mr, _ := p.ParseOrRaw([]byte(rec.Line))
		comp := string(mr.Component)
		if comp == "" {
			comp = "(unparsed)"
		}
		msg := mr.Message
		if len(msg) == 0 {
			msg = mr.Line
		}
		lines[i] = parsed{comp, msg}
		perComp[comp]++
	}
	shown := make([]string, 0, len(perComp))
	for comp := range perComp {
		shown = append(shown, comp)
	}
	slices.SortFunc(shown, func(a, b string) int {
		if c := cmp.Compare(perComp[b], perComp[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	folded := max(0, len(shown)-zoomRows)
	shown = shown[:len(shown)-folded]
	const other = "\x00other" // no component's name
	byComp := map[string]*acc{}
	for _, comp := range shown {
		byComp[comp] = nil
	}
	top := 0
	for i, rec := range recs {
		comp, msg := lines[i].comp, lines[i].msg
		key := comp
		if _, ok := byComp[comp]; !ok {
			key = other
		}
		a := byComp[key]
		if a == nil {
			row := &zoomRow{Component: comp, Cells: make([]heatCell, n)}
			if key == other {
				row.Component, row.Other = "(other: "+strconv.Itoa(folded)+" more components)", true
			}
			a = &acc{row: row, miner: matcher.NewMiner(), seen: map[int32]bool{}}
			byComp[key] = a
		}
		a.row.Count++
		if i := int(rec.Time.Sub(from) / col); i >= 0 && i < n {
			a.row.Cells[i].Count++
			top = max(top, a.row.Cells[i].Count)
		}
		if idx := a.miner.Add(msg); !a.seen[idx] {
			a.seen[idx] = true
			a.order = append(a.order, idx)
		}
		if len(d.Lines) < zoomShown {
			d.Lines = append(d.Lines, zoomLine{Time: rec.Time, Component: comp, Message: string(msg)})
		}
	}
	slices.Sort(shown)
	if folded > 0 {
		shown = append(shown, other)
	}
	for _, comp := range shown {
		a := byComp[comp]
		for i := range a.row.Cells {
			a.row.Cells[i].From, a.row.Cells[i].To = d.Columns[i].From, d.Columns[i].To
			a.row.Cells[i].Shade = shade(a.row.Cells[i].Count, top)
			a.row.Cells[i].Burst = len(d.Columns[i].Patterns) > 0
		}
		done := map[int32]bool{}
		for _, idx := range a.order {
			root := a.miner.Resolve(idx)
			if done[root] {
				continue
			}
			done[root] = true
			a.row.Templates = append(a.row.Templates, a.miner.Template(root))
		}
		slices.SortStableFunc(a.row.Templates, func(x, y matcher.Template) int { return int(y.Count) - int(x.Count) })
		d.Rows = append(d.Rows, *a.row)
	}
	c.render(w, r, http.StatusOK, "window", view{Title: "Window " + inputTime(from), Nav: "heatmap", Data: d})
	return nil
}

// published returns the published catalogue, or nil if there is none.
func (c *Console) published(r *http.Request) (*matcher.Catalog, uint64, error) {
	ctx := r.Context()
	vs, err := c.cfg.Source.Catalogues(ctx)
	if err != nil {
		return nil, 0, err
	}
	if vs.Published == 0 {
		return nil, 0, nil
	}
	data, err := c.cfg.Source.Catalogue(ctx, vs.Published)
	if err != nil {
		return nil, 0, err
	}
	cat, err := matcher.ParseCatalog(data)
	if err != nil {
		return nil, 0, err
	}
	return cat, vs.Published, nil
}

type timelineCell struct {
	From, To time.Time
	Count    int
	Shade    string
}

type patternSummary struct {
	Pattern  matcher.Pattern
	Total    int
	Timeline []timelineCell
}

type ruleSummary struct {
	Rule  matcher.Rule
	Total int
}

type patternsData struct {
	Version  uint64
	From, To time.Time
	Patterns []patternSummary
	Rules    []ruleSummary
	// Truncated is the number of detections read when that hit the cap:
	// the totals count the newest Truncated only.
	Truncated int
}

// timeline counts detections per hour-long (or shorter) cell over the range.
func timeline(dets []spec.DetectionRecord, from, to time.Time, cells int) []timelineCell {
	step := max(to.Sub(from)/time.Duration(cells), time.Second)
	n := int((to.Sub(from) + step - 1) / step)
	out := make([]timelineCell, n)
	top := 0
	for i := range out {
		out[i].From = from.Add(time.Duration(i) * step)
		out[i].To = out[i].From.Add(step)
	}
	for _, d := range dets {
		if i := int(d.Start.Sub(from) / step); i >= 0 && i < n {
			out[i].Count++
			top = max(top, out[i].Count)
		}
	}
	for i := range out {
		out[i].Shade = shade(out[i].Count, top)
	}
	return out
}

// patterns lists the published patterns with their element sequences and
// a timeline of their occurrences, and the rules with their hits.
func (c *Console) patterns(w http.ResponseWriter, r *http.Request, _ *session) error {
	from, to, err := timeRange(r, c.cfg.Now(), heatSpan, maxHeatSpan)
	if err != nil {
		return err
	}
	cat, v, err := c.published(r)
	if err != nil {
		return err
	}
	d := patternsData{Version: v, From: from, To: to}
	if cat != nil {
		dets, err := c.cfg.Source.Detections(r.Context(), from, to, nil, maxDetections)
		if err != nil {
			return err
		}
		d.Truncated = truncated(len(dets), maxDetections)
		byID := map[string][]spec.DetectionRecord{}
		for _, det := range dets {
			byID[det.ID] = append(byID[det.ID], det)
		}
		for _, p := range cat.Patterns {
			d.Patterns = append(d.Patterns, patternSummary{Pattern: p, Total: len(byID[p.ID]), Timeline: timeline(byID[p.ID], from, to, 48)})
		}
		for _, ru := range cat.Rules {
			d.Rules = append(d.Rules, ruleSummary{Rule: ru, Total: len(byID[ru.ID])})
		}
	}
	c.render(w, r, http.StatusOK, "patterns", view{Title: "Patterns", Nav: "patterns", Data: d})
	return nil
}

type occurrence struct {
	spec.DetectionRecord
	ZoomFrom, ZoomTo time.Time
	Took             time.Duration
}

type patternData struct {
	Pattern     *matcher.Pattern
	Rule        *matcher.Rule
	From, To    time.Time
	Timeline    []timelineCell
	Occurrences []occurrence // newest first
	OccCapped   int          // maxOccurrences when there are more
	// Truncated is the number of occurrences read when that hit the cap
	// (the newest only), else 0.
	Truncated int
}

// zoomAround is the whole-minute window around [start, end] (at most
// [maxZoom]).
func zoomAround(start, end time.Time) (time.Time, time.Time) {
	from := start.Add(-30 * time.Second).Truncate(time.Minute)
	to := end.Add(90 * time.Second).Truncate(time.Minute)
	if to.Sub(from) > maxZoom {
		to = from.Add(maxZoom)
	}
	return from, to
}

// pattern shows one published pattern (or rule): its elements in order,
// and its occurrences on a timeline and in a table, each opening its window.
func (c *Console) pattern(w http.ResponseWriter, r *http.Request, _ *session) error {
	id := r.URL.Query().Get("id")
	if id == "" || len(id) > 256 {
		return errBadInput
	}
	from, to, err := timeRange(r, c.cfg.Now(), heatSpan, maxHeatSpan)
	if err != nil {
		return err
	}
	cat, _, err := c.published(r)
	if err != nil {
		return err
	}
	if cat == nil {
		return errNotFound
	}
	d := patternData{From: from, To: to}
	for i := range cat.Patterns {
		if cat.Patterns[i].ID == id {
			d.Pattern = &cat.Patterns[i]
		}
	}
	for i := range cat.Rules {
		if cat.Rules[i].ID == id {
			d.Rule = &cat.Rules[i]
		}
	}
	if d.Pattern == nil && d.Rule == nil {
		return errNotFound
	}
	dets, err := c.cfg.Source.Detections(r.Context(), from, to, []string{id}, maxDetections)
	if err != nil {
		return err
	}
	d.Truncated = truncated(len(dets), maxDetections)
	d.Timeline = timeline(dets, from, to, 48)
	if len(dets) > maxOccurrences {
		d.OccCapped = maxOccurrences
	}
	for i := 0; i < len(dets) && len(d.Occurrences) < maxOccurrences; i++ {
		zf, zt := zoomAround(dets[i].Start, dets[i].End)
		d.Occurrences = append(d.Occurrences, occurrence{DetectionRecord: dets[i], ZoomFrom: zf, ZoomTo: zt, Took: dets[i].End.Sub(dets[i].Start)})
	}
	c.render(w, r, http.StatusOK, "pattern", view{Title: "Pattern " + id, Nav: "patterns", Data: d})
	return nil
}

type anomalyView struct {
	matcher.Detection
	ZoomFrom, ZoomTo time.Time
}

type anomaliesData struct {
	From, To  time.Time
	Anomalies []anomalyView
	Truncated bool
}

func anomalyViews(ds []matcher.Detection) []anomalyView {
	out := make([]anomalyView, len(ds))
	for i, d := range ds {
		zf, zt := zoomAround(d.Start, d.End)
		out[i] = anomalyView{Detection: d, ZoomFrom: zf, ZoomTo: zt}
	}
	return out
}

// anomalies lists the residual anomalies of the range, newest first, with
// a sample line each.
func (c *Console) anomalies(w http.ResponseWriter, r *http.Request, _ *session) error {
	from, to, err := timeRange(r, c.cfg.Now(), heatSpan, maxHeatSpan)
	if err != nil {
		return err
	}
	ds, err := c.cfg.Source.Anomalies(r.Context(), from, to, "", maxAnomalies)
	if err != nil {
		return err
	}
	d := anomaliesData{From: from, To: to, Anomalies: anomalyViews(ds), Truncated: len(ds) >= maxAnomalies}
	c.render(w, r, http.StatusOK, "anomalies", view{Title: "Anomalies", Nav: "anomalies", Data: d})
	return nil
}

// anomaly shows one anomaly (?d=detection id&at=its start) with its samples.
func (c *Console) anomaly(w http.ResponseWriter, r *http.Request, _ *session) error {
	q := r.URL.Query()
	id := q.Get("d")
	at, err := time.Parse(time.RFC3339Nano, q.Get("at"))
	if id == "" || len(id) > 128 || err != nil {
		return errBadInput
	}
	ds, err := c.cfg.Source.Anomalies(r.Context(), at, at.Add(time.Nanosecond), id, 1)
	if err != nil {
		return err
	}
	if len(ds) == 0 {
		return errNotFound
	}
	c.render(w, r, http.StatusOK, "anomaly", view{Title: "Anomaly " + ds[0].ID, Nav: "anomalies", Data: anomalyViews(ds)[0]})
	return nil
}

// sources is source health (GET /v1/admin/sources) and the silence
// alerts of the last day: detections of the published absence rules.
func (c *Console) sources(w http.ResponseWriter, r *http.Request, _ *session) error {
	srcs, err := c.cfg.Source.Sources(r.Context())
	if err != nil {
		return err
	}
	silent := 0
	for _, s := range srcs {
		if s.Silent {
			silent++
		}
	}
	var alerts []spec.DetectionRecord
	var capped []string // rules whose alerts hit the cap
	cat, _, err := c.published(r)
	if err != nil {
		return err
	}
	if cat != nil {
		var ids []string
		for _, ru := range cat.Rules {
			if ru.Type == matcher.RuleAbsence && !slices.Contains(ids, ru.ID) {
				ids = append(ids, ru.ID)
			}
		}
		if len(ids) > 0 {
			to := c.cfg.Now()
			if alerts, err = c.cfg.Source.Detections(r.Context(), to.Add(-heatSpan), to, ids, maxAnomalies); err != nil {
				return err
			}
		}
		per := map[string]int{}
		for _, a := range alerts {
			if per[a.ID]++; per[a.ID] == maxAnomalies {
				capped = append(capped, a.ID)
			}
		}
		slices.SortStableFunc(alerts, func(a, b spec.DetectionRecord) int { return b.Start.Compare(a.Start) })
	}
	c.render(w, r, http.StatusOK, "sources", view{Title: "Sources", Nav: "sources", Data: struct {
		Sources []spec.SourceHealth
		Silent  int
		Alerts  []spec.DetectionRecord
		Capped  []string // rules of which only the newest PerRule alerts are shown
		PerRule int
	}{srcs, silent, alerts, capped, maxAnomalies}})
	return nil
}

func (c *Console) tenants(w http.ResponseWriter, r *http.Request, _ *session) error {
	ts, err := c.cfg.Source.Tenants(r.Context())
	if err != nil {
		return err
	}
	rs, err := c.cfg.Source.Resources(r.Context())
	if err != nil {
		return err
	}
	c.render(w, r, http.StatusOK, "tenants", view{Title: "Tenants and resources", Nav: "tenants", Data: struct {
		Tenants   []spec.Tenant
		Resources []spec.Resource
	}{ts, rs}})
	return nil
}

type cataloguesData struct {
	Versions  []uint64
	Published uint64
	From, To  time.Time
}

// catalogues is learn-and-publish: the stored versions, a form to learn a
// proposal from a time range, and one to upload an edited catalogue.
func (c *Console) catalogues(w http.ResponseWriter, r *http.Request, _ *session) error {
	vs, err := c.cfg.Source.Catalogues(r.Context())
	if err != nil {
		return err
	}
	slices.Reverse(vs.Versions)
	to := c.cfg.Now().UTC().Truncate(time.Minute).Add(time.Minute)
	c.render(w, r, http.StatusOK, "catalogues", view{Title: "Catalogues", Nav: "catalogues", Data: cataloguesData{Versions: vs.Versions, Published: vs.Published, From: to.Add(-heatSpan), To: to}})
	return nil
}

type catalogueData struct {
	Version   uint64
	Published bool
	Catalog   *matcher.Catalog
	Text      string
}

// catalogue reviews one stored version: its patterns with their elements,
// its rules, its text to edit and upload as a new version, and publishing.
func (c *Console) catalogue(w http.ResponseWriter, r *http.Request, _ *session) error {
	v, err := strconv.ParseUint(r.URL.Query().Get("v"), 10, 64)
	if err != nil || v == 0 {
		return errBadInput
	}
	data, err := c.cfg.Source.Catalogue(r.Context(), v)
	if err != nil {
		return err
	}
	cat, err := matcher.ParseCatalog(data)
	if err != nil {
		return err
	}
	vs, err := c.cfg.Source.Catalogues(r.Context())
	if err != nil {
		return err
	}
	c.render(w, r, http.StatusOK, "catalogue", view{Title: "Catalogue " + strconv.FormatUint(v, 10), Nav: "catalogues",
		Data: catalogueData{Version: v, Published: vs.Published == v, Catalog: cat, Text: string(data)}})
	return nil
}

func (c *Console) learn(w http.ResponseWriter, r *http.Request, _ *session) error {
	from, err := parseTime(r.PostFormValue("from"), time.Time{})
	if err != nil {
		return err
	}
	to, err := parseTime(r.PostFormValue("to"), time.Time{})
	if err != nil {
		return err
	}
	if from.IsZero() || to.IsZero() || !to.After(from) {
		return errBadInput
	}
	l, err := c.cfg.Source.Learn(r.Context(), from, to)
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/ui/catalogue?v="+strconv.FormatUint(l.Version, 10), http.StatusSeeOther)
	return nil
}

func (c *Console) upload(w http.ResponseWriter, r *http.Request, _ *session) error {
	text := r.PostFormValue("catalogue")
	if strings.TrimSpace(text) == "" {
		return errBadInput
	}
	v, err := c.cfg.Source.Upload(r.Context(), []byte(text))
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/ui/catalogue?v="+strconv.FormatUint(v, 10), http.StatusSeeOther)
	return nil
}

func (c *Console) publish(w http.ResponseWriter, r *http.Request, _ *session) error {
	v, err := strconv.ParseUint(r.PostFormValue("v"), 10, 64)
	if err != nil || v == 0 {
		return errBadInput
	}
	if err := c.cfg.Source.Publish(r.Context(), v); err != nil {
		return err
	}
	http.Redirect(w, r, "/ui/catalogue?v="+strconv.FormatUint(v, 10), http.StatusSeeOther)
	return nil
}
