package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hisoka-project/hisoka/tenantclient"
)

// JournalFile is the state directory's record of what this tenant's
// machine verified: every notification poll and ui received, and every
// verification failure they met. The SDK hands a notification out once;
// the journal is what lets the dashboard show it afterwards. It holds no
// key and no token, and is written 0600 like the rest of the state.
const JournalFile = "journal.jsonl"

// maxJournalLine bounds one journal line (a notification is a few hundred
// bytes; a failure's message is bounded by maxFailureMessage).
const maxJournalLine = 64 << 10

// maxFailureMessage bounds the message kept for a failure.
const maxFailureMessage = 2048

// errJournal reports a journal line that does not parse.
var errJournal = errors.New("hisoka-tenant: bad journal")

// journalEntry is one line of the journal: a notification or a failure.
type journalEntry struct {
	At           time.Time                  `json:"at"`
	Notification *tenantclient.Notification `json:"notification,omitempty"`
	Failure      *failureRecord             `json:"failure,omitempty"`
}

// failureRecord is a verification failure as the journal keeps it: its
// classes (see failureClasses) and the SDK's message, which never carries
// keys, tokens, tenant ids or log lines.
type failureRecord struct {
	Classes []string `json:"classes"`
	Message string   `json:"message"`
}

// failure is one or more consecutive identical failures, as shown.
type failure struct {
	failureRecord
	First, Last time.Time
	Count       int
}

// verificationClasses names the SDK errors that mean the server (or
// someone between) lied, in the order a joined error lists its classes.
var verificationClasses = []struct {
	err  error
	name string
}{
	{tenantclient.ErrTampered, "tampered"},
	{tenantclient.ErrWithheld, "withheld"},
	{tenantclient.ErrReplayed, "replayed"},
	{tenantclient.ErrReordered, "reordered"},
	{tenantclient.ErrKeyMismatch, "key mismatch"},
	{tenantclient.ErrKeyChanged, "key changed"},
	{tenantclient.ErrBoardKeyChanged, "board key changed"},
	{tenantclient.ErrLedgerKeyChanged, "ledger key changed"},
	{tenantclient.ErrLogForked, "forked log"},
	{tenantclient.ErrLogProof, "log proof"},
}

// failureClasses returns the verification classes err belongs to; none
// for a transport or configuration error.
func failureClasses(err error) []string {
	var out []string
	for _, c := range verificationClasses {
		if errors.Is(err, c.err) {
			out = append(out, c.name)
		}
	}
	return out
}

// journal is the loaded journal of a state directory, kept in memory and
// appended to on disk. Its methods are safe for concurrent use.
type journal struct {
	path string

	mu            sync.Mutex
	notifications []journaledNotification // oldest first
	seen          map[notificationKey]bool
	// perSubscription counts the notifications by subscription id.
	perSubscription map[string]int
	failures        []failure // oldest first, identical consecutive ones merged
}

// journaledNotification is a notification with the time it was verified.
type journaledNotification struct {
	tenantclient.Notification
	At time.Time
}

// notificationKey identifies an occurrence (as the SDK's own delivery
// bookkeeping does), so one delivered twice after a crash is shown once.
type notificationKey struct {
	sub                         string
	seq, period, epoch, counter uint64
}

func keyOf(n *tenantclient.Notification) notificationKey {
	return notificationKey{n.Subscription, n.Seq, n.Period, n.Epoch, n.Counter}
}

// journalAt returns dir's journal without reading it: for a command that
// only appends (a duplicate line is harmless, loading drops it).
func journalAt(dir string) *journal {
	return &journal{path: filepath.Join(dir, JournalFile), seen: map[notificationKey]bool{}, perSubscription: map[string]int{}}
}

// openJournal loads dir's journal (none yet is an empty one).
func openJournal(dir string) (*journal, error) {
	j := journalAt(dir)
	f, err := os.Open(j.path)
	if errors.Is(err, fs.ErrNotExist) {
		return j, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries, err := parseJournal(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", j.path, err)
	}
	for _, e := range entries {
		j.apply(e)
	}
	return j, nil
}

// parseJournal reads journal lines. A last line without its newline is a
// write cut short by a crash and is ignored; any other line that does not
// parse, or holds neither or both of a notification and a failure, is an
// error.
func parseJournal(r io.Reader) ([]journalEntry, error) {
	br := bufio.NewReaderSize(r, 4096)
	var out []journalEntry
	for n := 1; ; n++ {
		line, err := readLine(br)
		if errors.Is(err, io.EOF) {
			return out, nil // a torn last line is dropped with it
		}
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", errJournal, n, err)
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var e journalEntry
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil || dec.More() {
			return nil, fmt.Errorf("%w: line %d does not parse", errJournal, n)
		}
		if (e.Notification == nil) == (e.Failure == nil) || e.At.IsZero() ||
			(e.Failure != nil && (len(e.Failure.Classes) == 0 || len(e.Failure.Message) > maxFailureMessage)) {
			return nil, fmt.Errorf("%w: line %d is not an entry", errJournal, n)
		}
		out = append(out, e)
	}
}

// readLine reads one newline-terminated line of at most maxJournalLine
// bytes; io.EOF when no complete line is left.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxJournalLine {
			return nil, errors.New("line too long")
		}
		switch {
		case err == nil:
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return nil, io.EOF
		default:
			return nil, err
		}
	}
}

// apply adds an entry to the in-memory view.
func (j *journal) apply(e journalEntry) {
	switch {
	case e.Notification != nil:
		k := keyOf(e.Notification)
		if j.seen[k] {
			return
		}
		j.seen[k] = true
		j.perSubscription[e.Notification.Subscription]++
		j.notifications = append(j.notifications, journaledNotification{*e.Notification, e.At})
	case e.Failure != nil:
		if n := len(j.failures); n > 0 {
			last := &j.failures[n-1]
			if last.Message == e.Failure.Message && slices.Equal(last.Classes, e.Failure.Classes) {
				last.Last = e.At
				last.Count++
				return
			}
		}
		j.failures = append(j.failures, failure{failureRecord: *e.Failure, First: e.At, Last: e.At, Count: 1})
	}
}

// append writes e to the journal file (created 0600), syncs it, and adds it
// to the in-memory view. The view is updated even when the write fails, so
// the running dashboard still shows what was verified.
func (j *journal) append(e journalEntry) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.apply(e)
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(j.path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	err = dropTornLine(f)
	if err == nil {
		_, err = f.Write(append(line, '\n'))
	}
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

// dropTornLine cuts a last line without its newline (a write a crash cut
// short) off f, so the next line is not glued to it.
func dropTornLine(f *os.File) error {
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return err
	}
	size := fi.Size()
	last := make([]byte, 1)
	if _, err := f.ReadAt(last, size-1); err != nil || last[0] == '\n' {
		return err
	}
	tail := make([]byte, min(size, maxJournalLine+1))
	if _, err := f.ReadAt(tail, size-int64(len(tail))); err != nil {
		return err
	}
	i := bytes.LastIndexByte(tail, '\n')
	if i < 0 && size > int64(len(tail)) {
		return fmt.Errorf("%w: last line too long", errJournal)
	}
	return f.Truncate(size - int64(len(tail)) + int64(i) + 1)
}

// addNotification records a verified notification.
func (j *journal) addNotification(at time.Time, n tenantclient.Notification) error {
	if j.has(&n) {
		return nil
	}
	return j.append(journalEntry{At: at.UTC(), Notification: &n})
}

func (j *journal) has(n *tenantclient.Notification) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.seen[keyOf(n)]
}

// addFailure records err if it is a verification failure; other errors
// (transport, configuration) are not kept.
func (j *journal) addFailure(at time.Time, err error) error {
	classes := failureClasses(err)
	if len(classes) == 0 {
		return nil
	}
	return j.append(journalEntry{At: at.UTC(), Failure: &failureRecord{Classes: classes, Message: truncate(err.Error(), maxFailureMessage)}})
}

// truncate cuts s, made valid UTF-8, to at most n bytes on a character
// boundary.
func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// recent returns copies of the newest n notifications (newest first), how
// many there are in all, and the failures (newest first).
func (j *journal) recent(n int) ([]journaledNotification, int, []failure) {
	j.mu.Lock()
	defer j.mu.Unlock()
	total := len(j.notifications)
	ns := slices.Clone(j.notifications[total-min(n, total):])
	slices.Reverse(ns)
	fs := slices.Clone(j.failures)
	slices.Reverse(fs)
	return ns, total, fs
}

// received returns how many notifications each subscription received.
func (j *journal) received() map[string]int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return maps.Clone(j.perSubscription)
}
