package server

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/hisoka-project/hisoka/crypto"
	"github.com/hisoka-project/hisoka/store"
)

// keyringName is the store Keys entry holding the sealed keyring.
const keyringName = "keyring"

// KeySchedule is the POPRF key schedule of a new keyring: 30-day periods
// from 2026-01-01 UTC, each key published (and still evaluating) 3 days
// around its period, so tenants re-register during the overlap.
var keySchedule = crypto.Schedule{
	Origin:  time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
	Length:  30 * 24 * time.Hour,
	Overlap: 3 * 24 * time.Hour,
}

// ErrKeyring is returned when the stored keyring cannot be opened (wrong
// issuer key, or altered).
var ErrKeyring = errors.New("server: stored keyring does not open")

// keys holds the keyring and its minter, and persists the keyring, sealed
// with AES-256-GCM under a key derived from the issuer key (so a store
// dump alone does not reveal it).
type keyStore struct {
	st   store.Keys
	seal cipher.AEAD
	rnd  io.Reader

	mu     sync.RWMutex
	kr     *crypto.Keyring
	minter *crypto.Minter
}

func newKeys(st store.Keys, issuer ed25519.PrivateKey, rnd io.Reader) (*keyStore, error) {
	mac := hmac.New(sha256.New, issuer.Seed())
	mac.Write([]byte("hisoka/v1 keyring sealing key"))
	blk, err := aes.NewCipher(mac.Sum(nil))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(blk)
	if err != nil {
		return nil, err
	}
	return &keyStore{st: st, seal: aead, rnd: rnd}, nil
}

// load reads the keyring from the store, or creates and stores one.
func (k *keyStore) load(ctx context.Context, now time.Time) error {
	blob, err := k.st.GetKey(ctx, keyringName)
	switch {
	case errors.Is(err, store.ErrNotFound):
		kr, err := crypto.NewKeyring(k.rnd, keySchedule, now)
		if err != nil {
			return err
		}
		if err := k.persist(ctx, kr); err != nil {
			return err
		}
		k.set(kr)
		return nil
	case err != nil:
		return err
	}
	ns := k.seal.NonceSize()
	if len(blob) < ns {
		return ErrKeyring
	}
	plain, err := k.seal.Open(nil, blob[:ns], blob[ns:], []byte(keyringName))
	if err != nil {
		return ErrKeyring
	}
	kr, err := crypto.ParseKeyring(plain)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrKeyring, err)
	}
	k.set(kr)
	_, err = k.rotate(ctx, now)
	return err
}

func (k *keyStore) set(kr *crypto.Keyring) {
	k.mu.Lock()
	k.kr, k.minter = kr, crypto.NewMinter(kr, 1<<16)
	k.mu.Unlock()
}

func (k *keyStore) persist(ctx context.Context, kr *crypto.Keyring) error {
	plain, err := kr.MarshalBinary()
	if err != nil {
		return err
	}
	nonce := make([]byte, k.seal.NonceSize())
	if _, err := io.ReadFull(k.rnd, nonce); err != nil {
		return err
	}
	return k.st.PutKey(ctx, keyringName, k.seal.Seal(nonce, nonce, plain, []byte(keyringName)))
}

// get returns the keyring and minter in use.
func (k *keyStore) get() (*crypto.Keyring, *crypto.Minter) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.kr, k.minter
}

// rotate makes sure the keys for now exist and persists the keyring when it
// changed.
func (k *keyStore) rotate(ctx context.Context, now time.Time) (bool, error) {
	kr, _ := k.get()
	changed, err := kr.Rotate(k.rnd, now)
	if err != nil || !changed {
		return changed, err
	}
	return true, k.persist(ctx, kr)
}
