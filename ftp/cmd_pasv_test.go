package ftp_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftp/ftptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPassiveAnnounce: PASV announces PassiveAddress (a server behind
// NAT), except to clients in LocalNetworks, who get the local address.
func TestPassiveAnnounce(t *testing.T) {
	public := netip.MustParseAddr("127.0.0.2") // announced only, never dialled
	tests := []struct {
		name  string
		local []netip.Prefix
		want  string
	}{
		{"no public address", nil, "127,0,0,1,"},
		{"public address", []netip.Prefix{netip.MustParsePrefix("192.168.0.0/16")}, "127,0,0,2,"},
		{"client in a local network", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, "127,0,0,1,"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := ftptest.NewServer(t, ftptest.WithServer(func(s *ftp.Server) {
				if tt.name != "no public address" {
					s.PassiveAddress = public
				}
				s.LocalNetworks = tt.local
			}))
			c := ftptest.Dial(t, srv.Addr)
			c.Login()
			code, text := c.Cmd("PASV")
			require.Equal(t, ftp.StatusPassiveMode, code, text)
			assert.True(t, strings.Contains(text, "("+tt.want), "227 %q announces %s", text, tt.want)
		})
	}
}

// TestLongTransferKeepsControl: the control connection's idle timeout does
// not run while a transfer does (RFC 959 5.2: the control connection is
// quiet during a transfer), and runs again after it.
func TestLongTransferKeepsControl(t *testing.T) {
	const idle = 150 * time.Millisecond
	srv := ftptest.NewServer(t, ftptest.WithServer(func(s *ftp.Server) {
		s.IdleTimeout = idle
		s.DataTimeout = 5 * time.Second
	}))
	c := ftptest.Dial(t, srv.Addr)
	c.Login()
	code, _ := c.Cmd("TYPE I")
	require.Equal(t, ftp.StatusOK, code)
	dc := c.Passive()
	code, text := c.Cmd("STOR slow.bin")
	require.Equal(t, ftp.StatusFileStatusOK, code, text)
	// An upload that lasts four idle timeouts, a byte at a time.
	deadline := time.Now().Add(4 * idle)
	n := 0
	for time.Now().Before(deadline) {
		_, err := dc.Write([]byte{'x'})
		require.NoError(t, err, "the data connection stays open")
		n++
		time.Sleep(idle / 5) // the pace of a slow client, not synchronisation
	}
	require.NoError(t, dc.Close())
	code, text = c.Read()
	assert.Equal(t, ftp.StatusClosingDataConnection, code, "the long upload completes: %s", text)
	code, _ = c.Cmd("SIZE slow.bin")
	assert.Equal(t, ftp.StatusFile, code, "the session is still there after the transfer")
	// Idle again, the timeout applies.
	code, text, err := c.ReadErr()
	require.NoError(t, err, "a reply before the close")
	assert.Equal(t, ftp.StatusServiceNotAvailable, code, "idle timeout after the transfer: %s", text)
	assert.Greater(t, n, 3, "bytes were sent over several idle periods")
}
