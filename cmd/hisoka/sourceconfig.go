package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"strings"
	"text/template"
	"time"

	"github.com/hisoka-project/hisoka/server"
	"github.com/hisoka-project/hisoka/spec"
)

// sourceOS is what differs between distributions.
type sourceOS struct {
	install string // package install command
	caFile  string // system CA bundle
}

var sourceOSes = map[string]sourceOS{
	"debian": {"apt-get install -y rsyslog rsyslog-gnutls", "/etc/ssl/certs/ca-certificates.crt"},
	"ubuntu": {"apt-get install -y rsyslog rsyslog-gnutls", "/etc/ssl/certs/ca-certificates.crt"},
	"rhel":   {"dnf install -y rsyslog rsyslog-gnutls", "/etc/pki/tls/certs/ca-bundle.crt"},
}

// sourceOpts describe one VM's log shipping.
type sourceOpts struct {
	Tenant, Resource, OS string
	Host                 string // Hisoka's syslog TLS host name (checked against its certificate)
	Port                 int
	Token                string // tenant-ingest token
	CloudInit            bool
	Install, CAFile      string
}

var rsyslogTmpl = template.Must(template.New("rsyslog").Parse(`# Hisoka: ship the security-relevant logs of resource {{.Resource}} (tenant {{.Tenant}})
# to {{.Host}}:{{.Port}} over syslog TLS (RFC 5425), octet-counted RFC 5424 frames
# carrying the tenant's ingest token (keep this file readable by root only).
# Needs: {{.Install}}
global(DefaultNetstreamDriverCAFile="{{.CAFile}}")
module(load="imfile")
input(type="imfile" File="/var/log/audit/audit.log" Tag="auditd" Facility="local6" Severity="info")
template(name="hisoka" type="list") {
  constant(value="<") property(name="pri") constant(value=">1 ")
  property(name="timereported" dateFormat="rfc3339") constant(value=" ")
  property(name="hostname") constant(value=" ")
  property(name="app-name") constant(value=" ")
  property(name="procid") constant(value=" ")
  property(name="msgid")
  constant(value=" [hisoka@32473 token=\"{{.Token}}\" resource=\"{{.Resource}}\"] ")
  property(name="msg" droplastlf="on")
}
# auth and sudo, the kernel, the audit log, and service start/stop.
if ($syslogfacility-text == "auth" or $syslogfacility-text == "authpriv" or $syslogfacility-text == "kern"
    or $programname == "sudo" or $programname == "sshd" or $programname == "auditd" or $programname == "systemd") then {
  action(type="omfwd" target="{{.Host}}" port="{{.Port}}" protocol="tcp" template="hisoka"
         TCP_Framing="octet-counted"
         StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/name"
         StreamDriverPermittedPeers="{{.Host}}"
         queue.type="LinkedList" queue.filename="hisoka" queue.maxDiskSpace="256m"
         queue.saveOnShutdown="on" action.resumeRetryCount="-1")
}
`))

// sourceConfig renders the rsyslog configuration (or its cloud-init
// user-data wrapping) for o.
func sourceConfig(o sourceOpts) (string, error) {
	osv, ok := sourceOSes[o.OS]
	if !ok {
		return "", fmt.Errorf("%w: --os debian, ubuntu or rhel", errUsage)
	}
	for _, v := range []string{o.Tenant, o.Resource, o.Host, o.Token} {
		if v == "" || strings.ContainsAny(v, "\"\\]\n\r`$ ") {
			return "", fmt.Errorf("%w: tenant, resource, host and token must be non-empty, without quotes, spaces or brackets", errUsage)
		}
	}
	o.Install, o.CAFile = osv.install, osv.caFile
	var b strings.Builder
	if err := rsyslogTmpl.Execute(&b, o); err != nil {
		return "", err
	}
	if !o.CloudInit {
		return b.String(), nil
	}
	var ci strings.Builder
	ci.WriteString("#cloud-config\npackages: [rsyslog, rsyslog-gnutls]\nwrite_files:\n  - path: /etc/rsyslog.d/60-hisoka.conf\n    owner: root:root\n    permissions: \"0600\"\n    content: |\n")
	for _, line := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
		ci.WriteString("      " + line + "\n")
	}
	ci.WriteString("runcmd:\n  - [systemctl, restart, rsyslog]\n")
	return ci.String(), nil
}

// adminSourceConfig is "hisoka admin source-config": it mints a
// tenant-ingest token with the local issuer key, optionally registers the
// resource with its address over the API (one step), and prints the
// snippet.
func adminSourceConfig(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("hisoka admin source-config", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var o sourceOpts
	a := &adminClient{e: e}
	fs.StringVar(&o.Tenant, "tenant", "", "tenant id")
	fs.StringVar(&o.Resource, "resource", "", "resource id (the VM)")
	fs.StringVar(&o.OS, "os", "debian", "debian, ubuntu or rhel")
	fs.StringVar(&o.Host, "syslog-host", "", "host name of Hisoka's syslog TLS listener")
	fs.IntVar(&o.Port, "syslog-port", 6514, "port of Hisoka's syslog TLS listener")
	fs.BoolVar(&o.CloudInit, "cloud-init", false, "print cloud-init user-data instead of the rsyslog file")
	ttl := fs.Duration("ttl", 365*24*time.Hour, "lifetime of the ingest token in the snippet")
	addr := fs.String("addr", "", "register the resource (kind vm) with this source address first")
	fs.StringVar(&a.url, "server", envOr(e, "HISOKA_SERVER", "http://127.0.0.1:8080"), "API base URL, for -addr (env HISOKA_SERVER)")
	fs.StringVar(&a.token, "token", e.getenv("HISOKA_TOKEN"), "operator token, for -addr (env HISOKA_TOKEN)")
	fs.StringVar(&a.data, "data", envOr(e, "HISOKA_DATA", "./hisoka-data"), "data directory holding the issuer key (env HISOKA_DATA)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if o.Tenant == "" || o.Resource == "" || o.Host == "" || spec.Reserved(o.Tenant) || o.Port <= 0 || o.Port > 65535 {
		return fmt.Errorf("%w: source-config --tenant ID --resource ID --syslog-host H [--os debian|ubuntu|rhel]", errUsage)
	}
	if *addr != "" {
		quiet := &adminClient{e: &env{stdout: discard{}, stderr: e.stderr, getenv: e.getenv}, url: a.url, token: a.token, data: a.data}
		if err := quiet.callJSON(ctx, http.MethodPost, "/v1/admin/resources", spec.Resource{ID: o.Resource, Kind: "vm", Tenant: o.Tenant, Addresses: []string{*addr}}); err != nil {
			return err
		}
	}
	cfg := server.DefaultConfig()
	cfg.DataDir = a.data
	tok, err := server.MintToken(cfg, server.TokenOptions{Role: "ingest", Tenant: o.Tenant, TTL: *ttl}, rand.Reader)
	if err != nil {
		return err
	}
	o.Token = tok
	out, err := sourceConfig(o)
	if err != nil {
		return err
	}
	_, err = fmt.Fprint(e.stdout, out)
	return err
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
