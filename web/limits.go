package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"troopmap/layers"
)

// Limits bound what one request may cost. Every field is an operator flag
// (see the README); zero values take the defaults from DefaultLimits.
type Limits struct {
	// MaxBodyBytes caps any request body; larger bodies get 413.
	MaxBodyBytes int64
	// RequestTimeout is each request's deadline, passed down as its context.
	// Streams (/events) are exempt.
	RequestTimeout time.Duration
	// MaxExpensive caps concurrent expensive requests (large pages, exports,
	// low-zoom tiles); past it the server answers 503 with Retry-After.
	MaxExpensive int
	// ExpensiveLimit is the page size from which an items request counts as
	// expensive; tiles at or below ExpensiveMaxZoom count too.
	ExpensiveLimit   int
	ExpensiveMaxZoom int
}

// DefaultLimits are the limits used where the operator sets none.
func DefaultLimits() Limits {
	return Limits{
		MaxBodyBytes:     64 << 20,
		RequestTimeout:   30 * time.Second,
		MaxExpensive:     32,
		ExpensiveLimit:   1000,
		ExpensiveMaxZoom: 5,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = d.MaxBodyBytes
	}
	if l.RequestTimeout <= 0 {
		l.RequestTimeout = d.RequestTimeout
	}
	if l.MaxExpensive <= 0 {
		l.MaxExpensive = d.MaxExpensive
	}
	if l.ExpensiveLimit <= 0 {
		l.ExpensiveLimit = d.ExpensiveLimit
	}
	if l.ExpensiveMaxZoom <= 0 {
		l.ExpensiveMaxZoom = d.ExpensiveMaxZoom
	}
	return l
}

// isStream reports whether the request opens a long-lived stream, which
// must not be cut by the per-request deadline.
func isStream(r *http.Request) bool {
	return r.URL.Path == "/events" || strings.Contains(r.Header.Get("Accept"), "text/event-stream")
}

// limitRequest caps the body and sets the request's deadline.
func (s *Server) limitRequest(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.ContentLength > s.limits.MaxBodyBytes {
			return layers.Errorf(layers.ETOOLARGE, "request body of %d bytes exceeds the limit of %d bytes", r.ContentLength, s.limits.MaxBodyBytes)
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(c.Response(), r.Body, s.limits.MaxBodyBytes)
		}
		if isStream(r) {
			return next(c)
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.limits.RequestTimeout)
		defer cancel()
		c.SetRequest(r.WithContext(ctx))
		return next(c)
	}
}

// largeBody is the upload size from which a write counts as expensive.
const largeBody = 1 << 20

// isExpensive classifies requests that may take much CPU or memory: pages
// of many features, whole-layer exports (chosen by ?f= or by Accept),
// low-zoom tiles and large uploads.
func (s *Server) isExpensive(r *http.Request) bool {
	p := r.URL.Path
	q := r.URL.Query()
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		// Uploads are decoded as they stream in, but validating and holding
		// many features still costs CPU and memory in proportion, so large
		// (or unannounced, chunked) bodies share the same cap.
		return r.ContentLength < 0 || r.ContentLength > largeBody
	}
	if strings.HasPrefix(p, "/collections/") && strings.HasSuffix(p, "/items") && r.Method == http.MethodGet {
		if n, err := strconv.Atoi(q.Get("limit")); err == nil && n >= s.limits.ExpensiveLimit {
			return true
		}
		// A whole-layer download costs the same whether ?f= or Accept
		// chose it.
		if f, ok := q["f"]; ok {
			for _, d := range downloads() {
				if f[0] == d.name {
					return true
				}
			}
			return false
		}
		return acceptDownload(r.Header.Get("Accept"), downloads()) != nil
	}
	if strings.HasPrefix(p, "/tiles/") && strings.HasSuffix(p, ".mvt") {
		parts := strings.Split(p, "/")
		if len(parts) >= 5 {
			if z, err := strconv.Atoi(parts[len(parts)-3]); err == nil && z <= s.limits.ExpensiveMaxZoom {
				return true
			}
		}
	}
	return false
}

// limitExpensive admits at most MaxExpensive expensive requests at once and
// turns the rest away with 503 and Retry-After rather than queueing them.
func (s *Server) limitExpensive(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !s.isExpensive(c.Request()) {
			return next(c)
		}
		select {
		case s.expensive <- struct{}{}:
			defer func() { <-s.expensive }()
			return next(c)
		default:
			c.Response().Header().Set("Retry-After", "2")
			s.metrics.rejected.WithLabelValues("expensive").Inc()
			return layers.Errorf(layers.EUNAVAILABLE, "too many expensive requests in flight (limit %d); retry in a few seconds", s.limits.MaxExpensive)
		}
	}
}
