package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hisoka-project/hisoka/internal/benchmark"
)

// runBench is "hisoka bench": it runs package benchmark's measurements and
// prints their table (or JSON) on stdout, with progress on stderr.
func runBench(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "bench", "[--quick] [--json] [--redis URL] [--catalog FILE] [--dir DIR]")
	quick := fs.Bool("quick", false, "every figure in a few seconds, on small data sets (rough figures; for tests)")
	asJSON := fs.Bool("json", false, "print the report as JSON instead of a table")
	redisURL := fs.String("redis", "", "also measure store appends on this Redis server (redis://...); keys go under a fresh prefix, deleted afterwards")
	catPath := fs.String("catalog", "", "pattern catalogue YAML (default: testdata/catalog/default.yaml, looked for from the working directory up)")
	dir := fs.String("dir", "", "directory for the temporary stores (default: the system temporary directory)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return fmt.Errorf("%w: bench takes no arguments", errUsage)
	}
	if *catPath == "" {
		p, err := findCatalogue()
		if err != nil {
			return err
		}
		*catPath = p
	}
	cat, err := os.ReadFile(*catPath)
	if err != nil {
		return fmt.Errorf("bench: catalogue: %w", err)
	}
	rep, err := benchmark.Run(ctx, benchmark.Options{Quick: *quick, Catalogue: cat, RedisURL: *redisURL, Dir: *dir, Progress: e.stderr})
	if err != nil {
		return err
	}
	if *asJSON {
		return benchmark.WriteJSON(e.stdout, rep)
	}
	return benchmark.WriteTable(e.stdout, rep)
}

// findCatalogue looks for testdata/catalog/default.yaml from the working
// directory up, as in a checkout of the repository.
func findCatalogue() (string, error) {
	d, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("bench: %w", err)
	}
	for {
		p := filepath.Join(d, "testdata", "catalog", "default.yaml")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		up := filepath.Dir(d)
		if up == d {
			return "", fmt.Errorf("%w: no testdata/catalog/default.yaml in the working directory or above it; give --catalog", errUsage)
		}
		d = up
	}
}
