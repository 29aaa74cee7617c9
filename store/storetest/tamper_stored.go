package storetest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"slices"
	"testing"

	"github.com/hisoka-project/hisoka/store"
	"github.com/hisoka-project/hisoka/store/backup"
	"github.com/hisoka-project/hisoka/store/internal/logcore"
	"github.com/hisoka-project/hisoka/store/ledger"
)

// blockCodec is what the backends' shared log core offers for reaching into
// stored blocks.
type blockCodec interface {
	BlockRecords(b *logcore.Block) ([]store.Record, error)
	EncodeBlockRecords(b *logcore.Block, rs []store.Record)
}

// testTamperStored changes the stored data itself (through a dump, an edit
// and a load into a fresh store, which writes the backend's own keys) and
// checks that the tenant's verification of the retained range fails.
func testTamperStored(t *testing.T, f Factory) {
	src, clock := open(t, f)
	ctx := context.Background()
	pub := Key().Public().(ed25519.PublicKey)
	for i := 0; i < 3; i++ {
		mustAppend(t, src, "v", recs(40, i*40, clock.Now(), 0))
	}
	if _, err := src.Checkpoint(ctx, "v"); err != nil {
		t.Fatal(err)
	}
	var rows []store.Row
	if err := src.Dump(ctx, "v", func(r store.Row) error { rows = append(rows, r); return nil }); err != nil {
		t.Fatal(err)
	}
	codec, ok := src.(blockCodec)
	if !ok {
		t.Fatal("backend does not embed the log core")
	}
	editBlock := func(rows []store.Row, which int, edit func([]store.Record) []store.Record) []store.Row {
		out := slices.Clone(rows)
		n := 0
		for i, r := range out {
			if r.Kind != store.RowLogBlock {
				continue
			}
			if n++; n-1 != which {
				continue
			}
			var b logcore.Block
			if err := b.UnmarshalBinary(r.Value); err != nil {
				t.Fatal(err)
			}
			rs, err := codec.BlockRecords(&b)
			if err != nil {
				t.Fatal(err)
			}
			codec.EncodeBlockRecords(&b, edit(rs))
			out[i].Value = b.MarshalBinary()
		}
		return out
	}
	dropKind := func(rows []store.Row, kind store.RowKind, which int) []store.Row {
		var out []store.Row
		n := 0
		for _, r := range rows {
			if r.Kind == kind {
				n++
				if n-1 == which {
					continue
				}
			}
			out = append(out, r)
		}
		return out
	}
	cases := []struct {
		name string
		rows []store.Row
		want error
	}{
		{"untouched", rows, nil},
		{"record line altered", editBlock(rows, 1, func(rs []store.Record) []store.Record {
			rs[5].Line = "nothing happened here"
			return rs
		}), ledger.ErrAltered},
		{"record time altered", editBlock(rows, 0, func(rs []store.Record) []store.Record {
			rs[0].Time = rs[0].Time.Add(1)
			return rs
		}), ledger.ErrAltered},
		{"records swapped", editBlock(rows, 2, func(rs []store.Record) []store.Record {
			rs[1], rs[2] = rs[2], rs[1]
			rs[1].Seq, rs[2].Seq = rs[2].Seq, rs[1].Seq
			return rs
		}), ledger.ErrAltered},
		{"block deleted", dropKind(rows, store.RowLogBlock, 1), ledger.ErrDeleted},
		{"checkpoint altered", func() []store.Row {
			out := slices.Clone(rows)
			for i, r := range out {
				if r.Kind == store.RowCheckpoint {
					v := bytes.Clone(r.Value)
					v[len(v)-80] ^= 1 // inside the head (head, time, sig length, sig end the encoding)
					out[i].Value = v
				}
			}
			return out
		}(), ledger.ErrBadCheckpoint},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dst, _ := open(t, f)
			if err := dst.Load(ctx, c.rows); err != nil {
				t.Fatal(err)
			}
			err := backup.Verify(ctx, dst, pub, []string{"v"})
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("verify after tampering: %v, want %v", err, c.want)
			}
		})
	}
}
