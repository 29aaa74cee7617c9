package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/internal/loggen"
	"github.com/hisoka-project/hisoka/server"
	"github.com/hisoka-project/hisoka/server/internal/alerts"
	"github.com/hisoka-project/hisoka/server/internal/config"
)

// TestAlertWebhook: a platform detection above the sink's severity reaches
// the operator's webhook, signed, with the owning tenant and no log lines.
func TestAlertWebhook(t *testing.T) {
	got := make(chan alerts.Alert, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if alerts.Sign([]byte("hook-secret"), r.Header.Get("X-Hisoka-Timestamp"), body) != r.Header.Get("X-Hisoka-Signature") {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var a alerts.Alert
		if err := json.Unmarshal(body, &a); err == nil {
			got <- a
		}
	}))
	defer hook.Close()
	l := startLiveWith(t, t.TempDir(), func(c *server.Config) {
		c.Alerts = []config.AlertSink{{Name: "tickets", URL: hook.URL, Secret: "hook-secret", MinSeverity: 2}}
	})
	gen := loggen.Generate(loggen.Config{Seed: 7, Projects: 1, VMs: 1, NoBackground: true, Duration: 5 * time.Minute})
	l.register("tenant-a", gen.Truth[0].Tenant)
	cat, err := os.ReadFile("../testdata/catalog/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l.must(201, "POST", "/v1/admin/catalogues", l.op, "application/yaml", cat, nil)
	l.must(204, "POST", "/v1/admin/catalogues/1/publish", l.op, "", nil, nil)
	var body strings.Builder
	for _, ln := range gen.Lines {
		body.WriteString(ln.Text + "\n")
	}
	l.must(200, "POST", "/v1/ingest", l.mint("ingest", ""), "text/plain", []byte(body.String()), nil)
	deadline := time.After(20 * time.Second)
	for {
		select {
		case a := <-got:
			if a.ID == "vm.create" {
				if a.Tenant != "tenant-a" || a.Stream != "platform" || a.DetectionID == "" {
					t.Fatalf("alert %+v", a)
				}
				return
			}
		case <-deadline:
			t.Fatal("no alert")
		}
	}
}
