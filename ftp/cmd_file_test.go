package ftp_test

import (
	"io"
	"strings"
	"testing"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftp/ftptest"
	"github.com/ferryftp/ferry/vfs/memfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBadPathBytes sends pathnames with a NUL, with invalid UTF-8 (RFC
// 2640 section 3.1) and with a CR or LF (through Telnet's CR NUL) to every
// command that takes one: 501 or 553, and the session goes on.
func TestBadPathBytes(t *testing.T) {
	m := memfs.New()
	require.NoError(t, m.WriteFile("a.txt", []byte("a"), 0o644), "setup")
	srv := ftptest.NewServer(t, ftptest.WithFS(m))
	c := ftptest.Dial(t, srv.Addr)
	c.Login()
	verbs := []string{"CWD", "XCWD", "MKD", "XMKD", "RMD", "XRMD", "DELE", "RNFR", "SIZE", "MDTM",
		"MLST", "HASH", "STAT", "RETR", "STOR", "APPE", "STOU", "LIST", "NLST", "MLSD"}
	data := map[string]bool{"RETR": true, "STOR": true, "APPE": true, "STOU": true, "LIST": true, "NLST": true, "MLSD": true}
	for _, bad := range []struct {
		name, path string
		code       int
	}{
		{"NUL", "a\x00b", ftp.StatusParameterSyntaxError},
		{"invalid UTF-8", "bad\xc3(", ftp.StatusFileNameNotAllowed},
		{"lone continuation byte", "\x80", ftp.StatusFileNameNotAllowed},
		{"overlong encoding", "\xc0\xaf", ftp.StatusFileNameNotAllowed},
		{"surrogate", "\xed\xa0\x80", ftp.StatusFileNameNotAllowed},
		{"CR", "a\r\x00b", ftp.StatusFileNameNotAllowed},
		{"CR LF", "a\r\x00\nb", ftp.StatusFileNameNotAllowed},
	} {
		for _, verb := range verbs {
			if data[verb] {
				// Else 425 comes first.
				cmdCode(t, c, "EPSV", ftp.StatusExtendedPassiveMode)
			}
			_, err := io.WriteString(c.NetConn(), verb+" "+bad.path+"\r\n")
			require.NoError(t, err, "sending")
			code, text := c.Read()
			assert.Equal(t, bad.code, code, "%s with %s: %q", verb, bad.name, text)
			assert.NotContains(t, text, bad.path, "the bad bytes are not echoed")
		}
		// MFMT and RNTO carry the path after another argument or step.
		_, err := io.WriteString(c.NetConn(), "MFMT 20200101000000 "+bad.path+"\r\n")
		require.NoError(t, err, "sending")
		expectCode(t, c, bad.code, "MFMT with "+bad.name)
		cmdCode(t, c, "RNFR a.txt", ftp.StatusFileActionPending)
		_, err = io.WriteString(c.NetConn(), "RNTO "+bad.path+"\r\n")
		require.NoError(t, err, "sending")
		expectCode(t, c, bad.code, "RNTO with "+bad.name)
	}
	cmdCode(t, c, "NOOP", ftp.StatusOK)
	cmdCode(t, c, "TYPE I", ftp.StatusOK)
	assert.Equal(t, "1", cmdCode(t, c, "SIZE a.txt", ftp.StatusFile), "nothing was renamed or changed")
}

func TestRenameRules(t *testing.T) {
	m := memfs.New()
	require.NoError(t, m.MkdirAll("dir/sub"), "setup")
	require.NoError(t, m.WriteFile("a.txt", []byte("a"), 0o644), "setup")
	srv := ftptest.NewServer(t, ftptest.WithFS(m))
	c := ftptest.Dial(t, srv.Addr)
	c.Login()
	// A file does not replace a directory, a directory does not move
	// into itself, and the root cannot be a target.
	for _, to := range []string{"dir", "/"} {
		cmdCode(t, c, "RNFR a.txt", ftp.StatusFileActionPending)
		c.Send("RNTO " + to)
		code, _ := c.Read()
		assert.True(t, code == ftp.StatusFileUnavailable || code == ftp.StatusFileNameNotAllowed, "RNTO %s: %d", to, code)
	}
	cmdCode(t, c, "RNFR dir", ftp.StatusFileActionPending)
	c.Send("RNTO dir/sub/x")
	code, _ := c.Read()
	assert.True(t, code >= 500, "a directory cannot move below itself: %d", code)
	// An unknown command between RNFR and RNTO breaks the pair too.
	cmdCode(t, c, "RNFR a.txt", ftp.StatusFileActionPending)
	cmdCode(t, c, "FROB", ftp.StatusSyntaxError)
	cmdCode(t, c, "RNTO b.txt", ftp.StatusBadSequence)
	cmdCode(t, c, "RNFR a.txt", ftp.StatusFileActionPending)
	cmdCode(t, c, "RNTO dir/sub/b.txt", ftp.StatusFileActionOK)
	cmdCode(t, c, "SIZE dir/sub/b.txt", ftp.StatusFile)
}

func TestDeleteAndRemoveDirectory(t *testing.T) {
	m := memfs.New()
	require.NoError(t, m.MkdirAll("full/inner"), "setup")
	require.NoError(t, m.MkdirAll("empty"), "setup")
	require.NoError(t, m.WriteFile("a.txt", nil, 0o644), "setup")
	srv := ftptest.NewServer(t, ftptest.WithFS(m))
	c := ftptest.Dial(t, srv.Addr)
	c.Login()
	cmdCode(t, c, "RMD full", ftp.StatusFileUnavailable)
	cmdCode(t, c, "DELE full", ftp.StatusFileUnavailable)
	cmdCode(t, c, "RMD a.txt", ftp.StatusFileUnavailable)
	cmdCode(t, c, "RMD empty", ftp.StatusFileActionOK)
	cmdCode(t, c, "DELE a.txt", ftp.StatusFileActionOK)
	cmdCode(t, c, "CWD full/inner", ftp.StatusFileActionOK)
	// Removing the current directory: later commands still answer.
	cmdCode(t, c, "RMD /full/inner", ftp.StatusFileActionOK)
	cmdCode(t, c, "PWD", ftp.StatusPathCreated)
	c.Send("MKD x")
	code, _ := c.Read()
	assert.Equal(t, ftp.StatusFileUnavailable, code, "MKD in a removed directory")
	text := cmdCode(t, c, "CDUP", ftp.StatusFileActionOK)
	assert.True(t, strings.Contains(text, `"/full"`), "CDUP from a removed directory: %q", text)
}
