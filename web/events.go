package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
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

type hub struct {
	mu      sync.Mutex
	clients map[*sseClient]struct{}
	closed  bool
	seq     uint64
}

type sseClient struct {
	ch   chan eventBatch
	gone chan struct{} // closed when the hub drops the client or shuts down
}

type eventBatch struct {
	seq    uint64
	events []layers.Event
}

func newHub() *hub { return &hub{clients: map[*sseClient]struct{}{}} }

// publish is called by the reports service after each commit. It never
// blocks: full clients are dropped.
func (h *hub) publish(evs []layers.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	b := eventBatch{seq: h.seq, events: evs}
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
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, false
	}
	c := &sseClient{ch: make(chan eventBatch, clientBuffer), gone: make(chan struct{})}
	h.clients[c] = struct{}{}
	return c, true
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
	cl, ok := s.hub.join()
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
		l, ok := cat.Layer(ev.Collection)
		if !ok {
			continue
		}
		shown := v.Show(l, ev.Feature)
		if shown == nil {
			continue
		}
		ce := changeEvent{Collection: ev.Collection, ID: ev.ID, Op: ev.Op, Version: ev.Version}
		if shown.HasGeometry() {
			ce.BBox = [4]float64{shown.Bound.Min[0], shown.Bound.Min[1], shown.Bound.Max[0], shown.Bound.Max[1]}
		}
		data, err := json.Marshal(ce)
		if err != nil {
			return "", err
		}
		out = fmt.Appendf(out, "id: %d-%d\nevent: change\ndata: %s\n\n", b.seq, i, data)
	}
	return string(out), nil
}
