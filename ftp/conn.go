package ftp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// loginState is where a session is in the login sequence of RFC 959
// section 5.4 (USER, then PASS).
type loginState uint8

const (
	stateNeedUser loginState = iota // no USER yet, or after REIN
	stateNeedPass                   // USER accepted, waiting for PASS
	stateLoggedIn                   // PASS accepted
)

func (s loginState) String() string {
	switch s {
	case stateNeedUser:
		return "need-user"
	case stateNeedPass:
		return "need-pass"
	case stateLoggedIn:
		return "logged-in"
	}
	return fmt.Sprintf("loginState(%d)", uint8(s))
}

// phase says what the serve goroutine is doing, for Shutdown.
type phase int32

const (
	phaseIdle    phase = iota // waiting for a command
	phaseBusy                 // running a command
	phaseClosing              // closed or closing
)

func (p phase) String() string {
	switch p {
	case phaseIdle:
		return "idle"
	case phaseBusy:
		return "busy"
	case phaseClosing:
		return "closing"
	}
	return fmt.Sprintf("phase(%d)", int32(p))
}

// conn is one control connection. One goroutine, serve, owns the fields
// marked "serve"; the transfer goroutine touches only the transfer and
// goes through xferMu.
type conn struct {
	srv    *Server
	id     uint64
	log    *slog.Logger
	ctx    context.Context // ends when the connection closes
	cancel context.CancelFunc
	w      *replyWriter
	remote netip.AddrPort
	local  netip.AddrPort

	ncMu sync.Mutex // guards nc, swapped by AUTH TLS
	nc   net.Conn

	phase     atomic.Int32
	closeOnce sync.Once

	// serve
	lr         *lineReader
	tls        *tls.Conn   // the control connection's TLS layer, nil in plain text
	tlsCfg     *tls.Config // of the TLS session, for PROT P data connections too
	implicit   bool        // TLS from the first byte (implicit FTPS)
	cleared    bool        // CCC accepted: control in plain text, PROT frozen
	pbsz       bool        // PBSZ accepted
	protP      bool        // PROT P: data connections use TLS
	state      loginState
	userName   string
	user       *User
	failures   int
	syntaxErrs int
	cwd        string // virtual, absolute, clean
	typ        transferType
	rest       int64
	renameFrom string // vfs name set by RNFR; "" when none
	epsvAll    bool
	facts      factSet
	hash       hashAlgo
	data       dataSetup // prepared by PASV, EPSV, PORT or EPRT
	quitting   bool

	host        *VirtualHost // the site: by address, or chosen by HOST
	since       time.Time
	who         atomic.Pointer[string] // the logged-in user, for Sessions
	hostName    atomic.Pointer[string] // the host's name, for Sessions
	xferStarted bool                   // the command being run started a transfer
	releaseConn func()                 // gives the connection's place back (MaxConnections)

	xferMu sync.Mutex   // guards xfer and spare
	xfer   *transfer    // the transfer in flight, nil when none
	spare  *passiveData // a passive listener kept for the next PASV or EPSV; see openPassive
}

func (s *Server) newConn(nc net.Conn, implicitTLS *tls.Config) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{
		srv:    s,
		id:     s.nextID.Add(1),
		ctx:    ctx,
		cancel: cancel,
		nc:     nc,
		remote: addrPortOf(nc.RemoteAddr()),
		local:  addrPortOf(nc.LocalAddr()),
		cwd:    "/",
		facts:  defaultFacts,
		hash:   hashSHA256,
	}
	c.phase.Store(int32(phaseBusy))
	c.since = time.Now()
	c.log = s.logger().With("conn", c.id, "remote", c.remote.String())
	if implicitTLS != nil {
		tc := tls.Server(nc, c.tlsConfig(implicitTLS))
		c.nc, c.tls, c.implicit = tc, tc, true
	}
	c.w = newReplyWriter(c.nc, s.idleTimeout())
	c.lr = newLineReader(c.nc, s.maxLineLength(), c.w.writeRaw)
	return c
}

func addrPortOf(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

func (c *conn) conn() net.Conn {
	c.ncMu.Lock()
	defer c.ncMu.Unlock()
	return c.nc
}

// reply sends one reply through the connection's single writer.
func (c *conn) reply(code int, text string) error {
	if c.srv.Trace {
		c.log.Debug("reply", "code", code, "text", text)
	}
	return c.w.reply(code, text)
}

// replies sends the preliminary and the final reply of a transfer that is
// already over in one write (see quickRETR).
func (c *conn) replies(code1 int, text1 string, code2 int, text2 string) error {
	if c.srv.Trace {
		c.log.Debug("reply", "code", code1, "text", text1)
		c.log.Debug("reply", "code", code2, "text", text2)
	}
	return c.w.replies(code1, text1, code2, text2)
}

// keepSpare makes p, the passive listener of a transfer that ended well,
// the session's spare for its next PASV or EPSV (see openPassive).
func (c *conn) keepSpare(p *passiveData) {
	c.xferMu.Lock()
	defer c.xferMu.Unlock()
	if c.spare != nil {
		c.spare.close()
	}
	c.spare = p
}

// replyf formats the reply text.
func (c *conn) replyf(code int, format string, args ...any) error {
	return c.reply(code, fmt.Sprintf(format, args...))
}

// replyErr answers err with the reply errorReply chooses, logging what
// the client does not see.
func (c *conn) replyErr(err error) {
	code, msg, known := errorReply(err)
	if !known {
		c.log.Error("command failed", "err", err)
	} else if code == StatusLocalError || code == StatusFileUnavailable {
		c.log.Debug("command refused", "err", err)
	}
	c.reply(code, msg)
	if code == StatusServiceNotAvailable {
		// RFC 959 4.2: 421 is "closing control connection"; a plug-in
		// that answers it (a site full at login, say) ends the session.
		c.quitting = true
	}
}

func (c *conn) serve() {
	defer func() {
		if v := recover(); v != nil {
			c.log.Error("panic serving connection", "panic", v, "stack", string(debug.Stack()))
			c.reply(StatusServiceNotAvailable, "Internal error; closing control connection.")
		}
		c.close()
		c.waitTransfer()
		c.closeData() // a passive listener prepared and never used
		if c.releaseConn != nil {
			c.releaseConn()
		}
		if c.user != nil && c.user.Release != nil {
			c.user.Release() // no transfer can use the user's FS any more
		}
		c.srv.trackConn(c, false)
	}()
	c.log.Debug("connected")
	c.defaultHost()
	if f := c.connFilter(); f != nil && !f.Allow(c.remote.Addr()) {
		c.log.Warn("connection refused by access rules")
		c.refuse("Access denied.")
		return
	}
	if lt := c.srv.LoginThrottle; lt != nil {
		if err := lt.Check(c.remote.Addr()); err != nil {
			c.log.Warn("connection refused: address banned after failed logins")
			c.refuse(sentence(limitText(err)))
			return
		}
	}
	if cl := c.conns(); cl != nil {
		release, err := cl.Acquire(c.remote.Addr())
		if err != nil {
			c.log.Warn("connection refused", "err", err)
			c.refuse(sentence(limitText(err)))
			return
		}
		c.releaseConn = release // in the teardown, once the transfer stopped
	}
	if c.tls != nil {
		if err := c.handshake(c.tls); err != nil {
			c.log.Debug("implicit TLS handshake failed", "err", err)
			return
		}
	}
	if c.reply(StatusServiceReady, c.greeting()) != nil {
		return
	}
	for {
		c.setIdleDeadline()
		if !c.phase.CompareAndSwap(int32(phaseBusy), int32(phaseIdle)) {
			return // closed
		}
		line, err := c.lr.ReadLine()
		if !c.phase.CompareAndSwap(int32(phaseIdle), int32(phaseBusy)) {
			return // Shutdown took this connection
		}
		if err != nil {
			c.readFailed(err)
			return
		}
		c.handleLine(line)
		if c.quitting {
			return
		}
	}
}

// refuse answers 421 before the greeting; serve then closes. Under
// implicit TLS nothing is written: a refused client is not worth a
// handshake.
func (c *conn) refuse(text string) {
	if !c.implicit {
		c.w.reply(StatusServiceNotAvailable, text)
	}
}

func (c *conn) readFailed(err error) {
	var ne net.Error
	switch {
	case errors.Is(err, errLineTooLong):
		c.reply(StatusSyntaxError, "Command line too long.")
	case errors.As(err, &ne) && ne.Timeout():
		c.reply(StatusServiceNotAvailable, "Idle timeout; closing control connection.")
	default:
		c.log.Debug("control connection ended", "err", err)
	}
}

// setIdleDeadline arms the idle timeout for the next command, unless a
// transfer runs: a long transfer never trips the control channel's idle
// timeout. The transfer arms it again when it ends.
func (c *conn) setIdleDeadline() {
	c.xferMu.Lock()
	defer c.xferMu.Unlock()
	if c.xfer != nil {
		c.conn().SetReadDeadline(time.Time{})
	} else {
		c.conn().SetReadDeadline(time.Now().Add(c.srv.idleTimeout()))
	}
}

func (c *conn) handleLine(line string) {
	verb, arg, err := parseCommand(line)
	if err != nil {
		c.syntaxErrs++
		c.renameFrom = "" // RFC 959 4.1.3: RNTO must come right after RNFR.
		first, _, hasArg := strings.Cut(line, " ")
		if strings.EqualFold(first, "PASS") {
			c.trace("PASS", "****")
		} else {
			c.trace(line, "")
		}
		if v, _, verr := parseCommand(first); hasArg && verr == nil && errors.Is(err, errBadCommand) {
			// A NUL in the argument of a valid verb: a syntax error
			// in the arguments (RFC 959 4.2), not an unknown command.
			c.log.Debug("NUL in argument", "verb", v)
			c.reply(StatusParameterSyntaxError, "Syntax error in parameters or arguments.")
		} else {
			c.reply(StatusSyntaxError, "Syntax error, command unrecognized.")
		}
		c.throttleSyntax()
		return
	}
	c.trace(verb, arg)
	c.dispatch(verb, arg)
}

// throttleSyntax slows down and finally drops a client that sends garbage.
func (c *conn) throttleSyntax() {
	if c.syntaxErrs > 50 {
		c.reply(StatusServiceNotAvailable, "Too many errors; closing control connection.")
		c.quitting = true
	}
}

func (c *conn) trace(verb, arg string) {
	if !c.srv.Trace {
		return
	}
	if verb == "PASS" && arg != "" {
		arg = "****"
	}
	c.log.Debug("command", "verb", verb, "arg", arg)
}

// dispatch applies the command table's flags and the sequence rules, then
// runs the handler. It is the one place where a command meets policy:
// login, arguments, transfers in flight.
func (c *conn) dispatch(verb, arg string) {
	start := time.Now()
	c.xferStarted = false
	c.execute(verb, arg)
	if !c.xferStarted {
		// A transfer logs itself when it ends, with its bytes.
		c.logAccess(verb, logURI(verb, arg), c.w.lastCode(), 0, 0, start)
	}
}

// logURI is the argument as the access log shows it: never a password.
func logURI(verb, arg string) string {
	if verb == "PASS" {
		return ""
	}
	return arg
}

// execute runs one command; see dispatch.
func (c *conn) execute(verb, arg string) {
	if verb != "RNTO" {
		// RFC 959 4.1.3: RNTO must come right after RNFR; any other
		// command in between, even an unknown one, breaks the pair.
		c.renameFrom = ""
	}
	cmd, ok := commands[verb]
	if !ok {
		c.syntaxErrs++
		c.reply(StatusSyntaxError, "Command not understood.")
		c.throttleSyntax()
		return
	}
	if cmd.flags&duringTransfer == 0 {
		// RFC 959 5.2: commands other than ABOR, STAT and NOOP wait
		// for the transfer in flight, so pipelined commands keep
		// their order.
		c.waitTransfer()
	}
	if cmd.handler == nil {
		c.reply(StatusNotImplemented, "Command not implemented.")
		return
	}
	if cmd.flags&needLogin != 0 && c.state != stateLoggedIn {
		c.reply(StatusNotLoggedIn, "Please login with USER and PASS.")
		return
	}
	if cmd.flags&needArg != 0 && arg == "" {
		c.reply(StatusParameterSyntaxError, "Syntax error in parameters or arguments.")
		return
	}
	if cmd.flags&opensData != 0 {
		if err := c.checkDataProt(); err != nil {
			c.replyErr(err)
			return
		}
		if c.data == nil {
			// Refused before the handler runs, so that a STOR without
			// a data connection truncates nothing and STOU and APPE
			// create nothing.
			c.reply(StatusCannotOpenData, "Use PORT, PASV, EPRT or EPSV first.")
			return
		}
	}
	if err := cmd.handler(c, arg); err != nil {
		c.replyErr(err)
	}
}

// shutdownIfIdle says goodbye to a session waiting for a command.
func (c *conn) shutdownIfIdle() {
	if c.transferring() {
		return
	}
	if c.phase.CompareAndSwap(int32(phaseIdle), int32(phaseClosing)) {
		c.w.reply(StatusServiceNotAvailable, "Service closing control connection.")
		c.close()
	}
}

// close tears the connection down from any goroutine.
func (c *conn) close() {
	c.closeOnce.Do(func() {
		c.phase.Store(int32(phaseClosing))
		c.cancel()
		c.conn().Close()
		c.xferMu.Lock()
		if t := c.xfer; t != nil {
			t.abort()
		}
		c.xferMu.Unlock()
	})
}

// closeData drops a prepared but unused data connection, and the spare
// passive listener.
func (c *conn) closeData() {
	if c.data != nil {
		c.data.close()
		c.data = nil
	}
	if p := c.takeSpare(); p != nil {
		p.close()
	}
}

// takeSpare returns the spare passive listener, if any, and leaves none.
func (c *conn) takeSpare() *passiveData {
	c.xferMu.Lock()
	defer c.xferMu.Unlock()
	p := c.spare
	c.spare = nil
	return p
}

func (c *conn) transferring() bool {
	c.xferMu.Lock()
	defer c.xferMu.Unlock()
	return c.xfer != nil
}

// waitTransfer blocks until the transfer in flight, if any, has ended.
func (c *conn) waitTransfer() {
	c.xferMu.Lock()
	t := c.xfer
	c.xferMu.Unlock()
	if t != nil {
		<-t.done
	}
}

// reset returns the session to the state after the greeting (REIN).
func (c *conn) reset() {
	c.closeData()
	c.state = stateNeedUser
	c.userName = ""
	c.setWho("")
	c.defaultHost() // RFC 7151 section 3.2.1: REIN resets HOST
	if c.user != nil && c.user.Release != nil {
		c.user.Release() // dispatch let the transfer in flight finish
	}
	c.user = nil
	c.cwd = "/"
	c.typ = typeASCII
	c.rest = 0
	c.renameFrom = ""
	c.epsvAll = false
	c.facts = defaultFacts
	c.hash = hashSHA256
	c.log = c.srv.logger().With("conn", c.id, "remote", c.remote.String())
	if !c.implicit {
		c.protP = false
		c.pbsz = false
	}
}

// resolve turns a client path into the session's virtual path and the vfs
// name.
func (c *conn) resolve(arg string) (virt, name string, err error) {
	virt, name, err = resolvePath(c.cwd, arg)
	if err != nil {
		return "", "", errReply(StatusFileNameNotAllowed, "File name not allowed.")
	}
	return virt, name, nil
}
