package chaos_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/internal/e2e/proc"
	"github.com/hisoka-project/hisoka/internal/loggen"
	"github.com/hisoka-project/hisoka/matcher"
	"github.com/hisoka-project/hisoka/store/redistest"
	"github.com/hisoka-project/hisoka/tenantclient"
)

// TestCrash is issue 7 item 2: under continuous ingestion (generated
// platform logs over HTTP, the tenant's own lines over HTTP and syslog
// TCP), the server is killed with SIGKILL at random moments and restarted
// on the same data, on the embedded store and on Redis (append-only file,
// fsync always). After every restart: every acknowledged line is stored
// exactly once ([book]), the tenant's log verification passes, the
// tenant's board chain verifies and no notification came twice; at the
// end, the tenant got exactly the notifications the catalogue's engine
// finds in the generated log.
func TestCrash(t *testing.T) {
	for _, b := range proc.Backends() {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel() // much of each run is waiting for kills and restarts
			crash(t, b)
		})
	}
}

// crashSeed is HISOKA_CHAOS_SEED, or a fresh seed (logged, to rerun a
// failure with the same kill moments).
func crashSeed(t *testing.T) uint64 {
	if s := os.Getenv("HISOKA_CHAOS_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("HISOKA_CHAOS_SEED: %v", err)
		}
		return n
	}
	return rand.Uint64()
}

func crash(t *testing.T, backend proc.Backend) {
	kills, within := 3, 1200*time.Millisecond
	gc := loggen.Config{Seed: 11, Projects: 3, VMs: 30, Ops: true, Duration: time.Hour}
	if full() {
		kills, within = 20, 2*time.Second
		gc.VMs, gc.Duration = 80, 3*time.Hour
	}
	began := time.Now()
	seed := crashSeed(t)
	t.Logf("seed %d (HISOKA_CHAOS_SEED=%d repeats the kill moments)", seed, seed)
	rnd := rand.New(rand.NewPCG(seed, seed^0x5eed))

	gen := loggen.Generate(gc)
	project, vms := tenantVMs(t, gen)
	allDets := map[detectionKey]int{}
	want, subs := expectedNotifications(t, gen, vms, allDets)
	nDets := 0
	for _, n := range allDets {
		nDets += n
	}
	t.Logf("platform log: %d lines; the tenant owns %d VMs and expects %d notifications; the operators' detections stream %d records",
		len(gen.Lines), len(vms), sum(want), nDets)

	// A small pipeline-lag bound, so that 429s and a blocked syslog sink
	// also happen around the kills.
	o := proc.Options{Backend: backend, Args: []string{"--max-lag", "500"}}
	if backend == proc.Redis {
		o.RedisURL = redistest.Start(t, redistest.Config{AppendOnly: true, AppendFsync: "always"}).URL()
	}
	f := newFixture(t, o, project, vms)
	ctx := t.Context()
	if _, err := f.tenant.Subscribe(ctx, subs...); err != nil {
		t.Fatal(err)
	}

	plat, own := newBook("platform", len(gen.Lines)), newBook("own", 0)
	st := &statuses{}
	ps := &platformSender{f: f, lines: gen.Lines, book: plat, st: st, batch: 50}
	for i := range gen.Lines {
		ps.queue = append(ps.queue, i)
	}
	notes := newNotes(want)

	run := func(ctx context.Context) *sync.WaitGroup {
		var wg sync.WaitGroup
		wg.Go(func() { ps.run(ctx) })
		wg.Go(func() { ownHTTP(ctx, f, own, st) })
		wg.Go(func() { ownHTTP(ctx, f, own, st) })
		wg.Go(func() { ownSyslog(ctx, f, own) })
		wg.Go(func() { notes.follow(ctx, t, f.tenant) })
		return &wg
	}
	audit := func(what string, afterCrash bool) int {
		t.Helper()
		waiting, lost := f.audit(ctx, plat, own, afterCrash, what)
		ps.requeue(lost)
		if err := notes.poll(ctx, f.tenant, 0); err != nil {
			t.Errorf("%s: tenant poll: %v", what, err)
		}
		return waiting
	}

	t.Logf("set up in %s", time.Since(began).Round(time.Millisecond))
	// Cycles: the kills, and (between them, at random) graceful stops, after
	// which no line may be missing at all.
	stops := 1
	if full() {
		stops = 4
	}
	cycles := make([]bool, kills+stops) // true: graceful stop
	for i := range stops {
		cycles[i] = true
	}
	rnd.Shuffle(len(cycles), func(i, j int) { cycles[i], cycles[j] = cycles[j], cycles[i] })
	// Each cycle ships its share of the platform log, so that most of it
	// is shipped while the server is being killed: half the cycles spread
	// over about half the window, the others as fast as they can, so that
	// the pipeline has much to post when the kill comes.
	share := len(gen.Lines) / len(cycles)
	for i, graceful := range cycles {
		ps.budget, ps.pace = share, 0
		if rnd.IntN(2) == 0 {
			ps.pace = within / 2 / time.Duration(share/ps.batch+1)
		}
		// Half the kills come right after the platform sender's k-th
		// acknowledgement, when the pipeline has acknowledged lines it has
		// not processed yet; the others at a random moment.
		what := fmt.Sprintf("kill %d", i+1)
		cctx, cancel := context.WithCancel(ctx)
		onAck := make(chan struct{})
		ps.acked = nil
		if !graceful && rnd.IntN(2) == 0 {
			k := 1 + rnd.IntN(5)
			what += fmt.Sprintf(" on acknowledgement %d", k)
			ps.acked = func() {
				if k--; k == 0 {
					close(onAck)
					<-cctx.Done() // hold the sender until the kill
				}
			}
		}
		cycleStart := time.Now()
		wg := run(cctx)
		select {
		case <-time.After(time.Duration(rnd.Int64N(int64(within)))):
		case <-onAck:
		}
		at := time.Since(cycleStart)
		if graceful {
			what = fmt.Sprintf("graceful stop %d", i+1)
			cancel() // the senders finish what they are sending
			wg.Wait()
			f.srv.Stop()
		} else {
			f.srv.Kill()
			cancel()
			wg.Wait()
		}
		t0 := time.Now()
		f.srv.Restart()
		t1 := time.Now()
		if waiting := audit("after "+what, !graceful); waiting > 0 {
			t.Errorf("after %s: %d lines sent before the stop are not stored", what, waiting)
		}
		t.Logf("%s at %s: restart %s, audit %s; %d of %d platform lines acknowledged, %d notifications so far",
			what, at.Round(time.Millisecond), t1.Sub(t0).Round(time.Millisecond), time.Since(t1).Round(time.Millisecond),
			plat.tally()[acked.String()], len(gen.Lines), notes.total())
		if t.Failed() {
			t.FailNow()
		}
	}

	// The rest without kills: the whole platform log, then every pending
	// syslog line stored, then every notification delivered.
	ps.budget, ps.pace = len(gen.Lines), 0
	cctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { ownHTTP(cctx, f, own, st) })
	wg.Go(func() { ownSyslog(cctx, f, own) })
	ps.run(cctx)
	cancel()
	wg.Wait()
	if len(ps.queue) > 0 {
		t.Fatalf("platform sender stopped with %d lines to go and no kill (HTTP answers %v)", len(ps.queue), st.snapshot())
	}
	deadline := time.Now().Add(30 * time.Second)
	for audit("final", false) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("syslog lines written on cleanly closed connections to a running server never stored")
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("final audit after %s", time.Since(began).Round(time.Millisecond))
	deadline = time.Now().Add(60 * time.Second)
	for !notes.complete() && !t.Failed() {
		if time.Now().After(deadline) {
			t.Fatalf("notifications lost: got %d, want %d", notes.total(), sum(notes.want))
		}
		time.Sleep(300 * time.Millisecond)
		audit("draining", false)
	}
	t.Logf("notifications complete after %s", time.Since(began).Round(time.Millisecond))
	// The operators' detections stream holds exactly what the engine finds
	// in the log.
	_, byWhat, err := f.operatorDetections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for k, n := range allDets {
		if byWhat[k] != n {
			t.Errorf("detections stream: %d of %+v, the log has %d", byWhat[k], k, n)
		}
	}
	for k, n := range byWhat {
		if allDets[k] == 0 {
			t.Errorf("detections stream: %d of %+v, which the log does not have", n, k)
		}
	}
	// A last look for late duplicates.
	time.Sleep(time.Second)
	audit("end", false)

	// The hisoka-tenant command, on the SDK's state, agrees: the logs
	// verify and the board holds nothing the tenant has not seen.
	cli := f.srv.Tenant(tenantID)
	cli.State = f.tenantState
	cli.Must("logs", "verify")
	if out := cli.Must("poll"); strings.Contains(out, `"pattern"`) {
		t.Errorf("hisoka-tenant poll found more notifications:\n%s", out)
	}

	if u := st.unexpected(); len(u) > 0 {
		t.Errorf("unexpected HTTP answers to ingest: %v", u)
	}
	pt, ot := plat.tally(), own.tally()
	t.Logf("%s: %d kills, %d graceful stops; platform lines %v; own lines %v; HTTP answers %v; notifications %d",
		backend, kills, stops, pt, ot, st.snapshot(), notes.total())
	if ot[acked.String()] == 0 || pt[acked.String()] == 0 {
		t.Fatal("nothing was acknowledged: the test did not test")
	}
}

// audit reads both streams, compares them with the books, and verifies the
// tenant's logs. It returns how many pending lines are not stored yet, and
// the platform lines declared lost.
func (f *fixture) audit(ctx context.Context, plat, own *book, afterCrash bool, what string) (int, []int) {
	t := f.t
	t.Helper()
	pc, err := f.platformCounts(ctx)
	if err != nil {
		t.Fatalf("%s: reading the platform stream: %v", what, err)
	}
	oc, err := f.ownCounts(ctx)
	if err != nil {
		t.Fatalf("%s: exporting the tenant's stream: %v", what, err)
	}
	p1, lost, w1 := plat.audit(pc, afterCrash)
	p2, _, w2 := own.audit(oc, afterCrash)
	for i, p := range append(p1, p2...) {
		if i == 20 {
			t.Errorf("%s: %d more problems", what, len(p1)+len(p2)-20)
			break
		}
		t.Errorf("%s: %s", what, p)
	}
	if len(oc) > 0 {
		if _, err := f.tenant.VerifyLogs(ctx, 0, 0); err != nil {
			t.Errorf("%s: tenant log verification: %v", what, err)
		}
	}
	// The operators' streams hold each detection once, replays or not.
	dets, _, err := f.operatorDetections(ctx)
	if err != nil {
		t.Fatalf("%s: reading the detections stream: %v", what, err)
	}
	anoms, err := f.anomalyIDs(ctx)
	if err != nil {
		t.Fatalf("%s: reading the anomalies stream: %v", what, err)
	}
	for name, m := range map[string]map[string]int{"detections": dets, "anomalies": anoms} {
		for id, n := range m {
			if n > 1 {
				t.Errorf("%s: detection %s is %d times in the %s stream", what, id, n, name)
			}
		}
	}
	return w1 + w2, lost
}

// tenantVMs picks the project of the first generated VM creation as the
// tenant's, and its VMs.
func tenantVMs(t *testing.T, gen *loggen.Log) (project string, vms []string) {
	for _, tr := range gen.Truth {
		if tr.ID != "vm.create" {
			continue
		}
		if project == "" {
			project = tr.Tenant
		}
		if tr.Tenant == project && !slices.Contains(vms, tr.Resource) {
			vms = append(vms, tr.Resource)
		}
	}
	if len(vms) < 2 {
		t.Fatalf("generator gave %d VMs for the tenant", len(vms))
	}
	return project, vms
}

// occurrence is what a notification is about.
type occurrence struct{ pattern, resource string }

// expectedNotifications runs the default catalogue's engine over the
// generated log, as the server's pipeline does, and returns how many
// pattern detections each of the tenant's VMs has, with a subscription
// for each (pattern, VM) pair, plus one for a pattern that never happens.
// The detections are checked against the generator's ground truth. If all
// is not nil, every detection but anomalies is counted in it.
func expectedNotifications(t *testing.T, gen *loggen.Log, vms []string, all map[detectionKey]int) (map[occurrence]int, []tenantclient.Subscription) {
	data, err := os.ReadFile(catalogueFile)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := matcher.ParseCatalog(data)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := matcher.NewEngine(cat, matcher.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var p matcher.Parser
	want := map[occurrence]int{}
	for i, ln := range gen.Lines {
		r, _ := p.ParseOrRaw([]byte(ln.Text))
		r.Seq = uint64(i + 1)
		r.Time = ln.Time // the server's pipeline uses the stored time: the sender's
		for _, d := range eng.Process(&r) {
			if d.Kind != matcher.KindAnomaly && all != nil {
				all[detectionKey{string(d.Kind), d.ID, d.Resource, d.Start.UnixNano()}]++
			}
			if d.Kind == matcher.KindPattern && slices.Contains(vms, d.Resource) {
				want[occurrence{d.ID, d.Resource}]++
			}
		}
	}
	truth := map[occurrence]int{}
	for _, tr := range gen.Truth {
		if tr.Kind == "pattern" && slices.Contains(vms, tr.Resource) {
			truth[occurrence{tr.ID, tr.Resource}]++
		}
	}
	for k, n := range want {
		if truth[k] < n {
			t.Fatalf("the engine finds %d %v, the generator made %d", n, k, truth[k])
		}
	}
	if len(want) < 3 {
		t.Fatalf("only %d expected (pattern, VM) pairs: %v", len(want), want)
	}
	var subs []tenantclient.Subscription
	for k := range want {
		subs = append(subs, tenantclient.Subscription{Pattern: k.pattern, Resource: k.resource})
	}
	subs = append(subs, tenantclient.Subscription{Pattern: "vm.migrate", Resource: "00000000-0000-0000-0000-000000000000"})
	slices.SortFunc(subs, func(a, b tenantclient.Subscription) int {
		return cmp.Or(cmp.Compare(a.Pattern, b.Pattern), cmp.Compare(a.Resource, b.Resource))
	})
	return want, subs
}

// notes counts the tenant's notifications against the expected ones.
type notes struct {
	want map[occurrence]int

	mu   sync.Mutex
	got  map[occurrence]int
	seen map[string]bool // subscription/period/epoch/counter
}

func newNotes(want map[occurrence]int) *notes {
	return &notes{want: want, got: map[occurrence]int{}, seen: map[string]bool{}}
}

// poll takes what the board has (waiting up to wait; the SDK verifies the
// chain first) and reports duplicates and notifications beyond the
// expected ones.
func (n *notes) poll(ctx context.Context, c *tenantclient.Client, wait time.Duration) error {
	ns, err := c.Poll(ctx, wait)
	errs := []error{err}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, x := range ns {
		id := fmt.Sprintf("%s/%d/%d/%d", x.Subscription, x.Period, x.Epoch, x.Counter)
		if n.seen[id] {
			errs = append(errs, fmt.Errorf("notification %s delivered twice", id))
		}
		n.seen[id] = true
		k := occurrence{x.Pattern, x.Resource}
		n.got[k]++
		if n.got[k] > n.want[k] {
			errs = append(errs, fmt.Errorf("%d notifications of %v, the log has %d", n.got[k], k, n.want[k]))
		}
	}
	return errors.Join(errs...)
}

// follow long-polls until ctx ends, as a tenant does all along, and
// reports verification failures: a batch served before a kill and
// rewritten after it is a broken chain. Transport errors (the kill) are
// expected.
func (n *notes) follow(ctx context.Context, t *testing.T, c *tenantclient.Client) {
	for ctx.Err() == nil {
		err := n.poll(ctx, c, 2*time.Second)
		if err == nil {
			continue
		}
		switch {
		case ctx.Err() != nil:
		case verification(err):
			t.Errorf("tenant poll during the run: %v", err)
		default:
			sleep(ctx, 100*time.Millisecond) // the server is down
		}
	}
}

// verification reports whether err is one of the SDK's verification
// failures (or a duplicate found by poll), as opposed to the server being
// unreachable.
func verification(err error) bool {
	return errors.Is(err, tenantclient.ErrTampered) || errors.Is(err, tenantclient.ErrWithheld) ||
		errors.Is(err, tenantclient.ErrReplayed) || errors.Is(err, tenantclient.ErrReordered) ||
		strings.Contains(err.Error(), "delivered twice") || strings.Contains(err.Error(), "the log has")
}

func (n *notes) complete() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for k, w := range n.want {
		if n.got[k] != w {
			return false
		}
	}
	return true
}

func (n *notes) total() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return sum(n.got)
}

func sum(m map[occurrence]int) int {
	s := 0
	for _, v := range m {
		s += v
	}
	return s
}
