package main

import (
	"flag"
	"fmt"
	"log/slog"
	"strconv"

	"troopmap/geo"
	"troopmap/layers"
	"troopmap/web"
)

// accessConfig is who sees what and how fast: the settings for anonymous
// readers and the rate limits.
type accessConfig struct {
	Public     layers.PublicPolicy
	ReadLimit  web.RateLimit
	WriteLimit web.RateLimit
	TrustProxy bool
}

// addAccessFlags declares the access flags on fs, with their environment
// variables; the returned function checks them once fs is parsed.
func addAccessFlags(e *env, fs *flag.FlagSet, c *accessConfig) (finish func() error) {
	var precision string
	var envErr error
	boolEnv := func(key string, def bool) bool {
		v := e.getenv(key)
		if v == "" {
			return def
		}
		b, err := strconv.ParseBool(v)
		if err != nil && envErr == nil {
			envErr = fmt.Errorf("env %s: want true or false, got %q", key, v)
		}
		return err == nil && b
	}
	fs.BoolVar(&c.Public.Read, "public-read", boolEnv("TROOPMAP_PUBLIC_READ", true), "let readers without an API key read public reports; false answers them 401 (env TROOPMAP_PUBLIC_READ)")
	fs.DurationVar(&c.Public.Delay, "public-delay", 0, "hide every report from anonymous readers until this long after its observed_at, e.g. 72h (env TROOPMAP_PUBLIC_DELAY)")
	fs.StringVar(&precision, "public-precision", e.envOr("TROOPMAP_PUBLIC_PRECISION", "0"), "snap anonymous readers' troop concentrations to a grid of this size, e.g. 10km, and drop heading, speed and unit (env TROOPMAP_PUBLIC_PRECISION; 0: off)")
	fs.BoolVar(&c.Public.VerifiedOnly, "public-verified-only", boolEnv("TROOPMAP_PUBLIC_VERIFIED_ONLY", false), "show anonymous readers only verified reports (env TROOPMAP_PUBLIC_VERIFIED_ONLY)")
	fs.Float64Var(&c.ReadLimit.Rate, "read-rate", 50, "reads per second allowed per client address, on average; 0: no limit (env TROOPMAP_READ_RATE)")
	fs.IntVar(&c.ReadLimit.Burst, "read-burst", 200, "reads per client address allowed in a burst (env TROOPMAP_READ_BURST)")
	fs.Float64Var(&c.WriteLimit.Rate, "write-rate", 2, "writes per second allowed per API key, on average; 0: no limit (env TROOPMAP_WRITE_RATE)")
	fs.IntVar(&c.WriteLimit.Burst, "write-burst", 20, "writes per API key allowed in a burst (env TROOPMAP_WRITE_BURST)")
	fs.BoolVar(&c.TrustProxy, "trust-proxy", boolEnv("TROOPMAP_TRUST_PROXY", false), "take the client address for read limits from X-Forwarded-For; set it only behind a reverse proxy (env TROOPMAP_TRUST_PROXY)")
	for _, ev := range []struct{ flag, env string }{
		{"public-delay", "TROOPMAP_PUBLIC_DELAY"}, {"read-rate", "TROOPMAP_READ_RATE"}, {"read-burst", "TROOPMAP_READ_BURST"},
		{"write-rate", "TROOPMAP_WRITE_RATE"}, {"write-burst", "TROOPMAP_WRITE_BURST"},
	} {
		if v := e.getenv(ev.env); v != "" {
			if err := fs.Set(ev.flag, v); err != nil && envErr == nil {
				envErr = fmt.Errorf("env %s: %w", ev.env, err)
			}
		}
	}
	return func() error {
		if envErr != nil {
			return envErr
		}
		km, err := geo.ParseDistanceKm(precision)
		if err != nil {
			return fmt.Errorf("--public-precision: %w", err)
		}
		c.Public.PrecisionKm = km
		if c.Public.Delay < 0 {
			return fmt.Errorf("--public-delay %s: must not be negative", c.Public.Delay)
		}
		if c.ReadLimit.Rate < 0 || c.WriteLimit.Rate < 0 || c.ReadLimit.Burst < 0 || c.WriteLimit.Burst < 0 {
			return fmt.Errorf("--read-rate, --read-burst, --write-rate and --write-burst must not be negative")
		}
		return nil
	}
}

// log records the access settings at start-up.
func (c accessConfig) log(log *slog.Logger) {
	log.Info("access", "public_read", c.Public.Read, "public_delay", c.Public.Delay,
		"public_precision_km", c.Public.PrecisionKm, "public_verified_only", c.Public.VerifiedOnly,
		"read_rate", c.ReadLimit.Rate, "write_rate", c.WriteLimit.Rate)
}
