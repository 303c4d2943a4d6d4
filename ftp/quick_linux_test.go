package ftp_test

import (
	"bytes"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/internal/e2etest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQuickRETRFullWindow: a client whose receive window cannot take the
// file at once, and that waits for the 150 before it reads, still gets
// the 150 and the whole file.
func TestQuickRETRFullWindow(t *testing.T) {
	// 4 MiB cannot go into the socket at once, whatever its buffers.
	defer ftp.SetQuickMax(4 << 20)()
	data := e2etest.Pattern(4 << 20)
	c := quickServer(t, map[string][]byte{"f": data})
	for range 3 {
		text := cmdCode(t, c, "EPSV", ftp.StatusExtendedPassiveMode)
		port := text[strings.Index(text, "(|||")+4 : strings.LastIndex(text, "|)")]
		d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1024)
			})
			if err != nil {
				return err
			}
			return serr
		}}
		dc, err := d.Dial("tcp", net.JoinHostPort("127.0.0.1", port))
		require.NoError(t, err, "data dial")
		// The 150 comes before the client reads any data.
		cmdCode(t, c, "RETR f", ftp.StatusFileStatusOK)
		dc.SetReadDeadline(time.Now().Add(10 * time.Second))
		got, err := io.ReadAll(dc)
		require.NoError(t, err, "reading")
		dc.Close()
		assert.True(t, bytes.Equal(data, got), "%d bytes back of %d", len(got), len(data))
		expectCode(t, c, ftp.StatusClosingDataConnection, "RETR")
	}
	cmdCode(t, c, "NOOP", ftp.StatusOK)
}
