package matcher

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"log/slog"
	"time"
)

// Kind is what a detection reports.
type Kind string

// Detection kinds. A pattern occurrence that completed far slower than usual
// is reported as [KindIncomplete] with Reason "slow": it did not complete
// within the time the pattern normally takes.
const (
	KindPattern    Kind = "pattern"
	KindIncomplete Kind = "incomplete"
	KindRule       Kind = "rule"
	KindAnomaly    Kind = "anomaly"
)

// Reasons given with [KindIncomplete] and [KindRule] detections.
const (
	ReasonBrokenOff  = "broken_off" // started, never completed within its window
	ReasonSlow       = "slow"       // completed after the pattern's slow_after
	ReasonDissimilar = "dissimilar" // completed with similarity below the threshold
)

// Detection is one thing the engine found. It never carries raw platform
// lines except Samples, which only anomalies have and which are for
// operators.
type Detection struct {
	Kind Kind `json:"kind"`
	// ID is the pattern id, rule id, or for anomalies the template id.
	ID string `json:"id"`
	// DetectionID is deterministic: the same input gives the same id across
	// restarts, so a consumer can emit each detection exactly once.
	DetectionID string    `json:"detection_id"`
	Reason      string    `json:"reason,omitempty"`
	Resource    string    `json:"resource"`
	Tenant      string    `json:"tenant"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	Severity    int       `json:"severity"`
	Similarity  float64   `json:"similarity,omitempty"`
	Compliance  []string  `json:"compliance,omitempty"`
	// Lines are the sequence numbers of the lines consumed (at most 256).
	Lines []uint64 `json:"lines,omitempty"`
	// Count is the number of lines behind the detection.
	Count     int    `json:"count"`
	Component string `json:"component,omitempty"`
	Template  string `json:"template,omitempty"`
	// Related lists other resources involved: the instances left behind
	// by a deleted project.
	Related []string `json:"related,omitempty"`
	Samples []string `json:"samples,omitempty"`
}

// LogValue keeps sample lines out of logs.
func (d Detection) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("kind", string(d.Kind)),
		slog.String("id", d.ID),
		slog.String("detection_id", d.DetectionID),
		slog.Int("severity", d.Severity),
		slog.Int("samples_redacted", len(d.Samples)),
	)
}

// detectionID derives the deterministic id from what identifies an occurrence:
// the first 16 bytes of SHA-256 over kind, id, resource and reason (each
// after its length, 8 bytes big-endian), the first line's sequence number
// and the start in Unix nanoseconds, in hex.
func detectionID(kind Kind, id, resource, reason string, firstSeq uint64, start time.Time) string {
	var buf [256]byte
	b := buf[:0]
	for _, s := range [...]string{string(kind), id, resource, reason} {
		b = binary.BigEndian.AppendUint64(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.BigEndian.AppendUint64(b, firstSeq)
	b = binary.BigEndian.AppendUint64(b, uint64(start.UnixNano()))
	sum := sha256.Sum256(b)
	var out [32]byte
	hex.Encode(out[:], sum[:16])
	return string(out[:])
}
