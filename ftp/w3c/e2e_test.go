package w3c

import (
	"bytes"
	"io"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	goftp "github.com/jlaffaye/ftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftp/ftptest"
)

// TestServerAccessLog serves a session of github.com/jlaffaye/ftp, a client
// independent of this module, with a Writer as the server's access log,
// and reads the file back.
func TestServerAccessLog(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	w, err := New(Config{Pattern: `ftp/"yyyymmdd".log`, Dir: dir, Software: "Ferry"})
	require.NoError(t, err, "New")
	t.Cleanup(func() { closeWriter(t, w) })

	// The server logs a transfer after its final reply: wait for the
	// entries before closing the log, on the logger's own path.
	logged := make(chan string, 1024)
	srv := ftptest.NewServer(t, ftptest.WithServer(func(s *ftp.Server) {
		s.AccessLog = ftp.AccessLoggerFunc(func(e *ftp.LogEntry) {
			w.LogAccess(e)
			select {
			case logged <- e.Method:
			default:
			}
		})
	}))

	c, err := goftp.Dial(srv.Addr, goftp.DialWithTimeout(10*time.Second))
	require.NoError(t, err, "dial")
	require.NoError(t, c.Login(ftptest.User, ftptest.Password), "login")
	const name = `/up "load" é.txt`
	content := bytes.Repeat([]byte("ferry "), 1000)
	require.NoError(t, c.Stor(name, bytes.NewReader(content)), "STOR")
	r, err := c.Retr(name)
	require.NoError(t, err, "RETR")
	got, err := io.ReadAll(r)
	require.NoError(t, err, "read")
	require.NoError(t, r.Close(), "226 after RETR")
	require.Equal(t, content, got, "RETR returns what STOR sent")
	require.NoError(t, c.Quit(), "QUIT")

	seen := map[string]bool{}
	timeout := time.After(10 * time.Second)
	for !seen["STOR"] || !seen["RETR"] || !seen["QUIT"] {
		select {
		case m := <-logged:
			seen[m] = true
		case <-timeout:
			require.FailNow(t, "entries missing", "logged so far: %v", seen)
		}
	}
	closeWriter(t, w)
	assert.Zero(t, w.Dropped(), "nothing dropped")

	names, err := filepath.Glob(filepath.Join(dir, "ftp", "*.log"))
	require.NoError(t, err)
	require.NotEmpty(t, names, "a log file")
	var entries []entry
	for _, n := range names { // two if the session crossed midnight UTC
		f := parseLog(t, n)
		assert.Equal(t, []string{"Ferry"}, f.directive("Software"), "#Software of %s", n)
		entries = append(entries, f.Entries...)
	}
	find := func(method string) entry {
		i := slices.IndexFunc(entries, func(e entry) bool { return e.get(t, "cs-method") == method })
		require.GreaterOrEqual(t, i, 0, "a %s entry", method)
		return entries[i]
	}
	port := strconv.Itoa(int(netip.MustParseAddrPort(srv.Addr).Port()))
	for _, e := range entries {
		assert.Equal(t, "127.0.0.1", e.get(t, "c-ip"), "c-ip")
		assert.Equal(t, "127.0.0.1", e.get(t, "s-ip"), "s-ip")
		assert.Equal(t, port, e.get(t, "s-port"), "s-port")
		assert.Equal(t, "-", e.get(t, "cs-host"), "the default site")
		for _, v := range e.values {
			assert.NotEqual(t, ftptest.Password, v, "the password never appears: %v", e.values)
		}
	}

	user := find("USER")
	assert.Equal(t, ftptest.User, user.text(t, "cs-uri-stem"), "USER's argument")
	assert.Equal(t, "331", user.get(t, "sc-status"), "USER")
	pass := find("PASS")
	assert.Equal(t, "-", pass.get(t, "cs-uri-stem"), "PASS never shows the password")
	assert.Equal(t, "230", pass.get(t, "sc-status"), "PASS")

	stor := find("STOR")
	assert.Equal(t, name, stor.text(t, "cs-uri-stem"), "STOR path")
	assert.Equal(t, ftptest.User, stor.text(t, "cs-username"), "STOR user")
	assert.Equal(t, "226", stor.get(t, "sc-status"), "STOR status")
	assert.Equal(t, strconv.Itoa(len(content)), stor.get(t, "cs-bytes"), "STOR bytes received")
	assert.Equal(t, "0", stor.get(t, "sc-bytes"), "STOR bytes sent")

	retr := find("RETR")
	assert.Equal(t, name, retr.text(t, "cs-uri-stem"), "RETR path")
	assert.Equal(t, "/up%20%22load%22%20%C3%A9.txt", retr.get(t, "cs-uri-stem"), "RETR path escaped")
	assert.Equal(t, ftptest.User, retr.text(t, "cs-username"), "RETR user")
	assert.Equal(t, "226", retr.get(t, "sc-status"), "RETR status")
	assert.Equal(t, strconv.Itoa(len(content)), retr.get(t, "sc-bytes"), "RETR bytes sent")
	assert.Equal(t, "0", retr.get(t, "cs-bytes"), "RETR bytes received")

	assert.Equal(t, "221", find("QUIT").get(t, "sc-status"), "QUIT")
}
