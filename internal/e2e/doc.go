// Package e2e holds Hisoka's end-to-end tests with real processes and real
// shippers (issue 7, item 1). It has no code outside its tests; the
// processes are run by [github.com/hisoka-project/hisoka/internal/e2e/proc].
//
// Every test runs on both store backends, the embedded store and a real
// redis-server, each against a freshly built "hisoka serve" child process:
//
//   - TestRsyslogTCP: a real rsyslogd (Debian package rsyslog) reads a VM's
//     log file with imfile, lines appended while it runs, and forwards it
//     over syslog TCP with octet-counted framing; the VM's source address
//     in the resource map attributes the lines to its tenant.
//   - TestRsyslogTLS: the same over syslog TLS (rsyslog-gnutls, the test's
//     CA) with the configuration "hisoka admin source-config" generates,
//     changed only in the watched file and the CA file, so the generated
//     configuration is proven against real rsyslog; its tenant ingest
//     token attributes the lines and is not stored.
//   - TestPlatformLogsNotifyTenants: generated OpenStack platform logs
//     (internal/loggen, with ground truth) pushed through the Loki push
//     API (snappy protobuf, as Promtail sends) by a client written from
//     Loki's push.proto; two tenants made with "hisoka-tenant init",
//     "hisoka admin tenant-add" and "hisoka-tenant pin" subscribe blindly
//     to every instance pattern on every VM of both, and "hisoka-tenant
//     poll" gives each every detection of the ground truth on its own VMs
//     exactly once and none on the other's.
//   - TestRsyslogPlatformSnippet: the rsyslog snippet for platform hosts
//     that README.md quotes (testdata/rsyslog-platform.conf: imfile, TLS,
//     octet-counted RFC 5424 frames, a disk-assisted queue) run as
//     written, placeholders replaced, shipping generated nova-compute
//     lines that the platform stream stores exactly once and that give a
//     tenant exactly its ground-truth notifications. Test only, rsyslog
//     runs one main-queue worker and an action queue whose memory holds
//     the whole replay, so that it forwards in order whatever the timing.
//
// The VM-log tests count every line sent, exactly once, through
// "hisoka-tenant logs export", and check the log with "hisoka-tenant logs
// verify"; the platform test counts every line in the operator's view of
// the platform stream.
//
// The default run is short (a few thousand lines per test). Larger
// volumes (200,000 lines through each VM-log rsyslog path, 60 VMs over
// four hours of platform logs through Loki, 40 VMs over three hours
// through the README snippet):
//
//	HISOKA_E2E_FULL=1 go test -count=1 -timeout 30m ./internal/e2e
//
// Missing tools fail the tests with the Debian package to install:
// rsyslog, rsyslog-gnutls, redis-server.
package e2e
