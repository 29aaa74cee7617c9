package embedded_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"time"

	"github.com/hisoka-project/hisoka/store"
	"github.com/hisoka-project/hisoka/store/embedded"
)

// The server's path: append (durable on return), query, prove; the
// tenant's: verify offline with the published checkpoint key.
func Example() {
	dir, _ := os.MkdirTemp("", "hisoka-example-")
	defer os.RemoveAll(dir)
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32))
	s, err := embedded.Open(dir, embedded.Options{Signer: key})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	ctx := context.Background()

	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	first, last, err := s.Append(ctx, "tenant-a", []store.Record{
		{Time: at, Host: "vm-1", App: "sshd", Severity: 4, Line: "Failed password for root from 203.0.113.9"},
		{Time: at.Add(time.Second), Host: "vm-1", App: "sshd", Severity: 6, Line: "Accepted publickey for alice"},
	})
	fmt.Println("appended", first, last, err)

	page, _ := s.Query(ctx, "tenant-a", store.Query{From: at, To: at.Add(time.Hour), Terms: []string{"failed"}})
	fmt.Println("found", len(page.Records), page.Records[0].Seq)

	proof, _ := s.Prove(ctx, "tenant-a", first, last)
	recs, _ := s.ReadAfter(ctx, "tenant-a", 0, 10)
	fmt.Println("verify:", store.VerifyRecords(key.Public().(ed25519.PublicKey), &proof, recs))
	recs[1].Line = "nothing to see"
	fmt.Println("verify altered:", store.VerifyRecords(key.Public().(ed25519.PublicKey), &proof, recs))
	// Output:
	// appended 1 2 <nil>
	// found 1 1
	// verify: <nil>
	// verify altered: ledger: record altered: chain does not reach the checkpoint head
}
