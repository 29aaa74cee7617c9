package matcher

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// CatalogVersion is the catalogue format version this package reads and writes.
const CatalogVersion = 1

// ErrCatalog is wrapped by every catalogue validation error.
var ErrCatalog = errors.New("matcher: invalid catalogue")

// Catalog is a versioned set of patterns, rules and the periodic background,
// in the format of spec/catalog.md.
type Catalog struct {
	Version  int    `json:"version" yaml:"version"`
	Revision string `json:"revision,omitempty" yaml:"revision,omitempty"`
	// Window is the residual and profile window (default 5s).
	Window          Duration     `json:"window,omitempty" yaml:"window,omitempty"`
	AnomalySeverity int          `json:"anomaly_severity,omitempty" yaml:"anomaly_severity,omitempty"`
	Background      []Background `json:"background,omitempty" yaml:"background,omitempty"`
	Patterns        []Pattern    `json:"patterns,omitempty" yaml:"patterns,omitempty"`
	Rules           []Rule       `json:"rules,omitempty" yaml:"rules,omitempty"`
}

// Background is a template (or a whole component) that logs steadily; its
// lines are marked periodic and are not anomalies.
type Background struct {
	Template  string   `json:"template,omitempty" yaml:"template,omitempty"`
	Component string   `json:"component,omitempty" yaml:"component,omitempty"`
	Period    Duration `json:"period,omitempty" yaml:"period,omitempty"`
	// Rate is the mean number of lines per window.
	Rate float64 `json:"rate,omitempty" yaml:"rate,omitempty"`
}

// Pattern is a recurring burst: its elements in order.
type Pattern struct {
	ID          string `json:"id" yaml:"id"`
	Name        string `json:"name,omitempty" yaml:"name,omitempty"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	// Resource is the record field naming the resource the pattern is
	// about: "instance", "volume", "host" or "" (none: one occurrence at a time).
	Resource string `json:"resource,omitempty" yaml:"resource,omitempty"`
	// Tenant is the field naming the tenant: "project" or "" (then the
	// tenant is learned from the resource's other lines).
	Tenant string `json:"tenant,omitempty" yaml:"tenant,omitempty"`
	// Effect is "create" or "delete" when the pattern creates or removes
	// the resource; the engine tracks which instances each project has.
	Effect     string    `json:"effect,omitempty" yaml:"effect,omitempty"`
	Elements   []Element `json:"elements" yaml:"elements"`
	Typical    Duration  `json:"typical,omitempty" yaml:"typical,omitempty"`
	SlowAfter  Duration  `json:"slow_after,omitempty" yaml:"slow_after,omitempty"`
	Window     Duration  `json:"window" yaml:"window"`
	Threshold  float64   `json:"threshold,omitempty" yaml:"threshold,omitempty"`
	Severity   int       `json:"severity,omitempty" yaml:"severity,omitempty"`
	Compliance []string  `json:"compliance,omitempty" yaml:"compliance,omitempty"`
	// Support is how many occurrences the learner saw (informational).
	Support int `json:"support,omitempty" yaml:"support,omitempty"`
}

// Element is one step of a pattern: a template (placeholders such as <*>
// or <UUID> match any token) or, when Template is empty, any line of a
// component; Count is its run length (default 1).
type Element struct {
	Template  string `json:"template,omitempty" yaml:"template,omitempty"`
	Component string `json:"component,omitempty" yaml:"component,omitempty"`
	Count     int    `json:"count,omitempty" yaml:"count,omitempty"`
}

// Rule types.
const (
	RuleFrequency   = "frequency"
	RuleAbsence     = "absence"
	RuleSchedule    = "schedule"
	RuleKeyword     = "keyword"
	RuleCorrelation = "correlation"
)

// Rule is a security rule of one of the types above.
type Rule struct {
	ID          string   `json:"id" yaml:"id"`
	Name        string   `json:"name,omitempty" yaml:"name,omitempty"`
	Description string   `json:"description,omitempty" yaml:"description,omitempty"`
	Type        string   `json:"type" yaml:"type"`
	Severity    int      `json:"severity" yaml:"severity"`
	Compliance  []string `json:"compliance,omitempty" yaml:"compliance,omitempty"`
	Match       Match    `json:"match,omitempty" yaml:"match,omitempty"`
	// Key names what occurrences are counted or tracked by: a record field
	// (addr, host, component, instance, volume, project, user, request) or
	// "after:TEXT", the token following TEXT in the message.
	Key string `json:"key,omitempty" yaml:"key,omitempty"`
	// Threshold and Within: frequency rules fire at Threshold matches per key within Within.
	Threshold int      `json:"threshold,omitempty" yaml:"threshold,omitempty"`
	Within    Duration `json:"within,omitempty" yaml:"within,omitempty"`
	// Intervals and MinEvents: absence rules fire when a key that logged at
	// least MinEvents times steadily has been silent for Intervals of its
	// usual interval.
	Intervals float64 `json:"intervals,omitempty" yaml:"intervals,omitempty"`
	MinEvents int     `json:"min_events,omitempty" yaml:"min_events,omitempty"`
	// MinSpan: an absence rule only watches a source that has logged for
	// at least this long, so a short burst is not taken for a steady source.
	MinSpan Duration `json:"min_span,omitempty" yaml:"min_span,omitempty"`
	// Maintenance windows for schedule rules: "HH:MM-HH:MM" (UTC), optionally
	// preceded by days, e.g. "Sat,Sun 01:00-05:00".
	Maintenance []string `json:"maintenance,omitempty" yaml:"maintenance,omitempty"`
	// Resource and Tenant name the fields giving the detection's resource
	// and tenant ("project" or a Key-like "after:TEXT").
	Resource string `json:"resource,omitempty" yaml:"resource,omitempty"`
	Tenant   string `json:"tenant,omitempty" yaml:"tenant,omitempty"`
}

// Match selects lines: all given conditions must hold; Templates and
// Keywords are alternatives within themselves.
type Match struct {
	Templates  []string `json:"templates,omitempty" yaml:"templates,omitempty"`
	Keywords   []string `json:"keywords,omitempty" yaml:"keywords,omitempty"`
	Components []string `json:"components,omitempty" yaml:"components,omitempty"`
	Levels     []string `json:"levels,omitempty" yaml:"levels,omitempty"`
	// Patterns: schedule rules may fire on completed pattern occurrences.
	Patterns []string `json:"patterns,omitempty" yaml:"patterns,omitempty"`
}

// Duration is a time.Duration written as "5s", "2m30s".
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes d as "1m30s".
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads "1m30s" or a number of seconds.
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		*d = Duration(f * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%w: bad duration %q", ErrCatalog, s)
	}
	*d = Duration(v)
	return nil
}

// ParseCatalog reads a catalogue in YAML or JSON and validates it.
func ParseCatalog(b []byte) (*Catalog, error) {
	var c Catalog
	t := bytes.TrimSpace(b)
	if len(t) > 0 && t[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(t))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCatalog, err)
		}
	} else {
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCatalog, err)
		}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// JSON returns the catalogue as one line of JSON (ending in a newline),
// with templates' < and > left unescaped.
func (c *Catalog) JSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// YAML returns the catalogue as YAML.
func (c *Catalog) YAML() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	return buf.Bytes(), enc.Close()
}

var resourceFields = map[string]bool{"": true, "instance": true, "volume": true, "host": true, "project": true}

// Validate checks the catalogue against spec/catalog.md.
func (c *Catalog) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrCatalog}, a...)...)
	}
	if c.Version != CatalogVersion {
		return bad("version %d, want %d", c.Version, CatalogVersion)
	}
	if c.Window < 0 || c.AnomalySeverity < 0 || c.AnomalySeverity > 15 {
		return bad("bad window or anomaly severity")
	}
	ids := map[string]bool{}
	for i, p := range c.Patterns {
		if !validID(p.ID) || ids[p.ID] {
			return bad("pattern %d: missing, malformed or duplicate id", i)
		}
		ids[p.ID] = true
		if len(p.Elements) == 0 {
			return bad("pattern %s: no elements", p.ID)
		}
		for _, e := range p.Elements {
			if e.Template == "" && e.Component == "" || e.Count < 0 || e.Count > 1000 {
				return bad("pattern %s: element needs a template or component and a count in 0..1000", p.ID)
			}
		}
		if !resourceFields[p.Resource] || (p.Tenant != "" && p.Tenant != "project") {
			return bad("pattern %s: unknown resource or tenant field", p.ID)
		}
		if p.Effect != "" && p.Effect != "create" && p.Effect != "delete" {
			return bad("pattern %s: effect must be create or delete", p.ID)
		}
		if p.Window <= 0 || p.Threshold < 0 || p.Threshold > 1 || p.Severity < 0 || p.Severity > 15 || p.SlowAfter < 0 {
			return bad("pattern %s: window must be positive, threshold in 0..1, severity in 0..15", p.ID)
		}
	}
	for i, r := range c.Rules {
		if !validID(r.ID) || ids[r.ID] {
			return bad("rule %d: missing, malformed or duplicate id", i)
		}
		ids[r.ID] = true
		if r.Severity < 0 || r.Severity > 15 {
			return bad("rule %s: severity must be in 0..15", r.ID)
		}
		if !validKey(r.Key) || !validKey(r.Resource) || !validKey(r.Tenant) {
			return bad("rule %s: unknown key, resource or tenant field", r.ID)
		}
		m := r.Match
		empty := len(m.Templates)+len(m.Keywords)+len(m.Components)+len(m.Levels)+len(m.Patterns) == 0
		switch r.Type {
		case RuleFrequency:
			if r.Threshold < 1 || r.Within <= 0 || empty {
				return bad("rule %s: frequency needs match, threshold >= 1 and within > 0", r.ID)
			}
		case RuleAbsence:
			if r.Intervals <= 1 || r.MinEvents < 2 || r.MinSpan < 0 {
				return bad("rule %s: absence needs intervals > 1 and min_events >= 2", r.ID)
			}
		case RuleSchedule:
			if empty {
				return bad("rule %s: schedule needs a match", r.ID)
			}
			for _, w := range r.Maintenance {
				if _, err := parseMaintenance(w); err != nil {
					return bad("rule %s: %v", r.ID, err)
				}
			}
		case RuleKeyword:
			if empty {
				return bad("rule %s: keyword needs a match", r.ID)
			}
		case RuleCorrelation:
			if empty || r.Key == "" {
				return bad("rule %s: correlation needs a match and the key naming the project", r.ID)
			}
		default:
			return bad("rule %s: unknown type %q", r.ID, r.Type)
		}
		if len(m.Patterns) > 0 && r.Type != RuleSchedule {
			return bad("rule %s: only schedule rules match patterns", r.ID)
		}
		for _, p := range m.Patterns {
			found := false
			for _, q := range c.Patterns {
				found = found || q.ID == p
			}
			if !found {
				return bad("rule %s: unknown pattern %q", r.ID, p)
			}
		}
	}
	return nil
}

// validID accepts short stable ids such as "vm.create" or "ssh.bruteforce".
func validID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func validKey(k string) bool {
	switch k {
	case "", "addr", "host", "component", "instance", "volume", "project", "user", "request":
		return true
	}
	return strings.HasPrefix(k, "after:") && len(k) > len("after:")
}

// maintWindow is a daily window, on some weekdays.
type maintWindow struct {
	days       [7]bool
	start, end int // minutes from midnight UTC; end may be < start (crosses midnight)
}

var dayNames = map[string]time.Weekday{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}

func parseMaintenance(s string) (maintWindow, error) {
	var w maintWindow
	f := strings.Fields(s)
	if len(f) == 0 || len(f) > 2 {
		return w, fmt.Errorf("bad maintenance window %q", s)
	}
	if len(f) == 2 {
		for _, d := range strings.Split(f[0], ",") {
			wd, ok := dayNames[strings.ToLower(d)]
			if !ok {
				return w, fmt.Errorf("bad day in maintenance window %q", s)
			}
			w.days[wd] = true
		}
	} else {
		for i := range w.days {
			w.days[i] = true
		}
	}
	se := strings.Split(f[len(f)-1], "-")
	if len(se) != 2 {
		return w, fmt.Errorf("bad maintenance window %q", s)
	}
	var err error
	if w.start, err = minutes(se[0]); err == nil {
		w.end, err = minutes(se[1])
	}
	if err != nil {
		return w, fmt.Errorf("bad time in maintenance window %q", s)
	}
	return w, nil
}

func minutes(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, err
	}
	return t.Hour()*60 + t.Minute(), nil
}

func (w maintWindow) contains(t time.Time) bool {
	t = t.UTC()
	m := t.Hour()*60 + t.Minute()
	if w.start <= w.end {
		return w.days[t.Weekday()] && m >= w.start && m < w.end
	}
	// Crosses midnight: the day named is the day the window opens.
	if m >= w.start {
		return w.days[t.Weekday()]
	}
	return m < w.end && w.days[(t.Weekday()+6)%7]
}

// globToken matches a catalogue template token against a mined template
// token: placeholders "<*>", "<NUM>", ... in the pattern match any non-empty
// text. Dynamic programming keeps it O(len(pat)·len(s)) whatever the input.
func globToken(pat, s string) bool {
	if !strings.Contains(pat, "<") {
		return pat == s
	}
	// Items: a literal byte (>= 0) or a placeholder (-1).
	items := make([]int, 0, len(pat))
	for i := 0; i < len(pat); {
		if pat[i] == '<' {
			if j := strings.IndexByte(pat[i:], '>'); j > 0 && isPlaceholder(pat[i:i+j+1]) {
				items = append(items, -1)
				i += j + 1
				continue
			}
		}
		items = append(items, int(pat[i]))
		i++
	}
	// cur[j]: items[:k] match s[:j].
	prev := make([]bool, len(s)+1)
	cur := make([]bool, len(s)+1)
	prev[0] = true
	for _, it := range items {
		cur[0] = false
		any := false // for a placeholder: some prev[j'] with j' < j holds
		for j := 1; j <= len(s); j++ {
			if it < 0 {
				any = any || prev[j-1]
				cur[j] = any
			} else {
				cur[j] = prev[j-1] && s[j-1] == byte(it)
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(s)]
}

func isPlaceholder(s string) bool {
	if len(s) < 3 || s[0] != '<' || s[len(s)-1] != '>' {
		return false
	}
	for _, c := range s[1 : len(s)-1] {
		if !(c >= 'A' && c <= 'Z' || c == '*') {
			return false
		}
	}
	return true
}

// compileTemplate splits a catalogue template into tokens the way the miner
// does: a run of adjacent placeholder tokens (such as "<NUM> <NUM>" or
// "<PATH> <PATH>") becomes one, keeping the first's prefix and the last's
// suffix punctuation.
func compileTemplate(t string) []string {
	var out []string
	prevVar := false
	for _, tok := range strings.Fields(t) {
		v := placeholderToken(tok)
		if v && prevVar {
			last := out[len(out)-1]
			pre := last[:strings.IndexByte(last, '<')]
			post := tok[strings.LastIndexByte(tok, '>')+1:]
			out[len(out)-1] = pre + phAny + post
			continue
		}
		out = append(out, tok)
		prevVar = v
	}
	return out
}

// placeholderToken reports whether tok is one placeholder with punctuation
// around it (not key=value).
func placeholderToken(tok string) bool {
	i, j := 0, len(tok)
	for i < j && isAffix(tok[i]) && tok[i] != '<' {
		i++
	}
	for j > i && isAffix(tok[j-1]) && tok[j-1] != '>' {
		j--
	}
	return j-i >= 3 && isPlaceholder(tok[i:j])
}

// templateMatches reports whether the catalogue template pat (split in
// tokens) describes the mined template t.
func templateMatches(pat []string, t *mtemplate) bool {
	if len(pat) != len(t.toks) {
		return false
	}
	for i, p := range pat {
		if p == phAny {
			continue
		}
		if !globToken(p, t.toks[i].text) {
			return false
		}
	}
	return true
}
