package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestAccessFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		err  string
		want func(c serveConfig) bool
	}{
		{"defaults", nil, nil, "", func(c serveConfig) bool {
			return c.Access.Public.Read && c.Access.Public.Delay == 0 && c.Access.Public.PrecisionKm == 0 && !c.Access.Public.VerifiedOnly &&
				c.Access.ReadLimit.Rate == 50 && c.Access.WriteLimit.Rate == 2
		}},
		{"flags", []string{"--public-read=false", "--public-delay", "72h", "--public-precision", "10km", "--public-verified-only", "--read-rate", "5", "--write-burst", "3"}, nil, "",
			func(c serveConfig) bool {
				return !c.Access.Public.Read && c.Access.Public.Delay == 72*time.Hour && c.Access.Public.PrecisionKm == 10 && c.Access.Public.VerifiedOnly &&
					c.Access.ReadLimit.Rate == 5 && c.Access.WriteLimit.Burst == 3
			}},
		{"env", nil, map[string]string{"TROOPMAP_PUBLIC_READ": "false", "TROOPMAP_PUBLIC_DELAY": "1h", "TROOPMAP_PUBLIC_PRECISION": "500m",
			"TROOPMAP_PUBLIC_VERIFIED_ONLY": "true", "TROOPMAP_READ_RATE": "0", "TROOPMAP_WRITE_RATE": "0.5", "TROOPMAP_TRUST_PROXY": "1"}, "",
			func(c serveConfig) bool {
				return !c.Access.Public.Read && c.Access.Public.Delay == time.Hour && c.Access.Public.PrecisionKm == 0.5 && c.Access.Public.VerifiedOnly &&
					c.Access.ReadLimit.Rate == 0 && c.Access.WriteLimit.Rate == 0.5 && c.Access.TrustProxy
			}},
		{"flag beats env", []string{"--public-delay", "2h"}, map[string]string{"TROOPMAP_PUBLIC_DELAY": "1h"}, "",
			func(c serveConfig) bool { return c.Access.Public.Delay == 2*time.Hour }},
		{"bad precision", []string{"--public-precision", "10"}, nil, "--public-precision", nil},
		{"bad env bool", nil, map[string]string{"TROOPMAP_PUBLIC_READ": "nope"}, "TROOPMAP_PUBLIC_READ", nil},
		{"bad env delay", nil, map[string]string{"TROOPMAP_PUBLIC_DELAY": "3 days"}, "TROOPMAP_PUBLIC_DELAY", nil},
		{"negative delay", []string{"--public-delay", "-1h"}, nil, "negative", nil},
		{"negative rate", []string{"--write-rate", "-1"}, nil, "negative", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &env{getenv: func(k string) string { return tc.env[k] }, stdout: io.Discard, stderr: io.Discard, commands: commands()}
			c, err := parseServe(e, tc.args)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one naming %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.want(c) {
				t.Errorf("config %+v", c)
			}
		})
	}
}
