package backup

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hisoka-project/hisoka/store"
)

const (
	filePrefix = "hisoka-"
	fileSuffix = ".hbk.zst"
	stampFmt   = "20060102T150405.000000000Z"
)

// Schedule takes scheduled backups into Dir and keeps them for Keep. The
// server calls Run on a timer.
type Schedule struct {
	Src    store.Dumper
	Dir    string
	Keep   time.Duration
	Tenant string           // "" for everything
	Now    func() time.Time // default time.Now
}

// Run writes one backup (to a temporary file, synced, then renamed) and
// removes the backups older than Keep. It returns the new file's path.
func (s *Schedule) Run(ctx context.Context) (string, error) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	t := now().UTC()
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return "", err
	}
	name := filepath.Join(s.Dir, filePrefix+t.Format(stampFmt)+fileSuffix)
	f, err := os.CreateTemp(s.Dir, ".tmp-backup-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	if _, err := Write(ctx, s.Src, s.Tenant, f); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(f.Name(), name); err != nil {
		return "", err
	}
	if d, err := os.Open(s.Dir); err == nil {
		d.Sync()
		d.Close()
	}
	if s.Keep > 0 {
		if err := s.prune(t.Add(-s.Keep)); err != nil {
			return name, err
		}
	}
	return name, nil
}

// List returns the backups in Dir, oldest first.
func (s *Schedule) List() ([]string, error) {
	ents, err := os.ReadDir(s.Dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if _, ok := stamp(e.Name()); ok {
			out = append(out, filepath.Join(s.Dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

func stamp(name string) (time.Time, bool) {
	if !strings.HasPrefix(name, filePrefix) || !strings.HasSuffix(name, fileSuffix) {
		return time.Time{}, false
	}
	t, err := time.Parse(stampFmt, strings.TrimSuffix(strings.TrimPrefix(name, filePrefix), fileSuffix))
	return t, err == nil
}

func (s *Schedule) prune(before time.Time) error {
	files, err := s.List()
	if err != nil {
		return err
	}
	for _, f := range files {
		if t, _ := stamp(filepath.Base(f)); t.Before(before) {
			if err := os.Remove(f); err != nil {
				return fmt.Errorf("backup: prune: %w", err)
			}
		}
	}
	return nil
}
