package ftp_test

import (
	"bytes"
	"errors"
	"io"
	"net/textproto"
	"sort"
	"strings"
	"testing"
	"time"

	goftp "github.com/jlaffaye/ftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftp/ftptest"
	"github.com/ferryftp/ferry/internal/e2etest"
)

// e2eDialGo logs in with github.com/jlaffaye/ftp, a Go client independent of
// this module. It has no active mode.
func e2eDialGo(t testing.TB, addr string, opts ...goftp.DialOption) *goftp.ServerConn {
	t.Helper()
	opts = append([]goftp.DialOption{goftp.DialWithTimeout(10 * time.Second)}, opts...)
	c, err := goftp.Dial(addr, opts...)
	require.NoError(t, err, "dial %s", addr)
	t.Cleanup(func() { c.Quit() })
	require.NoError(t, c.Login(ftptest.User, ftptest.Password), "login")
	return c
}

func e2eRetr(t testing.TB, c *goftp.ServerConn, name string, offset uint64) []byte {
	t.Helper()
	r, err := c.RetrFrom(name, offset)
	require.NoError(t, err, "RETR %s from %d", name, offset)
	b, err := io.ReadAll(r)
	require.NoError(t, err, "read %s", name)
	require.NoError(t, r.Close(), "226 after RETR %s", name)
	return b
}

// TestGoClient drives github.com/jlaffaye/ftp with EPSV (RFC 2428), with
// PASV, and over IPv6.
func TestGoClient(t *testing.T) {
	t.Parallel()
	modes := []struct {
		name string
		ipv6 bool
		opts []goftp.DialOption
	}{
		{"EPSV", false, nil},
		{"PASV", false, []goftp.DialOption{goftp.DialWithDisabledEPSV(true)}},
		{"IPv6-EPSV", true, nil},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			var opts []ftptest.Option
			if m.ipv6 {
				e2etest.SkipWithoutIPv6(t)
				opts = append(opts, ftptest.WithIPv6())
			}
			srv := e2etest.NewServer(t, opts...)
			testGoClient(t, srv, m.opts)
		})
	}
}

func testGoClient(t *testing.T, srv *e2etest.Server, opts []goftp.DialOption) {
	// RFC 959 5.4: a wrong password gets 530.
	bad, err := goftp.Dial(srv.Addr, append([]goftp.DialOption{goftp.DialWithTimeout(10 * time.Second)}, opts...)...)
	require.NoError(t, err, "dial")
	err = bad.Login(ftptest.User, "wrong")
	var te *textproto.Error
	if assert.True(t, errors.As(err, &te), "a wrong password must fail with a reply, got %v", err) {
		assert.Equal(t, ftp.StatusNotLoggedIn, te.Code, "reply to a wrong password")
	}
	bad.Quit()

	c := e2eDialGo(t, srv.Addr, opts...)
	payload := e2etest.Pattern(2<<20 + 3)

	// Binary round trip.
	require.NoError(t, c.Stor("bin.dat", bytes.NewReader(payload)), "STOR")
	assert.Equal(t, payload, srv.ReadFile(t, "bin.dat"), "uploaded bytes on disk")
	assert.True(t, bytes.Equal(payload, e2eRetr(t, c, "bin.dat", 0)), "downloaded bytes")

	// REST then RETR.
	assert.True(t, bytes.Equal(payload[1_000_001:], e2eRetr(t, c, "bin.dat", 1_000_001)), "RETR from an offset")
	// REST then STOR: the tail written over a partial file.
	srv.WriteFile(t, "resume.dat", payload[:999_999])
	require.NoError(t, c.StorFrom("resume.dat", bytes.NewReader(payload[999_999:]), 999_999), "REST+STOR")
	assert.Equal(t, payload, srv.ReadFile(t, "resume.dat"), "resumed upload")
	// APPE.
	require.NoError(t, c.Append("resume.dat", strings.NewReader("tail")), "APPE")
	assert.Equal(t, string(payload)+"tail", string(srv.ReadFile(t, "resume.dat")), "APPE appends")
	size, err := c.FileSize("bin.dat")
	require.NoError(t, err, "SIZE")
	assert.Equal(t, int64(len(payload)), size, "SIZE in TYPE I")

	// UTF-8 names (RFC 2640).
	const utf8Name = "日本語 ü.txt"
	require.NoError(t, c.Stor(utf8Name, strings.NewReader("utf8\n")), "STOR a UTF-8 name")
	assert.Equal(t, "utf8\n", string(srv.ReadFile(t, utf8Name)), "file with a UTF-8 name on disk")
	assert.Equal(t, "utf8\n", string(e2eRetr(t, c, utf8Name, 0)), "file with a UTF-8 name downloaded")

	// Directories and listings.
	require.NoError(t, c.MakeDir("sub"), "MKD")
	require.NoError(t, c.ChangeDir("sub"), "CWD")
	require.NoError(t, c.Stor("a.txt", strings.NewReader("aaa")), "STOR in sub")
	require.NoError(t, c.ChangeDirToParent(), "CDUP")
	names, err := c.NameList("sub")
	require.NoError(t, err, "NLST")
	assert.Equal(t, []string{"sub/a.txt"}, names, "NLST of sub")

	// List uses MLSD when FEAT announces MLST (RFC 3659 section 7.8).
	entries, err := c.List("/")
	require.NoError(t, err, "MLSD")
	byName := map[string]*goftp.Entry{}
	for _, e := range entries {
		byName[e.Name] = e
	}
	if assert.Contains(t, byName, "bin.dat", "MLSD lists bin.dat") {
		assert.Equal(t, goftp.EntryTypeFile, byName["bin.dat"].Type, "MLSD type of a file")
		assert.Equal(t, uint64(len(payload)), byName["bin.dat"].Size, "MLSD size")
		assert.WithinDuration(t, time.Now(), byName["bin.dat"].Time, time.Hour, "MLSD modify fact")
	}
	if assert.Contains(t, byName, "sub", "MLSD lists sub") {
		assert.Equal(t, goftp.EntryTypeFolder, byName["sub"].Type, "MLSD type of a directory")
	}
	assert.Contains(t, byName, utf8Name, "MLSD lists the UTF-8 name")

	// The same through LIST, parsed as ls -l.
	lc := e2eDialGo(t, srv.Addr, append([]goftp.DialOption{goftp.DialWithDisabledMLSD(true)}, opts...)...)
	entries, err = lc.List("/")
	require.NoError(t, err, "LIST")
	var listed []string
	for _, e := range entries {
		listed = append(listed, e.Name)
		if e.Name == "bin.dat" {
			assert.Equal(t, uint64(len(payload)), e.Size, "LIST size")
		}
	}
	sort.Strings(listed)
	assert.Equal(t, []string{"bin.dat", "resume.dat", "sub", utf8Name}, listed, "LIST names")

	// Rename, delete, RMD.
	require.NoError(t, c.Rename("resume.dat", "sub/moved.dat"), "RNFR/RNTO")
	assert.False(t, srv.Exists("resume.dat"), "renamed file is gone")
	assert.True(t, srv.Exists("sub/moved.dat"), "renamed file is in place")
	require.NoError(t, c.Delete("sub/moved.dat"), "DELE")
	require.NoError(t, c.Delete("sub/a.txt"), "DELE")
	require.NoError(t, c.RemoveDir("sub"), "RMD")
	assert.False(t, srv.Exists("sub"), "RMD removed the directory")
	err = c.Delete("missing")
	if assert.True(t, errors.As(err, &te), "DELE of a missing file fails with a reply, got %v", err) {
		assert.Equal(t, ftp.StatusFileUnavailable, te.Code, "DELE of a missing file")
	}

	// TYPE A: LF becomes CRLF on the wire, CRLF becomes LF on disk.
	require.NoError(t, c.Type(goftp.TransferTypeASCII), "TYPE A")
	srv.WriteFile(t, "text.txt", []byte("alpha\nbeta\r\ngamma\n"))
	assert.Equal(t, "alpha\r\nbeta\r\ngamma\r\n", string(e2eRetr(t, c, "text.txt", 0)), "TYPE A download")
	require.NoError(t, c.Stor("up.txt", strings.NewReader("one\r\ntwo\r\nlone\rcr\r\n")), "TYPE A upload")
	assert.Equal(t, "one\ntwo\nlone\rcr\n", string(srv.ReadFile(t, "up.txt")), "TYPE A upload stored with LF ends")
	require.NoError(t, c.Type(goftp.TransferTypeBinary), "TYPE I")
}
