package embedded

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/store"
	"github.com/hisoka-project/hisoka/store/backup"
	"github.com/hisoka-project/hisoka/store/storetest"
)

const childEnv = "HISOKA_STORE_DURABILITY_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		if err := durabilityChild(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	code := m.Run()
	closeQueryDBs()
	os.Exit(code)
}

// durabilityChild appends to dir until killed, printing "ack <last seq>"
// after every append returns. Record n carries the line "rec n".
func durabilityChild(dir string) error {
	s, err := Open(dir, Options{Signer: storetest.Key(), CheckpointEvery: 500})
	if err != nil {
		return err
	}
	ctx := context.Background()
	u, err := s.Usage(ctx, "dur")
	if err != nil {
		return err
	}
	next := u.Last + 1
	out := bufio.NewWriter(os.Stdout)
	for {
		n := 50 + rand.IntN(300)
		rs := make([]store.Record, n)
		for i := range rs {
			rs[i] = storetest.Rec(i, time.Now(), fmt.Sprintf("rec %d with some words to index and compress", next+uint64(i)))
		}
		_, last, err := s.Append(ctx, "dur", rs)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "ack %d\n", last)
		out.Flush()
		next = last + 1
	}
}

// TestDurabilityKill kills an appending child process with SIGKILL at random
// moments, 20 times; after each kill every acknowledged record is present
// exactly once, in order, and the ledger verifies.
func TestDurabilityKill(t *testing.T) {
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	pub := storetest.Key().Public().(ed25519.PublicKey)
	var acked uint64
	for round := 0; round < 20; round++ {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acks := make(chan uint64, 1024)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				if v, ok := strings.CutPrefix(sc.Text(), "ack "); ok {
					n, _ := strconv.ParseUint(v, 10, 64)
					acks <- n
				}
			}
			close(acks)
		}()
		// Wait for the first ack of this round, then kill after a random delay.
		select {
		case n, ok := <-acks:
			if !ok {
				cmd.Wait()
				t.Fatalf("round %d: child exited: %s", round, stderr.String())
			}
			acked = max(acked, n)
		case <-time.After(20 * time.Second):
			t.Fatalf("round %d: child made no progress", round)
		}
		time.Sleep(time.Duration(rand.IntN(150)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		for n := range acks {
			acked = max(acked, n)
		}
		cmd.Wait()

		s, err := Open(dir, Options{Signer: storetest.Key(), CheckpointEvery: 500})
		if err != nil {
			t.Fatalf("round %d: reopen: %v", round, err)
		}
		ctx := context.Background()
		u, _ := s.Usage(ctx, "dur")
		if u.Last < acked {
			t.Fatalf("round %d: acknowledged up to %d, store has %d", round, acked, u.Last)
		}
		want := uint64(1)
		err = s.Export(ctx, "dur", 1, 0, func(r store.Record) error {
			if r.Seq != want || !strings.HasPrefix(r.Line, fmt.Sprintf("rec %d ", want)) {
				return fmt.Errorf("seq %d holds %q, want record %d", r.Seq, r.Line, want)
			}
			want++
			return nil
		})
		if err != nil || want-1 != u.Last || u.Records != u.Last {
			t.Fatalf("round %d: %v (read %d of %+v)", round, err, want-1, u)
		}
		if err := backup.Verify(ctx, s, pub, []string{"dur"}); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		acked = u.Last
		s.Close()
	}
	t.Logf("%d records after 20 kills", acked)
}
