// Package proc runs Hisoka as real processes for end-to-end tests: the
// built hisoka and hisoka-tenant binaries, a "hisoka serve" child process on
// the embedded store or on a real redis-server, and the operator and tenant
// command lines against it.
//
// [Build] compiles both binaries once per test binary (go build into a
// temporary directory). A package whose tests use proc should remove them
// at the end with [Main]:
//
//	func TestMain(m *testing.M) { os.Exit(proc.Main(m)) }
//
// [Start] starts a [Server] for a test: a temporary data directory, HTTP,
// syslog TCP, syslog TLS (a certificate signed by a CA made for the test:
// [Server.CAFile], valid for "localhost" and 127.0.0.1) and syslog UDP on
// free ports, and it returns once /readyz answers 200. The server's stderr
// goes to a file ([Server.LogFile]) that is printed when the test fails.
// [Server.Stop] sends SIGTERM and waits, [Server.Kill] sends SIGKILL, and
// [Server.Restart] starts it again on the same data directory, store and
// ports (trying again for up to 30 s while another process holds one of
// them). The server is stopped when the test ends.
//
// [Server.Admin] runs "hisoka admin ..." against the server with an
// operator token minted from the data directory's issuer key (as
// "hisoka admin" itself does), [Server.Token] mints operator and ingest
// tokens with "hisoka admin token", and [Server.Tenant] gives a
// [TenantCLI] that runs "hisoka-tenant ..." for one tenant with its own
// state directory.
//
// Missing parts fail the test (never skip): redis-server through
// store/redistest, the Go toolchain for the build.
package proc
