package ftp_test

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftp/ftptest"
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
