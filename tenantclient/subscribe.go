package tenantclient

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hisoka-project/hisoka/crypto"
	"github.com/hisoka-project/hisoka/spec"
)

// Subscription is one pattern (or rule) of the catalogue on one of the
// tenant's resources, with optional parameters from the catalogue's fixed
// set. It never leaves the tenant's machine: the server only ever sees it
// blinded.
type Subscription struct {
	// ID names the subscription locally; Subscribe derives it from the
	// other fields when empty.
	ID       string         `json:"id"`
	Pattern  string         `json:"pattern"`
	Resource string         `json:"resource"`
	Params   []crypto.Param `json:"params,omitempty"`
	// Periods lists the key periods the tenant holds tokens for (output only).
	Periods []uint64 `json:"periods,omitempty"`
}

func (s Subscription) descriptor() crypto.Descriptor {
	return crypto.Descriptor{PatternID: s.Pattern, ResourceID: s.Resource, Params: s.Params}
}

// check reports whether the subscription encodes as a descriptor.
func (s Subscription) check() error {
	if s.ID == "" {
		return ErrSubscription
	}
	if _, err := s.descriptor().MarshalBinary(); err != nil {
		return fmt.Errorf("%w: %w", ErrSubscription, err)
	}
	return nil
}

// defaultID is "pattern@resource" followed by ";name=value" per parameter,
// sorted by name.
func (s Subscription) defaultID() string {
	var b strings.Builder
	b.WriteString(s.Pattern + "@" + s.Resource)
	ps := slices.Clone(s.Params)
	slices.SortFunc(ps, func(a, b crypto.Param) int { return strings.Compare(a.Name, b.Name) })
	for _, p := range ps {
		b.WriteString(";" + p.Name + "=" + p.Value)
	}
	return b.String()
}

// Catalog returns the published catalogue: the patterns and rules a tenant
// may subscribe to.
func (c *Client) Catalog(ctx context.Context) (spec.Catalog, error) {
	var cat spec.Catalog
	err := c.doJSON(ctx, http.MethodGet, "/v1/catalog", nil, nil, &cat)
	return cat, err
}

// boardKeyOffset is where the board key sits in a directory body
// (spec/protocol.md section 4.3): version, issued, origin, length, overlap.
const boardKeyOffset = 1 + 4*8

// directory fetches GET /v1/keys and verifies it with the pinned board key,
// pinning the key in it on first use. c.mu must be held.
func (c *Client) directory(ctx context.Context) (*crypto.Directory, error) {
	resp, err := c.request(ctx, http.MethodGet, "/v1/keys", nil, "", nil, false)
	if err != nil {
		return nil, err
	}
	raw, err := c.readAll(resp, 64<<10)
	if err != nil {
		return nil, err
	}
	pinned := ed25519.PublicKey(c.st.BoardKey)
	tofu := pinned == nil
	if tofu {
		if len(raw) < boardKeyOffset+ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: %w", ErrTampered, crypto.ErrMalformed)
		}
		pinned = bytes.Clone(raw[boardKeyOffset : boardKeyOffset+ed25519.PublicKeySize])
	} else if len(raw) >= boardKeyOffset+ed25519.PublicKeySize && !bytes.Equal(raw[boardKeyOffset:boardKeyOffset+ed25519.PublicKeySize], pinned) {
		return nil, ErrBoardKeyChanged
	}
	dir, err := crypto.ParseDirectory(raw, pinned)
	if err != nil {
		return nil, fmt.Errorf("%w: key directory: %w", ErrTampered, err)
	}
	// Key consistency: a period's key never changes once seen.
	for _, k := range dir.Keys {
		for _, seen := range c.st.Keys {
			if seen.Period == k.Period && !bytes.Equal(seen.KeyID, k.ID[:]) {
				return nil, ErrKeyChanged
			}
		}
	}
	if tofu {
		c.st.BoardKey = pinned
		c.verifier.BoardKey = pinned
		c.log.Warn("tenantclient: board key pinned on first use; compare it with the operator's registration answer")
	}
	// Forget the records of keys no longer published whose period is over.
	c.st.Keys = slices.DeleteFunc(c.st.Keys, func(p periodKey) bool {
		listed := slices.ContainsFunc(dir.Keys, func(k crypto.DirectoryKey) bool { return k.Period == p.Period })
		return !listed && c.pastPeriod(p.End)
	})
	for _, k := range dir.Keys {
		if !slices.ContainsFunc(c.st.Keys, func(p periodKey) bool { return p.Period == k.Period }) {
			c.st.Keys = append(c.st.Keys, periodKey{Period: k.Period, KeyID: bytes.Clone(k.ID[:]), End: k.End})
		}
	}
	c.dirHash = dir.Hash()
	return dir, nil
}

// DirectoryHash returns SHA-256 of the last key directory this client
// verified, for comparing with other tenants through an independent channel
// (two tenants shown different keys is a partitioning attack).
func (c *Client) DirectoryHash() [32]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dirHash
}

// evaluate registers subs blindly with key and returns one token per sub.
func (c *Client) evaluate(ctx context.Context, key crypto.DirectoryKey, subs []Subscription) ([]crypto.Token, error) {
	var out []crypto.Token
	for start := 0; start < len(subs); start += crypto.MaxEvaluationBatch {
		chunk := subs[start:min(start+crypto.MaxEvaluationBatch, len(subs))]
		ds := make([]crypto.Descriptor, len(chunk))
		for i, s := range chunk {
			ds[i] = s.descriptor()
		}
		reg, req, err := crypto.Blind(c.cfg.Rand, key, c.tenant, ds)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSubscription, err)
		}
		resp, err := c.request(ctx, http.MethodPost, "/v1/subscriptions/evaluate", nil, "application/octet-stream", req, true)
		if err != nil {
			return nil, err
		}
		raw, err := c.readAll(resp, 1<<20)
		if err != nil {
			return nil, err
		}
		toks, err := reg.Finalize(raw)
		if errors.Is(err, crypto.ErrProof) {
			return nil, fmt.Errorf("%w: %w", ErrKeyMismatch, err)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: evaluation response: %w", ErrTampered, err)
		}
		out = append(out, toks...)
	}
	return out, nil
}

// Subscribe registers subscriptions blindly with every key the directory
// publishes now (the current one and, during a rotation's overlap, the
// next), verifies each proof against the published key and stores the
// tokens locally. Subscriptions already held (the same pattern, resource
// and parameters) are skipped; an id that names a different subscription is
// refused. It returns the subscriptions as stored (IDs filled in).
func (c *Client) Subscribe(ctx context.Context, subs ...Subscription) ([]Subscription, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var fresh []Subscription
	out := make([]Subscription, 0, len(subs))
	held := map[string]string{} // descriptor encoding -> subscription id
	for _, h := range c.st.Subscriptions {
		enc, _ := h.descriptor().MarshalBinary()
		held[string(enc)] = h.ID
	}
	for _, s := range subs {
		if s.ID == "" {
			s.ID = s.defaultID()
		}
		s.Periods = nil
		s.Params = slices.Clone(s.Params)
		if err := s.check(); err != nil {
			return nil, err
		}
		enc, _ := s.descriptor().MarshalBinary()
		if id, ok := held[string(enc)]; ok {
			// The same descriptor under another name would hold the same
			// token twice; keep the first.
			s.ID = id
			out = append(out, s)
			continue
		}
		if c.find(s.ID) >= 0 || slices.ContainsFunc(fresh, func(f Subscription) bool { return f.ID == s.ID }) {
			return nil, fmt.Errorf("%w: id %q names another subscription", ErrSubscription, s.ID)
		}
		held[string(enc)] = s.ID
		out = append(out, s)
		fresh = append(fresh, s)
	}
	dir, err := c.directory(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.save(); err != nil { // the pins and keys seen
		return nil, err
	}
	for _, s := range fresh {
		c.st.Subscriptions = append(c.st.Subscriptions, subscription{Subscription: s})
	}
	if err := c.registerMissing(ctx, dir); err != nil {
		return nil, errors.Join(err, c.reload())
	}
	if err := c.save(); err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Periods = c.st.Subscriptions[c.find(out[i].ID)].periods()
	}
	return out, nil
}

func (s *subscription) periods() []uint64 {
	var ps []uint64
	for _, t := range s.Tokens {
		ps = append(ps, t.Period)
	}
	return ps
}

// find returns the index of subscription id, or -1. c.mu must be held.
func (c *Client) find(id string) int {
	if len(c.index) != len(c.st.Subscriptions) {
		c.index = make(map[string]int, len(c.st.Subscriptions))
		for i, s := range c.st.Subscriptions {
			c.index[s.ID] = i
		}
	}
	if i, ok := c.index[id]; ok && i < len(c.st.Subscriptions) && c.st.Subscriptions[i].ID == id {
		return i
	}
	for i := range c.st.Subscriptions { // the index is stale
		if c.st.Subscriptions[i].ID == id {
			c.index = nil
			return i
		}
	}
	return -1
}

// registerMissing registers, for every key the directory lists, the
// subscriptions that hold no token of its period. That is how a rotation is
// followed: the next period's key is published an overlap before the server
// mints with it. c.mu must be held; the caller saves.
func (c *Client) registerMissing(ctx context.Context, dir *crypto.Directory) error {
	if len(dir.Keys) == 0 {
		return ErrNoKey
	}
	var fresh []freshToken
	for _, k := range dir.Keys {
		if c.pastPeriod(k.End) {
			continue // the board is past this key's minting: no entry of it can come
		}
		var idx []int
		var subs []Subscription
		for i, s := range c.st.Subscriptions {
			if !slices.Contains(s.periods(), k.Period) {
				idx = append(idx, i)
				subs = append(subs, s.Subscription)
			}
		}
		if len(subs) == 0 {
			continue
		}
		toks, err := c.evaluate(ctx, k, subs)
		if err != nil {
			return err
		}
		for j, i := range idx {
			sub := &c.st.Subscriptions[i]
			id := matchID(sub.ID, k.Period)
			if err := c.matcher.Subscribe(id, &toks[j], 0); err != nil {
				return fmt.Errorf("%w: %w", ErrSubscription, err)
			}
			sub.Tokens = append(sub.Tokens, heldToken{Period: k.Period, Token: bytes.Clone(toks[j][:])})
			fresh = append(fresh, freshToken{id: id, tok: toks[j]})
		}
		c.log.Debug("tenantclient: registered", "period", k.Period, "subscriptions", len(subs))
	}
	return c.catchUp(ctx, fresh)
}

// pastPeriod reports whether the last verified batch was created at or
// after end, the end of a key's minting period. The server's creation time
// is believed only up to the local clock plus crypto.MaxClockSkew (the
// verifier refuses later ones; a state saved by an older version may hold
// one), so a batch claiming a far-future time cannot make the client drop
// its tokens or skip a key period.
func (c *Client) pastPeriod(end time.Time) bool {
	if c.st.LastCreated.IsZero() || end.IsZero() {
		return false
	}
	created := c.st.LastCreated
	if limit := c.cfg.Now().Add(crypto.MaxClockSkew); created.After(limit) {
		created = limit
	}
	return !created.Before(end)
}

// dropExpired forgets the tokens of periods whose minting ended before the
// last accepted batch was created: no later batch can carry their entries.
func (c *Client) dropExpired() {
	for _, k := range c.st.Keys {
		if !c.pastPeriod(k.End) {
			continue
		}
		for i := range c.st.Subscriptions {
			sub := &c.st.Subscriptions[i]
			sub.Tokens = slices.DeleteFunc(sub.Tokens, func(t heldToken) bool {
				if t.Period == k.Period {
					c.matcher.Unsubscribe(matchID(sub.ID, t.Period))
					return true
				}
				return false
			})
		}
	}
}

// Refresh reads the key directory and registers every subscription with
// any published key it holds no token for (a new key period). Polling calls
// it every RefreshInterval; call it directly to follow a rotation at once.
func (c *Client) Refresh(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.refresh(ctx)
}

func (c *Client) refresh(ctx context.Context) error {
	dir, err := c.directory(ctx)
	if err != nil {
		return err
	}
	if err := c.save(); err != nil {
		return err
	}
	if err := c.registerMissing(ctx, dir); err != nil {
		return errors.Join(err, c.reload())
	}
	c.lastRefresh = c.cfg.Now()
	return c.save()
}

// Subscriptions returns the stored subscriptions with the key periods each
// holds tokens for.
func (c *Client) Subscriptions() []Subscription {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Subscription, 0, len(c.st.Subscriptions))
	for _, s := range c.st.Subscriptions {
		x := s.Subscription
		x.Params = slices.Clone(x.Params)
		x.Periods = s.periods()
		out = append(out, x)
	}
	return out
}

// Unsubscribe forgets a subscription and its tokens. Nothing is sent: the
// server never knew it.
func (c *Client) Unsubscribe(id string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := c.find(id)
	if i < 0 {
		return false, nil
	}
	for _, t := range c.st.Subscriptions[i].Tokens {
		c.matcher.Unsubscribe(matchID(id, t.Period))
	}
	c.st.Subscriptions = slices.Delete(c.st.Subscriptions, i, i+1)
	c.index = nil
	return true, c.save()
}
