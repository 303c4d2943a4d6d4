package ftp_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftp/ftptest"
	"github.com/ferryftp/ferry/vfs/memfs"
	"github.com/ferryftp/ferry/vfs/osfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bigTransfer starts a binary RETR of a 64 MiB file that the client does
// not read: it stays in flight until something ends it.
func bigTransfer(t *testing.T, opts ...ftptest.Option) (*ftptest.Server, *ftptest.Conn, net.Conn) {
	t.Helper()
	return retrInFlight(t, 64<<20, opts...)
}

// retrInFlight starts a binary RETR of a file "big" of size bytes, more
// than the sockets hold, and returns before the client reads any of it.
func retrInFlight(t *testing.T, size int64, opts ...ftptest.Option) (*ftptest.Server, *ftptest.Conn, net.Conn) {
	t.Helper()
	m := memfs.New()
	sparseFile(t, m, "big", size)
	srv := ftptest.NewServer(t, append([]ftptest.Option{ftptest.WithFS(m)}, opts...)...)
	c := ftptest.Dial(t, srv.Addr)
	c.Login()
	cmdCode(t, c, "TYPE I", ftp.StatusOK)
	dc := c.Passive()
	cmdCode(t, c, "RETR big", ftp.StatusFileStatusOK)
	return srv, c, dc
}

func TestABORDuringTransfer(t *testing.T) {
	for _, tc := range []struct{ name, abor string }{
		{"plain", "ABOR\r\n"},
		// RFC 959 4.1.3: Telnet IP, then the Synch (IAC DM), then ABOR.
		{"telnet synch", "\xff\xf4\xff\xf2ABOR\r\n"},
		// The DM went as urgent data and the socket dropped it.
		{"synch without DM", "\xff\xf4\xffABOR\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, c, dc := bigTransfer(t)
			defer dc.Close()
			_, err := io.WriteString(c.NetConn(), tc.abor)
			require.NoError(t, err, "sending ABOR")
			// RFC 959 4.1.3: 426 for the aborted transfer, then 226.
			expectCode(t, c, ftp.StatusTransferAborted, "the aborted transfer")
			expectCode(t, c, ftp.StatusClosingDataConnection, "ABOR")
			cmdCode(t, c, "NOOP", ftp.StatusOK)
		})
	}
}

func TestABORWhileWaitingForDataConnection(t *testing.T) {
	m := memfs.New()
	require.NoError(t, m.WriteFile("a.txt", []byte("a"), 0o644), "setup")
	srv := ftptest.NewServer(t, ftptest.WithFS(m))
	c := ftptest.Dial(t, srv.Addr)
	c.Login()
	cmdCode(t, c, "EPSV", ftp.StatusExtendedPassiveMode)
	cmdCode(t, c, "RETR a.txt", ftp.StatusFileStatusOK)
	c.Send("ABOR") // the client never connects
	expectCode(t, c, ftp.StatusTransferAborted, "the transfer waiting for its data connection")
	expectCode(t, c, ftp.StatusClosingDataConnection, "ABOR")
}

var statProgress = regexp.MustCompile(`^Status: RETR "/big", (\d+) bytes transferred in [0-9.]+(ms|s|µs)\.$`)

func TestSTATDuringTransfer(t *testing.T) {
	_, c, dc := bigTransfer(t)
	defer dc.Close()
	_, err := io.ReadFull(dc, make([]byte, 2<<20))
	require.NoError(t, err, "reading the first 2 MiB")
	// What the client read was sent, so the count reaches 1 MiB; it is
	// updated per chunk, so look again until it has.
	deadline := time.Now().Add(ioTimeout)
	var n int64
	for n < 1<<20 && time.Now().Before(deadline) {
		text := cmdCode(t, c, "STAT", ftp.StatusFile)
		m := statProgress.FindStringSubmatch(text)
		require.NotNil(t, m, "STAT during a transfer: %q", text)
		n, _ = strconv.ParseInt(m[1], 10, 64)
	}
	assert.GreaterOrEqual(t, n, int64(1<<20), "STAT shows the progress")
	cmdCode(t, c, "NOOP", ftp.StatusOK) // also answered during a transfer
	c.Send("ABOR")
	expectCode(t, c, ftp.StatusTransferAborted, "the aborted transfer")
	expectCode(t, c, ftp.StatusClosingDataConnection, "ABOR")
}

func TestQUITWaitsForTransfer(t *testing.T) {
	_, c, dc := retrInFlight(t, 4<<20)
	c.Send("QUIT")
	assert.Len(t, readData(t, dc), 4<<20, "the transfer completes after QUIT")
	expectCode(t, c, ftp.StatusClosingDataConnection, "the transfer's reply comes first")
	expectCode(t, c, ftp.StatusClosing, "then QUIT's")
	_, _, err := c.ReadErr()
	assert.Error(t, err, "the connection is closed after QUIT")
}

func TestDataConnectionTimeout(t *testing.T) {
	m := memfs.New()
	require.NoError(t, m.WriteFile("a.txt", []byte("a"), 0o644), "setup")
	srv := ftptest.NewServer(t, ftptest.WithFS(m),
		ftptest.WithServer(func(s *ftp.Server) { s.DataTimeout = 100 * time.Millisecond }))
	c := ftptest.Dial(t, srv.Addr)
	c.Login()
	for _, cmd := range []string{"RETR a.txt", "STOR b.txt", "LIST"} {
		cmdCode(t, c, "EPSV", ftp.StatusExtendedPassiveMode)
		start := time.Now()
		cmdCode(t, c, cmd, ftp.StatusFileStatusOK)
		// The client never connects.
		expectCode(t, c, ftp.StatusCannotOpenData, cmd+" without a data connection")
		assert.GreaterOrEqual(t, time.Since(start), 90*time.Millisecond, "%s: the server waits DataTimeout", cmd)
	}
}

func TestStalledDataConnection(t *testing.T) {
	t.Run("RETR", func(t *testing.T) {
		// The client connects but does not read: once the socket
		// buffers are full, nothing moves.
		_, c, dc := bigTransfer(t, ftptest.WithServer(func(s *ftp.Server) { s.DataTimeout = 200 * time.Millisecond }))
		defer dc.Close()
		text := expectCode(t, c, ftp.StatusTransferAborted, "a stalled RETR")
		assert.Equal(t, "Data connection timed out; transfer aborted.", text, "the reason")
		cmdCode(t, c, "NOOP", ftp.StatusOK)
	})
	t.Run("STOR", func(t *testing.T) {
		srv := ftptest.NewServer(t, ftptest.WithServer(func(s *ftp.Server) { s.DataTimeout = 200 * time.Millisecond }))
		c := ftptest.Dial(t, srv.Addr)
		c.Login()
		dc := c.Passive()
		defer dc.Close()
		cmdCode(t, c, "STOR up.bin", ftp.StatusFileStatusOK)
		_, err := dc.Write([]byte("some bytes, then silence"))
		require.NoError(t, err, "writing the data connection")
		expectCode(t, c, ftp.StatusTransferAborted, "a stalled STOR")
	})
}

func retr(t *testing.T, c *ftptest.Conn, name string) []byte {
	t.Helper()
	dc := c.Passive()
	cmdCode(t, c, "RETR "+name, ftp.StatusFileStatusOK)
	b := readData(t, dc)
	expectCode(t, c, ftp.StatusClosingDataConnection, "RETR "+name)
	return b
}

func stor(t *testing.T, c *ftptest.Conn, verb, name string, data []byte) {
	t.Helper()
	dc := c.Passive()
	cmdCode(t, c, verb+" "+name, ftp.StatusFileStatusOK)
	dc.SetWriteDeadline(time.Now().Add(ioTimeout))
	_, err := dc.Write(data)
	require.NoError(t, err, "%s %s: writing", verb, name)
	require.NoError(t, dc.Close(), "%s %s: closing", verb, name)
	expectCode(t, c, ftp.StatusClosingDataConnection, verb+" "+name)
}

func TestRESTRetrieve(t *testing.T) {
	content := "0123456789"
	m := memfs.New()
	require.NoError(t, m.WriteFile("d.txt", []byte(content), 0o644), "setup")
	srv := ftptest.NewServer(t, ftptest.WithFS(m))
	c := ftptest.Dial(t, srv.Addr)
	c.Login()
	cmdCode(t, c, "TYPE I", ftp.StatusOK)
	for _, off := range []int{0, 1, 5, 9, 10} {
		cmdCode(t, c, "REST "+strconv.Itoa(off), ftp.StatusFileActionPending)
		assert.Equal(t, content[off:], string(retr(t, c, "d.txt")), "RETR after REST %d", off)
	}
	// The marker applies to one transfer only.
	assert.Equal(t, content, string(retr(t, c, "d.txt")), "RETR after a restarted RETR")
	// RFC 3659 5.3: an offset out of range is refused by the transfer
	// command, not by REST.
	cmdCode(t, c, "REST 11", ftp.StatusFileActionPending)
	dc := c.Passive()
	defer dc.Close()
	cmdCode(t, c, "RETR d.txt", ftp.StatusFileUnavailable)
	cmdCode(t, c, "REST 99999999999999999999", ftp.StatusParameterSyntaxError)
}

func TestRESTStore(t *testing.T) {
	t.Run("memfs", func(t *testing.T) {
		m := memfs.New()
		require.NoError(t, m.WriteFile("d.txt", []byte("01234"), 0o644), "setup")
		srv := ftptest.NewServer(t, ftptest.WithFS(m))
		c := ftptest.Dial(t, srv.Addr)
		c.Login()
		cmdCode(t, c, "TYPE I", ftp.StatusOK)
		// The restart of a failed upload: the marker is the size stored.
		cmdCode(t, c, "REST 5", ftp.StatusFileActionPending)
		stor(t, c, "STOR", "d.txt", []byte("56"))
		cmdCode(t, c, "REST 7", ftp.StatusFileActionPending)
		stor(t, c, "APPE", "d.txt", []byte("789"))
		assert.Equal(t, "0123456789", string(retr(t, c, "d.txt")), "STOR and APPE at the end")
		cmdCode(t, c, "REST 11", ftp.StatusFileActionPending)
		dc := c.Passive()
		defer dc.Close()
		cmdCode(t, c, "STOR d.txt", ftp.StatusFileUnavailable)
		cmdCode(t, c, "REST 1", ftp.StatusFileActionPending)
		cmdCode(t, c, "APPE new.txt", ftp.StatusFileUnavailable)
		cmdCode(t, c, "SIZE new.txt", ftp.StatusFileUnavailable)
	})
	t.Run("osfs", func(t *testing.T) {
		// RFC 3659 5.3: with a marker, APPE MUST act as STOR does.
		dir := t.TempDir()
		for _, f := range []string{"s.txt", "a.txt"} {
			require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte("0123456789"), 0o644), "setup")
		}
		fsys, err := osfs.New(dir)
		require.NoError(t, err, "osfs.New")
		t.Cleanup(func() { fsys.Close() })
		srv := ftptest.NewServer(t, ftptest.WithFS(fsys))
		c := ftptest.Dial(t, srv.Addr)
		c.Login()
		cmdCode(t, c, "TYPE I", ftp.StatusOK)
		cmdCode(t, c, "REST 4", ftp.StatusFileActionPending)
		stor(t, c, "STOR", "s.txt", []byte("xy"))
		cmdCode(t, c, "REST 4", ftp.StatusFileActionPending)
		stor(t, c, "APPE", "a.txt", []byte("xy"))
		s := retr(t, c, "s.txt")
		assert.Equal(t, "0123xy", string(s), "STOR after REST 4")
		assert.Equal(t, string(s), string(retr(t, c, "a.txt")), "APPE after REST acts as STOR")
	})
}

func TestTypeAConversion(t *testing.T) {
	m := memfs.New()
	require.NoError(t, m.WriteFile("mixed.txt", []byte("a\nb\r\nc\rd\n\n"), 0o644), "setup")
	var big bytes.Buffer
	for i := range 100000 {
		fmt.Fprintf(&big, "line %d\n", i)
	}
	require.NoError(t, m.WriteFile("big.txt", big.Bytes(), 0o644), "setup")
	srv := ftptest.NewServer(t, ftptest.WithFS(m))
	c := ftptest.Dial(t, srv.Addr)
	c.Login()
	cmdCode(t, c, "TYPE A", ftp.StatusOK)

	// RFC 959 3.1.1.1: the server's LF is CRLF on the wire; a CRLF already
	// there stays, a bare CR stays.
	assert.Equal(t, "a\r\nb\r\nc\rd\r\n\r\n", string(retr(t, c, "mixed.txt")), "RETR in TYPE A")
	// And the other way round: CRLF is stored as LF, a bare CR is kept.
	stor(t, c, "STOR", "up.txt", []byte("x\r\ny\rz\r\n\r\nend"))
	cmdCode(t, c, "TYPE I", ftp.StatusOK)
	assert.Equal(t, "x\ny\rz\n\nend", string(retr(t, c, "up.txt")), "STOR in TYPE A")

	// A long file crosses every buffer boundary; SIZE in TYPE A counts
	// what RETR sends (RFC 3659 section 4).
	cmdCode(t, c, "TYPE A", ftp.StatusOK)
	wire := retr(t, c, "big.txt")
	assert.Equal(t, strings.ReplaceAll(big.String(), "\n", "\r\n"), string(wire), "RETR of a long file in TYPE A")
	assert.Equal(t, strconv.Itoa(len(wire)), cmdCode(t, c, "SIZE big.txt", ftp.StatusFile), "SIZE in TYPE A")
	stor(t, c, "STOR", "big2.txt", wire)
	cmdCode(t, c, "TYPE I", ftp.StatusOK)
	assert.Equal(t, big.String(), string(retr(t, c, "big2.txt")), "the round trip restores the file")
}

func TestSTORWithoutDataConnectionKeepsFile(t *testing.T) {
	m := memfs.New()
	require.NoError(t, m.WriteFile("keep.txt", []byte("precious"), 0o644), "setup")
	srv := ftptest.NewServer(t, ftptest.WithFS(m))
	c := ftptest.Dial(t, srv.Addr)
	c.Login()
	for _, cmd := range []string{"STOR keep.txt", "APPE new.txt", "STOU", "RETR keep.txt", "LIST", "NLST", "MLSD"} {
		cmdCode(t, c, cmd, ftp.StatusCannotOpenData)
	}
	cmdCode(t, c, "TYPE I", ftp.StatusOK)
	assert.Equal(t, "8", cmdCode(t, c, "SIZE keep.txt", ftp.StatusFile), "the file is untouched")
	cmdCode(t, c, "SIZE new.txt", ftp.StatusFileUnavailable)
	dc := c.Passive()
	cmdCode(t, c, "NLST", ftp.StatusFileStatusOK)
	assert.Equal(t, "keep.txt\r\n", string(readData(t, dc)), "STOU created nothing")
	expectCode(t, c, ftp.StatusClosingDataConnection, "NLST")
}

func TestSTOU(t *testing.T) {
	m := memfs.New()
	require.NoError(t, m.MkdirAll("d"), "setup")
	srv := ftptest.NewServer(t, ftptest.WithFS(m))
	c := ftptest.Dial(t, srv.Addr)
	c.Login()
	cmdCode(t, c, "TYPE I", ftp.StatusOK)
	for _, tc := range []struct {
		cwd, arg string
		name     *regexp.Regexp
	}{
		// RFC 959 4.1.3: in the current directory; RFC 1123 4.1.2.9:
		// "150 FILE: pppp" names the file.
		{"/", "", regexp.MustCompile(`^FILE: (ftp\.[0-9a-f]{8})$`)},
		{"/d", "", regexp.MustCompile(`^FILE: (ftp\.[0-9a-f]{8})$`)},
		{"/d", "report", regexp.MustCompile(`^FILE: (report\.[0-9a-f]{8})$`)},
		{"/", "d", regexp.MustCompile(`^FILE: (/d/ftp\.[0-9a-f]{8})$`)},
	} {
		cmdCode(t, c, "CWD "+tc.cwd, ftp.StatusFileActionOK)
		dc := c.Passive()
		cmd := strings.TrimSpace("STOU " + tc.arg)
		text := cmdCode(t, c, cmd, ftp.StatusFileStatusOK)
		match := tc.name.FindStringSubmatch(text)
		_, err := dc.Write([]byte("unique"))
		require.NoError(t, err, "writing")
		dc.Close()
		expectCode(t, c, ftp.StatusClosingDataConnection, cmd)
		if assert.NotNil(t, match, "%s in %s: reply %q", cmd, tc.cwd, text) {
			assert.Equal(t, "6", cmdCode(t, c, "SIZE "+match[1], ftp.StatusFile), "the named file holds the data")
		}
	}
}
