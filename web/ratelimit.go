package web

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"troopmap/layers"
)

// RateLimit is a token bucket: Rate requests per second on average, with
// bursts of up to Burst. A Rate of zero or less turns the limit off.
type RateLimit struct {
	Rate  float64
	Burst int
}

func (r RateLimit) on() bool { return r.Rate > 0 }

// limiters keeps one token bucket per client (an address or a key name).
// Buckets idle for longer than a full refill are forgotten, so the map stays
// as small as the set of recent clients. Safe for concurrent use.
type limiters struct {
	limit RateLimit
	mu    sync.Mutex
	m     map[string]*bucket
	swept time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiters(l RateLimit) *limiters {
	if l.Burst < 1 {
		l.Burst = max(1, int(math.Ceil(l.Rate)))
	}
	return &limiters{limit: l, m: map[string]*bucket{}}
}

// take spends one token of who's bucket. When none is left it returns how
// long until one is.
func (ls *limiters) take(who string, now time.Time) (ok bool, wait time.Duration) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	idle := time.Duration(float64(ls.limit.Burst)/ls.limit.Rate*float64(time.Second)) + time.Minute
	if now.Sub(ls.swept) > idle {
		for k, b := range ls.m {
			if now.Sub(b.seen) > idle {
				delete(ls.m, k)
			}
		}
		ls.swept = now
	}
	b, found := ls.m[who]
	if !found {
		b = &bucket{lim: rate.NewLimiter(rate.Limit(ls.limit.Rate), ls.limit.Burst)}
		ls.m[who] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// tooMany answers 429 with Retry-After in whole seconds (at least 1).
func tooMany(c echo.Context, wait time.Duration, format string, args ...any) error {
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
	e := layers.Errorf(layers.ERATELIMIT, format, args...)
	e.Message += "; retry in " + strconv.Itoa(secs) + "s"
	return e
}

// rateLimit limits reads per client address and writes per key. It runs
// after authenticate, so a write is charged to the key that sent it; requests
// that fail authentication never reach it, and are limited by address with
// the reads (see limitFailedAuth).
func (s *Server) rateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		now := s.acc.now()
		method := c.Request().Method
		if isRead(method) || method == http.MethodOptions {
			if s.acc.reads != nil && !openPath(c.Path()) {
				if ok, wait := s.acc.reads.take(s.clientIP(c), now); !ok {
					return tooMany(c, wait, "too many reads from address %s: the limit is %g per second with bursts of %d",
						s.clientIP(c), s.acc.reads.limit.Rate, s.acc.reads.limit.Burst)
				}
			}
			return next(c)
		}
		if s.acc.writes != nil {
			p := principal(c)
			if p.Role.Keyed() {
				if ok, wait := s.acc.writes.take(p.Name, now); !ok {
					return tooMany(c, wait, "too many writes with key %q: the limit is %g per second with bursts of %d",
						p.Name, s.acc.writes.limit.Rate, s.acc.writes.limit.Burst)
				}
			} else if s.acc.reads != nil {
				// Writes without a key are refused anyway; charge them to
				// the address so they cannot be used to guess keys quickly.
				if ok, wait := s.acc.reads.take(s.clientIP(c), now); !ok {
					return tooMany(c, wait, "too many requests from address %s", s.clientIP(c))
				}
			}
		}
		return next(c)
	}
}

// limitFailedAuth charges a request whose key was refused to its address, so
// that keys cannot be guessed at full speed.
func (s *Server) limitFailedAuth(c echo.Context) error {
	if s.acc.reads == nil {
		return nil
	}
	if ok, wait := s.acc.reads.take(s.clientIP(c), s.acc.now()); !ok {
		return tooMany(c, wait, "too many requests from address %s", s.clientIP(c))
	}
	return nil
}

// clientIP is the client's address: the peer's, or the first untrusted
// X-Forwarded-For hop when the operator says a proxy sits in front.
func (s *Server) clientIP(c echo.Context) string {
	if s.cfg.TrustProxy {
		return echo.ExtractIPFromXFFHeader()(c.Request())
	}
	return echo.ExtractIPDirect()(c.Request())
}
