package ftp_test

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftp/ftptest"
	"github.com/ferryftp/ferry/internal/e2etest"
	"github.com/ferryftp/ferry/vfs/osfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A small download whose data connection is open before RETR is sent
// from the command loop, its 150 and 226 written after the data (see
// quickRETR). These tests hold it to what the ordinary path does.

func quickServer(t *testing.T, files map[string][]byte, opts ...ftptest.Option) *ftptest.Conn {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o644), "setup")
	}
	fsys, err := osfs.New(dir)
	require.NoError(t, err, "osfs.New")
	srv := ftptest.NewServer(t, append([]ftptest.Option{ftptest.WithFS(fsys)}, opts...)...)
	c := ftptest.Dial(t, srv.Addr)
	c.Login()
	cmdCode(t, c, "TYPE I", ftp.StatusOK)
	return c
}

// retrOpen retrieves name over a data connection opened before RETR, as
// clients do, and returns the bytes.
func retrOpen(t *testing.T, c *ftptest.Conn, name string) []byte {
	t.Helper()
	dc := c.Passive()
	cmdCode(t, c, "RETR "+name, ftp.StatusFileStatusOK)
	dc.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(dc)
	require.NoError(t, err, "reading %s", name)
	expectCode(t, c, ftp.StatusClosingDataConnection, "RETR "+name)
	return got
}

func TestQuickRETR(t *testing.T) {
	files := map[string][]byte{
		"empty":  {},
		"one":    {'x'},
		"4k":     e2etest.Pattern(4 << 10),
		"16k":    e2etest.Pattern(16 << 10),
		"16k+1":  e2etest.Pattern(16<<10 + 1),
		"binary": bytes.Repeat([]byte("\r\n\x00\xff"), 1000),
	}
	c := quickServer(t, files)
	for _, name := range []string{"empty", "one", "4k", "16k", "16k+1", "binary"} {
		for i := range 3 { // the same passive listener serves each in turn
			got := retrOpen(t, c, name)
			assert.True(t, bytes.Equal(files[name], got), "%s, round %d: %d bytes back of %d", name, i, len(got), len(files[name]))
		}
	}
	// REST: the rest of the file from the offset (RFC 3659 section 5).
	cmdCode(t, c, "REST 1000", ftp.StatusFileActionPending)
	got := retrOpen(t, c, "4k")
	assert.True(t, bytes.Equal(files["4k"][1000:], got), "REST 1000: %d bytes", len(got))
	// The session goes on as usual.
	cmdCode(t, c, "NOOP", ftp.StatusOK)
}

// TestQuickRETRMissing: an error before the transfer is the ordinary one.
func TestQuickRETRMissing(t *testing.T) {
	c := quickServer(t, nil)
	c.Passive()
	cmdCode(t, c, "RETR nope", ftp.StatusFileUnavailable)
	cmdCode(t, c, "SIZE nope", ftp.StatusFileUnavailable)
}

// TestQuickRETRReset: a data connection the client reset before RETR gets
// 150 and 426, and the session goes on.
func TestQuickRETRReset(t *testing.T) {
	c := quickServer(t, map[string][]byte{"f": e2etest.Pattern(4 << 10)})
	dc := c.Passive()
	tc := dc.(*net.TCPConn)
	require.NoError(t, tc.SetLinger(0), "SetLinger")
	require.NoError(t, tc.Close(), "closing with a reset")
	cmdCode(t, c, "RETR f", ftp.StatusFileStatusOK)
	expectCode(t, c, ftp.StatusTransferAborted, "RETR over a reset connection")
	got := retrOpen(t, c, "f")
	assert.Len(t, got, 4<<10, "the next RETR")
}

// TestQuickRETRAccessLog: the fast path logs its transfer as the ordinary
// one does.
func TestQuickRETRAccessLog(t *testing.T) {
	var mu sync.Mutex
	var entries []ftp.LogEntry
	logger := ftp.AccessLoggerFunc(func(e *ftp.LogEntry) {
		mu.Lock()
		entries = append(entries, *e)
		mu.Unlock()
	})
	c := quickServer(t, map[string][]byte{"f": e2etest.Pattern(1000)},
		ftptest.WithServer(func(s *ftp.Server) { s.AccessLog = logger }))
	retrOpen(t, c, "f")
	cmdCode(t, c, "NOOP", ftp.StatusOK)
	mu.Lock()
	defer mu.Unlock()
	var retr []ftp.LogEntry
	for _, e := range entries {
		if e.Method == "RETR" {
			retr = append(retr, e)
		}
	}
	require.Len(t, retr, 1, "RETR entries in %+v", entries)
	assert.Equal(t, ftp.StatusClosingDataConnection, retr[0].Status, "status")
	assert.Equal(t, int64(1000), retr[0].Sent, "bytes sent")
	assert.Equal(t, "/f", retr[0].URI, "URI")
}
