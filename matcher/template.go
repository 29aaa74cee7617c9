package matcher

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// Placeholder types shown in template text.
const (
	phAny  = "<*>"
	phNum  = "<NUM>"
	phIP   = "<IP>"
	phUUID = "<UUID>"
	phHex  = "<HEX>"
	phPath = "<PATH>"
	phURL  = "<URL>"
)

// DefaultMergeValues is how many distinct words a position must take, in
// lines otherwise alike, before it becomes a placeholder.
const DefaultMergeValues = 8

// DefaultMaxTemplates bounds the templates a miner keeps; beyond it, lines of
// a new shape share one catch-all template per token count.
const DefaultMaxTemplates = 100000

// maxSkeletons bounds the skeleton index (skeletons beyond it take the
// slower path that scans the templates of the same length).
const maxSkeletons = 1 << 20

const maxTokens = 256

// Template is a mined message template.
type Template struct {
	// ID is stable: derived from the template's first skeleton, so the same
	// template gets the same id in every run and after a restart.
	ID    string `json:"id"`
	Text  string `json:"template"`
	Count uint64 `json:"count"`
}

// mtemplate is the miner's view of a template.
type mtemplate struct {
	id     string
	toks   []mtoken
	count  uint64
	alias  int32 // -1, or the template this one was merged into
	nconst int
}

// mtoken is a template token. A constant has var false and text its bytes;
// a placeholder keeps the punctuation around it in pre/post.
type mtoken struct {
	text     string // constant text, or rendered placeholder with affixes
	isVar    bool
	wild     bool   // a merged word position: takes any token
	pre, key string // for placeholders: leading punctuation or "key="
	post     string
	typ      string
}

type span struct {
	s, e   int32
	isVar  bool
	kv     bool  // a key=value token: the key is kept
	vs, ve int32 // the variable core inside the token (or run of tokens)
}

type maskGroup struct {
	values  map[string]struct{}
	members []int32
	merged  int32 // template index once merged, else -1
	typed   int32 // a template with a typed placeholder here, else -1
	pos     int
}

// Miner mines templates online. Add is the hot path: one pass over the
// message, a hash lookup and, for a known skeleton, a check of its
// constant tokens, without allocating. Not safe for concurrent use.
type Miner struct {
	// MergeValues overrides [DefaultMergeValues] when positive.
	MergeValues int
	// MaxTemplates overrides [DefaultMaxTemplates] when positive.
	MaxTemplates int

	tmpls  []*mtemplate
	bySkel map[uint64]int32
	byLen  map[int][]int32
	masked map[uint64]*maskGroup
	spans  []span
	// onChange is called with a template index whose tokens changed.
	onChange func(int32)
}

// NewMiner returns an empty miner.
func NewMiner() *Miner {
	return &Miner{
		bySkel: make(map[uint64]int32),
		byLen:  make(map[int][]int32),
		masked: make(map[uint64]*maskGroup),
		spans:  make([]span, 0, 64),
	}
}

const (
	fnvOff  = 14695981039346656037
	fnvPrim = 1099511628211
)

// Byte classes tokenize looks for inside a token; every other byte is 0.
const (
	clSpace uint8 = 1 << iota
	clDigit
	clSlash
	clEq
)

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// zeroBytes has the top bit of the lowest zero byte of v set (and perhaps
// of bytes above it): exact for "any zero byte" and for the lowest one.
func zeroBytes(v uint64) uint64 { return (v - lsb) & ^v & msb }

// specialBytes marks the bytes of w (little-endian) that end a token or
// matter inside one: space, tab, '/' and '='.
func specialBytes(w uint64) uint64 {
	return zeroBytes(w^(' '*lsb)) | zeroBytes(w^('\t'*lsb)) | zeroBytes(w^('/'*lsb)) | zeroBytes(w^('='*lsb))
}

// digitBytes sets the top bit of every byte of w that is an ASCII digit.
func digitBytes(w uint64) uint64 {
	low := w & ^uint64(msb)
	ge0 := low + (0x80-'0')*lsb // top bit set where the byte is >= '0'
	gt9 := low + (0x7f-'9')*lsb // top bit set where the byte is > '9'
	return ge0 & ^gt9 & ^w & msb
}

var tokClass = func() (t [256]uint8) {
	t[' '], t['\t'] = clSpace, clSpace
	for c := '0'; c <= '9'; c++ {
		t[c] = clDigit
	}
	t['/'], t['='] = clSlash, clEq
	return t
}()

// tokenize splits msg on spaces into m.spans and returns the skeleton hash.
// A run of adjacent variable tokens (not key=value) is one span, so that a
// list of paths, addresses or ids of any length is one placeholder.
func (m *Miner) tokenize(msg []byte) uint64 {
	m.spans = m.spans[:0]
	i, n := 0, len(msg)
	for i < n {
		for i < n && (msg[i] == ' ' || msg[i] == '\t') {
			i++
		}
		if i >= n {
			break
		}
		s := i
		if len(m.spans) == maxTokens-1 {
			i = n
			for i > s && (msg[i-1] == ' ' || msg[i-1] == '\t') {
				i--
			}
			m.spans = append(m.spans, span{s: int32(s), e: int32(i), isVar: true, vs: int32(s), ve: int32(i)})
			break
		}
		eq, colonSlash := -1, false
		var seen uint8
		for ; i < n; i++ {
			// Eight bytes at a time up to the next space, tab, '/' or '='.
			for i+8 <= n {
				w := binary.LittleEndian.Uint64(msg[i:])
				sp := specialBytes(w)
				j := 8
				if sp != 0 {
					j = bits.TrailingZeros64(sp) >> 3
				}
				if j > 0 {
					if d := digitBytes(w); d != 0 && (j == 8 || d&(1<<(8*j)-1) != 0) {
						seen |= clDigit
					}
					i += j
				}
				if j < 8 {
					break
				}
			}
			if i >= n {
				break
			}
			k := tokClass[msg[i]]
			if k == 0 {
				continue // a byte of no interest
			}
			if k == clSpace {
				break
			}
			seen |= k
			switch k {
			case clSlash:
				if i > s && msg[i-1] == ':' {
					colonSlash = true
				}
			case clEq:
				if eq < 0 {
					eq = i
				}
			}
		}
		digit := seen&clDigit != 0
		sp := span{s: int32(s), e: int32(i)}
		kv := eq > s && eq < i-1 && msg[s] != '/' && !colonSlash
		if i-s == 2 && isEmptyPair(msg[s], msg[s+1]) {
			// "()", "[]", "\"\"": a bracketed or quoted value that is empty.
			sp.isVar, sp.vs, sp.ve = true, int32(s+1), int32(s+1)
		} else if digit || msg[s] == '/' || colonSlash || kv {
			vs, ve := s, i
			if kv {
				vs = eq + 1
			}
			for vs < ve && isAffix(msg[vs]) {
				vs++
			}
			for ve > vs && isAffix(msg[ve-1]) {
				ve--
			}
			if vs < ve {
				sp.isVar, sp.kv, sp.vs, sp.ve = true, kv, int32(vs), int32(ve)
			}
		}
		if sp.isVar && !sp.kv && !sp.empty() {
			// Weekday and month names just before a number are part of a
			// date ("Fri Jun 17 20:55:06 2005"), so part of the value.
			k := len(m.spans)
			for k > 0 && !m.spans[k-1].isVar && isDateName(msg[m.spans[k-1].s:m.spans[k-1].e]) {
				k--
			}
			if k < len(m.spans) {
				sp.s, sp.vs = m.spans[k].s, m.spans[k].s
				m.spans = m.spans[:k]
			}
		}
		if sp.isVar && !sp.kv && len(m.spans) > 0 {
			if prev := &m.spans[len(m.spans)-1]; prev.isVar && !prev.kv {
				prev.e, prev.ve = sp.e, sp.ve
				continue
			}
		}
		m.spans = append(m.spans, sp)
	}
	h := uint64(fnvOff)
	for _, sp := range m.spans {
		if sp.isVar {
			h = hashBytes(h, msg[sp.s:sp.vs])
			h = (h ^ 0x01) * fnvPrim
			h = hashBytes(h, msg[sp.ve:sp.e])
		} else {
			h = hashBytes(h, msg[sp.s:sp.e])
		}
		h = (h ^ 0x20) * fnvPrim
	}
	return h ^ uint64(len(m.spans))<<56
}

func (sp *span) empty() bool { return sp.vs == sp.ve }

func isEmptyPair(a, b byte) bool {
	switch {
	case a == '(' && b == ')', a == '[' && b == ']', a == '{' && b == '}', a == '"' && b == '"', a == '\'' && b == '\'':
		return true
	}
	return false
}

// isDateName reports whether b is an English weekday or month name, full or
// abbreviated, as C's asctime, syslog and HTTP dates write them.
func isDateName(b []byte) bool {
	if len(b) < 3 || len(b) > 9 || b[0] < 'A' || b[0] > 'Z' {
		return false
	}
	switch string(b) {
	case "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun",
		"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
		"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
		"January", "February", "March", "April", "June", "July", "August", "September", "October", "November", "December":
		return true
	}
	return false
}

// hashBytes mixes b into h eight bytes at a time.
func hashBytes(h uint64, b []byte) uint64 {
	for len(b) >= 8 {
		h = (h ^ binary.LittleEndian.Uint64(b)) * fnvPrim
		h ^= h >> 29
		b = b[8:]
	}
	for _, c := range b {
		h = (h ^ uint64(c)) * fnvPrim
	}
	return h
}

func isAffix(c byte) bool {
	switch c {
	case '[', ']', '(', ')', '{', '}', '<', '>', '"', '\'', ',', ';', ':', '.', '!', '?':
		return true
	}
	return false
}

// matches reports whether the tokenized message fits template t.
func (m *Miner) matches(t *mtemplate, msg []byte) bool {
	if len(t.toks) != len(m.spans) {
		return false
	}
	for i, sp := range m.spans {
		tk := &t.toks[i]
		if tk.wild {
			continue
		}
		if tk.isVar != sp.isVar {
			return false
		}
		if !sp.isVar {
			if string(msg[sp.s:sp.e]) != tk.text {
				return false
			}
			continue
		}
		pk := msg[sp.s:sp.vs] // tk.pre + tk.key, compared without joining them
		if len(pk) != len(tk.pre)+len(tk.key) || string(pk[:len(tk.pre)]) != tk.pre || string(pk[len(tk.pre):]) != tk.key ||
			string(msg[sp.ve:sp.e]) != tk.post {
			return false
		}
	}
	return true
}

// Add mines msg and returns its template's index (see [Miner.Template]).
func (m *Miner) Add(msg []byte) int32 {
	h := m.tokenize(msg)
	if idx, ok := m.bySkel[h]; ok {
		root := m.resolve(idx)
		if root != idx {
			m.bySkel[h] = root
		}
		t := m.tmpls[root]
		if m.matches(t, msg) {
			t.count++
			return root
		}
	}
	return m.slowAdd(msg, h)
}

func (m *Miner) resolve(i int32) int32 {
	for m.tmpls[i].alias >= 0 {
		i = m.tmpls[i].alias
	}
	return i
}

func (m *Miner) slowAdd(msg []byte, h uint64) int32 {
	n := len(m.spans)
	// A template that already fits (after merges).
	for _, i := range m.byLen[n] {
		if m.tmpls[i].alias >= 0 {
			continue
		}
		if m.matches(m.tmpls[i], msg) {
			m.register(h, i)
			m.tmpls[i].count++
			return i
		}
	}
	maxT := m.MaxTemplates
	if maxT <= 0 {
		maxT = DefaultMaxTemplates
	}
	if len(m.tmpls) >= maxT {
		return m.overflow(n)
	}
	t := m.newTemplate(msg)
	idx := int32(len(m.tmpls))
	m.tmpls = append(m.tmpls, t)
	m.byLen[n] = append(m.byLen[n], idx)
	m.register(h, idx)
	// Word positions: count distinct values among otherwise equal skeletons.
	k := m.MergeValues
	if k <= 0 {
		k = DefaultMergeValues
	}
	// A position where one line has a typed value (number, address, id)
	// and otherwise alike lines have a word is a parameter slot at once:
	// the word is another value of the same parameter ("Invalid user 1234
	// from <IP>" and "Invalid user admin from <IP>").
	for pos := range t.toks {
		tk := &t.toks[pos]
		if tk.isVar && tk.key != "" {
			continue // a key=value token never meets a bare word
		}
		mh := m.maskedHash(msg, pos)
		g := m.masked[mh]
		if g == nil {
			g = &maskGroup{merged: -1, typed: -1, pos: pos}
			m.masked[mh] = g
		}
		if g.merged >= 0 {
			root := m.resolve(g.merged)
			m.mergeInto(root, idx)
			return root
		}
		if tk.isVar {
			if len(g.members) == 0 {
				if g.typed < 0 {
					g.typed = idx
				}
				continue
			}
			g.members = append(g.members, idx)
			return m.wildcard(g, pos)
		}
		if g.values == nil {
			g.values = make(map[string]struct{}, 1)
		}
		g.values[tk.text] = struct{}{}
		g.members = append(g.members, idx)
		if g.typed >= 0 || len(g.values) >= k {
			return m.wildcard(g, pos)
		}
	}
	return idx
}

// wildcard turns position pos of the group's first template into a word
// placeholder and merges the group's other templates (and its typed one)
// into it.
func (m *Miner) wildcard(g *maskGroup, pos int) int32 {
	root := m.resolve(g.members[0])
	rt := m.tmpls[root]
	if !rt.toks[pos].isVar {
		rt.nconst--
	}
	rt.toks[pos] = mtoken{text: phAny, isVar: true, wild: true, typ: phAny}
	for _, mem := range g.members[1:] {
		if r := m.resolve(mem); r != root {
			m.mergeInto(root, r)
		}
	}
	if g.typed >= 0 {
		if r := m.resolve(g.typed); r != root {
			m.mergeInto(root, r)
		}
	}
	g.merged = root
	g.values, g.members = nil, nil
	if m.onChange != nil {
		m.onChange(root)
	}
	return root
}

func (m *Miner) mergeInto(root, other int32) {
	if root == other {
		return
	}
	o := m.tmpls[other]
	m.tmpls[root].count += o.count
	o.count = 0
	o.alias = root
}

// overflow returns the catch-all template of n tokens, all placeholders,
// creating it (beyond the limit: one per token count) when needed.
func (m *Miner) overflow(n int) int32 {
	for _, i := range m.byLen[n] {
		if t := m.tmpls[i]; t.alias < 0 && t.nconst == 0 && len(t.toks) > 0 && t.toks[0].wild {
			t.count++
			return i
		}
	}
	t := &mtemplate{alias: -1, count: 1, toks: make([]mtoken, n)}
	for i := range t.toks {
		t.toks[i] = mtoken{text: phAny, isVar: true, wild: true, typ: phAny}
	}
	t.id = fmt.Sprintf("ffff%012x", n)
	idx := int32(len(m.tmpls))
	m.tmpls = append(m.tmpls, t)
	m.byLen[n] = append(m.byLen[n], idx)
	return idx
}

// register maps a skeleton hash to a template, keeping the first mapping if
// two skeletons collide (the colliding one is then found by slowAdd).
func (m *Miner) register(h uint64, idx int32) {
	if len(m.bySkel) >= maxSkeletons {
		return
	}
	if _, ok := m.bySkel[h]; !ok {
		m.bySkel[h] = idx
	}
}

func (m *Miner) maskedHash(msg []byte, pos int) uint64 {
	h := uint64(fnvOff) ^ uint64(pos+1)<<40
	for i, sp := range m.spans {
		if i == pos {
			h = (h ^ 0x02) * fnvPrim
		} else if sp.isVar {
			h = hashBytes(h, msg[sp.s:sp.vs])
			h = (h ^ 0x01) * fnvPrim
			h = hashBytes(h, msg[sp.ve:sp.e])
		} else {
			h = hashBytes(h, msg[sp.s:sp.e])
		}
		h = (h ^ 0x20) * fnvPrim
	}
	return h ^ uint64(len(m.spans))<<56
}

func (m *Miner) newTemplate(msg []byte) *mtemplate {
	t := &mtemplate{alias: -1, count: 1, toks: make([]mtoken, len(m.spans))}
	id := uint64(fnvOff)
	for i, sp := range m.spans {
		if !sp.isVar {
			t.toks[i] = mtoken{text: string(msg[sp.s:sp.e])}
			t.nconst++
		} else {
			core := msg[sp.vs:sp.ve]
			pre := string(msg[sp.s:sp.vs])
			key := ""
			if eq := strings.IndexByte(pre, '='); eq >= 0 {
				// "key=" stays; punctuation after it is prefix.
				key, pre = pre[:eq+1], pre[eq+1:]
				// Leading punctuation before the key belongs to key text.
			}
			typ := classify(core)
			tk := mtoken{isVar: true, pre: "", key: key, post: string(msg[sp.ve:sp.e]), typ: typ}
			if key != "" {
				tk.key = key + pre
			} else {
				tk.pre = pre
			}
			tk.text = tk.pre + tk.key + typ + tk.post
			t.toks[i] = tk
		}
		for _, c := range []byte(t.toks[i].skelText()) {
			id = (id ^ uint64(c)) * fnvPrim
		}
		id = (id ^ 0x20) * fnvPrim
	}
	t.id = strconv.FormatUint(id, 16)
	for len(t.id) < 16 {
		t.id = "0" + t.id
	}
	return t
}

// skelText is the token with any placeholder shown as <*>, used for ids.
func (tk *mtoken) skelText() string {
	if !tk.isVar {
		return tk.text
	}
	return tk.pre + tk.key + phAny + tk.post
}

// classify names the type of a variable token's core.
func classify(b []byte) string {
	if len(b) == 0 {
		return phAny
	}
	switch {
	case isUUID(b):
		return phUUID
	case bytes.Contains(b, []byte("://")):
		return phURL
	case b[0] == '/':
		return phPath
	}
	if n := ipv4Len(b); n > 0 && (n == len(b) || b[n] == ':') {
		return phIP
	}
	num, hex := true, len(b) >= 6
	for _, c := range b {
		if !isDigit(c) && c != '.' && c != '-' && c != '+' && c != '%' {
			num = false
		}
		if !isHex(c) {
			hex = false
		}
	}
	if num {
		return phNum
	}
	if hex {
		return phHex
	}
	return phAny
}

// Len returns the number of templates ever created (indices are below it).
func (m *Miner) Len() int { return len(m.tmpls) }

// Resolve returns the index a template was merged into (itself if none).
func (m *Miner) Resolve(idx int32) int32 { return m.resolve(idx) }

// Template returns the template at idx (resolved through merges).
func (m *Miner) Template(idx int32) Template {
	t := m.tmpls[m.resolve(idx)]
	return Template{ID: t.id, Text: t.text(), Count: t.count}
}

func (t *mtemplate) text() string {
	var sb strings.Builder
	for i := range t.toks {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(t.toks[i].text)
	}
	return sb.String()
}

// Templates returns the live (unmerged) templates in creation order.
func (m *Miner) Templates() []Template {
	var out []Template
	for i, t := range m.tmpls {
		if t.alias < 0 {
			out = append(out, m.Template(int32(i)))
		}
	}
	return out
}
