package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"troopmap/layers"
)

// statusOf is the one place that maps domain error codes to HTTP statuses.
func statusOf(code string) int {
	switch code {
	case layers.EINVALID:
		return http.StatusBadRequest
	case layers.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case layers.EFORBIDDEN:
		return http.StatusForbidden
	case layers.ENOTFOUND:
		return http.StatusNotFound
	case layers.EMETHOD:
		return http.StatusMethodNotAllowed
	case layers.ENOTACCEPTABLE:
		return http.StatusNotAcceptable
	case layers.ECONFLICT:
		return http.StatusConflict
	case layers.EPRECONDITION:
		return http.StatusPreconditionFailed
	case layers.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case layers.EUNSUPPORTED:
		return http.StatusUnsupportedMediaType
	case layers.EUNPROCESSABLE:
		return http.StatusUnprocessableEntity
	case layers.ERATELIMIT:
		return http.StatusTooManyRequests
	case layers.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// codeOfStatus names echo's own errors (unknown route, wrong method) with a
// domain code.
func codeOfStatus(status int) string {
	switch status {
	case http.StatusNotFound:
		return layers.ENOTFOUND
	case http.StatusMethodNotAllowed:
		return layers.EMETHOD
	case http.StatusRequestEntityTooLarge:
		return layers.ETOOLARGE
	case http.StatusUnsupportedMediaType:
		return layers.EUNSUPPORTED
	case http.StatusTooManyRequests:
		return layers.ERATELIMIT
	case http.StatusServiceUnavailable:
		return layers.EUNAVAILABLE
	case http.StatusUnauthorized:
		return layers.EUNAUTHORIZED
	case http.StatusForbidden:
		return layers.EFORBIDDEN
	}
	if status < 500 {
		return layers.EINVALID
	}
	return layers.EINTERNAL
}

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Code        string `json:"code"`
	Description string `json:"description"`
	Errors      any    `json:"errors,omitempty"`
}

// handleError writes any error returned by a handler. Domain errors keep
// their message; echo's own errors (404 route, 405) keep theirs; anything
// else is logged and becomes a bare 500.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, body := http.StatusInternalServerError, errorBody{Code: layers.EINTERNAL, Description: "internal error"}
	var de *layers.Error
	var he *echo.HTTPError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		status, body = http.StatusServiceUnavailable, errorBody{Code: layers.EUNAVAILABLE,
			Description: "the request took longer than the server's per-request deadline; narrow it (bbox, limit) or retry"}
	case errors.As(err, &de):
		status = statusOf(de.Code)
		body = errorBody{Code: de.Code, Description: de.Message, Errors: de.Details}
	case errors.As(err, &he):
		status = he.Code
		msg := http.StatusText(status)
		if m, ok := he.Message.(string); ok {
			msg = m
		}
		body = errorBody{Code: codeOfStatus(status), Description: msg}
	}
	if status >= 500 {
		s.log.ErrorContext(c.Request().Context(), "request failed",
			"method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
	}
	if status == http.StatusServiceUnavailable && c.Response().Header().Get("Retry-After") == "" {
		c.Response().Header().Set("Retry-After", "1")
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.JSON(status, body)
}
