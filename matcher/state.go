package matcher

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// Errors from restoring state.
var (
	ErrState        = errors.New("matcher: malformed state")
	ErrStateCatalog = errors.New("matcher: state was saved under another catalogue")
)

// stateFormat versions the saved state.
const stateFormat = 1

type minerToken struct {
	Text string `json:"t"`
	Var  bool   `json:"v,omitempty"`
	Wild bool   `json:"w,omitempty"`
	Pre  string `json:"p,omitempty"`
	Key  string `json:"k,omitempty"`
	Post string `json:"s,omitempty"`
	Typ  string `json:"y,omitempty"`
}

type minerTemplate struct {
	ID    string       `json:"id"`
	Toks  []minerToken `json:"toks"`
	Count uint64       `json:"count"`
	Alias int32        `json:"alias"`
}

type minerGroup struct {
	Hash    string   `json:"hash"`
	Values  []string `json:"values,omitempty"`
	Members []int32  `json:"members,omitempty"`
	Merged  int32    `json:"merged"`
	Typed   *int32   `json:"typed,omitempty"`
	Pos     int      `json:"pos"`
}

type minerState struct {
	MergeValues int              `json:"merge_values,omitempty"`
	Templates   []minerTemplate  `json:"templates"`
	Skeletons   map[string]int32 `json:"skeletons"`
	Groups      []minerGroup     `json:"groups"`
}

// MarshalJSON saves the miner's state: templates, skeleton index and the
// distinct-value counts of word positions.
func (m *Miner) MarshalJSON() ([]byte, error) {
	s := minerState{MergeValues: m.MergeValues, Skeletons: make(map[string]int32, len(m.bySkel))}
	for _, t := range m.tmpls {
		mt := minerTemplate{ID: t.id, Count: t.count, Alias: t.alias}
		for _, tk := range t.toks {
			mt.Toks = append(mt.Toks, minerToken{Text: tk.text, Var: tk.isVar, Wild: tk.wild, Pre: tk.pre, Key: tk.key, Post: tk.post, Typ: tk.typ})
		}
		s.Templates = append(s.Templates, mt)
	}
	for h, i := range m.bySkel {
		s.Skeletons[strconv.FormatUint(h, 16)] = i
	}
	for h, g := range m.masked {
		mg := minerGroup{Hash: strconv.FormatUint(h, 16), Members: g.members, Merged: g.merged, Pos: g.pos}
		if g.typed >= 0 {
			typed := g.typed
			mg.Typed = &typed
		}
		for v := range g.values {
			mg.Values = append(mg.Values, v)
		}
		slices.Sort(mg.Values)
		s.Groups = append(s.Groups, mg)
	}
	slices.SortFunc(s.Groups, func(a, b minerGroup) int {
		if a.Hash < b.Hash {
			return -1
		}
		if a.Hash > b.Hash {
			return 1
		}
		return 0
	})
	return json.Marshal(s)
}

// UnmarshalJSON restores a state saved by MarshalJSON, checking every index.
func (m *Miner) UnmarshalJSON(b []byte) error {
	var s minerState
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%w: %v", ErrState, err)
	}
	n := int32(len(s.Templates))
	ok := func(i int32) bool { return i >= 0 && i < n }
	fresh := NewMiner()
	fresh.MergeValues = s.MergeValues
	for i, mt := range s.Templates {
		if mt.Alias != -1 && (!ok(mt.Alias) || mt.Alias == int32(i)) || len(mt.Toks) > maxTokens {
			return fmt.Errorf("%w: template %d", ErrState, i)
		}
		t := &mtemplate{id: mt.ID, count: mt.Count, alias: mt.Alias}
		for _, tk := range mt.Toks {
			t.toks = append(t.toks, mtoken{text: tk.Text, isVar: tk.Var, wild: tk.Wild, pre: tk.Pre, key: tk.Key, post: tk.Post, typ: tk.Typ})
			if !tk.Var {
				t.nconst++
			}
		}
		fresh.tmpls = append(fresh.tmpls, t)
		fresh.byLen[len(t.toks)] = append(fresh.byLen[len(t.toks)], int32(i))
	}
	// Alias chains must end: follow each for at most n steps.
	for i := range fresh.tmpls {
		j, steps := int32(i), int32(0)
		for fresh.tmpls[j].alias >= 0 {
			j = fresh.tmpls[j].alias
			if steps++; steps > n {
				return fmt.Errorf("%w: alias cycle", ErrState)
			}
		}
	}
	for hs, i := range s.Skeletons {
		h, err := strconv.ParseUint(hs, 16, 64)
		if err != nil || !ok(i) {
			return fmt.Errorf("%w: skeleton index", ErrState)
		}
		fresh.bySkel[h] = i
	}
	for _, g := range s.Groups {
		h, err := strconv.ParseUint(g.Hash, 16, 64)
		if err != nil || (g.Merged != -1 && !ok(g.Merged)) || g.Pos < 0 {
			return fmt.Errorf("%w: group", ErrState)
		}
		mg := &maskGroup{merged: g.Merged, typed: -1, pos: g.Pos, members: g.Members}
		if g.Typed != nil {
			if !ok(*g.Typed) {
				return fmt.Errorf("%w: group typed template", ErrState)
			}
			mg.typed = *g.Typed
		}
		for _, mem := range g.Members {
			if !ok(mem) {
				return fmt.Errorf("%w: group member", ErrState)
			}
		}
		if g.Merged < 0 {
			mg.values = map[string]struct{}{}
			for _, v := range g.Values {
				mg.values[v] = struct{}{}
			}
		}
		fresh.masked[h] = mg
	}
	fresh.onChange = m.onChange
	*m = *fresh
	return nil
}

type savedState struct {
	Format  int             `json:"format"`
	Catalog string          `json:"catalog"`
	Miner   json.RawMessage `json:"miner"`
	Engine  engineState     `json:"engine"`
}

func catalogHash(c *Catalog) string {
	b, _ := json.Marshal(c)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

// SaveState returns the engine's state (templates, open occurrences, rule
// windows, learned instance ownership, the current residual window) so that
// a restarted engine built from the same catalogue continues where this one
// stopped. The state holds sample log lines of the open window: store it
// with the platform's logs.
func (e *Engine) SaveState() ([]byte, error) {
	mb, err := e.miner.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return json.Marshal(savedState{Format: stateFormat, Catalog: catalogHash(e.cat), Miner: mb, Engine: e.s})
}

// RestoreState loads a state saved by SaveState into an engine built from
// the same catalogue.
func (e *Engine) RestoreState(b []byte) error {
	var s savedState
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%w: %v", ErrState, err)
	}
	if s.Format != stateFormat {
		return fmt.Errorf("%w: format %d", ErrState, s.Format)
	}
	if s.Catalog != catalogHash(e.cat) {
		return ErrStateCatalog
	}
	m := NewMiner()
	m.onChange = e.miner.onChange
	if err := m.UnmarshalJSON(s.Miner); err != nil {
		return err
	}
	st := s.Engine
	if len(st.Occs) != len(e.pats) || len(st.Freq) != len(e.rules) {
		return fmt.Errorf("%w: pattern or rule count", ErrState)
	}
	for pi, occs := range st.Occs {
		if occs == nil {
			st.Occs[pi] = map[string]*occ{}
		}
		for _, o := range occs {
			if o == nil || o.Pat != int32(pi) || o.Pos < 0 || o.Pos >= len(e.pats[pi].steps) || len(o.Lines) == 0 {
				return fmt.Errorf("%w: occurrence", ErrState)
			}
		}
	}
	for i := range st.Freq {
		if st.Freq[i] == nil {
			st.Freq[i] = map[string]*freqState{}
		}
		for _, f := range st.Freq[i] {
			if f == nil || len(f.Times) != len(f.Seqs) {
				return fmt.Errorf("%w: rule window", ErrState)
			}
		}
	}
	if st.Resid == nil {
		st.Resid = map[int32]*resGroup{}
	}
	for i, g := range st.Resid {
		if g == nil || i < 0 || int(i) >= m.Len() || g.Tmpl != i {
			return fmt.Errorf("%w: residual group", ErrState)
		}
	}
	if st.Instances == nil {
		st.Instances = map[string]string{}
	}
	if len(st.Sources) != len(e.rules) {
		return fmt.Errorf("%w: rule count", ErrState)
	}
	for i, m := range st.Sources {
		if m == nil {
			st.Sources[i] = map[string]*source{}
		}
		for _, src := range m {
			if src == nil || src.N < 1 {
				return fmt.Errorf("%w: source", ErrState)
			}
		}
	}
	e.miner = m
	e.metas = nil
	e.s = st
	e.comps = nil // it holds pointers to the replaced sources
	clear(e.silent)
	return nil
}
