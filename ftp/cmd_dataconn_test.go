package ftp_test

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftp/ftptest"
	"github.com/ferryftp/ferry/internal/e2etest"
	"github.com/ferryftp/ferry/vfs/memfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// needIPv6 skips a test on a host without an IPv6 loopback.
func needIPv6(t *testing.T) {
	t.Helper()
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	l.Close()
}

// activeListener is a data port of the client for PORT and EPRT.
func activeListener(t *testing.T, network, addr string) (net.Listener, int) {
	t.Helper()
	l, err := net.Listen(network, addr)
	require.NoError(t, err, "listening for the active data connection")
	t.Cleanup(func() { l.Close() })
	return l, l.Addr().(*net.TCPAddr).Port
}

func acceptData(t *testing.T, l net.Listener) net.Conn {
	t.Helper()
	l.(*net.TCPListener).SetDeadline(time.Now().Add(ioTimeout))
	dc, err := l.Accept()
	require.NoError(t, err, "accepting the active data connection")
	return dc
}

func TestPORTArguments(t *testing.T) {
	srv := ftptest.NewServer(t)
	c := ftptest.Dial(t, srv.Addr)
	c.Login()
	for _, tc := range []struct {
		arg  string
		code int
	}{
		{"300,1,1,1,1,1", ftp.StatusParameterSyntaxError}, // RFC 959 5.3.2: numbers 0 to 255
		{"127,0,0,1,256,0", ftp.StatusParameterSyntaxError},
		{"127,0,0,1,4", ftp.StatusParameterSyntaxError},
		{"127,0,0,1,4,0,0", ftp.StatusParameterSyntaxError},
		{"127.0.0.1,4,0", ftp.StatusParameterSyntaxError},
		{"-1,0,0,1,4,0", ftp.StatusParameterSyntaxError},
		{"127,0,0,1,0,0", ftp.StatusParameterNotImpl},  // port 0
		{"127,0,0,1,0,21", ftp.StatusParameterNotImpl}, // RFC 2577 3: privileged port
		{"127,0,0,1,3,255", ftp.StatusParameterNotImpl},
		{"127,0,0,1,4,0", ftp.StatusOK},
		{" 127, 0, 0, 1, 4, 1", ftp.StatusOK},
	} {
		cmdCode(t, c, "PORT "+tc.arg, tc.code)
	}
}

func TestPORTPrivilegedAllowed(t *testing.T) {
	srv := ftptest.NewServer(t, ftptest.WithServer(func(s *ftp.Server) { s.AllowPrivilegedActive = true }))
	c := ftptest.Dial(t, srv.Addr)
	c.Login()
	cmdCode(t, c, "PORT 127,0,0,1,0,21", ftp.StatusOK)
	cmdCode(t, c, "EPRT |1|127.0.0.1|21|", ftp.StatusOK)
	cmdCode(t, c, "PORT 127,0,0,1,0,0", ftp.StatusParameterSyntaxError)
}

// TestActiveToForeignAddress: RFC 2577 section 2 (the bounce attack).
// The control connection comes from ::1, so 127.0.0.1 is another host.
func TestActiveToForeignAddress(t *testing.T) {
	needIPv6(t)
	m := memfs.New()
	require.NoError(t, m.WriteFile("a.txt", []byte("hello"), 0o644), "setup")

	t.Run("refused", func(t *testing.T) {
		srv := ftptest.NewServer(t, ftptest.WithIPv6(), ftptest.WithFS(m))
		c := ftptest.Dial(t, srv.Addr)
		c.Login()
		_, port := activeListener(t, "tcp4", "127.0.0.1:0")
		cmdCode(t, c, fmt.Sprintf("PORT 127,0,0,1,%d,%d", port>>8, port&0xff), ftp.StatusParameterNotImpl)
		// EPRT names the other protocol: 522 comes first (RFC 2428 2).
		text := cmdCode(t, c, fmt.Sprintf("EPRT |1|127.0.0.1|%d|", port), ftp.StatusProtocolNotSupported)
		assert.Contains(t, text, "(2)", "the usable protocol")
		// The client's own address is fine.
		l6, port6 := activeListener(t, "tcp6", "[::1]:0")
		cmdCode(t, c, fmt.Sprintf("EPRT |2|::1|%d|", port6), ftp.StatusOK)
		cmdCode(t, c, "RETR a.txt", ftp.StatusFileStatusOK)
		assert.Equal(t, "hello", string(readData(t, acceptData(t, l6))), "EPRT over IPv6")
		expectCode(t, c, ftp.StatusClosingDataConnection, "RETR")
	})

	t.Run("allowed", func(t *testing.T) {
		// AllowForeignActive opens the door, for server-to-server
		// transfers; the data connection then leaves from the other
		// protocol's address.
		srv := ftptest.NewServer(t, ftptest.WithIPv6(), ftptest.WithFS(m),
			ftptest.WithServer(func(s *ftp.Server) { s.AllowForeignActive = true }))
		c := ftptest.Dial(t, srv.Addr)
		c.Login()
		l4, port := activeListener(t, "tcp4", "127.0.0.1:0")
		cmdCode(t, c, fmt.Sprintf("PORT 127,0,0,1,%d,%d", port>>8, port&0xff), ftp.StatusOK)
		cmdCode(t, c, "RETR a.txt", ftp.StatusFileStatusOK)
		assert.Equal(t, "hello", string(readData(t, acceptData(t, l4))), "PORT to an IPv4 host from an IPv6 session")
		expectCode(t, c, ftp.StatusClosingDataConnection, "RETR")
	})
}

func TestIPv6Passive(t *testing.T) {
	needIPv6(t)
	m := memfs.New()
	require.NoError(t, m.WriteFile("a.txt", []byte("hello"), 0o644), "setup")
	srv := ftptest.NewServer(t, ftptest.WithIPv6(), ftptest.WithFS(m))
	c := ftptest.Dial(t, srv.Addr)
	c.Login()
	dc := c.Passive()
	cmdCode(t, c, "RETR a.txt", ftp.StatusFileStatusOK)
	assert.Equal(t, "hello", string(readData(t, dc)), "EPSV over IPv6")
	expectCode(t, c, ftp.StatusClosingDataConnection, "RETR")
	cmdCode(t, c, "EPSV 2", ftp.StatusExtendedPassiveMode)
	text := cmdCode(t, c, "EPSV 1", ftp.StatusProtocolNotSupported)
	assert.Equal(t, "Network protocol not supported, use (2)", text, "RFC 2428 2: the usable protocols")
	// PASV has no IPv6 form (RFC 2428 section 1).
	cmdCode(t, c, "PASV", ftp.StatusCannotOpenData)
}

func TestPassivePortRange(t *testing.T) {
	first := freePorts(t, 3)
	srv := ftptest.NewServer(t, ftptest.WithServer(func(s *ftp.Server) {
		s.PassivePorts = ftp.PortRange{First: uint16(first), Last: uint16(first + 2)}
	}))
	c := ftptest.Dial(t, srv.Addr)
	c.Login()
	for range 10 {
		text := cmdCode(t, c, "EPSV", ftp.StatusExtendedPassiveMode)
		i, j := strings.Index(text, "(|||"), strings.LastIndex(text, "|)")
		require.True(t, i >= 0 && j > i, "229 reply %q", text)
		port, err := strconv.Atoi(text[i+4 : j])
		require.NoError(t, err, "port in %q", text)
		assert.True(t, port >= first && port <= first+2, "port %d in [%d, %d]", port, first, first+2)
		text = cmdCode(t, c, "PASV", ftp.StatusPassiveMode)
		assert.Regexp(t, `^Entering Passive Mode \(127,0,0,1,\d+,\d+\)\.$`, text, "227 reply")
	}
}

// TestPassiveListenerEndsWithSession: a passive port prepared and never
// used is released when the session ends, or a range of passive ports
// would run dry.
func TestPassiveListenerEndsWithSession(t *testing.T) {
	port := freePorts(t, 1)
	srv := ftptest.NewServer(t, ftptest.WithServer(func(s *ftp.Server) {
		s.PassivePorts = ftp.PortRange{First: uint16(port), Last: uint16(port)}
	}))
	// A session ends asynchronously: the next one may have to ask again
	// for a moment before the port is free.
	epsv := func(c *ftptest.Conn, what string) {
		t.Helper()
		deadline := time.Now().Add(ioTimeout)
		code, text := c.Cmd("EPSV")
		for code == ftp.StatusCannotOpenData && time.Now().Before(deadline) {
			code, text = c.Cmd("EPSV")
		}
		require.Equal(t, ftp.StatusExtendedPassiveMode, code, "%s: the passive port is free: %s", what, text)
	}
	for _, end := range []string{"QUIT", "close", "REIN"} {
		c := ftptest.Dial(t, srv.Addr)
		c.Login()
		epsv(c, "before "+end)
		switch end {
		case "QUIT":
			cmdCode(t, c, "QUIT", ftp.StatusClosing)
			c.ReadErr()
		case "close":
			c.NetConn().Close()
		case "REIN":
			// RFC 959 4.1.1: REIN flushes the data-connection setup.
			cmdCode(t, c, "REIN", ftp.StatusServiceReady)
			c.Login()
			cmdCode(t, c, "EPSV", ftp.StatusExtendedPassiveMode)
			cmdCode(t, c, "QUIT", ftp.StatusClosing)
			c.ReadErr()
		}
	}
	c := ftptest.Dial(t, srv.Addr)
	c.Login()
	epsv(c, "at the end")
}

// epsvPort sends EPSV and returns the announced port (RFC 2428 section 3).
func epsvPort(t *testing.T, c *ftptest.Conn) int {
	t.Helper()
	text := cmdCode(t, c, "EPSV", ftp.StatusExtendedPassiveMode)
	i, j := strings.Index(text, "(|||"), strings.LastIndex(text, "|)")
	require.True(t, i >= 0 && j > i, "229 reply %q", text)
	port, err := strconv.Atoi(text[i+4 : j])
	require.NoError(t, err, "port in %q", text)
	return port
}

// portClosed reports whether nothing listens on port any more; the
// session may close its listener a moment after its reply.
func portClosed(port int) bool {
	return e2etest.Eventually(ioTimeout, func() bool {
		dc, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), ioTimeout)
		if err != nil {
			return true
		}
		dc.Close()
		return false
	})
}

// TestPassiveListenerReuse: with PassivePorts zero, a transfer that ended
// well leaves its passive listener to the session, which announces the
// same port at its next EPSV or PASV and transfers on it. ABOR, REIN,
// QUIT, PORT and EPSV ALL close it, and so does a transfer cut short.
func TestPassiveListenerReuse(t *testing.T) {
	if e2etest.OpenFDs() < 0 {
		t.Skip("/proc/self/fd is not readable")
	}
	srv := ftptest.NewServer(t)
	data := []byte(strings.Repeat("reuse\n", 1000))
	store := func(c *ftptest.Conn, port int, name string) {
		t.Helper()
		dc, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), ioTimeout)
		require.NoError(t, err, "connecting to the announced port %d", port)
		cmdCode(t, c, "STOR "+name, ftp.StatusFileStatusOK)
		_, err = dc.Write(data)
		require.NoError(t, err, "sending the file")
		dc.Close()
		expectCode(t, c, ftp.StatusClosingDataConnection, "STOR "+name)
	}
	session := func() *ftptest.Conn {
		c := ftptest.Dial(t, srv.Addr)
		c.Login()
		cmdCode(t, c, "TYPE I", ftp.StatusOK)
		return c
	}

	fds := e2etest.OpenFDs()
	c := session()
	port := epsvPort(t, c)
	store(c, port, "a.txt")
	assert.Equal(t, port, epsvPort(t, c), "the next EPSV announces the same port")
	dc, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), ioTimeout)
	require.NoError(t, err, "connecting to the port again")
	cmdCode(t, c, "RETR a.txt", ftp.StatusFileStatusOK)
	dc.SetReadDeadline(time.Now().Add(ioTimeout))
	got, err := io.ReadAll(dc)
	require.NoError(t, err, "reading the file")
	assert.Equal(t, data, got, "the file comes back on the reused port")
	dc.Close()
	expectCode(t, c, ftp.StatusClosingDataConnection, "RETR a.txt")
	text := cmdCode(t, c, "PASV", ftp.StatusPassiveMode)
	assert.Contains(t, text, fmt.Sprintf(",%d,%d).", port>>8, port&0xff), "PASV announces the same port")
	store(c, port, "b.txt")
	// Both ends of the control connection, and the listener.
	assert.LessOrEqual(t, e2etest.OpenFDs(), fds+3, "one listener between transfers, no descriptor leaks")
	c.NetConn().Close()

	// Each way to end it; a transfer first, so that a listener is spare.
	for _, end := range []string{"ABOR", "REIN", "PORT", "EPSV ALL", "QUIT", "aborted transfer"} {
		c := session()
		port := epsvPort(t, c)
		store(c, port, "c.txt")
		switch end {
		case "ABOR":
			cmdCode(t, c, "ABOR", ftp.StatusClosingDataConnection)
		case "REIN":
			cmdCode(t, c, "REIN", ftp.StatusServiceReady)
		case "PORT":
			l, p := activeListener(t, "tcp4", "127.0.0.1:0")
			cmdCode(t, c, fmt.Sprintf("PORT 127,0,0,1,%d,%d", p>>8, p&0xff), ftp.StatusOK)
			l.Close()
		case "EPSV ALL":
			cmdCode(t, c, "EPSV ALL", ftp.StatusOK)
		case "QUIT":
			cmdCode(t, c, "QUIT", ftp.StatusClosing)
		case "aborted transfer":
			port = epsvPort(t, c)
			dc, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), ioTimeout)
			require.NoError(t, err, "connecting to the announced port %d", port)
			cmdCode(t, c, "STOR d.txt", ftp.StatusFileStatusOK)
			// RFC 959 4.1.3: 426 for the transfer, then 226 for ABOR.
			c.Send("ABOR")
			expectCode(t, c, ftp.StatusTransferAborted, "STOR cut by ABOR")
			expectCode(t, c, ftp.StatusClosingDataConnection, "ABOR")
			dc.Close()
		}
		assert.True(t, portClosed(port), "%s closes the passive listener", end)
		c.NetConn().Close()
	}
	assert.True(t, e2etest.Eventually(ioTimeout, func() bool { return e2etest.OpenFDs() <= fds }),
		"the sessions' descriptors are released: %d, before %d", e2etest.OpenFDs(), fds)
}

// TestPassiveReuseDropsEarlyConnections: a connection made to a reused
// passive port before PASV or EPSV announces it again is dropped, so it
// can never be accepted in the place of the client's own.
func TestPassiveReuseDropsEarlyConnections(t *testing.T) {
	srv := ftptest.NewServer(t)
	c := ftptest.Dial(t, srv.Addr)
	c.Login()
	cmdCode(t, c, "TYPE I", ftp.StatusOK)
	addr := func(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

	port := epsvPort(t, c)
	dc, err := net.DialTimeout("tcp", addr(port), ioTimeout)
	require.NoError(t, err, "data connection")
	cmdCode(t, c, "STOR f.txt", ftp.StatusFileStatusOK)
	_, err = dc.Write([]byte("the client's file"))
	require.NoError(t, err)
	dc.Close()
	expectCode(t, c, ftp.StatusClosingDataConnection, "STOR")

	// Between transfers, someone who knows the port connects first.
	early, err := net.DialTimeout("tcp", addr(port), ioTimeout)
	require.NoError(t, err, "the early connection reaches the listener's queue")
	defer early.Close()

	require.Equal(t, port, epsvPort(t, c), "the port is reused")
	dc, err = net.DialTimeout("tcp", addr(port), ioTimeout)
	require.NoError(t, err, "the client's data connection")
	defer dc.Close()
	cmdCode(t, c, "RETR f.txt", ftp.StatusFileStatusOK)
	dc.SetReadDeadline(time.Now().Add(ioTimeout))
	got, err := io.ReadAll(dc)
	require.NoError(t, err, "reading the file")
	assert.Equal(t, "the client's file", string(got), "the file goes to the connection made after EPSV")
	expectCode(t, c, ftp.StatusClosingDataConnection, "RETR")

	early.SetReadDeadline(time.Now().Add(ioTimeout))
	n, err := early.Read(make([]byte, 64))
	assert.Zero(t, n, "the early connection received nothing")
	assert.Error(t, err, "the early connection was closed")
}
