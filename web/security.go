package web

import (
	"github.com/labstack/echo/v4"
)

// contentSecurityPolicy allows only the server's own scripts: no inline
// script, no eval, no outside host. MapLibre runs its workers from blob:
// URLs and draws symbol images from data: URLs.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; worker-src 'self' blob:; child-src 'self' blob:; " +
	"img-src 'self' data: blob:; style-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders sets headers that protect browsers on every response.
// Handlers may set a stricter or page-specific policy; theirs wins.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		return next(c)
	}
}
