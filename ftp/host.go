package ftp

import (
	"context"
	"github.com/ferryftp/ferry/quota"
	"net/netip"
	"strings"
)

// VirtualHost is one FTP site among several on a shared address, chosen by
// the client's HOST command (RFC 7151) or, without one, by the address the
// client connected to.
type VirtualHost struct {
	// Name is the host name, for logs ("" for a default site).
	Name string
	// Greeting is the text of the 220 reply: on connect for the default
	// site of the address, and in answer to HOST. Empty means the
	// Server's Greeting.
	Greeting string
	// Auth authenticates the site's users. Nil means the Server's Auth.
	Auth Authenticator
	// AccessLog receives the site's access log entries. Nil means the
	// Server's AccessLog.
	AccessLog AccessLogger
	// ConnFilter and Conns apply to connections whose default site this
	// is (chosen by address, before any HOST): the site's access rules and
	// its maximum of connected users and of connections per address. Nil
	// means the Server's ConnFilter and MaxConnections fields. Conns may
	// change its limits while serving (quota.ConnLimiter.SetLimits).
	ConnFilter ConnFilter
	Conns      *quota.ConnLimiter
}

// HostResolver chooses virtual hosts. It is asked with name "" when a
// client connects, for the default site of the local address, and with the
// name of every HOST command. An unknown name is an error (504). It must be
// safe for concurrent use; a configuration reload may change its answers
// at any time: sessions keep the host they were given.
type HostResolver interface {
	ResolveHost(ctx context.Context, local netip.AddrPort, name string) (*VirtualHost, error)
}

// HostResolverFunc adapts a function to [HostResolver].
type HostResolverFunc func(ctx context.Context, local netip.AddrPort, name string) (*VirtualHost, error)

// ResolveHost calls f.
func (f HostResolverFunc) ResolveHost(ctx context.Context, local netip.AddrPort, name string) (*VirtualHost, error) {
	return f(ctx, local, name)
}

// auth is the authenticator of the session's site.
func (c *conn) auth() Authenticator {
	if c.host != nil && c.host.Auth != nil {
		return c.host.Auth
	}
	return c.srv.Auth
}

// connFilter is the access rule of the connection's default site.
func (c *conn) connFilter() ConnFilter {
	if c.host != nil && c.host.ConnFilter != nil {
		return c.host.ConnFilter
	}
	return c.srv.ConnFilter
}

// conns is the connection limiter of the connection's default site, nil
// when no limit applies.
func (c *conn) conns() *quota.ConnLimiter {
	if c.host != nil && c.host.Conns != nil {
		return c.host.Conns
	}
	if c.srv.MaxConnections > 0 || c.srv.MaxConnectionsPerIP > 0 {
		return c.srv.connLimiter()
	}
	return nil
}

// greeting is the 220 text of the session's site.
func (c *conn) greeting() string {
	if c.host != nil && c.host.Greeting != "" {
		return c.host.Greeting
	}
	return c.srv.greeting()
}

// defaultHost asks the resolver for the site of the local address.
func (c *conn) defaultHost() {
	c.host = nil
	if c.srv.Hosts == nil {
		return
	}
	vh, err := c.srv.Hosts.ResolveHost(c.ctx, c.local, "")
	if err != nil {
		c.log.Debug("no default virtual host", "err", err)
		return
	}
	c.host = vh
	c.hostName.Store(&vh.Name)
}

// HOST, RFC 7151: before USER, the name of the virtual host; 220 with its
// greeting, 503 after USER or login, 501 for a malformed name, 504 for an
// unknown one.
func (c *conn) cmdHOST(arg string) error {
	if c.srv.Hosts == nil {
		return errReply(StatusNotImplemented, "HOST not implemented: this server has no virtual hosts.")
	}
	if c.state != stateNeedUser {
		return errReply(StatusBadSequence, "HOST must come before USER.")
	}
	name, err := parseHostName(arg)
	if err != nil {
		return errReply(StatusParameterSyntaxError, "Invalid host name.")
	}
	if a, perr := netip.ParseAddr(strings.Trim(name, "[]")); perr == nil {
		// RFC 7151 section 3: a literal address must be the server's.
		if a.Unmap() != c.local.Addr() {
			return errReply(StatusParameterNotImpl, "Address is not this server's.")
		}
	}
	if c.tls != nil {
		// RFC 7151 section 3: HOST must match the TLS server_name.
		if sni := c.tls.ConnectionState().ServerName; sni != "" && !strings.EqualFold(sni, name) {
			return errReply(StatusParameterNotImpl, "Host does not match the TLS server name.")
		}
	}
	vh, err := c.srv.Hosts.ResolveHost(c.ctx, c.local, strings.ToLower(name))
	if err != nil || vh == nil {
		c.log.Info("unknown virtual host", "host", name)
		return errReply(StatusParameterNotImpl, "Unknown host.")
	}
	c.host = vh
	c.hostName.Store(&vh.Name)
	c.log = c.log.With("host", vh.Name)
	return c.reply(StatusServiceReady, c.greeting())
}

// parseHostName checks the HOST argument of RFC 7151 section 3: a domain
// name (A-labels for IDNs), an IPv4 literal, or an IPv6 literal in
// brackets; never a port.
func parseHostName(arg string) (string, error) {
	s := strings.TrimSpace(arg)
	if s == "" || len(s) > 255 {
		return "", errSyntax
	}
	if strings.HasPrefix(s, "[") {
		if !strings.HasSuffix(s, "]") {
			return "", errSyntax
		}
		a, err := netip.ParseAddr(s[1 : len(s)-1])
		if err != nil || !a.Is6() {
			return "", errSyntax
		}
		return s, nil
	}
	if _, err := netip.ParseAddr(s); err == nil {
		if strings.Contains(s, ":") {
			return "", errSyntax // IPv6 without brackets
		}
		return s, nil
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", errSyntax
		}
		for i := 0; i < len(label); i++ {
			ch := label[i]
			if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-') {
				return "", errSyntax
			}
		}
	}
	return strings.TrimSuffix(s, "."), nil
}
