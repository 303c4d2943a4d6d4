package ftp

import (
	"net/netip"
	"time"
)

// LogEntry is one line of an access log: a command, or a transfer with its
// bytes. It never holds a password.
type LogEntry struct {
	Time     time.Time // when the command or transfer ended
	Host     string    // the virtual host, "" for the default site
	Remote   netip.AddrPort
	Local    netip.AddrPort
	User     string // "" before login
	Method   string // the verb
	URI      string // the argument: a path for file commands, "" for PASS
	Status   int    // the final reply code
	Sent     int64  // data bytes sent to the client
	Received int64  // data bytes received from the client
	Duration time.Duration
}

// AccessLogger receives access log entries. LogAccess must not block: a
// logger that writes files queues the entry and returns.
type AccessLogger interface {
	LogAccess(e *LogEntry)
}

// AccessLoggerFunc adapts a function to [AccessLogger].
type AccessLoggerFunc func(e *LogEntry)

// LogAccess calls f.
func (f AccessLoggerFunc) LogAccess(e *LogEntry) { f(e) }

// accessLogger is the logger of the session's site, nil when none.
func (c *conn) accessLogger() AccessLogger {
	if c.host != nil && c.host.AccessLog != nil {
		return c.host.AccessLog
	}
	return c.srv.AccessLog
}

// logAccess writes one entry for the session.
func (c *conn) logAccess(verb, uri string, status int, sent, received int64, start time.Time) {
	if al, e := c.accessEntry(verb, uri, status, sent, received, start); al != nil {
		al.LogAccess(e)
	}
}

// accessEntry builds an entry without logging it, for the transfer
// goroutine: it must read the session's site and user while the transfer
// still holds them, before a following REIN may change them.
func (c *conn) accessEntry(verb, uri string, status int, sent, received int64, start time.Time) (AccessLogger, *LogEntry) {
	al := c.accessLogger()
	if al == nil {
		return nil, nil
	}
	e := &LogEntry{
		Time:     time.Now(),
		Remote:   c.remote,
		Local:    c.local,
		User:     c.loggedUser(),
		Method:   verb,
		URI:      uri,
		Status:   status,
		Sent:     sent,
		Received: received,
		Duration: time.Since(start),
	}
	if c.host != nil {
		e.Host = c.host.Name
	}
	return al, e
}
