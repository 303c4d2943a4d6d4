package ftp_test

import (
	"encoding/json"
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

// ftplibScript logs in with Python's ftplib and runs a list of operations
// in the one session. Its arguments: host port pasv(0|1) user password
// ops-as-JSON, each op a list [name, args...]. It prints one JSON line per
// op: {"out": ..., "err": ...}, err being the reply of a refused command.
// The protocol transcript (ftplib's debug output) goes to standard error.
const ftplibScript = `
import ftplib, json, sys

def log(*a, **k):
    print(*a, file=sys.stderr)
ftplib.print = log

host, port, pasv, user, password, ops = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4], sys.argv[5], json.loads(sys.argv[6])
ftp = ftplib.FTP(timeout=10, encoding="utf-8")
ftp.set_debuglevel(1)
ftp.connect(host, port)
ftp.login(user, password)
ftp.set_pasv(pasv)

def stor(remote, local, rest=None):
    with open(local, "rb") as f:
        if rest is not None:
            f.seek(int(rest))
            rest = int(rest)
        ftp.storbinary("STOR " + remote, f, rest=rest)

def appe(remote, local):
    with open(local, "rb") as f:
        ftp.storbinary("APPE " + remote, f)

def retr(remote, local, rest=None):
    with open(local, "ab" if rest is not None else "wb") as f:
        ftp.retrbinary("RETR " + remote, f.write, rest=None if rest is None else int(rest))

def storlines(remote, local):
    with open(local, "rb") as f:
        ftp.storlines("STOR " + remote, f)

def retrlines(remote, local):
    lines = []
    ftp.retrlines("RETR " + remote, lines.append)
    with open(local, "w", encoding="utf-8", newline="") as f:
        f.write("".join(l + "\n" for l in lines))

def retrascii(remote, local):
    # TYPE A as the bytes cross the wire, without ftplib's line handling.
    ftp.voidcmd("TYPE A")
    with ftp.transfercmd("RETR " + remote) as conn, open(local, "wb") as f:
        while True:
            b = conn.recv(65536)
            if not b:
                break
            f.write(b)
    ftp.voidresp()

def dirlist(d):
    lines = []
    ftp.retrlines("LIST " + d, lines.append)
    return lines

def size(name):
    ftp.voidcmd("TYPE I")
    return ftp.size(name)

funcs = {
    "stor": stor, "appe": appe, "retr": retr,
    "storlines": storlines, "retrlines": retrlines, "retrascii": retrascii,
    "rename": ftp.rename, "delete": ftp.delete, "mkd": ftp.mkd, "rmd": ftp.rmd,
    "nlst": ftp.nlst, "list": dirlist, "size": size,
    "mlsd": lambda d: {name: facts for name, facts in ftp.mlsd(d, ["type", "size"])},
}
for op in ops:
    try:
        print(json.dumps({"out": funcs[op[0]](*op[1:])}))
    except ftplib.error_perm as e:
        print(json.dumps({"err": str(e)}))
ftp.quit()
`

type ftplibClient struct {
	t    *testing.T
	prog string
	srv  *e2etest.Server
	pasv bool
}

func (c ftplibClient) run(password string, ops [][]string) e2etest.Result {
	c.t.Helper()
	pasv := "0"
	if c.pasv {
		pasv = "1"
	}
	js, err := json.Marshal(ops)
	require.NoError(c.t, err)
	return e2etest.Run(c.t, 30*time.Second, nil, c.prog, "-c", ftplibScript,
		c.srv.Host, c.srv.Port, pasv, ftptest.User, password, string(js))
}

// ftplibResult is the outcome of one operation.
type ftplibResult struct {
	Out json.RawMessage `json:"out"`
	Err string          `json:"err"`
}

// session runs the ops in one session, requires that the session
// succeeds, and returns each op's result and the protocol transcript.
func (c ftplibClient) session(ops [][]string) ([]ftplibResult, string) {
	c.t.Helper()
	r := c.run(ftptest.Password, ops)
	require.NoError(c.t, r.Err, "ftplib session should succeed\n%s", r)
	var res []ftplibResult
	for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		var fr ftplibResult
		require.NoError(c.t, json.Unmarshal([]byte(line), &fr), "ftplib output line %q", line)
		res = append(res, fr)
	}
	require.Len(c.t, res, len(ops), "one result per op\n%s", r)
	return res, r.Stderr
}

// TestPythonFtplib drives Python's ftplib: passive (PASV, or EPSV over
// IPv6) and active (PORT, or EPRT over IPv6) with set_pasv(False).
func TestPythonFtplib(t *testing.T) {
	t.Parallel()
	prog := e2etest.LookPath(t, "python3")
	if r := e2etest.Run(t, 30*time.Second, nil, prog, "-c", "import ftplib"); r.Err != nil {
		t.Skipf("python3 has no ftplib: %s", r)
	}
	modes := []struct {
		name    string
		ipv6    bool
		pasv    bool
		dataCmd string
	}{
		{"PASV", false, true, "PASV"},
		{"PORT", false, false, "PORT"},
		{"IPv6-EPSV", true, true, "EPSV"},
		{"IPv6-EPRT", true, false, "EPRT"},
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
			testFtplib(t, ftplibClient{t: t, prog: prog, srv: srv, pasv: m.pasv}, m.dataCmd)
		})
	}
}

func testFtplib(t *testing.T, c ftplibClient, dataCmd string) {
	srv := c.srv
	local := t.TempDir()
	lpath := func(name string) string { return filepath.Join(local, name) }
	payload := e2etest.Pattern(1<<20 + 255)
	require.NoError(t, os.WriteFile(lpath("payload.bin"), payload, 0o644))
	require.NoError(t, os.WriteFile(lpath("part.bin"), payload[:500_000], 0o644))
	require.NoError(t, os.WriteFile(lpath("two.txt"), []byte("two\n"), 0o644))
	require.NoError(t, os.WriteFile(lpath("lines.txt"), []byte("one\ntwo\r\nthree\n"), 0o644))
	srv.WriteFile(t, "resume.dat", payload[:654_321])
	srv.WriteFile(t, "log.txt", []byte("one\n"))
	srv.WriteFile(t, "text.txt", []byte("alpha\nbeta\r\ngamma\n"))
	const utf8Name = "日本語 ü.txt"

	// RFC 959 5.4: 530 for a wrong password.
	r := c.run("wrong", nil)
	assert.Error(t, r.Err, "a wrong password must fail\n%s", r)
	assert.Contains(t, r.Stderr, "error_perm: 530", "ftplib sees 530")

	ops := [][]string{
		0: {"stor", "bin.dat", lpath("payload.bin")},
		1: {"retr", "bin.dat", lpath("out.bin")},
		// REST then RETR: the rest of a partial local file.
		2: {"retr", "bin.dat", lpath("part.bin"), "500000"},
		// REST then STOR (RFC 3659 section 5.5) from the server's size on.
		3: {"size", "resume.dat"},
		4: {"stor", "resume.dat", lpath("payload.bin"), "654321"},
		5: {"appe", "log.txt", lpath("two.txt")},
		// UTF-8 names (RFC 2640).
		6:  {"stor", utf8Name, lpath("two.txt")},
		7:  {"retr", utf8Name, lpath("utf8.txt")},
		8:  {"mkd", "sub"},
		9:  {"stor", "sub/a.txt", lpath("two.txt")},
		10: {"stor", "sub/b.txt", lpath("two.txt")},
		11: {"nlst", "sub"},
		12: {"list", "/"},
		13: {"mlsd", "/"},
		14: {"rename", "log.txt", "renamed.txt"},
		15: {"delete", "sub/b.txt"},
		16: {"rmd", "sub"}, // not empty
		17: {"delete", "sub/a.txt"},
		18: {"rmd", "sub"},
		19: {"delete", "missing.txt"},
		// TYPE A (RFC 959 3.1.1.1): storlines sends CRLF line ends,
		// stored as LF; the server sends CRLF for LF (seen raw by
		// retrascii), which retrlines turns back.
		20: {"storlines", "lines.txt", lpath("lines.txt")},
		21: {"retrascii", "text.txt", lpath("wire.txt")},
		22: {"retrlines", "text.txt", lpath("back.txt")},
	}
	res, tr := c.session(ops)
	for i, r := range res {
		if i != 16 && i != 19 {
			assert.Empty(t, r.Err, "op %q should succeed", ops[i])
		}
	}
	assert.Contains(t, tr, "*cmd* '"+dataCmd, "ftplib opens data connections with %s", dataCmd)

	assert.Equal(t, payload, srv.ReadFile(t, "bin.dat"), "uploaded bytes on disk")
	e2eAssertFile(t, payload, lpath("out.bin"), "downloaded bytes")
	assert.Contains(t, tr, "*cmd* 'REST 500000'", "retrbinary(rest=) sends REST")
	e2eAssertFile(t, payload, lpath("part.bin"), "resumed download")
	assert.Equal(t, "654321", string(res[3].Out), "SIZE of the partial file")
	assert.Contains(t, tr, "*cmd* 'REST 654321'", "storbinary(rest=) sends REST")
	assert.Equal(t, payload, srv.ReadFile(t, "resume.dat"), "resumed upload")
	assert.Equal(t, "two\n", string(srv.ReadFile(t, utf8Name)), "file with a UTF-8 name on disk")
	e2eAssertFile(t, []byte("two\n"), lpath("utf8.txt"), "file with a UTF-8 name downloaded")
	assert.Equal(t, `"/sub"`, string(res[8].Out), "MKD answers the path of the new directory (RFC 959 appendix II)")

	var nlst []string
	require.NoError(t, json.Unmarshal(res[11].Out, &nlst), "NLST output")
	sort.Strings(nlst)
	assert.Equal(t, []string{"sub/a.txt", "sub/b.txt"}, nlst, "NLST names")

	var list []string
	require.NoError(t, json.Unmarshal(res[12].Out, &list), "LIST output")
	joined := strings.Join(list, "\n")
	for _, want := range []string{"bin.dat", "resume.dat", "log.txt", utf8Name, "sub"} {
		assert.True(t, e2eHasListLine(joined, want), "LIST shows %q:\n%s", want, joined)
	}

	var mlsd map[string]map[string]string
	require.NoError(t, json.Unmarshal(res[13].Out, &mlsd), "MLSD output")
	assert.Equal(t, "file", mlsd["bin.dat"]["type"], "MLSD type of a file")
	assert.Equal(t, strconv.Itoa(len(payload)), mlsd["bin.dat"]["size"], "MLSD size of a file")
	assert.Equal(t, "dir", mlsd["sub"]["type"], "MLSD type of a directory")
	assert.Equal(t, "file", mlsd[utf8Name]["type"], "MLSD lists the UTF-8 name")

	assert.False(t, srv.Exists("log.txt"), "renamed file is gone")
	assert.Equal(t, "one\ntwo\n", string(srv.ReadFile(t, "renamed.txt")), "APPE appended; rename kept the content")
	assert.True(t, strings.HasPrefix(res[16].Err, "550"), "RMD of a non-empty directory is refused: %q", res[16].Err)
	assert.NoDirExists(t, srv.Path("sub"), "RMD removed the directory")
	assert.True(t, strings.HasPrefix(res[19].Err, "550"), "DELE of a missing file is answered 550: %q", res[19].Err)

	assert.Contains(t, tr, "*cmd* 'TYPE A'", "storlines uses TYPE A")
	assert.Equal(t, "one\ntwo\nthree\n", string(srv.ReadFile(t, "lines.txt")), "TYPE A upload stored with LF ends")
	e2eAssertFile(t, []byte("alpha\r\nbeta\r\ngamma\r\n"), lpath("wire.txt"), "TYPE A download carries CRLF on the wire")
	e2eAssertFile(t, []byte("alpha\nbeta\ngamma\n"), lpath("back.txt"), "retrlines sees the lines")
}
