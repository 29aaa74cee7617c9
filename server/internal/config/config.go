package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hisoka-project/hisoka/server/internal/console"
)

// ErrInvalid is wrapped by every configuration error. Messages name the
// setting, never its value (values may hold credentials).
var ErrInvalid = errors.New("config: invalid")

// Config is the server configuration.
type Config struct {
	DataDir   string  `yaml:"data_dir"`
	Redis     string  `yaml:"redis"` // redis:// URL; empty means the embedded store
	LogLevel  string  `yaml:"log_level"`
	LogFormat string  `yaml:"log_format"`
	HTTP      HTTP    `yaml:"http"`
	Syslog    Syslog  `yaml:"syslog"`
	Auth      Auth    `yaml:"auth"`
	Limits    Limits  `yaml:"limits"`
	Console   Console `yaml:"console"`
	// Alerts are operator webhooks for platform detections (YAML only).
	Alerts []AlertSink `yaml:"alerts"`
}

// AlertSink is one webhook receiving platform detections at or above
// MinSeverity, signed with HMAC-SHA256 under the secret (given inline or,
// better, in a file).
type AlertSink struct {
	Name        string `yaml:"name"`
	URL         string `yaml:"url"`
	Secret      string `yaml:"secret"`
	SecretFile  string `yaml:"secret_file"`
	MinSeverity int    `yaml:"min_severity"`
}

// HTTP configures the API listener.
type HTTP struct {
	Addr              string        `yaml:"addr"`
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	ShutdownTimeout   time.Duration `yaml:"shutdown_timeout"`
}

// Console configures the operator console at /ui.
type Console struct {
	// Origin is the console's public origin as browsers see it,
	// scheme://host[:port] (e.g. https://ops.example.net), for a server
	// behind a TLS-terminating reverse proxy: the console accepts forms
	// only from that origin, and an https origin makes its cookies Secure.
	// Empty (the default): each request's own origin, https only when it
	// reached the server over TLS.
	Origin string `yaml:"origin"`
}

// Syslog configures the syslog listeners; an empty address disables one.
type Syslog struct {
	TCPAddr     string        `yaml:"tcp_addr"`
	UDPAddr     string        `yaml:"udp_addr"`
	TLSAddr     string        `yaml:"tls_addr"`
	TLSCert     string        `yaml:"tls_cert"`
	TLSKey      string        `yaml:"tls_key"`
	TLSClientCA string        `yaml:"tls_client_ca"`
	MaxConns    int           `yaml:"max_conns"`
	IdleTimeout time.Duration `yaml:"idle_timeout"`
}

// Auth configures token checks.
type Auth struct {
	Issuer          string        `yaml:"issuer"`
	Audience        string        `yaml:"audience"`
	Leeway          time.Duration `yaml:"leeway"`
	ReplayCacheSize int           `yaml:"replay_cache_size"`
	// ReplayPerTenant bounds the unexpired tenant token ids one tenant may
	// hold in the replay cache (beyond it its tokens are 429), so that one
	// tenant cannot fill the cache for all. At the default request rate (50
	// a second, tokens living at most 10 minutes) a tenant holds at most
	// about 33,000. Above ReplayCacheSize it is ReplayCacheSize.
	ReplayPerTenant int `yaml:"replay_per_tenant"`
}

// Limits are the ingest and request limits.
type Limits struct {
	MaxBodyBytes         ByteSize `yaml:"max_body_bytes"`
	MaxDecodedBytes      ByteSize `yaml:"max_decoded_bytes"`
	MaxLineBytes         ByteSize `yaml:"max_line_bytes"`
	MaxFrameBytes        ByteSize `yaml:"max_frame_bytes"`
	MaxRecordsPerRequest int      `yaml:"max_records_per_request"`
	// TenantLinesPerSecond and TenantBurst make the per-tenant token
	// bucket for ingested lines.
	TenantLinesPerSecond float64 `yaml:"tenant_lines_per_second"`
	TenantBurst          int     `yaml:"tenant_burst"`
	// TenantRequestsPerSecond limits every other API request per caller.
	TenantRequestsPerSecond float64 `yaml:"tenant_requests_per_second"`
	TenantRequestBurst      int     `yaml:"tenant_request_burst"`
	// MaxPipelineLag is how many acknowledged lines of one stream may wait
	// for the matcher before ingestion of that stream is slowed (HTTP 429
	// with Retry-After; syslog stops reading, so TCP flow control slows the
	// sender).
	MaxPipelineLag int `yaml:"max_pipeline_lag"`
}

// Default returns the built-in configuration.
func Default() Config {
	return Config{
		DataDir:   "./hisoka-data",
		LogLevel:  "info",
		LogFormat: "json",
		HTTP: HTTP{
			Addr:              "127.0.0.1:8080",
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			ShutdownTimeout:   30 * time.Second,
		},
		Syslog: Syslog{
			TCPAddr:  "127.0.0.1:5514",
			UDPAddr:  "127.0.0.1:5514",
			MaxConns: 1024,
		},
		Auth: Auth{
			Issuer:          "hisoka",
			Audience:        "hisoka",
			Leeway:          30 * time.Second,
			ReplayCacheSize: 1 << 20,
			ReplayPerTenant: 1 << 16,
		},
		Limits: Limits{
			MaxBodyBytes:            8 << 20,
			MaxDecodedBytes:         64 << 20,
			MaxLineBytes:            64 << 10,
			MaxFrameBytes:           64 << 10,
			MaxRecordsPerRequest:    100000,
			TenantLinesPerSecond:    50000,
			TenantBurst:             200000,
			TenantRequestsPerSecond: 50,
			TenantRequestBurst:      100,
			MaxPipelineLag:          1 << 20,
		},
	}
}

// LogValue hides the Redis URL's password.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("data_dir", c.DataDir),
		slog.String("redis", RedactURL(c.Redis)),
		slog.String("http", c.HTTP.Addr),
		slog.String("syslog_tcp", c.Syslog.TCPAddr),
		slog.String("syslog_udp", c.Syslog.UDPAddr),
		slog.String("syslog_tls", c.Syslog.TLSAddr),
	)
}

// RedactURL returns u with any password replaced; unparsable URLs are
// hidden whole.
func RedactURL(u string) string {
	if u == "" {
		return ""
	}
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable)"
	}
	return p.Redacted()
}

// Validate checks the configuration.
func (c Config) Validate() error {
	bad := func(name string) error { return fmt.Errorf("%w: %s", ErrInvalid, name) }
	if c.DataDir == "" && c.Redis == "" {
		return bad("data_dir (or redis) is required")
	}
	if c.Redis != "" {
		if u, err := url.Parse(c.Redis); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			return bad("redis must be a redis:// or rediss:// URL")
		}
	}
	if c.HTTP.Addr == "" || !validAddr(c.HTTP.Addr) {
		return bad("http.addr")
	}
	for name, a := range map[string]string{"syslog.tcp_addr": c.Syslog.TCPAddr, "syslog.udp_addr": c.Syslog.UDPAddr, "syslog.tls_addr": c.Syslog.TLSAddr} {
		if a != "" && !validAddr(a) {
			return bad(name)
		}
	}
	if c.Syslog.TLSAddr != "" && (c.Syslog.TLSCert == "" || c.Syslog.TLSKey == "") {
		return bad("syslog.tls_addr needs syslog.tls_cert and syslog.tls_key")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return bad("log_level (debug, info, warn, error)")
	}
	switch c.LogFormat {
	case "json", "text":
	default:
		return bad("log_format (json, text)")
	}
	if c.Console.Origin != "" {
		if _, err := console.ParseOrigin(c.Console.Origin); err != nil {
			return bad("console.origin (http(s)://host[:port], nothing else)")
		}
	}
	for _, a := range c.Alerts {
		u, err := url.Parse(a.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || a.Name == "" || (a.Secret == "") == (a.SecretFile == "") {
			return bad("alerts (each needs name, an http(s) url, and secret or secret_file)")
		}
	}
	if c.Auth.Issuer == "" || c.Auth.Audience == "" || c.Auth.ReplayCacheSize <= 0 || c.Auth.Leeway < 0 || c.Auth.ReplayPerTenant <= 0 {
		return bad("auth")
	}
	l := c.Limits
	switch {
	case l.MaxBodyBytes <= 0:
		return bad("limits.max_body_bytes")
	case l.MaxDecodedBytes < l.MaxBodyBytes:
		return bad("limits.max_decoded_bytes (at least max_body_bytes)")
	case l.MaxLineBytes <= 0:
		return bad("limits.max_line_bytes")
	case l.MaxFrameBytes <= 0:
		return bad("limits.max_frame_bytes")
	case l.MaxRecordsPerRequest <= 0:
		return bad("limits.max_records_per_request")
	case l.TenantLinesPerSecond <= 0 || l.TenantBurst <= 0:
		return bad("limits.tenant_lines_per_second and tenant_burst")
	case l.TenantRequestsPerSecond <= 0 || l.TenantRequestBurst <= 0:
		return bad("limits.tenant_requests_per_second and tenant_request_burst")
	case l.MaxPipelineLag <= 0:
		return bad("limits.max_pipeline_lag")
	case c.Syslog.MaxConns <= 0:
		return bad("syslog.max_conns")
	case c.HTTP.ShutdownTimeout <= 0:
		return bad("http.shutdown_timeout")
	}
	return nil
}

func validAddr(a string) bool {
	_, port, err := net.SplitHostPort(a)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 0 && n <= 65535
}

// Field is one setting.
type Field struct {
	Key   string // YAML path, e.g. "http.addr"
	Env   string // e.g. HISOKA_HTTP_ADDR
	Flag  string // e.g. "http"
	Usage string
	set   func(*Config, string) error
}

// Fields lists every setting that environment and flags can change.
func Fields() []Field {
	return []Field{
		{"data_dir", "HISOKA_DATA", "data", "data directory of the embedded store and the issuer key", str(func(c *Config) *string { return &c.DataDir })},
		{"redis", "HISOKA_REDIS", "redis", "Redis URL (redis://, rediss://); empty: embedded store", str(func(c *Config) *string { return &c.Redis })},
		{"log_level", "HISOKA_LOG_LEVEL", "log-level", "debug, info, warn or error", str(func(c *Config) *string { return &c.LogLevel })},
		{"log_format", "HISOKA_LOG_FORMAT", "log-format", "json or text", str(func(c *Config) *string { return &c.LogFormat })},
		{"http.addr", "HISOKA_HTTP_ADDR", "http", "HTTP API address", str(func(c *Config) *string { return &c.HTTP.Addr })},
		{"http.shutdown_timeout", "HISOKA_SHUTDOWN_TIMEOUT", "shutdown-timeout", "how long shutdown may drain", dur(func(c *Config) *time.Duration { return &c.HTTP.ShutdownTimeout })},
		{"syslog.tcp_addr", "HISOKA_SYSLOG_TCP", "syslog-tcp", "syslog TCP address (empty: off)", str(func(c *Config) *string { return &c.Syslog.TCPAddr })},
		{"syslog.udp_addr", "HISOKA_SYSLOG_UDP", "syslog-udp", "syslog UDP address (empty: off)", str(func(c *Config) *string { return &c.Syslog.UDPAddr })},
		{"syslog.tls_addr", "HISOKA_SYSLOG_TLS", "syslog-tls", "syslog TLS address (empty: off)", str(func(c *Config) *string { return &c.Syslog.TLSAddr })},
		{"syslog.tls_cert", "HISOKA_SYSLOG_TLS_CERT", "syslog-tls-cert", "PEM certificate chain for syslog TLS", str(func(c *Config) *string { return &c.Syslog.TLSCert })},
		{"syslog.tls_key", "HISOKA_SYSLOG_TLS_KEY", "syslog-tls-key", "PEM key for syslog TLS", str(func(c *Config) *string { return &c.Syslog.TLSKey })},
		{"syslog.tls_client_ca", "HISOKA_SYSLOG_TLS_CLIENT_CA", "syslog-tls-client-ca", "PEM CAs that syslog TLS clients must be signed by (empty: no client certificates)", str(func(c *Config) *string { return &c.Syslog.TLSClientCA })},
		{"auth.issuer", "HISOKA_AUTH_ISSUER", "auth-issuer", "iss of server-minted tokens", str(func(c *Config) *string { return &c.Auth.Issuer })},
		{"auth.audience", "HISOKA_AUTH_AUDIENCE", "auth-audience", "aud every token must carry", str(func(c *Config) *string { return &c.Auth.Audience })},
		{"limits.max_body_bytes", "HISOKA_MAX_BODY", "max-body", "largest request body", size(func(c *Config) *ByteSize { return &c.Limits.MaxBodyBytes })},
		{"limits.max_decoded_bytes", "HISOKA_MAX_DECODED", "max-decoded", "largest body after decompression", size(func(c *Config) *ByteSize { return &c.Limits.MaxDecodedBytes })},
		{"limits.max_line_bytes", "HISOKA_MAX_LINE", "max-line", "longer lines are truncated and marked", size(func(c *Config) *ByteSize { return &c.Limits.MaxLineBytes })},
		{"limits.max_frame_bytes", "HISOKA_MAX_FRAME", "max-frame", "longer syslog frames are truncated and marked", size(func(c *Config) *ByteSize { return &c.Limits.MaxFrameBytes })},
		{"limits.max_records_per_request", "HISOKA_MAX_RECORDS", "max-records", "most lines in one request", integer(func(c *Config) *int { return &c.Limits.MaxRecordsPerRequest })},
		{"limits.tenant_lines_per_second", "HISOKA_TENANT_RATE", "tenant-rate", "lines per second per tenant", float(func(c *Config) *float64 { return &c.Limits.TenantLinesPerSecond })},
		{"limits.max_pipeline_lag", "HISOKA_MAX_LAG", "max-lag", "acknowledged lines per stream the matcher may fall behind before ingestion slows", integer(func(c *Config) *int { return &c.Limits.MaxPipelineLag })},
		{"console.origin", "HISOKA_CONSOLE_ORIGIN", "console-origin", "the console's public origin behind a TLS-terminating proxy, e.g. https://ops.example.net (empty: each request's own)", str(func(c *Config) *string { return &c.Console.Origin })},
		{"limits.tenant_burst", "HISOKA_TENANT_BURST", "tenant-burst", "line burst per tenant", integer(func(c *Config) *int { return &c.Limits.TenantBurst })},
	}
}

func str(p func(*Config) *string) func(*Config, string) error {
	return func(c *Config, s string) error { *p(c) = s; return nil }
}

func dur(p func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, s string) error {
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*p(c) = d
		return nil
	}
}

func integer(p func(*Config) *int) func(*Config, string) error {
	return func(c *Config, s string) error {
		n, err := strconv.Atoi(s)
		if err != nil {
			return err
		}
		*p(c) = n
		return nil
	}
}

func float(p func(*Config) *float64) func(*Config, string) error {
	return func(c *Config, s string) error {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return err
		}
		*p(c) = f
		return nil
	}
}

func size(p func(*Config) *ByteSize) func(*Config, string) error {
	return func(c *Config, s string) error { return p(c).Set(s) }
}

// Load builds the configuration from defaults, the YAML file named by
// --config or HISOKA_CONFIG, the environment (looked up with getenv) and
// args (flags, without the program name). Usage goes to usage on -h, and
// flag.ErrHelp is returned.
func Load(args []string, getenv func(string) (string, bool), usage io.Writer) (Config, error) {
	fs := flag.NewFlagSet("hisoka serve", flag.ContinueOnError)
	fs.SetOutput(usage)
	configPath := fs.String("config", "", "YAML configuration file (env HISOKA_CONFIG)")
	type setting struct {
		f     Field
		value string
	}
	var pending []setting
	fields := Fields()
	for _, f := range fields {
		f := f
		fs.Func(f.Flag, f.Usage+" (env "+f.Env+")", func(s string) error {
			pending = append(pending, setting{f, s})
			return nil
		})
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("%w: unexpected argument", ErrInvalid)
	}
	cfg := Default()
	path := *configPath
	if path == "" {
		path, _ = getenv("HISOKA_CONFIG")
	}
	if path != "" {
		if err := loadFile(&cfg, path); err != nil {
			return Config{}, err
		}
	}
	for _, f := range fields {
		if v, ok := getenv(f.Env); ok {
			if err := f.set(&cfg, v); err != nil {
				return Config{}, fmt.Errorf("%w: environment %s", ErrInvalid, f.Env)
			}
		}
	}
	for _, p := range pending {
		if err := p.f.set(&cfg, p.value); err != nil {
			return Config{}, fmt.Errorf("%w: flag --%s", ErrInvalid, p.f.Flag)
		}
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func loadFile(cfg *Config, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w: config file: %w", ErrInvalid, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: config file %s: %s", ErrInvalid, path, yamlProblem(err))
	}
	return nil
}

// yamlProblem keeps yaml's line numbers and field names but not values.
func yamlProblem(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var out []string
		for _, e := range te.Errors {
			// "line 3: field x not found in type config.HTTP" or
			// "line 4: cannot unmarshal !!str `...` into int": cut the value.
			if i := strings.Index(e, "`"); i >= 0 {
				e = e[:i] + "(value) " + e[strings.LastIndex(e, "`")+1:]
			}
			out = append(out, e)
		}
		return strings.Join(out, "; ")
	}
	return "malformed YAML"
}

// ByteSize is a number of bytes; see the package doc for the syntax.
type ByteSize int64

// Set parses s.
func (b *ByteSize) Set(s string) error {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return fmt.Errorf("%w: size", ErrInvalid)
	}
	*b = ByteSize(n * mult)
	return nil
}

// String formats b in bytes.
func (b ByteSize) String() string { return strconv.FormatInt(int64(b), 10) }

// UnmarshalYAML accepts a number or a string with a suffix.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("%w: size", ErrInvalid)
	}
	return b.Set(n.Value)
}
