package ftp_test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jftp "github.com/jlaffaye/ftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftp/ftptest"
	"github.com/ferryftp/ferry/internal/e2etest"
)

// End-to-end FTPS (RFC 4217) over loopback with independent clients: curl
// (OpenSSL), lftp (GnuTLS), Python's ftplib (OpenSSL) and jlaffaye/ftp (Go
// crypto/tls). Every PROT P data connection must resume the control
// connection's TLS session, the server's default: a transfer that works
// proves that the client resumed.

// ftpsCurlLoginDenied is curl's exit code when the server refuses the login
// (CURLE_LOGIN_DENIED).
const ftpsCurlLoginDenied = 67

// ftpsE2E is a test server over a host directory with FTPS, and the PEM
// file of its certificate for the clients to trust.
type ftpsE2E struct {
	*e2etest.Server
	caFile string
}

// newFTPSE2E starts the server; implicit selects implicit FTPS, maxVersion
// caps the server's TLS version (0: TLS 1.3).
func newFTPSE2E(t *testing.T, implicit bool, maxVersion uint16, setup ...func(*ftp.Server)) *ftpsE2E {
	t.Helper()
	opts := []ftptest.Option{ftptest.WithServer(func(s *ftp.Server) {
		s.TLSConfig = ftpsServerConfig()
		s.TLSConfig.MaxVersion = maxVersion
		for _, fn := range setup {
			fn(s)
		}
	})}
	if implicit {
		opts = append(opts, ftptest.WithImplicitTLS())
	}
	srv := e2etest.NewServer(t, opts...)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile, ftpsServerKey().certPEM(), 0o644))
	return &ftpsE2E{Server: srv, caFile: caFile}
}

// url is the ftp:// or ftps:// URL of p.
func (s *ftpsE2E) url(implicit bool, p string) string {
	u := s.URL(p)
	if implicit {
		u = "ftps" + strings.TrimPrefix(u, "ftp")
	}
	return u
}

// TestFTPSCurl drives curl (OpenSSL) with --ssl-reqd (explicit) and
// ftps:// (implicit), passive and active, TLS 1.3 and 1.2.
func TestFTPSCurl(t *testing.T) {
	t.Parallel()
	prog := e2etest.LookPath(t, "curl")
	// With TLS 1.2 curl resumes by session ID only (it sets
	// SSL_OP_NO_TICKET), which crypto/tls does not serve: its data
	// connections are full handshakes, accepted with NoTLSSessionReuse.
	cases := []struct {
		name     string
		implicit bool
		max      uint16
		mode     []string
	}{
		{"explicit/TLS1.3/EPSV", false, 0, nil},
		{"explicit/TLS1.2/EPSV", false, tls.VersionTLS12, nil},
		{"implicit/TLS1.3/EPSV", true, 0, nil},
		{"implicit/TLS1.2/PASV", true, tls.VersionTLS12, []string{"--disable-epsv"}},
		// Active mode (--ftp-port) with TLS fails inside curl 7.88
		// ("sa_addr inet_ntop() failed"), before any PORT is sent;
		// lftp, Python and the Go tests cover active FTPS.
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			noReuse := tc.max == tls.VersionTLS12
			srv := newFTPSE2E(t, tc.implicit, tc.max, func(s *ftp.Server) { s.NoTLSSessionReuse = noReuse })
			local := t.TempDir()
			curl := func(args ...string) e2etest.Result {
				t.Helper()
				full := append([]string{"--silent", "--show-error", "--max-time", "20",
					"--cacert", srv.caFile, "--user", ftptest.User + ":" + ftptest.Password}, tc.mode...)
				if !tc.implicit {
					full = append(full, "--ssl-reqd")
				}
				return e2etest.Run(t, 30*time.Second, nil, prog, append(full, args...)...)
			}
			ok := func(args ...string) string {
				t.Helper()
				r := curl(args...)
				require.NoError(t, r.Err, "curl %q\n%s", args, r)
				return r.Stdout
			}
			payload := e2etest.Pattern(3<<20 + 5)
			src := filepath.Join(local, "payload.bin")
			require.NoError(t, os.WriteFile(src, payload, 0o644))

			ok("--upload-file", src, srv.url(tc.implicit, "up.bin"))
			assert.True(t, bytes.Equal(payload, srv.ReadFile(t, "up.bin")), "STOR over PROT P")
			out := filepath.Join(local, "out.bin")
			ok("--output", out, srv.url(tc.implicit, "up.bin"))
			ftpsAssertFile(t, payload, out, "RETR over PROT P")
			require.NoError(t, os.WriteFile(out, payload[:1<<20], 0o644))
			ok("--continue-at", "-", "--output", out, srv.url(tc.implicit, "up.bin"))
			ftpsAssertFile(t, payload, out, "REST then RETR over PROT P")
			list := ok(srv.url(tc.implicit, "/"))
			assert.Contains(t, list, "up.bin", "LIST over PROT P")

			// A range ends the download early: curl closes the data
			// connection and sends ABOR, protected.
			part := ok("--range", "0-99", srv.url(tc.implicit, "up.bin"))
			assert.Equal(t, string(payload[:100]), part, "a partial download, then ABOR")
			assert.Contains(t, ok("--quote", "NOOP", srv.url(tc.implicit, "/")), "up.bin", "the server is fine after ABOR")
		})
	}

	t.Run("TLS1.2/session IDs refused", func(t *testing.T) {
		t.Parallel()
		srv := newFTPSE2E(t, false, tls.VersionTLS12)
		srv.WriteFile(t, "f.txt", []byte("data"))
		r := e2etest.Run(t, 30*time.Second, nil, prog, "--silent", "--show-error", "--max-time", "20",
			"--ssl-reqd", "--cacert", srv.caFile, "--user", ftptest.User+":"+ftptest.Password, srv.URL("f.txt"))
		assert.Error(t, r.Err, "a data connection that does not resume is refused\n%s", r)
		r = e2etest.Run(t, 30*time.Second, nil, prog, "--silent", "--show-error", "--max-time", "20",
			"--ssl-reqd", "--cacert", srv.caFile, "--user", ftptest.User+":"+ftptest.Password, srv.URL("/"))
		assert.Contains(t, r.Stderr, "522", "the refusal is 522 (RFC 4217 section 10.2)\n%s", r)
	})

	t.Run("policy", func(t *testing.T) {
		t.Parallel()
		srv := newFTPSE2E(t, false, 0, func(s *ftp.Server) { s.RequireTLS, s.RequireDataTLS = true, true })
		base := []string{"--silent", "--show-error", "--max-time", "20", "--user", ftptest.User + ":" + ftptest.Password}
		r := e2etest.Run(t, 30*time.Second, nil, prog, append(base, srv.URL("/"))...)
		assert.Equal(t, ftpsCurlLoginDenied, r.ExitCode(), "plain-text login refused under RequireTLS\n%s", r)
		// --ftp-ssl-control: TLS for the login, then PROT C: 534.
		r = e2etest.Run(t, 30*time.Second, nil, prog, append(base, "--ftp-ssl-control", "--cacert", srv.caFile, srv.URL("/"))...)
		assert.Error(t, r.Err, "clear data refused under RequireDataTLS\n%s", r)
		r = e2etest.Run(t, 30*time.Second, nil, prog, append(base, "--ssl-reqd", "--cacert", srv.caFile, srv.URL("/"))...)
		assert.NoError(t, r.Err, "with TLS for both, the listing works\n%s", r)
	})
}

func ftpsAssertFile(t *testing.T, want []byte, name, msg string) {
	t.Helper()
	got, err := os.ReadFile(name)
	require.NoError(t, err, msg)
	assert.True(t, bytes.Equal(want, got), "%s: %d bytes, want %d", msg, len(got), len(want))
}

// TestFTPSLftp drives lftp (GnuTLS) with ftp:ssl-force and
// ftp:ssl-protect-data, explicit and implicit, TLS 1.3 and 1.2.
func TestFTPSLftp(t *testing.T) {
	t.Parallel()
	prog := e2etest.LookPath(t, "lftp")
	cases := []struct {
		name     string
		implicit bool
		max      uint16
		passive  bool
	}{
		{"explicit/TLS1.3/passive", false, 0, true},
		{"explicit/TLS1.2/passive", false, tls.VersionTLS12, true},
		{"explicit/TLS1.3/active", false, 0, false},
		{"implicit/TLS1.3/passive", true, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newFTPSE2E(t, tc.implicit, tc.max)
			local := t.TempDir()
			payload := e2etest.Pattern(2<<20 + 3)
			require.NoError(t, os.WriteFile(filepath.Join(local, "up.bin"), payload, 0o644))
			srv.WriteFile(t, "down.bin", payload)
			require.NoError(t, os.WriteFile(filepath.Join(local, "part.bin"), payload[:777_777], 0o644))
			script := strings.Join([]string{
				"set ftp:ssl-force true",
				"set ftp:ssl-protect-data true",
				"set ssl:verify-certificate no",
				"set ftp:passive-mode " + map[bool]string{true: "on", false: "off"}[tc.passive],
				"set net:max-retries 1",
				"set net:timeout 10",
				"open -u " + ftptest.User + "," + ftptest.Password + " " + srv.url(tc.implicit, "/"),
				"lcd " + local,
				"put up.bin",
				"get down.bin -o got.bin",
				"get -c down.bin -o part.bin",
				"ls",
				"bye",
			}, "; ")
			r := e2etest.Run(t, 60*time.Second, nil, prog, "-c", script)
			require.NoError(t, r.Err, "lftp\n%s", r)
			assert.True(t, bytes.Equal(payload, srv.ReadFile(t, "up.bin")), "put over PROT P")
			ftpsAssertFile(t, payload, filepath.Join(local, "got.bin"), "get over PROT P")
			ftpsAssertFile(t, payload, filepath.Join(local, "part.bin"), "get -c (REST) over PROT P")
			assert.Contains(t, r.Stdout, "down.bin", "ls over PROT P")
		})
	}
}

// TestFTPSPython drives Python's ftplib.FTP_TLS. Its data connections do
// not resume the control session: they are refused under the default and
// accepted with NoTLSSessionReuse. The common subclass that passes
// session=self.sock.session resumes, and works under the default.
func TestFTPSPython(t *testing.T) {
	t.Parallel()
	prog := e2etest.LookPath(t, "python3")
	const script = `
import ftplib, io, ssl, sys

host, port, cafile, mode, tlsmax = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]

class ReusingFTP_TLS(ftplib.FTP_TLS):
    """Resumes the control connection's TLS session on data connections."""
    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
        return conn, size

ctx = ssl.create_default_context(cafile=cafile)
if tlsmax == "1.2":
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
cls = ReusingFTP_TLS if mode.startswith("reuse") else ftplib.FTP_TLS
f = cls(context=ctx, timeout=20)
f.connect(host, port)
f.login("user", "pass")
f.prot_p()
if mode.endswith("active"):
    f.set_pasv(False)
try:
    # A download first: a refused data connection then ends in the 522
    # reply, where an upload would end in a write error.
    f.nlst()
    payload = bytes(range(256)) * 4099
    f.storbinary("STOR py.bin", io.BytesIO(payload))
    got = bytearray()
    f.retrbinary("RETR py.bin", got.extend)
    assert bytes(got) == payload, "RETR content"
    got = bytearray()
    f.retrbinary("RETR py.bin", got.extend, rest=1000)
    assert bytes(got) == payload[1000:], "REST content"
    names = f.nlst()
    assert "py.bin" in names, names
    lines = []
    f.retrlines("LIST", lines.append)
    assert any("py.bin" in l for l in lines), lines
    print("transfers ok", f.sock.version())
except ftplib.error_perm as e:
    print("refused", e)
f.quit()
`
	cases := []struct {
		name, mode, tlsMax string
		noReuse            bool
		want               string
	}{
		{"plain/refused", "plain", "1.3", false, "refused 522"},
		{"plain/refused/TLS1.2", "plain", "1.2", false, "refused 522"},
		{"plain/NoTLSSessionReuse", "plain", "1.3", true, "transfers ok TLSv1.3"},
		{"reuse/TLS1.3", "reuse", "1.3", false, "transfers ok TLSv1.3"},
		{"reuse/TLS1.2", "reuse", "1.2", false, "transfers ok TLSv1.2"},
		{"reuse/TLS1.3/active", "reuse-active", "1.3", false, "transfers ok TLSv1.3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newFTPSE2E(t, false, 0, func(s *ftp.Server) { s.NoTLSSessionReuse = tc.noReuse })
			r := e2etest.Run(t, 60*time.Second, nil, prog, "-c", script, srv.Host, srv.Port, srv.caFile, tc.mode, tc.tlsMax)
			require.NoError(t, r.Err, "python\n%s", r)
			assert.Contains(t, r.Stdout, tc.want, "python FTP_TLS, %s\n%s", tc.name, r)
		})
	}
}

// TestFTPSJlaffaye drives github.com/jlaffaye/ftp (Go crypto/tls) with
// DialWithExplicitTLS and DialWithTLS. Its data connections use the same
// tls.Config: with a ClientSessionCache and a ServerName (the cache key,
// the same for every connection) they resume the control session.
func TestFTPSJlaffaye(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		implicit bool
		max      uint16
	}{
		{"explicit/TLS1.3", false, 0},
		{"explicit/TLS1.2", false, tls.VersionTLS12},
		{"implicit/TLS1.3", true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newFTPSE2E(t, tc.implicit, tc.max)
			dial := func(cfg *tls.Config) *jftp.ServerConn {
				t.Helper()
				opt := jftp.DialWithExplicitTLS(cfg)
				if tc.implicit {
					opt = jftp.DialWithTLS(cfg)
				}
				c, err := jftp.Dial(srv.Addr, opt, jftp.DialWithTimeout(10*time.Second))
				require.NoError(t, err, "dial")
				t.Cleanup(func() { c.Quit() })
				require.NoError(t, c.Login(ftptest.User, ftptest.Password), "login over TLS")
				return c
			}
			c := dial(ftpsClientConfig())
			payload := e2etest.Pattern(1<<20 + 9)
			require.NoError(t, c.Stor("go.bin", bytes.NewReader(payload)), "STOR")
			assert.True(t, bytes.Equal(payload, srv.ReadFile(t, "go.bin")), "STOR content")
			got := jftpRetr(t, c, "go.bin", 0)
			assert.True(t, bytes.Equal(payload, got), "RETR content")
			got = jftpRetr(t, c, "go.bin", 4096)
			assert.True(t, bytes.Equal(payload[4096:], got), "REST then RETR content")
			entries, err := c.List("/")
			require.NoError(t, err, "LIST/MLSD")
			var listed []string
			for _, e := range entries {
				if e.Type == jftp.EntryTypeFile {
					listed = append(listed, e.Name)
				}
			}
			assert.Equal(t, []string{"go.bin"}, listed, "the files listed")
			names, err := c.NameList("/")
			require.NoError(t, err, "NLST")
			assert.Equal(t, []string{"/go.bin"}, names, "NLST names, with the path asked for")

			// Without a session cache every data connection is a full
			// handshake, refused.
			plain := ftpsClientConfig()
			plain.ClientSessionCache = nil
			c2 := dial(plain)
			_, err = c2.List("/")
			var te *textproto.Error
			require.Error(t, err, "a data connection without resumption is refused")
			if errors.As(err, &te) {
				assert.Equal(t, codeTLSDataFailed, te.Code, "refused with 522")
			}
		})
	}
}

func jftpRetr(t *testing.T, c *jftp.ServerConn, name string, offset uint64) []byte {
	t.Helper()
	r, err := c.RetrFrom(name, offset)
	require.NoError(t, err, "RETR %s from %d", name, offset)
	b, err := io.ReadAll(r)
	require.NoError(t, err, "reading RETR %s", name)
	require.NoError(t, r.Close(), "226 after RETR %s", name)
	return b
}
