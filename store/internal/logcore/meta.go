package logcore

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/hisoka-project/hisoka/store"
	"github.com/hisoka-project/hisoka/store/ledger"
)

// Head is a tenant's log state.
type Head struct {
	Seq       uint64      // last assigned seq
	Chain     ledger.Hash // c_Seq
	Base      uint64      // records <= Base are trimmed
	BaseChain ledger.Hash // c_Base
	Records   uint64      // retained records
	Bytes     uint64      // retained canonical bytes
}

const headLen = 8 + 32 + 8 + 32 + 8 + 8

// MarshalBinary encodes h.
func (h *Head) MarshalBinary() []byte {
	b := make([]byte, 0, headLen)
	b = binary.BigEndian.AppendUint64(b, h.Seq)
	b = append(b, h.Chain[:]...)
	b = binary.BigEndian.AppendUint64(b, h.Base)
	b = append(b, h.BaseChain[:]...)
	b = binary.BigEndian.AppendUint64(b, h.Records)
	return binary.BigEndian.AppendUint64(b, h.Bytes)
}

// UnmarshalBinary decodes h.
func (h *Head) UnmarshalBinary(b []byte) error {
	if len(b) != headLen {
		return fmt.Errorf("%w: log head", store.ErrCorrupt)
	}
	h.Seq = binary.BigEndian.Uint64(b)
	copy(h.Chain[:], b[8:40])
	h.Base = binary.BigEndian.Uint64(b[40:])
	copy(h.BaseChain[:], b[48:80])
	h.Records = binary.BigEndian.Uint64(b[80:])
	h.Bytes = binary.BigEndian.Uint64(b[88:])
	if h.Base > h.Seq || h.Records > h.Seq-h.Base {
		return fmt.Errorf("%w: log head", store.ErrCorrupt)
	}
	return nil
}

// Meta describes one block.
type Meta struct {
	First, Last      uint64
	Prev             ledger.Hash // c_{First-1}
	MinTime, MaxTime int64       // event time range, Unix ns
	Appended         int64       // store clock at append, Unix ns
	RawBytes         uint64      // canonical bytes of the records
	Buckets          []int64     // hour buckets of the records' event times
	Bloom            []byte      // Bloom filter of terms and fields
}

// Block is a meta and its compressed records.
type Block struct {
	Meta
	Data []byte
}

const maxBuckets = 1 << 16

// MarshalBinary encodes m.
func (m *Meta) MarshalBinary() []byte {
	b := make([]byte, 0, 96+8*len(m.Buckets)+len(m.Bloom))
	b = binary.BigEndian.AppendUint64(b, m.First)
	b = binary.BigEndian.AppendUint64(b, m.Last)
	b = append(b, m.Prev[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(m.MinTime))
	b = binary.BigEndian.AppendUint64(b, uint64(m.MaxTime))
	b = binary.BigEndian.AppendUint64(b, uint64(m.Appended))
	b = binary.BigEndian.AppendUint64(b, m.RawBytes)
	b = binary.AppendUvarint(b, uint64(len(m.Buckets)))
	for _, k := range m.Buckets {
		b = binary.BigEndian.AppendUint64(b, uint64(k))
	}
	b = binary.AppendUvarint(b, uint64(len(m.Bloom)))
	return append(b, m.Bloom...)
}

var errMeta = fmt.Errorf("%w: block meta", store.ErrCorrupt)

// UnmarshalBinary decodes m and returns the bytes after it.
func (m *Meta) UnmarshalBinary(b []byte) ([]byte, error) {
	if len(b) < 80 {
		return nil, errMeta
	}
	m.First = binary.BigEndian.Uint64(b)
	m.Last = binary.BigEndian.Uint64(b[8:])
	copy(m.Prev[:], b[16:48])
	m.MinTime = int64(binary.BigEndian.Uint64(b[48:]))
	m.MaxTime = int64(binary.BigEndian.Uint64(b[56:]))
	m.Appended = int64(binary.BigEndian.Uint64(b[64:]))
	m.RawBytes = binary.BigEndian.Uint64(b[72:])
	b = b[80:]
	n, k := uvarint(b)
	if k <= 0 || n > maxBuckets || uint64(len(b)-k) < n*8 {
		return nil, errMeta
	}
	b = b[k:]
	m.Buckets = make([]int64, n)
	for i := range m.Buckets {
		m.Buckets[i] = int64(binary.BigEndian.Uint64(b))
		b = b[8:]
	}
	n, k = uvarint(b)
	if k <= 0 || uint64(len(b)-k) < n {
		return nil, errMeta
	}
	m.Bloom = append([]byte(nil), b[k:k+int(n)]...)
	if m.First == 0 || m.Last < m.First || m.Last-m.First >= MaxBlockRecords {
		return nil, errMeta
	}
	return b[k+int(n):], nil
}

// MarshalBinary encodes a block as meta then data (the RowLogBlock value).
func (b *Block) MarshalBinary() []byte {
	return append(b.Meta.MarshalBinary(), b.Data...)
}

// UnmarshalBinary decodes a block.
func (b *Block) UnmarshalBinary(p []byte) error {
	rest, err := b.Meta.UnmarshalBinary(p)
	if err != nil {
		return err
	}
	b.Data = append([]byte(nil), rest...)
	return nil
}

var errStop = errors.New("stop")

// uvarint is binary.Uvarint accepting only the minimal encoding, so that
// every accepted input re-encodes to itself.
func uvarint(b []byte) (uint64, int) {
	v, n := binary.Uvarint(b)
	if n > 1 && b[n-1] == 0 {
		return 0, -1
	}
	return v, n
}
