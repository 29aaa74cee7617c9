package logcore

import "github.com/cespare/xxhash/v2"

const bloomK = 7

// bloom is a Bloom filter over strings with double hashing of xxhash64.
type bloom []byte

func newBloom(n int) bloom {
	bits := n * 10
	if bits < 512 {
		bits = 512
	}
	return make(bloom, (bits+7)/8)
}

func (b bloom) add(s string) { b.addHash(xxhash.Sum64String(s)) }

func (b bloom) addHash(h uint64) {
	h1, h2 := uint32(h), uint32(h>>32)|1
	m := uint32(len(b) * 8)
	for i := uint32(0); i < bloomK; i++ {
		p := (h1 + i*h2) % m
		b[p/8] |= 1 << (p % 8)
	}
}

func (b bloom) has(s string) bool {
	if len(b) == 0 {
		return true
	}
	h := xxhash.Sum64String(s)
	h1, h2 := uint32(h), uint32(h>>32)|1
	m := uint32(len(b) * 8)
	for i := uint32(0); i < bloomK; i++ {
		p := (h1 + i*h2) % m
		if b[p/8]&(1<<(p%8)) == 0 {
			return false
		}
	}
	return true
}

func fieldKey(k, v string) string { return "\x01" + k + "\x00" + v }

// appendFieldKey appends fieldKey(k, v) to b.
func appendFieldKey(b []byte, k, v string) []byte {
	b = append(b, 1)
	b = append(b, k...)
	b = append(b, 0)
	return append(b, v...)
}
