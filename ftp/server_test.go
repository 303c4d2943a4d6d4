package ftp_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftp/ftptest"
	"github.com/ferryftp/ferry/vfs"
	"github.com/ferryftp/ferry/vfs/memfs"
	"github.com/ferryftp/ferry/vfs/osfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tier-2 tests of the server's lifecycle and of the control connection's
// read loop: raw lines against an ftptest server, exact reply codes.

// ioTimeout bounds every blocking read and write of these tests.
const ioTimeout = 10 * time.Second

// rawConn is a control connection without any client logic, for tests
// that look at bytes: Telnet answers, CRLF, what comes before a close.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	r  *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, ioTimeout)
	require.NoError(t, err, "dialing %s", addr)
	t.Cleanup(func() { nc.Close() })
	c := &rawConn{t: t, nc: nc, r: bufio.NewReader(nc)}
	require.Equal(t, "220 Ferry FTP server ready.\r\n", c.line(), "the greeting")
	return c
}

// write sends s as it is, in one write.
func (c *rawConn) write(s string) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(ioTimeout))
	_, err := io.WriteString(c.nc, s)
	require.NoError(c.t, err, "writing %q", s)
}

// line reads one line, CRLF included.
func (c *rawConn) line() string {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(ioTimeout))
	l, err := c.r.ReadString('\n')
	require.NoError(c.t, err, "reading a reply line (got %q)", l)
	return l
}

// expectEOF checks that the server closes the connection with nothing
// more to say.
func (c *rawConn) expectEOF() {
	c.t.Helper()
	expectClosed(c.t, c.nc, c.r)
}

func expectClosed(t *testing.T, nc net.Conn, r io.Reader) {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(ioTimeout))
	rest, err := io.ReadAll(r)
	if err != nil {
		assert.True(t, errors.Is(err, syscall.ECONNRESET), "the server should close the connection, got %v", err)
	}
	assert.Empty(t, string(rest), "nothing should come before the close")
}

// expectCode reads a reply from an ftptest.Conn and checks its code.
func expectCode(t *testing.T, c *ftptest.Conn, want int, what string) string {
	t.Helper()
	code, text := c.Read()
	assert.Equal(t, want, code, "%s: reply %d %q", what, code, text)
	return text
}

// cmdCode sends line and checks the code of the reply.
func cmdCode(t *testing.T, c *ftptest.Conn, line string, want int) string {
	t.Helper()
	c.Send(line)
	return expectCode(t, c, want, line)
}

// sparseFile creates a file of size bytes in m that costs almost no memory
// (memfs reads a hole as zeros).
func sparseFile(t *testing.T, m *memfs.FS, name string, size int64) {
	t.Helper()
	f, err := m.OpenFile(t.Context(), name, vfs.O_WRONLY|vfs.O_CREATE|vfs.O_TRUNC, 0o644)
	require.NoError(t, err, "creating %s", name)
	_, err = f.Seek(size-1, io.SeekStart)
	require.NoError(t, err, "seeking in %s", name)
	_, err = f.(io.Writer).Write([]byte{'x'})
	require.NoError(t, err, "writing %s", name)
	require.NoError(t, f.Close(), "closing %s", name)
}

// readData reads a data connection to its end.
func readData(t *testing.T, dc net.Conn) []byte {
	t.Helper()
	dc.SetReadDeadline(time.Now().Add(ioTimeout))
	b, err := io.ReadAll(dc)
	require.NoError(t, err, "reading the data connection")
	dc.Close()
	return b
}

func TestPipelinedCommands(t *testing.T) {
	srv := ftptest.NewServer(t)
	c := dialRaw(t, srv.Addr)
	// RFC 1123 4.1.2.10: several commands may arrive in one segment.
	c.write("USER user\r\nPASS pass\r\nPWD\r\nTYPE I\r\nNOOP\r\n")
	for _, want := range []string{
		"331 Password required for user.\r\n",
		"230 User user logged in, proceed.\r\n",
		"257 \"/\" is the current directory.\r\n",
		"200 Type set to I.\r\n",
		"200 NOOP ok.\r\n",
	} {
		assert.Equal(t, want, c.line(), "pipelined replies come in order")
	}
}

func TestPipelinedTransfer(t *testing.T) {
	m := memfs.New()
	require.NoError(t, m.WriteFile("a.txt", []byte("hello"), 0o644), "setup")
	srv := ftptest.NewServer(t, ftptest.WithFS(m))
	c := ftptest.Dial(t, srv.Addr)
	c.Login()
	dc := c.Passive()
	// Commands sent behind RETR wait for it (RFC 959 5.2), in order.
	io.WriteString(c.NetConn(), "TYPE I\r\nRETR a.txt\r\nSIZE a.txt\r\nPWD\r\n")
	expectCode(t, c, ftp.StatusOK, "TYPE I")
	expectCode(t, c, ftp.StatusFileStatusOK, "RETR")
	assert.Equal(t, "hello", string(readData(t, dc)), "RETR data")
	expectCode(t, c, ftp.StatusClosingDataConnection, "RETR end")
	assert.Equal(t, "5", expectCode(t, c, ftp.StatusFile, "SIZE"), "SIZE after RETR")
	expectCode(t, c, ftp.StatusPathCreated, "PWD")
}

func TestCommandSplitAcrossSegments(t *testing.T) {
	srv := ftptest.NewServer(t)
	c := dialRaw(t, srv.Addr)
	// One byte per write: TCP_NODELAY is on, so each is its own segment.
	for _, b := range []byte("USER user\r\nPASS pass\r\nPWD\r\n") {
		c.write(string(b))
	}
	assert.Equal(t, "331 Password required for user.\r\n", c.line(), "USER byte by byte")
	assert.Equal(t, "230 User user logged in, proceed.\r\n", c.line(), "PASS byte by byte")
	assert.Equal(t, "257 \"/\" is the current directory.\r\n", c.line(), "PWD byte by byte")
}

func TestTelnetNegotiationRefused(t *testing.T) {
	srv := ftptest.NewServer(t)
	c := dialRaw(t, srv.Addr)
	// RFC 959 4.1.2 / RFC 854: WILL is answered DONT, DO is answered WONT,
	// WONT and DONT are not answered; the command around them stands.
	c.write("\xff\xfb\x01NO\xff\xfd\x03OP\xff\xfc\x05\xff\xfe\x06\r\n")
	got := make([]byte, 6)
	c.nc.SetReadDeadline(time.Now().Add(ioTimeout))
	_, err := io.ReadFull(c.r, got)
	require.NoError(t, err, "reading the Telnet answers")
	assert.Equal(t, []byte{255, 254, 1, 255, 252, 3}, got, "IAC DONT 1 and IAC WONT 3, nothing for WONT and DONT")
	assert.Equal(t, "200 NOOP ok.\r\n", c.line(), "the command around the negotiation")
	// IAC IAC is a data byte 0xFF: not UTF-8 in a path (RFC 2640 3.1).
	c.write("USER user\r\nPASS pass\r\nCWD a\xff\xffb\r\n")
	c.line()
	c.line()
	assert.Equal(t, "553 File name not allowed.\r\n", c.line(), "0xFF in a path")
}

func TestOverlongLine(t *testing.T) {
	srv := ftptest.NewServer(t, ftptest.WithServer(func(s *ftp.Server) { s.MaxLineLength = 64 }))
	c := dialRaw(t, srv.Addr)
	c.write("NOOP " + strings.Repeat("x", 59) + "\r\n") // 64 bytes: the limit
	assert.Equal(t, "200 NOOP ok.\r\n", c.line(), "a line at the limit")
	c.write("NOOP " + strings.Repeat("x", 200) + "\r\n")
	assert.Equal(t, "500 Command line too long.\r\n", c.line(), "a line over the limit")
	c.expectEOF()
}

func TestOverlongLineWithoutEnd(t *testing.T) {
	srv := ftptest.NewServer(t, ftptest.WithServer(func(s *ftp.Server) { s.MaxLineLength = 64 }))
	c := dialRaw(t, srv.Addr)
	// The server must not wait for a CRLF that may never come.
	c.write(strings.Repeat("A", 1000))
	assert.Equal(t, "500 Command line too long.\r\n", c.line(), "a line over the limit")
	c.expectEOF()
}

func TestIdleTimeout(t *testing.T) {
	srv := ftptest.NewServer(t, ftptest.WithServer(func(s *ftp.Server) { s.IdleTimeout = 100 * time.Millisecond }))
	start := time.Now()
	c := dialRaw(t, srv.Addr)
	assert.Equal(t, "421 Idle timeout; closing control connection.\r\n", c.line(), "the idle timeout")
	assert.GreaterOrEqual(t, time.Since(start), 100*time.Millisecond, "the timeout must not fire early")
	c.expectEOF()
}

func TestTooManySyntaxErrors(t *testing.T) {
	srv := ftptest.NewServer(t)
	c := dialRaw(t, srv.Addr)
	c.write(strings.Repeat("FROB\r\n", 60))
	for range 51 {
		require.Equal(t, "500 Command not understood.\r\n", c.line(), "an unknown verb")
	}
	assert.Equal(t, "421 Too many errors; closing control connection.\r\n", c.line(), "garbage is throttled")
	c.expectEOF()
}

func TestShutdown(t *testing.T) {
	m := memfs.New()
	sparseFile(t, m, "big", 8<<20)
	srv := ftptest.NewServer(t, ftptest.WithFS(m))

	idle1 := dialRaw(t, srv.Addr)
	idle2 := ftptest.Dial(t, srv.Addr)
	idle2.Login()
	busy := ftptest.Dial(t, srv.Addr)
	busy.Login()
	cmdCode(t, busy, "TYPE I", ftp.StatusOK)
	dc := busy.Passive()
	cmdCode(t, busy, "RETR big", ftp.StatusFileStatusOK)

	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(context.Background()) }()

	// Idle sessions are told 421 and closed.
	assert.Equal(t, "421 Service closing control connection.\r\n", idle1.line(), "idle session before login")
	idle1.expectEOF()
	expectCode(t, idle2, ftp.StatusServiceNotAvailable, "idle session after login")
	_, _, err := idle2.ReadErr()
	assert.Error(t, err, "the idle session is closed")

	// No new connections.
	if nc, err := net.DialTimeout("tcp", srv.Addr, ioTimeout); err == nil {
		nc.SetReadDeadline(time.Now().Add(ioTimeout))
		n, _ := nc.Read(make([]byte, 1))
		assert.Zero(t, n, "no greeting after Shutdown")
		nc.Close()
	}

	// The transfer in flight finishes; then the session is closed too.
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v with a transfer in flight", err)
	default:
	}
	assert.Len(t, readData(t, dc), 8<<20, "the transfer runs to its end")
	expectCode(t, busy, ftp.StatusClosingDataConnection, "the transfer's final reply comes before 421")
	expectCode(t, busy, ftp.StatusServiceNotAvailable, "then the busy session is closed")
	select {
	case err := <-done:
		assert.NoError(t, err, "Shutdown after every session ended")
	case <-time.After(ioTimeout):
		t.Fatal("Shutdown did not return")
	}
}

func TestShutdownContextEnds(t *testing.T) {
	m := memfs.New()
	sparseFile(t, m, "big", 64<<20)
	srv := ftptest.NewServer(t, ftptest.WithFS(m))
	c := ftptest.Dial(t, srv.Addr)
	c.Login()
	cmdCode(t, c, "TYPE I", ftp.StatusOK)
	dc := c.Passive()
	defer dc.Close()
	cmdCode(t, c, "RETR big", ftp.StatusFileStatusOK)
	// The client reads nothing: the transfer cannot end by itself.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := srv.Shutdown(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "Shutdown gives up when its context ends")
	c.NetConn().SetReadDeadline(time.Now().Add(ioTimeout))
	_, err = io.ReadAll(c.NetConn())
	if err != nil {
		assert.ErrorIs(t, err, syscall.ECONNRESET, "the remaining session is closed")
	}
}

func TestClose(t *testing.T) {
	srv := ftptest.NewServer(t)
	c := dialRaw(t, srv.Addr)
	require.NoError(t, srv.Close(), "Close")
	c.expectEOF()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err, "listen")
	assert.ErrorIs(t, srv.Serve(l), ftp.ErrServerClosed, "Serve after Close")
	assert.ErrorIs(t, srv.ListenAndServe(), ftp.ErrServerClosed, "ListenAndServe after Close")
}

func TestZeroServerRejectsLogins(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err, "listen")
	var s ftp.Server // no Authenticator
	s.LoginFailureDelay = -1
	s.Logger = slog.New(slog.DiscardHandler)
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	c := ftptest.Dial(t, l.Addr().String())
	cmdCode(t, c, "USER user", ftp.StatusNeedPassword)
	cmdCode(t, c, "PASS pass", ftp.StatusNotLoggedIn)
	require.NoError(t, s.Close(), "Close")
	assert.ErrorIs(t, <-done, ftp.ErrServerClosed, "Serve after Close")
}

// panicFS panics in Stat of "boom" and in Read of files named "boom.txt":
// a plug-in with a bug.
type panicFS struct{ vfs.FS }

func (p panicFS) Stat(ctx context.Context, name string) (fs.FileInfo, error) {
	if name == "boom" {
		panic("backend bug in Stat")
	}
	return p.FS.Stat(ctx, name)
}

func (p panicFS) Open(ctx context.Context, name string) (vfs.File, error) {
	f, err := p.FS.Open(ctx, name)
	if err == nil && strings.HasSuffix(name, "boom.txt") {
		return panicFile{f}, nil
	}
	return f, err
}

type panicFile struct{ vfs.File }

func (panicFile) Read([]byte) (int, error) { panic("backend bug in Read") }

func TestPanicInHandler(t *testing.T) {
	m := memfs.New()
	srv := ftptest.NewServer(t, ftptest.WithFS(panicFS{m}))
	c := dialRaw(t, srv.Addr)
	c.write("USER user\r\nPASS pass\r\n")
	c.line()
	c.line()
	c.write("CWD boom\r\n")
	reply := c.line()
	assert.Equal(t, "421 Internal error; closing control connection.\r\n", reply, "a panic is answered 421")
	assert.NotContains(t, reply, "backend bug", "the panic value is not shown")
	c.expectEOF()
	// The server lives on.
	c2 := ftptest.Dial(t, srv.Addr)
	c2.Login()
	cmdCode(t, c2, "PWD", ftp.StatusPathCreated)
}

func TestPanicInTransfer(t *testing.T) {
	m := memfs.New()
	require.NoError(t, m.WriteFile("boom.txt", []byte("data"), 0o644), "setup")
	srv := ftptest.NewServer(t, ftptest.WithFS(panicFS{m}))
	c := ftptest.Dial(t, srv.Addr)
	c.Login()
	dc := c.Passive()
	defer dc.Close()
	cmdCode(t, c, "RETR boom.txt", ftp.StatusFileStatusOK)
	text := expectCode(t, c, ftp.StatusServiceNotAvailable, "a panic in the transfer")
	assert.NotContains(t, text, "backend bug", "the panic value is not shown")
	_, _, err := c.ReadErr()
	assert.Error(t, err, "the connection is closed after the panic")
	c2 := ftptest.Dial(t, srv.Addr)
	c2.Login()
	cmdCode(t, c2, "NOOP", ftp.StatusOK)
}

// TestRepliesLeakNothing runs failing commands against a server on a real
// directory and checks that no reply shows a host path or the text of a
// Go or system error.
func TestRepliesLeakNothing(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a"), 0o644), "setup")
	require.NoError(t, os.Mkdir(filepath.Join(dir, "full"), 0o755), "setup")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "full", "x"), nil, 0o644), "setup")
	require.NoError(t, os.Symlink("/etc", filepath.Join(dir, "escape")), "setup")
	require.NoError(t, os.Symlink(filepath.Join(dir, "a.txt"), filepath.Join(dir, "abs")), "setup")
	require.NoError(t, os.Symlink("nowhere", filepath.Join(dir, "dangling")), "setup")
	fsys, err := osfs.New(dir)
	require.NoError(t, err, "osfs.New")
	t.Cleanup(func() { fsys.Close() })
	// A transfer that starts after all ends at once in 425: the data
	// connection is never opened.
	srv := ftptest.NewServer(t, ftptest.WithFS(fsys),
		ftptest.WithServer(func(s *ftp.Server) { s.DataTimeout = 50 * time.Millisecond }))
	c := ftptest.Dial(t, srv.Addr)
	c.Login()

	var replies []string
	var read func()
	read = func() {
		code, text := c.Read()
		replies = append(replies, strconv.Itoa(code)+" "+text)
		if code == ftp.StatusFileStatusOK {
			read()
		}
	}
	run := func(line string) {
		switch verb, _, _ := strings.Cut(line, " "); verb {
		case "RETR", "STOR", "APPE", "LIST", "NLST", "MLSD":
			// Prepare a data connection, or the command stops at 425
			// before it looks at its path.
			cmdCode(t, c, "EPSV", ftp.StatusExtendedPassiveMode)
		}
		c.Send(line)
		read()
	}
	for _, line := range []string{
		"CWD missing", "CWD a.txt", "CWD escape", "CWD abs", "CWD dangling", "CWD escape/..",
		"MKD a.txt", "MKD full", "MKD missing/x", "MKD escape/x", "MKD a.txt/x",
		"RMD full", "RMD a.txt", "RMD missing", "RMD escape",
		"DELE full", "DELE missing", "DELE escape/passwd", "DELE a.txt/x",
		"RNFR missing", "RNFR escape/passwd",
		"RNFR a.txt", "RNTO missing/b.txt",
		"RNFR full", "RNTO full/sub",
		"RNFR a.txt", "RNTO full",
		"SIZE full", "SIZE escape/passwd", "SIZE dangling", "SIZE abs",
		"MDTM missing", "MDTM escape/hostname",
		"MFMT 20200101000000 missing", "MFMT 20200101000000 escape/passwd",
		"HASH full", "HASH escape/passwd", "HASH dangling",
		"MLST missing", "MLST escape/passwd", "STAT missing", "STAT escape", "STAT escape/passwd",
		"RETR missing", "RETR full", "RETR escape/passwd", "RETR dangling", "RETR abs",
		"STOR full", "STOR missing/x", "STOR escape/x", "STOR a.txt/x", "STOR dangling",
		"APPE full", "LIST missing", "LIST escape", "NLST escape/passwd", "MLSD escape", "MLSD a.txt",
		"REST 100", "RETR a.txt", "REST 100", "STOR a.txt",
	} {
		run(line)
	}
	forbidden := []string{
		dir, filepath.Base(dir), "/etc", "/tmp",
		"no such file", "not a directory", "permission denied", "file exists",
		"directory not empty", "invalid argument", "is a directory", "too many levels",
		"openat", "stat ", "lstat", "rename ", "mkdir", "unlinkat", "remove ",
		"osfs", "vfs:", "ftp:", "os.", "errno", "%!", "panic", "goroutine", "0x",
	}
	for _, r := range replies {
		for _, f := range forbidden {
			assert.NotContains(t, r, f, "a reply must not show %q", f)
		}
	}
	assert.Contains(t, replies, "550 Permission denied.", "a path through a link that leaves the root")
}

func TestShutdownServeReturns(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err, "listen")
	s := &ftp.Server{Logger: slog.New(slog.DiscardHandler)}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	c := dialRaw(t, l.Addr().String())
	require.NoError(t, s.Shutdown(context.Background()), "Shutdown of an idle server")
	assert.Equal(t, "421 Service closing control connection.\r\n", c.line(), "the idle session is told")
	assert.ErrorIs(t, <-done, ftp.ErrServerClosed, "Serve returns ErrServerClosed")
	assert.NoError(t, s.Shutdown(context.Background()), "a second Shutdown")
	l2, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err, "listen")
	assert.ErrorIs(t, s.Serve(l2), ftp.ErrServerClosed, "Serve after Shutdown")
}
