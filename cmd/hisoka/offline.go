package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/hisoka-project/hisoka/internal/loggen"
	"github.com/hisoka-project/hisoka/matcher"
)

// The offline commands read log files (or standard input when none, or
// "-", is given) and write JSON lines.

func newFlags(e *env, name, args string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: hisoka %s %s\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err) // -h: run answers nil
	}
	return nil
}

// eachLine calls fn with every line of the named files in order.
func eachLine(e *env, files []string, fn func([]byte) error) error {
	if len(files) == 0 {
		files = []string{"-"}
	}
	for _, name := range files {
		var r io.Reader
		if name == "-" {
			r = e.stdin
		} else {
			f, err := os.Open(name)
			if err != nil {
				return err
			}
			defer f.Close()
			r = f
		}
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
		for sc.Scan() {
			if err := fn(sc.Bytes()); err != nil {
				return err
			}
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func refFlag(fs *flag.FlagSet) *string {
	return fs.String("ref", "", "reference time (RFC 3339) giving the year of year-less syslog stamps; default: from the input itself")
}

func newParser(ref string) (*matcher.Parser, error) {
	p := &matcher.Parser{}
	if ref != "" {
		t, err := time.Parse(time.RFC3339, ref)
		if err != nil {
			return nil, fmt.Errorf("%w: bad -ref: %v", errUsage, err)
		}
		p.Reference = t
	}
	return p, nil
}

type templateLine struct {
	Line       int    `json:"line"`
	Format     string `json:"format"`
	Component  string `json:"component,omitempty"`
	TemplateID string `json:"template_id"`
	Template   string `json:"template"`
}

func runTemplates(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "templates", "[-ref TIME] [FILE...]")
	ref := refFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	p, err := newParser(*ref)
	if err != nil {
		return err
	}
	m := matcher.NewMiner()
	type rec struct {
		idx    int32
		format matcher.Format
		comp   string
	}
	var recs []rec
	err = eachLine(e, fs.Args(), func(line []byte) error {
		r, _ := p.ParseOrRaw(line)
		recs = append(recs, rec{idx: m.Add(r.Message), format: r.Format, comp: string(r.Component)})
		return nil
	})
	if err != nil {
		return err
	}
	// Templates are final only once every line is mined: print them then,
	// so that lines grouped later (a word position that became a
	// placeholder) carry their final template.
	w := bufio.NewWriter(e.stdout)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i, r := range recs {
		t := m.Template(r.idx)
		if err := enc.Encode(templateLine{Line: i + 1, Format: r.format.String(), Component: r.comp, TemplateID: t.ID, Template: t.Text}); err != nil {
			return err
		}
	}
	return w.Flush()
}

func runLearn(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "learn", "[-yaml] [-profile FILE] [-ref TIME] [FILE...]")
	ref := refFlag(fs)
	asYAML := fs.Bool("yaml", false, "write the catalogue as YAML instead of one line of JSON")
	profile := fs.String("profile", "", "also write the 5s window profile to this file (CSV, or JSON if the name ends in .json)")
	profileBy := fs.String("profile-by", "component", "profile rows: component or template")
	minSupport := fs.Int("min-support", 3, "bursts a cluster needs to become a pattern")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *profileBy != "component" && *profileBy != "template" {
		return fmt.Errorf("%w: -profile-by must be component or template", errUsage)
	}
	p, err := newParser(*ref)
	if err != nil {
		return err
	}
	l := matcher.NewLearner(matcher.LearnOptions{MinSupport: *minSupport})
	prof := matcher.NewProfile(0)
	type point struct {
		tmpl int32
		t    time.Time
	}
	var points []point
	err = eachLine(e, fs.Args(), func(line []byte) error {
		r, ok := p.ParseOrRaw(line)
		if !ok {
			return nil
		}
		idx := l.Add(&r)
		if *profile != "" {
			if *profileBy == "component" {
				prof.Add(string(r.Component), r.Time)
			} else {
				// A template is final only once the whole input is mined.
				points = append(points, point{tmpl: idx, t: r.Time})
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	cat := l.Catalog()
	var out []byte
	if *asYAML {
		out, err = cat.YAML()
	} else {
		out, err = cat.JSON()
	}
	if err != nil {
		return err
	}
	if *profile != "" {
		for _, pt := range points {
			t := l.Miner().Template(pt.tmpl)
			prof.Add(t.ID+" "+t.Text, pt.t)
		}
		var data []byte
		if strings.HasSuffix(*profile, ".json") {
			if data, err = json.Marshal(prof); err != nil {
				return err
			}
		} else {
			data = []byte(prof.CSV())
		}
		if err := os.WriteFile(*profile, data, 0o644); err != nil {
			return err
		}
	}
	_, err = e.stdout.Write(out)
	return err
}

func runMatch(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "match", "-catalog FILE [-ref TIME] [FILE...]")
	ref := refFlag(fs)
	catFile := fs.String("catalog", "", "pattern catalogue (YAML or JSON, spec/catalog.md)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *catFile == "" {
		fs.Usage()
		return fmt.Errorf("%w: -catalog is required", errUsage)
	}
	b, err := os.ReadFile(*catFile)
	if err != nil {
		return err
	}
	cat, err := matcher.ParseCatalog(b)
	if err != nil {
		return err
	}
	eng, err := matcher.NewEngine(cat, matcher.Options{})
	if err != nil {
		return err
	}
	p, err := newParser(*ref)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(e.stdout)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	write := func(ds []matcher.Detection) error {
		for i := range ds {
			if err := enc.Encode(&ds[i]); err != nil {
				return err
			}
		}
		return nil
	}
	var seq uint64
	err = eachLine(e, fs.Args(), func(line []byte) error {
		seq++
		r, _ := p.ParseOrRaw(line)
		r.Seq = seq
		return write(eng.Process(&r))
	})
	if err != nil {
		return err
	}
	if err := write(eng.Flush()); err != nil {
		return err
	}
	st := eng.Stats()
	fmt.Fprintf(e.stderr, "lines %d, unparsed %d, periodic %d, matched %d, residual %d, templates %d\n",
		st.Lines, st.Unparsed, st.Periodic, st.Matched, st.Residual, st.Templates)
	return w.Flush()
}

func runGenerate(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "generate", "[-seed N] [-duration D] [-vms N] [-faults] [-syslog] [-truth FILE]")
	seed := fs.Uint64("seed", 1, "random seed; the same seed gives the same log")
	dur := fs.Duration("duration", 30*time.Minute, "span of the log")
	vms := fs.Int("vms", 20, "instances created")
	faults := fs.Bool("faults", false, "inject every kind of fault")
	ops := fs.Bool("ops", true, "stop/start, pause/resume and migrate some instances")
	syslog := fs.Bool("syslog", false, "wrap oslo lines in syslog headers")
	prefix := fs.Bool("file-prefix", false, "start oslo lines with their log-file name")
	truth := fs.String("truth", "", "write the ground truth (JSON lines) to this file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: generate takes no file arguments", errUsage)
	}
	cfg := loggen.Config{Seed: *seed, Duration: *dur, VMs: *vms, Ops: *ops, Syslog: *syslog, FilePrefix: *prefix}
	if *faults {
		cfg.Faults = loggen.Faults{BrokenOff: 2, Slow: 2, BruteForce: 1, IptablesFlush: 1, BridgeDown: 1, Silent: true, Orphans: true, Unscheduled: 1}
	}
	log := loggen.Generate(cfg)
	if *truth != "" {
		f, err := os.Create(*truth)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(f)
		for _, t := range log.Truth {
			if err := enc.Encode(t); err != nil {
				f.Close()
				return err
			}
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	_, err := log.WriteTo(e.stdout)
	return err
}
