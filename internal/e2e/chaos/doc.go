// Package chaos holds Hisoka's crash and overload tests (issue 7, items 2
// and 3). They run the built hisoka binary as a child process
// (internal/e2e/proc) on the embedded store and on a real redis-server, and
// talk to it only as shippers, operators and tenants do: over HTTP and
// syslog TCP, with the hisoka command line and the tenant SDK.
//
// The package has only tests; see crash_test.go and overload_test.go.
package chaos
