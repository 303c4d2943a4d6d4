package ftp_test

import (
	"strings"
	"testing"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftp/ftptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// helpVerbs returns the verbs HELP lists, and which are marked as not
// implemented.
func helpVerbs(t *testing.T, c *ftptest.Conn) map[string]bool {
	t.Helper()
	text := cmdCode(t, c, "HELP", ftp.StatusHelp)
	lines := strings.Split(text, "\n")
	require.Greater(t, len(lines), 3, "HELP lists verbs")
	verbs := map[string]bool{}
	for _, l := range lines[1 : len(lines)-2] {
		assert.Equal(t, l, strings.TrimRight(l, " "), "no reply line ends in spaces")
		for _, v := range strings.Fields(l) {
			name, unimpl := strings.CutSuffix(v, "*")
			verbs[name] = unimpl
		}
	}
	return verbs
}

// TestHELPEveryVerb checks that HELP lists every RFC 959 verb (section
// 5.3.1), that HELP <verb> answers for each, and that a verb marked "*"
// answers 502.
func TestHELPEveryVerb(t *testing.T) {
	srv := ftptest.NewServer(t)
	c := ftptest.Dial(t, srv.Addr)
	c.Login()
	verbs := helpVerbs(t, c)
	for _, v := range strings.Fields("USER PASS ACCT CWD CDUP SMNT QUIT REIN PORT PASV TYPE STRU MODE " +
		"RETR STOR STOU APPE ALLO REST RNFR RNTO ABOR DELE RMD MKD PWD LIST NLST SITE SYST STAT HELP NOOP") {
		_, ok := verbs[v]
		assert.True(t, ok, "HELP lists the RFC 959 verb %s", v)
	}
	for v, unimpl := range verbs {
		text := cmdCode(t, c, "HELP "+strings.ToLower(v), ftp.StatusHelp)
		if v == "SITE" {
			// HELP SITE lists the SITE commands, as SITE HELP does.
			assert.True(t, strings.HasPrefix(text, "SITE commands recognized:"), "HELP SITE: %q", text)
			continue
		}
		assert.True(t, strings.HasPrefix(text, "Syntax: "+v), "HELP %s: %q", v, text)
		if unimpl {
			assert.Contains(t, text, "not implemented", "HELP %s", v)
			cmdCode(t, c, v+" x", ftp.StatusNotImplemented)
		}
	}
}

// TestFEATFormat checks RFC 2389 section 3.2: "211-" first, one feature a
// line indented by exactly one space, "211 End" last; and that the
// features it names answer.
func TestFEATFormat(t *testing.T) {
	srv := ftptest.NewServer(t)
	c := ftptest.Dial(t, srv.Addr)
	text := cmdCode(t, c, "FEAT", ftp.StatusSystem)
	lines := strings.Split(text, "\n")
	require.GreaterOrEqual(t, len(lines), 3, "FEAT lists features")
	assert.Equal(t, "End", lines[len(lines)-1], "the last line")
	feats := map[string]string{}
	for _, l := range lines[1 : len(lines)-1] {
		require.True(t, strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "  "), "feature line %q is indented by one space", l)
		name, params, _ := strings.Cut(l[1:], " ")
		feats[name] = params
	}
	c.Login()
	for _, probe := range []struct{ feat, cmd string }{
		{"EPSV", "EPSV"}, {"MDTM", "MDTM /"}, {"SIZE", "SIZE /"}, {"MLST", "MLST /"},
		{"REST", "REST 0"}, {"UTF8", "OPTS UTF8 ON"}, {"HASH", "OPTS HASH"}, {"MFMT", "MFMT 20200101000000 /"},
	} {
		if _, ok := feats[probe.feat]; !assert.True(t, ok, "FEAT lists %s", probe.feat) {
			continue
		}
		c.Send(probe.cmd)
		code, _ := c.Read()
		assert.NotContains(t, []int{ftp.StatusSyntaxError, ftp.StatusNotImplemented}, code, "%s is listed, so %s is known", probe.feat, probe.cmd)
	}
	assert.Equal(t, "STREAM", feats["REST"], "RFC 3659 5.4")
}

func TestSTATStatus(t *testing.T) {
	srv := ftptest.NewServer(t)
	c := ftptest.Dial(t, srv.Addr)
	cmdCode(t, c, "STAT", ftp.StatusNotLoggedIn)
	c.Login()
	text := cmdCode(t, c, "STAT", ftp.StatusSystem)
	assert.Contains(t, text, "Logged in as user", "STAT names the user")
	assert.Contains(t, text, "TYPE: ASCII", "STAT names the type")
	cmdCode(t, c, "TYPE I", ftp.StatusOK)
	assert.Contains(t, cmdCode(t, c, "STAT", ftp.StatusSystem), "TYPE: Image", "STAT follows TYPE")
}
