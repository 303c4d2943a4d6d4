package ftp_test

import (
	"bufio"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/acl"
	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftp/ftptest"
	"github.com/ferryftp/ferry/internal/e2etest"
)

// The end-to-end tests of accounts, path permissions, aliases and IP access
// drive the site of newACLFixture (site_test.go) with real clients: the
// github.com/jlaffaye/ftp library, curl, Python's ftplib, and raw control
// lines where a client has no command for the verb.

// TestACLLoginAndHomes: local, anonymous and system accounts log in, homes
// with path variables are created at first login, and every kind of bad
// login gets 530.
func TestACLLoginAndHomes(t *testing.T) {
	t.Parallel()
	f := newACLFixture(t)
	addr := f.srv.Addr

	aliceHome := filepath.Join(f.home, "staff", "alice")
	require.False(t, existsHost(aliceHome), "alice's home does not exist before her first login")
	c := aclDial(t, addr, "alice", alicePass, nil)
	assert.DirExists(t, aliceHome, "staff/$$username$$ is created at alice's first login")
	dir, err := c.CurrentDir()
	require.NoError(t, err)
	assert.Equal(t, "/", dir, "the home is the session's root")
	require.NoError(t, aclStor(c, "/hello.txt", "hi"), "alice writes in her home")
	assert.Equal(t, "hi", readHost(t, filepath.Join(aliceHome, "hello.txt")), "the file lands in staff/alice")

	// Names are case-insensitive; the password is not.
	aclDial(t, addr, "ALICE", alicePass, nil)
	_, err = aclDialErr(addr, "alice", strings.ToUpper(alicePass), nil)
	assertReplyCode(t, err, ftp.StatusNotLoggedIn, "wrong password")
	_, err = aclDialErr(addr, "nobody", "whatever", nil)
	assertReplyCode(t, err, ftp.StatusNotLoggedIn, "unknown user")

	// A user name that would climb out of staff/ through $$username$$
	// is refused, and nothing is created.
	_, err = aclDialErr(addr, "../../escape", alicePass, nil)
	assertReplyCode(t, err, ftp.StatusNotLoggedIn, "user name with path elements")
	assert.NoDirExists(t, filepath.Join(f.base, "escape"), "no home outside the site")
	assert.NoDirExists(t, filepath.Join(f.home, "escape"), "no home from the user name")

	// The anonymous user: any password, home created at first login,
	// read-only by default.
	pub := filepath.Join(f.home, "pub")
	require.False(t, existsHost(pub))
	a := aclDial(t, addr, "anonymous", "guest@example.org", nil)
	assert.DirExists(t, pub, "the anonymous home is created at first login")
	require.NoError(t, os.WriteFile(filepath.Join(pub, "welcome.txt"), []byte("welcome\n"), 0o644))
	got, err := aclRetr(t, a, "/welcome.txt")
	require.NoError(t, err, "anonymous may download")
	assert.Equal(t, "welcome\n", string(got))
	assertDenied(t, aclStor(a, "/up.txt", "x"), "anonymous STOR")
	assertDenied(t, a.MakeDir("/d"), "anonymous MKD")
	assertDenied(t, a.Delete("/welcome.txt"), "anonymous DELE")
	assertDenied(t, a.Rename("/welcome.txt", "/w.txt"), "anonymous RNFR")
	assertDenied(t, a.Append("/welcome.txt", strings.NewReader("x")), "anonymous APPE")
	assertDenied(t, a.SetTime("/welcome.txt", time.Unix(0, 0)), "anonymous MFMT")
	assert.NotContains(t, names(t, a, "/"), "notices", "a private alias is not the anonymous user's")
	assert.Contains(t, names(t, a, "/"), "shared", "a site-wide alias is everybody's")
	assertDenied(t, aclStor(a, "/shared/up.txt", "x"), "anonymous STOR in a site-wide alias")
	aclDial(t, addr, "ftp", "", nil) // the other anonymous name

	// System accounts through the "mail" group: $$homedir$$ is created
	// at first login.
	carolHome := filepath.Join(f.mail, "example.com", "carol")
	require.False(t, existsHost(carolHome))
	carol := aclDial(t, addr, "carol@example.com", carolPass, nil)
	assert.DirExists(t, carolHome, "$$homedir$$ is created at first login")
	require.NoError(t, aclStor(carol, "/c.txt", "c"))
	assert.Equal(t, "c", readHost(t, filepath.Join(carolHome, "c.txt")))
	_, err = aclDialErr(addr, "carol@example.com", "wrong", nil)
	assertReplyCode(t, err, ftp.StatusNotLoggedIn, "system account, wrong password")
	// A system user of its own (erin), mapped to an account.
	erin := aclDial(t, addr, "erin", "erin-pw", nil)
	require.NoError(t, aclStor(erin, "/e.txt", "e"))
	assert.Equal(t, "e", readHost(t, filepath.Join(f.mail, "example.com", "erin", "e.txt")))
	// Group order: frank@other.org is in "mail" by name, before "guests".
	frank := aclDial(t, addr, "frank@other.org", "frank-pw", nil)
	assert.Contains(t, names(t, frank, "/"), "domain", "frank is in the mail group")
	assert.DirExists(t, filepath.Join(f.mail, "other.org", "frank"))
	// dave@other.org is only admitted by "guests".
	dave := aclDial(t, addr, "dave@other.org", "dave-pw", nil)
	assert.Equal(t, []string{"docs", "guests.txt", "shared"}, names(t, dave, "/"), "dave lands in the guests' home")
	// A group without entries gives its accounts every right in the home
	// (anonymous users, read-only).
	require.NoError(t, aclStor(dave, "/dave.txt", "d"), "no entries at all: every right")
	assert.Equal(t, "d", readHost(t, filepath.Join(f.mail, "guests", "dave.txt")))
	// zed@nowhere.net is a valid account that no group admits.
	_, err = aclDialErr(addr, "zed@nowhere.net", "zed-pw", nil)
	assertReplyCode(t, err, ftp.StatusNotLoggedIn, "system account no group admits")
	assert.NoDirExists(t, filepath.Join(f.mail, "nowhere.net"), "a refused login creates nothing")
}

// TestACLRights shows each of the nine rights granted and refused, through
// every command that needs it (see docs/accounts.md for the table).
func TestACLRights(t *testing.T) {
	t.Parallel()
	f := newACLFixture(t)
	home := f.staffHome(t, "alice")
	host := func(name string) string { return filepath.Join(home, filepath.FromSlash(name)) }
	c := aclDial(t, f.srv.Addr, "alice", alicePass, nil)
	raw := rawLogin(t, f.srv.Addr, "alice", alicePass)

	t.Run("Get", func(t *testing.T) {
		got, err := aclRetr(t, c, "/f.txt")
		require.NoError(t, err, "RETR in the home")
		assert.Equal(t, "hello\n", string(got))
		size, err := c.FileSize("/f.txt")
		assert.NoError(t, err, "SIZE in the home")
		assert.EqualValues(t, 6, size)
		_, err = c.GetTime("/f.txt")
		assert.NoError(t, err, "MDTM in the home")
		code, text := raw.Cmd("HASH /f.txt")
		assert.Equal(t, ftp.StatusFile, code, "HASH in the home: %s", text)

		_, err = aclRetr(t, c, "/noget/f.txt")
		assertDenied(t, err, "RETR without Get")
		_, err = c.FileSize("/noget/f.txt")
		assertDenied(t, err, "SIZE without Get")
		_, err = c.GetTime("/noget/f.txt")
		assertDenied(t, err, "MDTM without Get")
		rawDenied(t, raw, "HASH /noget/f.txt")
		raw.Cmd("TYPE A")
		rawDenied(t, raw, "SIZE /noget/f.txt") // SIZE in TYPE A reads the file
		raw.Cmd("TYPE I")
	})

	t.Run("Access", func(t *testing.T) {
		require.NoError(t, c.ChangeDir("/noget"), "CWD where Access is granted")
		require.NoError(t, c.ChangeDir("/"))

		assertDenied(t, c.ChangeDir("/noaccess"), "CWD without Access")
		_, err := c.List("/noaccess")
		assertDenied(t, err, "MLSD without Access")
		_, err = c.NameList("/noaccess")
		assertDenied(t, err, "NLST without Access")
		_, err = c.GetEntry("/noaccess")
		assertDenied(t, err, "MLST without Access")
		rawDenied(t, raw, "STAT /noaccess")
		code, _, _, _ := rawData(t, raw, "LIST /noaccess", nil)
		assert.Equal(t, ftp.StatusFileUnavailable, code, "LIST without Access")

		// noaccess/inner/ has its own entry: reachable, but its parent
		// is not, so CDUP from it is refused.
		require.NoError(t, c.ChangeDir("/noaccess/inner"), "CWD into a directory with its own entry")
		assertDenied(t, c.ChangeDirToParent(), "CDUP into a directory without Access")
		dir, err := c.CurrentDir()
		require.NoError(t, err)
		assert.Equal(t, "/noaccess/inner", dir, "a refused CDUP leaves the directory as it was")
		require.NoError(t, c.ChangeDir("/"))
		code, _ = raw.Cmd("CWD /noaccess/inner")
		require.Equal(t, ftp.StatusFileActionOK, code)
		rawDenied(t, raw, "XCUP")
		rawDenied(t, raw, "CDUP")
		raw.Cmd("CWD /")
	})

	t.Run("List", func(t *testing.T) {
		assert.Contains(t, names(t, c, "/"), "f.txt", "the home lists")

		// Access without List: the directory can be entered and lists
		// as empty, with every listing command.
		require.NoError(t, c.ChangeDir("/nolist"), "CWD with Access and without List")
		require.NoError(t, c.ChangeDir("/"))
		assert.Empty(t, names(t, c, "/nolist"), "MLSD without List is empty")
		nl, err := c.NameList("/nolist")
		assert.NoError(t, err, "NLST without List succeeds")
		assert.Empty(t, nl, "NLST without List is empty")
		code, _, data, _ := rawData(t, raw, "LIST /nolist", nil)
		assert.Equal(t, ftp.StatusFileStatusOK, code, "LIST without List succeeds")
		assert.Empty(t, data, "LIST without List is empty")
		code, text := raw.Cmd("STAT /nolist")
		assert.Equal(t, ftp.StatusDirectory, code)
		assert.Equal(t, "Status of /nolist:\nEnd of status.", text, "STAT without List is empty")
		// A file there cannot be listed, nor its facts read...
		_, err = c.GetEntry("/nolist/f.txt")
		assertDenied(t, err, "MLST of a file without List")
		rawDenied(t, raw, "STAT /nolist/f.txt")
		code, _, _, _ = rawData(t, raw, "LIST /nolist/f.txt", nil)
		assert.Equal(t, ftp.StatusFileUnavailable, code, "LIST of a file without List")
		// ...but Get still downloads it.
		_, err = aclRetr(t, c, "/nolist/f.txt")
		assert.NoError(t, err, "RETR needs Get only")
	})

	t.Run("Put", func(t *testing.T) {
		require.NoError(t, aclStor(c, "/new.txt", "new"), "STOR in the home")
		assert.Equal(t, "new", readHost(t, host("new.txt")))
		require.NoError(t, c.SetTime("/new.txt", time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)), "MFMT in the home")
		code, _, _, _ := rawData(t, raw, "STOU", []byte("unique"))
		assert.Equal(t, ftp.StatusFileStatusOK, code, "STOU in the home")

		assertDenied(t, aclStor(c, "/noput/new.txt", "x"), "STOR without Put")
		assert.NoFileExists(t, host("noput/new.txt"), "a refused STOR creates nothing")
		assertDenied(t, c.Append("/noput/new.txt", strings.NewReader("x")), "APPE creating a file without Put")
		assert.NoFileExists(t, host("noput/new.txt"))
		assertDenied(t, c.SetTime("/noput/f.txt", time.Unix(0, 0)), "MFMT without Put")
		code, text, _, _ := rawData(t, raw, "STOU noput", []byte("x"))
		assert.Equal(t, ftp.StatusFileUnavailable, code, "STOU without Put: %s", text)
		assert.Equal(t, "Permission denied.", text)
		// Appending to an existing file needs Append only.
		require.NoError(t, c.Append("/noput/f.txt", strings.NewReader("more\n")), "APPE to an existing file")
		assert.Equal(t, "hello\nmore\n", readHost(t, host("noput/f.txt")))
	})

	t.Run("Rename", func(t *testing.T) {
		require.NoError(t, aclStor(c, "/r1.txt", "r"))
		require.NoError(t, c.Rename("/r1.txt", "/r2.txt"), "RNFR and RNTO in the home")
		assert.Equal(t, "r", readHost(t, host("r2.txt")))
		require.NoError(t, c.MakeDir("/rdir"))
		require.NoError(t, c.Rename("/rdir", "/rdir2"), "rename a directory")

		assertDenied(t, c.Rename("/norename/f.txt", "/norename/g.txt"), "RNFR of a file without Rename in its directory")
		assertDenied(t, c.Rename("/r2.txt", "/norename/r2.txt"), "RNTO into a directory without Rename")
		assertDenied(t, c.Rename("/norename", "/renamed"), "RNFR of a directory without Rename in itself")
		assertDenied(t, c.Rename("/norename/sub", "/renamed"), "RNFR of a subdirectory that inherits the entry")
		assert.FileExists(t, host("r2.txt"), "a refused RNTO moves nothing")
		assert.DirExists(t, host("norename"))
	})

	t.Run("Append", func(t *testing.T) {
		require.NoError(t, c.Append("/f.txt", strings.NewReader("appended\n")), "APPE in the home")
		assert.Equal(t, "hello\nappended\n", readHost(t, host("f.txt")))
		assertDenied(t, c.Append("/noappend/f.txt", strings.NewReader("x")), "APPE without Append")
		assert.Equal(t, "hello\n", readHost(t, host("noappend/f.txt")), "a refused APPE changes nothing")
		// Overwriting needs Put and Delete, not Append.
		require.NoError(t, aclStor(c, "/noappend/f.txt", "replaced"), "STOR over a file without Append")
	})

	t.Run("Mkdir", func(t *testing.T) {
		require.NoError(t, c.MakeDir("/newdir"), "MKD in the home")
		assert.DirExists(t, host("newdir"))
		assertDenied(t, c.MakeDir("/nomkdir/d"), "MKD without Mkdir")
		rawDenied(t, raw, "XMKD /nomkdir/d")
		assert.NoDirExists(t, host("nomkdir/d"))
	})

	t.Run("Delete", func(t *testing.T) {
		require.NoError(t, aclStor(c, "/del.txt", "d"))
		require.NoError(t, c.Delete("/del.txt"), "DELE in the home")
		assert.NoFileExists(t, host("del.txt"))

		assertDenied(t, c.Delete("/nodelete/f.txt"), "DELE without Delete")
		assertDenied(t, aclStor(c, "/nodelete/f.txt", "x"), "STOR over a file without Delete")
		require.NoError(t, aclStor(c, "/d.txt", "d"))
		assertDenied(t, c.Rename("/d.txt", "/nodelete/f.txt"), "RNTO over a file without Delete")
		assert.Equal(t, "hello\n", readHost(t, host("nodelete/f.txt")), "the file survives")
		require.NoError(t, aclStor(c, "/nodelete/new.txt", "new"), "a new file needs Put only")
	})

	t.Run("Rmdir", func(t *testing.T) {
		require.NoError(t, c.MakeDir("/gone"))
		require.NoError(t, c.RemoveDir("/gone"), "RMD in the home")
		assert.NoDirExists(t, host("gone"))

		assertDenied(t, c.RemoveDir("/normdir/sub"), "RMD of a directory without Rmdir in itself")
		rawDenied(t, raw, "XRMD /normdir/sub")
		assertDenied(t, c.RemoveDir("/normdir"), "RMD of the directory of the entry")
		assert.DirExists(t, host("normdir/sub"))
		// Moving a directory onto an empty one removes the target.
		require.NoError(t, c.MakeDir("/mover"))
		assertDenied(t, c.Rename("/mover", "/normdir/sub"), "RNTO over a directory without Rmdir in it")
		// Files there can still be deleted.
		require.NoError(t, c.Delete("/normdir/f.txt"), "DELE needs Delete only")
	})

	t.Run("MLSDPerm", func(t *testing.T) {
		// RFC 3659 7.5.5: the perm fact says what this session may do.
		_, _, data, _ := rawData(t, raw, "MLSD /", nil)
		perms := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(string(data)), "\r\n") {
			facts, name, _ := strings.Cut(l, " ")
			for _, fact := range strings.Split(facts, ";") {
				if v, ok := strings.CutPrefix(strings.ToLower(fact), "perm="); ok {
					perms[name] = v
				}
			}
		}
		assert.Equal(t, "adfrw", perms["f.txt"], "a file in the home")
		assert.Equal(t, "cdeflmp", perms["noget"], "a directory with every right but Get, which is a file's")
		assert.Equal(t, "cdeflm", perms["nodelete"], "no p (delete files) in nodelete/")
		assert.Equal(t, "cdeflp", perms["nomkdir"], "no m in nomkdir/")
		assert.Equal(t, "cdflmp", perms["noaccess"], "no e in noaccess/")
		assert.Equal(t, "cdefmp", perms["nolist"], "no l in nolist/")
		assert.Equal(t, "el", perms["notices"], "the read-only private alias")
	})
}

// TestACLUserOverridesGroup: alice's own pub/ entry replaces the group's
// read-only one; bob, in the same group, keeps the group's.
func TestACLUserOverridesGroup(t *testing.T) {
	t.Parallel()
	f := newACLFixture(t)
	f.staffHome(t, "alice")
	f.staffHome(t, "bob")
	alice := aclDial(t, f.srv.Addr, "alice", alicePass, nil)
	bob := aclDial(t, f.srv.Addr, "bob", bobPass, nil)

	require.NoError(t, aclStor(alice, "/pub/a.txt", "a"), "alice's own entry allows Put in pub/")
	require.NoError(t, alice.MakeDir("/pub/sub"), "and, recursive, everything below")
	require.NoError(t, aclStor(alice, "/pub/sub/a.txt", "a"))
	assertDenied(t, aclStor(bob, "/pub/b.txt", "b"), "bob has the group's read-only pub/")
	assertDenied(t, bob.MakeDir("/pub/sub"), "bob MKD in pub/")
	got, err := aclRetr(t, bob, "/pub/readme.txt")
	require.NoError(t, err, "read-only still reads")
	assert.Equal(t, "pub readme\n", string(got))
	// The other group entries are inherited by both.
	assertDenied(t, aclStor(alice, "/noput/x.txt", "x"), "alice inherits the group's noput/")
	assertDenied(t, aclStor(bob, "/noput/x.txt", "x"), "bob too")
	// Both see the group's private alias.
	assert.Contains(t, names(t, bob, "/"), "notices")
}

// TestACLDefaultAndHomeEntries: the "*" entry decides for every directory
// no entry covers, and a "/" entry that does not apply to subfolders is
// for the home alone.
func TestACLDefaultAndHomeEntries(t *testing.T) {
	t.Parallel()
	f := newACLFixture(t)
	c := aclDial(t, f.srv.Addr, "carol@example.com", carolPass, nil)
	carolHome := filepath.Join(f.mail, "example.com", "carol")

	require.NoError(t, aclStor(c, "/top.txt", "t"), `"/" allows Put in the home`)
	require.NoError(t, c.MakeDir("/inbox"), `"/" allows Mkdir in the home`)
	require.NoError(t, os.WriteFile(filepath.Join(carolHome, "inbox", "mail.txt"), []byte("mail\n"), 0o644))
	assertDenied(t, aclStor(c, "/inbox/x.txt", "x"), `inbox/ has no entry: "*" (read-only) decides`)
	assertDenied(t, c.MakeDir("/inbox/d"), `"*" refuses Mkdir`)
	got, err := aclRetr(t, c, "/inbox/mail.txt")
	require.NoError(t, err, `"*" allows Get`)
	assert.Equal(t, "mail\n", string(got))

	require.NoError(t, c.MakeDir("/outbox"))
	require.NoError(t, c.MakeDir("/outbox/2024"), "outbox/ applies to subfolders")
	require.NoError(t, aclStor(c, "/outbox/2024/m.txt", "m"), "and so Put in outbox/2024/")
	assert.Equal(t, "m", readHost(t, filepath.Join(carolHome, "outbox", "2024", "m.txt")))

	// The private alias with $$domain$$: carol sees example.com's folder.
	assert.Equal(t, []string{"policy.txt"}, names(t, c, "/domain"))
	assertDenied(t, aclStor(c, "/domain/x.txt", "x"), "the domain alias is read-only")
	// The site-wide alias has no entry here: "*" makes it read-only.
	assertDenied(t, aclStor(c, "/shared/x.txt", "x"), `"*" decides in /shared`)
	_, err = aclRetr(t, c, "/shared/readme.txt")
	assert.NoError(t, err)
}

// TestACLAliases: aliases show in their parent's listing, ".." from inside
// one returns to the virtual parent, a read-only private alias refuses
// changes, and no rename crosses from one file system to another.
func TestACLAliases(t *testing.T) {
	t.Parallel()
	f := newACLFixture(t)
	f.staffHome(t, "alice")
	rec := &tap{}
	c := aclDial(t, f.srv.Addr, "alice", alicePass, rec)

	root := names(t, c, "/")
	for _, want := range []string{"shared", "notices", "docs", "f.txt"} {
		assert.Contains(t, root, want, "the home lists %s", want)
	}
	assert.Equal(t, []string{"manual"}, names(t, c, "/docs"), "a directory on the way to a deeper alias lists it")
	assert.Equal(t, []string{"index.txt"}, names(t, c, "/docs/manual"), "a relative target is from the site home")
	assert.Equal(t, []string{"readme.txt"}, names(t, c, "/shared"), "the site-wide alias shows its target")

	// ".." from inside an alias is the virtual parent, not the target's.
	require.NoError(t, c.ChangeDir("/shared"))
	assert.Equal(t, root, names(t, c, ".."), "LIST .. from /shared is the home")
	require.NoError(t, c.ChangeDirToParent(), "CDUP from /shared")
	dir, err := c.CurrentDir()
	require.NoError(t, err)
	assert.Equal(t, "/", dir, "CDUP from /shared returns to /")
	require.NoError(t, c.ChangeDir("/docs/manual"))
	require.NoError(t, c.ChangeDir(".."))
	dir, _ = c.CurrentDir()
	assert.Equal(t, "/docs", dir, "CWD .. from /docs/manual")
	require.NoError(t, c.ChangeDir("/notices/../../.."))
	dir, _ = c.CurrentDir()
	assert.Equal(t, "/", dir, "no .. climbs above the root")

	// The site-wide alias, outside the site home, is writable where
	// alice's entries allow ("/" applies to subfolders).
	require.NoError(t, aclStor(c, "/shared/from-alice.txt", "a"), "STOR in /shared")
	assert.Equal(t, "a", readHost(t, filepath.Join(f.shared, "from-alice.txt")), "the file lands in the alias target")

	// The private alias is read-only.
	got, err := aclRetr(t, c, "/notices/notice.txt")
	require.NoError(t, err)
	assert.Equal(t, "read me first\n", string(got))
	assertDenied(t, aclStor(c, "/notices/x.txt", "x"), "STOR in a read-only alias")
	assertDenied(t, c.Delete("/notices/notice.txt"), "DELE in a read-only alias")
	assertDenied(t, c.MakeDir("/notices/d"), "MKD in a read-only alias")
	assertDenied(t, c.Append("/notices/notice.txt", strings.NewReader("x")), "APPE in a read-only alias")
	assertNoFile(t, filepath.Join(f.notices, "x.txt"))

	// No rename crosses an alias boundary, either way; mount points
	// themselves cannot be renamed or removed.
	assertDenied(t, c.Rename("/f.txt", "/shared/f.txt"), "RNTO from the home into an alias")
	assertDenied(t, c.Rename("/shared/readme.txt", "/readme.txt"), "RNTO from an alias into the home")
	assertDenied(t, c.Rename("/shared", "/elsewhere"), "RNTO of a mount point")
	assertReplyCode(t, c.RemoveDir("/shared"), ftp.StatusFileUnavailable, "RMD of a mount point")
	assert.FileExists(t, filepath.Join(f.shared, "readme.txt"))
	assert.FileExists(t, filepath.Join(f.home, "staff", "alice", "f.txt"))

	assert.NotContains(t, rec.String(), f.base, "no reply or listing shows a host path")
}

func assertNoFile(t *testing.T, name string) {
	t.Helper()
	assert.False(t, existsHost(name), "%s must not exist", name)
}

// TestACLAccessList: Server.ConnFilter with an acl.AccessList refuses
// clients with 421 before the greeting, logs them, and admits the others;
// the first rule that matches decides.
func TestACLAccessList(t *testing.T) {
	t.Parallel()
	list := func(t *testing.T, rules ...string) *acl.AccessList {
		l := &acl.AccessList{}
		for _, r := range rules {
			verb, patterns, _ := strings.Cut(r, " ")
			rule, err := acl.ParseAccessRule(verb == "grant", patterns)
			require.NoError(t, err, "rule %q", r)
			l.Rules = append(l.Rules, rule)
		}
		return l
	}
	cases := []struct {
		name  string
		ipv6  bool
		rules []string
		admit bool
	}{
		{"DenyLoopback", false, []string{"deny 127.0.0.1"}, false},
		{"GrantLoopbackDenyRest", false, []string{"grant 127.0.0.1", "deny *"}, true},
		{"Wildcard", false, []string{"grant 10.*.*.*;127.0.*.*", "deny *"}, true},
		{"Range", false, []string{"grant 126-127.*.*.*", "deny *"}, true},
		{"CIDR", false, []string{"grant 127.0.0.0/8", "deny *"}, true},
		{"RangeMisses", false, []string{"grant 128-130.*.*.*", "deny *"}, false},
		{"FirstMatchDenies", false, []string{"deny 127.0.0.1", "grant *"}, false},
		{"FirstMatchGrants", false, []string{"grant 127.*.*.*", "deny 127.0.0.1"}, true},
		{"NoMatchAdmits", false, []string{"deny 10.0.0.0/8"}, true},
		{"IPv6Grant", true, []string{"grant ::1", "deny *"}, true},
		{"IPv6NotMatchedByIPv4", true, []string{"grant 127.0.0.1", "deny *"}, false},
		{"IPv6Deny", true, []string{"deny ::1/128"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			logs := &tap{}
			opts := []ftptest.Option{ftptest.WithServer(func(s *ftp.Server) {
				s.ConnFilter = list(t, tc.rules...)
				s.Logger = slog.New(slog.NewTextHandler(logs, nil))
			})}
			if tc.ipv6 {
				e2etest.SkipWithoutIPv6(t)
				opts = append(opts, ftptest.WithIPv6())
			}
			f := newACLFixture(t, opts...)
			f.staffHome(t, "alice")

			nc, err := net.DialTimeout("tcp", f.srv.Addr, 5*time.Second)
			require.NoError(t, err)
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(nc)
			line, err := br.ReadString('\n')
			require.NoError(t, err, "the server answers before anything else")
			if !tc.admit {
				assert.Equal(t, "421 Access denied.\r\n", line, "refused before the greeting")
				_, err = br.ReadString('\n')
				assert.ErrorIs(t, err, io.EOF, "and the connection is closed")
				assert.Contains(t, logs.String(), "connection refused by access rules", "the refusal is logged")
				_, err = aclDialErr(f.srv.Addr, "alice", alicePass, nil)
				assertReplyCode(t, err, ftp.StatusServiceNotAvailable, "a real client is refused too")
				return
			}
			assert.True(t, strings.HasPrefix(line, "220"), "admitted: the greeting, got %q", line)
			c := aclDial(t, f.srv.Addr, "alice", alicePass, nil)
			got, err := aclRetr(t, c, "/f.txt")
			require.NoError(t, err)
			assert.Equal(t, "hello\n", string(got))
			assert.NotContains(t, logs.String(), "refused")
		})
	}
}

// traversalCorpus are path arguments that try to leave the session's tree:
// dot-dot in every spelling, encodings no FTP server should decode,
// backslashes, host paths, symbolic links inside the home that point
// outside it, and ".." through aliases. The host paths are filled in.
func traversalCorpus(f *aclFixture) []string {
	return []string{
		"..", "../..", "../../..", "/..", "/../../etc/passwd", "../../../outside/secret.txt",
		"../../../../outside", "./../.", "~/../..", "/./../outside/secret.txt",
		"%2e%2e/", "%2e%2e/%2e%2e/outside/secret.txt", "..%2f..%2foutside%2fsecret.txt", "%252e%252e/",
		"....//", "....//....//outside/secret.txt", ".../...//outside",
		"\\..\\", "..\\..\\outside\\secret.txt", "\\..\\..\\..\\outside",
		f.outside, filepath.Join(f.outside, "secret.txt"), f.base, "/etc/passwd", "/etc", "/proc/self/environ",
		"escape", "escape/secret.txt", "escape-rel/secret.txt", "secret-link", "hard/../escape/secret.txt",
		"/shared/..", "/shared/../..", "/shared/../../outside/secret.txt", "/shared/up", "/shared/up/secret.txt",
		"/notices/../../outside", "/docs/manual/../../../outside/secret.txt", "/docs/../../..",
	}
}

// TestACLPathTraversal sends the corpus through the jlaffaye client and as
// raw commands, reading first and then writing, and checks that nothing
// outside the session's tree was read or changed and that no reply or
// listing shows a host path.
func TestACLPathTraversal(t *testing.T) {
	t.Parallel()
	f := newACLFixture(t)
	home := f.staffHome(t, "alice")
	// Links inside the trees that lead outside them.
	require.NoError(t, os.Symlink(f.outside, filepath.Join(home, "escape")))
	require.NoError(t, os.Symlink("../../../outside", filepath.Join(home, "escape-rel")))
	require.NoError(t, os.Symlink(filepath.Join(f.outside, "secret.txt"), filepath.Join(home, "secret-link")))
	require.NoError(t, os.Symlink(f.outside, filepath.Join(f.shared, "up")))
	require.Equal(t, string(f.secret), readHost(t, filepath.Join(home, "escape-rel", "secret.txt")),
		"the relative link does lead to the secret on the host")
	before := snapshotTree(t, f.base, home, f.shared)
	corpus := traversalCorpus(f)

	rec := &tap{}
	c := aclDial(t, f.srv.Addr, "alice", alicePass, rec)
	raw := rawLogin(t, f.srv.Addr, "alice", alicePass)
	var rawReplies strings.Builder
	cmd := func(line string) (int, string) {
		code, text := raw.Cmd(line)
		rawReplies.WriteString(text + "\n")
		return code, text
	}
	noSecret := func(data []byte, what string) {
		assert.NotContains(t, string(data), strings.TrimSpace(string(f.secret)), "%s must not deliver the secret", what)
		assert.NotContains(t, string(data), "secret.txt", "%s must not list the outside directory", what)
		assert.NotContains(t, string(data), "root:", "%s must not deliver /etc/passwd", what)
	}

	// Reading.
	for _, p := range corpus {
		if data, err := aclRetr(t, c, p); err == nil {
			noSecret(data, "RETR "+p)
		}
		if entries, err := c.List(p); err == nil {
			for _, e := range entries {
				assert.NotEqual(t, "secret.txt", e.Name, "MLSD %s lists the outside directory", p)
			}
		}
		if err := c.ChangeDir(p); err == nil {
			dir, err := c.CurrentDir()
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(dir, "/"), "PWD after CWD %s is virtual: %q", p, dir)
			assert.NotContains(t, dir, f.base)
			for _, e := range names(t, c, "") {
				assert.NotEqual(t, "secret.txt", e, "CWD %s reached the outside directory", p)
			}
			require.NoError(t, c.ChangeDir("/"))
		}
		for _, verb := range []string{"SIZE", "MDTM", "HASH", "MLST", "STAT"} {
			code, text := cmd(verb + " " + p)
			noSecret([]byte(text), verb+" "+p)
			if code < 400 && verb == "SIZE" {
				assert.NotEqual(t, strconv.Itoa(len(f.secret)), text, "SIZE %s is not the secret's", p)
			}
		}
		for _, verb := range []string{"RETR", "LIST", "NLST", "MLSD"} {
			_, text, data, _ := rawData(t, raw, verb+" "+p, nil)
			rawReplies.WriteString(text + "\n" + string(data))
			noSecret(data, verb+" "+p)
		}
		code, text := cmd("CWD " + p)
		rawReplies.WriteString(text + "\n")
		if code == ftp.StatusFileActionOK {
			_, text = cmd("PWD")
			assert.NotContains(t, text, f.base, "PWD after CWD %s", p)
			cmd("CWD /")
		}
	}

	// Bytes that end or split a command: NUL, bare CR, CR NUL LF.
	for _, line := range []string{
		"RETR ../\x00/etc/passwd", "CWD ..\x00", "MKD evil\x00dir", "STOR a\x00b",
		"MKD evil\rdir", "CWD ..\r..", "DELE f.txt\r",
	} {
		code, text := cmd(line)
		assert.Contains(t, []int{ftp.StatusParameterSyntaxError, ftp.StatusFileNameNotAllowed}, code,
			"%q: want 501 or 553, got %d %s", line, code, text)
	}
	raw.Send("MKD evil\r\x00\ndir")
	code, text := raw.Read()
	assert.Equal(t, ftp.StatusFileNameNotAllowed, code, "a CR LF inside a name: %s", text)
	assert.NoFileExists(t, filepath.Join(home, "evil"))
	assert.FileExists(t, filepath.Join(home, "f.txt"), "DELE f.txt<CR> is no DELE f.txt")
	for _, p := range []string{"a\r\nDELE f.txt", "a\x00b"} {
		assert.Error(t, c.MakeDir(p), "the client refuses or the server refuses %q", p)
	}
	assert.FileExists(t, filepath.Join(home, "f.txt"))

	// Writing: into each corpus path and below it.
	for _, p := range corpus {
		for _, target := range []string{p, strings.TrimSuffix(p, "/") + "/pwned.txt"} {
			c.Stor(target, strings.NewReader("pwned"))
			c.Append(target, strings.NewReader("pwned"))
			c.MakeDir(target)
			c.SetTime(target, time.Unix(0, 0))
			_, text, _, _ := rawData(t, raw, "STOR "+target, []byte("pwned"))
			rawReplies.WriteString(text + "\n")
			cmd("MKD " + target)
		}
		cmd("MFMT 19700101000000 " + p)
		cmd("RNFR " + p)
		cmd("RNTO /moved")
		// A fresh file and directory to move onto each path.
		require.NoError(t, aclStor(c, "/victim.txt", "v"))
		cmd("RNFR /victim.txt")
		cmd("RNTO " + p)
		cmd("MKD /victim")
		cmd("RNFR /victim")
		cmd("RNTO " + p)
		cmd("DELE " + p)
		cmd("RMD " + p)
	}

	after := snapshotTree(t, f.base, home, f.shared)
	assert.Equal(t, before, after, "nothing outside the home and the writable alias changed")
	assert.Equal(t, string(f.secret), readHost(t, filepath.Join(f.outside, "secret.txt")), "the secret is untouched")
	for _, link := range []string{"escape", "escape-rel", "secret-link"} {
		fi, err := os.Lstat(filepath.Join(home, link))
		if assert.NoError(t, err, "the link %s is neither removed nor replaced through the server", link) {
			assert.Equal(t, fs.ModeSymlink, fi.Mode().Type(), "%s is still the link", link)
		}
	}
	// Whatever was written went inside the trees the session may write.
	filepath.WalkDir(f.base, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), "pwned") {
			assert.True(t, strings.HasPrefix(p, home+string(filepath.Separator)) ||
				strings.HasPrefix(p, f.shared+string(filepath.Separator)), "%s was written outside the trees", p)
		}
		return nil
	})
	assert.NotContains(t, rec.String(), f.base, "no reply or listing to the client shows a host path")
	assert.NotContains(t, rawReplies.String(), f.base, "no raw reply shows a host path")
}

// snapshotTree records every name below root (links not followed) with
// its type and content, leaving out the trees in skip.
func snapshotTree(t *testing.T, root string, skip ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if slices.Contains(skip, p) {
			return filepath.SkipDir
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		v := info.Mode().String() + " " + info.ModTime().String()
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			v += " -> " + target
		case info.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			v += " " + string(b)
		}
		out[p] = v
		return nil
	})
	require.NoError(t, err)
	return out
}

// TestACLCurl: curl downloads, uploads and lists where alice's rights
// allow, fails with the server's 550 where they do not, and does not climb
// out of the home with ".." in a URL, spelled or encoded.
func TestACLCurl(t *testing.T) {
	t.Parallel()
	prog := e2etest.LookPath(t, "curl")
	f := newACLFixture(t)
	home := f.staffHome(t, "alice")
	url := "ftp://" + f.srv.Addr
	run := func(args ...string) e2etest.Result {
		t.Helper()
		full := append([]string{"--silent", "--show-error", "--verbose", "--max-time", "20",
			"--user", "alice:" + alicePass}, args...)
		return e2etest.Run(t, 30*time.Second, nil, prog, full...)
	}
	local := filepath.Join(t.TempDir(), "up.txt")
	require.NoError(t, os.WriteFile(local, []byte("from curl\n"), 0o644))

	r := run(url + "/f.txt")
	require.NoError(t, r.Err, "RETR with Get\n%s", r)
	assert.Equal(t, "hello\n", r.Stdout)

	r = run(url + "/noget/f.txt")
	assert.Error(t, r.Err, "RETR without Get fails")
	assert.Contains(t, r.Stderr, "< 550 Permission denied.", "curl saw the refusal")
	assert.Empty(t, r.Stdout)

	r = run("-T", local, url+"/noput/up.txt")
	assert.Error(t, r.Err, "STOR without Put fails")
	assert.Contains(t, r.Stderr, "< 550 Permission denied.")
	assert.NoFileExists(t, filepath.Join(home, "noput", "up.txt"))

	r = run("-T", local, url+"/shared/curl.txt")
	require.NoError(t, r.Err, "STOR into the site-wide alias\n%s", r)
	assert.Equal(t, "from curl\n", readHost(t, filepath.Join(f.shared, "curl.txt")))

	r = run(url + "/nolist/")
	require.NoError(t, r.Err, "LIST with Access and without List succeeds\n%s", r)
	assert.Empty(t, r.Stdout, "and is empty")
	r = run(url + "/")
	require.NoError(t, r.Err, "LIST of the home\n%s", r)
	assert.Contains(t, r.Stdout, "shared", "the alias is listed in its parent")

	r = run("-Q", "DELE /nodelete/f.txt", url+"/")
	assert.Error(t, r.Err, "DELE without Delete fails")
	assert.Contains(t, r.Stderr, "< 550 Permission denied.")
	assert.FileExists(t, filepath.Join(home, "nodelete", "f.txt"))

	for _, p := range []string{"/../../outside/secret.txt", "/%2e%2e/%2e%2e/outside/secret.txt", "/shared/../../outside/secret.txt",
		"/escape/secret.txt"} {
		require.NoError(t, os.Symlink(f.outside, filepath.Join(home, "escape")), "link for %s", p)
		r = run("--path-as-is", url+p)
		assert.Error(t, r.Err, "%s: there is no such file inside the home", p)
		assert.NotContains(t, r.Stdout, strings.TrimSpace(string(f.secret)), "%s delivers nothing from outside", p)
		assert.NotContains(t, r.Stderr, f.base, "%s: no reply shows a host path", p)
		require.NoError(t, os.Remove(filepath.Join(home, "escape")))
	}

	r = e2etest.Run(t, 30*time.Second, nil, prog, "--silent", "--user", "alice:wrong", url+"/")
	assert.Equal(t, 67, r.ExitCode(), "a wrong password is CURLE_LOGIN_DENIED (530)\n%s", r)
}

// aclFtplibScript logs in with Python's ftplib (argv: host port user
// password) and tries one operation per line of a fixed list, printing a
// JSON object of results: {"op": {"ok": ...} or {"err": "550 ..."}}.
const aclFtplibScript = `
import ftplib, io, json, sys

host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ftp = ftplib.FTP(timeout=10, encoding="utf-8")
ftp.connect(host, port)
try:
    ftp.login(user, password)
except ftplib.error_perm as e:
    print(json.dumps({"login": {"err": str(e)}}))
    sys.exit(0)

def retr(name):
    buf = io.BytesIO()
    ftp.retrbinary("RETR " + name, buf.write)
    return buf.getvalue().decode()

def cwd_up(d):
    ftp.cwd(d)
    ftp.cwd("..")
    here = ftp.pwd()
    ftp.cwd("/")
    return here

ops = {
    "retr_home": lambda: retr("/f.txt"),
    "retr_noget": lambda: retr("/noget/f.txt"),
    "size_noget": lambda: ftp.size("/noget/f.txt"),
    "stor_pub": lambda: ftp.storbinary("STOR /pub/py.txt", io.BytesIO(b"py")),
    "stor_home": lambda: ftp.storbinary("STOR /py.txt", io.BytesIO(b"py")),
    "stor_notices": lambda: ftp.storbinary("STOR /notices/py.txt", io.BytesIO(b"py")),
    "cwd_notices_up": lambda: cwd_up("/notices"),
    "cwd_shared_up": lambda: cwd_up("/shared"),
    "cwd_noaccess": lambda: ftp.cwd("/noaccess"),
    "nlst_nolist": lambda: ftp.nlst("/nolist"),
    "nlst_root": lambda: sorted(ftp.nlst("/")),
    "mkd_nomkdir": lambda: ftp.mkd("/nomkdir/py"),
    "mkd_home": lambda: ftp.mkd("/pydir"),
    "rmd_normdir": lambda: ftp.rmd("/normdir/sub"),
    "dele_nodelete": lambda: ftp.delete("/nodelete/f.txt"),
    "rename_norename": lambda: ftp.rename("/norename/f.txt", "/norename/g.txt"),
    "rename_cross": lambda: ftp.rename("/f.txt", "/shared/f.txt"),
    "appe_noappend": lambda: ftp.storbinary("APPE /noappend/f.txt", io.BytesIO(b"x")),
    "retr_traversal": lambda: retr("../../../outside/secret.txt"),
}
out = {}
for name, fn in ops.items():
    try:
        out[name] = {"ok": fn()}
    except ftplib.error_perm as e:
        out[name] = {"err": str(e)}
print(json.dumps(out))
ftp.quit()
`

// TestACLPythonFtplib: bob, a staff member without alice's override, through
// Python's ftplib; then a wrong password.
func TestACLPythonFtplib(t *testing.T) {
	t.Parallel()
	prog := e2etest.LookPath(t, "python3")
	if r := e2etest.Run(t, 30*time.Second, nil, prog, "-c", "import ftplib"); r.Err != nil {
		t.Skipf("python3 has no ftplib: %s", r)
	}
	f := newACLFixture(t)
	home := f.staffHome(t, "bob")
	host, port, err := net.SplitHostPort(f.srv.Addr)
	require.NoError(t, err)
	run := func(user, pass string) map[string]map[string]any {
		t.Helper()
		r := e2etest.Run(t, 60*time.Second, nil, prog, "-c", aclFtplibScript, host, port, user, pass)
		require.NoError(t, r.Err, "ftplib session\n%s", r)
		var out map[string]map[string]any
		require.NoError(t, json.Unmarshal([]byte(r.Stdout), &out), "ftplib output\n%s", r)
		return out
	}
	out := run("bob", bobPass)
	denied := map[string]any{"err": "550 Permission denied."}
	for _, op := range []string{"retr_noget", "size_noget", "stor_pub", "stor_notices", "cwd_noaccess",
		"mkd_nomkdir", "rmd_normdir", "dele_nodelete", "rename_norename", "rename_cross", "appe_noappend"} {
		assert.Equal(t, denied, out[op], "%s is refused", op)
	}
	assert.Equal(t, map[string]any{"ok": "hello\n"}, out["retr_home"])
	assert.Contains(t, out["stor_home"], "ok", "STOR in the home")
	assert.Contains(t, out["mkd_home"], "ok", "MKD in the home")
	assert.Equal(t, map[string]any{"ok": []any{}}, out["nlst_nolist"], "NLST with Access and without List is empty")
	assert.Equal(t, map[string]any{"ok": "/"}, out["cwd_notices_up"], ".. from the private alias is the home")
	assert.Equal(t, map[string]any{"ok": "/"}, out["cwd_shared_up"], ".. from the site-wide alias is the home")
	assert.Subset(t, out["nlst_root"]["ok"], []any{"/docs", "/f.txt", "/notices", "/shared"}, "aliases are listed in the home")
	assert.Contains(t, out["retr_traversal"], "err", "no file outside the home")
	assert.Equal(t, "py", readHost(t, filepath.Join(home, "py.txt")))
	assert.NoFileExists(t, filepath.Join(home, "pub", "py.txt"))
	assert.NoFileExists(t, filepath.Join(f.notices, "py.txt"))
	assert.Equal(t, "hello\n", readHost(t, filepath.Join(home, "nodelete", "f.txt")))

	out = run("bob", "wrong")
	assert.Equal(t, map[string]any{"err": "530 Login incorrect."}, out["login"], "a wrong password")
}
