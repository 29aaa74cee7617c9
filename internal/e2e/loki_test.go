package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/golang/snappy"
	"google.golang.org/protobuf/encoding/protowire"
)

// lokiClient pushes log entries the way Promtail and Grafana Alloy do:
// POST /loki/api/v1/push, a snappy-compressed (block format) protobuf
// PushRequest, batched up to a size, retried with backoff on 429 and 5xx
// (honouring Retry-After), authenticated with a bearer token.
//
// No third-party Loki client was practical here (grafana/loki-client-go
// pulls in Prometheus and gRPC; loki/pkg/push pulls in gRPC; winston-loki
// needs npm at test time), so the encoding is written from Loki's
// pkg/push/push.proto, independently of the server's decoder
// (server/internal/loki):
//
//	message PushRequest   { repeated StreamAdapter streams = 1; }
//	message StreamAdapter { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }
//	message EntryAdapter  { google.protobuf.Timestamp timestamp = 1; string line = 2; }
//	message Timestamp     { int64 seconds = 1; int32 nanos = 2; }
type lokiClient struct {
	url, token string
	labels     string // e.g. {job="openstack", host="controller"}
	batchBytes int    // flush when a batch's lines reach this many bytes
	http       *http.Client
	pending    []lokiEntry
	size       int
	requests   int // pushes acknowledged
}

type lokiEntry struct {
	t    time.Time
	line string
}

// add queues an entry, pushing the batch when it is full.
func (c *lokiClient) add(ctx context.Context, t time.Time, line string) error {
	c.pending = append(c.pending, lokiEntry{t, line})
	c.size += len(line)
	if c.size >= c.batchBytes {
		return c.flush(ctx)
	}
	return nil
}

// flush pushes the queued entries.
func (c *lokiClient) flush(ctx context.Context) error {
	if len(c.pending) == 0 {
		return nil
	}
	body := snappy.Encode(nil, encodePush(c.labels, c.pending))
	backoff := 100 * time.Millisecond
	for try := 0; ; try++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url+"/loki/api/v1/push", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-protobuf")
		req.Header.Set("User-Agent", "hisoka-e2e-loki-client")
		req.Header.Set("Authorization", "Bearer "+c.token)
		resp, err := c.http.Do(req)
		if err != nil {
			return err
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		switch {
		case resp.StatusCode/100 == 2:
			c.pending, c.size = c.pending[:0], 0
			c.requests++
			return nil
		case (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500) && try < 20:
			wait := backoff
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
				wait = time.Duration(s) * time.Second
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
			backoff = min(2*backoff, 5*time.Second)
		default:
			return fmt.Errorf("loki push: %d %s", resp.StatusCode, bytes.TrimSpace(msg))
		}
	}
}

// encodePush is the PushRequest of one stream.
func encodePush(labels string, entries []lokiEntry) []byte {
	var stream []byte
	stream = protowire.AppendTag(stream, 1, protowire.BytesType)
	stream = protowire.AppendString(stream, labels)
	for _, e := range entries {
		var ts []byte
		ts = protowire.AppendTag(ts, 1, protowire.VarintType)
		ts = protowire.AppendVarint(ts, uint64(e.t.Unix()))
		if n := e.t.Nanosecond(); n != 0 {
			ts = protowire.AppendTag(ts, 2, protowire.VarintType)
			ts = protowire.AppendVarint(ts, uint64(n))
		}
		var entry []byte
		entry = protowire.AppendTag(entry, 1, protowire.BytesType)
		entry = protowire.AppendBytes(entry, ts)
		entry = protowire.AppendTag(entry, 2, protowire.BytesType)
		entry = protowire.AppendString(entry, e.line)
		stream = protowire.AppendTag(stream, 2, protowire.BytesType)
		stream = protowire.AppendBytes(stream, entry)
	}
	var req []byte
	req = protowire.AppendTag(req, 1, protowire.BytesType)
	return protowire.AppendBytes(req, stream)
}
