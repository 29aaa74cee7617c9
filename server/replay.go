package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hisoka-project/hisoka/server/internal/auth"
)

// redisReplay is the replay guard of replicas sharing a Redis store: a
// tenant token id is claimed with SET NX PX in Redis, so a token used on one
// replica is refused on every other. The in-process cache in front keeps
// the per-tenant quota (and so bounds what one tenant puts in Redis through
// this replica) and answers replays on the same replica without a round
// trip.
type redisReplay struct {
	local  *auth.ReplayCache
	c      goredis.UniversalClient
	prefix string
	now    func() time.Time
}

var _ auth.ReplayGuard = (*redisReplay)(nil)

// replayKey is the Redis key of a tenant's token id: under the tenant's hash
// tag, like every key of the tenant in the store (store/redis), so a cluster
// keeps it on the tenant's slot; the id is hashed, so its length and bytes
// do not matter.
func (r *redisReplay) replayKey(tenant, id string) string {
	h := sha256.Sum256([]byte(id))
	return r.prefix + "{" + hex.EncodeToString([]byte(tenant)) + "}:jti:" + hex.EncodeToString(h[:16])
}

// Claim implements auth.ReplayGuard.
func (r *redisReplay) Claim(ctx context.Context, tenant, id string, expires time.Time) error {
	if err := r.local.Claim(ctx, tenant, id, expires); err != nil {
		return err
	}
	ttl := expires.Sub(r.now())
	if ttl <= 0 {
		return nil // already expired: the token check refuses it anyway
	}
	ok, err := r.c.SetNX(ctx, r.replayKey(tenant, id), 1, max(ttl, time.Millisecond)).Result()
	if err != nil {
		return fmt.Errorf("server: replay guard: %w", err)
	}
	if !ok {
		return auth.ErrReplayed
	}
	return nil
}
