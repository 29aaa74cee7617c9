// Package redis is the [store.Store] backend on Redis, through go-redis's
// UniversalClient: one server, or Redis Cluster through a ClusterClient.
//
// Every key of a tenant carries the hash tag {hex(tenant id)}, so a tenant's
// keys share one cluster slot and a tenant id can never contain a brace or a
// colon that would move it to another slot or collide with another tenant
// ("a" and "a:b" get {61} and {613a62}). Writes that must be atomic (a log
// append with its new head, a retention trim, a board append with its
// detection ids) run as one Lua script on that slot; reads page through
// sorted sets. Service-wide items (tenant list, catalogue, keys, state) live
// in a few hashes under the configured prefix.
//
// Key layout, with P the prefix (default "hk:") and T = P{hex(tenant)}:
//
//	T:head   hash   seq, base, bin (the log head)
//	T:meta   zset   block metas, score = last seq of the block
//	T:data   hash   last seq -> compressed block
//	T:tb     zset   "last:bucket", score = hour bucket (query index)
//	T:cp     zset   signed checkpoints, score = seq
//	T:res    hash   resource id -> JSON
//	T:ctr    hash   period -> counter
//	T:board  zset   board batches, score = seq; T:bhead the last seq; T:det detection ids
//	T:audit  zset   access events, score = Unix microseconds; T:aseq a counter
//	P:tenants hash, P:known set, P:logs set, P:owner hash, P:cat hash, P:catpub, P:keys hash, P:state hash
//
// Durability is Redis's; run it with appendonly yes. Redis writes the
// append-only file before replying, so an acknowledged append survives a
// crash of the Redis process under either fsync policy. appendfsync always
// also survives a crash of the machine; everysec (the Redis default) may lose
// up to about a second of acknowledged appends in a machine crash. Either
// way the log stays consistent: the head and the blocks are written by one
// script, so a lost tail loses whole batches and what remains verifies. See
// TestDurabilityRedisRestart. Seqs are sorted-set scores, exact up to 2^53.
package redis
