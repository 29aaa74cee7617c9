package proc

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// cliTimeout bounds one command line (a "poll --follow" is bounded by its
// own --for).
const cliTimeout = 2 * time.Minute

// run runs bin with args and env, stdin from in (may be nil), and returns
// its stdout; a failure's error carries the command and its stderr.
func run(bin string, env []string, in io.Reader, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(cleanEnv(), env...)
	cmd.Stdin = in
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w: %s", filepath.Base(bin), strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// Admin runs "hisoka admin SUB ARGS..." against the server (--server, and
// --data so that an operator token is minted from its issuer key) and
// returns its stdout.
func (s *Server) Admin(sub string, args ...string) (string, error) {
	a := []string{"admin", sub, "--data", s.DataDir}
	if sub != "token" {
		a = append(a, "--server", s.URL)
	}
	return run(s.bins.Hisoka, nil, nil, append(a, args...)...)
}

// MustAdmin is [Server.Admin] failing the test on an error.
func (s *Server) MustAdmin(sub string, args ...string) string {
	s.t.Helper()
	out, err := s.Admin(sub, args...)
	if err != nil {
		s.t.Fatal(err)
	}
	return out
}

// Token mints a token with "hisoka admin token": role "operator" or
// "ingest"; tenant (ingest only) is the tenant whose lines it carries, ""
// for platform logs.
func (s *Server) Token(role, tenant string) string {
	s.t.Helper()
	args := []string{"--role", role}
	if tenant != "" {
		args = append(args, "--tenant", tenant)
	}
	return strings.TrimSpace(s.MustAdmin("token", args...))
}

// TenantCLI runs "hisoka-tenant" as one tenant, with its own state
// directory, against a [Server].
type TenantCLI struct {
	s     *Server
	ID    string // tenant id
	State string // HISOKA_STATE: the tenant's key, tokens and chain
}

// Tenant returns the command line of tenant id, with a fresh state
// directory (run "init" first).
func (s *Server) Tenant(id string) *TenantCLI {
	return &TenantCLI{s: s, ID: id, State: filepath.Join(s.t.TempDir(), "tenant-"+id)}
}

// Run runs "hisoka-tenant ARGS..." (HISOKA_URL, HISOKA_TENANT and
// HISOKA_STATE set) and returns its stdout.
func (c *TenantCLI) Run(args ...string) (string, error) {
	return c.RunInput(nil, args...)
}

// RunInput is [TenantCLI.Run] with stdin read from in.
func (c *TenantCLI) RunInput(in io.Reader, args ...string) (string, error) {
	env := []string{"HISOKA_URL=" + c.s.URL, "HISOKA_TENANT=" + c.ID, "HISOKA_STATE=" + c.State}
	return run(c.s.bins.Tenant, env, in, args...)
}

// Must is [TenantCLI.Run] failing the test on an error.
func (c *TenantCLI) Must(args ...string) string {
	c.s.t.Helper()
	out, err := c.Run(args...)
	if err != nil {
		c.s.t.Fatal(err)
	}
	return out
}
