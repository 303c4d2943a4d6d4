package ftp_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftp/ftptest"
	"github.com/ferryftp/ferry/vfs/memfs"
)

// Reply codes of RFC 2228 section 4 and RFC 4217 section 10.2, as the
// client sees them.
const (
	codeTLSProtRefused      = 521
	codeTLSDataFailed       = 522
	codeTLSNotProtected     = 533
	codeTLSPolicyDenied     = 534
	codeTLSProtNotSupported = 536
)

// pkiKey is a certificate of the test PKI with its key.
type pkiKey struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// newPKIKey issues a certificate for cn, signed by parent or self-signed
// when parent is nil. A self-signed certificate is marked CA so that
// OpenSSL accepts it as its own trust anchor (curl --cacert).
func newPKIKey(t testing.TB, cn string, parent *pkiKey, isCA, client bool) *pkiKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err, "generating a P-256 key")
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  isCA || parent == nil,
	}
	if tmpl.IsCA {
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	switch {
	case client:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	case !isCA:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.DNSNames = []string{"localhost"}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}
	}
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	require.NoError(t, err, "creating the certificate of %s", cn)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &pkiKey{cert: cert, key: key}
}

func (k *pkiKey) certPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.cert.Raw})
}

func (k *pkiKey) keyPEM(t testing.TB) []byte {
	der, err := x509.MarshalECPrivateKey(k.key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}

// tlsCert is k as a tls.Certificate, followed by the chain.
func (k *pkiKey) tlsCert(chain ...*pkiKey) tls.Certificate {
	c := tls.Certificate{Certificate: [][]byte{k.cert.Raw}, PrivateKey: k.key, Leaf: k.cert}
	for _, p := range chain {
		c.Certificate = append(c.Certificate, p.cert.Raw)
	}
	return c
}

func (k *pkiKey) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(k.cert)
	return p
}

// ftpsServerKey is the self-signed certificate of the test servers, for
// localhost, 127.0.0.1 and ::1.
var ftpsServerKey = sync.OnceValue(func() *pkiKey { return newPKIKey(pkiPanicTB{}, "localhost", nil, false, false) })

// pkiPanicTB lets a sync.OnceValue use the key helpers outside a test.
type pkiPanicTB struct{ testing.TB }

func (pkiPanicTB) Helper() {}
func (pkiPanicTB) Errorf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}
func (pkiPanicTB) FailNow() { panic("test PKI") }

// ftpsServerConfig is the server configuration of the test servers.
func ftpsServerConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{ftpsServerKey().tlsCert()}}
}

// ftpsClientConfig is a client configuration that trusts the test servers and
// resumes sessions: its cache is keyed by ServerName, the same for the
// control and the data connections.
func ftpsClientConfig() *tls.Config {
	return &tls.Config{
		RootCAs:            ftpsServerKey().pool(),
		ServerName:         "localhost",
		ClientSessionCache: tls.NewLRUClientSessionCache(4),
	}
}

// newFTPS starts a test server with explicit FTPS and the given settings.
func newFTPS(t testing.TB, opts ...ftptest.Option) *ftptest.Server {
	t.Helper()
	base := []ftptest.Option{ftptest.WithServer(func(s *ftp.Server) { s.TLSConfig = ftpsServerConfig() })}
	return ftptest.NewServer(t, append(base, opts...)...)
}

// ftpsLogin runs AUTH TLS, the login, PBSZ 0 and PROT P.
func ftpsLogin(t *testing.T, c *ftptest.Conn, cfg *tls.Config) {
	t.Helper()
	c.StartTLS(cfg)
	c.Login()
	code, text := c.Cmd("PBSZ 0")
	require.Equal(t, ftp.StatusOK, code, "PBSZ 0: %s", text)
	code, text = c.Cmd("PROT P")
	require.Equal(t, ftp.StatusOK, code, "PROT P: %s", text)
}

// ftpsResult is the outcome of one transfer command.
type ftpsResult struct {
	prelim     int // the 1xx reply, or the refusal
	code       int // the final reply, 0 when refused before 1xx
	text       string
	data       []byte
	dataErr    error
	dataResume bool
}

// transfer runs cmd over a passive data connection, with TLS when cfg is
// not nil, sending upload when it is not nil.
func ftpsTransfer(t *testing.T, c *ftptest.Conn, cfg *tls.Config, cmd string, upload []byte) ftpsResult {
	t.Helper()
	dc := c.Passive()
	c.Send(cmd)
	return ftpsFinish(t, c, dc, cfg, upload)
}

func ftpsFinish(t *testing.T, c *ftptest.Conn, dc net.Conn, cfg *tls.Config, upload []byte) ftpsResult {
	t.Helper()
	var r ftpsResult
	var text string
	r.prelim, text = c.Read()
	if r.prelim/100 != 1 {
		dc.Close()
		r.text = text
		return r
	}
	dc.SetDeadline(time.Now().Add(10 * time.Second))
	if cfg != nil {
		tc := tls.Client(dc, cfg)
		if r.dataErr = tc.Handshake(); r.dataErr == nil {
			r.dataResume = tc.ConnectionState().DidResume
		}
		dc = tc
	}
	if r.dataErr == nil {
		if upload != nil {
			_, r.dataErr = dc.Write(upload)
		} else {
			r.data, r.dataErr = io.ReadAll(dc)
		}
	}
	dc.Close()
	r.code, r.text = c.Read()
	return r
}

// TestFTPSCommandSequence checks AUTH, PBSZ and PROT and their order (RFC
// 4217 sections 4, 8 and 9; RFC 2228 section 3).
func TestFTPSCommandSequence(t *testing.T) {
	t.Parallel()
	srv := newFTPS(t)
	c := ftptest.Dial(t, srv.Addr)

	_, feat := c.Cmd("FEAT")
	for _, f := range []string{" AUTH TLS", " PBSZ", " PROT"} {
		assert.Contains(t, feat, f+"\n", "RFC 4217 section 6: FEAT lists %q", f)
	}
	assert.NotContains(t, feat, " CCC", "CCC is not offered unless allowed")

	steps := []struct {
		cmd  string
		code int
	}{
		{"PBSZ 0", ftp.StatusBadSequence}, // before AUTH
		{"PROT P", ftp.StatusBadSequence}, // before AUTH
		{"CCC", codeTLSNotProtected},      // RFC 4217 section 5
		{"AUTH KERBEROS_V4", ftp.StatusParameterNotImpl},
		{"AUTH", ftp.StatusParameterSyntaxError},
	}
	for _, s := range steps {
		code, text := c.Cmd(s.cmd)
		assert.Equal(t, s.code, code, "%s before TLS: %s", s.cmd, text)
	}
	c.Login()
	cs := c.StartTLS(ftpsClientConfig())
	assert.GreaterOrEqual(t, cs.Version, uint16(tls.VersionTLS12), "TLS 1.2 at least")
	code, _ := c.Cmd("PWD")
	assert.Equal(t, ftp.StatusNotLoggedIn, code, "RFC 4217 section 4.2: AUTH resets the login")

	steps = []struct {
		cmd  string
		code int
	}{
		{"AUTH TLS", ftp.StatusBadSequence},
		{"PROT P", ftp.StatusBadSequence}, // before PBSZ
		{"PBSZ x", ftp.StatusParameterSyntaxError},
		{"PBSZ 0", ftp.StatusOK},
		{"PROT S", codeTLSProtNotSupported},
		{"PROT E", codeTLSProtNotSupported},
		{"PROT X", ftp.StatusParameterNotImpl},
		{"PROT C", ftp.StatusOK},
		{"PROT P", ftp.StatusOK},
		{"CCC", codeTLSPolicyDenied}, // AllowCCC is off
	}
	for _, s := range steps {
		code, text := c.Cmd(s.cmd)
		assert.Equal(t, s.code, code, "%s under TLS: %s", s.cmd, text)
	}
	c.Login()
	code, text := c.Cmd("STAT")
	assert.Equal(t, ftp.StatusSystem, code)
	assert.Contains(t, text, "encrypted", "STAT tells the control connection is protected")
}

func TestFTPSAuthSSLAlias(t *testing.T) {
	t.Parallel()
	srv := newFTPS(t)
	c := ftptest.Dial(t, srv.Addr)
	code, text := c.Cmd("AUTH SSL")
	require.Equal(t, ftp.StatusAuthOK, code, "AUTH SSL is accepted as AUTH TLS: %s", text)
	tc := tls.Client(c.NetConn(), ftpsClientConfig())
	require.NoError(t, tc.Handshake(), "handshake after AUTH SSL")
	tc.Close()
}

func TestFTPSNotConfigured(t *testing.T) {
	t.Parallel()
	srv := ftptest.NewServer(t)
	c := ftptest.Dial(t, srv.Addr)
	_, feat := c.Cmd("FEAT")
	assert.NotContains(t, feat, "AUTH", "no AUTH in FEAT without TLS")
	assert.NotContains(t, feat, "PROT", "no PROT in FEAT without TLS")
	code, _ := c.Cmd("AUTH TLS")
	assert.Equal(t, ftp.StatusNotImplemented, code, "AUTH TLS without a TLS configuration")
}

// TestFTPSCommandInjection sends commands after AUTH TLS in the same
// packet: they would pass for protected ones, so the server must close.
func TestFTPSCommandInjection(t *testing.T) {
	t.Parallel()
	srv := newFTPS(t)
	c := ftptest.Dial(t, srv.Addr)
	nc := c.NetConn()
	_, err := nc.Write([]byte("AUTH TLS\r\nUSER user\r\nPASS pass\r\n"))
	require.NoError(t, err)
	code, text := c.Read()
	assert.Equal(t, ftp.StatusServiceNotAvailable, code, "pipelined commands after AUTH: %s", text)
	_, _, err = c.ReadErr()
	assert.Error(t, err, "the connection is closed after 421")
}

func TestFTPSMinimumVersion(t *testing.T) {
	t.Parallel()
	srv := newFTPS(t)
	c := ftptest.Dial(t, srv.Addr)
	code, _ := c.Cmd("AUTH TLS")
	require.Equal(t, ftp.StatusAuthOK, code)
	cfg := ftpsClientConfig()
	cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	tc := tls.Client(c.NetConn(), cfg)
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	assert.Error(t, tc.Handshake(), "TLS 1.1 is refused: TLS 1.2 is the minimum")
}

// TestFTPSDataConnections runs every data command under PROT P, passive
// and active, with TLS 1.2 and 1.3 (RFC 4217 section 7: the server is the
// TLS server in both directions).
func TestFTPSDataConnections(t *testing.T) {
	t.Parallel()
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		for _, active := range []bool{false, true} {
			name := tls.VersionName(v) + map[bool]string{false: "/passive", true: "/active"}[active]
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				fsys := memfs.New()
				payload := bytes.Repeat([]byte("0123456789abcdef"), 70000)
				require.NoError(t, fsys.WriteFile("f.bin", payload, 0o644))
				srv := newFTPS(t, ftptest.WithFS(fsys))
				cfg := ftpsClientConfig()
				cfg.MaxVersion = v
				c := ftptest.Dial(t, srv.Addr)
				ftpsLogin(t, c, cfg)
				c.Cmd("TYPE I")
				run := func(cmd string, upload []byte) ftpsResult {
					if !active {
						return ftpsTransfer(t, c, cfg, cmd, upload)
					}
					return ftpsActiveTransfer(t, c, cfg, cmd, upload)
				}

				r := run("RETR f.bin", nil)
				assert.Equal(t, ftp.StatusClosingDataConnection, r.code, "RETR: %s", r.text)
				assert.True(t, r.dataResume, "the data connection resumed the control session")
				assert.True(t, bytes.Equal(payload, r.data), "RETR content over TLS (%d bytes)", len(r.data))

				code, _ := c.Cmd("REST 1000")
				require.Equal(t, ftp.StatusFileActionPending, code)
				r = run("RETR f.bin", nil)
				assert.Equal(t, ftp.StatusClosingDataConnection, r.code, "RETR after REST: %s", r.text)
				assert.True(t, bytes.Equal(payload[1000:], r.data), "REST 1000 then RETR over TLS")

				r = run("STOR up.bin", payload[:100000])
				assert.Equal(t, ftp.StatusClosingDataConnection, r.code, "STOR: %s", r.text)
				r = run("APPE up.bin", payload[100000:])
				assert.Equal(t, ftp.StatusClosingDataConnection, r.code, "APPE: %s", r.text)
				got, err := ftpsReadMem(fsys, "up.bin")
				require.NoError(t, err)
				assert.True(t, bytes.Equal(payload, got), "STOR then APPE over TLS")

				r = run("STOU", []byte("unique"))
				assert.Equal(t, ftp.StatusClosingDataConnection, r.code, "STOU: %s", r.text)

				r = run("LIST", nil)
				assert.Equal(t, ftp.StatusClosingDataConnection, r.code, "LIST: %s", r.text)
				assert.Contains(t, string(r.data), "f.bin", "LIST over TLS")
				r = run("NLST", nil)
				assert.Equal(t, ftp.StatusClosingDataConnection, r.code, "NLST: %s", r.text)
				assert.Contains(t, string(r.data), "up.bin", "NLST over TLS")
				r = run("MLSD", nil)
				assert.Equal(t, ftp.StatusClosingDataConnection, r.code, "MLSD: %s", r.text)
				assert.Contains(t, string(r.data), "type=file;", "MLSD over TLS")
			})
		}
	}
}

func ftpsReadMem(fsys *memfs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(context.Background(), name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// ftpsActiveTransfer runs cmd over an EPRT data connection: the server
// connects, and is still the TLS server.
func ftpsActiveTransfer(t *testing.T, c *ftptest.Conn, cfg *tls.Config, cmd string, upload []byte) ftpsResult {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	code, text := c.Cmd("EPRT |1|127.0.0.1|" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port) + "|")
	require.Equal(t, ftp.StatusOK, code, "EPRT: %s", text)
	c.Send(cmd)
	accepted := make(chan net.Conn, 1)
	go func() {
		l.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
		nc, _ := l.Accept()
		accepted <- nc
	}()
	var r ftpsResult
	r.prelim, text = c.Read()
	if r.prelim/100 != 1 {
		r.text = text
		return r
	}
	dc := <-accepted
	require.NotNil(t, dc, "the server connected to the EPRT address")
	return ftpsFinishAccepted(t, c, r, dc, cfg, upload)
}

func ftpsFinishAccepted(t *testing.T, c *ftptest.Conn, r ftpsResult, dc net.Conn, cfg *tls.Config, upload []byte) ftpsResult {
	t.Helper()
	dc.SetDeadline(time.Now().Add(10 * time.Second))
	tc := tls.Client(dc, cfg)
	if r.dataErr = tc.Handshake(); r.dataErr == nil {
		r.dataResume = tc.ConnectionState().DidResume
		if upload != nil {
			_, r.dataErr = tc.Write(upload)
		} else {
			r.data, r.dataErr = io.ReadAll(tc)
		}
	}
	tc.Close()
	r.code, r.text = c.Read()
	return r
}

// TestFTPSSessionReuse checks that a PROT P data connection must resume the
// control connection's session (RFC 4217 section 10.2), with TLS 1.2 and
// 1.3, and that NoTLSSessionReuse lifts the rule.
func TestFTPSSessionReuse(t *testing.T) {
	t.Parallel()
	fsys := memfs.New()
	require.NoError(t, fsys.WriteFile("f.txt", []byte("secret"), 0o644))
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			t.Parallel()
			srv := newFTPS(t, ftptest.WithFS(fsys))
			cfg := ftpsClientConfig()
			cfg.MaxVersion = v
			c := ftptest.Dial(t, srv.Addr)
			ftpsLogin(t, c, cfg)

			fresh := ftpsClientConfig() // empty session cache: a full handshake
			fresh.MaxVersion = v
			r := ftpsTransfer(t, c, fresh, "RETR f.txt", nil)
			assert.Equal(t, ftp.StatusFileStatusOK, r.prelim, "150 before the data connection's handshake")
			assert.Equal(t, codeTLSDataFailed, r.code, "a data connection that does not resume is refused: %s", r.text)
			assert.Empty(t, r.data, "no data over a refused connection")

			r = ftpsTransfer(t, c, cfg, "RETR f.txt", nil)
			assert.Equal(t, ftp.StatusClosingDataConnection, r.code, "the session still works: %s", r.text)
			assert.Equal(t, "secret", string(r.data))

			// A ticket of another control connection to the same
			// server does not resume here either.
			other := ftptest.Dial(t, srv.Addr)
			otherCfg := ftpsClientConfig()
			otherCfg.MaxVersion = v
			ftpsLogin(t, other, otherCfg)
			r = ftpsTransfer(t, c, otherCfg, "RETR f.txt", nil)
			assert.Equal(t, codeTLSDataFailed, r.code, "a session of another control connection is refused: %s", r.text)
		})
	}
	t.Run("NoTLSSessionReuse", func(t *testing.T) {
		t.Parallel()
		srv := newFTPS(t, ftptest.WithFS(fsys), ftptest.WithServer(func(s *ftp.Server) { s.NoTLSSessionReuse = true }))
		c := ftptest.Dial(t, srv.Addr)
		ftpsLogin(t, c, ftpsClientConfig())
		r := ftpsTransfer(t, c, ftpsClientConfig(), "RETR f.txt", nil)
		assert.Equal(t, ftp.StatusClosingDataConnection, r.code, "a full handshake is accepted: %s", r.text)
		assert.False(t, r.dataResume)
		assert.Equal(t, "secret", string(r.data))
	})
}

func TestFTPSDataHandshakeTimeout(t *testing.T) {
	t.Parallel()
	fsys := memfs.New()
	require.NoError(t, fsys.WriteFile("f.txt", []byte("x"), 0o644))
	srv := newFTPS(t, ftptest.WithFS(fsys), ftptest.WithServer(func(s *ftp.Server) {
		s.TLSHandshakeTimeout = 200 * time.Millisecond
	}))
	c := ftptest.Dial(t, srv.Addr)
	ftpsLogin(t, c, ftpsClientConfig())
	dc := c.Passive()
	code, _ := c.Cmd("RETR f.txt")
	require.Equal(t, ftp.StatusFileStatusOK, code)
	// No ClientHello on the data connection.
	code, text := c.Read()
	assert.Equal(t, codeTLSDataFailed, code, "a data handshake that stalls fails: %s", text)
	dc.Close()
}

// TestFTPSAuthHandshakeTimeout sends AUTH TLS and then nothing: the
// server gives up after TLSHandshakeTimeout and closes.
func TestFTPSAuthHandshakeTimeout(t *testing.T) {
	t.Parallel()
	srv := newFTPS(t, ftptest.WithServer(func(s *ftp.Server) { s.TLSHandshakeTimeout = 200 * time.Millisecond }))
	c := ftptest.Dial(t, srv.Addr)
	code, _ := c.Cmd("AUTH TLS")
	require.Equal(t, ftp.StatusAuthOK, code)
	nc := c.NetConn()
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.ReadAll(nc)
	assert.NoError(t, err, "the server closes the connection when the handshake stalls")
}

// TestFTPSAbort aborts a download under TLS: ABOR travels protected, the
// transfer ends with 426 and the ABOR with 226 (RFC 959 4.1.3).
func TestFTPSAbort(t *testing.T) {
	t.Parallel()
	fsys := memfs.New()
	require.NoError(t, fsys.WriteFile("big.bin", make([]byte, 32<<20), 0o644))
	srv := newFTPS(t, ftptest.WithFS(fsys))
	cfg := ftpsClientConfig()
	c := ftptest.Dial(t, srv.Addr)
	ftpsLogin(t, c, cfg)
	c.Cmd("TYPE I")
	dc := c.Passive()
	code, _ := c.Cmd("RETR big.bin")
	require.Equal(t, ftp.StatusFileStatusOK, code)
	tc := tls.Client(dc, cfg)
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 64<<10)
	_, err := io.ReadFull(tc, buf)
	require.NoError(t, err, "the download started")
	// Stop reading: the server blocks on a full socket buffer.
	code, text := c.Cmd("ABOR")
	assert.Equal(t, ftp.StatusTransferAborted, code, "the transfer's reply to ABOR: %s", text)
	code, text = c.Read()
	assert.Equal(t, ftp.StatusClosingDataConnection, code, "ABOR's own reply: %s", text)
	tc.Close()
	code, _ = c.Cmd("NOOP")
	assert.Equal(t, ftp.StatusOK, code, "the session goes on after ABOR")
}

// TestFTPSPolicy checks RequireTLS, RequireDataTLS and ExemptAnonymous
// (RFC 4217 sections 4.2 and 10.2).
func TestFTPSPolicy(t *testing.T) {
	t.Parallel()
	fsys := memfs.New()
	require.NoError(t, fsys.WriteFile("f.txt", []byte("data"), 0o644))
	strict := func(exempt bool) ftptest.Option {
		return ftptest.WithServer(func(s *ftp.Server) {
			s.RequireTLS, s.RequireDataTLS, s.ExemptAnonymous = true, true, exempt
		})
	}

	t.Run("login", func(t *testing.T) {
		t.Parallel()
		srv := newFTPS(t, ftptest.WithFS(fsys), strict(false))
		c := ftptest.Dial(t, srv.Addr)
		code, text := c.Cmd("USER user")
		assert.Equal(t, ftp.StatusNotLoggedIn, code, "USER before AUTH TLS is refused")
		assert.Contains(t, text, "AUTH TLS", "the refusal says what to do")
		code, _ = c.Cmd("USER anonymous")
		assert.Equal(t, ftp.StatusNotLoggedIn, code, "anonymous needs TLS too without ExemptAnonymous")
		c.StartTLS(ftpsClientConfig())
		c.Login()
	})

	t.Run("data", func(t *testing.T) {
		t.Parallel()
		srv := newFTPS(t, ftptest.WithFS(fsys), strict(false))
		c := ftptest.Dial(t, srv.Addr)
		cfg := ftpsClientConfig()
		c.StartTLS(cfg)
		c.Login()
		for _, cmd := range []string{"RETR f.txt", "STOR g.txt", "APPE g.txt", "STOU", "LIST", "NLST", "MLSD"} {
			dc := c.Passive()
			code, text := c.Cmd(cmd)
			assert.Equal(t, codeTLSProtRefused, code, "%s without PROT P is refused before any 1xx: %s", cmd, text)
			dc.Close()
		}
		code, _ := c.Cmd("PBSZ 0")
		require.Equal(t, ftp.StatusOK, code)
		code, _ = c.Cmd("PROT C")
		assert.Equal(t, codeTLSPolicyDenied, code, "PROT C is refused when data TLS is required")
		code, _ = c.Cmd("PROT P")
		require.Equal(t, ftp.StatusOK, code)
		r := ftpsTransfer(t, c, cfg, "RETR f.txt", nil)
		assert.Equal(t, ftp.StatusClosingDataConnection, r.code, "RETR under PROT P: %s", r.text)
	})

	t.Run("anonymous exempt", func(t *testing.T) {
		t.Parallel()
		srv := newFTPS(t, ftptest.WithFS(fsys), strict(true))
		c := ftptest.Dial(t, srv.Addr)
		code, _ := c.Cmd("USER user")
		assert.Equal(t, ftp.StatusNotLoggedIn, code, "named users still need TLS")
		code, _ = c.Cmd("USER anonymous")
		require.Equal(t, ftp.StatusNeedPassword, code, "anonymous is exempt")
		code, _ = c.Cmd("PASS guest@")
		require.Equal(t, ftp.StatusLoggedIn, code)
		r := ftpsTransfer(t, c, nil, "RETR f.txt", nil)
		assert.Equal(t, ftp.StatusClosingDataConnection, r.code, "anonymous transfers in clear: %s", r.text)
		assert.Equal(t, "data", string(r.data))
	})
}

// TestFTPSClearCommandChannel checks CCC (RFC 4217 section 5): plain text
// afterwards, PROT frozen and data still protected, then REIN.
func TestFTPSClearCommandChannel(t *testing.T) {
	t.Parallel()
	fsys := memfs.New()
	require.NoError(t, fsys.WriteFile("f.txt", []byte("data"), 0o644))
	for _, notify := range []bool{true, false} {
		t.Run("close_notify="+strconv.FormatBool(notify), func(t *testing.T) {
			t.Parallel()
			srv := newFTPS(t, ftptest.WithFS(fsys), ftptest.WithServer(func(s *ftp.Server) { s.AllowCCC = true }))
			raw, err := net.Dial("tcp", srv.Addr)
			require.NoError(t, err)
			defer raw.Close()
			c := newFTPSRaw(t, raw)
			c.expect(ftp.StatusServiceReady)
			_, feat := c.cmd("FEAT")
			assert.Contains(t, feat, " CCC\n", "FEAT lists CCC when it is allowed")
			c.expect(ftp.StatusAuthOK, "AUTH TLS")
			cfg := ftpsClientConfig()
			tc := tls.Client(raw, cfg)
			c.rw = tc
			c.expect(ftp.StatusNeedPassword, "USER "+ftptest.User)
			c.expect(ftp.StatusLoggedIn, "PASS "+ftptest.Password)
			c.expect(ftp.StatusOK, "PBSZ 0")
			c.expect(ftp.StatusOK, "PROT P")
			c.expect(ftp.StatusOK, "CCC")
			// The server's close_notify follows the 200.
			_, err = tc.Read(make([]byte, 1))
			assert.ErrorIs(t, err, io.EOF, "the server closes its TLS layer after CCC")
			if notify {
				require.NoError(t, tc.CloseWrite(), "the client's close_notify")
				// crypto/tls ends writes on the TCP connection too.
				raw.SetDeadline(time.Now().Add(20 * time.Second))
			}
			c.rw = raw
			c.expect(ftp.StatusOK, "NOOP")
			c.expect(ftp.StatusBadSequence, "PROT C")
			c.expect(ftp.StatusBadSequence, "PBSZ 0")
			c.expect(codeTLSNotProtected, "CCC")

			// Data stays protected at the frozen level and resumes
			// the session of the cleared control connection.
			port := c.epsv()
			dc, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", port))
			require.NoError(t, err)
			defer dc.Close()
			c.expect(ftp.StatusFileStatusOK, "RETR f.txt")
			dtc := tls.Client(dc, cfg)
			dtc.SetDeadline(time.Now().Add(10 * time.Second))
			data, err := io.ReadAll(dtc)
			require.NoError(t, err, "RETR under PROT P after CCC")
			assert.Equal(t, "data", string(data))
			assert.True(t, dtc.ConnectionState().DidResume, "the data connection resumed the control session")
			c.expect(ftp.StatusClosingDataConnection)

			c.expect(ftp.StatusServiceReady, "REIN")
			c.expect(ftp.StatusBadSequence, "PROT P")
			c.expect(ftp.StatusAuthOK, "AUTH TLS")
			tc2 := tls.Client(raw, ftpsClientConfig())
			c.rw = tc2
			c.expect(ftp.StatusNeedPassword, "USER "+ftptest.User)
		})
	}
}

// TestFTPSReinitialize checks REIN under TLS (RFC 4217 section 13): its
// reply is protected, then the session is plain text and cleared.
func TestFTPSReinitialize(t *testing.T) {
	t.Parallel()
	srv := newFTPS(t)
	raw, err := net.Dial("tcp", srv.Addr)
	require.NoError(t, err)
	defer raw.Close()
	c := newFTPSRaw(t, raw)
	c.expect(ftp.StatusServiceReady)
	c.expect(ftp.StatusAuthOK, "AUTH TLS")
	tc := tls.Client(raw, ftpsClientConfig())
	c.rw = tc
	c.expect(ftp.StatusNeedPassword, "USER "+ftptest.User)
	c.expect(ftp.StatusLoggedIn, "PASS "+ftptest.Password)
	c.expect(ftp.StatusOK, "PBSZ 0")
	c.expect(ftp.StatusOK, "PROT P")
	c.expect(ftp.StatusServiceReady, "REIN")
	_, err = tc.Read(make([]byte, 1))
	assert.ErrorIs(t, err, io.EOF, "the server ends TLS after the protected REIN reply")
	require.NoError(t, tc.CloseWrite())
	raw.SetDeadline(time.Now().Add(20 * time.Second)) // crypto/tls ends writes on raw too
	c.rw = raw
	c.expect(ftp.StatusNotLoggedIn, "PWD")
	c.expect(ftp.StatusBadSequence, "PROT P")
	c.expect(ftp.StatusNeedPassword, "USER "+ftptest.User)
	c.expect(ftp.StatusLoggedIn, "PASS "+ftptest.Password)
	c.expect(ftp.StatusClosing, "QUIT")
}

// ftpsRaw speaks the control protocol over a connection whose TLS layer
// the test switches by hand (CCC, REIN).
type ftpsRaw struct {
	t  *testing.T
	rw io.ReadWriter
}

func newFTPSRaw(t *testing.T, nc net.Conn) *ftpsRaw {
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	return &ftpsRaw{t: t, rw: nc}
}

func (c *ftpsRaw) send(line string) {
	c.t.Helper()
	_, err := io.WriteString(c.rw, line+"\r\n")
	require.NoError(c.t, err, "sending %q", line)
}

// read reads one reply byte by byte, so that nothing past it is consumed
// before the test switches layers.
func (c *ftpsRaw) read() (int, string) {
	c.t.Helper()
	var lines []string
	for {
		var b []byte
		one := make([]byte, 1)
		for {
			_, err := io.ReadFull(c.rw, one)
			require.NoError(c.t, err, "reading a reply")
			if one[0] == '\n' {
				break
			}
			b = append(b, one[0])
		}
		line := strings.TrimRight(string(b), "\r")
		lines = append(lines, line)
		if len(line) >= 4 && line[3] == ' ' && (len(lines) == 1 || line[:3] == lines[0][:3]) {
			code, _ := strconv.Atoi(line[:3])
			return code, strings.Join(lines, "\n")
		}
	}
}

func (c *ftpsRaw) cmd(line string) (int, string) {
	c.t.Helper()
	c.send(line)
	return c.read()
}

// expect reads a reply, after sending line when one is given, and checks
// its code.
func (c *ftpsRaw) expect(code int, line ...string) string {
	c.t.Helper()
	if len(line) > 0 {
		c.send(line[0])
	}
	got, text := c.read()
	require.Equal(c.t, code, got, "reply to %q: %s", line, text)
	return text
}

func (c *ftpsRaw) epsv() string {
	c.t.Helper()
	text := c.expect(ftp.StatusExtendedPassiveMode, "EPSV")
	i, j := strings.Index(text, "(|||"), strings.LastIndex(text, "|)")
	require.True(c.t, i >= 0 && j > i, "EPSV reply %q", text)
	return text[i+4 : j]
}

// TestFTPSImplicit serves implicit FTPS: TLS before the greeting.
func TestFTPSImplicit(t *testing.T) {
	t.Parallel()
	fsys := memfs.New()
	require.NoError(t, fsys.WriteFile("f.txt", []byte("implicit"), 0o644))
	srv := newFTPS(t, ftptest.WithFS(fsys), ftptest.WithImplicitTLS(), ftptest.WithServer(func(s *ftp.Server) {
		s.TLSHandshakeTimeout = time.Second
	}))
	cfg := ftpsClientConfig()
	c := ftptest.DialTLS(t, srv.Addr, cfg)
	_, feat := c.Cmd("FEAT")
	assert.Contains(t, feat, " PBSZ\n", "implicit FTPS lists PBSZ")
	assert.Contains(t, feat, " PROT\n", "implicit FTPS lists PROT")
	assert.NotContains(t, feat, "AUTH", "no AUTH on an implicit connection")
	code, _ := c.Cmd("AUTH TLS")
	assert.Equal(t, ftp.StatusBadSequence, code, "AUTH on an implicit connection")
	c.Login()
	c.Cmd("PBSZ 0")
	c.Cmd("PROT P")
	r := ftpsTransfer(t, c, cfg, "RETR f.txt", nil)
	assert.Equal(t, ftp.StatusClosingDataConnection, r.code, "RETR over implicit FTPS: %s", r.text)
	assert.Equal(t, "implicit", string(r.data))
	assert.True(t, r.dataResume)
	code, _ = c.Cmd("CCC")
	assert.Equal(t, codeTLSPolicyDenied, code, "CCC is never allowed on implicit FTPS")

	t.Run("plain text", func(t *testing.T) {
		nc, err := net.Dial("tcp", srv.Addr)
		require.NoError(t, err)
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(5 * time.Second))
		_, err = io.WriteString(nc, "USER anonymous\r\n")
		require.NoError(t, err)
		start := time.Now()
		b, err := io.ReadAll(nc)
		if err != nil {
			// The server closed with the command unread: a reset.
			assert.ErrorIs(t, err, syscall.ECONNRESET, "the server closes the connection")
		}
		assert.NotContains(t, string(b), "220", "no greeting in clear on the implicit port")
		assert.Less(t, time.Since(start), 900*time.Millisecond, "closed at once, not at the handshake timeout")
	})

	t.Run("stalled handshake", func(t *testing.T) {
		nc, err := net.Dial("tcp", srv.Addr)
		require.NoError(t, err)
		defer nc.Close()
		nc.SetDeadline(time.Now().Add(5 * time.Second))
		start := time.Now()
		_, err = io.ReadAll(nc) // a plain FTP client waits for the greeting
		assert.NoError(t, err, "the server closes the connection at the handshake timeout")
		assert.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond, "after TLSHandshakeTimeout")
	})

	// The server goes on serving.
	c2 := ftptest.DialTLS(t, srv.Addr, ftpsClientConfig())
	c2.Login()
}

// TestFTPSClientCertificates requires client certificates issued by a CA
// (tls.Config.ClientCAs); the login sees the verified chain.
func TestFTPSClientCertificates(t *testing.T) {
	t.Parallel()
	ca := newPKIKey(t, "Test Client CA", nil, true, false)
	client := newPKIKey(t, "alice", ca, false, true)
	other := newPKIKey(t, "mallory", nil, false, true) // self-signed
	fsys := memfs.New()
	require.NoError(t, fsys.WriteFile("f.txt", []byte("for alice"), 0o644))
	var mu sync.Mutex
	var seen []string
	srv := newFTPS(t, ftptest.WithFS(fsys), ftptest.WithServer(func(s *ftp.Server) {
		s.TLSConfig.ClientCAs = ca.pool()
		s.TLSConfig.ClientAuth = tls.RequireAndVerifyClientCert
		inner := s.Auth
		s.Auth = ftp.AuthenticatorFunc(func(ctx context.Context, li *ftp.LoginInfo) (*ftp.User, error) {
			if li.TLS != nil && len(li.TLS.VerifiedChains) > 0 {
				mu.Lock()
				seen = append(seen, li.TLS.VerifiedChains[0][0].Subject.CommonName)
				mu.Unlock()
			}
			return inner.Login(ctx, li)
		})
	}))

	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		cfg := ftpsClientConfig()
		cfg.MaxVersion = v
		cfg.Certificates = []tls.Certificate{client.tlsCert()}
		c := ftptest.Dial(t, srv.Addr)
		ftpsLogin(t, c, cfg)
		r := ftpsTransfer(t, c, cfg, "RETR f.txt", nil)
		assert.Equal(t, ftp.StatusClosingDataConnection, r.code, "%s: a transfer with a client certificate: %s", tls.VersionName(v), r.text)
		assert.Equal(t, "for alice", string(r.data))
	}
	mu.Lock()
	assert.Equal(t, []string{"alice", "alice"}, seen, "LoginInfo.TLS holds the verified client chain")
	mu.Unlock()

	for name, certs := range map[string][]tls.Certificate{"none": nil, "unknown CA": {other.tlsCert()}} {
		c := ftptest.Dial(t, srv.Addr)
		code, _ := c.Cmd("AUTH TLS")
		require.Equal(t, ftp.StatusAuthOK, code)
		cfg := ftpsClientConfig()
		cfg.Certificates = certs
		tc := tls.Client(c.NetConn(), cfg)
		tc.SetDeadline(time.Now().Add(5 * time.Second))
		err := tc.Handshake()
		if err == nil {
			// TLS 1.3: the client learns of the refusal on its
			// first read.
			_, err = tc.Read(make([]byte, 1))
		}
		assert.Error(t, err, "client certificate %s: refused", name)
	}
}

// TestCertLoaderReload replaces the PEM files under a running server: new
// handshakes present the new certificate, a broken pair keeps the old one.
func TestCertLoaderReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	root := newPKIKey(t, "Test Root", nil, true, false)
	inter := newPKIKey(t, "Test Intermediate", root, true, false)
	first := newPKIKey(t, "first", inter, false, false)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	// Each renewal is dated a minute after the last: file times may not
	// tell two writes apart within one clock tick.
	stamp := time.Now()
	touch := func(files ...string) {
		stamp = stamp.Add(time.Minute)
		for _, f := range files {
			require.NoError(t, os.Chtimes(f, stamp, stamp))
		}
	}
	writePair := func(leaf *pkiKey) {
		chain := append(leaf.certPEM(), inter.certPEM()...)
		require.NoError(t, os.WriteFile(certFile, chain, 0o644))
		require.NoError(t, os.WriteFile(keyFile, leaf.keyPEM(t), 0o600))
		touch(certFile, keyFile)
	}
	writePair(first)
	loader, err := ftp.NewCertLoader(certFile, keyFile)
	require.NoError(t, err)
	srv := ftptest.NewServer(t, ftptest.WithServer(func(s *ftp.Server) {
		s.TLSConfig = &tls.Config{GetCertificate: loader.GetCertificate}
	}))
	presented := func() (string, int) {
		t.Helper()
		c := ftptest.Dial(t, srv.Addr)
		cs := c.StartTLS(&tls.Config{RootCAs: root.pool(), ServerName: "localhost"})
		c.Cmd("QUIT")
		return cs.PeerCertificates[0].Subject.CommonName, len(cs.PeerCertificates)
	}
	cn, n := presented()
	assert.Equal(t, "first", cn)
	assert.Equal(t, 2, n, "the chain file's intermediate is sent")

	second := newPKIKey(t, "second", inter, false, false)
	writePair(second)
	cn, _ = presented()
	assert.Equal(t, "second", cn, "new handshakes present the new certificate without a restart")

	require.NoError(t, os.WriteFile(keyFile, []byte("not a key"), 0o600))
	touch(keyFile)
	cn, _ = presented()
	assert.Equal(t, "second", cn, "a broken pair leaves the previous certificate in service")
	assert.Error(t, loader.Reload(), "Reload reports the broken pair")

	_, err = ftp.NewCertLoader(filepath.Join(dir, "missing.pem"), keyFile)
	assert.Error(t, err, "NewCertLoader fails at once on a missing file")
}
