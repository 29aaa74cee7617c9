package benchmark

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// WriteTable writes rep for people: the machine, then one row per figure,
// then how each figure was taken.
func WriteTable(w io.Writer, rep *Report) error {
	var b bytes.Buffer
	run := "default run"
	if rep.Quick {
		run = "quick run (--quick: short, small data sets, rough figures)"
	}
	fmt.Fprintf(&b, "hisoka bench, %s, %s, %.0f s\n\n", rep.Started.Format(time.RFC3339), run, rep.Seconds)
	m := rep.Machine
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	mem := "unknown"
	if m.MemoryBytes > 0 {
		mem = fmt.Sprintf("%.1f GiB", float64(m.MemoryBytes)/(1<<30))
	}
	kernel := m.Kernel
	if kernel == "" {
		kernel = "unknown"
	}
	commit := m.Commit
	if commit == "" {
		commit = "unknown"
	}
	for _, kv := range [][2]string{
		{"CPU", m.CPU},
		{"cores", fmt.Sprintf("%d (GOMAXPROCS %d)", m.Cores, m.GOMAXPROCS)},
		{"memory", mem},
		{"OS", m.OS},
		{"kernel", kernel},
		{"Go", m.Go},
		{"commit", commit},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", kv[0], kv[1])
	}
	tw.Flush()
	b.WriteByte('\n')

	// Names and units left-aligned, figures right-aligned.
	nameW, valW, unitW := len("measure"), len("value"), len("unit")
	for _, r := range rep.Results {
		nameW, valW, unitW = max(nameW, len(r.Name)), max(valW, len(figure(r.Value))), max(unitW, len(r.Unit))
	}
	fmt.Fprintf(&b, "%-*s  %*s  %-*s  %s\n", nameW, "measure", valW, "value", unitW, "unit", "runs on")
	for _, r := range rep.Results {
		fmt.Fprintf(&b, "%-*s  %*s  %-*s  %s\n", nameW, r.Name, valW, figure(r.Value), unitW, r.Unit, r.Parallelism)
	}
	b.WriteString("\nhow each figure was taken (after a warm-up; wall time):\n")
	for _, r := range rep.Results {
		fmt.Fprintf(&b, "  %s: %s\n", r.Name, r.Detail)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// WriteJSON writes rep as one indented JSON document.
func WriteJSON(w io.Writer, rep *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// figure prints rates as integers and small figures with three significant
// digits.
func figure(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g", v)
}
