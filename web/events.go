package web

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"troopmap/layers"
)

// Live changes go out as Server-Sent Events. The hub fans each commit's
// events out to every connected client through a bounded channel; a client
// whose channel is full is dropped, so a slow reader never blocks a writer.

// clientBuffer is how many commits a client may fall behind before it is
// dropped.
const clientBuffer = 64

// replayEvents is how many recent events the hub keeps (whole commits, and
// always the latest commit) for clients that reconnect with Last-Event-ID.
const replayEvents = 4096

// An event is numbered by its commit and its index in the commit. Commit
// numbers start at the hub's start time in microseconds, so that they keep
// rising across restarts. The id a client sees is that pair encrypted with
// a key made at start: plain numbers would let an anonymous subscriber
// count, by the gaps, the commits and events it is not shown. An id from an
// earlier run (another key) or made up decrypts to nothing held.

type hub struct {
	mu        sync.Mutex
	clients   map[*sseClient]struct{}
	closed    bool
	base      uint64       // commit number before the first commit
	seq       uint64       // the latest commit's number
	ring      []eventBatch // the latest commits, oldest first
	ringSize  int          // events in ring
	dropped   eventBatch   // the last commit to leave the ring: its seq, and its size in from
	replayCap int          // replayEvents, or less in tests
	ids       cipher.Block // encrypts event ids
}

type sseClient struct {
	ch   chan eventBatch
	gone chan struct{} // closed when the hub drops the client or shuts down
}

type eventBatch struct {
	seq    uint64
	events []layers.Event
	from   int // the first event to send (a replay may start inside a commit)
}

func newHub() *hub {
	base := uint64(time.Now().UnixMicro())
	key := make([]byte, 16)
	if _, err := rand.Read(key); err != nil {
		panic(fmt.Sprintf("event id key: %v", err)) // crypto/rand does not fail on Linux
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // a 16-byte key is always valid
	}
	return &hub{clients: map[*sseClient]struct{}{}, base: base, seq: base, replayCap: replayEvents, ids: block}
}

// eventID is the id a client sees for event idx of commit seq.
func (h *hub) eventID(seq uint64, idx int) string {
	var plain, sealed [16]byte
	binary.BigEndian.PutUint64(plain[:8], seq)
	binary.BigEndian.PutUint64(plain[8:], uint64(idx))
	h.ids.Encrypt(sealed[:], plain[:])
	return hex.EncodeToString(sealed[:])
}

// publish is called by the reports service after each commit. It never
// blocks: full clients are dropped.
func (h *hub) publish(evs []layers.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	b := eventBatch{seq: h.seq, events: evs}
	h.ring = append(h.ring, b)
	h.ringSize += len(evs)
	for len(h.ring) > 1 && h.ringSize > h.replayCap {
		h.ringSize -= len(h.ring[0].events)
		h.dropped = eventBatch{seq: h.ring[0].seq, from: len(h.ring[0].events)}
		h.ring[0] = eventBatch{} // let the features go
		h.ring = h.ring[1:]
	}
	for c := range h.clients {
		select {
		case c.ch <- b:
		default:
			delete(h.clients, c)
			close(c.gone)
		}
	}
}

func (h *hub) join() (*sseClient, bool) {
	c, _, _, ok := h.joinAfter("")
	return c, ok
}

// joinAfter registers a client that has seen the events up to lastID (a
// Last-Event-ID; "" for a new client). It returns, atomically with joining,
// the events since then, or reset when they are no longer held (too old,
// from an earlier run, or an id this hub never gave out) together with the
// id of the latest event, from which the client carries on.
func (h *hub) joinAfter(lastID string) (c *sseClient, replay []eventBatch, reset string, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil, "", false
	}
	c = &sseClient{ch: make(chan eventBatch, clientBuffer), gone: make(chan struct{})}
	h.clients[c] = struct{}{}
	if lastID == "" {
		return c, nil, "", true
	}
	covered := h.seq + 1 // the oldest commit held
	if len(h.ring) > 0 {
		covered = h.ring[0].seq
	}
	seq, idx, perr := h.parseEventID(lastID)
	switch {
	case perr != nil || seq > h.seq || seq < h.base:
	case seq >= covered:
		for _, b := range h.ring {
			if b.seq == seq {
				b.from = idx + 1
			}
			if b.seq >= seq && b.from < len(b.events) {
				replay = append(replay, b)
			}
		}
		return c, replay, "", true
	case seq == h.base && covered == h.base+1,
		seq == h.dropped.seq && seq+1 == covered && idx+1 >= h.dropped.from:
		// The client had everything up to the oldest commit held (or
		// joined before the first commit): all that is held is new to it.
		return c, slices.Clone(h.ring), "", true
	}
	head := h.eventID(h.seq, 0)
	if n := len(h.ring); n > 0 {
		head = h.eventID(h.seq, len(h.ring[n-1].events)-1)
	}
	return c, nil, head, true
}

// parseEventID decrypts an event id to its commit and index.
func (h *hub) parseEventID(id string) (uint64, int, error) {
	sealed, err := hex.DecodeString(id)
	if err != nil || len(sealed) != 16 {
		return 0, 0, fmt.Errorf("event id %q: not one of this server's ids", id)
	}
	var plain [16]byte
	h.ids.Decrypt(plain[:], sealed)
	idx := binary.BigEndian.Uint64(plain[8:])
	if idx > math.MaxInt32 {
		return 0, 0, fmt.Errorf("event id %q: not one of this server's ids", id)
	}
	return binary.BigEndian.Uint64(plain[:8]), int(idx), nil
}

func (h *hub) leave(c *sseClient) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.clients[c]; ok {
		delete(h.clients, c)
		close(c.gone)
	}
}

// close ends every stream, for graceful shutdown.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for c := range h.clients {
		delete(h.clients, c)
		close(c.gone)
	}
}

// CloseStreams ends every open event stream so that a graceful shutdown
// does not wait for them; register it with http.Server.RegisterOnShutdown.
func (s *Server) CloseStreams() { s.hub.close() }

// changeEvent is the data of one SSE "change" event.
type changeEvent struct {
	Collection string     `json:"collection"`
	ID         string     `json:"id"`
	Op         layers.Op  `json:"op"`
	Version    int        `json:"version"`
	BBox       [4]float64 `json:"bbox,omitempty"`
}

// sseWriteTimeout bounds one write to a client, so that a client that
// stopped reading is cut off instead of holding its handler forever.
const sseWriteTimeout = 10 * time.Second

// handleEvents is GET /events, a text/event-stream of committed changes.
func (s *Server) handleEvents(c echo.Context) error {
	if _, err := s.Catalog(); err != nil {
		return err
	}
	// A reconnecting client names the last event it saw; it gets what it
	// missed, or a reset event when that is no longer held.
	lastID := strings.TrimSpace(c.Request().Header.Get("Last-Event-ID"))
	cl, replay, reset, ok := s.hub.joinAfter(lastID)
	if !ok {
		return layers.Errorf(layers.EUNAVAILABLE, "the server is shutting down")
	}
	defer s.hub.leave(cl)
	s.metrics.sseClients.Inc()
	defer s.metrics.sseClients.Dec()
	v := s.viewOf(c)
	w := c.Response()
	rc := http.NewResponseController(w)
	// The stream outlives the server's WriteTimeout; each write sets its own
	// deadline instead.
	if err := rc.SetWriteDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(text string) error {
		if err := rc.SetWriteDeadline(time.Now().Add(sseWriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		if _, err := w.Write([]byte(text)); err != nil {
			return err
		}
		w.Flush()
		return nil
	}
	if err := send("retry: 3000\n: connected; each committed change of a report arrives as an event named change\n\n"); err != nil {
		return nil
	}
	if reset != "" {
		// The id moves the client to the present, so that its next
		// reconnect replays from here.
		if send("id: "+reset+"\nevent: reset\ndata: {\"reason\":\"the events after Last-Event-ID are no longer held; reload everything, then follow this stream\"}\n\n") != nil {
			return nil
		}
	}
	for _, b := range replay {
		text, err := s.formatEvents(v, b)
		if err != nil {
			return err
		}
		if text != "" && send(text) != nil {
			return nil
		}
	}
	keepalive := time.NewTicker(20 * time.Second)
	defer keepalive.Stop()
	for {
		select {
		case <-ctx(c).Done():
			return nil
		case <-cl.gone:
			_ = send("event: dropped\ndata: {\"reason\":\"the client fell behind or the server is stopping; reconnect and reload\"}\n\n")
			return nil
		case <-keepalive.C:
			if send(": keepalive\n\n") != nil {
				return nil
			}
		case b := <-cl.ch:
			text, err := s.formatEvents(v, b)
			if err != nil {
				return err
			}
			if text != "" && send(text) != nil {
				return nil
			}
		}
	}
}

// formatEvents renders one commit's events that this reader may see.
func (s *Server) formatEvents(v view, b eventBatch) (string, error) {
	cat, err := s.Catalog()
	if err != nil {
		return "", nil
	}
	var out []byte
	for i, ev := range b.events {
		if i < b.from {
			continue
		}
		l, ok := cat.Layer(ev.Collection)
		if !ok {
			continue
		}
		op := ev.Op
		shown := v.Show(l, ev.Feature)
		if shown == nil && ev.Old != nil {
			// A report the reader saw and may no longer see (made
			// restricted, put under embargo) is gone for them.
			shown, op = v.Show(l, ev.Old), layers.OpDelete
		}
		if shown == nil {
			continue
		}
		ce := changeEvent{Collection: ev.Collection, ID: ev.ID, Op: op, Version: ev.Version}
		if shown.HasGeometry() {
			ce.BBox = [4]float64{shown.Bound.Min[0], shown.Bound.Min[1], shown.Bound.Max[0], shown.Bound.Max[1]}
		}
		data, err := json.Marshal(ce)
		if err != nil {
			return "", err
		}
		out = fmt.Appendf(out, "id: %s\nevent: change\ndata: %s\n\n", s.hub.eventID(b.seq, i), data)
	}
	return string(out), nil
}
