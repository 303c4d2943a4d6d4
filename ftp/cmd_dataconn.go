package ftp

import (
	"errors"
	"net/netip"
	"strconv"
)

// epsvAllRefusal answers data-port commands after EPSV ALL (RFC 2428
// section 4: the server MUST reject them).
var epsvAllRefusal = errReply(StatusBadSequence, "EPSV ALL in effect; use EPSV.")

// PASV, RFC 959 4.1.2: 227 with the address to connect to.
func (c *conn) cmdPASV(string) error {
	if c.epsvAll {
		return epsvAllRefusal
	}
	if !c.local.Addr().Is4() {
		return errReply(StatusCannotOpenData, "PASV is IPv4 only; use EPSV.")
	}
	announce := c.passiveAnnounce()
	if !announce.Is4() {
		return errReply(StatusCannotOpenData, "No IPv4 address to announce; use EPSV.")
	}
	p, err := c.openPassive()
	if err != nil {
		return err
	}
	ap := netip.AddrPortFrom(announce, p.port())
	return c.reply(StatusPassiveMode, "Entering Passive Mode ("+formatHostPort(ap)+").")
}

// EPSV, RFC 2428 section 3.
func (c *conn) cmdEPSV(arg string) error {
	proto, all, err := parseEPSV(arg)
	switch {
	case errors.Is(err, errUnsupportedProtocol):
		// The same list as for EPSV 1 or 2 on the other family: only the
		// control connection's protocol can be used.
		return errReply(StatusProtocolNotSupported, "Network protocol not supported, use ("+c.protoNumber()+")")
	case err != nil:
		return errReply(StatusParameterSyntaxError, "Syntax error in EPSV.")
	}
	if all {
		c.epsvAll = true
		c.closeData()
		return c.reply(StatusOK, "EPSV ALL ok.")
	}
	if (proto == 1 && !c.local.Addr().Is4()) || (proto == 2 && !c.local.Addr().Is6()) {
		return errReply(StatusProtocolNotSupported, "Network protocol not supported, use ("+c.protoNumber()+")")
	}
	p, err := c.openPassive()
	if err != nil {
		return err
	}
	return c.reply(StatusExtendedPassiveMode, "Entering Extended Passive Mode (|||"+strconv.Itoa(int(p.port()))+"|)")
}

func (c *conn) protoNumber() string {
	if c.local.Addr().Is4() {
		return "1"
	}
	return "2"
}

// openPassive prepares the passive data connection of PASV or EPSV.
//
// A session reuses its passive listener: a transfer that ended well on a
// listener of the system's ephemeral range (PassivePorts zero) hands it
// back as the session's spare (transfer.spare, then conn.spare under
// xferMu), and the next PASV or EPSV announces the same port again. That
// saves a socket, a bind, a listen and a close per file, a fifth of the
// cost of a small file on loopback. The spare is closed by closeData, so
// by ABOR, REIN, PORT, EPRT, EPSV ALL and the end of the session; a
// transfer that was aborted, timed out or failed closes its listener.
// A configured PassivePorts range is never held by idle sessions: its
// listeners close after each transfer.
//
// What guards a data connection stays: only the control client's address
// is accepted (passiveData.open), and under PROT P the TLS session must be
// the control connection's. The ports of different sessions remain
// independent random numbers, so the prediction of RFC 2577 section 8 (an
// attacker watching its own transfers to guess another's port) gains
// nothing; what changes is that within a session the port repeats, so a
// third party sharing the client's address who saw one data connection
// knows the next port; dropPending closes whatever connected to it
// before the port is announced again, so such a connection made in
// advance is never accepted. PROT P closes the rest for clients that need
// it.
func (c *conn) openPassive() (*passiveData, error) {
	p := c.takeSpare()
	c.closeData()
	if p != nil {
		dropPending(p.l)
	}
	if p == nil {
		var err error
		p, err = c.listenPassive()
		if err != nil {
			c.log.Error("passive listen failed", "err", err)
			return nil, errReply(StatusCannotOpenData, "Can't open passive connection.")
		}
	}
	c.data = p
	return p, nil
}

// PORT, RFC 959 4.1.2, with RFC 2577's checks.
func (c *conn) cmdPORT(arg string) error {
	if c.epsvAll {
		return epsvAllRefusal
	}
	ap, err := parseHostPort(arg)
	if err != nil {
		return errReply(StatusParameterSyntaxError, "Syntax error in PORT.")
	}
	return c.setActive(ap, "PORT")
}

// EPRT, RFC 2428 section 2.
func (c *conn) cmdEPRT(arg string) error {
	if c.epsvAll {
		return epsvAllRefusal
	}
	ap, err := parseEPRT(arg)
	switch {
	case errors.Is(err, errUnsupportedProtocol):
		return errReply(StatusProtocolNotSupported, "Network protocol not supported, use ("+c.protoNumber()+")")
	case err != nil:
		return errReply(StatusParameterSyntaxError, "Syntax error in EPRT.")
	}
	if ap.Addr().Unmap().Is4() != c.local.Addr().Is4() {
		return errReply(StatusProtocolNotSupported, "Network protocol not supported, use ("+c.protoNumber()+")")
	}
	return c.setActive(ap, "EPRT")
}

func (c *conn) setActive(ap netip.AddrPort, verb string) error {
	if ap.Addr().IsUnspecified() {
		// Some clients (lftp over IPv6) send "::" or 0.0.0.0 for
		// "my address": it can only mean the control client's.
		ap = netip.AddrPortFrom(c.remote.Addr(), ap.Port())
	}
	if err := c.checkActive(ap); err != nil {
		c.log.Warn("active connection refused", "verb", verb, "target", ap.String())
		return err
	}
	c.closeData()
	c.data = &activeData{addr: ap, local: c.local.Addr()}
	return c.reply(StatusOK, verb+" command successful.")
}
