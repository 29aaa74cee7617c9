package server

import (
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/store"
)

// openService opens the whole service on an embedded store in a temporary
// directory, without listening; its log goes to the returned buffer.
func openService(t *testing.T, tune func(*Config)) (*Server, *syncBuffer) {
	t.Helper()
	cfg := testConfig(t)
	if tune != nil {
		tune(&cfg)
	}
	logs := &syncBuffer{}
	s, err := Open(t.Context(), cfg, slog.New(slog.NewJSONHandler(logs, nil)), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, logs
}

// putTenant registers a tenant directly in the store (no first batch).
func putTenant(t *testing.T, s *Server, id string) {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.svc.st.PutTenant(t.Context(), store.Tenant{ID: id, PublicKey: pub, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

// TestHeartbeatGoesOnAfterAFailingTenant: a tenant whose board cannot be
// extended (its last batch does not open) is logged, and the tenants after
// it still get their epoch batch.
func TestHeartbeatGoesOnAfterAFailingTenant(t *testing.T) {
	s, logs := openService(t, nil)
	ctx := t.Context()
	for _, id := range []string{"tenant-1", "tenant-2", "tenant-3"} {
		putTenant(t, s, id)
	}
	// Break the tenant the loop meets first.
	ts, err := s.svc.st.ListTenants(ctx)
	if err != nil || len(ts) != 3 {
		t.Fatal(ts, err)
	}
	broken := ts[0].ID
	if err := s.svc.st.AppendBoard(ctx, broken, store.BoardBatch{Seq: 1, Data: []byte("not a sealed batch")}); err != nil {
		t.Fatal(err)
	}
	if err := s.svc.boards.heartbeat(ctx, time.Now()); err == nil {
		t.Fatal("heartbeat hid the failure")
	}
	for _, tn := range ts[1:] {
		if _, err := s.svc.st.LastBoard(ctx, tn.ID); err != nil {
			t.Errorf("%s: no epoch batch: %v", tn.ID, err)
		}
	}
	if !strings.Contains(logs.String(), `"msg":"epoch batch failed","tenant":"`+broken+`"`) {
		t.Fatalf("failure not logged:\n%s", logs.String())
	}
}
