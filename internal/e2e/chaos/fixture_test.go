package chaos_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/internal/e2e/proc"
	"github.com/hisoka-project/hisoka/spec"
	"github.com/hisoka-project/hisoka/tenantclient"
)

func TestMain(m *testing.M) { os.Exit(proc.Main(m)) }

// full reports whether the long versions run (HISOKA_E2E_FULL=1).
func full() bool { return os.Getenv("HISOKA_E2E_FULL") == "1" }

// catalogueFile is the default catalogue the server runs.
const catalogueFile = "../../../testdata/catalog/default.yaml"

// tenantID is the tenant whose VMs the generated platform logs are about.
const tenantID = "acme"

// fixture is a running "hisoka serve" with the default catalogue
// published, one tenant (its SDK client, subscribed by the test) owning
// some VMs, and the tokens the senders use.
type fixture struct {
	t   *testing.T
	srv *proc.Server

	op             string // operator token
	platformIngest string // ingest token for platform logs
	tenantIngest   string // ingest token for the tenant's own logs
	tenant         *tenantclient.Client
	tenantState    string // the SDK's state directory
	http           *http.Client
}

// newFixture starts the server with o and registers the tenant with its
// OpenStack project and VMs, all through the hisoka command line.
func newFixture(t *testing.T, o proc.Options, project string, vms []string) *fixture {
	t.Helper()
	srv := proc.Start(t, o)
	f := &fixture{t: t, srv: srv, http: &http.Client{Timeout: time.Minute}}
	f.op = srv.Token("operator", "")

	var vs spec.CatalogVersions
	mustJSON(t, srv.MustAdmin("catalogue-upload", "--file", catalogueFile), &vs)
	if len(vs.Versions) == 0 {
		t.Fatal("catalogue upload gave no version")
	}
	srv.MustAdmin("catalogue-publish", "--version", strconv.FormatUint(vs.Versions[0], 10))

	state := t.TempDir()
	id, err := tenantclient.Init(state, tenantID, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var reg spec.TenantRegistered
	mustJSON(t, srv.MustAdmin("tenant-add", "--id", tenantID, "--key", base64.StdEncoding.EncodeToString(id.Public()), "--project", project), &reg)
	for _, vm := range vms {
		srv.MustAdmin("resource-add", "--id", vm, "--kind", "vm", "--tenant", tenantID, "--project", project)
	}
	f.tenantState = state
	f.tenant, err = tenantclient.New(tenantclient.Config{URL: srv.URL, StateDir: state, BoardKey: reg.BoardPublicKey, LedgerKey: reg.LedgerKey,
		HTTPClient: &http.Client{Timeout: 2 * time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	f.platformIngest = srv.Token("ingest", "")
	f.tenantIngest = srv.Token("ingest", tenantID)
	return f
}

func mustJSON(t *testing.T, out string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
}

// ndjsonLine is one record of an NDJSON ingest body.
type ndjsonLine struct {
	Line   string            `json:"line"`
	Time   string            `json:"time,omitempty"` // RFC 3339
	Labels map[string]string `json:"labels,omitempty"`
}

// post sends an NDJSON body to /v1/ingest with tok. It returns the status,
// or an error when no status came back (the lines' fate is then unknown).
func (f *fixture) post(ctx context.Context, tok string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.srv.URL+"/v1/ingest", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := f.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	// The status alone says whether the lines are durable.
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// get does an operator GET and decodes the JSON answer into out.
func (f *fixture) get(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.srv.URL+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+f.op)
	resp, err := f.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", path, resp.StatusCode)
	}
	return json.Unmarshal(raw, out)
}

// streamRecords reads a whole reserved stream (operator search, page by
// page) and calls fn for each record.
func (f *fixture) streamRecords(ctx context.Context, stream string, fn func(spec.LogRecord) error) error {
	cursor := ""
	for {
		q := url.Values{"limit": {"10000"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page spec.LogPage
		if err := f.get(ctx, "/v1/admin/streams/"+stream+"/logs?"+q.Encode(), &page); err != nil {
			return err
		}
		for _, r := range page.Records {
			if err := fn(r); err != nil {
				return err
			}
		}
		if page.Next == "" || len(page.Records) == 0 {
			return nil
		}
		cursor = page.Next
	}
}

// platformCounts reads the whole platform stream and counts the records of
// each line number (label "n").
func (f *fixture) platformCounts(ctx context.Context) (map[int]int, error) {
	counts := map[int]int{}
	err := f.streamRecords(ctx, spec.TenantPlatform, func(r spec.LogRecord) error {
		n, err := strconv.Atoi(r.Fields["label.n"])
		if err != nil {
			return fmt.Errorf("platform record %d without a line number", r.Seq)
		}
		counts[n]++
		return nil
	})
	return counts, err
}

// operatorDetections reads the operators' "detections" stream: how many
// records each detection id has, and how many each detection (kind, id,
// resource, start) has.
func (f *fixture) operatorDetections(ctx context.Context) (byID map[string]int, byWhat map[detectionKey]int, err error) {
	byID, byWhat = map[string]int{}, map[detectionKey]int{}
	err = f.streamRecords(ctx, spec.TenantDetections, func(r spec.LogRecord) error {
		var d spec.DetectionRecord
		if err := json.Unmarshal([]byte(r.Line), &d); err != nil {
			return fmt.Errorf("detections record %d: %w", r.Seq, err)
		}
		byID[d.DetectionID]++
		byWhat[detectionKey{d.Kind, d.ID, d.Resource, d.Start.UnixNano()}]++
		return nil
	})
	return byID, byWhat, err
}

// detectionKey identifies a detection apart from its id (which hashes the
// store's sequence numbers of its lines).
type detectionKey struct {
	kind, id, resource string
	start              int64
}

// anomalyIDs counts the records of each detection id in the operators'
// "anomalies" stream.
func (f *fixture) anomalyIDs(ctx context.Context) (map[string]int, error) {
	byID := map[string]int{}
	err := f.streamRecords(ctx, spec.TenantAnomalies, func(r spec.LogRecord) error {
		byID[r.Fields["detection"]]++
		return nil
	})
	return byID, err
}

// ownCounts exports the tenant's own stream with the tenant's SDK and
// counts the records of each line number ("n=" in the line).
func (f *fixture) ownCounts(ctx context.Context) (map[int]int, error) {
	var buf bytes.Buffer
	if _, err := f.tenant.Export(ctx, &buf, 0, 0); err != nil {
		if errors.Is(err, tenantclient.ErrNotFound) {
			return map[int]int{}, nil // nothing stored yet
		}
		return nil, err
	}
	counts := map[int]int{}
	sc := bufio.NewScanner(&buf)
	sc.Buffer(make([]byte, 0, 1<<20), 1<<20)
	for sc.Scan() {
		var r spec.LogRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, err
		}
		n, ok := lineNumber(r.Line)
		if !ok {
			return nil, fmt.Errorf("own record %d without a line number", r.Seq)
		}
		counts[n]++
	}
	return counts, sc.Err()
}

// ownLine is the text of the tenant's own line n sent over transport.
func ownLine(transport string, n int) string {
	return fmt.Sprintf("chaos %s n=%d sshd[4242]: Accepted publickey for alice from 192.0.2.7 port 5022 ssh2", transport, n)
}

func lineNumber(line string) (int, bool) {
	_, rest, ok := strings.Cut(line, " n=")
	if !ok {
		return 0, false
	}
	num, _, _ := strings.Cut(rest, " ")
	n, err := strconv.Atoi(num)
	return n, err == nil
}

// syslogFrame is an RFC 5424 frame of the tenant's own line n, carrying the
// tenant's ingest token, octet-counted (RFC 6587).
func syslogFrame(token string, n int) []byte {
	msg := fmt.Sprintf(`<86>1 %s vm-1 sshd 4242 - [hisoka@32473 token="%s"] %s`,
		time.Now().UTC().Format(time.RFC3339Nano), token, ownLine("syslog", n))
	return fmt.Appendf(nil, "%d %s", len(msg), msg)
}
