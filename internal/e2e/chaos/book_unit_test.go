package chaos_test

import (
	"slices"
	"strings"
	"testing"
)

// TestBookAudit: the audit finds each kind of wrong store the crash test
// must catch, and declares pending lines lost only after a crash.
func TestBookAudit(t *testing.T) {
	// Lines 0-1 acknowledged, 2-3 refused, 4-5 pending, 6 never sent.
	setup := func() *book {
		b := newBook("s", 0)
		b.reserve(7)
		b.mark([]int{0, 1}, acked)
		b.mark([]int{2, 3}, refused)
		b.mark([]int{4, 5}, pending)
		return b
	}
	for _, tc := range []struct {
		name   string
		stored map[int]int
		crash  bool
		want   []string // substrings of the problems, in any order
		lost   []int
		wait   int
	}{
		{"all well, pending on their way", map[int]int{0: 1, 1: 1}, false, nil, nil, 2},
		{"pending stored", map[int]int{0: 1, 1: 1, 4: 1, 5: 1}, false, nil, nil, 0},
		{"pending lost in a crash", map[int]int{0: 1, 1: 1, 4: 1}, true, nil, []int{5}, 0},
		{"acknowledged line missing", map[int]int{0: 1}, false, []string{"line 1 was acknowledged but is not stored"}, nil, 2},
		{"acknowledged line twice", map[int]int{0: 2, 1: 1}, false, []string{"line 0 (acknowledged) is stored 2 times"}, nil, 2},
		{"pending line twice", map[int]int{0: 1, 1: 1, 4: 2}, false, []string{"line 4 (pending) is stored 2 times"}, nil, 1},
		{"refused line stored", map[int]int{0: 1, 1: 1, 3: 1}, false, []string{"line 3 was refused but is stored"}, nil, 2},
		{"line never sent", map[int]int{0: 1, 1: 1, 6: 1}, false, []string{"line 6 is stored 1 times but was never sent"}, nil, 2},
		{"line out of range", map[int]int{0: 1, 1: 1, 99: 1}, false, []string{"line 99 is stored 1 times but was never sent"}, nil, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := setup()
			probs, lost, wait := b.audit(tc.stored, tc.crash)
			if len(probs) != len(tc.want) {
				t.Fatalf("problems %q, want %q", probs, tc.want)
			}
			for _, w := range tc.want {
				if !slices.ContainsFunc(probs, func(p string) bool { return strings.Contains(p, w) }) {
					t.Errorf("problems %q lack %q", probs, w)
				}
			}
			if !slices.Equal(lost, tc.lost) || wait != tc.wait {
				t.Errorf("lost %v waiting %d, want %v %d", lost, wait, tc.lost, tc.wait)
			}
		})
	}

	// What an audit found stays owed; what a crash lost must not come back.
	b := setup()
	if probs, _, _ := b.audit(map[int]int{0: 1, 1: 1, 4: 1}, true); len(probs) != 0 {
		t.Fatal(probs)
	}
	probs, _, _ := b.audit(map[int]int{0: 1, 1: 1, 5: 1}, false)
	if len(probs) != 2 || !slices.ContainsFunc(probs, func(p string) bool { return strings.Contains(p, "line 4 was found stored by an earlier audit") }) ||
		!slices.ContainsFunc(probs, func(p string) bool { return strings.Contains(p, "line 5 was missing after a crash") }) {
		t.Fatalf("second audit: %q", probs)
	}
	// A lost line sent again and acknowledged is owed again.
	b.mark([]int{5}, acked)
	if probs, _, _ := b.audit(map[int]int{0: 1, 1: 1, 4: 1, 5: 1}, false); len(probs) != 0 {
		t.Fatal(probs)
	}
}
