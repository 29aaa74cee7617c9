package tenantclient

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"
	"unicode/utf8"

	"github.com/hisoka-project/hisoka/crypto"
	"github.com/hisoka-project/hisoka/store/ledger"
)

// Files of the state directory. Every file is written 0600 through a
// temporary file, fsync and rename, so a crash leaves either the old or the
// new version.
const (
	IdentityFile = "identity.json"
	StateFile    = "state.json"
	stateVersion = 1
	maxStateSize = 256 << 20
)

// identityFile is the stored identity: the tenant id and the Ed25519 seed.
type identityFile struct {
	Version int    `json:"version"`
	Tenant  string `json:"tenant"`
	Seed    []byte `json:"seed"`
}

// state is everything a client needs to resume after a restart.
type state struct {
	Version   int    `json:"version"`
	Tenant    string `json:"tenant"`
	BoardKey  []byte `json:"board_public_key,omitempty"`
	LedgerKey []byte `json:"ledger_public_key,omitempty"`
	// Chain is the last accepted board batch.
	LastSeq     uint64    `json:"last_seq"`
	LastHash    []byte    `json:"last_hash,omitempty"`
	LastEpoch   uint64    `json:"last_epoch"`
	LastCreated time.Time `json:"last_created,omitzero"`
	// EpochFirstSeq is the first accepted batch of LastEpoch, where a new
	// token starts reading the epoch again (catch-up).
	EpochFirstSeq uint64 `json:"epoch_first_seq,omitempty"`
	// MatchEpoch is the epoch the tokens' next counters refer to.
	MatchEpoch uint64 `json:"match_epoch"`
	// Keys are the POPRF keys seen per period, to notice a period's key
	// changing (key partitioning).
	Keys          []periodKey    `json:"keys,omitempty"`
	Subscriptions []subscription `json:"subscriptions,omitempty"`
	// Unopened counts entries with one of the tenant's tags whose payload
	// did not open (forged; Client.Unopened). Local diagnostics only.
	Unopened uint64 `json:"unopened,omitempty"`
	// Checkpoints are the ledger checkpoints seen in verified log proofs,
	// by increasing seq, to notice a rewritten history (ErrLogForked).
	Checkpoints []seenCheckpoint `json:"checkpoints,omitempty"`
	// Pending are verified notifications not yet handed to the caller.
	Pending []Notification `json:"pending,omitempty"`
}

type periodKey struct {
	Period uint64    `json:"period"`
	KeyID  []byte    `json:"key_id"`
	End    time.Time `json:"end"` // the end of the period in which the server mints with it
}

// seenCheckpoint is a ledger checkpoint from a verified proof: its seq and
// head, and the signed checkpoint itself (ledger encoding) as evidence.
type seenCheckpoint struct {
	Seq    uint64 `json:"seq"`
	Head   []byte `json:"head"`
	Signed []byte `json:"checkpoint"`
}

// subscription is a stored subscription with its tokens, one per key period.
type subscription struct {
	Subscription
	Tokens []heldToken `json:"tokens,omitempty"`
}

type heldToken struct {
	Period uint64 `json:"period"`
	Token  []byte `json:"token"`
	Next   uint64 `json:"next"` // next expected counter in MatchEpoch
}

// LogValue keeps the tokens out of logs.
func (s *state) LogValue() slog.Value {
	return slog.GroupValue(slog.Uint64("last_seq", s.LastSeq), slog.Int("subscriptions", len(s.Subscriptions)))
}

// writeFileAtomic writes data to dir/name with mode 0600: a temporary file
// in dir, fsync, rename over the old file, fsync of the directory.
func writeFileAtomic(dir, name string, data []byte) error {
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	ok = true
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxStateSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxStateSize {
		return nil, fmt.Errorf("%w: file too large", ErrState)
	}
	return b, nil
}

// Init creates dir (0700) if needed and a new identity for tenant in it,
// drawing the key from rnd. It refuses to overwrite an identity
// (ErrExists). The public key is what the operator registers.
func Init(dir, tenant string, rnd io.Reader) (*crypto.Identity, error) {
	if err := checkTenant(tenant); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, IdentityFile)); err == nil {
		return nil, ErrExists
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	id, err := crypto.NewIdentity(rnd)
	if err != nil {
		return nil, err
	}
	b, err := marshalIdentity(tenant, id)
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(dir, IdentityFile, b); err != nil {
		return nil, err
	}
	return id, nil
}

func checkTenant(tenant string) error {
	if tenant == "" || len(tenant) > crypto.MaxTenantIDLen || !utf8.ValidString(tenant) {
		return fmt.Errorf("%w: tenant id must be 1 to %d bytes of UTF-8", ErrConfig, crypto.MaxTenantIDLen)
	}
	return nil
}

func marshalIdentity(tenant string, id *crypto.Identity) ([]byte, error) {
	b, err := json.MarshalIndent(identityFile{Version: stateVersion, Tenant: tenant, Seed: id.Seed()}, "", "  ")
	return append(b, '\n'), err
}

// parseIdentity decodes an identity file.
func parseIdentity(b []byte) (string, *crypto.Identity, error) {
	var f identityFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return "", nil, fmt.Errorf("%w: identity does not parse", ErrState)
	}
	if f.Version != stateVersion || checkTenant(f.Tenant) != nil || len(f.Seed) != ed25519.SeedSize {
		return "", nil, fmt.Errorf("%w: identity is invalid", ErrState)
	}
	id, err := crypto.IdentityFromSeed(f.Seed)
	if err != nil {
		return "", nil, fmt.Errorf("%w: identity is invalid", ErrState)
	}
	return f.Tenant, id, nil
}

// LoadIdentity reads the identity of the state directory dir and the
// tenant id it was made for.
func LoadIdentity(dir string) (string, *crypto.Identity, error) {
	b, err := readSmall(filepath.Join(dir, IdentityFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil, ErrNoIdentity
	}
	if err != nil {
		return "", nil, err
	}
	return parseIdentity(b)
}

// parseState decodes and checks a state file.
func parseState(b []byte) (*state, error) {
	var s state
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: state does not parse", ErrState)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data", ErrState)
	}
	bad := func(what string) (*state, error) { return nil, fmt.Errorf("%w: %s", ErrState, what) }
	switch {
	case s.Version != stateVersion:
		return bad("unknown version")
	case checkTenant(s.Tenant) != nil:
		return bad("tenant id")
	case s.BoardKey != nil && len(s.BoardKey) != ed25519.PublicKeySize:
		return bad("board key")
	case s.LedgerKey != nil && len(s.LedgerKey) != ed25519.PublicKeySize:
		return bad("ledger key")
	case s.LastHash != nil && len(s.LastHash) != 32:
		return bad("chain hash")
	case s.LastSeq == 0 && (s.LastHash != nil || s.LastEpoch != 0):
		return bad("chain state")
	case s.MatchEpoch < s.LastEpoch && s.LastSeq > 0:
		return bad("match epoch")
	case s.EpochFirstSeq > s.LastSeq:
		return bad("epoch start")
	}
	for _, k := range s.Keys {
		if len(k.KeyID) != 32 {
			return bad("key id")
		}
	}
	for i, k := range s.Checkpoints {
		var cp ledger.Checkpoint
		if len(k.Head) != 32 || k.Seq == 0 || (i > 0 && k.Seq <= s.Checkpoints[i-1].Seq) ||
			cp.UnmarshalBinary(k.Signed) != nil || cp.Seq != k.Seq || !bytes.Equal(cp.Head[:], k.Head) || cp.Tenant != s.Tenant {
			return bad("checkpoint")
		}
	}
	seen := map[string]bool{}
	for _, sub := range s.Subscriptions {
		if err := sub.check(); err != nil || seen[sub.ID] {
			return bad("subscription")
		}
		seen[sub.ID] = true
		periods := map[uint64]bool{}
		for _, t := range sub.Tokens {
			if len(t.Token) != 64 || periods[t.Period] {
				return bad("token")
			}
			periods[t.Period] = true
		}
	}
	return &s, nil
}

func (s *state) marshal() ([]byte, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	return append(b, '\n'), err
}

// loadState reads the state of dir, or a fresh state for tenant.
func loadState(dir, tenant string) (*state, error) {
	b, err := readSmall(filepath.Join(dir, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return &state{Version: stateVersion, Tenant: tenant}, nil
	}
	if err != nil {
		return nil, err
	}
	s, err := parseState(b)
	if err != nil {
		return nil, err
	}
	if s.Tenant != tenant {
		return nil, fmt.Errorf("%w: state of another tenant", ErrState)
	}
	return s, nil
}

// keyB64 formats a public key the way operators and the CLI exchange them.
func keyB64(k []byte) string { return base64.StdEncoding.EncodeToString(k) }
