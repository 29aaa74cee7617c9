package backup

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hisoka-project/hisoka/store"
)

// rows is a minimal in-memory Dumper/Loader for the file format tests; the
// behaviour suite (store/storetest) runs backups against the real backends.
type rows []store.Row

func (r rows) Dump(ctx context.Context, tenant string, fn func(store.Row) error) error {
	for _, x := range r {
		if tenant == "" || x.Tenant == tenant {
			if err := fn(x); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *rows) Load(ctx context.Context, in []store.Row) error {
	*r = append(*r, in...)
	return nil
}

var sample = rows{
	{Kind: store.RowTenant, Tenant: "a", Value: []byte(`{"ID":"a"}`)},
	{Kind: store.RowKey, Key: []byte("k"), Value: bytes.Repeat([]byte{7}, 100)},
	{Kind: store.RowCounter, Tenant: "a:b", Key: []byte("p"), Value: []byte("3")},
}

func write(t testing.TB, src store.Dumper, tenant string) []byte {
	var buf bytes.Buffer
	if _, err := Write(context.Background(), src, tenant, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	b := write(t, sample, "")
	var got rows
	st, err := Restore(context.Background(), &got, bytes.NewReader(b))
	if err != nil || st.Rows != 3 || len(got) != 3 {
		t.Fatalf("restore: %+v %v", st, err)
	}
	for i := range got {
		if got[i].Kind != sample[i].Kind || got[i].Tenant != sample[i].Tenant || !bytes.Equal(got[i].Value, sample[i].Value) {
			t.Fatalf("row %d differs", i)
		}
	}
	one := write(t, sample, "a:b")
	if st, err := Check(bytes.NewReader(one)); err != nil || st.Rows != 1 {
		t.Fatalf("tenant backup: %+v %v", st, err)
	}
}

func TestDamaged(t *testing.T) {
	b := write(t, sample, "")
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"truncated", b[:len(b)-5]},
		{"flipped byte", func() []byte { c := bytes.Clone(b); c[len(c)/2] ^= 1; return c }()},
		{"not zstd", []byte("HISOKA-BACKUP-1\n")},
	}
	for _, tt := range tests {
		var got rows
		if _, err := Restore(context.Background(), &got, bytes.NewReader(tt.b)); err == nil {
			t.Errorf("%s: restored", tt.name)
		}
		if len(got) != 0 {
			t.Errorf("%s: loaded %d rows before failing", tt.name, len(got))
		}
	}
}

func TestSchedule(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	s := &Schedule{Src: sample, Dir: dir, Keep: 48 * time.Hour, Now: func() time.Time { return now }}
	var paths []string
	for i := 0; i < 5; i++ {
		p, err := s.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
		now = now.Add(24 * time.Hour)
	}
	left, _ := s.List()
	// Runs at day 0..4; the last run (day 4) keeps days 2, 3, 4.
	if len(left) != 3 || left[0] != paths[2] {
		t.Fatalf("kept %v", left)
	}
	f, err := os.Open(left[2])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := Check(f); err != nil {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".tmp-*")); len(m) != 0 {
		t.Fatalf("temporary files left: %v", m)
	}
}

func FuzzCheck(f *testing.F) {
	f.Add(write(f, sample, ""))
	f.Add(write(f, rows{}, ""))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := Check(bytes.NewReader(b))
		if err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("unnamed error %v", err)
		}
		_ = st
	})
}
