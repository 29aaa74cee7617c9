package tenantclient

import (
	"bytes"
	"context"
	"crypto/ed25519"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/hisoka-project/hisoka/crypto"
)

// Defaults of a Config.
const (
	DefaultAudience        = "hisoka"
	DefaultTokenLifetime   = 5 * time.Minute
	DefaultRefreshInterval = 15 * time.Minute
	// MaxTokenLifetime is the server's bound on a tenant token's lifetime.
	MaxTokenLifetime = 10 * time.Minute
)

// Config says where the service is, who the tenant is and where its state
// lives. URL and StateDir are required; the rest have defaults.
type Config struct {
	// URL is the service's base URL, e.g. https://hisoka.example:8080.
	URL string
	// Tenant is the tenant id; empty means the one recorded by Init.
	Tenant string
	// StateDir holds the identity, the pinned keys, the subscriptions with
	// their tokens, the chain state and the occurrence counters.
	StateDir string
	// Identity is the tenant's key; nil loads it from StateDir.
	Identity *crypto.Identity
	// HTTPClient is used for every request; nil means a client without a
	// timeout (long polls carry their own wait).
	HTTPClient *http.Client
	// BoardKey and LedgerKey pin the service's board and ledger keys, as
	// the operator handed them out with the registration. When nil, the keys
	// pinned in StateDir are used, or the first ones seen are pinned (trust
	// on first use); a key that differs from the pinned one is always an
	// error (ErrBoardKeyChanged, ErrLedgerKeyChanged).
	BoardKey, LedgerKey ed25519.PublicKey
	// Audience is the aud of the tenant's tokens (DefaultAudience).
	Audience string
	// TokenLifetime is how long each self-signed token is valid
	// (DefaultTokenLifetime, at most MaxTokenLifetime).
	TokenLifetime time.Duration
	// RefreshInterval is how often polling re-reads the key directory to
	// register again for a new key period (DefaultRefreshInterval).
	RefreshInterval time.Duration
	// Window is the matcher's lookahead (crypto.DefaultWindow if < 1).
	Window int
	// Rand supplies key material, blinds and token ids (crypto/rand).
	Rand io.Reader
	// Now is the clock (time.Now): token lifetimes, freshness, and the
	// bound on how far in the future a batch may be dated.
	Now func() time.Time
	// Logger receives debug records (nothing secret); nil discards them.
	Logger *slog.Logger
}

// Client is a tenant's connection to Hisoka. Its methods are safe for
// concurrent use; only one Client (one process) may use a state directory
// at a time.
type Client struct {
	cfg    Config
	base   *url.URL
	tenant string
	id     *crypto.Identity
	http   *http.Client
	log    *slog.Logger

	pollMu      sync.Mutex // one poll at a time (held across the long poll)
	mu          sync.Mutex // guards everything below and the state files
	st          *state
	verifier    *crypto.ChainVerifier
	matcher     *crypto.Matcher
	lastRefresh time.Time
	// warnedUnopened is st.Unopened when last logged (warnUnopened).
	warnedUnopened uint64
	dirHash        [32]byte
	index          map[string]int // subscription id -> index in st.Subscriptions

	// polledAt and pollErr are the end and outcome of the last poll
	// (LastPoll).
	polledAt time.Time
	pollErr  error
}

// New returns a client for cfg, loading the identity and state of
// cfg.StateDir. It does not talk to the server.
func New(cfg Config) (*Client, error) {
	if cfg.URL == "" || cfg.StateDir == "" {
		return nil, fmt.Errorf("%w: URL and StateDir are required", ErrConfig)
	}
	base, err := url.Parse(strings.TrimRight(cfg.URL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("%w: URL must be http(s)://host[:port]", ErrConfig)
	}
	if cfg.Audience == "" {
		cfg.Audience = DefaultAudience
	}
	if cfg.TokenLifetime == 0 {
		cfg.TokenLifetime = DefaultTokenLifetime
	}
	if cfg.TokenLifetime < 0 || cfg.TokenLifetime > MaxTokenLifetime {
		return nil, fmt.Errorf("%w: token lifetime must be in (0, %v]", ErrConfig, MaxTokenLifetime)
	}
	if cfg.RefreshInterval <= 0 {
		cfg.RefreshInterval = DefaultRefreshInterval
	}
	if cfg.Rand == nil {
		cfg.Rand = crand.Reader
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Window < 1 {
		cfg.Window = crypto.DefaultWindow
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tenant, id := cfg.Tenant, cfg.Identity
	if id == nil {
		t, loaded, err := LoadIdentity(cfg.StateDir)
		if err != nil {
			return nil, err
		}
		if tenant == "" {
			tenant = t
		} else if tenant != t {
			return nil, fmt.Errorf("%w: the identity was made for another tenant id", ErrConfig)
		}
		id = loaded
	}
	if err := checkTenant(tenant); err != nil {
		return nil, err
	}
	st, err := loadState(cfg.StateDir, tenant)
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, base: base, tenant: tenant, id: id, http: hc, log: log, st: st}
	pinned := false
	for _, pin := range []struct {
		cfg    ed25519.PublicKey
		stored *[]byte
		err    error
	}{{cfg.BoardKey, &st.BoardKey, ErrBoardKeyChanged}, {cfg.LedgerKey, &st.LedgerKey, ErrLedgerKeyChanged}} {
		if pin.cfg == nil {
			continue
		}
		if len(pin.cfg) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: pinned keys are 32 bytes", ErrConfig)
		}
		if *pin.stored != nil && !bytes.Equal(*pin.stored, pin.cfg) {
			return nil, pin.err
		}
		if *pin.stored == nil {
			*pin.stored = bytes.Clone(pin.cfg)
			pinned = true
		}
	}
	if err := c.restore(); err != nil {
		return nil, err
	}
	if pinned {
		if err := c.save(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// reload goes back to the saved state, dropping changes not saved.
func (c *Client) reload() error {
	st, err := loadState(c.cfg.StateDir, c.tenant)
	if err != nil {
		return err
	}
	c.st = st
	c.index = nil
	return c.restore()
}

// restore rebuilds the verifier and matcher from the state.
func (c *Client) restore() error {
	st := c.st
	c.verifier = &crypto.ChainVerifier{BoardKey: st.BoardKey, Tenant: c.tenant, LastSeq: st.LastSeq, LastEpoch: st.LastEpoch, Now: c.cfg.Now}
	copy(c.verifier.LastHash[:], st.LastHash)
	c.matcher = crypto.NewMatcher(c.tenant, st.MatchEpoch, c.cfg.Window)
	for _, sub := range st.Subscriptions {
		for _, t := range sub.Tokens {
			var tok crypto.Token
			copy(tok[:], t.Token)
			if err := c.matcher.Subscribe(matchID(sub.ID, t.Period), &tok, t.Next); err != nil {
				return fmt.Errorf("%w: subscription", ErrState)
			}
		}
	}
	return nil
}

// matchID names one token of a subscription in the matcher.
func matchID(sub string, period uint64) string { return fmt.Sprintf("%d/%s", period, sub) }

// save writes the state, taking the counters from the matcher and the
// chain from the verifier. c.mu must be held.
func (c *Client) save() error {
	st := c.st
	st.LastSeq, st.LastEpoch = c.verifier.LastSeq, c.verifier.LastEpoch
	if st.LastSeq > 0 {
		st.LastHash = bytes.Clone(c.verifier.LastHash[:])
	}
	st.MatchEpoch = c.matcher.Epoch()
	for i := range st.Subscriptions {
		sub := &st.Subscriptions[i]
		for j := range sub.Tokens {
			if n, ok := c.matcher.Next(matchID(sub.ID, sub.Tokens[j].Period)); ok {
				sub.Tokens[j].Next = n
			}
		}
	}
	b, err := st.marshal()
	if err != nil {
		return err
	}
	return writeFileAtomic(c.cfg.StateDir, StateFile, b)
}

// LogValue names the tenant and the board position; keys, tokens and
// subscriptions stay out of logs.
func (c *Client) LogValue() slog.Value {
	seq, epoch := c.Board()
	return slog.GroupValue(slog.String("tenant", c.tenant), slog.Uint64("last_seq", seq), slog.Uint64("last_epoch", epoch))
}

var _ slog.LogValuer = (*Client)(nil)

// Tenant returns the tenant id.
func (c *Client) Tenant() string { return c.tenant }

// PublicKey returns the tenant's Ed25519 public key (what the operator
// registers).
func (c *Client) PublicKey() ed25519.PublicKey { return c.id.Public() }

// PinnedKeys returns the pinned board and ledger keys (nil when not yet
// pinned).
func (c *Client) PinnedKeys() (board, ledger ed25519.PublicKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.st.BoardKey), bytes.Clone(c.st.LedgerKey)
}

// Pin pins the board and ledger keys handed out by the operator (either
// may be nil to leave it as is) and saves them. A key that differs from an
// already pinned one is refused; re-pinning after a key compromise means
// starting a new state directory.
func (c *Client) Pin(board, ledger ed25519.PublicKey) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range []struct {
		key    ed25519.PublicKey
		stored *[]byte
		err    error
	}{{board, &c.st.BoardKey, ErrBoardKeyChanged}, {ledger, &c.st.LedgerKey, ErrLedgerKeyChanged}} {
		if p.key == nil {
			continue
		}
		if len(p.key) != ed25519.PublicKeySize {
			return fmt.Errorf("%w: pinned keys are 32 bytes", ErrConfig)
		}
		if *p.stored != nil && !bytes.Equal(*p.stored, p.key) {
			return p.err
		}
		*p.stored = bytes.Clone(p.key)
	}
	c.verifier.BoardKey = c.st.BoardKey
	return c.save()
}

// token returns a fresh self-signed tenant token: EdDSA, sub = tenant,
// aud = the service audience, a short lifetime and a random jti (the
// server accepts each jti once).
func (c *Client) token() (string, error) {
	var jti [16]byte
	if _, err := io.ReadFull(c.cfg.Rand, jti[:]); err != nil {
		return "", fmt.Errorf("tenantclient: token id: %w", err)
	}
	now := c.cfg.Now().Truncate(time.Second)
	claims := jwt.RegisteredClaims{
		Subject:   c.tenant,
		Audience:  jwt.ClaimStrings{c.cfg.Audience},
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(c.cfg.TokenLifetime)),
		ID:        hex.EncodeToString(jti[:]),
	}
	return jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims).SignedString(c.id.PrivateKey())
}

// request sends one request; auth adds a fresh tenant token. Error
// statuses become *APIError.
func (c *Client) request(ctx context.Context, method, path string, query url.Values, ctype string, body []byte, auth bool) (*http.Response, error) {
	u := *c.base
	u.Path += path
	u.RawQuery = query.Encode()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if auth {
		tok, err := c.token()
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		var eb struct {
			Error     string `json:"error"`
			RequestID string `json:"request_id"`
		}
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		_ = json.Unmarshal(raw, &eb)
		return nil, &APIError{Status: resp.StatusCode, Message: eb.Error, RequestID: eb.RequestID}
	}
	return resp, nil
}

// getJSON / sendJSON call a JSON route.
func (c *Client) doJSON(ctx context.Context, method, path string, query url.Values, in, out any) error {
	var body []byte
	ctype := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body, ctype = b, "application/json"
	}
	resp, err := c.request(ctx, method, path, query, ctype, body, true)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxStateSize)).Decode(out); err != nil {
		return fmt.Errorf("%w: response does not parse", ErrServer)
	}
	return nil
}

// getBytes reads a binary answer of at most limit bytes.
func (c *Client) readAll(resp *http.Response, limit int64) ([]byte, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: response too large", ErrServer)
	}
	return b, nil
}

// tenantPath is /v1/tenants/{tenant}/suffix.
func (c *Client) tenantPath(suffix string) string {
	return "/v1/tenants/" + c.tenant + suffix
}
