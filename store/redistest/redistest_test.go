package redistest

import (
	"strings"
	"testing"
)

func TestServer(t *testing.T) {
	u := Server(t)
	if !strings.HasPrefix(u, "redis://") {
		t.Fatalf("URL %q", u)
	}
	addr := strings.TrimSuffix(strings.TrimPrefix(u, "redis://"), "/0")
	if r, err := Do(addr, "SET", "k", "v"); err != nil || r != "OK" {
		t.Fatal(r, err)
	}
	if r, err := Do(addr, "GET", "k"); err != nil || r != "v" {
		t.Fatal(r, err)
	}
}

func TestCluster(t *testing.T) {
	addrs := Cluster(t)
	if len(addrs) < 3 {
		t.Fatalf("%d masters", len(addrs))
	}
	info, err := Do(addrs[0], "CLUSTER", "INFO")
	if err != nil || !strings.Contains(info, "cluster_state:ok") {
		t.Fatal(info, err)
	}
}

func TestRestartKeepsAOF(t *testing.T) {
	p := Start(t, Config{AppendOnly: true, AppendFsync: "always"})
	if _, err := Do(p.Addr(), "SET", "k", "v"); err != nil {
		t.Fatal(err)
	}
	p.Restart()
	if r, err := Do(p.Addr(), "GET", "k"); err != nil || r != "v" {
		t.Fatalf("after restart: %q %v", r, err)
	}
}
