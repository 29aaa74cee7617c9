package server

import (
	"crypto/rand"
	"log/slog"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"gopkg.in/yaml.v3"

	"github.com/hisoka-project/hisoka/server/internal/config"
)

// TestOpenAPIAgreesWithRoutes: every route the server registers is in
// spec/openapi.yaml with the same method, and every path and method there
// is registered.
func TestOpenAPIAgreesWithRoutes(t *testing.T) {
	raw, err := os.ReadFile("../spec/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                          `yaml:"openapi"`
		Paths   map[string]map[string]yaml.Node `yaml:"paths"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	methods := map[string]bool{"get": true, "put": true, "post": true, "delete": true, "patch": true, "head": true, "options": true}
	inSpec := map[string]bool{}
	for path, ops := range doc.Paths {
		for m := range ops {
			if methods[m] {
				inSpec[strings.ToUpper(m)+" "+path] = true
			}
		}
	}
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	s, err := Open(t.Context(), cfg, slog.New(slog.DiscardHandler), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	param := regexp.MustCompile(`:([A-Za-z0-9_]+)`)
	registered := map[string]bool{}
	for _, r := range s.echo.Routes() {
		if r.Method == echo.RouteNotFound { // groups' catch-alls, not API routes
			continue
		}
		if r.Path == "/ui" || strings.HasPrefix(r.Path, "/ui/") { // the operator console's HTML pages, not the JSON API
			continue
		}
		path := param.ReplaceAllString(r.Path, "{$1}")
		registered[r.Method+" "+path] = true
	}
	var missing, extra []string
	for r := range registered {
		if !inSpec[r] {
			missing = append(missing, r)
		}
	}
	for r := range inSpec {
		if !registered[r] {
			extra = append(extra, r)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("routes missing from spec/openapi.yaml: %v", missing)
	}
	if len(extra) > 0 {
		t.Errorf("spec/openapi.yaml paths the server does not register: %v", extra)
	}
}
