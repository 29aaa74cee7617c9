package tenantclient_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/hisoka-project/hisoka/tenantclient"
)

// exampleEnv runs an example's server and cleans up after it.
type exampleEnv struct{ cleanups []func() }

func (e *exampleEnv) Helper()                      {}
func (e *exampleEnv) Fatal(args ...any)            { log.Fatal(args...) }
func (e *exampleEnv) Fatalf(f string, args ...any) { log.Fatalf(f, args...) }
func (e *exampleEnv) Error(args ...any)            { log.Print(args...) }
func (e *exampleEnv) Cleanup(f func())             { e.cleanups = append(e.cleanups, f) }
func (e *exampleEnv) TempDir() string {
	d, err := os.MkdirTemp("", "hisoka-example-")
	if err != nil {
		log.Fatal(err)
	}
	e.Cleanup(func() { os.RemoveAll(d) })
	return d
}
func (e *exampleEnv) close() {
	for i := len(e.cleanups) - 1; i >= 0; i-- {
		e.cleanups[i]()
	}
}

// The whole tenant flow: a key made locally, registered by the operator, a
// blind subscription, and a verified, decrypted notification.
func Example() {
	env := &exampleEnv{}
	defer env.close()
	w := newWorld(env, 1, nil) // a real server; the operator's side
	ctx := context.Background()
	stateDir := env.TempDir()

	// 1. The tenant makes its key; the public key goes to the operator, who
	// answers with the board and ledger keys to pin.
	id, err := tenantclient.Init(stateDir, "acme", rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	reg := w.register("acme", id.Public(), w.creates[0].Tenant)
	w.resource0("acme")

	// 2. The client, with the keys pinned out of band.
	c, err := tenantclient.New(tenantclient.Config{
		URL: w.url, StateDir: stateDir,
		BoardKey: reg.BoardPublicKey, LedgerKey: reg.LedgerKey,
	})
	if err != nil {
		log.Fatal(err)
	}

	// 3. A blind subscription: the server never sees the pattern or the VM.
	vm := w.creates[0].Resource
	if _, err := c.Subscribe(ctx, tenantclient.Subscription{ID: "vm-created", Pattern: "vm.create", Resource: vm}); err != nil {
		log.Fatal(err)
	}

	// 4. The platform logs the VM's creation; the tenant's poll verifies
	// the board and opens the one entry that is its own.
	w.feed(time.Time{}, w.creates[0].End.Add(time.Second))
	for {
		ns, err := c.Poll(ctx, 5*time.Second)
		if err != nil {
			log.Fatal(err)
		}
		for _, n := range ns {
			fmt.Printf("%s: %s on the tenant's VM, severity %d, %d log events\n", n.Subscription, n.Pattern, n.Severity, n.Count)
		}
		if len(ns) > 0 {
			break // the example ends here; a tenant keeps polling whatever it got
		}
	}
	// Output:
	// vm-created: vm.create on the tenant's VM, severity 2, 17 log events
}

// Own logs: search them, and verify offline that the server returned the
// complete, unaltered range.
func ExampleClient_VerifyLogs() {
	env := &exampleEnv{}
	defer env.close()
	w := newWorld(env, 1, nil)
	ctx := context.Background()
	c := w.client(env, nil)
	w.ingest(w.tenant, []string{
		"<86>1 2026-11-22T04:00:00Z vm-a sshd 4242 - - Accepted publickey for alice from 192.0.2.7 port 5022 ssh2",
		"<86>1 2026-11-22T04:00:01Z vm-a sshd 4242 - - Failed password for root from 192.0.2.8 port 5023 ssh2",
	})

	page, err := c.Search(ctx, tenantclient.LogQuery{Terms: "root"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("found:", len(page.Records))

	proof, err := c.VerifyLogs(ctx, 0, 0) // fetch the range with its proof and check it
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("verified records %d..%d\n", proof.From, proof.To)

	proof.Records[0].Line = "Accepted publickey for mallory"
	fmt.Println("altered:", c.VerifyProof(proof) != nil)
	// Output:
	// found: 1
	// verified records 1..2
	// altered: true
}
