package geo

import (
	"fmt"
	"strings"
	"time"
)

// Interval is a closed time interval. A zero Start or End is an open end.
type Interval struct {
	Start, End time.Time
}

// IsZero reports whether the interval is fully open, i.e. matches anything.
func (iv Interval) IsZero() bool { return iv.Start.IsZero() && iv.End.IsZero() }

// Overlaps reports whether [start, end] shares at least one instant with the
// interval. A zero end means the feature is an instant at start. A feature
// with no time at all (both zero) matches every interval, as OGC requires.
func (iv Interval) Overlaps(start, end time.Time) bool {
	if start.IsZero() && end.IsZero() {
		return true
	}
	if end.IsZero() {
		end = start
	}
	if start.IsZero() {
		start = end
	}
	if !iv.Start.IsZero() && end.Before(iv.Start) {
		return false
	}
	if !iv.End.IsZero() && start.After(iv.End) {
		return false
	}
	return true
}

// ParseInterval parses an RFC 3339 instant, or an interval "a/b" where either
// end may be ".." or empty. A full date (2021-04-06) as an instant means that
// whole day.
func ParseInterval(s string) (Interval, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Interval{}, fmt.Errorf("empty value")
	}
	if !strings.Contains(s, "/") {
		if len(s) == len("2006-01-02") {
			t, err := time.Parse("2006-01-02", s)
			if err != nil {
				return Interval{}, fmt.Errorf("%q is not an RFC 3339 date or date-time", s)
			}
			return Interval{Start: t, End: t.Add(24*time.Hour - time.Nanosecond)}, nil
		}
		t, err := ParseTime(s)
		if err != nil {
			return Interval{}, err
		}
		return Interval{Start: t, End: t}, nil
	}
	parts := strings.Split(s, "/")
	if len(parts) != 2 {
		return Interval{}, fmt.Errorf("%q has more than one '/'", s)
	}
	open := func(p string) bool { return p == "" || p == ".." }
	var iv Interval
	var err error
	if !open(parts[0]) {
		if iv.Start, err = ParseTimeBound(parts[0], false); err != nil {
			return Interval{}, fmt.Errorf("start: %w", err)
		}
	}
	if !open(parts[1]) {
		if iv.End, err = ParseTimeBound(parts[1], true); err != nil {
			return Interval{}, fmt.Errorf("end: %w", err)
		}
	}
	if !iv.Start.IsZero() && !iv.End.IsZero() && iv.End.Before(iv.Start) {
		return Interval{}, fmt.Errorf("end %s is before start %s", parts[1], parts[0])
	}
	return iv, nil
}

// ParseTimeBound parses one end of an interval: an RFC 3339 date-time, or a
// full date, which means the start of that day, or its last instant when
// end is true.
func ParseTimeBound(s string, end bool) (time.Time, error) {
	if len(s) == len("2006-01-02") {
		t, err := time.Parse("2006-01-02", s)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is not an RFC 3339 date or date-time", s)
		}
		if end {
			t = t.Add(24*time.Hour - time.Nanosecond)
		}
		return t, nil
	}
	return ParseTime(s)
}

// ParseTime parses an RFC 3339 date-time (with fractional seconds allowed).
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 date-time", s)
	}
	return t.UTC(), nil
}

// String formats the interval in the OGC datetime form.
func (iv Interval) String() string {
	f := func(t time.Time) string {
		if t.IsZero() {
			return ".."
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	if !iv.Start.IsZero() && iv.Start.Equal(iv.End) {
		return f(iv.Start)
	}
	return f(iv.Start) + "/" + f(iv.End)
}
