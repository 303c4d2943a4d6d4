// Package ftptest starts FTP servers for tests, as net/http/httptest does
// for HTTP: NewServer returns a started [ftp.Server] on 127.0.0.1 with an
// in-memory file system, and Dial opens a raw control connection for tests
// that speak the protocol line by line.
package ftptest

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/vfs"
	"github.com/ferryftp/ferry/vfs/memfs"
)

// The accounts of a test server.
const (
	User     = "user" // read-write
	Password = "pass"
	// Anonymous users ("anonymous", "ftp") log in with any password and
	// get a read-only view of the same tree.
)

// Server is a running test server.
type Server struct {
	*ftp.Server
	Addr string // host:port of the listener, on 127.0.0.1 or [::1]
	FS   vfs.FS // the served tree
	l    net.Listener
}

// Option changes a test server before it starts.
type Option func(*config)

type config struct {
	network, addr string
	fsys          vfs.FS
	setup         []func(*ftp.Server)
	implicitTLS   bool
}

// WithFS serves fsys instead of a new, empty memfs.FS.
func WithFS(fsys vfs.FS) Option { return func(c *config) { c.fsys = fsys } }

// WithIPv6 listens on [::1] instead of 127.0.0.1.
func WithIPv6() Option { return func(c *config) { c.network, c.addr = "tcp6", "[::1]:0" } }

// WithImplicitTLS serves implicit FTPS (TLS before the greeting) with the
// server's TLSConfig, which a WithServer option must set.
func WithImplicitTLS() Option { return func(c *config) { c.implicitTLS = true } }

// WithServer lets fn set fields of the ftp.Server before it serves.
func WithServer(fn func(*ftp.Server)) Option {
	return func(c *config) { c.setup = append(c.setup, fn) }
}

// NewServer starts a server on a loopback port and stops it when the test
// ends. Logs go to t.Log.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	cfg := config{network: "tcp4", addr: "127.0.0.1:0"}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.fsys == nil {
		cfg.fsys = memfs.New()
	}
	l, err := net.Listen(cfg.network, cfg.addr)
	if err != nil {
		t.Fatalf("ftptest: listen: %v", err)
	}
	s := &Server{
		Server: &ftp.Server{
			Auth:              Auth(cfg.fsys),
			LoginFailureDelay: -1,
			Logger:            slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
		},
		Addr: l.Addr().String(),
		FS:   cfg.fsys,
		l:    l,
	}
	for _, fn := range cfg.setup {
		fn(s.Server)
	}
	done := make(chan error, 1)
	go func() {
		if cfg.implicitTLS {
			done <- s.Server.ServeTLS(l, "", "")
			return
		}
		done <- s.Server.Serve(l)
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Server.Shutdown(ctx); err != nil {
			s.Server.Close()
		}
		if err := <-done; !errors.Is(err, ftp.ErrServerClosed) {
			t.Errorf("ftptest: Serve returned %v, want ErrServerClosed", err)
		}
	})
	return s
}

// Auth is the authenticator of test servers: User/Password read-write on
// fsys, anonymous read-only.
func Auth(fsys vfs.FS) ftp.Authenticator {
	return ftp.AuthenticatorFunc(func(ctx context.Context, li *ftp.LoginInfo) (*ftp.User, error) {
		switch {
		case li.User == User && li.Password == Password:
			return &ftp.User{Name: li.User, FS: fsys}, nil
		case strings.EqualFold(li.User, "anonymous") || strings.EqualFold(li.User, "ftp"):
			return &ftp.User{Name: "anonymous", FS: vfs.ReadOnly(fsys)}, nil
		}
		return nil, errors.New("bad password")
	})
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Conn is a raw control connection.
type Conn struct {
	t  testing.TB
	nc net.Conn
	r  *bufio.Reader
}

// Dial connects to addr and reads the greeting.
func Dial(t testing.TB, addr string) *Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("ftptest: dial: %v", err)
	}
	c := &Conn{t: t, nc: nc, r: bufio.NewReader(nc)}
	t.Cleanup(func() { nc.Close() })
	if code, text := c.Read(); code != ftp.StatusServiceReady {
		t.Fatalf("ftptest: greeting %d %q", code, text)
	}
	return c
}

// DialTLS connects to an implicit FTPS server at addr with the TLS client
// configuration cfg and reads the greeting.
func DialTLS(t testing.TB, addr string, cfg *tls.Config) *Conn {
	t.Helper()
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: cfg}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("ftptest: dial TLS: %v", err)
	}
	c := &Conn{t: t, nc: nc, r: bufio.NewReader(nc)}
	t.Cleanup(func() { nc.Close() })
	if code, text := c.Read(); code != ftp.StatusServiceReady {
		t.Fatalf("ftptest: greeting %d %q", code, text)
	}
	return c
}

// StartTLS sends AUTH TLS and runs the client side of the handshake with
// cfg (RFC 4217 section 4); the connection speaks TLS from then on.
func (c *Conn) StartTLS(cfg *tls.Config) *tls.ConnectionState {
	c.t.Helper()
	if code, text := c.Cmd("AUTH TLS"); code != ftp.StatusAuthOK {
		c.t.Fatalf("ftptest: AUTH TLS: %d %s", code, text)
	}
	if c.r.Buffered() > 0 {
		c.t.Fatalf("ftptest: bytes after the 234 reply")
	}
	tc := tls.Client(c.nc, cfg)
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("ftptest: TLS handshake: %v", err)
	}
	tc.SetDeadline(time.Time{})
	c.nc = tc
	c.r = bufio.NewReader(tc)
	cs := tc.ConnectionState()
	return &cs
}

// NetConn is the underlying connection.
func (c *Conn) NetConn() net.Conn { return c.nc }

// Send writes line and CRLF.
func (c *Conn) Send(line string) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c.nc, line+"\r\n"); err != nil {
		c.t.Fatalf("ftptest: send %q: %v", line, err)
	}
}

// Read reads one reply, multi-line replies joined with "\n". It fails the
// test after 10 seconds.
func (c *Conn) Read() (code int, text string) {
	c.t.Helper()
	code, text, err := c.ReadErr()
	if err != nil {
		c.t.Fatalf("ftptest: read reply: %v", err)
	}
	return code, text
}

// ReadErr is Read returning the error instead of failing.
func (c *Conn) ReadErr() (code int, text string, err error) {
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := c.r.ReadString('\n')
	if err != nil {
		return 0, "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if len(line) < 4 {
		return 0, "", fmt.Errorf("short reply %q", line)
	}
	code, err = strconv.Atoi(line[:3])
	if err != nil {
		return 0, "", fmt.Errorf("bad reply %q", line)
	}
	if line[3] != '-' {
		return code, line[4:], nil
	}
	lines := []string{line[4:]}
	for {
		l, err := c.r.ReadString('\n')
		if err != nil {
			return 0, "", err
		}
		l = strings.TrimRight(l, "\r\n")
		if strings.HasPrefix(l, line[:3]+" ") {
			lines = append(lines, l[4:])
			return code, strings.Join(lines, "\n"), nil
		}
		lines = append(lines, l)
	}
}

// Cmd sends line and reads the reply.
func (c *Conn) Cmd(line string) (code int, text string) {
	c.t.Helper()
	c.Send(line)
	return c.Read()
}

// Login logs in as User.
func (c *Conn) Login() {
	c.t.Helper()
	if code, text := c.Cmd("USER " + User); code != ftp.StatusNeedPassword {
		c.t.Fatalf("ftptest: USER: %d %s", code, text)
	}
	if code, text := c.Cmd("PASS " + Password); code != ftp.StatusLoggedIn {
		c.t.Fatalf("ftptest: PASS: %d %s", code, text)
	}
}

// Passive sends EPSV and connects to the announced port.
func (c *Conn) Passive() net.Conn {
	c.t.Helper()
	code, text := c.Cmd("EPSV")
	if code != ftp.StatusExtendedPassiveMode {
		c.t.Fatalf("ftptest: EPSV: %d %s", code, text)
	}
	i := strings.Index(text, "(|||")
	j := strings.LastIndex(text, "|)")
	if i < 0 || j < i {
		c.t.Fatalf("ftptest: EPSV reply %q", text)
	}
	host, _, _ := net.SplitHostPort(c.nc.RemoteAddr().String())
	dc, err := net.DialTimeout("tcp", net.JoinHostPort(host, text[i+4:j]), 5*time.Second)
	if err != nil {
		c.t.Fatalf("ftptest: data dial: %v", err)
	}
	c.t.Cleanup(func() { dc.Close() })
	return dc
}
