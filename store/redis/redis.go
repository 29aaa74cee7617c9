package redis

import (
	"crypto"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hisoka-project/hisoka/store"
	"github.com/hisoka-project/hisoka/store/internal/logcore"
)

// Options configure a Store.
type Options struct {
	// Client is a single-server or cluster client; the caller closes it.
	Client goredis.UniversalClient
	// Prefix starts every key (default "hk:"); it must not contain '{' or '}'.
	Prefix string
	// Signer signs ledger checkpoints (Ed25519). Without it no checkpoints are made.
	Signer crypto.Signer
	// CheckpointEvery is the number of records between automatic checkpoints (default 10000).
	CheckpointEvery uint64
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Store is the Redis store.
type Store struct {
	*logcore.Log
	c      goredis.UniversalClient
	prefix string
	now    func() time.Time
	mu     sync.Mutex // resources
}

var _ store.Store = (*Store)(nil)

// New returns a Store over opt.Client.
func New(opt Options) (*Store, error) {
	if opt.Client == nil {
		return nil, fmt.Errorf("%w: no Redis client", store.ErrInvalidArg)
	}
	if opt.Prefix == "" {
		opt.Prefix = "hk:"
	}
	if strings.ContainsAny(opt.Prefix, "{}") {
		return nil, fmt.Errorf("%w: prefix must not contain braces", store.ErrInvalidArg)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	s := &Store{c: opt.Client, prefix: opt.Prefix, now: opt.Now}
	var err error
	s.Log, err = logcore.New(engine{s}, logcore.Options{Signer: opt.Signer, CheckpointEvery: opt.CheckpointEvery, Now: opt.Now})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Close releases the store's resources; it does not close the client.
func (s *Store) Close() error {
	s.Log.Close()
	return nil
}

// tk returns the key of one of a tenant's items.
func (s *Store) tk(tenant, item string) string {
	return s.prefix + "{" + hex.EncodeToString([]byte(tenant)) + "}:" + item
}

// gk returns the key of a service-wide item.
func (s *Store) gk(item string) string { return s.prefix + item }

func wrap(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, goredis.Nil):
		return store.ErrNotFound
	}
	return fmt.Errorf("store/redis: %w", err)
}
