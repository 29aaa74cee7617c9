package loggen

import (
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Config says what to generate. Zero fields take the defaults noted.
type Config struct {
	Seed uint64
	// Start defaults to 2017-05-16 10:00:00 UTC; Duration to 30 minutes.
	Start    time.Time
	Duration time.Duration
	Projects int // tenants, default 4
	Computes int // compute hosts, default 3
	// VMs is the number of instances created, default 20.
	VMs int
	// Ops adds stop/start, pause/unpause or migrate to about half the VMs.
	Ops bool
	// NoBackground leaves out periodic tasks and API polling.
	NoBackground bool
	// Syslog wraps oslo lines in syslog headers (RFC 3164 and RFC 5424 alternately).
	Syslog bool
	// FilePrefix starts oslo lines with their log-file name, as Loghub does.
	FilePrefix bool
	Faults     Faults
}

// Faults to inject; each count is how many.
type Faults struct {
	BrokenOff     int  // creations that stop after "Creating image"
	Slow          int  // creations whose spawn takes several times longer
	BruteForce    int  // bursts of 10 failed ssh logins from one address
	IptablesFlush int  // "iptables -F" run by root on a compute host
	BridgeDown    int  // a bridge port entering disabled state
	Silent        bool // the volume service's periodic status report stops half-way
	Orphans       bool // a project deleted while its instances remain
	Unscheduled   int  // a service restarted outside 02:00-04:00
}

// Line is one generated line.
type Line struct {
	Time time.Time
	Text string
	// Event names the message template the line was made from, the ground
	// truth for template grouping.
	Event string
}

// Truth is one expected detection.
type Truth struct {
	Kind     string // "pattern", "incomplete" or "rule"
	ID       string // the default catalogue's pattern or rule id
	Reason   string // "broken_off" or "slow" for incomplete ones
	Resource string
	Tenant   string
	Start    time.Time
	End      time.Time
}

// Log is a generated log with its ground truth.
type Log struct {
	Lines []Line
	Truth []Truth
}

// WriteTo writes the lines, one per line.
func (l *Log) WriteTo(w io.Writer) (int64, error) {
	var n int64
	var sb strings.Builder
	for i, ln := range l.Lines {
		sb.WriteString(ln.Text)
		sb.WriteByte('\n')
		if sb.Len() > 1<<16 || i == len(l.Lines)-1 {
			k, err := io.WriteString(w, sb.String())
			n += int64(k)
			if err != nil {
				return n, err
			}
			sb.Reset()
		}
	}
	return n, nil
}

type gen struct {
	cfg      Config
	rnd      *rand.Rand
	lines    []Line
	order    []int
	truth    []Truth
	projects []string
	users    []string
	hosts    []string
	pids     map[string]int
	wrapN    int
	// The service user and project neutron calls nova with.
	serviceUser, serviceProject string
}

// Generate produces a log; the same Config gives the same log.
func Generate(cfg Config) *Log {
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2017, 5, 16, 10, 0, 0, 0, time.UTC)
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 30 * time.Minute
	}
	if cfg.Projects <= 0 {
		cfg.Projects = 4
	}
	if cfg.Computes <= 0 {
		cfg.Computes = 3
	}
	if cfg.VMs <= 0 {
		cfg.VMs = 20
	}
	g := &gen{cfg: cfg, rnd: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)), pids: map[string]int{}}
	for i := 0; i < cfg.Projects; i++ {
		g.projects = append(g.projects, g.hex(32))
		g.users = append(g.users, g.hex(32))
	}
	g.serviceUser, g.serviceProject = g.hex(32), g.hex(32)
	for i := 0; i < cfg.Computes; i++ {
		g.hosts = append(g.hosts, fmt.Sprintf("cp-%d.slowvm1.tcloud-pg0.utah.cloudlab.us", i+1))
	}
	if !cfg.NoBackground {
		g.background()
	}
	g.lifecycles()
	g.faults()
	// Stable sort by time keeps each burst's own order.
	idx := make([]int, len(g.lines))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return g.lines[a].Time.Compare(g.lines[b].Time) })
	out := &Log{Truth: g.truth}
	out.Lines = make([]Line, len(idx))
	for i, j := range idx {
		out.Lines[i] = g.lines[j]
	}
	slices.SortStableFunc(out.Truth, func(a, b Truth) int { return a.Start.Compare(b.Start) })
	return out
}

func (g *gen) end() time.Time { return g.cfg.Start.Add(g.cfg.Duration) }

func (g *gen) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.rnd.IntN(16)]
	}
	return string(b)
}

func (g *gen) uuid() string {
	h := g.hex(32)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (g *gen) req() string { return "req-" + g.uuid() }

func (g *gen) jitter(d time.Duration, frac float64) time.Duration {
	return d + time.Duration((g.rnd.Float64()*2-1)*frac*float64(d))
}

func (g *gen) pid(service string) int {
	if p, ok := g.pids[service]; ok {
		return p
	}
	p := 1000 + g.rnd.IntN(30000)
	g.pids[service] = p
	return p
}

// ctx is an oslo request context.
type ctx struct {
	req, user, project string
}

func (c ctx) String() string {
	if c.req == "" {
		return "[-]"
	}
	if c.user == "" {
		return "[" + c.req + " - - - - -]"
	}
	return "[" + c.req + " " + c.user + " " + c.project + " - - -]"
}

// oslo adds one oslo.log line from a service on a host.
func (g *gen) oslo(t time.Time, service, host, level, logger string, c ctx, msg, event string) {
	pid := g.pid(service + "@" + host)
	body := fmt.Sprintf("%d %s %s %s %s", pid, level, logger, c, msg)
	text := t.Format("2006-01-02 15:04:05.000") + " " + body
	switch {
	case g.cfg.Syslog:
		g.wrapN++
		short := strings.SplitN(host, ".", 2)[0]
		if g.wrapN%2 == 0 {
			text = fmt.Sprintf("<%d>%s %s %s[%d]: %s", 8*16+6, t.Format(time.Stamp), short, service, pid, text)
		} else {
			text = fmt.Sprintf("<%d>1 %s %s %s %d - - %s", 8*16+6, t.Format("2006-01-02T15:04:05.000000Z07:00"), short, service, pid, text)
		}
	case g.cfg.FilePrefix:
		text = service + ".log.1." + g.cfg.Start.Format("2006-01-02_15:04:05") + " " + text
	}
	g.lines = append(g.lines, Line{Time: t, Text: text, Event: event})
}

// host adds one RFC 3164 line from a host program.
func (g *gen) host(t time.Time, host, prog string, pid int, msg, event string) {
	short := strings.SplitN(host, ".", 2)[0]
	tag := prog + ":"
	if pid > 0 {
		tag = fmt.Sprintf("%s[%d]:", prog, pid)
	}
	g.lines = append(g.lines, Line{Time: t, Text: fmt.Sprintf("%s %s %s %s", t.Format(time.Stamp), short, tag, msg), Event: event})
}

const apiHost = "controller"

func (g *gen) background() {
	end := g.end()
	// Resource audit on every compute host every 60s.
	for hi, h := range g.hosts {
		for t := g.cfg.Start.Add(time.Duration(g.rnd.IntN(60000)) * time.Millisecond); t.Before(end); t = t.Add(g.jitter(60*time.Second, 0.02)) {
			c := ctx{req: g.req()}
			used := g.rnd.IntN(6)
			g.oslo(t, "nova-compute", h, "INFO", "nova.compute.resource_tracker", c, "Auditing locally available compute resources for node "+h, "rt.audit")
			g.oslo(t.Add(180*time.Millisecond), "nova-compute", h, "INFO", "nova.compute.resource_tracker", c, fmt.Sprintf("Total usable vcpus: 16, total allocated vcpus: %d", used), "rt.vcpus")
			g.oslo(t.Add(190*time.Millisecond), "nova-compute", h, "INFO", "nova.compute.resource_tracker", c,
				fmt.Sprintf("Final resource view: name=%s phys_ram=64172MB used_ram=%dMB phys_disk=15GB used_disk=%dGB total_vcpus=16 used_vcpus=%d pci_stats=[]", h, 512+2048*used, 20*used, used), "rt.final")
			g.oslo(t.Add(240*time.Millisecond), "nova-compute", h, "INFO", "nova.compute.resource_tracker", c, fmt.Sprintf("Compute_service record updated for %s:%s", strings.SplitN(h, ".", 2)[0], h), "rt.updated")
		}
		// Image cache manager every 5 minutes.
		img, base := g.uuid(), g.hex(40)
		for t := g.cfg.Start.Add(time.Duration(g.rnd.IntN(300)) * time.Second); t.Before(end); t = t.Add(g.jitter(300*time.Second, 0.01)) {
			c := ctx{req: g.req()}
			path := "/var/lib/nova/instances/_base/" + base
			g.oslo(t, "nova-compute", h, "INFO", "nova.virt.libvirt.imagecache", c, fmt.Sprintf("image %s at (%s): checking", img, path), "ic.checking")
			g.oslo(t.Add(time.Millisecond), "nova-compute", h, "INFO", "nova.virt.libvirt.imagecache", c,
				fmt.Sprintf("image %s at (%s): in use: on this node %d local, 0 on other nodes sharing this instance storage", img, path, 1+g.rnd.IntN(3)), "ic.inuse")
			g.oslo(t.Add(40*time.Millisecond), "nova-compute", h, "INFO", "nova.virt.libvirt.imagecache", c, "Active base files: "+path, "ic.active")
		}
		// Cron on each host, every 10 minutes.
		for t := g.cfg.Start.Add(time.Duration(17+hi) * time.Second); t.Before(end); t = t.Add(10 * time.Minute) {
			g.host(t, h, "CRON", 20000+g.rnd.IntN(9000), "(root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)", "cron.cmd")
		}
	}
	// A monitoring project polls the server list every ~2s.
	mon := ctx{req: "", user: g.users[0], project: g.projects[0]}
	for t := g.cfg.Start.Add(300 * time.Millisecond); t.Before(end); t = t.Add(g.jitter(2*time.Second, 0.1)) {
		c := mon
		c.req = g.req()
		g.oslo(t, "nova-api", apiHost, "INFO", "nova.osapi_compute.wsgi.server", c,
			fmt.Sprintf(`10.11.10.1 "GET /v2/%s/servers/detail HTTP/1.1" status: 200 len: %d time: %.7f`, c.project, 1500+g.rnd.IntN(1000), 0.1+g.rnd.Float64()*0.3), "api.get")
	}
	// Keystone token validation every ~3s.
	for t := g.cfg.Start.Add(time.Second); t.Before(end); t = t.Add(g.jitter(3*time.Second, 0.1)) {
		c := ctx{req: g.req(), user: g.users[0], project: g.projects[0]}
		g.oslo(t, "keystone", apiHost, "INFO", "keystone.common.wsgi", c, "GET http://controller:35357/v3/auth/tokens", "ks.tokens")
	}
	// Cinder volume status every 60s.
	stop := end
	if g.cfg.Faults.Silent {
		stop = g.cfg.Start.Add(g.cfg.Duration / 2)
		g.truth = append(g.truth, Truth{Kind: "rule", ID: "source.silent", Resource: "cinder.volume.manager", Start: stop})
	}
	for t := g.cfg.Start.Add(7 * time.Second); t.Before(stop); t = t.Add(g.jitter(60*time.Second, 0.02)) {
		g.oslo(t, "cinder-volume", "storage", "INFO", "cinder.volume.manager", ctx{req: g.req()}, "Updating volume status", "cv.status")
	}
}

type vm struct {
	id, project, user, host string
}

func (g *gen) lifecycles() {
	n := g.cfg.VMs
	span := g.cfg.Duration * 6 / 10
	f := g.cfg.Faults
	for i := 0; i < n; i++ {
		pi := g.rnd.IntN(len(g.projects))
		if g.cfg.Faults.Orphans && pi == len(g.projects)-1 && len(g.projects) > 1 {
			pi = 0
		}
		v := vm{id: g.uuid(), project: g.projects[pi], user: g.users[pi], host: g.hosts[g.rnd.IntN(len(g.hosts))]}
		t0 := g.cfg.Start.Add(30*time.Second + time.Duration(g.rnd.Int64N(int64(span))))
		switch {
		case i < f.BrokenOff:
			g.create(v, t0, "broken_off")
			continue
		case i < f.BrokenOff+f.Slow:
			t := g.create(v, t0, "slow")
			g.delete(v, t.Add(time.Duration(60+g.rnd.IntN(120))*time.Second))
			continue
		}
		t := g.create(v, t0, "")
		if g.cfg.Ops && g.rnd.IntN(2) == 0 {
			t = t.Add(time.Duration(20+g.rnd.IntN(60)) * time.Second)
			switch g.rnd.IntN(3) {
			case 0:
				t = g.powerOp(v, t, "vm.stop")
				t = g.powerOp(v, t.Add(time.Duration(20+g.rnd.IntN(40))*time.Second), "vm.start")
			case 1:
				t = g.powerOp(v, t, "vm.pause")
				t = g.powerOp(v, t.Add(time.Duration(20+g.rnd.IntN(40))*time.Second), "vm.resume")
			case 2:
				t = g.migrate(v, t)
			}
		}
		g.delete(v, t.Add(time.Duration(60+g.rnd.IntN(120))*time.Second))
	}
	if f.Orphans && len(g.projects) > 1 {
		p := len(g.projects) - 1
		v := vm{id: g.uuid(), project: g.projects[p], user: g.users[p], host: g.hosts[0]}
		g.create(v, g.cfg.Start.Add(g.cfg.Duration/4), "")
		dt := g.end().Add(-2 * time.Minute)
		g.oslo(dt, "keystone", apiHost, "INFO", "keystone.common.wsgi", ctx{req: g.req(), user: g.users[0], project: g.projects[0]},
			"DELETE http://controller:35357/v3/projects/"+v.project, "ks.delete_project")
		g.truth = append(g.truth, Truth{Kind: "rule", ID: "project.orphans", Resource: v.project, Tenant: v.project, Start: dt, End: dt})
	}
}

func (g *gen) userCtx(v vm) ctx    { return ctx{req: g.req(), user: v.user, project: v.project} }
func (g *gen) eventCtx() ctx       { return ctx{req: g.req()} }
func ms(n int) time.Duration       { return time.Duration(n) * time.Millisecond }
func secs(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// create writes a VM creation and returns its end time.
func (g *gen) create(v vm, t time.Time, fault string) time.Time {
	c := g.userCtx(v)
	start := t
	in := "[instance: " + v.id + "] "
	api := ctx{req: c.req, user: v.user, project: v.project}
	g.oslo(t, "nova-api", apiHost, "INFO", "nova.osapi_compute.wsgi.server", api,
		fmt.Sprintf(`10.11.10.1 "POST /v2/%s/servers HTTP/1.1" status: 202 len: 733 time: %.7f`, v.project, 0.4+g.rnd.Float64()*0.5), "api.post")
	// The client polls the new server while it builds, as real clients do.
	for k, n := 0, g.rnd.IntN(5); k < n; k++ {
		pc := g.userCtx(v)
		g.oslo(t.Add(secs(1+g.rnd.Float64()*10)), "nova-api", apiHost, "INFO", "nova.osapi_compute.wsgi.server", pc,
			fmt.Sprintf(`10.11.10.1 "GET /v2/%s/servers/%s HTTP/1.1" status: 200 len: %d time: %.7f`, v.project, v.id, 1700+g.rnd.IntN(200), 0.1+g.rnd.Float64()*0.2), "api.get")
	}
	t = t.Add(ms(800 + g.rnd.IntN(600)))
	start = t
	used := g.rnd.IntN(5)
	cl := "nova.compute.claims"
	g.oslo(t, "nova-compute", v.host, "INFO", cl, c, in+"Attempting claim: memory 2048 MB, disk 20 GB, vcpus 1 CPU", "c.claim")
	g.oslo(t, "nova-compute", v.host, "INFO", cl, c, in+fmt.Sprintf("Total memory: 64172 MB, used: %d.00 MB", 512+2048*used), "c.totmem")
	g.oslo(t, "nova-compute", v.host, "INFO", cl, c, in+fmt.Sprintf("memory limit: 96258.00 MB, free: %d.00 MB", 96258-512-2048*used), "c.memlim")
	g.oslo(t, "nova-compute", v.host, "INFO", cl, c, in+fmt.Sprintf("Total disk: 15 GB, used: %d.00 GB", 20*used), "c.totdisk")
	g.oslo(t, "nova-compute", v.host, "INFO", cl, c, in+"disk limit not specified, defaulting to unlimited", "c.disklim")
	g.oslo(t, "nova-compute", v.host, "INFO", cl, c, in+fmt.Sprintf("Total vcpu: 16 VCPU, used: %d.00 VCPU", used), "c.totvcpu")
	g.oslo(t, "nova-compute", v.host, "INFO", cl, c, in+"vcpu limit not specified, defaulting to unlimited", "c.vcpulim")
	g.oslo(t.Add(ms(5)), "nova-compute", v.host, "INFO", cl, c, in+"Claim successful", "c.ok")
	t = t.Add(ms(600 + g.rnd.IntN(400)))
	g.oslo(t, "nova-compute", v.host, "INFO", "nova.virt.libvirt.driver", c, in+"Creating image", "c.image")
	if fault == "broken_off" {
		g.truth = append(g.truth, Truth{Kind: "incomplete", ID: "vm.create", Reason: "broken_off", Resource: v.id, Tenant: v.project, Start: start, End: t})
		return t
	}
	spawn := secs(8 + g.rnd.Float64()*6)
	if fault == "slow" {
		spawn *= 6
	}
	t = t.Add(spawn)
	port := g.uuid()
	neutron := ctx{req: g.req(), user: g.serviceUser, project: g.serviceProject}
	g.oslo(t.Add(-ms(1500)), "nova-api", apiHost, "INFO", "nova.api.openstack.compute.server_external_events", neutron,
		fmt.Sprintf("Creating event network-vif-plugged:%s for instance %s", port, v.id), "api.vifplugged")
	ev := g.eventCtx()
	g.oslo(t, "nova-compute", v.host, "INFO", "nova.compute.manager", ev, in+"VM Started (Lifecycle Event)", "e.started")
	t = t.Add(ms(40 + g.rnd.IntN(30)))
	g.oslo(t, "nova-compute", v.host, "INFO", "nova.compute.manager", ev, in+"VM Paused (Lifecycle Event)", "e.paused")
	if g.rnd.IntN(5) > 0 {
		t = t.Add(ms(80 + g.rnd.IntN(40)))
		g.oslo(t, "nova-compute", v.host, "INFO", "nova.compute.manager", g.eventCtx(), in+"During sync_power_state the instance has a pending task (spawning). Skip.", "e.sync.spawning")
	}
	t = t.Add(ms(900 + g.rnd.IntN(600)))
	g.oslo(t, "nova-compute", v.host, "INFO", "nova.compute.manager", ev, in+"VM Resumed (Lifecycle Event)", "e.resumed")
	t = t.Add(ms(10))
	g.oslo(t, "nova-compute", v.host, "INFO", "nova.virt.libvirt.driver", ctx{}, in+"Instance spawned successfully.", "c.spawned")
	g.oslo(t.Add(ms(1)), "nova-compute", v.host, "INFO", "nova.compute.manager", c, in+fmt.Sprintf("Took %.2f seconds to spawn the instance on the hypervisor.", t.Sub(start).Seconds()-1), "c.tookspawn")
	t = t.Add(ms(200 + g.rnd.IntN(200)))
	g.oslo(t, "nova-compute", v.host, "INFO", "nova.compute.manager", c, in+fmt.Sprintf("Took %.2f seconds to build instance.", t.Sub(start).Seconds()), "c.tookbuild")
	tr := Truth{Kind: "pattern", ID: "vm.create", Resource: v.id, Tenant: v.project, Start: start, End: t}
	if fault == "slow" {
		tr.Kind, tr.Reason = "incomplete", "slow"
	}
	g.truth = append(g.truth, tr)
	return t
}

func (g *gen) delete(v vm, t time.Time) time.Time {
	if !t.Before(g.end().Add(-30 * time.Second)) {
		return t
	}
	c := g.userCtx(v)
	in := "[instance: " + v.id + "] "
	g.oslo(t, "nova-api", apiHost, "INFO", "nova.osapi_compute.wsgi.server", c,
		fmt.Sprintf(`10.11.10.1 "DELETE /v2/%s/servers/%s HTTP/1.1" status: 204 len: 203 time: %.7f`, v.project, v.id, 0.1+g.rnd.Float64()*0.2), "api.delete")
	t = t.Add(ms(300 + g.rnd.IntN(300)))
	start := t
	g.oslo(t, "nova-compute", v.host, "INFO", "nova.compute.manager", c, in+"Terminating instance", "d.terminating")
	t = t.Add(ms(400 + g.rnd.IntN(600)))
	g.oslo(t, "nova-compute", v.host, "INFO", "nova.virt.libvirt.driver", ctx{}, in+"Instance destroyed successfully.", "d.destroyed")
	t = t.Add(ms(100 + g.rnd.IntN(100)))
	path := "/var/lib/nova/instances/" + v.id + "_del"
	g.oslo(t, "nova-compute", v.host, "INFO", "nova.virt.libvirt.driver", c, in+"Deleting instance files "+path, "d.deleting")
	t = t.Add(ms(1))
	g.oslo(t, "nova-compute", v.host, "INFO", "nova.virt.libvirt.driver", c, in+"Deletion of "+path+" complete", "d.deletion")
	t = t.Add(ms(10))
	g.oslo(t, "nova-compute", v.host, "INFO", "nova.compute.manager", c, in+fmt.Sprintf("Took %.2f seconds to destroy the instance on the hypervisor.", t.Sub(start).Seconds()), "d.tookdestroy")
	t = t.Add(ms(500 + g.rnd.IntN(700)))
	g.oslo(t, "nova-compute", v.host, "INFO", "nova.compute.manager", c, in+fmt.Sprintf("Took %.2f seconds to deallocate network for instance.", 0.5+g.rnd.Float64()), "d.tookdealloc")
	g.truth = append(g.truth, Truth{Kind: "pattern", ID: "vm.delete", Resource: v.id, Tenant: v.project, Start: start, End: t})
	// The hypervisor's stop event reaches nova-compute seconds later, as in real logs.
	g.oslo(t.Add(secs(8+g.rnd.Float64()*7)), "nova-compute", v.host, "INFO", "nova.compute.manager", ctx{}, in+"VM Stopped (Lifecycle Event)", "e.stopped")
	return t
}

// powerOp writes stop, start, pause or resume (unpause).
func (g *gen) powerOp(v vm, t time.Time, op string) time.Time {
	c := g.userCtx(v)
	in := "[instance: " + v.id + "] "
	g.oslo(t, "nova-api", apiHost, "INFO", "nova.osapi_compute.wsgi.server", c,
		fmt.Sprintf(`10.11.10.1 "POST /v2/%s/servers/%s/action HTTP/1.1" status: 202 len: 187 time: %.7f`, v.project, v.id, 0.1+g.rnd.Float64()*0.2), "api.action")
	t = t.Add(ms(300 + g.rnd.IntN(300)))
	start := t
	ev := g.eventCtx()
	switch op {
	case "vm.stop":
		g.oslo(t, "nova-compute", v.host, "INFO", "nova.virt.libvirt.driver", c, in+fmt.Sprintf("Instance shutdown successfully after %d seconds.", 2+g.rnd.IntN(5)), "s.shutdown")
		t = t.Add(ms(300))
		g.oslo(t, "nova-compute", v.host, "INFO", "nova.compute.manager", ev, in+"VM Stopped (Lifecycle Event)", "e.stopped")
		t = t.Add(ms(100))
		g.oslo(t, "nova-compute", v.host, "INFO", "nova.compute.manager", ev, in+"During sync_power_state the instance has a pending task (powering-off). Skip.", "e.sync.poweroff")
	case "vm.start":
		g.oslo(t, "nova-compute", v.host, "INFO", "nova.virt.libvirt.driver", c, in+"Instance rebooted successfully.", "s.rebooted")
		t = t.Add(ms(300))
		g.oslo(t, "nova-compute", v.host, "INFO", "nova.compute.manager", ev, in+"VM Started (Lifecycle Event)", "e.started")
		t = t.Add(ms(100))
		g.oslo(t, "nova-compute", v.host, "INFO", "nova.compute.manager", ev, in+"During sync_power_state the instance has a pending task (powering-on). Skip.", "e.sync.poweron")
	case "vm.pause":
		g.oslo(t, "nova-compute", v.host, "INFO", "nova.compute.manager", ev, in+"VM Paused (Lifecycle Event)", "e.paused")
		t = t.Add(ms(100))
		g.oslo(t, "nova-compute", v.host, "INFO", "nova.compute.manager", ev, in+"During sync_power_state the instance has a pending task (pausing). Skip.", "e.sync.pausing")
	case "vm.resume":
		g.oslo(t, "nova-compute", v.host, "INFO", "nova.compute.manager", ev, in+"VM Resumed (Lifecycle Event)", "e.resumed")
		t = t.Add(ms(100))
		g.oslo(t, "nova-compute", v.host, "INFO", "nova.compute.manager", ev, in+"During sync_power_state the instance has a pending task (unpausing). Skip.", "e.sync.unpausing")
	}
	g.truth = append(g.truth, Truth{Kind: "pattern", ID: op, Resource: v.id, Tenant: v.project, Start: start, End: t})
	return t
}

func (g *gen) migrate(v vm, t time.Time) time.Time {
	c := g.userCtx(v)
	in := "[instance: " + v.id + "] "
	g.oslo(t, "nova-api", apiHost, "INFO", "nova.osapi_compute.wsgi.server", c,
		fmt.Sprintf(`10.11.10.1 "POST /v2/%s/servers/%s/action HTTP/1.1" status: 202 len: 187 time: %.7f`, v.project, v.id, 0.1+g.rnd.Float64()*0.2), "api.action")
	t = t.Add(ms(2000 + g.rnd.IntN(1000)))
	start := t
	total := 2147483648
	g.oslo(t, "nova-compute", v.host, "INFO", "nova.virt.libvirt.driver", c,
		in+fmt.Sprintf("Migration running for 5 secs, memory %d%% remaining; (bytes processed=%d, remaining=%d, total=%d)", 40+g.rnd.IntN(40), total/2, total/3, total), "m.running")
	t = t.Add(secs(3 + g.rnd.Float64()*3))
	g.oslo(t, "nova-compute", v.host, "INFO", "nova.virt.libvirt.driver", c, in+"Migration operation has completed", "m.completed")
	t = t.Add(ms(50))
	g.oslo(t, "nova-compute", v.host, "INFO", "nova.compute.manager", c, in+"_post_live_migration() is started..", "m.post")
	t = t.Add(ms(900 + g.rnd.IntN(400)))
	dest := g.hosts[(slices.Index(g.hosts, v.host)+1)%len(g.hosts)]
	g.oslo(t, "nova-compute", v.host, "INFO", "nova.compute.manager", c, in+"Migrating instance to "+dest+" finished successfully.", "m.finished")
	t = t.Add(ms(5))
	g.oslo(t, "nova-compute", v.host, "INFO", "nova.compute.manager", c,
		in+`You may see the error "libvirt: QEMU error: Domain not found: no domain with matching name." This error can be safely ignored.`, "m.ignore")
	g.truth = append(g.truth, Truth{Kind: "pattern", ID: "vm.migrate", Resource: v.id, Tenant: v.project, Start: start, End: t})
	return t
}

func (g *gen) faults() {
	f := g.cfg.Faults
	users := []string{"admin", "test", "oracle", "webmaster", "ubuntu", "postgres", "guest", "user", "ftp", "support"}
	for i := 0; i < f.BruteForce; i++ {
		h := g.hosts[i%len(g.hosts)]
		ip := fmt.Sprintf("173.234.%d.%d", 1+g.rnd.IntN(250), 1+g.rnd.IntN(250))
		t := g.cfg.Start.Add(time.Duration(g.rnd.Int64N(int64(g.cfg.Duration * 8 / 10))))
		start := t
		pid := 20000 + g.rnd.IntN(9000)
		for k := 0; k < 10; k++ {
			u := users[g.rnd.IntN(len(users))]
			g.host(t, h, "sshd", pid+k, fmt.Sprintf("Failed password for invalid user %s from %s port %d ssh2", u, ip, 30000+g.rnd.IntN(30000)), "ssh.failed")
			t = t.Add(ms(2000 + g.rnd.IntN(3000)))
		}
		g.truth = append(g.truth, Truth{Kind: "rule", ID: "ssh.bruteforce", Resource: ip, Start: start})
	}
	// A few isolated failures from other addresses: never a brute force.
	if !g.cfg.NoBackground {
		for i := 0; i < 3; i++ {
			t := g.cfg.Start.Add(time.Duration(g.rnd.Int64N(int64(g.cfg.Duration))))
			g.host(t, g.hosts[0], "sshd", 20000+g.rnd.IntN(9000), fmt.Sprintf("Failed password for ubuntu from 10.11.10.%d port %d ssh2", 2+i, 40000+g.rnd.IntN(9000)), "ssh.failed")
			g.host(t.Add(3*time.Second), g.hosts[0], "sshd", 20000+g.rnd.IntN(9000), fmt.Sprintf("Accepted publickey for ubuntu from 10.11.10.%d port %d ssh2", 2+i, 40000+g.rnd.IntN(9000)), "ssh.accepted")
		}
	}
	for i := 0; i < f.IptablesFlush; i++ {
		h := g.hosts[i%len(g.hosts)]
		t := g.cfg.Start.Add(time.Duration(g.rnd.Int64N(int64(g.cfg.Duration * 8 / 10))))
		g.host(t, h, "sudo", 0, "    root : TTY=pts/0 ; PWD=/root ; USER=root ; COMMAND=/sbin/iptables -F", "sudo.iptables")
		g.truth = append(g.truth, Truth{Kind: "rule", ID: "host.iptables_flush", Resource: strings.SplitN(h, ".", 2)[0], Start: t, End: t})
	}
	for i := 0; i < f.BridgeDown; i++ {
		h := g.hosts[i%len(g.hosts)]
		t := g.cfg.Start.Add(time.Duration(g.rnd.Int64N(int64(g.cfg.Duration * 8 / 10))))
		br := g.hex(8) + "-" + g.hex(2)
		g.host(t, h, "kernel", 0, fmt.Sprintf("[%d.%06d] brq%s: port 1(tap%s) entered disabled state", 80000+g.rnd.IntN(9000), g.rnd.IntN(1000000), br, g.hex(8)+"-"+g.hex(2)), "kernel.disabled")
		g.truth = append(g.truth, Truth{Kind: "rule", ID: "net.bridge_down", Resource: strings.SplitN(h, ".", 2)[0], Start: t, End: t})
	}
	for i := 0; i < f.Unscheduled; i++ {
		h := g.hosts[i%len(g.hosts)]
		t := g.cfg.Start.Add(time.Duration(g.rnd.Int64N(int64(g.cfg.Duration * 8 / 10))))
		g.oslo(t, "nova-compute", h, "INFO", "oslo_service.service", ctx{}, "Caught SIGTERM, stopping children", "svc.sigterm")
		g.pids["nova-compute@"+h] = 1000 + g.rnd.IntN(30000)
		g.oslo(t.Add(4*time.Second), "nova-compute", h, "INFO", "nova.service", ctx{}, "Starting compute node (version 13.0.0)", "svc.starting")
		g.truth = append(g.truth, Truth{Kind: "rule", ID: "service.unscheduled", Resource: "oslo_service.service", Start: t, End: t})
		g.truth = append(g.truth, Truth{Kind: "rule", ID: "service.unscheduled", Resource: "nova.service", Start: t.Add(4 * time.Second), End: t.Add(4 * time.Second)})
	}
}
