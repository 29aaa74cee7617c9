package tenantclient

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/hisoka-project/hisoka/spec"
	"github.com/hisoka-project/hisoka/store"
	"github.com/hisoka-project/hisoka/store/ledger"
)

// LogQuery searches the tenant's own logs. Every search is recorded in the
// tenant's access report.
type LogQuery struct {
	Terms    string            // words that must all occur
	Fields   map[string]string // structured fields that must match exactly
	From, To time.Time         // zero means unbounded
	Limit    int               // zero means the server's default
	Cursor   string            // LogPage.Next of the previous page
	Desc     bool              // newest first
}

// Search runs q on the tenant's own logs and returns one page.
func (c *Client) Search(ctx context.Context, q LogQuery) (spec.LogPage, error) {
	v := url.Values{}
	if q.Terms != "" {
		v.Set("q", q.Terms)
	}
	for k, x := range q.Fields {
		v.Set("field."+k, x)
	}
	if !q.From.IsZero() {
		v.Set("from", q.From.UTC().Format(time.RFC3339Nano))
	}
	if !q.To.IsZero() {
		v.Set("to", q.To.UTC().Format(time.RFC3339Nano))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	if q.Desc {
		v.Set("desc", "true")
	}
	var page spec.LogPage
	err := c.doJSON(ctx, http.MethodGet, c.tenantPath("/logs"), v, nil, &page)
	return page, err
}

func seqRange(from, to uint64) url.Values {
	v := url.Values{}
	if from > 0 {
		v.Set("from_seq", strconv.FormatUint(from, 10))
	}
	if to > 0 {
		v.Set("to_seq", strconv.FormatUint(to, 10))
	}
	return v
}

// Export streams the tenant's records fromSeq..toSeq (0 means from the
// first, or to the last) to w as NDJSON, one spec.LogRecord per line, and
// returns the bytes written.
func (c *Client) Export(ctx context.Context, w io.Writer, fromSeq, toSeq uint64) (int64, error) {
	resp, err := c.request(ctx, http.MethodGet, c.tenantPath("/logs/export"), seqRange(fromSeq, toSeq), "", nil, true)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return io.Copy(w, resp.Body)
}

// Proof fetches the records fromSeq..toSeq (0 means from the first, or to
// the last) with the ledger's tamper-evidence proof, without checking it;
// keep it and check it later with VerifyProof, or call VerifyLogs.
func (c *Client) Proof(ctx context.Context, fromSeq, toSeq uint64) (*spec.Proof, error) {
	var p spec.Proof
	if err := c.doJSON(ctx, http.MethodGet, c.tenantPath("/logs/verify"), seqRange(fromSeq, toSeq), nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// VerifyLogs fetches a proof for fromSeq..toSeq and checks it (VerifyProof).
func (c *Client) VerifyLogs(ctx context.Context, fromSeq, toSeq uint64) (*spec.Proof, error) {
	p, err := c.Proof(ctx, fromSeq, toSeq)
	if err != nil {
		return nil, err
	}
	return p, c.VerifyProof(p)
}

// VerifyProof checks offline that p's records are this tenant's complete,
// unaltered records of the range, signed by the pinned ledger key. The key
// in the proof is pinned on first use when none is pinned; a different one
// is ErrLedgerKeyChanged. Failures wrap ErrLogProof and the ledger's
// sentinels (ledger.ErrAltered, ...).
func (c *Client) VerifyProof(p *spec.Proof) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(p.LedgerKey) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: no ledger key", ErrLogProof)
	}
	pinned := c.st.LedgerKey
	if pinned != nil && !bytes.Equal(pinned, p.LedgerKey) {
		return ErrLedgerKeyChanged
	}
	lp, recs, err := verifyProof(ed25519.PublicKey(p.LedgerKey), c.tenant, p)
	if err != nil {
		return err
	}
	if err := c.checkCheckpoints(lp, recs); err != nil {
		return err
	}
	if pinned == nil {
		c.st.LedgerKey = bytes.Clone(p.LedgerKey)
		c.log.Warn("tenantclient: ledger key pinned on first use; compare it with the operator's registration answer")
	}
	return c.save()
}

// verifyProof checks p with key for tenant and returns the decoded proof
// and records.
func verifyProof(key ed25519.PublicKey, tenant string, p *spec.Proof) (*ledger.Proof, []store.Record, error) {
	var lp ledger.Proof
	if err := lp.UnmarshalBinary(p.Proof); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrLogProof, err)
	}
	if lp.Tenant != tenant || lp.From != p.From || lp.To != p.To || uint64(len(p.Records)) != p.To-p.From+1 {
		return nil, nil, fmt.Errorf("%w: proof is for another range or tenant", ErrLogProof)
	}
	recs := make([]store.Record, len(p.Records))
	for i, r := range p.Records {
		recs[i] = store.Record{Seq: r.Seq, Time: r.Time, Received: r.Received, Host: r.Host, App: r.App,
			Severity: r.Severity, Source: r.Source, Fields: r.Fields, Line: r.Line}
	}
	if err := store.VerifyRecords(key, &lp, recs); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrLogProof, err)
	}
	return &lp, recs, nil
}

// maxCheckpoints bounds the checkpoints kept in the state; beyond it the
// oldest are forgotten (a rewrite of history older than every kept
// checkpoint is no longer noticed).
const maxCheckpoints = 4096

// checkCheckpoints compares a verified proof with the checkpoints seen
// before (spec/ledger.md, "Keeping checkpoints"): the proof fixes the
// chain value after every seq from From-1 (its Prev, bound to the signed
// head by the hash chain) to its checkpoint's seq, and each must equal the
// head of a kept checkpoint at the same seq. A difference is ErrLogForked:
// the key holder signed two histories. Otherwise the proof's checkpoint is
// kept. c.mu must be held.
func (c *Client) checkCheckpoints(lp *ledger.Proof, recs []store.Record) error {
	lo, hi := lp.From-1, lp.Checkpoint.Seq
	first, _ := slices.BinarySearchFunc(c.st.Checkpoints, lo, func(k seenCheckpoint, seq uint64) int { return cmp.Compare(k.Seq, seq) })
	if kept := c.st.Checkpoints[first:]; len(kept) > 0 && kept[0].Seq <= hi {
		// Walk the chain from Prev (after seq lo) over the records and the
		// tail, comparing at each kept seq.
		seq, h := lo, lp.Prev
		compare := func() error {
			for len(kept) > 0 && kept[0].Seq <= seq {
				if kept[0].Seq == seq && seq > 0 && !bytes.Equal(h[:], kept[0].Head) {
					return fmt.Errorf("%w: the head after record %d differs from a checkpoint seen before", ErrLogForked, seq)
				}
				kept = kept[1:]
			}
			return nil
		}
		if err := compare(); err != nil {
			return err
		}
		for i := range recs {
			enc, err := recs[i].AppendBinary(nil)
			if err != nil { // verified above, cannot happen
				return fmt.Errorf("%w: %w", ErrLogProof, err)
			}
			seq, h = seq+1, ledger.Next(h, ledger.Leaf(enc))
			if err := compare(); err != nil {
				return err
			}
		}
		for _, leaf := range lp.Tail {
			if len(kept) == 0 || kept[0].Seq > hi {
				break
			}
			seq, h = seq+1, ledger.Next(h, leaf)
			if err := compare(); err != nil {
				return err
			}
		}
	}
	enc, err := lp.Checkpoint.MarshalBinary()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrLogProof, err)
	}
	i, found := slices.BinarySearchFunc(c.st.Checkpoints, hi, func(k seenCheckpoint, seq uint64) int { return cmp.Compare(k.Seq, seq) })
	if !found {
		c.st.Checkpoints = slices.Insert(c.st.Checkpoints, i, seenCheckpoint{Seq: hi, Head: bytes.Clone(lp.Checkpoint.Head[:]), Signed: enc})
		if len(c.st.Checkpoints) > maxCheckpoints {
			c.st.Checkpoints = slices.Delete(c.st.Checkpoints, 0, len(c.st.Checkpoints)-maxCheckpoints)
		}
	}
	return nil
}

// Checkpoints returns the signed ledger checkpoints this client has seen
// in verified proofs, oldest seq first: with the ledger key, two of them
// with the same seq and different heads (ErrLogForked) prove the service
// rewrote the tenant's history.
func (c *Client) Checkpoints() []ledger.Checkpoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]ledger.Checkpoint, 0, len(c.st.Checkpoints))
	for _, k := range c.st.Checkpoints {
		var cp ledger.Checkpoint
		if cp.UnmarshalBinary(k.Signed) == nil {
			out = append(out, cp)
		}
	}
	return out
}

// AccessReport lists who read the tenant's logs between from and to (zero
// means unbounded), oldest first, at most limit (0: the server's maximum).
func (c *Client) AccessReport(ctx context.Context, from, to time.Time, limit int) (spec.AccessReport, error) {
	v := url.Values{}
	if !from.IsZero() {
		v.Set("from", from.UTC().Format(time.RFC3339Nano))
	}
	if !to.IsZero() {
		v.Set("to", to.UTC().Format(time.RFC3339Nano))
	}
	if limit > 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	var r spec.AccessReport
	err := c.doJSON(ctx, http.MethodGet, c.tenantPath("/access"), v, nil, &r)
	return r, err
}

// Retention returns how long the tenant's logs are kept (0: forever).
func (c *Client) Retention(ctx context.Context) (time.Duration, error) {
	var r spec.Retention
	if err := c.doJSON(ctx, http.MethodGet, c.tenantPath("/retention"), nil, nil, &r); err != nil {
		return 0, err
	}
	return parseRetention(r.Retention)
}

// SetRetention sets how long the tenant's logs are kept (0: forever; the
// server requires at least an hour otherwise) and returns the stored value.
func (c *Client) SetRetention(ctx context.Context, d time.Duration) (time.Duration, error) {
	if d < 0 {
		return 0, fmt.Errorf("%w: negative retention", ErrConfig)
	}
	var r spec.Retention
	if err := c.doJSON(ctx, http.MethodPut, c.tenantPath("/retention"), nil, spec.Retention{Retention: d.String()}, &r); err != nil {
		return 0, err
	}
	return parseRetention(r.Retention)
}

func parseRetention(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, errors.Join(ErrServer, err)
	}
	return d, nil
}

// Report returns the tenant's summary of its logs between from and to
// (zero: the last 24 hours up to now; at most 31 days): lines per source
// and severity, rule and pattern hits, silent sources and retention state.
// With scheduled, the last daily report the server stored instead. The
// server records it as a read of the tenant's logs.
func (c *Client) Report(ctx context.Context, from, to time.Time, scheduled bool) (spec.Report, error) {
	v := url.Values{}
	if !from.IsZero() {
		v.Set("from", from.UTC().Format(time.RFC3339Nano))
	}
	if !to.IsZero() {
		v.Set("to", to.UTC().Format(time.RFC3339Nano))
	}
	if scheduled {
		v.Set("scheduled", "true")
	}
	var r spec.Report
	err := c.doJSON(ctx, http.MethodGet, c.tenantPath("/report"), v, nil, &r)
	return r, err
}
