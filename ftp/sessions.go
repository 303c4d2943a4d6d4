package ftp

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"
)

// SessionInfo describes a connected session, for administrators.
type SessionInfo struct {
	ID      uint64
	User    string // "" before login
	Host    string // the virtual host, "" for the default site
	Remote  netip.AddrPort
	Since   time.Time
	Command string // the transfer in flight ("RETR /a.bin"), "" when idle
	Bytes   int64  // moved by the transfer in flight
	Rate    int64  // its average bytes per second
}

// Sessions returns the connected sessions, oldest first. It is safe to
// call while the server serves.
func (s *Server) Sessions() []SessionInfo {
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	out := make([]SessionInfo, 0, len(conns))
	for _, c := range conns {
		out = append(out, c.info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (c *conn) info() SessionInfo {
	si := SessionInfo{ID: c.id, User: c.loggedUser(), Remote: c.remote, Since: c.since}
	if h := c.hostName.Load(); h != nil {
		si.Host = *h
	}
	c.xferMu.Lock()
	t := c.xfer
	c.xferMu.Unlock()
	if t != nil {
		si.Command = t.verb + " " + t.path
		si.Bytes = t.bytes.Load()
		if el := time.Since(t.start); el > 0 {
			si.Rate = int64(float64(si.Bytes) / el.Seconds())
		}
	}
	return si
}

// setWho records the logged-in user for Sessions and the access log.
func (c *conn) setWho(name string) {
	c.who.Store(&name)
}

// loggedUser is the logged-in user's name, "" before login. Safe from any
// goroutine.
func (c *conn) loggedUser() string {
	if p := c.who.Load(); p != nil {
		return *p
	}
	return ""
}

// SITE WHO: the connected sessions, for administrators (User.Admin).
func (c *conn) siteWho(string) error {
	if !c.user.Admin {
		return errDenied
	}
	var b strings.Builder
	b.WriteString("Connected sessions:\n")
	for _, si := range c.srv.Sessions() {
		user := si.User
		if user == "" {
			user = "-"
		}
		fmt.Fprintf(&b, "%d %s %s since %s", si.ID, user, si.Remote, si.Since.UTC().Format(time.RFC3339))
		if si.Command != "" {
			fmt.Fprintf(&b, " %s %d bytes %d B/s", si.Command, si.Bytes, si.Rate)
		}
		b.WriteByte('\n')
	}
	b.WriteString("End.")
	return c.reply(StatusOK, b.String())
}
