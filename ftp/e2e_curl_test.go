package ftp_test

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/ftp/ftptest"
	"github.com/ferryftp/ferry/internal/e2etest"
)

// curl exits with 67 when the server refuses the login (CURLE_LOGIN_DENIED).
const curlLoginDenied = 67

// curlClient runs curl against one server in one data-connection mode.
type curlClient struct {
	t    *testing.T
	prog string
	srv  *e2etest.Server
	mode []string // data-connection options
}

func (c curlClient) run(args ...string) e2etest.Result {
	c.t.Helper()
	full := append([]string{"--silent", "--show-error", "--max-time", "20",
		"--user", ftptest.User + ":" + ftptest.Password}, c.mode...)
	return e2etest.Run(c.t, 30*time.Second, nil, c.prog, append(full, args...)...)
}

func (c curlClient) ok(args ...string) string {
	c.t.Helper()
	r := c.run(args...)
	require.NoError(c.t, r.Err, "curl %q should succeed\n%s", args, r)
	return r.Stdout
}

// TestCurl drives curl through every operation it offers, in each data
// connection mode: EPSV and PASV (RFC 2428 section 3, RFC 959 4.1.2), EPRT
// and PORT (curl -P -), over IPv4 and over IPv6.
func TestCurl(t *testing.T) {
	t.Parallel()
	prog := e2etest.LookPath(t, "curl")
	modes := []struct {
		name string
		ipv6 bool
		args []string
	}{
		{"EPSV", false, nil},
		{"PASV", false, []string{"--disable-epsv"}},
		{"EPRT", false, []string{"--ftp-port", "-"}},
		{"PORT", false, []string{"--ftp-port", "-", "--disable-eprt"}},
		{"IPv6-EPSV", true, nil},
		{"IPv6-EPRT", true, []string{"--ftp-port", "-"}},
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
			testCurl(t, curlClient{t: t, prog: prog, srv: srv, mode: m.args})
		})
	}
}

func testCurl(t *testing.T, c curlClient) {
	srv := c.srv
	local := t.TempDir()
	payload := e2etest.Pattern(1<<20 + 17)
	src := filepath.Join(local, "payload.bin")
	require.NoError(t, os.WriteFile(src, payload, 0o644))

	// RFC 959 5.4: 530 after PASS for a wrong password.
	r := e2etest.Run(t, 30*time.Second, nil, c.prog, append(append([]string{"--silent", "--show-error",
		"--max-time", "20", "--user", ftptest.User + ":wrong"}, c.mode...), srv.URL("/"))...)
	assert.Equal(t, curlLoginDenied, r.ExitCode(), "a wrong password must fail the login\n%s", r)

	// Upload and download, binary: every byte value must survive.
	c.ok("--upload-file", src, srv.URL("bin.dat"))
	assert.Equal(t, payload, srv.ReadFile(t, "bin.dat"), "uploaded bytes on disk")
	out := filepath.Join(local, "out.bin")
	c.ok("--output", out, srv.URL("bin.dat"))
	e2eAssertFile(t, payload, out, "downloaded bytes")

	// Resumed download (REST then RETR, RFC 3659 section 5): curl asks
	// for the rest of a partial local file.
	part := filepath.Join(local, "part.bin")
	require.NoError(t, os.WriteFile(part, payload[:300_001], 0o644))
	c.ok("--continue-at", "-", "--output", part, srv.URL("bin.dat"))
	e2eAssertFile(t, payload, part, "resumed download")

	// Resumed upload: curl asks SIZE and sends the rest with APPE.
	srv.WriteFile(t, "resume.dat", payload[:123_457])
	c.ok("--continue-at", "-", "--upload-file", src, srv.URL("resume.dat"))
	assert.Equal(t, payload, srv.ReadFile(t, "resume.dat"), "resumed upload")

	// APPE, RFC 959 4.1.3.
	srv.WriteFile(t, "log.txt", []byte("one\n"))
	two := filepath.Join(local, "two.txt")
	require.NoError(t, os.WriteFile(two, []byte("two\n"), 0o644))
	c.ok("--append", "--upload-file", two, srv.URL("log.txt"))
	assert.Equal(t, "one\ntwo\n", string(srv.ReadFile(t, "log.txt")), "APPE appends")

	// UTF-8 names (RFC 2640): upload, list and download.
	const utf8Name = "日本語 ü.txt"
	c.ok("--upload-file", two, srv.URL(utf8Name))
	assert.Equal(t, "two\n", string(srv.ReadFile(t, utf8Name)), "file with a UTF-8 name on disk")
	assert.Equal(t, "two\n", c.ok(srv.URL(utf8Name)), "file with a UTF-8 name downloaded")

	// Directories: MKD through --ftp-create-dirs, then listings.
	c.ok("--ftp-create-dirs", "--upload-file", two, srv.URL("sub/dir/a.txt"))
	assert.Equal(t, "two\n", string(srv.ReadFile(t, "sub/dir/a.txt")), "upload into created directories")
	srv.WriteFile(t, "sub/dir/b.txt", []byte("bbb"))

	// NLST, RFC 959 4.1.3: names only.
	names := strings.Fields(c.ok("--list-only", srv.URL("sub/dir/")))
	sort.Strings(names)
	assert.Equal(t, []string{"a.txt", "b.txt"}, names, "NLST names")

	// LIST: ls -l lines ending in the names.
	list := c.ok(srv.URL("/"))
	for _, want := range []string{"bin.dat", "resume.dat", "log.txt", utf8Name, "sub"} {
		assert.True(t, e2eHasListLine(list, want), "LIST shows %q:\n%s", want, list)
	}
	assert.True(t, strings.HasPrefix(e2eListLine(list, "sub"), "d"), "a directory lists with type d:\n%s", list)
	assert.Contains(t, e2eListLine(list, "bin.dat"), " "+strconv.Itoa(len(payload))+" ", "LIST shows the size")

	// MLSD, RFC 3659 section 7, through curl's custom listing command.
	mlsd := e2eParseMLSD(t, c.ok("--request", "MLSD", srv.URL("/")))
	assert.Equal(t, "file", mlsd["bin.dat"]["type"], "MLSD type of a file")
	assert.Equal(t, strconv.Itoa(len(payload)), mlsd["bin.dat"]["size"], "MLSD size")
	assert.Equal(t, "dir", mlsd["sub"]["type"], "MLSD type of a directory")
	assert.Equal(t, "file", mlsd[utf8Name]["type"], "MLSD lists the UTF-8 name")

	// RNFR and RNTO, DELE, MKD and RMD through quoted commands.
	c.ok("--quote", "RNFR log.txt", "--quote", "RNTO renamed.txt", "--output", os.DevNull, srv.URL("/"))
	assert.False(t, srv.Exists("log.txt"), "renamed file is gone")
	assert.Equal(t, "one\ntwo\n", string(srv.ReadFile(t, "renamed.txt")), "renamed file content")
	c.ok("--quote", "DELE renamed.txt", "--output", os.DevNull, srv.URL("/"))
	assert.False(t, srv.Exists("renamed.txt"), "deleted file is gone")
	c.ok("--quote", "MKD made", "--output", os.DevNull, srv.URL("/"))
	assert.DirExists(t, srv.Path("made"), "MKD made the directory")
	c.ok("--quote", "RMD made", "--output", os.DevNull, srv.URL("/"))
	assert.NoDirExists(t, srv.Path("made"), "RMD removed the directory")
	r = c.run("--quote", "DELE missing.txt", "--output", os.DevNull, srv.URL("/"))
	assert.Error(t, r.Err, "DELE of a missing file fails\n%s", r)
	assert.Contains(t, r.Stderr, "550", "DELE of a missing file is answered 550")

	// TYPE A, RFC 959 3.1.1.1: the server sends CRLF for each LF of its
	// file and stores LF for each CRLF it receives. curl, for its part,
	// turns CRLF into LF on download and every LF into CRLF on upload, so
	// the local files have LF ends on both ways.
	srv.WriteFile(t, "text.txt", []byte("alpha\nbeta\r\ngamma\n"))
	assert.Equal(t, "alpha\nbeta\ngamma\n", c.ok("--use-ascii", srv.URL("text.txt")),
		"TYPE A download, CRLF converted back by curl")
	lf := filepath.Join(local, "lf.txt")
	require.NoError(t, os.WriteFile(lf, []byte("one\ntwo\nlone\rcr\n"), 0o644))
	c.ok("--use-ascii", "--upload-file", lf, srv.URL("up.txt"))
	assert.Equal(t, "one\ntwo\nlone\rcr\n", string(srv.ReadFile(t, "up.txt")),
		"TYPE A upload is stored with LF line ends, a lone CR kept")
}

func e2eAssertFile(t *testing.T, want []byte, name, msg string) {
	t.Helper()
	got, err := os.ReadFile(name)
	require.NoError(t, err, msg)
	if !assert.Equal(t, len(want), len(got), "%s: length", msg) {
		return
	}
	assert.True(t, string(want) == string(got), "%s: content differs", msg)
}

// e2eListLine returns the listing line whose last field is name.
func e2eListLine(list, name string) string {
	for _, l := range strings.Split(list, "\n") {
		l = strings.TrimRight(l, "\r")
		if strings.HasSuffix(l, " "+name) {
			return l
		}
	}
	return ""
}

func e2eHasListLine(list, name string) bool { return e2eListLine(list, name) != "" }

// e2eParseMLSD parses the lines of an MLSD listing (RFC 3659 section 7.2) into
// facts per name, fact names in lower case.
func e2eParseMLSD(t *testing.T, list string) map[string]map[string]string {
	t.Helper()
	res := map[string]map[string]string{}
	for _, l := range strings.Split(list, "\n") {
		l = strings.TrimSuffix(l, "\r")
		if l == "" {
			continue
		}
		facts, name, ok := strings.Cut(l, " ")
		if !assert.True(t, ok, "MLSD line %q has facts, a space and a name", l) {
			continue
		}
		m := map[string]string{}
		for _, f := range strings.Split(strings.TrimSuffix(facts, ";"), ";") {
			k, v, _ := strings.Cut(f, "=")
			m[strings.ToLower(k)] = v
		}
		res[name] = m
	}
	return res
}
