package chaos_test

import (
	"fmt"
	"sync"
)

// outcome is what the test knows about one numbered line.
type outcome uint8

const (
	unsent  outcome = iota
	pending         // sent with no answer (no HTTP status, or syslog): stored at most once
	acked           // HTTP 2xx: stored exactly once, from then on
	refused         // HTTP 4xx (429): not stored
	lost            // pending when the server died and absent after the restart: never stored
)

func (o outcome) String() string {
	return [...]string{"unsent", "pending", "acknowledged", "refused", "lost"}[o]
}

// book keeps, for every numbered line of one stream, the latest outcome of
// its latest sending, and whether an audit found it stored. It is the
// ground truth audits compare the store with:
//
//   - acknowledged lines, and pending lines an audit once found, are stored
//     exactly once in every later audit (durable means durable);
//   - pending lines are stored at most once;
//   - refused and lost lines, and numbers never sent, are not stored;
//   - after a crash, pending lines that are not stored become lost (the
//     process that had them is gone), and a sender may send them again.
type book struct {
	name string

	mu    sync.Mutex
	state []outcome
	found []bool // stored at an earlier audit
}

func newBook(name string, n int) *book {
	return &book{name: name, state: make([]outcome, n), found: make([]bool, n)}
}

// reserve numbers n new lines and returns the first number.
func (b *book) reserve(n int) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	first := len(b.state)
	b.state = append(b.state, make([]outcome, n)...)
	b.found = append(b.found, make([]bool, n)...)
	return first
}

// mark records o for the lines numbered ns.
func (b *book) mark(ns []int, o outcome) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, n := range ns {
		b.state[n] = o
	}
}

// tally counts the lines in each outcome, telling pending lines found
// stored from the others.
func (b *book) tally() map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := map[string]int{}
	for n, o := range b.state {
		k := o.String()
		if o == pending && b.found[n] {
			k = "unanswered but stored"
		}
		m[k]++
	}
	return m
}

// audit compares stored (how many times each number is in the store) with
// the book. afterCrash says every sender of the previous run is gone, so
// pending lines that are not stored are lost. It returns the problems
// found, the lines it declared lost (in order), and how many pending lines
// are still not stored (with a live server, they may be on their way).
func (b *book) audit(stored map[int]int, afterCrash bool) (problems []string, newlyLost []int, waiting int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for n, c := range stored {
		switch {
		case n < 0 || n >= len(b.state) || b.state[n] == unsent:
			problems = append(problems, fmt.Sprintf("%s: line %d is stored %d times but was never sent", b.name, n, c))
		case c > 1:
			problems = append(problems, fmt.Sprintf("%s: line %d (%s) is stored %d times", b.name, n, b.state[n], c))
		case b.state[n] == refused:
			problems = append(problems, fmt.Sprintf("%s: line %d was refused but is stored", b.name, n))
		case b.state[n] == lost:
			problems = append(problems, fmt.Sprintf("%s: line %d was missing after a crash and is stored now", b.name, n))
		}
	}
	for n, o := range b.state {
		c := stored[n]
		switch {
		case (o == acked || b.found[n]) && c == 0:
			why := "acknowledged"
			if o != acked {
				why = "found stored by an earlier audit"
			}
			problems = append(problems, fmt.Sprintf("%s: line %d was %s but is not stored", b.name, n, why))
		case c > 0 && (o == acked || o == pending):
			b.found[n] = true
		case o == pending && afterCrash:
			b.state[n] = lost
			newlyLost = append(newlyLost, n)
		case o == pending:
			waiting++
		}
	}
	return problems, newlyLost, waiting
}
