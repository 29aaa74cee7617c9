package logcore

import "github.com/cespare/xxhash/v2"

// hashSet is an open-addressing set of non-zero 64-bit hashes, reused
// between blocks.
type hashSet struct {
	slots []uint64
	n     int
	zero  bool // whether the hash 0 was added
}

func (s *hashSet) reset() {
	clear(s.slots)
	s.n, s.zero = 0, false
}

func (s *hashSet) add(h uint64) {
	if h == 0 {
		s.zero = true
		return
	}
	if 2*(s.n+1) > len(s.slots) {
		s.grow()
	}
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case h:
			return
		case 0:
			s.slots[i] = h
			s.n++
			return
		}
	}
}

// addBytes adds the xxhash of b.
func (s *hashSet) addBytes(b []byte) { s.add(xxhash.Sum64(b)) }

func (s *hashSet) grow() {
	old := s.slots
	size := 2 * len(old)
	if size < 1024 {
		size = 1024
	}
	s.slots = make([]uint64, size)
	s.n = 0
	for _, h := range old {
		if h != 0 {
			s.add(h)
		}
	}
}

// each calls fn for every hash in the set.
func (s *hashSet) each(fn func(uint64)) {
	if s.zero {
		fn(0)
	}
	for _, h := range s.slots {
		if h != 0 {
			fn(h)
		}
	}
}

func (s *hashSet) len() int {
	if s.zero {
		return s.n + 1
	}
	return s.n
}
