package ftp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jftp "github.com/jlaffaye/ftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/acl"
	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftp/ftptest"
	"github.com/ferryftp/ferry/internal/e2etest"
	"github.com/ferryftp/ferry/vfs/memfs"
	"github.com/ferryftp/ferry/vfs/osfs"
)

// recAuthorizer records every question the engine asks, as "dir:rights",
// and answers yes, or no to everything once deny is set.
type recAuthorizer struct {
	mu    sync.Mutex
	calls []string
	deny  bool
}

var _ ftp.Authorizer = (*recAuthorizer)(nil)

func (a *recAuthorizer) Authorize(_ context.Context, dir string, want acl.Right) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls = append(a.calls, dir+":"+want.String())
	if a.deny {
		return acl.ErrDenied
	}
	return nil
}

// Rights serves the MLSD perm fact without showing up in calls.
func (a *recAuthorizer) Rights(string) acl.Right {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.deny {
		return acl.None
	}
	return acl.All
}

func (a *recAuthorizer) start(deny bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls, a.deny = nil, deny
}

func (a *recAuthorizer) setDeny(deny bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.deny = deny
}

func (a *recAuthorizer) recorded() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.calls...)
}

// callSiteTree is the tree the call-site tests run in.
func callSiteTree(t *testing.T) *memfs.FS {
	fsys := memfs.New()
	require.NoError(t, fsys.MkdirAll("dir/sub"))
	require.NoError(t, fsys.MkdirAll("dir/sub2"))
	require.NoError(t, fsys.WriteFile("f.txt", []byte("hello\n"), 0o644))
	require.NoError(t, fsys.WriteFile("dir/f.txt", []byte("hello\nworld\n"), 0o644))
	return fsys
}

// callSiteCases: for each command, the questions the engine must ask the
// Authorizer, in order (docs/accounts.md has the same table). dir is
// relative to the user's root; "" is the root.
var callSiteCases = []struct {
	name string
	cwd  string
	cmds []string // the last one may open a data connection
	data string   // "get", "put" or "" (no data connection)
	want []string
}{
	{"CWD", "", []string{"CWD dir"}, "", []string{"dir:access"}},
	{"XCWD", "", []string{"XCWD /dir/sub"}, "", []string{"dir/sub:access"}},
	{"CWD root", "/dir", []string{"CWD /"}, "", []string{":access"}},
	{"CDUP", "/dir/sub", []string{"CDUP"}, "", []string{"dir:access"}},
	{"XCUP", "/dir/sub", []string{"XCUP"}, "", []string{"dir:access"}},
	{"MKD", "", []string{"MKD dir/new"}, "", []string{"dir:mkdir"}},
	{"XMKD", "/dir", []string{"XMKD new"}, "", []string{"dir:mkdir"}},
	{"RMD", "", []string{"RMD dir/sub"}, "", []string{"dir/sub:rmdir"}},
	{"XRMD", "", []string{"XRMD /dir/sub"}, "", []string{"dir/sub:rmdir"}},
	{"DELE", "", []string{"DELE dir/f.txt"}, "", []string{"dir:delete"}},
	{"RNFR file", "", []string{"RNFR dir/f.txt"}, "", []string{"dir:rename"}},
	{"RNFR dir", "", []string{"RNFR dir/sub"}, "", []string{"dir/sub:rename"}},
	{"RNTO new", "", []string{"RNFR dir/f.txt", "RNTO g.txt"}, "", []string{"dir:rename", ":rename"}},
	{"RNTO over file", "", []string{"RNFR dir/f.txt", "RNTO /f.txt"}, "", []string{"dir:rename", ":rename,delete"}},
	{"RNTO dir", "", []string{"RNFR dir/sub", "RNTO /moved"}, "", []string{"dir/sub:rename", ":rename"}},
	// memfs then refuses to replace a directory; os.Rename replaces an
	// empty one.
	{"RNTO dir over dir", "", []string{"RNFR dir/sub", "RNTO dir/sub2"}, "", []string{"dir/sub:rename", "dir:rename", "dir/sub2:rmdir"}},
	{"SIZE TYPE I", "", []string{"TYPE I", "SIZE dir/f.txt"}, "", []string{"dir:get"}},
	{"SIZE TYPE A", "", []string{"TYPE A", "SIZE dir/f.txt"}, "", []string{"dir:get"}},
	{"MDTM", "", []string{"MDTM dir/f.txt"}, "", []string{"dir:get"}},
	{"HASH", "", []string{"HASH dir/f.txt"}, "", []string{"dir:get"}},
	{"MFMT", "", []string{"MFMT 20200102030405 dir/f.txt"}, "", []string{"dir:put"}},
	{"RETR", "", []string{"RETR dir/f.txt"}, "get", []string{"dir:get"}},
	{"STOR new", "", []string{"STOR dir/new.txt"}, "put", []string{"dir:put"}},
	{"STOR over", "", []string{"STOR dir/f.txt"}, "put", []string{"dir:put,delete"}},
	{"REST STOR", "", []string{"REST 3", "STOR dir/f.txt"}, "put", []string{"dir:put"}},
	{"APPE", "", []string{"APPE dir/f.txt"}, "put", []string{"dir:append"}},
	{"APPE new", "", []string{"APPE dir/new.txt"}, "put", []string{"dir:put,append"}},
	{"STOU", "", []string{"STOU"}, "put", []string{":put"}},
	{"STOU dir", "", []string{"STOU dir"}, "put", []string{"dir:put"}},
	{"LIST", "", []string{"LIST dir"}, "get", []string{"dir:access", "dir:list"}},
	{"LIST cwd", "/dir", []string{"LIST"}, "get", []string{"dir:access", "dir:list"}},
	{"LIST file", "", []string{"LIST dir/f.txt"}, "get", []string{"dir:list"}},
	{"NLST", "", []string{"NLST dir"}, "get", []string{"dir:access", "dir:list"}},
	{"NLST file", "", []string{"NLST dir/f.txt"}, "get", []string{"dir:list"}},
	{"MLSD", "", []string{"MLSD dir"}, "get", []string{"dir:access", "dir:list"}},
	{"STAT dir", "", []string{"STAT dir"}, "", []string{"dir:access", "dir:list"}},
	{"STAT file", "", []string{"STAT dir/f.txt"}, "", []string{"dir:list"}},
	{"MLST dir", "", []string{"MLST dir"}, "", []string{"dir:access"}},
	{"MLST file", "", []string{"MLST dir/f.txt"}, "", []string{"dir:list"}},
	{"MLST cwd", "/dir", []string{"MLST"}, "", []string{"dir:access"}},
}

func callSiteServer(t *testing.T) (*ftptest.Server, *memfs.FS, *recAuthorizer) {
	fsys := callSiteTree(t)
	rec := &recAuthorizer{}
	srv := ftptest.NewServer(t, ftptest.WithFS(fsys), ftptest.WithServer(func(s *ftp.Server) {
		s.Auth = ftp.AuthenticatorFunc(func(context.Context, *ftp.LoginInfo) (*ftp.User, error) {
			return &ftp.User{Name: "u", FS: fsys, Authorizer: rec}, nil
		})
	}))
	return srv, fsys, rec
}

// runCallSite runs one case; with deny, its last command is refused every
// right.
func runCallSite(t *testing.T, srv *ftptest.Server, rec *recAuthorizer, cwd string, cmds []string, data string, deny bool) (code int, text string) {
	c := ftptest.Dial(t, srv.Addr)
	c.Login()
	if cwd != "" {
		code, text := c.Cmd("CWD " + cwd)
		require.Equal(t, ftp.StatusFileActionOK, code, "CWD %s: %s", cwd, text)
	}
	rec.start(false)
	for i, line := range cmds {
		if i < len(cmds)-1 {
			code, text = c.Cmd(line)
			require.Less(t, code, 400, "%s: %d %s", line, code, text)
			continue
		}
		rec.setDeny(deny)
		switch data {
		case "get":
			code, text, _, _ = rawData(t, c, line, nil)
		case "put":
			code, text, _, _ = rawData(t, c, line, []byte("data\n"))
		default:
			code, text = c.Cmd(line)
		}
	}
	c.Cmd("QUIT")
	return code, text
}

// TestAuthorizerCallSites checks that every command that uses a path asks
// the session's Authorizer for the rights of the README's table, in the
// directory the table names.
func TestAuthorizerCallSites(t *testing.T) {
	t.Parallel()
	for _, tc := range callSiteCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, _, rec := callSiteServer(t)
			code, text := runCallSite(t, srv, rec, tc.cwd, tc.cmds, tc.data, false)
			assert.NotEqual(t, "Permission denied.", text, "%s is allowed: %d %s", tc.cmds, code, text)
			if tc.name != "RNTO dir over dir" {
				assert.Less(t, code, 400, "%s succeeds: %d %s", tc.cmds, code, text)
			}
			assert.Equal(t, tc.want, rec.recorded(), "%s asks for these rights", tc.cmds)
		})
	}
}

// TestAuthorizerRefusal: with every right refused, each command gets
// "550 Permission denied." and the tree is unchanged.
func TestAuthorizerRefusal(t *testing.T) {
	t.Parallel()
	for _, tc := range callSiteCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, fsys, rec := callSiteServer(t)
			before := memSnapshot(t, fsys)
			code, text := runCallSite(t, srv, rec, tc.cwd, tc.cmds, tc.data, true)
			assert.Equal(t, ftp.StatusFileUnavailable, code, "%s is refused: %s", tc.cmds, text)
			assert.Equal(t, "Permission denied.", text, "%s: the refusal names no rule", tc.cmds)
			assert.Equal(t, before, memSnapshot(t, fsys), "%s changed nothing", tc.cmds)
		})
	}
}

// memSnapshot lists every name of fsys with its size and content.
func memSnapshot(t *testing.T, fsys *memfs.FS) []string {
	t.Helper()
	var out []string
	var walk func(dir string)
	walk = func(dir string) {
		dr, err := fsys.ReadDir(context.Background(), dir)
		require.NoError(t, err)
		entries, _ := dr.ReadDir(-1)
		dr.Close()
		for _, e := range entries {
			name := e.Name()
			if dir != "." {
				name = dir + "/" + name
			}
			fi, err := e.Info()
			require.NoError(t, err)
			if e.IsDir() {
				out = append(out, name+"/")
				walk(name)
				continue
			}
			f, err := fsys.Open(context.Background(), name)
			require.NoError(t, err)
			b := make([]byte, fi.Size())
			n, _ := f.Read(b)
			f.Close()
			out = append(out, fmt.Sprintf("%s %d %q %s", name, fi.Size(), b[:n], fi.ModTime().UTC()))
		}
	}
	walk(".")
	sort.Strings(out)
	return out
}

// countingAuth logs users into an acl site and counts the calls of each
// session's Release, announcing each on released.
type countingAuth struct {
	sa       *ftp.SiteAuthenticator
	logins   atomic.Int32
	releases atomic.Int32
	released chan struct{}
}

func newCountingAuth(site *acl.Site) *countingAuth {
	return &countingAuth{sa: ftp.NewSiteAuthenticator(site), released: make(chan struct{}, 100)}
}

func (a *countingAuth) Login(ctx context.Context, li *ftp.LoginInfo) (*ftp.User, error) {
	u, err := a.sa.Login(ctx, li)
	if err != nil {
		return nil, err
	}
	a.logins.Add(1)
	release := u.Release
	u.Release = func() {
		release()
		a.releases.Add(1)
		a.released <- struct{}{}
	}
	return u, nil
}

// countingOption replaces the fixture's SiteAuthenticator with a
// countingAuth over the same site, stored in *auth.
func countingOption(auth **countingAuth) ftptest.Option {
	return ftptest.WithServer(func(s *ftp.Server) {
		*auth = newCountingAuth(s.Auth.(*ftp.SiteAuthenticator).Site())
		s.Auth = *auth
	})
}

func (a *countingAuth) waitRelease(t *testing.T, what string) {
	t.Helper()
	select {
	case <-a.released:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: Release was not called", what)
	}
}

// TestUserReleaseOnce: User.Release is called once when a session ends,
// however it ends.
func TestUserReleaseOnce(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		end  func(t *testing.T, srv *ftptest.Server, c *ftptest.Conn)
	}{
		{"QUIT", func(t *testing.T, _ *ftptest.Server, c *ftptest.Conn) {
			code, _ := c.Cmd("QUIT")
			assert.Equal(t, ftp.StatusClosing, code)
		}},
		{"REIN", func(t *testing.T, _ *ftptest.Server, c *ftptest.Conn) {
			code, _ := c.Cmd("REIN")
			assert.Equal(t, ftp.StatusServiceReady, code)
		}},
		{"Disconnect", func(t *testing.T, _ *ftptest.Server, c *ftptest.Conn) {
			c.NetConn().Close()
		}},
		{"Shutdown", func(t *testing.T, srv *ftptest.Server, c *ftptest.Conn) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			assert.NoError(t, srv.Shutdown(ctx))
		}},
		{"Close", func(t *testing.T, srv *ftptest.Server, c *ftptest.Conn) {
			srv.Close()
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var auth *countingAuth
			f := newACLFixture(t, countingOption(&auth))
			f.staffHome(t, "alice")
			c := rawLogin(t, f.srv.Addr, "alice", alicePass)
			c.Cmd("TYPE I")
			code, _, data, _ := rawData(t, c, "RETR f.txt", nil)
			require.Equal(t, ftp.StatusFileStatusOK, code)
			require.Equal(t, "hello\n", string(data))
			tc.end(t, f.srv, c)
			auth.waitRelease(t, tc.name)
			if tc.name == "REIN" {
				// The session goes on: log in again, and end it.
				code, text := c.Cmd("USER alice")
				require.Equal(t, ftp.StatusNeedPassword, code, text)
				code, text = c.Cmd("PASS " + alicePass)
				require.Equal(t, ftp.StatusLoggedIn, code, text)
				c.Cmd("QUIT")
				auth.waitRelease(t, "QUIT after REIN")
			}
			// Once the server is gone no session is left to release.
			f.srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			f.srv.Shutdown(ctx)
			assert.Equal(t, auth.logins.Load(), auth.releases.Load(), "one Release per login")
		})
	}
}

// TestReleaseClosesRootHandles: the os.Root handles a login opens (home,
// aliases) are closed when the session ends, however it ends. It counts
// this process's open descriptors, so it does not run in parallel.
func TestReleaseClosesRootHandles(t *testing.T) {
	if e2etest.OpenFDs() < 0 {
		t.Skip("/proc/self/fd is not available")
	}
	// No garbage collection meanwhile: an os.Root closes its descriptor
	// when it is collected, which would hide a missing Release.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	var auth *countingAuth
	f := newACLFixture(t, countingOption(&auth))
	f.staffHome(t, "alice")
	login := func() *ftptest.Conn { return rawLogin(t, f.srv.Addr, "alice", alicePass) }
	// One session first, so that what the server keeps for good is in
	// the baseline.
	c := login()
	c.Cmd("QUIT")
	c.NetConn().Close()
	auth.waitRelease(t, "first session")
	base := e2etest.OpenFDs()

	// Ten sessions at once: each holds its two ends of the control
	// connection and four roots (home, /shared, /docs/manual, notices/).
	var open []*ftptest.Conn
	for range 10 {
		open = append(open, login())
	}
	assert.GreaterOrEqual(t, e2etest.OpenFDs()-base, 10*6, "each session holds six descriptors")
	// A session ends by QUIT, by REIN then a close, or by a close alone.
	end := func(i int, c *ftptest.Conn, what string) {
		switch i % 3 {
		case 0:
			c.Cmd("QUIT")
		case 1:
			c.Cmd("REIN")
		}
		c.NetConn().Close()
		auth.waitRelease(t, what)
	}
	for i, c := range open {
		end(i, c, "concurrent session")
	}
	// Many more, one after the other, ending every way.
	for i := range 60 {
		end(i, login(), "session")
	}
	assert.EqualValues(t, 71, auth.releases.Load(), "one Release per session")
	// The server closes its end of a connection before Release; what
	// is left to wait for is the client's end, closed above.
	ok := e2etest.Eventually(10*time.Second, func() bool { return e2etest.OpenFDs() <= base })
	assert.True(t, ok, "descriptors back to %d after 70 sessions, have %d:\n%s", base, e2etest.OpenFDs(), e2etest.DescribeFDs())
}

// TestSiteAuthenticatorSetSite: a new site applies to new logins; sessions
// already logged in keep theirs.
func TestSiteAuthenticatorSetSite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	site := func(user, pass string) *acl.Site {
		h, err := acl.HashPasswordIter(pass, 1000)
		require.NoError(t, err)
		s, err := acl.NewSite(acl.SiteConfig{Home: dir, Users: []acl.User{{Name: user, Password: h}}})
		require.NoError(t, err)
		return s
	}
	first, second := site("old", "old-pw"), site("new", "new-pw")
	sa := ftp.NewSiteAuthenticator(first)
	srv := ftptest.NewServer(t, ftptest.WithServer(func(s *ftp.Server) { s.Auth = sa }))
	old := rawLogin(t, srv.Addr, "old", "old-pw")
	sa.SetSite(second)
	assert.Same(t, second, sa.Site())

	c := ftptest.Dial(t, srv.Addr)
	c.Cmd("USER old")
	code, _ := c.Cmd("PASS old-pw")
	assert.Equal(t, ftp.StatusNotLoggedIn, code, "the old site's user is gone for new logins")
	rawLogin(t, srv.Addr, "new", "new-pw")
	code, text := old.Cmd("MKD kept")
	assert.Equal(t, ftp.StatusPathCreated, code, "the logged-in session goes on: %s", text)

	var nilSite ftp.SiteAuthenticator
	_, err := nilSite.Login(context.Background(), &ftp.LoginInfo{User: "x"})
	assert.Error(t, err, "a SiteAuthenticator without a site refuses every login")
}

// TestSessionUser: the home and every alias are opened, the policy is the
// Authorizer, Release closes them; a missing alias target refuses the login.
func TestSessionUser(t *testing.T) {
	t.Parallel()
	home, target := t.TempDir(), t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(target, "a.txt"), []byte("a"), 0o644))
	pol := acl.MustPolicy([]acl.Permission{{Path: "*", Rights: acl.ReadOnly, Recursive: true}})
	sess := &acl.Session{User: "u", Home: home, Policy: pol, Mounts: []acl.Mount{{Path: "/pub/docs", Dir: target}}}
	u, err := ftp.SessionUser(sess)
	require.NoError(t, err)
	assert.Equal(t, "u", u.Name)
	assert.Same(t, sess, u.Session)
	assert.Equal(t, ftp.Authorizer(pol), u.Authorizer)
	ctx := context.Background()
	fi, err := u.FS.Stat(ctx, "pub/docs/a.txt")
	require.NoError(t, err, "the alias is mounted")
	assert.EqualValues(t, 1, fi.Size())
	fi, err = u.FS.Stat(ctx, "pub")
	require.NoError(t, err, "a directory on the way to a mount exists")
	assert.True(t, fi.IsDir())
	u.Release()
	_, err = u.FS.Stat(ctx, "pub/docs/a.txt")
	assert.Error(t, err, "Release closed the alias")
	_, err = u.FS.Stat(ctx, ".")
	assert.Error(t, err, "Release closed the home")

	sess.Mounts = append(sess.Mounts, acl.Mount{Path: "/gone", Dir: filepath.Join(target, "missing")})
	_, err = ftp.SessionUser(sess)
	assert.ErrorIs(t, err, fs.ErrNotExist, "a missing alias target refuses the login")

	_, err = ftp.SessionUser(&acl.Session{User: "u", Home: filepath.Join(home, "nope")})
	assert.Error(t, err, "a missing home")

	// Without mounts the home is the FS itself.
	u, err = ftp.SessionUser(&acl.Session{User: "u", Home: home})
	require.NoError(t, err)
	assert.IsType(t, (*osfs.FS)(nil), u.FS, "without aliases the home is served as it is")
	u.Release()
}

// The site of the tests of accounts (here and in e2e_acl_test.go) is
// served through ftp.NewSiteAuthenticator over a temporary host directory
// laid out as follows:
//
//	site/                 the site home
//	site/staff/<user>/    homes of the "staff" group (staff/$$username$$)
//	site/pub/             the anonymous user's home
//	site/manual/          the site-wide alias /docs/manual (relative target)
//	shared/               the site-wide alias /shared, outside the site home
//	notices/              the staff's private alias notices/, read-only
//	domains/<domain>/     the "mail" group's private alias domain/ ($$domain$$)
//	mail/<domain>/<name>/ system accounts' folders ($$homedir$$)
//	mail/guests/          the home of the "guests" system group
//	outside/secret.txt    what no session may ever read or change
const (
	alicePass = "alice-pw"
	bobPass   = "bob-pw"
	carolPass = "carol-pw"
)

// aclFixture is a site over a temporary directory and a server serving it.
type aclFixture struct {
	base    string // everything below
	home    string // the site home
	outside string // reachable by no alias
	shared  string // the site-wide alias /shared
	notices string // the staff's private alias notices/
	mail    string // system accounts' folders
	secret  []byte // content of outside/secret.txt

	site *acl.Site
	srv  *ftptest.Server
	// accounts are the hosting application's accounts, by name.
	accounts map[string]systemAccount
}

type systemAccount struct {
	password string
	acct     acl.SystemAccount
}

// staffRights are the staff group's entries: everything in the home and
// below, each "noX/" directory without one right, pub/ read-only, and the
// private alias notices/, read-only.
func staffRights(notices string) []acl.Permission {
	all := func(p string, without acl.Right) acl.Permission {
		return acl.Permission{Path: p, Rights: acl.All &^ without, Recursive: true}
	}
	return []acl.Permission{
		all("/", acl.None),
		{Path: "pub/", Rights: acl.ReadOnly, Recursive: true},
		all("noget/", acl.Get),
		all("noaccess/", acl.Access),
		all("noaccess/inner/", acl.None),
		all("nolist/", acl.List),
		all("noput/", acl.Put),
		all("norename/", acl.Rename),
		all("noappend/", acl.Append),
		all("nomkdir/", acl.Mkdir),
		all("nodelete/", acl.Delete),
		all("normdir/", acl.Rmdir),
		{Path: "notices/", FullPath: notices, Rights: acl.ReadOnly, Recursive: true},
	}
}

// newACLFixture builds the site and starts a server for it; setup may
// change the server (ConnFilter) before it serves.
func newACLFixture(t testing.TB, opts ...ftptest.Option) *aclFixture {
	t.Helper()
	base := t.TempDir()
	f := &aclFixture{
		base:    base,
		home:    filepath.Join(base, "site"),
		outside: filepath.Join(base, "outside"),
		shared:  filepath.Join(base, "shared"),
		notices: filepath.Join(base, "notices"),
		mail:    filepath.Join(base, "mail"),
		secret:  []byte("TOP SECRET " + filepath.Base(base) + "\n"),
	}
	for _, d := range []string{f.home, filepath.Join(f.home, "manual"), f.outside, f.shared, f.notices,
		filepath.Join(f.mail, "guests"), filepath.Join(base, "domains", "example.com"), filepath.Join(base, "domains", "other.org")} {
		require.NoError(t, os.MkdirAll(d, 0o755))
	}
	files := map[string]string{
		filepath.Join(f.outside, "secret.txt"):                      string(f.secret),
		filepath.Join(f.shared, "readme.txt"):                       "shared readme\n",
		filepath.Join(f.notices, "notice.txt"):                      "read me first\n",
		filepath.Join(f.home, "manual", "index.txt"):                "manual\n",
		filepath.Join(f.mail, "guests", "guests.txt"):               "guests\n",
		filepath.Join(base, "domains", "example.com", "policy.txt"): "example.com policy\n",
	}
	for name, data := range files {
		require.NoError(t, os.WriteFile(name, []byte(data), 0o644))
	}
	f.accounts = map[string]systemAccount{}
	for _, a := range []struct{ name, domain string }{
		{"carol@example.com", "example.com"}, {"erin@example.com", "example.com"},
		{"frank@other.org", "other.org"}, {"dave@other.org", "other.org"}, {"zed@nowhere.net", "nowhere.net"},
	} {
		local, _, _ := strings.Cut(a.name, "@")
		f.accounts[a.name] = systemAccount{password: local + "-pw", acct: acl.SystemAccount{
			Name: a.name, Email: a.name, Domain: a.domain, Home: filepath.Join(f.mail, a.domain, local),
		}}
	}

	// A low work factor keeps the tests fast; the format is the one
	// acl.HashPassword writes.
	hash := func(pw string) string {
		h, err := acl.HashPasswordIter(pw, 1000)
		require.NoError(t, err)
		return h
	}
	site, err := acl.NewSite(acl.SiteConfig{
		Home: f.home,
		Groups: []acl.Group{
			{Name: "staff", Home: "staff/$$username$$", Permissions: staffRights(f.notices)},
			{
				// The home itself is writable, its subdirectories are
				// read-only ("*") except outbox/ and below.
				Name: "mail", System: true, RestrictTo: "example.com; frank@other.org", Home: "$$homedir$$",
				Permissions: []acl.Permission{
					{Path: "*", Rights: acl.ReadOnly},
					{Path: "/", Rights: acl.All},
					{Path: "outbox/", Rights: acl.All, Recursive: true},
					{Path: "domain/", FullPath: filepath.Join(base, "domains", "$$domain$$"), Rights: acl.ReadOnly, Recursive: true},
				},
			},
			// After "mail": frank@other.org matches both and gets "mail".
			{Name: "guests", System: true, RestrictTo: "other.org", Home: filepath.Join(f.mail, "guests")},
		},
		Users: []acl.User{
			{
				Name: "alice", DisplayName: "Alice", Password: hash(alicePass), Group: "staff",
				// Overrides the group's read-only pub/.
				Permissions: []acl.Permission{{Path: "pub/", Rights: acl.All, Recursive: true}},
			},
			{Name: "bob", Password: hash(bobPass), Group: "staff"},
			// A name that would climb out of staff/ through $$username$$.
			{Name: "../../escape", Password: hash(alicePass), Group: "staff"},
			{Name: "anonymous", Type: acl.Anonymous, Home: "pub"},
			{Name: "erin", Type: acl.System, Account: "erin@example.com", Group: "mail"},
		},
		Aliases: []acl.Alias{
			{Path: "/shared", Target: f.shared},
			{Path: "/docs/manual", Target: "manual"},
		},
		System: acl.SystemAccountsFunc(f.systemLogin),
	})
	require.NoError(t, err, "the site configuration is valid")
	f.site = site
	opts = append([]ftptest.Option{ftptest.WithServer(func(s *ftp.Server) {
		s.Auth = ftp.NewSiteAuthenticator(site)
	})}, opts...)
	f.srv = ftptest.NewServer(t, opts...)
	return f
}

func (f *aclFixture) systemLogin(_ context.Context, name, password string) (*acl.SystemAccount, error) {
	a, ok := f.accounts[strings.ToLower(name)]
	if !ok || a.password != password {
		return nil, errors.New("no such account or wrong password")
	}
	acct := a.acct
	return &acct, nil
}

// staffHome creates the home of a staff member with a file in every
// directory of staffRights, as an administrator would.
func (f *aclFixture) staffHome(t testing.TB, user string) string {
	t.Helper()
	home := filepath.Join(f.home, "staff", user)
	for _, d := range []string{"pub", "noget", "noaccess/inner", "nolist", "noput", "norename/sub",
		"noappend", "nomkdir", "nodelete", "normdir/sub"} {
		require.NoError(t, os.MkdirAll(filepath.Join(home, d), 0o755))
		top, _, _ := strings.Cut(d, "/")
		require.NoError(t, os.WriteFile(filepath.Join(home, top, "f.txt"), []byte("hello\n"), 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(home, "f.txt"), []byte("hello\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(home, "pub", "readme.txt"), []byte("pub readme\n"), 0o644))
	return home
}

// tap records what the server sent: control replies and data.
type tap struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *tap) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *tap) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// tapConn copies what it reads to a tap.
type tapConn struct {
	net.Conn
	tap *tap
}

func (c tapConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.tap.Write(p[:n])
	return n, err
}

// aclDial logs in with the jlaffaye client; rec, when set, records every
// byte the server sends on the control and data connections.
func aclDial(t testing.TB, addr, user, pass string, rec *tap) *jftp.ServerConn {
	t.Helper()
	c, err := aclDialErr(addr, user, pass, rec)
	require.NoError(t, err, "login as %q", user)
	t.Cleanup(func() { c.Quit() })
	return c
}

func aclDialErr(addr, user, pass string, rec *tap) (*jftp.ServerConn, error) {
	dial := func(network, address string) (net.Conn, error) {
		nc, err := net.DialTimeout(network, address, 5*time.Second)
		if err != nil {
			return nil, err
		}
		nc.SetDeadline(time.Now().Add(time.Minute)) // a hang fails, never blocks
		if rec != nil {
			return tapConn{nc, rec}, nil
		}
		return nc, nil
	}
	c, err := jftp.Dial(addr, jftp.DialWithDialFunc(dial))
	if err != nil {
		return nil, err
	}
	if err := c.Login(user, pass); err != nil {
		c.Quit()
		return nil, err
	}
	return c, nil
}

// assertDenied checks that err is the reply to a refused right.
func assertDenied(t *testing.T, err error, what string) bool {
	t.Helper()
	var te *textproto.Error
	if !assert.ErrorAs(t, err, &te, "%s: want 550 Permission denied.", what) {
		return false
	}
	return assert.Equal(t, ftp.StatusFileUnavailable, te.Code, "%s: reply code", what) &&
		assert.Equal(t, "Permission denied.", te.Msg, "%s: reply text", what)
}

// assertReplyCode checks the code of a refused command's reply.
func assertReplyCode(t *testing.T, err error, code int, what string) bool {
	t.Helper()
	var te *textproto.Error
	if !assert.ErrorAs(t, err, &te, "%s: want a %d reply", what, code) {
		return false
	}
	return assert.Equal(t, code, te.Code, "%s: reply code (%s)", what, te.Msg)
}

func aclRetr(t *testing.T, c *jftp.ServerConn, name string) ([]byte, error) {
	t.Helper()
	r, err := c.Retr(name)
	if err != nil {
		return nil, err
	}
	b, rerr := io.ReadAll(r)
	return b, errors.Join(rerr, r.Close())
}

func aclStor(c *jftp.ServerConn, name, data string) error {
	return c.Stor(name, strings.NewReader(data))
}

// names lists a directory with the client (MLSD), "." and ".." left out.
func names(t *testing.T, c *jftp.ServerConn, dir string) []string {
	t.Helper()
	entries, err := c.List(dir)
	require.NoError(t, err, "list %s", dir)
	var out []string
	for _, e := range entries {
		if e.Name != "." && e.Name != ".." {
			out = append(out, e.Name)
		}
	}
	slices.Sort(out)
	return out
}

func readHost(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return "<missing>"
	}
	require.NoError(t, err)
	return string(b)
}

func existsHost(name string) bool {
	_, err := os.Lstat(name)
	return err == nil
}

// rawLogin opens a raw control connection and logs in.
func rawLogin(t *testing.T, addr, user, pass string) *ftptest.Conn {
	t.Helper()
	c := ftptest.Dial(t, addr)
	code, text := c.Cmd("USER " + user)
	require.Equal(t, ftp.StatusNeedPassword, code, "USER %s: %s", user, text)
	code, text = c.Cmd("PASS " + pass)
	require.Equal(t, ftp.StatusLoggedIn, code, "PASS for %s: %s", user, text)
	return c
}

// rawDenied sends line and checks the refusal.
func rawDenied(t *testing.T, c *ftptest.Conn, line string) {
	t.Helper()
	code, text := c.Cmd(line)
	assert.Equal(t, ftp.StatusFileUnavailable, code, "%s: want 550 (%s)", line, text)
	assert.Equal(t, "Permission denied.", text, "%s: reply text", line)
}

// rawData runs a command that opens a data connection (EPSV first). It
// returns the first reply and, when the transfer ran, the data read and
// the final reply. send, when set, is written as the upload.
func rawData(t *testing.T, c *ftptest.Conn, line string, send []byte) (code int, text string, data []byte, final int) {
	t.Helper()
	dc := c.Passive()
	defer dc.Close()
	code, text = c.Cmd(line)
	if code != ftp.StatusFileStatusOK && code != ftp.StatusDataConnectionOpen {
		return code, text, nil, 0
	}
	dc.SetDeadline(time.Now().Add(10 * time.Second))
	if send != nil {
		_, err := dc.Write(send)
		require.NoError(t, err, "%s: upload", line)
		dc.Close()
	} else {
		var err error
		data, err = io.ReadAll(dc)
		require.NoError(t, err, "%s: data", line)
	}
	final, ftext := c.Read()
	assert.Equal(t, ftp.StatusClosingDataConnection, final, "%s: end of transfer (%s)", line, ftext)
	return code, text, data, final
}
