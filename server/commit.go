package server

import (
	"context"
	"sync"

	"github.com/hisoka-project/hisoka/store"
)

// maxCommitRecords bounds one group commit.
const maxCommitRecords = 65536

// committer makes concurrent appends to one stream durable together (group
// commit): the first caller to find no append running becomes the leader
// and appends everything queued meanwhile as one batch, one synced write,
// until the queue is empty. Every caller returns once its own records are
// durable, with their sequence numbers.
type committer struct {
	mu      sync.Mutex
	pending []*commitReq
	running bool
}

type commitReq struct {
	recs        []store.Record
	first, last uint64
	err         error
	done        chan struct{}
}

type committers struct {
	mu sync.Mutex
	m  map[string]*committer
}

func (c *committers) get(stream string) *committer {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*committer{}
	}
	x, ok := c.m[stream]
	if !ok {
		x = &committer{}
		c.m[stream] = x
	}
	return x
}

// append makes recs durable in stream through the stream's committer. The
// write, once queued, is not abandoned when ctx ends (other callers' records
// may share it).
func (c *committer) append(ctx context.Context, st store.Appender, stream string, recs []store.Record) (uint64, uint64, error) {
	req := &commitReq{recs: recs, done: make(chan struct{})}
	c.mu.Lock()
	c.pending = append(c.pending, req)
	if c.running {
		c.mu.Unlock()
		<-req.done
		return req.first, req.last, req.err
	}
	c.running = true
	c.mu.Unlock()
	wctx := context.WithoutCancel(ctx)
	for {
		c.mu.Lock()
		var batch []*commitReq
		n := 0
		for len(c.pending) > 0 && (len(batch) == 0 || n+len(c.pending[0].recs) <= maxCommitRecords) {
			n += len(c.pending[0].recs)
			batch = append(batch, c.pending[0])
			c.pending = c.pending[1:]
		}
		if len(batch) == 0 {
			c.running = false
			c.pending = nil
			c.mu.Unlock()
			break
		}
		c.mu.Unlock()
		all := batch[0].recs
		if len(batch) > 1 {
			all = make([]store.Record, 0, n)
			for _, r := range batch {
				all = append(all, r.recs...)
			}
		}
		first, _, err := st.Append(wctx, stream, all)
		for _, r := range batch {
			r.err = err
			if err == nil {
				r.first, r.last = first, first+uint64(len(r.recs))-1
				first += uint64(len(r.recs))
			}
			close(r.done)
		}
	}
	<-req.done
	return req.first, req.last, req.err
}
