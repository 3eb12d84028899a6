package layers

import (
	"errors"
	"fmt"
)

// Error codes. The web layer maps each to one HTTP status; nothing else
// decides statuses.
const (
	ECONFLICT      = "conflict"       // 409
	EINTERNAL      = "internal"       // 500
	EINVALID       = "invalid"        // 400
	EUNPROCESSABLE = "unprocessable"  // 422: well-formed but fails the schema
	ENOTFOUND      = "not_found"      // 404
	EPRECONDITION  = "precondition"   // 412
	EUNAUTHORIZED  = "unauthorized"   // 401
	EFORBIDDEN     = "forbidden"      // 403
	ETOOLARGE      = "too_large"      // 413
	EUNSUPPORTED   = "unsupported"    // 415
	ERATELIMIT     = "rate_limited"   // 429
	EUNAVAILABLE   = "unavailable"    // 503
	EMETHOD        = "method"         // 405
	ENOTACCEPTABLE = "not_acceptable" // 406
)

// Error is a domain error with a code, a message meant for the client, and
// optional details (for example one entry per invalid feature).
type Error struct {
	Code    string
	Message string
	Details any
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf builds an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-facing message of err; internal errors get a
// generic message so that no detail leaks.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
