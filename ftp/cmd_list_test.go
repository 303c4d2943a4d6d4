package ftp_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftp/ftptest"
	"github.com/ferryftp/ferry/vfs/memfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// list runs a listing command and returns its lines, each checked for its
// CRLF.
func list(t *testing.T, c *ftptest.Conn, cmd string) []string {
	t.Helper()
	dc := c.Passive()
	cmdCode(t, c, cmd, ftp.StatusFileStatusOK)
	data := string(readData(t, dc))
	expectCode(t, c, ftp.StatusClosingDataConnection, cmd)
	if data == "" {
		return nil
	}
	require.True(t, strings.HasSuffix(data, "\r\n"), "%s: the listing ends in CRLF", cmd)
	lines := strings.Split(strings.TrimSuffix(data, "\r\n"), "\r\n")
	for _, l := range lines {
		require.NotContains(t, l, "\n", "%s: every line ends in CRLF, no bare LF", cmd)
	}
	return lines
}

func TestListLargeDirectory(t *testing.T) {
	const n = 5000
	m := memfs.New()
	require.NoError(t, m.MkdirAll("many"), "setup")
	var want []string
	for i := range n {
		name := fmt.Sprintf("f%05d", i)
		require.NoError(t, m.WriteFile("many/"+name, nil, 0o644), "setup")
		want = append(want, name)
	}
	srv := ftptest.NewServer(t, ftptest.WithFS(m))
	c := ftptest.Dial(t, srv.Addr)
	c.Login()
	cmdCode(t, c, "CWD many", ftp.StatusFileActionOK)
	assert.Equal(t, want, list(t, c, "NLST"), "NLST of a large directory, every entry once")
	assert.Len(t, list(t, c, "LIST"), n, "LIST of a large directory")
	assert.Len(t, list(t, c, "MLSD"), n+1, "MLSD: the entries and the cdir line")
	cmdCode(t, c, "STAT .", ftp.StatusDirectory)
}

// TestNLSTNamesAreUsable checks RFC 1123 4.1.2.7: NLST returns names the
// server accepts in a following command, whatever the argument was.
func TestNLSTNamesAreUsable(t *testing.T) {
	m := memfs.New()
	require.NoError(t, m.MkdirAll("pub/sub"), "setup")
	require.NoError(t, m.WriteFile("pub/a.txt", []byte("a"), 0o644), "setup")
	require.NoError(t, m.WriteFile("pub/sub/b.txt", []byte("bb"), 0o644), "setup")
	srv := ftptest.NewServer(t, ftptest.WithFS(m))
	c := ftptest.Dial(t, srv.Addr)
	c.Login()
	cmdCode(t, c, "CWD /pub", ftp.StatusFileActionOK)
	for _, arg := range []string{"", "sub", "sub/", "/pub/sub", "../pub/sub", "a.txt", "sub/b.txt", "/pub/sub/b.txt", "./a.txt"} {
		names := list(t, c, strings.TrimSpace("NLST "+arg))
		require.NotEmpty(t, names, "NLST %s", arg)
		for _, name := range names {
			code, text := c.Cmd("MLST " + name)
			assert.Equal(t, ftp.StatusFileActionOK, code, "NLST %q gave %q, which MLST does not find: %s", arg, name, text)
		}
	}
}

// TestListingNameWithLineBreak: a CR or LF in a name from the back end
// must not forge listing lines.
func TestListingNameWithLineBreak(t *testing.T) {
	m := memfs.New()
	require.NoError(t, m.MkdirAll("d"), "setup")
	require.NoError(t, m.WriteFile("d/evil\r\n-rw-r--r-- 1 ftp ftp 0 Jan 1 2020 forged", nil, 0o644), "setup")
	require.NoError(t, m.WriteFile("d/plain", nil, 0o644), "setup")
	srv := ftptest.NewServer(t, ftptest.WithFS(m))
	c := ftptest.Dial(t, srv.Addr)
	c.Login()
	for _, cmd := range []string{"LIST d", "NLST d", "MLSD d"} {
		lines := list(t, c, cmd)
		want := 2
		if cmd == "MLSD d" {
			want = 3
		}
		assert.Len(t, lines, want, "%s: one line per entry", cmd)
		for _, l := range lines {
			assert.False(t, strings.HasPrefix(l, "-rw-r--r-- 1 ftp ftp 0 Jan 1 2020"), "%s: forged line %q", cmd, l)
		}
	}
	text := cmdCode(t, c, "STAT d", ftp.StatusDirectory)
	assert.Len(t, strings.Split(text, "\n"), 4, "STAT: one line per entry")
}

var mlsxEntry = regexp.MustCompile(`^(?:[a-z]+=[^;= ]*;)+ [^\r\n]+$`)

// TestMLSDGrammar checks every MLSD entry against RFC 3659 7.2
// (facts, SP, name), for the read-write and the read-only view.
func TestMLSDGrammar(t *testing.T) {
	m := memfs.New()
	require.NoError(t, m.MkdirAll("d/e"), "setup")
	require.NoError(t, m.WriteFile("d/f.txt", []byte("x"), 0o644), "setup")
	require.NoError(t, m.WriteFile("d/with space.txt", []byte("x"), 0o644), "setup")
	srv := ftptest.NewServer(t, ftptest.WithFS(m))
	for _, user := range []string{ftptest.User, "anonymous"} {
		c := ftptest.Dial(t, srv.Addr)
		cmdCode(t, c, "USER "+user, ftp.StatusNeedPassword)
		cmdCode(t, c, "PASS "+ftptest.Password, ftp.StatusLoggedIn)
		lines := list(t, c, "MLSD d")
		require.Len(t, lines, 4, "%s: cdir and three entries", user)
		perms := map[string]string{}
		for _, l := range lines {
			assert.Regexp(t, mlsxEntry, l, "%s: MLSD entry", user)
			facts, name, _ := strings.Cut(l, " ")
			for f := range strings.SplitSeq(strings.TrimSuffix(facts, ";"), ";") {
				if v, ok := strings.CutPrefix(f, "perm="); ok {
					perms[name] = v
				}
			}
		}
		assert.Equal(t, "with space.txt", lines[3][strings.Index(lines[3], " ")+1:], "the name follows the first SP")
		if user == "anonymous" {
			// RFC 3659 7.5.5: a read-only view offers no a, c, d, f, m, p, w.
			assert.Equal(t, "r", perms["f.txt"], "perm of a file, read-only")
			assert.Equal(t, "el", perms["e"], "perm of a directory, read-only")
		} else {
			assert.Equal(t, "adfrw", perms["f.txt"], "perm of a file, read-write")
			assert.Equal(t, "cdeflmp", perms["e"], "perm of a directory, read-write")
		}
	}
}

func TestLISTFlags(t *testing.T) {
	m := memfs.New()
	require.NoError(t, m.WriteFile(".hidden", nil, 0o644), "setup")
	require.NoError(t, m.WriteFile("-my-file", nil, 0o644), "setup")
	require.NoError(t, m.WriteFile("shown", nil, 0o644), "setup")
	srv := ftptest.NewServer(t, ftptest.WithFS(m))
	c := ftptest.Dial(t, srv.Addr)
	c.Login()
	names := func(cmd string) []string {
		var out []string
		for _, l := range list(t, c, cmd) {
			f := strings.Fields(l)
			out = append(out, f[len(f)-1])
		}
		slices.Sort(out)
		return out
	}
	assert.Equal(t, []string{"-my-file", "shown"}, names("LIST"), "LIST hides dot files")
	assert.Equal(t, []string{"-my-file", ".hidden", "shown"}, names("LIST -a"), "LIST -a shows them")
	assert.Equal(t, []string{"-my-file", ".hidden", "shown"}, names("LIST -l -a"), "flags in separate words")
	assert.Equal(t, []string{"-my-file"}, names("LIST -- -my-file"), "-- ends the flags")
	assert.Equal(t, []string{"-my-file"}, names("NLST -my-file"), "a dash word that is no flag is a name")
	dc := c.Passive()
	defer dc.Close()
	cmdCode(t, c, "LIST -la missing", ftp.StatusFileUnavailable)
}
