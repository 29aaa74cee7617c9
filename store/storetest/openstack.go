package storetest

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/hisoka-project/hisoka/store"
)

// Corpus generates OpenStack-like log records (oslo.log format from nova,
// neutron, cinder, keystone and the hypervisor) for benchmarks: request ids,
// instance and project UUIDs drawn from bounded pools, IP addresses,
// timings. It is synthetic: a stand-in with the statistics of such logs
// (repeated templates, high-entropy ids), not real data.
type Corpus struct {
	rng       *rand.Rand
	instances []string
	projects  []string
	users     []string
	hosts     []string
	clients   []string
	active    []string // request ids in flight; each spans several lines
	activeVM  []string // the instance each in-flight request works on
}

// NewCorpus returns a deterministic generator for seed.
func NewCorpus(seed uint64) *Corpus {
	c := &Corpus{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	c.instances = c.uuids(2000)
	c.projects = c.hexes(50)
	c.users = c.hexes(200)
	for i := 0; i < 40; i++ {
		c.hosts = append(c.hosts, fmt.Sprintf("cmp%03d.site1.example.net", i))
	}
	for i := 0; i < 200; i++ {
		c.clients = append(c.clients, fmt.Sprintf("10.%d.%d.%d", c.rng.IntN(4), c.rng.IntN(256), 1+c.rng.IntN(254)))
	}
	c.active = c.uuids(8)
	for range c.active {
		c.activeVM = append(c.activeVM, c.instances[c.rng.IntN(len(c.instances))])
	}
	return c
}

func (c *Corpus) uuid() string {
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", c.rng.Uint32(), c.rng.Uint32()&0xffff, c.rng.Uint32()&0xffff, c.rng.Uint32()&0xffff, c.rng.Uint64()&0xffffffffffff)
}

func (c *Corpus) uuids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = c.uuid()
	}
	return out
}

func (c *Corpus) hexes(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%016x%016x", c.rng.Uint64(), c.rng.Uint64())
	}
	return out
}

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

var templates = []struct {
	app, level, module, msg string
}{
	{"nova-compute", "INFO", "nova.compute.manager", "[instance: %[1]s] Took %.2[4]f seconds to spawn the instance on the hypervisor."},
	{"nova-compute", "INFO", "nova.compute.manager", "[instance: %[1]s] Took %.2[4]f seconds to build instance."},
	{"nova-compute", "INFO", "nova.compute.resource_tracker", "Final resource view: name=%[2]s phys_ram=257614MB used_ram=%[5]dMB phys_disk=1862GB used_disk=%[6]dGB total_vcpus=64 used_vcpus=%[7]d pci_stats=[]"},
	{"nova-compute", "WARNING", "nova.compute.manager", "[instance: %[1]s] Instance shutdown by itself. Calling the stop API. Current vm_state: active, current task_state: None, original DB power_state: 1, current VM power_state: 4"},
	{"nova-api", "INFO", "nova.osapi_compute.wsgi.server", "%[8]s \"GET /v2.1/%[3]s/servers/%[1]s HTTP/1.1\" status: 200 len: 1893 time: 0.%[5]d"},
	{"nova-api", "INFO", "nova.osapi_compute.wsgi.server", "%[8]s \"POST /v2.1/%[3]s/servers/%[1]s/action HTTP/1.1\" status: 202 len: 0 time: 0.%[5]d"},
	{"neutron-server", "INFO", "neutron.wsgi", "%[8]s \"GET /v2.0/ports?device_id=%[1]s HTTP/1.1\" status: 200  len: 1076 time: 0.0%[5]d"},
	{"neutron-openvswitch-agent", "INFO", "neutron.agent.securitygroups_rpc", "Security group member updated [u'%[1]s']"},
	{"cinder-volume", "INFO", "cinder.volume.manager", "Attaching volume %[1]s to instance on host %[2]s, mountpoint /dev/vdb"},
	{"cinder-volume", "ERROR", "cinder.volume.manager", "Failed to attach volume %[1]s: Unable to connect to iSCSI target %[8]s:3260"},
	{"keystone", "WARNING", "keystone.common.wsgi", "Authorization failed. The request you have made requires authentication. from %[8]s"},
	{"libvirtd", "ERROR", "libvirt", "internal error: qemu unexpectedly closed the monitor: instance-%08[5]x"},
}

// Record returns the next record, with event time at.
func (c *Corpus) Record(at time.Time) store.Record {
	t := pick(c.rng, templates)
	host := pick(c.rng, c.hosts)
	project := pick(c.rng, c.projects)
	user := pick(c.rng, c.users)
	// A request spans several lines: replace one in-flight request in 15.
	slot := c.rng.IntN(len(c.active))
	if c.rng.IntN(15) == 0 {
		c.active[slot] = c.uuid()
		c.activeVM[slot] = c.instances[c.rng.IntN(len(c.instances))]
	}
	req := "req-" + c.active[slot]
	instance := c.activeVM[slot]
	client := pick(c.rng, c.clients)
	msg := fmt.Sprintf(t.msg, instance, host, project, c.rng.Float64()*40, c.rng.IntN(250), c.rng.IntN(250), c.rng.IntN(64), client)
	pid := 10000 + int(xhash(host+t.app)%50000)
	line := fmt.Sprintf("%s %d %s %s [%s %s %s - default default] %s",
		at.Format("2006-01-02 15:04:05.000"), pid, t.level, t.module, req, user, project, msg)
	// As a parser would: the instance field only when the line names one.
	fields := map[string]string{"request_id": req, "project": project}
	if strings.Contains(line, instance) {
		fields["instance"] = instance
	}
	sev := uint8(6)
	switch t.level {
	case "WARNING":
		sev = 4
	case "ERROR":
		sev = 3
	}
	return store.Record{
		Time: at, Received: at.Add(time.Duration(c.rng.IntN(500)) * time.Millisecond),
		Host: host, App: t.app, Severity: sev, Source: host + ":514",
		Fields: fields,
		Line:   line,
	}
}

// Batch returns n records starting at start, step apart.
func (c *Corpus) Batch(n int, start time.Time, step time.Duration) []store.Record {
	out := make([]store.Record, n)
	for i := range out {
		out[i] = c.Record(start.Add(time.Duration(i) * step))
	}
	return out
}

// RawBytes is the size of the records as a shipper sent them (the lines),
// what "raw bytes" means for the on-disk ratio.
func RawBytes(rs []store.Record) int {
	n := 0
	for i := range rs {
		n += len(rs[i].Line) + 1
	}
	return n
}

// Instance returns one of the corpus's instance ids (a query term).
func (c *Corpus) Instance(i int) string { return c.instances[i%len(c.instances)] }

// Cut250 cuts every line to at most 250 bytes (the append target's record size).
func Cut250(rs []store.Record) {
	for i := range rs {
		if len(rs[i].Line) > 250 {
			rs[i].Line = rs[i].Line[:250]
		}
	}
}

func xhash(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}
