package ftp

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// FTPS. Explicit FTPS is RFC 4217 with the security commands of RFC 2228:
// AUTH TLS on the plain control connection, then PBSZ 0 and PROT P for the
// data connections. Implicit FTPS, TLS from the first byte, is served by
// [Server.ServeTLS] and [Server.ListenAndServeTLS].
//
// Binding data connections to their control connection. RFC 4217 section
// 10.2 lets a server insist that a data connection resumes a cached TLS
// session. Here each control connection gets its own random session ticket
// key, used for no other connection: a PROT P data connection resumes only
// a ticket its own control connection issued. A data connection that makes a
// full handshake instead (a client that does not resume, or a third party
// that reached the passive port first) is refused with 522, unless
// [Server.NoTLSSessionReuse] is set. The key lives as long as the control
// connection, so session tickets never outlive the session they serve.

// Reply codes of RFC 2228 section 4 and RFC 4217 that FTPS answers with.
const (
	statusProtRefused      = 521 // RFC 4217 section 10.2: transfer refused at this PROT level
	statusDataTLSFailed    = 522 // RFC 4217 section 10.2: data connection TLS failed or unacceptable
	statusNotProtected     = 533 // RFC 4217 section 5: CCC on a clear control connection
	statusPolicyDenied     = 534 // RFC 2228 section 4: request denied for policy reasons
	statusProtNotSupported = 536 // RFC 2228 section 4: PROT level not supported by the mechanism
)

// errNoResume is the cause logged when a PROT P data connection did not
// resume the control connection's TLS session.
var errNoResume = errors.New("ftp: data connection did not resume the control connection's TLS session")

func (s *Server) tlsHandshakeTimeout() time.Duration {
	return orDefault(s.TLSHandshakeTimeout, 10*time.Second)
}

// tlsConfig derives this connection's TLS configuration from base, for the
// control connection and its PROT P data connections, and keeps it in
// c.tlsCfg. It is called once per TLS session (AUTH, or the implicit
// handshake).
func (c *conn) tlsConfig(base *tls.Config) *tls.Config {
	var key [32]byte
	rand.Read(key[:])
	cfg := c.srv.harden(base.Clone(), key)
	if get := base.GetConfigForClient; get != nil {
		// The configuration chosen per client must keep the same
		// rules and, above all, this connection's ticket key.
		cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			cc, err := get(hello)
			if cc == nil || err != nil {
				return cc, err
			}
			return c.srv.harden(cc.Clone(), key), nil
		}
	}
	c.tlsCfg = cfg
	return cfg
}

// harden applies the engine's rules to cfg: TLS 1.2 at the least (a Go
// server never renegotiates, so nothing is needed for that), and session
// tickets sealed with key alone, which the data connections must resume.
func (s *Server) harden(cfg *tls.Config, key [32]byte) *tls.Config {
	if cfg.MinVersion < tls.VersionTLS12 {
		cfg.MinVersion = tls.VersionTLS12
	}
	cfg.WrapSession, cfg.UnwrapSession = nil, nil
	if !s.NoTLSSessionReuse {
		cfg.SessionTicketsDisabled = false
	}
	cfg.SetSessionTicketKeys([][32]byte{key})
	return cfg
}

// handshake runs the server side of a control connection's TLS handshake,
// bounded by TLSHandshakeTimeout.
func (c *conn) handshake(tc *tls.Conn) error {
	ctx, cancel := context.WithTimeout(c.ctx, c.srv.tlsHandshakeTimeout())
	defer cancel()
	return tc.HandshakeContext(ctx)
}

// wrapData puts TLS on a data connection under PROT P, server side in both
// passive and active mode (RFC 4217 section 7: the FTP client is always the
// TLS client). The handshake follows the 150 reply; its failure, or a full
// handshake where the control session should have been resumed, is answered
// 522 (RFC 4217 section 10.2).
func (c *conn) wrapData(ctx context.Context, dc net.Conn) (net.Conn, error) {
	if !c.protP {
		return dc, nil
	}
	if c.tlsCfg == nil {
		dc.Close()
		return nil, &Error{Code: statusDataTLSFailed, Msg: "No TLS session to protect the data connection with."}
	}
	tc := tls.Server(dc, c.tlsCfg)
	hctx, cancel := context.WithTimeout(ctx, c.srv.tlsHandshakeTimeout())
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		dc.Close()
		return nil, &Error{Code: statusDataTLSFailed, Msg: "TLS negotiation on the data connection failed.", Err: err}
	}
	if cs := tc.ConnectionState(); !c.srv.NoTLSSessionReuse && !cs.DidResume {
		// crypto/tls resumes TLS 1.2 sessions by ticket only, not by
		// session ID (curl with TLS 1.2); Python's ftplib does not
		// resume at all without help.
		c.log.Info("PROT P data connection refused: it did not resume the control connection's TLS session (see Server.NoTLSSessionReuse)",
			"version", tls.VersionName(cs.Version))
		tc.Close()
		return nil, &Error{Code: statusDataTLSFailed, Msg: "TLS session of the data connection must resume the control connection's; refused.", Err: errNoResume}
	}
	return tc, nil
}

// AUTH, RFC 2228 section 3 and RFC 4217 section 4.
func (c *conn) cmdAUTH(arg string) error {
	if c.srv.TLSConfig == nil {
		return errReply(StatusNotImplemented, "TLS is not configured.")
	}
	mech := strings.ToUpper(strings.TrimSpace(arg))
	switch mech {
	case "TLS", "SSL", "TLS-C", "TLS-P":
		// RFC 4217 section 8 names TLS; the others are the aliases
		// older clients send.
	default:
		return errReply(StatusParameterNotImpl, "Security mechanism not understood; use AUTH TLS.")
	}
	if c.tls != nil {
		return errReply(StatusBadSequence, "Already using TLS.")
	}
	if c.lr.Buffered() > 0 {
		// Commands that came after AUTH in the same plain-text read
		// would be taken as protected once TLS starts (the STARTTLS
		// command injection, CVE-2011-0411 and its kin): drop the
		// connection.
		c.log.Warn("commands pipelined after AUTH; connection closed")
		c.reply(StatusServiceNotAvailable, "Commands pipelined after AUTH; closing control connection.")
		c.quitting = true
		return nil
	}
	c.reply(StatusAuthOK, "AUTH "+mech+" successful; starting TLS.")
	tc := tls.Server(c.conn(), c.tlsConfig(c.srv.TLSConfig))
	if err := c.handshake(tc); err != nil {
		// RFC 4217 section 10.1: the connection is in an unknown
		// state; drop it.
		c.log.Info("TLS handshake failed", "err", err)
		c.quitting = true
		return nil
	}
	c.setControl(tc)
	c.tls = tc
	c.cleared = false
	// RFC 4217 section 4.2: everything but the AUTH state is reset, as
	// after REIN.
	c.reset()
	c.log.Debug("control connection secured", "version", tls.VersionName(tc.ConnectionState().Version))
	return nil
}

// setControl swaps the control connection (AUTH, CCC, REIN).
func (c *conn) setControl(nc net.Conn) {
	c.ncMu.Lock()
	c.nc = nc
	c.ncMu.Unlock()
	c.w.setConn(nc)
	c.lr = newLineReader(nc, c.srv.maxLineLength(), c.w.writeRaw)
}

// unwrapControl ends the control connection's TLS layer, after the reply
// that ends it has been sent protected (RFC 4217 sections 5 and 13), and
// reads plain text from then on.
func (c *conn) unwrapControl() {
	tc := c.tls
	tc.CloseWrite() // close_notify; the TCP connection stays open
	raw := tc.NetConn()
	raw.SetWriteDeadline(time.Time{}) // CloseWrite ends writes on raw too
	c.tls = nil
	c.setControl(&clearedConn{Conn: raw})
}

// clearTLS returns the session to plain text for REIN (RFC 4217 section
// 13): the control connection, the data protection level and the session
// ticket key all go. An implicit FTPS session has no plain-text state to
// return to and keeps its TLS.
func (c *conn) clearTLS() {
	if c.implicit {
		return
	}
	if c.tls != nil {
		c.unwrapControl()
	}
	c.tlsCfg, c.cleared, c.protP, c.pbsz = nil, false, false, false
}

// TLS record types, for clearedConn.
const (
	recordAlert           = 21
	recordApplicationData = 23 // TLS 1.3 sends its alerts encrypted as these
)

// clearedConn is the control connection after its TLS layer ended (CCC,
// REIN). A client may close its side of TLS with a close_notify before its
// first plain-text command; clearedConn drops that one record.
type clearedConn struct {
	net.Conn
	checked bool
	pending []byte // plain-text bytes read while looking for the record
}

func (cc *clearedConn) Read(p []byte) (int, error) {
	if !cc.checked {
		cc.checked = true
		hdr := make([]byte, 5)
		n, err := io.ReadFull(cc.Conn, hdr)
		if n == len(hdr) && (hdr[0] == recordAlert || hdr[0] == recordApplicationData) && hdr[1] == 3 {
			size := int64(hdr[3])<<8 | int64(hdr[4])
			if _, err := io.CopyN(io.Discard, cc.Conn, size); err != nil {
				return 0, err
			}
		} else if n > 0 {
			cc.pending = hdr[:n]
		} else if err != nil {
			return 0, err
		}
	}
	if len(cc.pending) > 0 {
		n := copy(p, cc.pending)
		cc.pending = cc.pending[n:]
		return n, nil
	}
	return cc.Conn.Read(p)
}

// PBSZ, RFC 2228 section 3; RFC 4217 section 9: the buffer size is always
// 0 for TLS, whatever the client asks for.
func (c *conn) cmdPBSZ(arg string) error {
	if c.cleared {
		return errReply(StatusBadSequence, "PBSZ not accepted after CCC.")
	}
	if c.tls == nil {
		return errReply(StatusBadSequence, "PBSZ requires AUTH first.")
	}
	if !isDigits(strings.TrimSpace(arg)) {
		return errReply(StatusParameterSyntaxError, "Syntax error in PBSZ.")
	}
	c.pbsz = true
	return c.reply(StatusOK, "PBSZ=0")
}

// PROT, RFC 2228 section 3; RFC 4217 section 9: C and P. S and E have no
// meaning for TLS.
func (c *conn) cmdPROT(arg string) error {
	if c.cleared {
		// RFC 4217 section 5: the level is frozen after CCC.
		return errReply(StatusBadSequence, "PROT not accepted after CCC.")
	}
	if c.tls == nil {
		return errReply(StatusBadSequence, "PROT requires AUTH first.")
	}
	if !c.pbsz {
		return errReply(StatusBadSequence, "PROT requires PBSZ first.")
	}
	switch strings.ToUpper(strings.TrimSpace(arg)) {
	case "C":
		if c.dataTLSRequired() {
			return errReply(statusPolicyDenied, "Data connections must be protected; use PROT P.")
		}
		c.protP = false
		return c.reply(StatusOK, "Protection level set to Clear.")
	case "P":
		c.protP = true
		return c.reply(StatusOK, "Protection level set to Private.")
	case "S", "E":
		return errReply(statusProtNotSupported, "Protection level not supported by TLS; use C or P.")
	}
	return errReply(StatusParameterNotImpl, "Protection level not understood; use C or P.")
}

// CCC, RFC 4217 section 5: 533 on a clear connection, 534 unless the
// server allows it, else 200 and plain text from then on, PROT frozen.
func (c *conn) cmdCCC(string) error {
	if c.tls == nil {
		return errReply(statusNotProtected, "Control connection is not protected.")
	}
	if !c.srv.AllowCCC || c.implicit {
		return errReply(statusPolicyDenied, "CCC not allowed.")
	}
	err := c.reply(StatusOK, "Control connection cleared; plain text from now on.")
	c.unwrapControl()
	c.cleared = true
	return err
}

// tlsFeatures are the FEAT lines of RFC 4217 section 6.
func (c *conn) tlsFeatures() []string {
	var f []string
	if c.srv.TLSConfig != nil && !c.implicit {
		f = append(f, "AUTH TLS", "AUTH SSL")
	}
	if c.srv.TLSConfig != nil || c.implicit {
		f = append(f, "PBSZ", "PROT")
		if c.srv.AllowCCC && !c.implicit {
			f = append(f, "CCC")
		}
	}
	return f
}

// dataTLSRequired reports whether this session must use PROT P.
func (c *conn) dataTLSRequired() bool {
	return c.srv.RequireDataTLS && !(c.srv.ExemptAnonymous && c.anonymous())
}

// loginTLSRequired reports whether USER user must wait for AUTH TLS.
func (c *conn) loginTLSRequired(user string) bool {
	return c.srv.RequireTLS && c.tls == nil && !(c.srv.ExemptAnonymous && isAnonymousName(user))
}

func (c *conn) anonymous() bool { return isAnonymousName(c.userName) }

func isAnonymousName(u string) bool {
	return strings.EqualFold(u, "anonymous") || strings.EqualFold(u, "ftp")
}

// checkDataProt refuses a transfer command before any 1xx reply when the
// PROT level is not acceptable (RFC 4217 section 10.2: 521).
func (c *conn) checkDataProt() error {
	if !c.protP && c.dataTLSRequired() {
		return errReply(statusProtRefused, "Data connection cannot be opened with this PROT setting; use PBSZ 0 and PROT P.")
	}
	return nil
}

// CertLoader serves a certificate chain and its key from PEM files and
// picks up new files without a restart: every handshake compares the
// files' size and modification time with those last loaded (two stat
// calls) and reloads the pair when they changed. A pair that fails to load,
// such as a renewal written halfway, leaves the previous certificate in
// service until the files change again.
//
// Use its GetCertificate method in a [tls.Config]. A CertLoader is safe for
// concurrent use; CertFile and KeyFile must not change after first use.
type CertLoader struct {
	CertFile string // certificate chain, leaf first
	KeyFile  string // private key of the leaf

	mu    sync.Mutex // guards the fields below
	cert  *tls.Certificate
	stamp pairStamp // of the files when last loaded or tried
	err   error     // of the last attempt
}

// fileStamp tells whether a file changed.
type fileStamp struct {
	size    int64
	modTime time.Time
}

// pairStamp is the fileStamp of the certificate and of the key file.
type pairStamp [2]fileStamp

func (st pairStamp) same(o pairStamp) bool {
	return st[0].size == o[0].size && st[0].modTime.Equal(o[0].modTime) &&
		st[1].size == o[1].size && st[1].modTime.Equal(o[1].modTime)
}

// NewCertLoader loads the pair once, so that errors show at start.
func NewCertLoader(certFile, keyFile string) (*CertLoader, error) {
	l := &CertLoader{CertFile: certFile, KeyFile: keyFile}
	if err := l.Reload(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *CertLoader) stamps() pairStamp {
	var st pairStamp
	for i, f := range []string{l.CertFile, l.KeyFile} {
		if fi, err := os.Stat(f); err == nil {
			st[i] = fileStamp{fi.Size(), fi.ModTime()}
		}
	}
	return st
}

// Reload loads the files now. On failure the previous certificate stays in
// service and the error is returned.
func (l *CertLoader) Reload() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.loadLocked(l.stamps())
}

func (l *CertLoader) loadLocked(st pairStamp) error {
	// The stamp is taken before reading: a change made while reading
	// shows as a new stamp next time.
	l.stamp = st
	cert, err := tls.LoadX509KeyPair(l.CertFile, l.KeyFile)
	if err != nil {
		l.err = err
		return err
	}
	l.cert, l.err = &cert, nil
	return nil
}

// GetCertificate returns the current certificate, reloading the files
// first when they changed. It fits [tls.Config.GetCertificate].
func (l *CertLoader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	st := l.stamps()
	l.mu.Lock()
	defer l.mu.Unlock()
	if !st.same(l.stamp) || (l.cert == nil && l.err == nil) {
		l.loadLocked(st)
	}
	if l.cert == nil {
		if l.err != nil {
			return nil, l.err
		}
		return nil, fs.ErrNotExist
	}
	return l.cert, nil
}
