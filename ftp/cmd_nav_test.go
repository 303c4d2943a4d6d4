package ftp_test

import (
	"strings"
	"testing"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftp/ftptest"
	"github.com/ferryftp/ferry/vfs/memfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// unquote257 extracts the pathname of a 257 reply as RFC 959 Appendix II
// tells a client to: from the first quote to the quote that is not
// doubled, "" standing for one quote.
func unquote257(t *testing.T, text string) string {
	t.Helper()
	require.True(t, strings.HasPrefix(text, `"`), "257 text %q starts with a quote", text)
	var b strings.Builder
	for i := 1; i < len(text); i++ {
		if text[i] != '"' {
			b.WriteByte(text[i])
			continue
		}
		if i+1 < len(text) && text[i+1] == '"' {
			b.WriteByte('"')
			i++
			continue
		}
		return b.String()
	}
	t.Fatalf("257 text %q has no closing quote", text)
	return ""
}

func TestQuotedPathnames(t *testing.T) {
	srv := ftptest.NewServer(t)
	c := ftptest.Dial(t, srv.Addr)
	c.Login()
	for _, name := range []string{`plain`, `a"b`, `"quoted"`, `""`, `end"`, `with space`, `x""y`} {
		text := cmdCode(t, c, "MKD "+name, ftp.StatusPathCreated)
		assert.Equal(t, "/"+name, unquote257(t, text), "MKD %q: the 257 path parses back (Appendix II)", name)
		cmdCode(t, c, "CWD "+name, ftp.StatusFileActionOK)
		text = cmdCode(t, c, "PWD", ftp.StatusPathCreated)
		assert.Equal(t, "/"+name, unquote257(t, text), "PWD in %q", name)
		// The path a client parsed out of the reply works as an argument.
		cmdCode(t, c, "CWD /", ftp.StatusFileActionOK)
		cmdCode(t, c, "CWD "+unquote257(t, text), ftp.StatusFileActionOK)
		cmdCode(t, c, "CDUP", ftp.StatusFileActionOK)
	}
}

func TestPathLimits(t *testing.T) {
	srv := ftptest.NewServer(t, ftptest.WithServer(func(s *ftp.Server) { s.MaxLineLength = 9000 }))
	c := ftptest.Dial(t, srv.Addr)
	c.Login()
	cmdCode(t, c, "MKD "+strings.Repeat("a", 255), ftp.StatusPathCreated)
	cmdCode(t, c, "MKD "+strings.Repeat("b", 256), ftp.StatusFileNameNotAllowed)
	long := strings.Repeat("d/", 2100)
	cmdCode(t, c, "CWD "+long, ftp.StatusFileNameNotAllowed)
	cmdCode(t, c, "PWD", ftp.StatusPathCreated)
}

func TestNavigationStaysInside(t *testing.T) {
	m := memfs.New()
	require.NoError(t, m.MkdirAll("pub/deep/er"), "setup")
	srv := ftptest.NewServer(t, ftptest.WithFS(m))
	c := ftptest.Dial(t, srv.Addr)
	c.Login()
	for _, tc := range []struct{ arg, want string }{
		{"pub/deep/er", "/pub/deep/er"},
		{"../../..", "/"},
		{"/../../pub", "/pub"},
		{"deep/./er/..", "/pub/deep"},
		{"//pub//deep//", "/pub/deep"},
		{`..\..`, ""}, // a backslash is an ordinary character
	} {
		c.Send("CWD " + tc.arg)
		code, _ := c.Read()
		if tc.want == "" {
			assert.Equal(t, ftp.StatusFileUnavailable, code, "CWD %s", tc.arg)
			continue
		}
		assert.Equal(t, ftp.StatusFileActionOK, code, "CWD %s", tc.arg)
		assert.Equal(t, tc.want, unquote257(t, cmdCode(t, c, "PWD", ftp.StatusPathCreated)), "PWD after CWD %s", tc.arg)
	}
}
