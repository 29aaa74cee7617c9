package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/internal/e2e/proc"
	"github.com/hisoka-project/hisoka/internal/loggen"
)

// TestRsyslogPlatformSnippet: the rsyslog snippet for platform hosts that
// README.md quotes (testdata/rsyslog-platform.conf) works as written with
// a real rsyslog. The test changes only what is not the snippet's to say:
// its placeholders (Hisoka's host name and port, the CA file, the watched
// log file) are replaced; the system's main configuration is reduced to a
// work directory (Debian's sets one) and one main-queue worker; and, test
// only, the action queue's in-memory part is made larger than the whole
// log (queue.size, queue.highWatermark added after the snippet's own queue
// settings), so that no line spills to its disk part. rsyslog forwards in
// order only with one worker per queue and nothing on disk (lines that
// spill to a disk-assisted queue's file are forwarded after later ones in
// memory), and the matcher needs the replay in order: with this, the order
// no longer depends on how fast rsyslog reads or Hisoka answers. Generated
// nova-compute lines appended at once to the watched file while rsyslog
// runs are attributed to the platform by the host's address, each stored
// exactly once; and the matcher reads them through rsyslog's framing: a
// tenant subscribed to every instance pattern on its VMs and another
// project's gets exactly the ground truth of its own.
func TestRsyslogPlatformSnippet(t *testing.T) {
	snippet, err := os.ReadFile("testdata/rsyslog-platform.conf")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(readme, snippet) {
		t.Fatal("README.md does not quote testdata/rsyslog-platform.conf as it is")
	}
	// The log starts now, as a live host's would: rsyslog forwards its own
	// messages too, stamped now, and in one platform stream a jump of the
	// event time from an old log to now would close every open window.
	gen := loggen.Generate(loggen.Config{Seed: 5, Projects: 2, VMs: volume(6, 40), Ops: true,
		Start: time.Now().UTC().Truncate(time.Second), Duration: time.Duration(volume(20, 180)) * time.Minute})
	// A service's log file holds its oslo.log lines only; the generator's
	// RFC 3164 host lines (cron, sshd) belong to the host's syslog.
	oslo := gen.Lines[:0:0]
	for _, ln := range gen.Lines {
		if len(ln.Text) > 4 && strings.Trim(ln.Text[:4], "0123456789") == "" {
			oslo = append(oslo, ln)
		}
	}
	if len(oslo) == len(gen.Lines) || len(oslo) < len(gen.Lines)/2 {
		t.Fatalf("%d of %d generated lines are oslo lines", len(oslo), len(gen.Lines))
	}
	gen.Lines = oslo
	truth := truthByProject(t, gen, 2)
	subs := subscriptionFile(t, truth...)
	eachBackend(t, func(t *testing.T, s *proc.Server) {
		s.MustAdmin("resource-add", "-id", "compute-1", "-kind", "host", "-tenant", "platform", "-addr", "127.0.0.1")
		publishCatalogue(t, s)
		tenant := tenantTruth{addTenant(t, s, "acme", truth[0].project), truth[0]}
		subscribe(t, tenant.cli, subs)
		dir := t.TempDir()
		logFile := filepath.Join(dir, "nova-compute.log")
		_, port := splitHostPort(t, s.SyslogTLS)
		// The host's main configuration: a work directory, and one worker
		// on the main queue (rsyslog's default is more, and they forward
		// batches of about 50 lines out of order). Test only: an action
		// queue whose memory holds the whole log (see the doc comment).
		inMemory := fmt.Sprintf(` queue.size="%d" queue.highWatermark="%d"`, 4*len(gen.Lines)+10000, 2*len(gen.Lines)+5000)
		conf := fmt.Sprintf("global(workDirectory=%q)\nmain_queue(queue.workerThreads=\"1\")\n", dir) + adapt(t, string(snippet), map[string]string{
			"logs.example.net":               `localhost`,
			`port="6514"`:                    fmt.Sprintf("port=%q", port),
			"/etc/hisoka/ca.pem":             s.CAFile,
			"/var/log/nova/nova-compute.log": logFile,
			`queue.maxDiskSpace="1g"`:        `queue.maxDiskSpace="1g"` + inMemory,
		})
		write := func(lines []loggen.Line) {
			f, err := os.OpenFile(logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for _, ln := range lines {
				b.WriteString(ln.Text + "\n")
			}
			if _, err := f.WriteString(b.String()); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
		// rsyslog starts on a file of one line; once that is stored, the
		// connection is up. Then the other lines are appended at once, a
		// burst as after a host's busy minute: it replays 20 minutes of
		// log, and only the queue settings above keep it in order.
		write(gen.Lines[:1])
		startRsyslog(t, dir, conf)
		op := s.Token("operator", "")
		eventually(t, 60*time.Second, "the first line stored", func() bool {
			return slices.ContainsFunc(platformLines(t, s.URL, op), func(l string) bool { return strings.HasSuffix(l, gen.Lines[0].Text) })
		})
		write(gen.Lines[1:])

		want := map[string]int{}
		for _, ln := range gen.Lines {
			want[ln.Text]++
		}
		var got map[string]int
		var other []string
		eventually(t, 90*time.Second, fmt.Sprintf("%d platform lines stored", len(gen.Lines)), func() bool {
			got, other = map[string]int{}, nil
			n := 0
			for _, l := range platformLines(t, s.URL, op) {
				// <PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG
				f := strings.SplitN(l, " ", 8)
				if len(f) == 8 && f[3] == "nova-compute" {
					got[f[7]]++
					n++
				} else {
					other = append(other, l)
				}
			}
			return n >= len(gen.Lines)
		})
		for l, n := range want {
			if got[l] != n {
				t.Errorf("line stored %d times, sent %d: %.200q", got[l], n, l)
			}
		}
		for l, n := range got {
			if want[l] == 0 {
				t.Errorf("stored %d times, never sent: %.200q", n, l)
			}
		}
		for _, l := range other {
			if !strings.Contains(l, " rsyslogd ") { // rsyslog's own messages go the same way
				t.Errorf("unexpected platform line %.200q", l)
			}
		}
		checkPolls(t, []tenantTruth{tenant})
	})
}
