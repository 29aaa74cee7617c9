package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/hisoka-project/hisoka/server"
	"github.com/hisoka-project/hisoka/spec"
)

// runAdmin is "hisoka admin": operator commands. "token" works locally
// with the issuer key; the others call the API with an operator token
// (--token or HISOKA_TOKEN, else one minted locally from --data).
func runAdmin(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(e.stderr, adminUsage)
		return fmt.Errorf("%w: admin needs a subcommand", errUsage)
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "token":
		return adminToken(e, args)
	case "source-config":
		return adminSourceConfig(ctx, e, args)
	}
	fs := flag.NewFlagSet("hisoka admin "+sub, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	a := &adminClient{e: e}
	fs.StringVar(&a.url, "server", envOr(e, "HISOKA_SERVER", "http://127.0.0.1:8080"), "API base URL (env HISOKA_SERVER)")
	fs.StringVar(&a.token, "token", e.getenv("HISOKA_TOKEN"), "operator token (env HISOKA_TOKEN); empty: mint one from --data")
	fs.StringVar(&a.data, "data", envOr(e, "HISOKA_DATA", "./hisoka-data"), "data directory holding the issuer key (env HISOKA_DATA)")
	var (
		id, key, project, kind, tenant, addrs, host, site, file, retention, from, to string
		version, quota                                                               uint64
	)
	switch sub {
	case "tenants", "tenant-add":
		fs.StringVar(&id, "id", "", "tenant id")
		fs.StringVar(&key, "key", "", "tenant Ed25519 public key, base64")
		fs.StringVar(&project, "project", "", "the tenant's OpenStack project id")
		fs.StringVar(&retention, "retention", "", "log retention, e.g. 2160h, or 0s to keep forever (unset: forever for a new tenant, unchanged on update)")
		fs.Uint64Var(&quota, "quota", 0, "storage quota in bytes (0: none)")
	case "resources", "resource-add":
		fs.StringVar(&id, "id", "", "resource id (instance uuid, volume id, host name)")
		fs.StringVar(&kind, "kind", "vm", "vm, volume or host")
		fs.StringVar(&tenant, "tenant", "", "owning tenant (platform for platform hosts)")
		fs.StringVar(&addrs, "addr", "", "comma-separated source addresses")
		fs.StringVar(&host, "host", "", "compute host")
		fs.StringVar(&site, "site", "", "site")
		fs.StringVar(&project, "project", "", "OpenStack project id")
	case "catalogue-upload":
		fs.StringVar(&file, "file", "", "catalogue file (YAML or JSON)")
	case "catalogue-publish":
		fs.Uint64Var(&version, "version", 0, "version to publish")
	case "catalogue-learn":
		fs.StringVar(&from, "from", "", "start of the range of stored platform logs (RFC 3339)")
		fs.StringVar(&to, "to", "", "end of the range (RFC 3339)")
	case "report":
		fs.StringVar(&tenant, "tenant", "", "tenant id")
		fs.StringVar(&from, "from", "", "start (RFC 3339; default 24 hours before -to)")
		fs.StringVar(&to, "to", "", "end (RFC 3339; default now)")
	case "catalogues", "rotate", "sources":
	default:
		fmt.Fprintln(e.stderr, adminUsage)
		return fmt.Errorf("%w: unknown admin subcommand %q", errUsage, sub)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	switch sub {
	case "tenants":
		return a.call(ctx, http.MethodGet, "/v1/admin/tenants", "", nil)
	case "tenant-add":
		pub, err := base64.StdEncoding.DecodeString(key)
		if err != nil || id == "" {
			return fmt.Errorf("%w: tenant-add needs -id and -key (base64)", errUsage)
		}
		t := spec.Tenant{ID: id, PublicKey: pub, Retention: retention}
		if flagSet(fs, "quota") {
			t.Quota = &quota
		}
		if project != "" {
			t.Settings = map[string]string{"project": project}
		}
		return a.callJSON(ctx, http.MethodPost, "/v1/admin/tenants", t)
	case "resources":
		return a.call(ctx, http.MethodGet, "/v1/admin/resources", "", nil)
	case "resource-add":
		if id == "" || tenant == "" {
			return fmt.Errorf("%w: resource-add needs -id and -tenant", errUsage)
		}
		r := spec.Resource{ID: id, Kind: kind, Tenant: tenant, Host: host, Site: site, Project: project}
		if addrs != "" {
			r.Addresses = strings.Split(addrs, ",")
		}
		return a.callJSON(ctx, http.MethodPost, "/v1/admin/resources", r)
	case "catalogues":
		return a.call(ctx, http.MethodGet, "/v1/admin/catalogues", "", nil)
	case "catalogue-upload":
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		return a.call(ctx, http.MethodPost, "/v1/admin/catalogues", "application/yaml", data)
	case "catalogue-publish":
		if version == 0 {
			return fmt.Errorf("%w: catalogue-publish needs -version", errUsage)
		}
		return a.call(ctx, http.MethodPost, fmt.Sprintf("/v1/admin/catalogues/%d/publish", version), "", nil)
	case "catalogue-learn":
		q := url.Values{}
		if from != "" {
			q.Set("from", from)
		}
		if to != "" {
			q.Set("to", to)
		}
		return a.call(ctx, http.MethodPost, "/v1/admin/catalogues/learn?"+q.Encode(), "", nil)
	case "report":
		if tenant == "" {
			return fmt.Errorf("%w: report needs -tenant", errUsage)
		}
		q := url.Values{}
		if from != "" {
			q.Set("from", from)
		}
		if to != "" {
			q.Set("to", to)
		}
		return a.call(ctx, http.MethodGet, "/v1/admin/tenants/"+url.PathEscape(tenant)+"/report?"+q.Encode(), "", nil)
	case "sources":
		return a.call(ctx, http.MethodGet, "/v1/admin/sources", "", nil)
	default: // rotate
		return a.call(ctx, http.MethodPost, "/v1/admin/keys/rotate", "", nil)
	}
}

const adminUsage = `usage: hisoka admin SUBCOMMAND [FLAGS]

  token --role operator|ingest [--tenant ID] [--ttl D]   mint a token locally
  tenants | tenant-add -id ID -key B64 [-project P]      tenants
  resources | resource-add -id ID -tenant T [-addr A,B]  resources
  catalogues | catalogue-upload -file F | catalogue-publish -version N
  catalogue-learn [-from T] [-to T]                      propose a catalogue from stored platform logs
  report -tenant T [-from T] [-to T]                     a tenant's summary
  sources                                                source health, silent sources
  rotate                                                 key rotation
  source-config --tenant T --resource R --syslog-host H [--os debian|ubuntu|rhel]
                [--cloud-init] [--addr A (register the VM first)]  rsyslog snippet for a VM`

func envOr(e *env, k, def string) string {
	if v := e.getenv(k); v != "" {
		return v
	}
	return def
}

// adminToken is "hisoka admin token".
func adminToken(e *env, args []string) error {
	fs := flag.NewFlagSet("hisoka admin token", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	role := fs.String("role", "", "operator or ingest")
	tenant := fs.String("tenant", "", "ingest only: the tenant the lines belong to (empty: platform logs)")
	ttl := fs.Duration("ttl", 24*time.Hour, "lifetime")
	data := fs.String("data", envOr(e, "HISOKA_DATA", "./hisoka-data"), "data directory holding the issuer key (env HISOKA_DATA)")
	issuer := fs.String("auth-issuer", envOr(e, "HISOKA_AUTH_ISSUER", "hisoka"), "iss (as the server's auth.issuer)")
	audience := fs.String("auth-audience", envOr(e, "HISOKA_AUTH_AUDIENCE", "hisoka"), "aud (as the server's auth.audience)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 || (*role != "operator" && *role != "ingest") || (*role == "operator" && *tenant != "") || *ttl <= 0 {
		return fmt.Errorf("%w: admin token --role operator|ingest [--tenant ID (ingest only)] [--ttl D > 0]", errUsage)
	}
	cfg := server.DefaultConfig()
	cfg.DataDir, cfg.Auth.Issuer, cfg.Auth.Audience = *data, *issuer, *audience
	tok, err := server.MintToken(cfg, server.TokenOptions{Role: *role, Tenant: *tenant, TTL: *ttl}, rand.Reader)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(e.stdout, tok)
	return err
}

type adminClient struct {
	e                *env
	url, token, data string
}

func (a *adminClient) callJSON(ctx context.Context, method, path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return a.call(ctx, method, path, "application/json", b)
}

// call sends one request and prints the response body; an error status is
// an error carrying the server's fixed message.
func (a *adminClient) call(ctx context.Context, method, path, ctype string, body []byte) error {
	tok := a.token
	if tok == "" {
		cfg := server.DefaultConfig()
		cfg.DataDir = a.data
		var err error
		if tok, err = server.MintToken(cfg, server.TokenOptions{Role: "operator", TTL: 5 * time.Minute}, rand.Reader); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(a.url, "/")+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var eb struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(out, &eb)
		return fmt.Errorf("server answered %d: %s", resp.StatusCode, eb.Error)
	}
	if len(out) > 0 {
		if _, err := a.e.stdout.Write(out); err != nil {
			return err
		}
		if out[len(out)-1] != '\n' {
			fmt.Fprintln(a.e.stdout)
		}
	}
	return nil
}

// flagSet reports whether the flag name was given on the command line, so
// that an update sends only what the operator set.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
