package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hisoka-project/hisoka/crypto"
	"github.com/hisoka-project/hisoka/spec"
	"github.com/hisoka-project/hisoka/tenantclient"
)

func b64(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

// runInit is "hisoka-tenant init": a new key in the state directory.
func runInit(_ context.Context, e *env, args []string) error {
	fs, c := newFlags(e, "init")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if c.tenant == "" {
		return fmt.Errorf("%w: init needs --tenant or HISOKA_TENANT", errUsage)
	}
	id, err := tenantclient.Init(c.state, c.tenant, rand.Reader)
	if err != nil {
		return err
	}
	pub := b64(id.Public())
	fmt.Fprintf(e.stdout, "tenant:     %s\npublic key: %s\nstate:      %s\n\n", c.tenant, pub, c.state)
	fmt.Fprintf(e.stdout, "Hand the public key to the operator:\n  hisoka admin tenant-add -id %s -key %s -project PROJECT\n", c.tenant, pub)
	fmt.Fprintln(e.stdout, "then pin the keys of the answer:\n  hisoka-tenant pin --registration ANSWER.json")
	return nil
}

// runPin is "hisoka-tenant pin": pin the board and ledger keys.
func runPin(_ context.Context, e *env, args []string) error {
	fs, c := newFlags(e, "pin")
	board := fs.String("board-key", "", "board public key, base64")
	ledger := fs.String("ledger-key", "", "ledger public key, base64")
	regFile := fs.String("registration", "", "the operator's registration answer (JSON, as hisoka admin tenant-add prints it)")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	var bk, lk ed25519.PublicKey
	if *regFile != "" {
		raw, err := os.ReadFile(*regFile)
		if err != nil {
			return err
		}
		var reg spec.TenantRegistered
		if err := json.Unmarshal(raw, &reg); err != nil {
			return fmt.Errorf("%w: %s is not a registration answer", errUsage, *regFile)
		}
		if c.tenant != "" && reg.Tenant.ID != "" && reg.Tenant.ID != c.tenant {
			return fmt.Errorf("%w: the registration is for another tenant", errUsage)
		}
		bk, lk = reg.BoardPublicKey, reg.LedgerKey
	}
	for _, k := range []struct {
		flag string
		dst  *ed25519.PublicKey
	}{{*board, &bk}, {*ledger, &lk}} {
		if k.flag == "" {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(k.flag)
		if err != nil || len(raw) != ed25519.PublicKeySize {
			return fmt.Errorf("%w: keys are 32 bytes in base64", errUsage)
		}
		*k.dst = raw
	}
	if bk == nil && lk == nil {
		return fmt.Errorf("%w: pin needs --registration or --board-key/--ledger-key", errUsage)
	}
	if (bk != nil && len(bk) != ed25519.PublicKeySize) || (lk != nil && len(lk) != ed25519.PublicKeySize) {
		return fmt.Errorf("%w: keys are 32 bytes", errUsage)
	}
	if c.url == "" {
		c.url = "http://pinning.invalid" // pinning talks to nobody
	}
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	if err := cl.Pin(bk, lk); err != nil {
		return err
	}
	b, l := cl.PinnedKeys()
	fmt.Fprintf(e.stdout, "board key:  %s\nledger key: %s\n", b64(b), b64(l))
	return nil
}

// runCatalog is "hisoka-tenant catalog".
func runCatalog(ctx context.Context, e *env, args []string) error {
	fs, c := newFlags(e, "catalog")
	asJSON := fs.Bool("json", false, "print the catalogue as JSON")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	cat, err := cl.Catalog(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(e.stdout).Encode(cat)
	}
	fmt.Fprintf(e.stdout, "catalogue version %d\n", cat.Version)
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tSEVERITY\tNAME")
	for _, x := range cat.Entries {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", x.ID, x.Kind, x.Severity, x.Name)
	}
	return tw.Flush()
}

// params collects repeated --param NAME=VALUE flags.
type params []crypto.Param

func (p *params) String() string { return "" }
func (p *params) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return errors.New("want NAME=VALUE")
	}
	*p = append(*p, crypto.Param{Name: name, Value: value})
	return nil
}

// runSubscribe is "hisoka-tenant subscribe".
func runSubscribe(ctx context.Context, e *env, args []string) error {
	fs, c := newFlags(e, "subscribe")
	pattern := fs.String("pattern", "", "catalogue pattern or rule id")
	resource := fs.String("resource", "", "resource id (instance uuid, volume id, * for tenant-wide rules)")
	id := fs.String("id", "", "local name of the subscription (default PATTERN@RESOURCE)")
	var ps params
	fs.Var(&ps, "param", "parameter NAME=VALUE (repeatable)")
	file := fs.String("file", "", `subscriptions, one per line: "PATTERN RESOURCE [NAME=VALUE ...]" ("-" reads stdin)`)
	if err := parse(fs, args, false); err != nil {
		return err
	}
	var subs []tenantclient.Subscription
	switch {
	case *file != "" && (*pattern != "" || *resource != ""):
		return fmt.Errorf("%w: --file or --pattern/--resource, not both", errUsage)
	case *file != "":
		var r io.Reader = e.stdin
		if *file != "-" {
			f, err := os.Open(*file)
			if err != nil {
				return err
			}
			defer f.Close()
			r = f
		}
		var err error
		if subs, err = parseSubscriptions(r); err != nil {
			return err
		}
	case *pattern != "" && *resource != "":
		subs = []tenantclient.Subscription{{ID: *id, Pattern: *pattern, Resource: *resource, Params: ps}}
	default:
		return fmt.Errorf("%w: subscribe needs --pattern and --resource, or --file", errUsage)
	}
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	out, err := cl.Subscribe(ctx, subs...)
	if err != nil {
		return err
	}
	for _, s := range out {
		fmt.Fprintf(e.stdout, "subscribed %s (key periods %s)\n", s.ID, periods(s.Periods))
	}
	return nil
}

func periods(ps []uint64) string {
	var s []string
	for _, p := range ps {
		s = append(s, strconv.FormatUint(p, 10))
	}
	return strings.Join(s, ",")
}

// maxSubscriptionLine bounds one line of a subscriptions file.
const maxSubscriptionLine = 64 << 10

// parseSubscriptions reads "PATTERN RESOURCE [NAME=VALUE ...]" lines;
// blank lines and lines starting with # are skipped.
func parseSubscriptions(r io.Reader) ([]tenantclient.Subscription, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxSubscriptionLine)
	var out []tenantclient.Subscription
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			return nil, fmt.Errorf("%w: subscriptions line %d: want PATTERN RESOURCE [NAME=VALUE ...]", errUsage, n)
		}
		s := tenantclient.Subscription{Pattern: f[0], Resource: f[1]}
		for _, kv := range f[2:] {
			var ps params
			if err := ps.Set(kv); err != nil {
				return nil, fmt.Errorf("%w: subscriptions line %d: parameter %d: %v", errUsage, n, len(s.Params)+1, err)
			}
			s.Params = append(s.Params, ps...)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: subscriptions line %d: %v", errUsage, n+1, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no subscriptions in the file", errUsage)
	}
	return out, nil
}

// runSubscriptions is "hisoka-tenant subscriptions".
func runSubscriptions(_ context.Context, e *env, args []string) error {
	fs, c := newFlags(e, "subscriptions")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPATTERN\tRESOURCE\tPARAMS\tPERIODS")
	for _, s := range cl.Subscriptions() {
		var ps []string
		for _, p := range s.Params {
			ps = append(ps, p.Name+"="+p.Value)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ID, s.Pattern, s.Resource, strings.Join(ps, ","), periods(s.Periods))
	}
	return tw.Flush()
}

// runUnsubscribe is "hisoka-tenant unsubscribe ID".
func runUnsubscribe(_ context.Context, e *env, args []string) error {
	fs, c := newFlags(e, "unsubscribe")
	if err := parse(fs, args, true); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: unsubscribe takes one subscription id", errUsage)
	}
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	ok, err := cl.Unsubscribe(fs.Arg(0))
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: no subscription %q", errUsage, fs.Arg(0))
	}
	fmt.Fprintf(e.stdout, "unsubscribed %s\n", fs.Arg(0))
	return nil
}

// runPoll is "hisoka-tenant poll": verified notifications as JSON lines.
func runPoll(ctx context.Context, e *env, args []string) error {
	fs, c := newFlags(e, "poll")
	follow := fs.Bool("follow", false, "keep long-polling; verification errors are reported and polling goes on")
	wait := fs.Duration("wait", 0, "how long one poll waits for a new batch (at most 60s; --follow defaults to 30s)")
	forDur := fs.Duration("for", 0, "with --follow, stop after this long (0: until interrupted)")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	// With --follow, the SDK's warnings (forged entries counted after a
	// poll) go to stderr; nothing else changes because of them.
	var log *slog.Logger
	if *follow {
		log = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	cl, err := c.clientLogging(e, log)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(e.stdout)
	// What is verified is also recorded in the state directory's journal,
	// for the dashboard (hisoka-tenant ui); a journal that cannot be written
	// is only warned about.
	j := journalAt(c.state)
	record := func(n *tenantclient.Notification, err error) {
		var jerr error
		if n != nil {
			jerr = j.addNotification(time.Now(), *n)
		} else {
			jerr = j.addFailure(time.Now(), err)
		}
		if jerr != nil {
			fmt.Fprintln(e.stderr, "hisoka-tenant: warning: journal:", jerr)
		}
	}
	if !*follow {
		// The exit status depends only on transport and verification
		// errors, never on what matched or failed to open (forged entries
		// are only reported on stderr).
		before := cl.Unopened()
		ns, err := cl.Poll(ctx, *wait)
		for _, n := range ns {
			if werr := enc.Encode(n); werr != nil {
				return werr
			}
			record(&n, nil)
		}
		if err != nil {
			record(nil, err)
		}
		if n := cl.Unopened(); n > before {
			fmt.Fprintf(e.stderr, "hisoka-tenant: warning: %d board entries with this tenant's tags did not open (forged entries; %d in all)\n", n-before, n)
		}
		return err
	}
	if *wait == 0 {
		*wait = 30 * time.Second
	}
	// When following stops never depends on what was received (there is
	// deliberately no "stop after N notifications"): the server would see
	// the tenant stop polling right after a batch it recognised something
	// in.
	if *forDur > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *forDur)
		defer cancel()
	}
	for n, err := range cl.Notifications(ctx, *wait) {
		if err != nil {
			fmt.Fprintln(e.stderr, "hisoka-tenant:", err)
			record(nil, err)
			continue
		}
		if err := enc.Encode(n); err != nil {
			return err
		}
		record(&n, nil)
	}
	return nil
}

// runLogs is "hisoka-tenant logs search|export|verify".
func runLogs(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: logs needs search, export or verify", errUsage)
	}
	sub, args := args[0], args[1:]
	fs, c := newFlags(e, "logs "+sub)
	switch sub {
	case "search":
		q := fs.String("q", "", "words that must all occur")
		from := fs.String("from", "", "earliest time, RFC 3339")
		to := fs.String("to", "", "latest time, RFC 3339")
		limit := fs.Int("limit", 0, "most records (server default when 0)")
		cursor := fs.String("cursor", "", "cursor of the next page (printed on stderr)")
		desc := fs.Bool("desc", false, "newest first")
		fields := map[string]string{}
		fs.Func("field", "structured field NAME=VALUE (repeatable)", func(v string) error {
			k, x, ok := strings.Cut(v, "=")
			if !ok || k == "" {
				return errors.New("want NAME=VALUE")
			}
			fields[k] = x
			return nil
		})
		if err := parse(fs, args, false); err != nil {
			return err
		}
		lq := tenantclient.LogQuery{Terms: *q, Fields: fields, Limit: *limit, Cursor: *cursor, Desc: *desc}
		var err error
		if lq.From, err = timeFlag("from", *from); err != nil {
			return err
		}
		if lq.To, err = timeFlag("to", *to); err != nil {
			return err
		}
		cl, err := c.client(e)
		if err != nil {
			return err
		}
		page, err := cl.Search(ctx, lq)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(e.stdout)
		for _, r := range page.Records {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		if page.Next != "" {
			fmt.Fprintf(e.stderr, "more: --cursor %s\n", page.Next)
		}
		return nil
	case "export":
		from := fs.Uint64("from-seq", 0, "first record (0: the first)")
		to := fs.Uint64("to-seq", 0, "last record (0: the last)")
		out := fs.String("out", "", "write to this file instead of stdout")
		if err := parse(fs, args, false); err != nil {
			return err
		}
		cl, err := c.client(e)
		if err != nil {
			return err
		}
		w := e.stdout
		var f *os.File
		if *out != "" {
			if f, err = os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
				return err
			}
			w = f
		}
		_, err = cl.Export(ctx, w, *from, *to)
		if f != nil {
			err = errors.Join(err, f.Close())
		}
		return err
	case "verify":
		from := fs.Uint64("from-seq", 0, "first record (0: the first)")
		to := fs.Uint64("to-seq", 0, "last record (0: the last)")
		save := fs.String("save", "", "keep the records and proof in this file (JSON) for later offline checks; one proof covers at most 10,000 records (the rest: --from-seq)")
		proofFile := fs.String("proof", "", "check a saved proof offline instead of fetching one")
		if err := parse(fs, args, false); err != nil {
			return err
		}
		if *proofFile != "" && c.url == "" {
			c.url = "http://offline.invalid" // an offline check talks to nobody
		}
		cl, err := c.client(e)
		if err != nil {
			return err
		}
		var p *spec.Proof
		if *proofFile != "" {
			raw, err := os.ReadFile(*proofFile)
			if err != nil {
				return err
			}
			p = &spec.Proof{}
			if err := json.Unmarshal(raw, p); err != nil {
				return fmt.Errorf("%w: %s is not a saved proof", tenantclient.ErrLogProof, *proofFile)
			}
			if err := cl.VerifyProof(p); err != nil {
				recordFailure(e, c.state, err)
				return err
			}
		} else if p, err = cl.VerifyLogs(ctx, *from, *to); err != nil {
			recordFailure(e, c.state, err)
			return err
		}
		// One proof covers at most a page of records; with no --to-seq (and
		// no --save, which keeps one proof) the rest is verified page after
		// page, each continuing the checkpoints of the one before, until
		// the server has nothing after it.
		first, n := p.From, len(p.Records)
		for *to == 0 && *save == "" && *proofFile == "" {
			next, err := cl.VerifyLogs(ctx, p.To+1, 0)
			if errors.Is(err, tenantclient.ErrNotFound) {
				break
			}
			if err != nil {
				recordFailure(e, c.state, err)
				return err
			}
			p, n = next, n+len(next.Records)
		}
		if *save != "" {
			raw, err := json.Marshal(p)
			if err != nil {
				return err
			}
			if err := os.WriteFile(*save, raw, 0o600); err != nil {
				return err
			}
		}
		fmt.Fprintf(e.stdout, "verified: records %d..%d (%d) are complete and unaltered, signed by ledger key %s\n", first, p.To, n, b64(p.LedgerKey))
		return nil
	}
	return fmt.Errorf("%w: logs %q: want search, export or verify", errUsage, sub)
}

// runReport is "hisoka-tenant report".
func runReport(ctx context.Context, e *env, args []string) error {
	fs, c := newFlags(e, "report")
	from := fs.String("from", "", "start, RFC 3339 (default: 24 hours before --to)")
	to := fs.String("to", "", "end, RFC 3339 (default: now)")
	scheduled := fs.Bool("scheduled", false, "the last daily report instead of one computed now")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	f, err := timeFlag("from", *from)
	if err != nil {
		return err
	}
	t, err := timeFlag("to", *to)
	if err != nil {
		return err
	}
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	rep, err := cl.Report(ctx, f, t, *scheduled)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// runAccess is "hisoka-tenant access-report".
func runAccess(ctx context.Context, e *env, args []string) error {
	fs, c := newFlags(e, "access-report")
	from := fs.String("from", "", "earliest time, RFC 3339")
	to := fs.String("to", "", "latest time, RFC 3339")
	limit := fs.Int("limit", 0, "most accesses (0: the server's maximum)")
	if err := parse(fs, args, false); err != nil {
		return err
	}
	f, err := timeFlag("from", *from)
	if err != nil {
		return err
	}
	t, err := timeFlag("to", *to)
	if err != nil {
		return err
	}
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	rep, err := cl.AccessReport(ctx, f, t, *limit)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(e.stdout)
	for _, a := range rep.Accesses {
		if err := enc.Encode(a); err != nil {
			return err
		}
	}
	return nil
}

// runRetention is "hisoka-tenant retention [--set D]".
func runRetention(ctx context.Context, e *env, args []string) error {
	fs, c := newFlags(e, "retention")
	set := fs.String("set", "", `new retention, e.g. 2160h ("0" keeps forever)`)
	if err := parse(fs, args, false); err != nil {
		return err
	}
	cl, err := c.client(e)
	if err != nil {
		return err
	}
	var d time.Duration
	if *set != "" {
		nd, perr := time.ParseDuration(*set)
		if perr != nil || nd < 0 {
			return fmt.Errorf("%w: --set wants a duration such as 720h", errUsage)
		}
		d, err = cl.SetRetention(ctx, nd)
	} else {
		d, err = cl.Retention(ctx)
	}
	if err != nil {
		return err
	}
	if d == 0 {
		fmt.Fprintln(e.stdout, "retention: forever")
		return nil
	}
	fmt.Fprintf(e.stdout, "retention: %s\n", d)
	return nil
}

// recordFailure keeps a verification failure (a forked log, a proof that
// does not verify) in the state directory's journal, where the dashboard
// shows it; other errors are not kept.
func recordFailure(e *env, state string, err error) {
	if jerr := journalAt(state).addFailure(time.Now(), err); jerr != nil {
		fmt.Fprintln(e.stderr, "hisoka-tenant: warning: journal:", jerr)
	}
}
