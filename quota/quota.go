package quota

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limits are one user's limits, as the caller decided them (a user's own
// settings over its group's). The zero value limits nothing; a negative
// number counts as 0.
type Limits struct {
	// DownloadRate and UploadRate cap, in bytes per second, the speed of
	// all the user's transfers in that direction together; 0 is unlimited.
	DownloadRate, UploadRate int64

	// DownloadAmount and UploadAmount cap the bytes the user may move in
	// that direction per [Period]; 0 is unlimited.
	DownloadAmount, UploadAmount int64

	// Ratio is the number of bytes the user must upload for each byte
	// downloaded; 0 (or a negative number) is no ratio.
	Ratio float64

	// RatioCredit is the number of bytes the user may download before any
	// upload when Ratio is set; 0 is none. It is ignored without a Ratio.
	RatioCredit int64
}

func (l Limits) rate(d Direction) int64 {
	if d == Upload {
		return max(l.UploadRate, 0)
	}
	return max(l.DownloadRate, 0)
}

func (l Limits) amount(d Direction) int64 {
	if d == Upload {
		return max(l.UploadAmount, 0)
	}
	return max(l.DownloadAmount, 0)
}

// hasRatio reports whether a ratio applies (NaN counts as none).
func (l Limits) hasRatio() bool { return l.Ratio > 0 }

// ratioText is the ratio as "2:1" or "1.5:1".
func (l Limits) ratioText() string {
	return strconv.FormatFloat(l.Ratio, 'f', -1, 64) + ":1"
}

// Direction is the direction of a transfer, seen from the client.
type Direction uint8

const (
	Download Direction = iota // server to client (RETR)
	Upload                    // client to server (STOR, APPE, STOU)
)

func (d Direction) String() string {
	switch d {
	case Download:
		return "download"
	case Upload:
		return "upload"
	}
	return "Direction(" + strconv.Itoa(int(d)) + ")"
}

// Period is the span over which amount limits count bytes. Calendar
// periods are in UTC.
type Period uint8

const (
	None    Period = iota // cumulative: counters only go back to 0 by [Manager.Reset]
	Daily                 // from 00:00 UTC
	Weekly                // from Monday 00:00 UTC (ISO 8601 weeks)
	Monthly               // from the 1st of the month 00:00 UTC
)

func (p Period) String() string {
	switch p {
	case None:
		return "none"
	case Daily:
		return "daily"
	case Weekly:
		return "weekly"
	case Monthly:
		return "monthly"
	}
	return "Period(" + strconv.Itoa(int(p)) + ")"
}

// ParsePeriod parses "none" (or ""), "daily", "weekly" or "monthly", in
// any case; "day", "week" and "month" are accepted too.
func ParsePeriod(s string) (Period, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "none":
		return None, nil
	case "daily", "day":
		return Daily, nil
	case "weekly", "week":
		return Weekly, nil
	case "monthly", "month":
		return Monthly, nil
	}
	return None, fmt.Errorf("quota: unknown period %q (want none, daily, weekly or monthly)", s)
}

// MarshalText implements [encoding.TextMarshaler].
func (p Period) MarshalText() ([]byte, error) {
	if p > Monthly {
		return nil, fmt.Errorf("quota: invalid %v", p)
	}
	return []byte(p.String()), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler] with [ParsePeriod].
func (p *Period) UnmarshalText(b []byte) error {
	v, err := ParsePeriod(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// Start returns the start of the period that contains t, in UTC. For None
// it returns the zero Time: that period has no calendar start.
func (p Period) Start(t time.Time) time.Time {
	t = t.UTC()
	y, m, d := t.Date()
	switch p {
	case Daily:
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	case Weekly:
		back := (int(t.Weekday()) + 6) % 7 // days since Monday
		return time.Date(y, m, d-back, 0, 0, 0, 0, time.UTC)
	case Monthly:
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Time{}
}

// Next returns the start of the period after the one that contains t,
// when counters next go back to 0. For None it returns the zero Time.
func (p Period) Next(t time.Time) time.Time {
	s := p.Start(t)
	switch p {
	case Daily:
		return s.AddDate(0, 0, 1)
	case Weekly:
		return s.AddDate(0, 0, 7)
	case Monthly:
		return s.AddDate(0, 1, 0)
	}
	return time.Time{}
}

// per is the period as said after an amount: " per month".
func (p Period) per() string {
	switch p {
	case Daily:
		return " per day"
	case Weekly:
		return " per week"
	case Monthly:
		return " per month"
	}
	return ""
}

// Errors. Each error the package returns for a limit wraps one of these
// (test with [errors.Is]); its text says which limit and why, names no
// path, and is meant to be shown to the client as is.
var (
	// ErrAmountExceeded: the user's download or upload amount for the
	// period is used up (552 for an upload; 426 or 451 for a download
	// under way).
	ErrAmountExceeded = errors.New("quota: transfer amount limit reached")

	// ErrRatio: the user's upload/download ratio does not allow the
	// download.
	ErrRatio = errors.New("quota: upload/download ratio not met")

	// ErrDirFull: an upload would exceed a directory's maximum size
	// (552, RFC 959 section 4.2.2: "Exceeded storage allocation").
	ErrDirFull = errors.New("quota: maximum directory size reached")

	// ErrTooManyConnections: the site has its maximum of connected users
	// (421).
	ErrTooManyConnections = errors.New("quota: too many users connected")

	// ErrTooManyFromIP: the client's address has its maximum of
	// connections (421).
	ErrTooManyFromIP = errors.New("quota: too many connections from one address")

	// ErrBanned: the client's address failed to log in too often and is
	// banned for a while (421).
	ErrBanned = errors.New("quota: address temporarily banned after failed logins")
)

// limitError is an error a client may read: msg says why, err is the
// sentinel it stands for.
type limitError struct {
	err error
	msg string
}

func (e *limitError) Error() string { return e.msg }
func (e *limitError) Unwrap() error { return e.err }

func limitErrorf(sentinel error, format string, args ...any) error {
	return &limitError{err: sentinel, msg: fmt.Sprintf(format, args...)}
}

// timeText is how times appear in messages and status.
func timeText(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }
