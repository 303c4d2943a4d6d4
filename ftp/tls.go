package ftp

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

// TLS for FTP: RFC 4217 (with the AUTH, PBSZ, PROT and CCC commands of RFC
// 2228) for explicit FTPS, and implicit FTPS through ListenAndServeTLS.

// tlsConfig returns the configuration of this connection's control TLS
// layer: the server's, with TLS 1.2 as the floor, no renegotiation, and
// session tickets tagged with this connection's identity so that a data
// connection can prove it resumes this control session and no other.
func (c *conn) tlsConfig(base *tls.Config) *tls.Config {
	cfg := base.Clone()
	if cfg.MinVersion < tls.VersionTLS12 {
		cfg.MinVersion = tls.VersionTLS12
	}
	cfg.Renegotiation = tls.RenegotiateNever
	cfg.SetSessionTicketKeys([][32]byte{c.srv.ticketKey()})
	tag := c.sessionTag()
	cfg.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		ss.Extra = append(ss.Extra, tag)
		return cfg.EncryptTicket(cs, ss)
	}
	return cfg
}

// dataTLSConfig is the configuration of a PROT P data connection: it
// resumes only tickets issued on this control connection.
func (c *conn) dataTLSConfig() *tls.Config {
	cfg := c.tlsConfig(c.srv.TLSConfig)
	tag := c.sessionTag()
	cfg.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		ss, err := cfg.DecryptTicket(identity, cs)
		if err != nil || ss == nil {
			return nil, nil // full handshake; refused afterwards
		}
		for _, e := range ss.Extra {
			if bytes.Equal(e, tag) {
				return ss, nil
			}
		}
		return nil, nil
	}
	return cfg
}

func (c *conn) sessionTag() []byte {
	c.tagOnce.Do(func() {
		c.tag = make([]byte, 16)
		rand.Read(c.tag)
	})
	return c.tag
}

func (s *Server) ticketKey() [32]byte {
	s.keyOnce.Do(func() { rand.Read(s.key[:]) })
	return s.key
}

// errNoResume refuses a PROT P data connection that did not resume the
// control connection's TLS session.
var errNoResume = &Error{Code: StatusCannotOpenData, Msg: "TLS session of data connection not resumed; refused."}

// wrapData puts TLS on a data connection under PROT P, server side in both
// passive and active mode (RFC 4217 section 7).
func (c *conn) wrapData(ctx context.Context, dc net.Conn) (net.Conn, error) {
	if !c.protP {
		return dc, nil
	}
	tc := tls.Server(dc, c.dataTLSConfig())
	hctx, cancel := context.WithTimeout(ctx, c.srv.dataTimeout())
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		dc.Close()
		return nil, &dataError{err}
	}
	if !c.srv.NoTLSSessionReuse && !tc.ConnectionState().DidResume {
		tc.Close()
		return nil, errNoResume
	}
	return tc, nil
}

// AUTH, RFC 2228 section 3 and RFC 4217 section 4.
func (c *conn) cmdAUTH(arg string) error {
	if c.srv.TLSConfig == nil {
		return errReply(StatusNotImplemented, "TLS is not configured.")
	}
	switch strings.ToUpper(strings.TrimSpace(arg)) {
	case "TLS", "SSL", "TLS-C", "TLS-P":
	default:
		return errReply(StatusParameterNotImpl, "Security mechanism not understood; use AUTH TLS.")
	}
	if c.tls != nil {
		return errReply(StatusBadSequence, "Already using TLS.")
	}
	if c.lr.Buffered() > 0 {
		// Commands sent after AUTH in the same plain-text packet
		// would be taken as protected (the STARTTLS injection
		// attack): drop the connection.
		c.reply(StatusServiceNotAvailable, "Commands pipelined after AUTH; closing control connection.")
		c.quitting = true
		return nil
	}
	c.reply(StatusAuthOK, "AUTH TLS successful.")
	tc := tls.Server(c.conn(), c.tlsConfig(c.srv.TLSConfig))
	if err := c.handshake(tc); err != nil {
		c.log.Debug("TLS handshake failed", "err", err)
		c.quitting = true
		return nil
	}
	c.setControl(tc)
	c.tls = tc
	// RFC 4217 section 4: everything but AUTH is reset.
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

// clearTLS reverts the control connection to plain text after the reply to
// CCC or REIN has been sent protected (RFC 4217 sections 5 and 13).
func (c *conn) clearTLS() {
	tc := c.tls
	if tc == nil || c.implicit {
		return
	}
	tc.CloseWrite()
	raw := tc.NetConn()
	c.tls = nil
	c.protP = false
	c.pbsz = false
	c.ncMu.Lock()
	c.nc = raw
	c.ncMu.Unlock()
	c.w.setConn(raw)
	c.lr = newLineReader(&alertSkipper{r: bufio.NewReader(raw)}, c.srv.maxLineLength(), c.w.writeRaw)
}

// alertSkipper drops the client's TLS close_notify record, if it sends one,
// before the plain-text commands that follow CCC.
type alertSkipper struct {
	r    *bufio.Reader
	once bool
}

func (a *alertSkipper) Read(p []byte) (int, error) {
	if !a.once {
		a.once = true
		if b, err := a.r.Peek(5); err == nil && (b[0] == 21 || b[0] == 23) && b[1] == 3 {
			n := int(b[3])<<8 | int(b[4])
			if _, err := a.r.Discard(5 + n); err != nil {
				return 0, err
			}
		}
	}
	return a.r.Read(p)
}

// PBSZ, RFC 2228 section 3; RFC 4217 section 8: always 0 for TLS.
func (c *conn) cmdPBSZ(arg string) error {
	if c.tls == nil {
		return errReply(StatusBadSequence, "PBSZ requires AUTH first.")
	}
	if !isDigits(strings.TrimSpace(arg)) {
		return errReply(StatusParameterSyntaxError, "Syntax error in PBSZ.")
	}
	c.pbsz = true
	return c.reply(StatusOK, "PBSZ=0")
}

// PROT, RFC 2228 section 3; RFC 4217 section 9.
func (c *conn) cmdPROT(arg string) error {
	if c.tls == nil {
		return errReply(StatusBadSequence, "PROT requires AUTH first.")
	}
	if !c.pbsz {
		return errReply(StatusBadSequence, "PROT requires PBSZ first.")
	}
	switch strings.ToUpper(strings.TrimSpace(arg)) {
	case "C":
		if c.dataTLSRequired() {
			return errReply(534, "Data connections must be protected; use PROT P.")
		}
		c.protP = false
		return c.reply(StatusOK, "Protection level set to Clear.")
	case "P":
		c.protP = true
		return c.reply(StatusOK, "Protection level set to Private.")
	case "S", "E":
		return errReply(536, "Protection level not supported by TLS.")
	}
	return errReply(StatusParameterNotImpl, "Protection level not understood.")
}

// CCC, RFC 4217 section 5.
func (c *conn) cmdCCC(string) error {
	if c.tls == nil {
		return errReply(533, "Control connection is not protected.")
	}
	if !c.srv.AllowCCC || c.implicit {
		return errReply(534, "CCC not allowed.")
	}
	c.reply(StatusOK, "Control connection cleared.")
	c.clearTLS()
	return nil
}

// dataTLSRequired reports whether this session must use PROT P.
func (c *conn) dataTLSRequired() bool {
	return c.srv.RequireDataTLS && !(c.srv.ExemptAnonymous && c.anonymous())
}

// loginTLSRequired reports whether USER must come after AUTH.
func (c *conn) loginTLSRequired(user string) bool {
	return c.srv.RequireTLS && c.tls == nil && !(c.srv.ExemptAnonymous && isAnonymousName(user))
}

func (c *conn) anonymous() bool { return isAnonymousName(c.userName) }

func isAnonymousName(u string) bool {
	return strings.EqualFold(u, "anonymous") || strings.EqualFold(u, "ftp")
}

// checkDataProt refuses a transfer command before any 1xx reply when the
// PROT setting is not acceptable (RFC 4217 section 9: 521).
func (c *conn) checkDataProt() error {
	if !c.protP && c.dataTLSRequired() {
		return errReply(521, "Data connection cannot be opened with this PROT setting; use PROT P.")
	}
	return nil
}

// CertLoader serves a certificate from PEM files and reloads them when
// they change on disk, without a restart. Use its GetCertificate in a
// tls.Config.
type CertLoader struct {
	CertFile, KeyFile string

	mu      sync.Mutex
	cert    *tls.Certificate
	modTime time.Time
	checked time.Time
}

// NewCertLoader loads the pair once, so errors show at start.
func NewCertLoader(certFile, keyFile string) (*CertLoader, error) {
	l := &CertLoader{CertFile: certFile, KeyFile: keyFile}
	if err := l.load(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *CertLoader) load() error {
	cert, err := tls.LoadX509KeyPair(l.CertFile, l.KeyFile)
	if err != nil {
		return err
	}
	l.cert = &cert
	l.modTime = l.newest()
	return nil
}

func (l *CertLoader) newest() time.Time {
	var t time.Time
	for _, f := range []string{l.CertFile, l.KeyFile} {
		if fi, err := os.Stat(f); err == nil && fi.ModTime().After(t) {
			t = fi.ModTime()
		}
	}
	return t
}

// GetCertificate returns the current certificate, reloading the files at
// most once a second when their modification time changed. A pair that
// fails to load keeps the previous certificate in service.
func (l *CertLoader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now := time.Now(); now.Sub(l.checked) > time.Second {
		l.checked = now
		if m := l.newest(); !m.Equal(l.modTime) {
			old := l.cert
			if err := l.load(); err != nil {
				l.cert = old
				l.modTime = m
			}
		}
	}
	if l.cert == nil {
		return nil, errors.New("ftp: no certificate loaded")
	}
	return l.cert, nil
}

var _ io.Reader = (*alertSkipper)(nil)
