// Package store declares what Hisoka keeps and the small interfaces through
// which the server reaches it; backends live in subpackages.
//
// Every piece of data belongs to a tenant (an arbitrary non-empty string of at
// most [MaxTenantLen] bytes of valid UTF-8, checked by [ValidTenant]) or to the
// service as a whole (catalogue versions, keys, state blobs). Reserved tenants
// such as the platform stream are ordinary tenants to the store.
//
// Log records ([Record]) are appended per tenant in batches ([Appender]); the
// store assigns each record a sequence number, contiguous from 1, and returns
// only once the batch is durable. Records are read back in sequence order
// ([Reader]), searched by time range, terms and fields with a resumable cursor
// ([Searcher]), streamed out ([Exporter]) and trimmed by retention
// ([Retainer]). Each tenant's records form a hash chain with Ed25519-signed
// checkpoints ([Ledger], package [github.com/hisoka-project/hisoka/store/ledger]),
// so a tenant can verify offline that a range is complete and unaltered.
//
// Beside the logs: tenants ([Tenants]), resources ([Resources]), catalogue
// versions ([Catalogue]), opaque named secrets ([Keys]), evaluation counters
// ([Counters]), notification boards ([Boards]), the access audit ([Audit]) and
// small named state blobs ([States]). [Dumper] and [Loader] move everything as
// backend-neutral [Row]s, which package backup writes to one compressed file.
//
// Backends: store/embedded (Pebble, one directory, the default) and store/redis
// (go-redis, single server or Redis Cluster). Both pass the behaviour suite in
// store/storetest.
package store
