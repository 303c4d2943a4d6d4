package ftp_test

import (
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/ftp/ftptest"
	"github.com/ferryftp/ferry/internal/e2etest"
)

// lftpClient runs lftp scripts against one server in one data-connection
// mode.
type lftpClient struct {
	t        *testing.T
	prog     string
	srv      *e2etest.Server
	settings []string // "set" lines of the mode
	dataCmd  string   // the command that must open each data connection
}

// run runs the commands after logging in as password and returns the
// result and lftp's protocol transcript.
func (c lftpClient) run(password string, cmds ...string) (e2etest.Result, string) {
	c.t.Helper()
	debug := filepath.Join(c.t.TempDir(), "debug.log")
	script := []string{
		"set net:max-retries 1",
		"set net:timeout 10",
		"set net:reconnect-interval-base 1",
		"set cmd:fail-exit yes",
		"set ftp:ssl-allow no",
		"set xfer:clobber yes",
	}
	script = append(script, c.settings...)
	script = append(script,
		"debug -o "+debug+" 9",
		"open -u "+ftptest.User+","+password+" ftp://"+net.JoinHostPort(c.srv.Host, c.srv.Port),
	)
	script = append(script, cmds...)
	r := e2etest.Run(c.t, 30*time.Second, nil, c.prog, "-c", strings.Join(script, "\n"))
	transcript, _ := os.ReadFile(debug)
	return r, string(transcript)
}

// ok runs cmds, requires success and returns lftp's standard output.
func (c lftpClient) ok(cmds ...string) string {
	c.t.Helper()
	r, tr := c.run(ftptest.Password, cmds...)
	require.NoError(c.t, r.Err, "lftp %q should succeed\n%s\ntranscript:\n%s", cmds, r, tr)
	if c.dataCmd != "" && strings.Contains(tr, "---> 150") {
		assert.Contains(c.t, tr, "---> "+c.dataCmd, "lftp %q uses %s", cmds, c.dataCmd)
	}
	return r.Stdout
}

// okTranscript is ok returning the protocol transcript too.
func (c lftpClient) okTranscript(cmds ...string) (stdout, transcript string) {
	c.t.Helper()
	r, tr := c.run(ftptest.Password, cmds...)
	require.NoError(c.t, r.Err, "lftp %q should succeed\n%s\ntranscript:\n%s", cmds, r, tr)
	assert.Contains(c.t, tr, "---> "+c.dataCmd, "lftp %q uses %s", cmds, c.dataCmd)
	return r.Stdout, tr
}

// TestLftp drives lftp in each data connection mode: PASV and EPSV,
// PORT and EPRT (passive mode off), over IPv4 and IPv6.
func TestLftp(t *testing.T) {
	t.Parallel()
	prog := e2etest.LookPath(t, "lftp")
	modes := []struct {
		name     string
		ipv6     bool
		settings []string
		dataCmd  string
	}{
		{"PASV", false, []string{"set ftp:passive-mode on", "set ftp:prefer-epsv no"}, "PASV"},
		{"EPSV", false, []string{"set ftp:passive-mode on", "set ftp:prefer-epsv yes"}, "EPSV"},
		{"PORT", false, []string{"set ftp:passive-mode off"}, "PORT"},
		{"IPv6-EPSV", true, []string{"set ftp:passive-mode on"}, "EPSV"},
		{"IPv6-EPRT", true, []string{"set ftp:passive-mode off"}, "EPRT"},
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
			c := lftpClient{t: t, prog: prog, srv: srv, settings: m.settings, dataCmd: m.dataCmd}
			if m.ipv6 && m.dataCmd == "EPRT" {
				skipUnspecifiedEPRT(t, c)
			}
			testLftp(t, c)
		})
	}
}

// skipUnspecifiedEPRT skips the test when lftp cannot use active mode
// here: to a loopback peer, lftp leaves its data socket unbound and names
// the unspecified address in "EPRT |2|::|port|", which a server that only
// connects to the client's own address (RFC 2577 section 2) refuses.
func skipUnspecifiedEPRT(t *testing.T, c lftpClient) {
	r, tr := c.run(ftptest.Password, "ls")
	if r.Err != nil && strings.Contains(tr, "---> EPRT |2|::|") && strings.Contains(tr, "<--- 504") {
		t.Skip("lftp sends EPRT with the unspecified address :: on loopback; the server refuses it (504)")
	}
}

func testLftp(t *testing.T, c lftpClient) {
	srv := c.srv
	local := t.TempDir()
	payload := e2etest.Pattern(1<<20 + 4099)
	src := filepath.Join(local, "payload.bin")
	require.NoError(t, os.WriteFile(src, payload, 0o644))

	// RFC 959 5.4: a wrong password gets 530 and lftp gives up.
	r, tr := c.run("wrong", "ls")
	assert.Error(t, r.Err, "a wrong password must fail\n%s", r)
	assert.Contains(t, tr, "<--- 530", "the server answers 530 to a wrong password")

	// Binary upload and download.
	c.ok("put " + src + " -o bin.dat")
	assert.Equal(t, payload, srv.ReadFile(t, "bin.dat"), "uploaded bytes on disk")
	out := filepath.Join(local, "out.bin")
	c.ok("get bin.dat -o " + out)
	e2eAssertFile(t, payload, out, "downloaded bytes")

	// get -c: REST then RETR (RFC 3659 section 5).
	part := filepath.Join(local, "part.bin")
	require.NoError(t, os.WriteFile(part, payload[:300_000], 0o644))
	_, tr = c.okTranscript("get -c bin.dat -o " + part)
	assert.Contains(t, tr, "---> REST 300000", "get -c restarts at the local size")
	e2eAssertFile(t, payload, part, "resumed download")

	// put -c: REST then STOR (RFC 3659 section 5.5).
	srv.WriteFile(t, "resume.dat", payload[:77_777])
	_, tr = c.okTranscript("put -c " + src + " -o resume.dat")
	assert.Contains(t, tr, "---> REST 77777", "put -c restarts at the remote size")
	assert.Contains(t, tr, "---> STOR resume.dat", "put -c stores with STOR")
	assert.Equal(t, payload, srv.ReadFile(t, "resume.dat"), "resumed upload")

	// UTF-8 names (RFC 2640).
	const utf8Name = "日本語 ü.txt"
	small := filepath.Join(local, "small.txt")
	require.NoError(t, os.WriteFile(small, []byte("small\n"), 0o644))
	c.ok(`put ` + small + ` -o "` + utf8Name + `"`)
	assert.Equal(t, "small\n", string(srv.ReadFile(t, utf8Name)), "file with a UTF-8 name on disk")
	assert.Equal(t, "small\n", c.ok(`cat "`+utf8Name+`"`), "file with a UTF-8 name downloaded")

	// mkdir, listings in a subdirectory.
	c.ok("mkdir -p sub/dir")
	assert.DirExists(t, srv.Path("sub/dir"), "mkdir -p made the directories")
	srv.WriteFile(t, "sub/dir/a.txt", []byte("aaa"))
	srv.WriteFile(t, "sub/dir/b.txt", []byte("bbbb"))

	// NLST.
	names := strings.Fields(c.ok("nlist sub/dir"))
	sort.Strings(names)
	assert.Equal(t, []string{"sub/dir/a.txt", "sub/dir/b.txt"}, names, "NLST of another directory")
	// LIST.
	list, tr := c.okTranscript("ls")
	assert.Contains(t, tr, "---> LIST", "ls sends LIST")
	for _, want := range []string{"bin.dat", "resume.dat", utf8Name, "sub"} {
		assert.True(t, e2eHasListLine(list, want), "LIST shows %q:\n%s", want, list)
	}
	// MLSD: lftp's cls parses the facts.
	cls, tr := c.okTranscript("cls -1 --sort=name --size --block-size=1 sub/dir/")
	assert.Contains(t, tr, "---> MLSD", "cls sends MLSD")
	assert.Equal(t, []string{"3 sub/dir/a.txt", "4 sub/dir/b.txt"}, e2eFields(cls),
		"cls shows the MLSD sizes and names")

	// mv (RNFR, RNTO), rm (DELE), rmdir (RMD).
	c.ok("mv bin.dat moved.dat")
	assert.False(t, srv.Exists("bin.dat"), "renamed file is gone")
	assert.Equal(t, payload, srv.ReadFile(t, "moved.dat"), "renamed file content")
	c.ok("rm moved.dat")
	assert.False(t, srv.Exists("moved.dat"), "deleted file is gone")
	c.ok("rm sub/dir/a.txt sub/dir/b.txt", "rmdir sub/dir")
	assert.NoDirExists(t, srv.Path("sub/dir"), "rmdir removed the directory")
	r, tr = c.run(ftptest.Password, "rm missing.txt")
	assert.Error(t, r.Err, "rm of a missing file fails\n%s", r)
	assert.Contains(t, tr, "<--- 550", "DELE of a missing file is answered 550")

	// TYPE A (RFC 959 3.1.1.1). lftp converts line ends itself: CRLF to
	// LF on download, LF to CRLF on upload, so only the server's stored
	// file and lftp's local file are compared.
	srv.WriteFile(t, "text.txt", []byte("alpha\nbeta\r\ngamma\n"))
	text := filepath.Join(local, "text.txt")
	_, tr = c.okTranscript("get -a text.txt -o " + text)
	assert.Contains(t, tr, "<--- 150 Opening ASCII mode", "get -a transfers in TYPE A")
	e2eAssertFile(t, []byte("alpha\nbeta\ngamma\n"), text, "TYPE A download")
	lf := filepath.Join(local, "lf.txt")
	require.NoError(t, os.WriteFile(lf, []byte("one\ntwo\n"), 0o644))
	c.ok("put -a " + lf + " -o up.txt")
	assert.Equal(t, "one\ntwo\n", string(srv.ReadFile(t, "up.txt")), "TYPE A upload stored with LF ends")
}

// e2eFields joins the fields of each non-empty line with one space.
func e2eFields(s string) []string {
	var res []string
	for _, l := range strings.Split(s, "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			res = append(res, strings.Join(f, " "))
		}
	}
	return res
}
