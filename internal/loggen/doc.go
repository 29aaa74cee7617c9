// Package loggen generates realistic multi-service OpenStack platform logs,
// deterministically from a seed, with the ground truth of every lifecycle
// and injected fault. Tests and benchmarks across the module use it.
//
// Lines follow the oslo.log default context format
// ("2017-05-16 00:00:04.500 2931 INFO nova.compute.manager [req-… user
// project - - -] [instance: …] message") with message texts of Nova, Cinder
// and Keystone as they appear in real deployments (the public Loghub
// OpenStack logs show most of them); host events (sshd, sudo, kernel, cron)
// are RFC 3164 syslog lines. [Config.Syslog] wraps oslo lines in syslog as
// rsyslog forwards them.
//
// The log has periodic tasks (resource audits, image cache, volume status),
// API polling, interleaved VM lifecycles from several projects (create,
// stop, start, pause, unpause, live migration, delete) and the faults of
// [Faults]: broken-off and slow creations, ssh brute force, iptables
// flushed, a bridge down, a source falling silent, a project deleted while
// its instances remain, and a service restarted outside maintenance.
package loggen
