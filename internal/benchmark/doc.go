// Package benchmark measures a whole Hisoka on the machine it runs on and
// reports one figure per row: what "hisoka bench" prints and the README
// quotes.
//
// It uses only the public APIs of the service's packages, on realistic data
// from internal/loggen, and real parts: the server is started with
// server.Open on a temporary directory and driven over real HTTP and TCP
// connections on 127.0.0.1; the stores are opened on disk (store/embedded)
// or on the Redis server given in [Options.RedisURL] (store/redis).
//
// What it measures, in the order of the table:
//
//   - ingest over HTTP (POST /v1/ingest, NDJSON, 5,000 lines a request,
//     4 connections) and over syslog TCP (LF-framed, 500 lines a write,
//     4 connections) into the embedded store with the matcher running on the
//     platform stream; the clock stops when every line is durable and matched.
//     A generated day of log is replayed as a live stream: each pass moves
//     its dates on by a day, so event time keeps increasing;
//   - store appends (durable batches of 1,000 parsed lines), on the embedded
//     store and, with a Redis URL, on Redis;
//   - template mining alone, and parse + templates + matching with the
//     catalogue given (the pipeline's per-line work);
//   - token minting, cold (a token not cached; also on every core) and
//     cached, and blind evaluation per element for batches of 1 and of 32
//     (one DLEQ proof each);
//   - notification latency: from the acknowledgement of the last line of a
//     VM creation to the owning tenant's long poll returning the batch, while
//     about 20,000 background lines/s are ingested;
//   - query latency (one hour plus one term: an instance or request id, in an
//     hour where a sampled stored line names it, as an operator looks a VM or
//     a request up) over an embedded store filled with generated days of
//     platform logs, and the bytes that store holds on disk per line.
//
// Every measurement warms up first, then runs for a fixed time (or a fixed
// count, for latencies and the fill), and reports by wall time: a rate in
// units per second, or latency percentiles in milliseconds. Each [Result]
// says whether the figure comes from one goroutine (one core's worth) or from
// a server using every core, with its load generator in the same process.
// On a shared machine the figures move with the other work running; [Run]
// records the machine so that figures are read with it. The default run
// takes a minute or so; [Options.Quick] a few seconds.
package benchmark
