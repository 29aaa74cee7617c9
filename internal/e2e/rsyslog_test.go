package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/internal/e2e/proc"
)

const rsyslogd = "/usr/sbin/rsyslogd"

// rsyslog is a real rsyslogd run by the test, as the current user, with
// its own configuration and work directory.
type rsyslog struct {
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

// startRsyslog checks conf with "rsyslogd -N1" and runs rsyslogd in the
// foreground with it; it is stopped (SIGTERM) when the test ends, and its
// output is printed if the test failed.
func startRsyslog(t *testing.T, dir, conf string) *rsyslog {
	t.Helper()
	if _, err := os.Stat(rsyslogd); err != nil {
		t.Fatalf("%s is missing: install the Debian package rsyslog (and rsyslog-gnutls for TLS): %v", rsyslogd, err)
	}
	file := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(rsyslogd, "-N1", "-f", file).CombinedOutput(); err != nil {
		t.Fatalf("rsyslogd -N1 refuses the configuration: %v\n%s\n--- configuration:\n%s", err, out, conf)
	}
	r := &rsyslog{done: make(chan struct{}), log: filepath.Join(dir, "rsyslogd.out")}
	out, err := os.Create(r.log)
	if err != nil {
		t.Fatal(err)
	}
	r.cmd = exec.Command(rsyslogd, "-n", "-f", file, "-i", filepath.Join(dir, "rsyslogd.pid"))
	r.cmd.Stdout, r.cmd.Stderr = out, out
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("starting rsyslogd: %v", err)
	}
	go func() { r.cmd.Wait(); out.Close(); close(r.done) }()
	t.Cleanup(func() {
		r.stop()
		if t.Failed() {
			b, _ := os.ReadFile(r.log)
			t.Logf("rsyslogd output:\n%s", b)
		}
	})
	return r
}

func (r *rsyslog) stop() {
	select {
	case <-r.done:
		return
	default:
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		r.cmd.Process.Kill()
		<-r.done
	}
}

// vmLog is a VM's log file that the test appends numbered lines to.
type vmLog struct {
	path string
	run  string // marks this run's lines
	n    int    // lines written
}

func (v *vmLog) appendLines(t *testing.T, n int) {
	t.Helper()
	f, err := os.OpenFile(v.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i := 0; i < n; i++ {
		v.n++
		fmt.Fprintf(&b, "type=USER_CMD msg=audit(1763790000.%03d:%d): pid=%d uid=0 auid=1000 ses=3 cmd=systemctl terminal=pts/0 res=success e2e=%s-%07d\n",
			v.n%1000, v.n, 4000+v.n%100, v.run, v.n)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// shipWhileRunning writes half of n lines before rsyslog starts and the
// other half in ten appends while it runs.
func shipWhileRunning(t *testing.T, v *vmLog, n int, start func()) {
	t.Helper()
	v.appendLines(t, n/2)
	start()
	rest := n - n/2
	for i := 0; i < 10; i++ {
		k := rest / 10
		if i == 9 {
			k = rest - 9*(rest/10)
		}
		v.appendLines(t, k)
		time.Sleep(20 * time.Millisecond)
	}
}

// checkEveryLine waits until the tenant's log holds every line of v, then
// checks each is there exactly once, nothing else is, no line carries the
// token, and "logs verify" vouches for the whole log.
func checkEveryLine(t *testing.T, c *proc.TenantCLI, v *vmLog, forbidden string) {
	t.Helper()
	marker := regexp.MustCompile(`e2e=` + v.run + `-(\d{7})`)
	count := func() (map[int]int, int) {
		seen := map[int]int{}
		recs := exportRecords(t, c)
		for _, r := range recs {
			if forbidden != "" && strings.Contains(r.Line, forbidden) {
				t.Fatalf("a stored line carries the ingest token: seq %d", r.Seq)
			}
			if m := marker.FindStringSubmatch(r.Line); m != nil {
				k, _ := strconv.Atoi(m[1])
				seen[k]++
			}
		}
		return seen, len(recs)
	}
	var seen map[int]int
	var total int
	eventually(t, 90*time.Second, fmt.Sprintf("all %d lines stored", v.n), func() bool {
		seen, total = count()
		return len(seen) >= v.n
	})
	for i := 1; i <= v.n; i++ {
		if seen[i] != 1 {
			t.Errorf("line %d stored %d times", i, seen[i])
		}
	}
	if total != v.n {
		t.Errorf("the tenant's log holds %d records, %d lines were written", total, v.n)
	}
	verifyLogs(t, c, total)
}

// TestRsyslogTCP: a real rsyslog reads a VM's log file with imfile and
// forwards it over plain TCP with octet-counted framing; the frames carry
// no token, so the VM's source address in the resource map attributes
// them to its tenant. Every line arrives exactly once, and the tenant's
// log verifies.
func TestRsyslogTCP(t *testing.T) {
	eachBackend(t, func(t *testing.T, s *proc.Server) {
		c := addTenant(t, s, "acme", "ce67d30036cf7dd16e52eb1f3f08f769")
		s.MustAdmin("resource-add", "-id", "vm-tcp", "-kind", "vm", "-tenant", "acme", "-addr", "127.0.0.1")
		dir := t.TempDir()
		v := &vmLog{path: filepath.Join(dir, "vm.log"), run: "tcp"}
		host, port := splitHostPort(t, s.SyslogTCP)
		conf := fmt.Sprintf(`global(workDirectory=%q)
module(load="imfile")
input(type="imfile" File=%q Tag="vmlog" Facility="local6" Severity="info")
if $programname == "vmlog" then {
  action(type="omfwd" target=%q port=%q protocol="tcp" template="RSYSLOG_SyslogProtocol23Format"
         TCP_Framing="octet-counted" action.resumeRetryCount="-1")
  stop
}
`, dir, v.path, host, port)
		shipWhileRunning(t, v, volume(2000, 200000), func() { startRsyslog(t, dir, conf) })
		checkEveryLine(t, c, v, "")
	})
}

// TestRsyslogTLS: the rsyslog configuration that "hisoka admin
// source-config" generates (a tenant ingest token in RFC 5424 structured
// data, syslog over TLS checked against the server's name, octet-counted
// frames, a disk-assisted queue) run by a real rsyslog, with only the
// watched file and the CA file changed for the test. The token attributes
// the lines to the tenant, is removed before storage, and every line
// arrives exactly once.
func TestRsyslogTLS(t *testing.T) {
	if _, err := filepath.Glob("/usr/lib/*/rsyslog/lmnsd_gtls.so"); err != nil {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob("/usr/lib/*/rsyslog/lmnsd_gtls.so"); len(m) == 0 {
		t.Fatal("rsyslog's TLS driver lmnsd_gtls.so is missing: install the Debian package rsyslog-gnutls")
	}
	eachBackend(t, func(t *testing.T, s *proc.Server) {
		c := addTenant(t, s, "acme", "ce67d30036cf7dd16e52eb1f3f08f769")
		dir := t.TempDir()
		v := &vmLog{path: filepath.Join(dir, "audit.log"), run: "tls"}
		_, port := splitHostPort(t, s.SyslogTLS)
		snippet := s.MustAdmin("source-config", "--tenant", "acme", "--resource", "vm-tls",
			"--syslog-host", "localhost", "--syslog-port", port, "--os", "debian")
		conf := fmt.Sprintf("global(workDirectory=%q)\n", dir) + adapt(t, snippet, map[string]string{
			"/var/log/audit/audit.log":           v.path,
			"/etc/ssl/certs/ca-certificates.crt": s.CAFile,
		})
		token := tokenIn(t, snippet)
		shipWhileRunning(t, v, volume(2000, 200000), func() { startRsyslog(t, dir, conf) })
		checkEveryLine(t, c, v, token)
	})
}

// adapt replaces each key of repl in conf, which must occur there.
func adapt(t *testing.T, conf string, repl map[string]string) string {
	t.Helper()
	for from, to := range repl {
		if !strings.Contains(conf, from) {
			t.Fatalf("generated configuration has no %q:\n%s", from, conf)
		}
		conf = strings.ReplaceAll(conf, from, to)
	}
	return conf
}

var tokenRE = regexp.MustCompile(`token=\\"([^"\\]+)\\"`)

// tokenIn is the ingest token in a generated configuration.
func tokenIn(t *testing.T, conf string) string {
	t.Helper()
	m := tokenRE.FindStringSubmatch(conf)
	if m == nil {
		t.Fatalf("no token in the generated configuration")
	}
	return m[1]
}

func splitHostPort(t *testing.T, addr string) (string, string) {
	t.Helper()
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		t.Fatalf("address %q", addr)
	}
	return addr[:i], addr[i+1:]
}
