package server_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"gopkg.in/yaml.v3"

	"github.com/hisoka-project/hisoka/crypto"
	"github.com/hisoka-project/hisoka/server"
	"github.com/hisoka-project/hisoka/server/internal/auth"
	"github.com/hisoka-project/hisoka/spec"
)

// The isolation matrix (issue 7, item 4) is generated from
// spec/openapi.yaml: every path and method there, with its path parameters
// filled with the victim tenant and ids that exist, and a minimal valid
// body where the spec gives one, is called by every kind of caller below.
// A route added to the spec (TestOpenAPIAgreesWithRoutes keeps the spec
// equal to the registered routes) is covered without being named here; a
// route this file cannot fill (a new path parameter, a body it cannot
// make, a tag naming no known role) fails the test until it is taught.

// oaSchema is the part of an OpenAPI schema the matrix needs to make a
// minimal valid value.
type oaSchema struct {
	Ref        string               `yaml:"$ref"`
	Type       string               `yaml:"type"`
	Format     string               `yaml:"format"`
	Enum       []string             `yaml:"enum"`
	Example    any                  `yaml:"example"`
	Required   []string             `yaml:"required"`
	Properties map[string]*oaSchema `yaml:"properties"`
	Items      *oaSchema            `yaml:"items"`
	Minimum    *int                 `yaml:"minimum"`
}

type oaParam struct {
	Ref      string   `yaml:"$ref"`
	Name     string   `yaml:"name"`
	In       string   `yaml:"in"`
	Required bool     `yaml:"required"`
	Schema   oaSchema `yaml:"schema"`
}

type oaOp struct {
	OperationID string                `yaml:"operationId"`
	Tags        []string              `yaml:"tags"`
	Security    []map[string][]string `yaml:"security"`
	Parameters  []oaParam             `yaml:"parameters"`
	RequestBody *struct {
		Content map[string]struct {
			Schema oaSchema `yaml:"schema"`
		} `yaml:"content"`
	} `yaml:"requestBody"`
	Responses map[string]yaml.Node `yaml:"responses"`
}

type oaDoc struct {
	Paths      map[string]map[string]yaml.Node `yaml:"paths"`
	Components struct {
		Parameters map[string]oaParam   `yaml:"parameters"`
		Schemas    map[string]*oaSchema `yaml:"schemas"`
	} `yaml:"components"`
}

// matrixRoute is one operation of the spec, ready to call.
type matrixRoute struct {
	method, path string // path as in the spec, with {params}
	op           oaOp
	role         string // "public", "ingest", "tenant" or "operator" (the spec's tag)
	tenantScoped bool   // the path names the tenant ({tenant} on a tenant route)
	ok           int    // the lowest documented 2xx status
}

func (r matrixRoute) String() string { return r.method + " " + r.path }

func loadMatrixSpec(t *testing.T) (oaDoc, []matrixRoute) {
	t.Helper()
	raw, err := os.ReadFile("../spec/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc oaDoc
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	methods := map[string]bool{"get": true, "put": true, "post": true, "delete": true, "patch": true}
	var routes []matrixRoute
	for path, ops := range doc.Paths {
		for m, node := range ops {
			if !methods[m] {
				continue
			}
			var op oaOp
			if err := node.Decode(&op); err != nil {
				t.Fatalf("%s %s: %v", m, path, err)
			}
			r := matrixRoute{method: strings.ToUpper(m), path: path, op: op}
			for _, tag := range op.Tags {
				switch tag {
				case "public", "ingest", "tenant", "operator":
					r.role = tag
				}
			}
			switch {
			case r.role == "":
				t.Fatalf("%s: no tag naming its role (public, ingest, tenant, operator)", r)
			case (r.role == "public") != (len(op.Security) == 0):
				t.Fatalf("%s: tagged %s but security is %v", r, r.role, op.Security)
			}
			r.tenantScoped = r.role == "tenant" && strings.Contains(path, "{tenant}")
			for code := range op.Responses {
				if n, err := strconv.Atoi(code); err == nil && n >= 200 && n < 300 && (r.ok == 0 || n < r.ok) {
					r.ok = n
				}
			}
			if r.ok == 0 {
				t.Fatalf("%s: no documented 2xx response", r)
			}
			routes = append(routes, r)
		}
	}
	// Destructive routes last (deleting the victim ends its tests).
	sort.Slice(routes, func(i, j int) bool {
		di, dj := routes[i].method == http.MethodDelete, routes[j].method == http.MethodDelete
		if di != dj {
			return dj
		}
		if routes[i].path != routes[j].path {
			return routes[i].path < routes[j].path
		}
		return routes[i].method < routes[j].method
	})
	return doc, routes
}

// isoWorld is the server and the parties of the matrix.
type isoWorld struct {
	*live
	t        *testing.T
	doc      oaDoc
	victim   *tenant
	attacker *tenant
	marker   string // in the victim's logs only
	resource string // a resource of the victim
	issuer   ed25519.PrivateKey
	n        int
}

// resolveParam follows a $ref to components.parameters.
func (w *isoWorld) resolveParam(p oaParam) oaParam {
	if p.Ref == "" {
		return p
	}
	name := strings.TrimPrefix(p.Ref, "#/components/parameters/")
	q, ok := w.doc.Components.Parameters[name]
	if !ok {
		w.t.Fatalf("unresolved parameter %s", p.Ref)
	}
	return q
}

// paramValue is an existing value for a parameter the spec names.
func (w *isoWorld) paramValue(r matrixRoute, p oaParam) string {
	switch {
	case p.Name == "tenant":
		return w.victim.id
	case p.Name == "id" && strings.Contains(r.path, "/resources/"):
		return w.resource
	case p.Name == "version":
		return "1" // uploaded and published by the seed
	case len(p.Schema.Enum) > 0:
		return p.Schema.Enum[0]
	case p.Schema.Example != nil:
		return fmt.Sprint(p.Schema.Example)
	}
	w.t.Fatalf("%s: no value for parameter %q (%s): teach paramValue", r, p.Name, p.In)
	return ""
}

// target is the route's URL path and query with its parameters filled;
// over replaces the value of the named parameters. A query parameter "q"
// (a search) is always set to the victim's marker, so that a search that
// crosses tenants finds it.
func (w *isoWorld) target(r matrixRoute, over map[string]string) string {
	path := r.path
	q := url.Values{}
	for _, p := range r.op.Parameters {
		p = w.resolveParam(p)
		v, ok := over[p.Name]
		switch {
		case p.In == "path":
			if !ok {
				v = w.paramValue(r, p)
			}
			path = strings.ReplaceAll(path, "{"+p.Name+"}", url.PathEscape(v))
		case p.In == "query" && p.Name == "q":
			q.Set("q", w.marker)
		case p.In == "query" && (p.Required || ok):
			if !ok {
				v = w.paramValue(r, p)
			}
			q.Set(p.Name, v)
		}
	}
	if m := regexp.MustCompile(`\{[^}]*\}`).FindString(path); m != "" {
		w.t.Fatalf("%s: path parameter %s not declared", r, m)
	}
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return path
}

// schemaValue is a minimal valid value of a JSON schema: every required
// property (every property when none is required).
func (w *isoWorld) schemaValue(s *oaSchema, name string) any {
	if s.Ref != "" {
		ref, ok := w.doc.Components.Schemas[strings.TrimPrefix(s.Ref, "#/components/schemas/")]
		if !ok {
			w.t.Fatalf("unresolved schema %s", s.Ref)
		}
		s = ref
	}
	switch s.Type {
	case "object":
		out := map[string]any{}
		names := s.Required
		if len(names) == 0 {
			for n := range s.Properties {
				names = append(names, n)
			}
		}
		for _, n := range names {
			if p := s.Properties[n]; p != nil {
				out[n] = w.schemaValue(p, n)
			}
		}
		return out
	case "array":
		return []any{}
	case "integer", "number":
		if s.Minimum != nil {
			return *s.Minimum
		}
		return 0
	case "boolean":
		return false
	case "string":
		switch {
		case len(s.Enum) > 0:
			return s.Enum[0]
		case s.Format == "byte": // keys are the only byte strings sent
			pub, _, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				w.t.Fatal(err)
			}
			return base64.StdEncoding.EncodeToString(pub)
		case s.Format == "date-time":
			return time.Now().UTC().Format(time.RFC3339)
		case name == "id":
			w.n++
			return fmt.Sprintf("iso-new-%d", w.n)
		case name == "tenant":
			return w.victim.id
		case name == "retention":
			return "720h"
		case s.Example != nil:
			return fmt.Sprint(s.Example)
		}
		return "x"
	}
	w.t.Fatalf("schema type %q of %q: teach schemaValue", s.Type, name)
	return nil
}

// body is a minimal valid request body for the route, or none.
func (w *isoWorld) body(r matrixRoute) (string, []byte) {
	if r.op.RequestBody == nil {
		return "", nil
	}
	content := r.op.RequestBody.Content
	for _, ct := range []string{"text/plain", "application/yaml", "application/octet-stream", "application/json"} {
		media, ok := content[ct]
		if !ok {
			continue
		}
		switch ct {
		case "text/plain":
			return ct, []byte(fmt.Sprintf("<38>1 %s iso-host sshd 1 - - isolation matrix line\n", time.Now().UTC().Format(time.RFC3339)))
		case "application/yaml":
			cat, err := os.ReadFile("../testdata/catalog/default.yaml")
			if err != nil {
				w.t.Fatal(err)
			}
			return ct, cat
		case "application/octet-stream":
			return ct, w.blindRequest()
		case "application/json":
			v := w.schemaValue(&media.Schema, "")
			if m, ok := v.(map[string]any); ok && len(m) == 0 && strings.Contains(r.path, "/loki/") {
				// The Loki push JSON is not described in the spec: one stream, one line.
				v = map[string]any{"streams": []any{map[string]any{
					"stream": map[string]string{"job": "iso"},
					"values": [][]string{{strconv.FormatInt(time.Now().UnixNano(), 10), "isolation matrix line"}},
				}}}
			}
			b, err := json.Marshal(v)
			if err != nil {
				w.t.Fatal(err)
			}
			return ct, b
		}
	}
	w.t.Fatalf("%s: no body for content types %v: teach body", r, content)
	return "", nil
}

// blindRequest is a blind evaluation request for one descriptor under the
// current key (bound to whichever tenant sends it: the server binds info
// to the caller).
func (w *isoWorld) blindRequest() []byte {
	var raw []byte
	w.must(200, "GET", "/v1/keys", "", "", nil, &raw)
	dir, err := crypto.ParseDirectory(raw, w.victim.board)
	if err != nil {
		w.t.Fatal(err)
	}
	key, err := dir.KeyAt(time.Now())
	if err != nil {
		w.t.Fatal(err)
	}
	_, req, err := crypto.Blind(rand.Reader, key, w.victim.id, []crypto.Descriptor{{PatternID: "ssh.bruteforce", ResourceID: "*"}})
	if err != nil {
		w.t.Fatal(err)
	}
	return req
}

// forge signs claims of the legitimate caller's kind with a flaw.
func (w *isoWorld) forge(kind string, m jwt.SigningMethod, key any, mod func(jwt.MapClaims)) string {
	now := time.Now()
	c := jwt.MapClaims{"aud": w.cfg.Auth.Audience, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "jti": hex.EncodeToString([]byte(fmt.Sprint(now.UnixNano())))}
	switch kind {
	case "tenant":
		c["sub"] = w.victim.id
	default: // server tokens: operator or platform ingest
		c["iss"], c["role"], c["nbf"] = w.cfg.Auth.Issuer, kind, now.Unix()
	}
	if mod != nil {
		mod(c)
	}
	s, err := jwt.NewWithClaims(m, c).SignedString(key)
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

// caller is one column of the matrix.
type caller struct {
	name  string
	token func(r matrixRoute) string
	want  func(r matrixRoute) int // the expected status
	// over fills some parameters differently (another tenant's own path).
	over map[string]string
	// skip leaves out the routes where this caller is the legitimate one.
	skip  func(r matrixRoute) bool
	legit bool
}

func TestIsolationMatrix(t *testing.T) {
	l := startLiveWith(t, t.TempDir(), func(c *server.Config) {
		c.Limits.TenantRequestsPerSecond, c.Limits.TenantRequestBurst = 1e4, 1e4
	})
	doc, routes := loadMatrixSpec(t)
	issuer, err := auth.LoadOrCreateIssuerKey(l.cfg.DataDir, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var mk [12]byte
	if _, err := io.ReadFull(rand.Reader, mk[:]); err != nil {
		t.Fatal(err)
	}
	w := &isoWorld{live: l, t: t, doc: doc, issuer: issuer, marker: "isomarker" + hex.EncodeToString(mk[:]), resource: "vm-r1"}
	w.victim = l.register("victim-"+hex.EncodeToString(mk[:3]), "p-victim")
	w.attacker = l.register("attacker", "p-attacker")

	// Seed: a published catalogue (version 1), a resource of the victim,
	// platform logs, the victim's own logs carrying the marker, and a line
	// of the attacker's (so that its own reads have something to return).
	cat, err := os.ReadFile("../testdata/catalog/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l.must(201, "POST", "/v1/admin/catalogues", l.op, "application/yaml", cat, nil)
	l.must(204, "POST", "/v1/admin/catalogues/1/publish", l.op, "", nil, nil)
	l.must(201, "POST", "/v1/admin/resources", l.op, "application/json",
		l.json(map[string]any{"id": w.resource, "kind": "vm", "tenant": w.victim.id, "addresses": []string{"192.0.2.77"}}), nil)
	now := time.Now().UTC().Format(time.RFC3339)
	l.must(200, "POST", "/v1/ingest", l.mint("ingest", ""), "text/plain",
		[]byte(fmt.Sprintf("<38>1 %s ctl-1 nova-api 1 - - platform line for the matrix\n", now)), nil)
	l.must(200, "POST", "/v1/ingest", l.mint("ingest", w.victim.id), "text/plain",
		[]byte(fmt.Sprintf("<38>1 %s vm-victim sshd 7 - - secret %s of the victim\n", now, w.marker)), nil)
	l.must(200, "POST", "/v1/ingest", l.mint("ingest", w.attacker.id), "text/plain",
		[]byte(fmt.Sprintf("<38>1 %s vm-attacker sshd 8 - - the attacker's own line\n", now)), nil)
	// The marker is reachable by its owner, so its absence elsewhere means something.
	var own []byte
	l.must(200, "GET", "/v1/tenants/"+w.victim.id+"/logs?q="+w.marker, l.token(w.victim), "", nil, &own)
	if !bytes.Contains(own, []byte(w.marker)) {
		t.Fatalf("the victim cannot find its own marker: %s", own)
	}
	replayed := l.token(w.victim)
	l.must(200, "GET", "/v1/tenants/"+w.victim.id+"/retention", replayed, "", nil, nil)

	kind := func(r matrixRoute) string {
		switch r.role {
		case "operator":
			return "operator"
		case "ingest":
			return "ingest"
		}
		return "tenant"
	}
	keys := func(r matrixRoute) (ed25519.PrivateKey, []byte) {
		if kind(r) == "tenant" {
			return w.victim.key.PrivateKey(), []byte(w.victim.key.Public())
		}
		return w.issuer, []byte(w.issuer.Public().(ed25519.PublicKey))
	}
	unauth := func(r matrixRoute) int {
		if r.role == "public" {
			return r.ok
		}
		return http.StatusUnauthorized
	}
	callers := []caller{
		{name: "no token", token: func(matrixRoute) string { return "" }, want: unauth},
		{name: "expired", token: func(r matrixRoute) string {
			priv, _ := keys(r)
			return w.forge(kind(r), jwt.SigningMethodEdDSA, priv, func(c jwt.MapClaims) {
				past := time.Now().Add(-10 * time.Minute)
				c["iat"], c["exp"] = past.Unix(), past.Add(5*time.Minute).Unix()
				if _, ok := c["nbf"]; ok {
					c["nbf"] = past.Unix()
				}
			})
		}, want: unauth},
		{name: "alg none", token: func(r matrixRoute) string {
			return w.forge(kind(r), jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil)
		}, want: unauth},
		{name: "HS256 keyed with the public key", token: func(r matrixRoute) string {
			_, pub := keys(r)
			return w.forge(kind(r), jwt.SigningMethodHS256, pub, nil)
		}, want: unauth},
		{name: "wrong aud", token: func(r matrixRoute) string {
			priv, _ := keys(r)
			return w.forge(kind(r), jwt.SigningMethodEdDSA, priv, func(c jwt.MapClaims) { c["aud"] = "someone-else" })
		}, want: unauth},
		{name: "another tenant's valid token", token: func(matrixRoute) string { return l.token(w.attacker) }, want: func(r matrixRoute) int {
			switch {
			case r.role == "public" || (r.role == "tenant" && !r.tenantScoped):
				return r.ok // its own business: no victim data may appear
			}
			return http.StatusForbidden
		}},
		{name: "ingest-only token of the victim", token: func(matrixRoute) string { return l.mint("ingest", w.victim.id) }, want: func(r matrixRoute) int {
			if r.role == "public" || r.role == "ingest" {
				return r.ok
			}
			return http.StatusForbidden
		}},
		{name: "replayed jti", token: func(matrixRoute) string { return replayed }, want: unauth},
		{name: "another tenant on its own path", token: func(matrixRoute) string { return l.token(w.attacker) },
			over: map[string]string{"tenant": w.attacker.id}, want: func(r matrixRoute) int {
				if r.role == "public" || r.role == "tenant" {
					return r.ok // its own data: none of the victim's may appear
				}
				return http.StatusForbidden
			}},
		{name: "operator token", token: func(matrixRoute) string { return l.op },
			skip: func(r matrixRoute) bool { return r.role == "operator" }, want: func(r matrixRoute) int {
				if r.role == "public" {
					return r.ok
				}
				return http.StatusForbidden
			}},
		{name: "platform-ingest token", token: func(matrixRoute) string { return l.mint("ingest", "") },
			skip: func(r matrixRoute) bool { return r.role == "ingest" }, want: func(r matrixRoute) int {
				if r.role == "public" {
					return r.ok
				}
				return http.StatusForbidden
			}},
		{name: "legitimate caller", legit: true, token: func(r matrixRoute) string {
			switch r.role {
			case "operator":
				return l.op
			case "ingest":
				return l.mint("ingest", "")
			}
			return l.token(w.victim)
		}, want: func(r matrixRoute) int { return r.ok }},
	}

	legit := callers[len(callers)-1]
	byName := func(name string) caller {
		for _, c := range callers {
			if c.name == name {
				return c
			}
		}
		t.Fatalf("no caller %q", name)
		return caller{}
	}
	cells := 0
	check := func(r matrixRoute, c caller, over map[string]string, want func(int) bool, wantText string) {
		t.Helper()
		tok := c.token(r)
		ct, body := w.body(r)
		got, resp := isoCall(t, l.url, r.method, w.target(r, over), tok, ct, body)
		cells++
		if !want(got) {
			t.Errorf("%s as %s (params %v): status %d, want %s (body %.200q)", r, c.name, over, got, wantText, resp)
		}
		if c.legit && over == nil {
			return
		}
		if bytes.Contains(resp, []byte(w.marker)) {
			t.Errorf("%s as %s (params %v): the response carries the victim's logs", r, c.name, over)
		}
		if r.role != "public" && bytes.Contains(resp, []byte(w.victim.id)) {
			t.Errorf("%s as %s (params %v): the response names the victim: %.200q", r, c.name, over, resp)
		}
	}
	is := func(n int) func(int) bool { return func(got int) bool { return got == n } }

	// Probes first (the matrix ends by deleting the victim). The reserved
	// streams are nobody's: no tenant path may name them, whoever calls.
	// A path parameter outside its enum gives the legitimate caller
	// nothing of the victim's.
	reserved := map[string]bool{}
	for _, r := range routes {
		for _, p := range r.op.Parameters {
			if p = w.resolveParam(p); p.In == "path" {
				for _, v := range p.Schema.Enum {
					if spec.Reserved(v) {
						reserved[v] = true
					}
				}
			}
		}
	}
	if len(reserved) == 0 {
		t.Fatal("the spec names no reserved stream")
	}
	probes := 0
	// Nor can an operator register a tenant under a reserved name (whose
	// own tokens would then name the stream).
	for id := range reserved {
		pub, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		body := l.json(map[string]any{"id": id, "public_key": pub})
		if got := l.do("POST", "/v1/admin/tenants", l.op, "application/json", body, nil); got < 400 || got >= 500 {
			t.Errorf("registering the reserved tenant %q: status %d, want 4xx", id, got)
		}
		cells++
		probes++
	}
	for _, r := range routes {
		if r.tenantScoped {
			for id := range reserved {
				for _, c := range []caller{byName("another tenant's valid token"), byName("operator token"), legit} {
					check(r, c, map[string]string{"tenant": id}, is(http.StatusForbidden), "403")
					probes++
				}
			}
		}
		for _, p := range r.op.Parameters {
			if p = w.resolveParam(p); p.In == "path" && len(p.Schema.Enum) > 0 {
				check(r, legit, map[string]string{p.Name: w.victim.id}, func(got int) bool { return got >= 400 && got < 500 }, "4xx")
				probes++
			}
		}
	}

	// The blind evaluation is bound to the caller: the attacker, sending a
	// request blinded for the victim, gets nothing the victim's info
	// verifies (so it cannot hold the victim's notification tokens).
	{
		var raw []byte
		l.must(200, "GET", "/v1/keys", "", "", nil, &raw)
		dir, err := crypto.ParseDirectory(raw, w.victim.board)
		if err != nil {
			t.Fatal(err)
		}
		key, err := dir.KeyAt(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		reg, req, err := crypto.Blind(rand.Reader, key, w.victim.id, []crypto.Descriptor{{PatternID: "ssh.bruteforce", ResourceID: "*"}})
		if err != nil {
			t.Fatal(err)
		}
		var resp []byte
		l.must(200, "POST", "/v1/subscriptions/evaluate", l.token(w.attacker), "application/octet-stream", req, &resp)
		if toks, err := reg.Finalize(resp); err == nil {
			t.Errorf("the attacker's evaluation finalized as the victim's: %d tokens", len(toks))
		}
		cells++
		probes++
	}

	counts := map[string]int{}
	deleted := false
	signedBefore := l.token(w.victim) // signed while registered, first used after the removal
	for _, r := range routes {
		counts[r.role]++
		for _, c := range callers {
			if c.skip != nil && c.skip(r) {
				continue
			}
			want := c.want(r)
			check(r, c, c.over, is(want), strconv.Itoa(want))
		}
		deleted = deleted || (r.method == http.MethodDelete && r.path == "/v1/admin/tenants/{tenant}")
	}
	// The victim was removed (the last route): its key opens nothing now,
	// whether its token was signed before or after.
	if deleted {
		for _, tok := range []string{signedBefore, l.token(w.victim)} {
			if got, resp := isoCall(t, l.url, "GET", "/v1/tenants/"+w.victim.id+"/logs?q="+w.marker, tok, "", nil); got != http.StatusUnauthorized || bytes.Contains(resp, []byte(w.marker)) {
				t.Errorf("a deleted tenant's token: status %d, want 401 (body %.200q)", got, resp)
			}
			cells++
			probes++
		}
	} else {
		t.Error("the spec has no DELETE /v1/admin/tenants/{tenant}: the deleted-tenant check did not run")
	}
	if len(routes) == 0 || counts["tenant"] == 0 || counts["operator"] == 0 || counts["ingest"] == 0 || counts["public"] == 0 {
		t.Fatalf("the spec yielded routes %v", counts)
	}
	t.Logf("isolation matrix: %d routes %v, %d callers, %d checked requests (%d of them probes: reserved names, enum values, evaluation binding, removed tenant)", len(routes), counts, len(callers), cells, probes)
}

// isoCall sends one request and returns the status and the whole body.
func isoCall(t *testing.T, base, method, target, token, ctype string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, base+target, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, raw
}
