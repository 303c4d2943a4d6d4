package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	jftp "github.com/jlaffaye/ftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testDaemonHeader keeps failed logins cheap: the daemon's throttle would
// otherwise wait a second after each.
const testDaemonHeader = `[daemon]
state_dir = "state"
shutdown_timeout = "5s"

[daemon.login_throttle]
delay = "1ms"
max_delay = "1ms"
ban_after = 1000
`

// testDaemon is "ferryd -config" run by a test, in the process.
type testDaemon struct {
	*daemon
	path string
	out  *lockedBuffer
	logs *lockedBuffer
}

// startConfig writes text to dir/ferryd.toml and serves it until the test
// ends.
func startConfig(t *testing.T, dir, text string) *testDaemon {
	t.Helper()
	path := filepath.Join(dir, "ferryd.toml")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
	td := &testDaemon{path: path, out: new(lockedBuffer), logs: new(lockedBuffer)}
	d, err := newDaemon(path, td.out, td.logs, false)
	require.NoError(t, err, "ferryd -config")
	td.daemon = d
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err, "ferryd stops cleanly")
		case <-time.After(15 * time.Second):
			t.Error("ferryd did not stop")
		}
		if t.Failed() {
			t.Logf("ferryd output:\n%s\nferryd log:\n%s", td.out.String(), td.logs.String())
		}
	})
	select {
	case <-d.notified:
	case <-time.After(10 * time.Second):
		t.Fatal("ferryd did not start serving")
	}
	return td
}

// rewrite replaces the configuration file.
func (td *testDaemon) rewrite(t *testing.T, text string) {
	t.Helper()
	require.NoError(t, os.WriteFile(td.path, []byte(text), 0o600))
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// rawConn is a control connection driven line by line.
type rawConn struct {
	t *testing.T
	*textproto.Conn
	greeting string
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	c := &rawConn{t: t, Conn: textproto.NewConn(nc)}
	t.Cleanup(func() { c.Close() })
	_, msg, err := c.ReadResponse(0)
	require.NoError(t, err, "greeting")
	c.greeting = msg
	return c
}

// cmd sends a command and returns "CODE text".
func (c *rawConn) cmd(format string, args ...any) string {
	c.t.Helper()
	require.NoError(c.t, c.PrintfLine(format, args...))
	code, msg, err := c.ReadResponse(0)
	if err != nil && code == 0 {
		c.t.Fatalf("reply to %q: %v", fmt.Sprintf(format, args...), err)
	}
	return fmt.Sprintf("%d %s", code, msg)
}

func ftpLogin(t *testing.T, addr, user, pass string) (*jftp.ServerConn, error) {
	t.Helper()
	c, err := jftp.Dial(addr, jftp.DialWithTimeout(10*time.Second))
	require.NoError(t, err, "dial %s", addr)
	if err := c.Login(user, pass); err != nil {
		c.Quit()
		return nil, err
	}
	t.Cleanup(func() { c.Quit() })
	return c, nil
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}

// Four sites in one process: alpha and beta on two addresses, gamma and
// delta on alpha's address chosen by HOST (RFC 7151), epsilon by HOST
// with access rules that refuse the test's address. Each has its own
// greeting, users and home.
func TestDaemonSites(t *testing.T) {
	dir := t.TempDir()
	for _, s := range []string{"alpha", "beta", "gamma", "delta"} {
		writeFile(t, filepath.Join(dir, s, s+".txt"), "this is "+s)
	}
	beta := freePort(t)
	site := func(name, port, hosts, user, extra string) string {
		return fmt.Sprintf(`
[[site]]
name = %q
home = %q
address = "127.0.0.1"
port = %s
hosts = [%s]
welcome = "Site %s"
%s
[[site.user]]
name = %q
password = %q
`, name, name, port, hosts, name, extra, user, pw(t))
	}
	td := startConfig(t, dir, testDaemonHeader+
		site("alpha", "0", "", "alice", "")+
		site("beta", fmt.Sprint(beta), "", "bob", "")+
		site("gamma", "0", `"gamma.test"`, "carol", "")+
		site("delta", "0", `"delta.test"`, "dave", "max_users = 1")+
		site("epsilon", "0", `"epsilon.test"`, "eve", "")+`
[[site.access]]
action = "deny"
ip = "127.0.0.0/8"
`)
	shared := td.addr("127.0.0.1:0")
	betaAddr := td.addr(fmt.Sprintf("127.0.0.1:%d", beta))
	require.NotEmpty(t, shared)
	require.NotEmpty(t, betaAddr)
	for _, name := range []string{"alpha", "gamma", "delta", "epsilon"} {
		assert.Contains(t, td.out.String(), "ferryd: site "+name+" on ftp://"+shared, "announced")
	}

	t.Run("by address", func(t *testing.T) {
		assert.Equal(t, "Site alpha", dialRaw(t, shared).greeting, "alpha is the default site of its address")
		assert.Equal(t, "Site beta", dialRaw(t, betaAddr).greeting)

		c, err := ftpLogin(t, shared, "alice", "pw")
		require.NoError(t, err, "alice logs into alpha")
		assert.Equal(t, "this is alpha", retrieve(t, c, "alpha.txt"))
		_, err = ftpLogin(t, shared, "bob", "pw")
		assert.Error(t, err, "bob is not a user of alpha")

		c, err = ftpLogin(t, betaAddr, "bob", "pw")
		require.NoError(t, err, "bob logs into beta")
		names, err := c.NameList("")
		require.NoError(t, err)
		assert.Equal(t, []string{"beta.txt"}, names, "beta's home")
		_, err = ftpLogin(t, betaAddr, "alice", "pw")
		assert.Error(t, err, "alice is not a user of beta")

		if curl, err := exec.LookPath("curl"); err == nil {
			out, err := exec.Command(curl, "-sS", "--max-time", "10", "-u", "bob:pw", "ftp://"+betaAddr+"/beta.txt").CombinedOutput()
			require.NoError(t, err, "curl: %s", out)
			assert.Equal(t, "this is beta", string(out), "curl downloads from beta")
		}
	})

	t.Run("by HOST", func(t *testing.T) {
		c := dialRaw(t, shared)
		assert.Equal(t, "220 Site gamma", c.cmd("HOST gamma.test"), "RFC 7151 section 3.1: 220 with the host's greeting")
		assert.Equal(t, "331 Password required for dave.", c.cmd("USER dave"))
		assert.Equal(t, "530 Login incorrect.", c.cmd("PASS pw"), "dave is delta's, not gamma's")
		c = dialRaw(t, shared)
		assert.Equal(t, "504 Unknown host.", c.cmd("HOST nowhere.test"), "RFC 7151 section 3.2: 504 for an unknown host")
		assert.Equal(t, "220 Site delta", c.cmd("HOST DELTA.test"), "host names compare without case")
		c = dialRaw(t, shared)
		assert.Equal(t, "220 Site epsilon", c.cmd("HOST epsilon.test"))
		assert.Equal(t, "530 Access denied.", c.cmd("USER eve"), "epsilon's access rules apply at USER")

		first := dialRaw(t, shared)
		first.cmd("HOST delta.test")
		first.cmd("USER dave")
		assert.Equal(t, "230 User dave logged in, proceed.", first.cmd("PASS pw"))
		c = dialRaw(t, shared)
		c.cmd("HOST delta.test")
		assert.Equal(t, "421 Too many users logged in to this site; try again later.", c.cmd("USER dave"), "delta's max_users applies to sessions that chose it by HOST")
		assert.Equal(t, "221 Goodbye.", first.cmd("QUIT"))
		waitFor(t, "the first session of delta to end", func() bool {
			return td.cur.Load().sites["delta"].st.hostConns.Count() == 0
		})

		python, err := exec.LookPath("python3")
		if err != nil {
			t.Skip("python3 not installed")
		}
		for _, tc := range []struct{ host, user, file string }{
			{"gamma.test", "carol", "gamma.txt"},
			{"delta.test", "dave", "delta.txt"},
		} {
			s := newFtplibSession(t, python, shared)
			assert.Equal(t, "220 Site "+strings.TrimSuffix(tc.host, ".test"), s.cmd("HOST "+tc.host))
			assert.Equal(t, "331 Password required for "+tc.user+".", s.cmd("USER "+tc.user))
			assert.Equal(t, "230 User "+tc.user+" logged in, proceed.", s.cmd("PASS pw"))
			assert.Equal(t, "NLST "+tc.file, s.cmd("NLST"), "the home of %s", tc.host)
			s.cmd("QUIT")
		}
	})
}

// gatedReader gives first, then blocks until gate is closed, then gives
// rest.
type gatedReader struct {
	first, rest io.Reader
	started     chan struct{}
	gate        chan struct{}
	once        sync.Once
}

func (g *gatedReader) Read(p []byte) (int, error) {
	n, err := g.first.Read(p)
	if n > 0 || err != io.EOF {
		return n, err
	}
	g.once.Do(func() {
		close(g.started)
		<-g.gate
	})
	return g.rest.Read(p)
}

// A reload while clients transfer: transfers in flight complete intact,
// sessions logged in before keep working, new logins see the new users at
// once, and a broken file changes nothing.
func TestDaemonReloadUnderLoad(t *testing.T) {
	dir := t.TempDir()
	big := make([]byte, 1<<20)
	rand.Read(big)
	sum := sha256.Sum256(big)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "home"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "home", "big.bin"), big, 0o644))
	conf := func(welcome string, users ...string) string {
		s := testDaemonHeader + fmt.Sprintf(`
[[site]]
name = "main"
home = "home"
address = "127.0.0.1"
port = 0
welcome = %q
`, welcome)
		for _, u := range users {
			s += fmt.Sprintf("\n[[site.user]]\nname = %q\npassword = %q\n", u, pw(t))
		}
		return s
	}
	td := startConfig(t, dir, conf("Version one", "alice", "bob"))
	addr := td.addr("127.0.0.1:0")

	// Downloaders: each logs in once and downloads until stopped.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var downloads [3]atomic.Int64
	errs := make(chan error, 16)
	for i := range downloads {
		c, err := ftpLogin(t, addr, "alice", "pw")
		require.NoError(t, err)
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				r, err := c.Retr("big.bin")
				if err != nil {
					errs <- fmt.Errorf("RETR: %w", err)
					return
				}
				b, err := io.ReadAll(r)
				r.Close()
				if err != nil || sha256.Sum256(b) != sum {
					errs <- fmt.Errorf("download %d: %d bytes, err %v", downloads[i].Load(), len(b), err)
					return
				}
				downloads[i].Add(1)
			}
		})
	}
	// An upload held open across the reload.
	up, err := ftpLogin(t, addr, "bob", "pw")
	require.NoError(t, err)
	part := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	g := &gatedReader{first: bytes.NewReader(part), rest: bytes.NewReader(part), started: make(chan struct{}), gate: make(chan struct{})}
	upDone := make(chan error, 1)
	go func() { upDone <- up.Stor("up.bin", g) }()

	waitFor(t, "every downloader finished a download and the upload is under way", func() bool {
		for i := range downloads {
			if downloads[i].Load() == 0 {
				return false
			}
		}
		select {
		case <-g.started:
		default:
			return false
		}
		for _, si := range td.byKey["127.0.0.1:0"].srv.Sessions() {
			if strings.HasPrefix(si.Command, "STOR") {
				return true
			}
		}
		return false
	})

	td.rewrite(t, conf("Version two", "alice", "carol"))
	require.NoError(t, td.reload(), "reload")
	before := [3]int64{}
	for i := range downloads {
		before[i] = downloads[i].Load()
	}
	_, err = ftpLogin(t, addr, "carol", "pw")
	assert.NoError(t, err, "a user added by the reload logs in at once")
	assert.Equal(t, "Version two", dialRaw(t, addr).greeting, "new connections get the new greeting")

	close(g.gate)
	require.NoError(t, <-upDone, "the upload started before the reload completes")
	got, err := os.ReadFile(filepath.Join(dir, "home", "up.bin"))
	require.NoError(t, err)
	assert.Equal(t, append(append([]byte(nil), part...), part...), got, "the upload is intact")

	td.rewrite(t, "bogus = 1\n"+conf("Version three", "alice", "dave")+"\n[[site.user]]\nname = \"erin\"\npassword = \"plain\"\n")
	err = td.reload()
	require.Error(t, err, "a broken file is refused")
	assert.Equal(t, td.path+":1: bogus: unknown key\n"+
		td.path+":28: site.user.password: not a password hash; make one with ferryd passwd (passwords are never stored in clear)",
		err.Error(), "every error, with its line")
	assert.Contains(t, td.logs.String(), "reload refused", "the refusal is logged")
	_, err = ftpLogin(t, addr, "carol", "pw")
	assert.NoError(t, err, "the configuration in force stays after a refused reload")
	assert.Equal(t, "Version two", dialRaw(t, addr).greeting)

	waitFor(t, "every downloader went on after the reload", func() bool {
		for i := range downloads {
			if downloads[i].Load() <= before[i] {
				return false
			}
		}
		return true
	})
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Last, when the downloads no longer compete for the CPU: an unknown
	// user costs a key derivation, so that timing does not tell.
	_, err = ftpLogin(t, addr, "bob", "pw")
	assert.Error(t, err, "a user removed by the reload cannot log in again")
	_, err = ftpLogin(t, addr, "dave", "pw")
	assert.Error(t, err, "nothing of the refused file applies")
}

// SIGHUP reloads; SIGUSR1 logs the sessions.
func TestDaemonSignals(t *testing.T) {
	dir := t.TempDir()
	conf := func(user string) string {
		return testDaemonHeader + fmt.Sprintf(`
[[site]]
name = "main"
home = "home"
address = "127.0.0.1"
port = 0

[[site.user]]
name = %q
password = %q
`, user, pw(t))
	}
	td := startConfig(t, dir, conf("alice"))
	addr := td.addr("127.0.0.1:0")
	_, err := ftpLogin(t, addr, "alice", "pw")
	require.NoError(t, err)

	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGUSR1))
	waitFor(t, "the session table in the log", func() bool {
		return strings.Contains(td.logs.String(), "msg=sessions count=1")
	})
	assert.Contains(t, td.logs.String(), "site=main user=alice", "the session is listed with its site and user")

	td.rewrite(t, conf("bob"))
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	waitFor(t, "the reload", func() bool { return strings.Contains(td.logs.String(), "configuration reloaded") })
	_, err = ftpLogin(t, addr, "bob", "pw")
	assert.NoError(t, err, "bob logs in after SIGHUP")
}

// waitFor polls cond for up to 20 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition, not synchronising
	}
}

// One-time passwords from the site's state file, per-user overrides, and
// administrators: the daemon's pieces wired together.
func TestDaemonOTPAndAdmin(t *testing.T) {
	dir := t.TempDir()
	otp := filepath.Join(dir, "otp.json")
	code, _, errOut := runCLI("correct horse battery\n", "skey", "init", "-state", otp, "-seq", "10", "-seed", "ab1234", "alice")
	require.Equal(t, 0, code, "ferryd skey init: %s", errOut)
	td := startConfig(t, dir, testDaemonHeader+fmt.Sprintf(`
[[site]]
name = "main"
home = "home"
address = "127.0.0.1"
port = 0
otp_state = "otp.json"
require_otp = true

[[site.user]]
name = "alice"
password = %[1]q
admin = true

[[site.user]]
name = "bob"
password = %[1]q
require_otp = false

[[site.user]]
name = "carol"
password = %[1]q

[[site.user]]
name = "anonymous"
type = "anonymous"
`, pw(t)))
	addr := td.addr("127.0.0.1:0")

	c := dialRaw(t, addr)
	reply := c.cmd("USER alice")
	assert.Equal(t, "331 Response to otp-md5 9 ab1234 required for alice.", reply, "RFC 2289 section 6: the challenge in the 331 reply")
	assert.Equal(t, "230 User alice logged in, proceed.", c.cmd("PASS %s", cliResponse(t, "correct horse battery", reply)))
	who := c.cmd("SITE WHO")
	assert.True(t, strings.HasPrefix(who, "200 "), "an administrator sees the sessions: %s", who)
	assert.Contains(t, who, " alice ", "SITE WHO lists alice's session")

	c = dialRaw(t, addr)
	assert.Equal(t, "331 Response to otp-md5 8 ab1234 required for alice.", c.cmd("USER alice"))
	assert.Equal(t, "530 Login incorrect.", c.cmd("PASS pw"), "alice's password is no longer accepted")

	c = dialRaw(t, addr)
	assert.Equal(t, "331 Password required for bob.", c.cmd("USER bob"), "require_otp = false exempts bob")
	assert.Equal(t, "230 User bob logged in, proceed.", c.cmd("PASS pw"))
	assert.Equal(t, "550 Permission denied.", c.cmd("SITE WHO"), "bob is no administrator")

	c = dialRaw(t, addr)
	reply = c.cmd("USER carol")
	assert.Contains(t, reply, "331 Response to otp-", "carol has no sequence but the site requires one: a made-up challenge")
	assert.Equal(t, "530 Login incorrect.", c.cmd("PASS pw"))

	c = dialRaw(t, addr)
	assert.Equal(t, "331 Anonymous login ok, send your e-mail address as password.", c.cmd("USER anonymous"))
	assert.Equal(t, "230 User anonymous logged in, proceed.", c.cmd("PASS guest@example.com"), "anonymous users need no one-time password")
}

// System accounts from the accounts file: a system group admits the
// accounts of a domain into their own folder; a system user logs in with
// its account's password; accounts added to the file work without a
// reload.
func TestDaemonSystemAccounts(t *testing.T) {
	dir := t.TempDir()
	accounts := filepath.Join(dir, "accounts.toml")
	account := func(email, home string) string {
		return fmt.Sprintf("[[account]]\nemail = %q\npassword = %q\nhome = %q\n\n", email, pw(t), home)
	}
	writeFile(t, accounts, account("john@example.com", "mail/john"))
	td := startConfig(t, dir, testDaemonHeader+fmt.Sprintf(`
[[site]]
name = "main"
home = "home"
address = "127.0.0.1"
port = 0
accounts = "accounts.toml"

[[site.user]]
name = "petersch"
type = "system"
account = "john@example.com"

[[site.group]]
name = "mail"
system = true
restrict_to = "example.com"
home = "$$homedir$$"
`))
	addr := td.addr("127.0.0.1:0")

	c, err := ftpLogin(t, addr, "john@example.com", "pw")
	require.NoError(t, err, "a member of the system group logs in with the account's password")
	require.NoError(t, c.Stor("note.txt", strings.NewReader("from john")))
	got, err := os.ReadFile(filepath.Join(dir, "mail", "john", "note.txt"))
	require.NoError(t, err, "the upload lands in $$homedir$$, made at first login")
	assert.Equal(t, "from john", string(got))

	_, err = ftpLogin(t, addr, "petersch", "pw")
	assert.NoError(t, err, "a system user logs in with its account's password")
	_, err = ftpLogin(t, addr, "john@example.com", "wrong")
	assert.Error(t, err)
	_, err = ftpLogin(t, addr, "jane@example.com", "pw")
	assert.Error(t, err, "jane has no account yet")

	writeFile(t, accounts, account("john@example.com", "mail/john")+account("jane@example.com", "mail/jane"))
	_, err = ftpLogin(t, addr, "jane@example.com", "pw")
	assert.NoError(t, err, "an account added to the file logs in without a reload")
}

// What a reload cannot change is logged as needing a restart.
func TestDaemonReloadNeedsRestart(t *testing.T) {
	dir := t.TempDir()
	conf := func(extra string) string {
		return testDaemonHeader + `
[[site]]
name = "main"
home = "home"
address = "127.0.0.1"
port = 0
` + extra
	}
	td := startConfig(t, dir, conf(""))
	port := freePort(t)
	td.rewrite(t, conf(fmt.Sprintf(`
[site.passive]
ports = "50000-50001"

[[site]]
name = "other"
home = "other"
address = "127.0.0.1"
port = %d
`, port)))
	require.NoError(t, td.reload())
	logs := td.logs.String()
	assert.Contains(t, logs, "new address not served until a restart", "a new address needs a restart")
	assert.Contains(t, logs, "keys=passive.ports", "shared settings of an address need a restart")
	_, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	assert.Error(t, err, "the new address is not listened on")
}

// ferryd -config refuses the flags it replaces.
func TestConfigFlagConflicts(t *testing.T) {
	err := serve(context.Background(), []string{"-config", "x.toml", "-listen", "127.0.0.1:0"}, io.Discard, io.Discard)
	require.Error(t, err)
	assert.Equal(t, "-listen: the configuration file replaces these flags", err.Error())
}

// The synchronisation items of the file run in the daemon's scheduler,
// which a reload replaces only when the items change.
func TestDaemonSyncScheduler(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "src", "a.txt"), "alpha")
	writeFile(t, filepath.Join(dir, "src", "skip.tmp"), "temporary")
	conf := func(every string) string {
		return testDaemonHeader + `
[[site]]
name = "main"
home = "home"
address = "127.0.0.1"
port = 0

[[sync.group]]
name = "nightly"

[[sync.item]]
name = "copy"
mode = "one-way-clone"
log = "logs/copy.txt"
groups = ["nightly"]
ignore = ['\.tmp$']

  [sync.item.source]
  type = "local"
  directory = "src"
  file_check = "a.txt=^alpha$"

  [sync.item.destination]
  type = "local"
  directory = "dst"

  [sync.item.schedule]
  every = "` + every + `"
`
	}
	td := startConfig(t, dir, conf("24h"))
	td.mu.Lock()
	sched := td.sched
	td.mu.Unlock()
	require.NotNil(t, sched, "a scheduler runs the items")
	assert.Equal(t, []string{"copy"}, sched.Items())
	assert.Equal(t, []string{"nightly"}, sched.Groups())

	results, err := sched.RunNow(context.Background(), "nightly")
	require.NoError(t, err)
	require.Len(t, results, 1)
	require.NoError(t, results[0].Err, "the run of the group")
	got, err := os.ReadFile(filepath.Join(dir, "dst", "a.txt"))
	require.NoError(t, err)
	assert.Equal(t, "alpha", string(got), "the item copied the source")
	_, err = os.Stat(filepath.Join(dir, "dst", "skip.tmp"))
	assert.ErrorIs(t, err, os.ErrNotExist, "ignored names are not copied")
	log, err := os.ReadFile(filepath.Join(dir, "logs", "copy.txt"))
	require.NoError(t, err)
	assert.Contains(t, string(log), "summary:", "the item's log file has the run")

	require.NoError(t, td.reload())
	td.mu.Lock()
	assert.Same(t, sched, td.sched, "unchanged items keep their scheduler")
	td.mu.Unlock()
	td.rewrite(t, conf("12h"))
	require.NoError(t, td.reload())
	td.mu.Lock()
	assert.NotSame(t, sched, td.sched, "changed items get a new scheduler")
	td.mu.Unlock()
}

// A site's W3C log receives its sessions' commands; a reload that moves
// it closes the old file with everything written.
func TestDaemonAccessLog(t *testing.T) {
	dir := t.TempDir()
	conf := func(logDir string) string {
		return testDaemonHeader + fmt.Sprintf(`
[[site]]
name = "main"
home = "home"
address = "127.0.0.1"
port = 0

[site.log]
w3c = true
path = '%s/"yyyymmdd".log'

[[site.user]]
name = "alice"
password = %q
`, logDir, pw(t))
	}
	td := startConfig(t, dir, conf("logs"))
	addr := td.addr("127.0.0.1:0")
	c := dialRaw(t, addr)
	c.cmd("USER alice")
	c.cmd("PASS pw")
	c.cmd("QUIT")
	waitFor(t, "the session to end", func() bool { return len(td.byKey["127.0.0.1:0"].srv.Sessions()) == 0 })

	td.rewrite(t, conf("logs2"))
	require.NoError(t, td.reload())
	files, err := filepath.Glob(filepath.Join(dir, "logs", "*.log"))
	require.NoError(t, err)
	require.Len(t, files, 1, "one file per day")
	b, err := os.ReadFile(files[0])
	require.NoError(t, err)
	assert.Contains(t, string(b), "#Fields: ", "the W3C directives")
	assert.Contains(t, string(b), " alice 127.0.0.1 ", "alice's commands")
	assert.Regexp(t, ` alice 127\.0\.0\.1 \d+ QUIT - 221 `, string(b), "every line was written when the writer closed")
	_, err = os.Stat(filepath.Join(dir, "logs2"))
	assert.NoError(t, err, "the new log is open")
}
