package acl_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/acl"
)

// hashOf hashes password with a small work factor, to keep tests fast.
func hashOf(t testing.TB, password string) string {
	t.Helper()
	h, err := acl.HashPasswordIter(password, 1000)
	require.NoError(t, err, "HashPasswordIter")
	return h
}

// fakeSystem is the embedding application's account store.
type fakeSystem struct {
	accounts map[string]fakeAccount // by lower-case name
	calls    atomic.Int64
}

type fakeAccount struct {
	password string
	acl.SystemAccount
}

func (f *fakeSystem) Authenticate(_ context.Context, name, password string) (*acl.SystemAccount, error) {
	f.calls.Add(1)
	a, ok := f.accounts[strings.ToLower(name)]
	if !ok || a.password != password {
		return nil, errors.New("no such account or wrong password")
	}
	acct := a.SystemAccount
	return &acct, nil
}

// account is a fakeAccount for an e-mail address with its mailbox below
// mail.
func account(mail, email, password string) fakeAccount {
	_, domain, _ := strings.Cut(email, "@")
	return fakeAccount{password, acl.SystemAccount{
		Name: email, Email: email, Domain: domain,
		Home: filepath.Join(mail, domain, strings.Split(email, "@")[0]),
	}}
}

func newSite(t *testing.T, cfg acl.SiteConfig) *acl.Site {
	t.Helper()
	s, err := acl.NewSite(cfg)
	require.NoError(t, err, "NewSite")
	return s
}

func assertDir(t *testing.T, dir, why string) {
	t.Helper()
	fi, err := os.Stat(dir)
	if assert.NoError(t, err, "%s: %s should exist", why, dir) {
		assert.True(t, fi.IsDir(), "%s: %s should be a directory", why, dir)
	}
}

func TestLoginLocal(t *testing.T) {
	home := t.TempDir()
	s := newSite(t, acl.SiteConfig{
		Home:   home,
		Groups: []acl.Group{{Name: "Staff"}},
		Users: []acl.User{
			{Name: "bob", DisplayName: "Bob", Password: hashOf(t, "s3cret"), Group: "staff"},
			{Name: "eve", Password: hashOf(t, "")},
		},
	})
	ctx := t.Context()

	sess, err := s.Login(ctx, "bob", "s3cret")
	require.NoError(t, err, "local user, right password")
	assert.Equal(t, "bob", sess.User, "Session.User")
	assert.Equal(t, acl.Local, sess.Type, "Session.Type")
	assert.Equal(t, "Staff", sess.Group, "Session.Group is the group's configured name")
	assert.Equal(t, home, sess.Home, "without a group or user home: the site home")
	assert.Empty(t, sess.Email, "a local user has no e-mail")
	assert.Empty(t, sess.Mounts, "no aliases")

	sess, err = s.Login(ctx, "BoB", "s3cret")
	require.NoError(t, err, "user names are not case-sensitive")
	assert.Equal(t, "bob", sess.User, "the session has the configured spelling")

	_, err = s.Login(ctx, "eve", "")
	assert.NoError(t, err, "an empty password hashed is a password like another")

	for _, tc := range []struct{ name, password string }{
		{"bob", "S3CRET"}, {"bob", ""}, {"bob", "s3cret "}, {"nobody", "s3cret"}, {"", ""}, {"eve", "x"},
	} {
		sess, err := s.Login(ctx, tc.name, tc.password)
		assert.ErrorIs(t, err, acl.ErrLogin, "Login(%q, %q) should fail", tc.name, tc.password)
		assert.Nil(t, sess, "a failed login has no session")
	}
	assert.ElementsMatch(t, []string{"bob", "eve"}, s.Users(), "Users lists the configured users")
}

func TestLoginAnonymous(t *testing.T) {
	home := t.TempDir()
	s := newSite(t, acl.SiteConfig{
		Home:  home,
		Users: []acl.User{{Name: "anonymous", Type: acl.Anonymous, Home: "pub"}},
	})
	ctx := t.Context()
	for _, tc := range []struct{ name, password string }{
		{"anonymous", "guest@example.org"}, {"ftp", "someone@"}, {"FTP", ""}, {"Anonymous", "x"},
	} {
		sess, err := s.Login(ctx, tc.name, tc.password)
		require.NoError(t, err, "Login(%q) of the anonymous user", tc.name)
		assert.Equal(t, acl.Anonymous, sess.Type, "Session.Type")
		assert.Equal(t, "anonymous", sess.User, "Session.User is the configured anonymous user")
		assert.Equal(t, tc.password, sess.Email, "the password is recorded as the e-mail address")
		assert.Equal(t, filepath.Join(home, "pub"), sess.Home, "the anonymous home below the site home")
	}
	assertDir(t, filepath.Join(home, "pub"), "the anonymous home is created at first login")

	// Configured as "ftp", the user answers to "anonymous" too.
	s = newSite(t, acl.SiteConfig{Home: home, Users: []acl.User{{Name: "ftp", Type: acl.Anonymous}}})
	sess, err := s.Login(ctx, "anonymous", "a@b")
	require.NoError(t, err, "\"anonymous\" logs in as the user configured as \"ftp\"")
	assert.Equal(t, "ftp", sess.User, "Session.User")

	// Without an anonymous user, nobody logs in anonymously, and a
	// local user named "ftp" needs its password.
	s = newSite(t, acl.SiteConfig{Home: home, Users: []acl.User{{Name: "ftp", Password: hashOf(t, "pw")}}})
	_, err = s.Login(ctx, "anonymous", "a@b")
	assert.ErrorIs(t, err, acl.ErrLogin, "no anonymous user configured")
	_, err = s.Login(ctx, "ftp", "a@b")
	assert.ErrorIs(t, err, acl.ErrLogin, "\"ftp\" is a local user here")
	sess, err = s.Login(ctx, "ftp", "pw")
	require.NoError(t, err, "the local user \"ftp\"")
	assert.Equal(t, acl.Local, sess.Type, "Session.Type")
}

func TestLoginSystemUser(t *testing.T) {
	home, mail := t.TempDir(), t.TempDir()
	sys := &fakeSystem{accounts: map[string]fakeAccount{
		"john@example.com": account(mail, "john@example.com", "jpw"),
		"jane@example.com": account(mail, "jane@example.com", "janepw"),
	}}
	s := newSite(t, acl.SiteConfig{
		Home:   home,
		System: sys,
		Users: []acl.User{
			{
				Name: "john", Type: acl.System, Account: "john@example.com", Home: "$$homedir$$",
				Permissions: []acl.Permission{{Path: "$$domain$$/", Rights: acl.All}},
			},
			{Name: "jane@example.com", Type: acl.System, Home: "users/$$domain$$/$$username$$"},
		},
	})
	ctx := t.Context()

	sess, err := s.Login(ctx, "john", "jpw")
	require.NoError(t, err, "system user with the account's password")
	assert.Equal(t, acl.System, sess.Type, "Session.Type")
	assert.Equal(t, "john", sess.User, "Session.User is the FTP user's name")
	assert.Equal(t, "john@example.com", sess.Email, "Session.Email is the account's")
	assert.Equal(t, filepath.Join(mail, "example.com", "john"), sess.Home, "$$homedir$$ is the account's folder")
	assertDir(t, sess.Home, "the account's folder is created at first login")
	assert.Equal(t, acl.All, sess.Policy.Rights("example.com"), "$$domain$$ in a permission path")
	assert.Equal(t, acl.None, sess.Policy.Rights("other"), "no other entry")

	sess, err = s.Login(ctx, "JANE@example.com", "janepw")
	require.NoError(t, err, "a system user without Account uses its own name")
	assert.Equal(t, filepath.Join(home, "users", "example.com", "jane@example.com"), sess.Home,
		"$$domain$$ and $$username$$ in the home")

	calls := sys.calls.Load()
	_, err = s.Login(ctx, "john", "janepw")
	assert.ErrorIs(t, err, acl.ErrLogin, "another account's password")
	_, err = s.Login(ctx, "john", "")
	assert.ErrorIs(t, err, acl.ErrLogin, "an empty password")
	assert.Equal(t, calls+2, sys.calls.Load(), "system users are checked by the application every time")

	// An application that answers nil without an error admits nobody.
	s = newSite(t, acl.SiteConfig{
		Home:   home,
		System: acl.SystemAccountsFunc(func(context.Context, string, string) (*acl.SystemAccount, error) { return nil, nil }),
		Users:  []acl.User{{Name: "x", Type: acl.System}},
		Groups: []acl.Group{{Name: "all", System: true}},
	})
	_, err = s.Login(ctx, "x", "pw")
	assert.ErrorIs(t, err, acl.ErrLogin, "a nil account is a failed login")
	_, err = s.Login(ctx, "y@example.com", "pw")
	assert.ErrorIs(t, err, acl.ErrLogin, "a nil account is a failed login for group members too")
}

func TestLoginSystemGroups(t *testing.T) {
	home, mail := t.TempDir(), t.TempDir()
	sys := &fakeSystem{accounts: map[string]fakeAccount{}}
	for _, a := range []string{"alice@example.com", "bob@other.org", "carol@other.org", "dave@else.org"} {
		sys.accounts[a] = account(mail, a, "pw-"+a)
	}
	groups := []acl.Group{
		{Name: "staff"}, // not a system group: no account lands here
		{
			Name: "partners", System: true, RestrictTo: " example.com ; bob@other.org;",
			Home: "partners/$$username$$", Permissions: []acl.Permission{{Path: "/", Rights: acl.All}},
		},
		{Name: "everyone", System: true, Home: "all/$$domain$$"},
	}
	s := newSite(t, acl.SiteConfig{Home: home, System: sys, Groups: groups})
	ctx := t.Context()
	for _, tc := range []struct {
		name, group, home string
	}{
		{"alice@example.com", "partners", "partners/alice@example.com"},
		{"Alice@EXAMPLE.com", "partners", "partners/Alice@EXAMPLE.com"},
		{"bob@other.org", "partners", "partners/bob@other.org"},
		{"carol@other.org", "everyone", "all/other.org"}, // other.org is not restricted to, bob is
		{"dave@else.org", "everyone", "all/else.org"},
	} {
		sess, err := s.Login(ctx, tc.name, "pw-"+strings.ToLower(tc.name))
		require.NoError(t, err, "system account %q", tc.name)
		assert.Equal(t, tc.group, sess.Group, "%q: the first group that admits the account", tc.name)
		assert.Equal(t, acl.System, sess.Type, "%q: Session.Type", tc.name)
		assert.Equal(t, tc.name, sess.User, "%q: Session.User is the login name", tc.name)
		assert.Equal(t, filepath.Join(home, tc.home), sess.Home, "%q: home from the group", tc.name)
		assertDir(t, sess.Home, tc.name+"'s home")
		assert.Equal(t, strings.ToLower(tc.name), sess.Email, "%q: Session.Email", tc.name)
	}
	_, err := s.Login(ctx, "alice@example.com", "pw-bob@other.org")
	assert.ErrorIs(t, err, acl.ErrLogin, "a system account with a wrong password")

	// The list is ordered: with "everyone" first, it takes everybody.
	s = newSite(t, acl.SiteConfig{Home: home, System: sys, Groups: []acl.Group{groups[2], groups[1]}})
	sess, err := s.Login(ctx, "alice@example.com", "pw-alice@example.com")
	require.NoError(t, err, "login")
	assert.Equal(t, "everyone", sess.Group, "the first group in the list wins")

	// Restricted groups only: an account outside them is not asked for.
	s = newSite(t, acl.SiteConfig{Home: home, System: sys, Groups: groups[:2]})
	calls := sys.calls.Load()
	for _, name := range []string{"dave@else.org", "carol@other.org", "alice", "example.com"} {
		_, err = s.Login(ctx, name, "pw-"+name)
		assert.ErrorIs(t, err, acl.ErrLogin, "%q is not admitted by any group", name)
	}
	assert.Equal(t, calls, sys.calls.Load(), "accounts no group admits never reach the application")

	// A configured user comes before the system groups.
	s = newSite(t, acl.SiteConfig{
		Home: home, System: sys, Groups: groups,
		Users: []acl.User{{Name: "alice@example.com", Password: hashOf(t, "local")}},
	})
	sess, err = s.Login(ctx, "alice@example.com", "local")
	require.NoError(t, err, "the local user of the same name")
	assert.Equal(t, acl.Local, sess.Type, "the configured user wins")
	_, err = s.Login(ctx, "alice@example.com", "pw-alice@example.com")
	assert.ErrorIs(t, err, acl.ErrLogin, "the system password is not the local user's")
}

func TestNewSiteErrors(t *testing.T) {
	good := hashOf(t, "pw")
	_, err := acl.NewSite(acl.SiteConfig{
		Home: t.TempDir(),
		Groups: []acl.Group{
			{Name: "g"},
			{Name: "G"},
			{},
			{Name: "sys", System: true},
			{Name: "badperm", Permissions: []acl.Permission{{Path: "../x/"}}},
		},
		Users: []acl.User{
			{Name: "a", Password: good, Group: "missing"},
			{Name: "A", Password: good},
			{Name: "guest", Type: acl.Anonymous},
			{Name: "plain", Password: "pw"},
			{Name: "sysuser", Type: acl.System},
			{Password: good},
			{Name: "d", Password: good, Permissions: []acl.Permission{{Path: "a/../b/"}}},
			{Name: "ok", Password: good, Group: "G"}, // groups are found in any case
		},
		Aliases: []acl.Alias{{Path: "/x"}, {Path: "/", Target: "t"}, {Path: "/fine", Target: "t"}},
	})
	require.Error(t, err, "NewSite of a bad configuration")
	msg := err.Error()
	for _, want := range []string{
		`group "G" defined twice`,
		"group 3 has no name",
		`group "sys" integrates system accounts`,
		`group "badperm"`,
		`group "missing" does not exist`,
		`user "A" defined twice`,
		`not "guest"`,
		`user "plain": password is not a hash`,
		`user "sysuser" is a system user`,
		"user 6 has no name",
		`user "d"`,
		`alias "/x"`,
		`alias "/"`,
	} {
		assert.Contains(t, msg, want, "every problem is reported at once")
	}
	assert.Len(t, strings.Split(msg, "\n"), 13, "one line per problem:\n%s", msg)
	assert.NotContains(t, msg, `"ok"`, "a good user is not reported")
	assert.NotContains(t, msg, "/fine", "a good alias is not reported")

	_, err = acl.NewSite(acl.SiteConfig{})
	assert.NoError(t, err, "an empty site is valid")
}

func TestHomes(t *testing.T) {
	home, elsewhere := t.TempDir(), t.TempDir()
	s := newSite(t, acl.SiteConfig{
		Home: home,
		Groups: []acl.Group{
			{Name: "staff", Home: "groups/$$groupname$$"},
			{Name: "nohome"},
			{Name: "abs", Home: filepath.Join(elsewhere, "abs")},
		},
		Users: []acl.User{
			{Name: "u1", Password: hashOf(t, "pw"), Group: "staff"},
			{Name: "u2", Password: hashOf(t, "pw"), Group: "staff", Home: "users/$$username$$"},
			{Name: "u3", Password: hashOf(t, "pw")},
			{Name: "u4", Password: hashOf(t, "pw"), Group: "nohome"},
			{Name: "u5", Password: hashOf(t, "pw"), Group: "abs"},
			{Name: "u6", Password: hashOf(t, "pw"), Group: "abs", Home: filepath.Join(elsewhere, "$$username$$", "$$groupname$$")},
			{Name: "u7", Password: hashOf(t, "pw"), Home: "./a/../b/"},
		},
	})
	for user, want := range map[string]string{
		"u1": filepath.Join(home, "groups", "staff"), // group home, relative to the site home
		"u2": filepath.Join(home, "users", "u2"),     // user override
		"u3": home,                                   // no group: the site home
		"u4": home,                                   // a group without a home: the site home
		"u5": filepath.Join(elsewhere, "abs"),        // an absolute group home
		"u6": filepath.Join(elsewhere, "u6", "abs"),  // an absolute user home with variables
		"u7": filepath.Join(home, "b"),               // cleaned
	} {
		sess, err := s.Login(t.Context(), user, "pw")
		require.NoError(t, err, "login of %s", user)
		assert.Equal(t, want, sess.Home, "home of %s", user)
		assertDir(t, want, "home of "+user)
	}
}

func TestHomeCreatedAtFirstLogin(t *testing.T) {
	base := t.TempDir()
	home := filepath.Join(base, "not", "yet")
	s := newSite(t, acl.SiteConfig{
		Home: home,
		Users: []acl.User{
			{Name: "anonymous", Type: acl.Anonymous, Home: "anon/$$username$$"},
			{Name: "bob", Password: hashOf(t, "pw")},
			{Name: "blocked", Password: hashOf(t, "pw"), Home: "file"},
		},
	})
	_, err := os.Stat(home)
	require.ErrorIs(t, err, fs.ErrNotExist, "NewSite creates nothing")

	sess, err := s.Login(t.Context(), "ftp", "x@y")
	require.NoError(t, err, "anonymous login")
	assertDir(t, filepath.Join(home, "anon", "anonymous"), "the anonymous home with a variable")
	assert.Equal(t, filepath.Join(home, "anon", "anonymous"), sess.Home, "anonymous home")

	_, err = s.Login(t.Context(), "bob", "pw")
	require.NoError(t, err, "login of bob")
	assertDir(t, home, "the site home")
	_, err = s.Login(t.Context(), "bob", "pw")
	require.NoError(t, err, "a second login finds the home in place")

	require.NoError(t, os.WriteFile(filepath.Join(home, "file"), nil, 0o644), "a file where a home should be")
	_, err = s.Login(t.Context(), "blocked", "pw")
	assert.ErrorIs(t, err, acl.ErrLogin, "a home that cannot be made refuses the login")
}

func TestPathVariables(t *testing.T) {
	home, mail := t.TempDir(), t.TempDir()
	sys := &fakeSystem{accounts: map[string]fakeAccount{
		"alice@example.com": account(mail, "alice@example.com", "pw"),
	}}
	s := newSite(t, acl.SiteConfig{
		Home:   home,
		System: sys,
		Groups: []acl.Group{{
			Name: "partners", System: true, Home: "$$domain$$/$$username$$",
			Permissions: []acl.Permission{
				{Path: "/", Rights: acl.ReadOnly, Recursive: true},
				{Path: "$$groupname$$/", Rights: acl.All},
				{Path: "mail/", FullPath: "$$homedir$$", Rights: acl.ReadOnly},
				{Path: "attention!!/", FullPath: "notices/$$groupname$$", Rights: acl.ReadOnly},
			},
		}},
		Aliases: []acl.Alias{
			{Path: "/shared/$$groupname$$", Target: "shared/$$groupname$$"},
			{Path: "box", Target: "$$homedir$$/box"},
			{Path: "/by-mail/$$email$$/", Target: filepath.Join(mail, "$$email$$")},
		},
	})
	sess, err := s.Login(t.Context(), "alice@example.com", "pw")
	require.NoError(t, err, "login")
	acctHome := filepath.Join(mail, "example.com", "alice")
	assert.Equal(t, filepath.Join(home, "example.com", "alice@example.com"), sess.Home, "home with variables")
	assert.Equal(t, acl.All, sess.Policy.Rights("partners"), "$$groupname$$ in a permission path")
	assert.Equal(t, acl.ReadOnly, sess.Policy.Rights("partners/sub"), "the entry is not recursive")
	assert.Equal(t, []acl.Mount{
		{Path: "/shared/partners", Dir: filepath.Join(home, "shared", "partners")},
		{Path: "/box", Dir: filepath.Join(acctHome, "box")},
		{Path: "/by-mail/alice@example.com", Dir: filepath.Join(mail, "alice@example.com")},
		{Path: "/attention!!", Dir: filepath.Join(home, "notices", "partners")},
		{Path: "/mail", Dir: acctHome},
	}, sess.Mounts, "site aliases first, then private aliases by path; relative targets from the site home")
}

func TestMounts(t *testing.T) {
	home := t.TempDir()
	s := newSite(t, acl.SiteConfig{
		Home: home,
		Groups: []acl.Group{{Name: "dev", Permissions: []acl.Permission{
			{Path: "src/", FullPath: "/srv/source", Rights: acl.ReadOnly},
			{Path: "docs/", FullPath: "/srv/docs", Rights: acl.ReadOnly},
		}}},
		Users: []acl.User{
			{Name: "maintainer", Password: hashOf(t, "pw"), Group: "dev", Permissions: []acl.Permission{
				{Path: "src/", FullPath: "/srv/source-rw", Rights: acl.All}, // the user's own alias replaces the group's
				{Path: "docs/", Rights: acl.All},                            // no full path: docs/ is no alias for this user
			}},
			{Name: "member", Password: hashOf(t, "pw"), Group: "dev"},
			{Name: "outsider", Password: hashOf(t, "pw")},
		},
		Aliases: []acl.Alias{{Path: "/pub", Target: "public"}},
	})
	for user, want := range map[string][]acl.Mount{
		"maintainer": {{"/pub", filepath.Join(home, "public")}, {"/src", "/srv/source-rw"}},
		"member": {
			{"/pub", filepath.Join(home, "public")}, {"/docs", "/srv/docs"}, {"/src", "/srv/source"},
		},
		"outsider": {{"/pub", filepath.Join(home, "public")}},
	} {
		sess, err := s.Login(t.Context(), user, "pw")
		require.NoError(t, err, "login of %s", user)
		assert.Equal(t, want, sess.Mounts, "mounts of %s: private aliases are seen by their users only", user)
	}
}

// TestVariableInjection: a variable whose value would bring a separator or
// a ".." into a path refuses the login, and nothing is created outside the
// site.
func TestVariableInjection(t *testing.T) {
	parent := t.TempDir()
	home := filepath.Join(parent, "site")
	require.NoError(t, os.Mkdir(home, 0o755), "site home")
	mail := filepath.Join(parent, "mail")
	sys := &fakeSystem{accounts: map[string]fakeAccount{
		"x@a/b":          {"pw", acl.SystemAccount{Name: "x@a/b", Email: "x@a/b", Domain: "a/b", Home: filepath.Join(mail, "x")}},
		"y@dots":         {"pw", acl.SystemAccount{Name: "y@dots", Email: "y@dots", Domain: "..", Home: filepath.Join(mail, "y")}},
		"z@escape":       {"pw", acl.SystemAccount{Name: "z@escape", Email: "z@escape", Domain: "escape", Home: mail + "/z/../../evil"}},
		"w@noemail":      {"pw", acl.SystemAccount{Name: "w@noemail", Domain: "noemail", Home: filepath.Join(mail, "w")}},
		"../evil@system": {"pw", acl.SystemAccount{Name: "../evil@system", Email: "e@system", Domain: "system", Home: filepath.Join(mail, "e")}},
	}}
	pw := hashOf(t, "pw")
	s := newSite(t, acl.SiteConfig{
		Home:   home,
		System: sys,
		Groups: []acl.Group{
			{Name: "bydomain", System: true, RestrictTo: "a/b;dots;system", Home: "d/$$domain$$/$$username$$"},
			{Name: "byhomedir", System: true, RestrictTo: "escape", Home: "$$homedir$$"},
			{Name: "byemail", System: true, RestrictTo: "noemail", Home: "m/$$email$$"},
		},
		Users: []acl.User{
			{Name: "../evil", Password: pw, Home: "users/$$username$$"},
			{Name: "..", Password: pw, Home: "$$username$$"},
			{Name: ".", Password: pw, Home: "u/$$username$$"},
			{Name: `..\evil`, Password: pw, Home: "$$username$$"},
			{Name: "a/b", Password: pw, Permissions: []acl.Permission{{Path: "$$username$$/", Rights: acl.All}}},
			{Name: "nul\x00x", Password: pw, Home: "$$username$$"},
			{Name: "alias/evil", Password: pw, Home: "safe"},
			{Name: "typo", Password: pw, Home: "$$usrname$$"},
			{Name: "unterminated", Password: pw, Home: "$$username"},
			{Name: "localmail", Password: pw, Home: "$$email$$"}, // a local user has no e-mail
			{Name: "nohomedir", Password: pw, Home: "$$homedir$$"},
		},
		Aliases: []acl.Alias{{Path: "/x", Target: "aliases/$$username$$"}},
	})
	for _, tc := range []struct{ name, why string }{
		{"../evil", "a user name with .. and a separator in the home"},
		{"..", "a user name that is .."},
		{".", "a user name that is ."},
		{`..\evil`, "a backslash"},
		{"a/b", "a separator in a permission path"},
		{"nul\x00x", "a NUL"},
		{"alias/evil", "a separator in an alias target"},
		{"typo", "an unknown variable"},
		{"unterminated", "an unterminated variable"},
		{"localmail", "an empty $$email$$"},
		{"nohomedir", "an empty $$homedir$$"},
		{"x@a/b", "a domain with a separator"},
		{"y@dots", "a domain that is .."},
		{"z@escape", "a $$homedir$$ with .."},
		{"../evil@system", "a system account name with .."},
		{"w@noemail", "a system account without e-mail"},
	} {
		sess, err := s.Login(t.Context(), tc.name, "pw")
		assert.ErrorIs(t, err, acl.ErrLogin, "%q: %s should refuse the login", tc.name, tc.why)
		assert.Nil(t, sess, "%q: no session", tc.name)
	}

	// Nothing appeared next to the site, nor in it.
	entries, err := os.ReadDir(parent)
	require.NoError(t, err, "ReadDir of the parent")
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Equal(t, []string{"site"}, names, "a refused login creates nothing outside the site home")
	var made []string
	require.NoError(t, filepath.WalkDir(home, func(p string, d fs.DirEntry, err error) error {
		if err == nil && p != home {
			made = append(made, p)
		}
		return err
	}), "WalkDir")
	sort.Strings(made)
	assert.Empty(t, made, "a refused login creates nothing at all, not even a home that would be safe")
}

func TestVarsExpand(t *testing.T) {
	v := acl.Vars{Username: "bob", Groupname: "staff", Homedir: "/var/mail/example.com/bob", Email: "bob@example.com", Domain: "example.com"}
	for in, want := range map[string]string{
		"":                                  "",
		"plain/path":                        "plain/path",
		"$$username$$":                      "bob",
		"users/$$UserName$$/":               "users/bob/",
		"$$groupname$$-$$username$$":        "staff-bob",
		"$$homedir$$/inbox":                 "/var/mail/example.com/bob/inbox",
		"/srv/$$domain$$/$$email$$":         "/srv/example.com/bob@example.com",
		"$$username$$$$username$$":          "bobbob",
		"price: $5 and $$username$$":        "price: $5 and bob",
		"a $$username$$ b $$groupname$$ c ": "a bob b staff c ",
	} {
		got, err := v.Expand(in)
		require.NoError(t, err, "Expand(%q)", in)
		assert.Equal(t, want, got, "Expand(%q)", in)
	}
	for _, in := range []string{"$$nope$$", "$$username", "x$$", "$$$$", "$$ username$$", "$$$username$$"} {
		_, err := v.Expand(in)
		assert.Error(t, err, "Expand(%q)", in)
	}
	for _, bad := range []acl.Vars{
		{Username: "a/b"}, {Username: `a\b`}, {Username: ".."}, {Username: "."}, {Username: ""}, {Username: "a\x00"},
	} {
		_, err := bad.Expand("home/$$username$$")
		assert.Error(t, err, "$$username$$ = %q", bad.Username)
	}
	for _, hd := range []string{"", "/a/../b", `C:\a\..\b`, "..", "a\x00"} {
		_, err := acl.Vars{Homedir: hd}.Expand("$$homedir$$")
		assert.Error(t, err, "$$homedir$$ = %q", hd)
	}
	got, err := acl.Vars{Homedir: `C:\mail\bob`}.Expand("$$homedir$$")
	require.NoError(t, err, "a Windows-style $$homedir$$")
	assert.Equal(t, `C:\mail\bob`, got, "separators are allowed in $$homedir$$")
	got, err = acl.Vars{Username: "..."}.Expand("$$username$$")
	require.NoError(t, err, "three dots are a name")
	assert.Equal(t, "...", got, "three dots")
}

func TestOptionsMerge(t *testing.T) {
	i := func(v int64) *int64 { return &v }
	f := func(v float64) *float64 { return &v }
	base := acl.Options{
		DownloadRate: i(1), UploadRate: i(2), DownloadAmount: i(3), UploadAmount: i(4), Ratio: f(5), RatioCredit: i(6),
	}
	over := acl.Options{
		DownloadRate: i(10), UploadRate: i(20), DownloadAmount: i(30), UploadAmount: i(40), Ratio: f(50), RatioCredit: i(60),
	}
	fields := []struct {
		name string
		get  func(acl.Options) any
		set  func(o *acl.Options, from acl.Options)
	}{
		{"DownloadRate", func(o acl.Options) any { return o.DownloadRate }, func(o *acl.Options, s acl.Options) { o.DownloadRate = s.DownloadRate }},
		{"UploadRate", func(o acl.Options) any { return o.UploadRate }, func(o *acl.Options, s acl.Options) { o.UploadRate = s.UploadRate }},
		{"DownloadAmount", func(o acl.Options) any { return o.DownloadAmount }, func(o *acl.Options, s acl.Options) { o.DownloadAmount = s.DownloadAmount }},
		{"UploadAmount", func(o acl.Options) any { return o.UploadAmount }, func(o *acl.Options, s acl.Options) { o.UploadAmount = s.UploadAmount }},
		{"Ratio", func(o acl.Options) any { return o.Ratio }, func(o *acl.Options, s acl.Options) { o.Ratio = s.Ratio }},
		{"RatioCredit", func(o acl.Options) any { return o.RatioCredit }, func(o *acl.Options, s acl.Options) { o.RatioCredit = s.RatioCredit }},
	}
	// One field set in over at a time: that field changes, no other.
	for _, fld := range fields {
		var only acl.Options
		fld.set(&only, over)
		got := base.Merge(only)
		for _, other := range fields {
			want := other.get(base)
			if other.name == fld.name {
				want = other.get(over)
			}
			assert.Equal(t, want, other.get(got), "Merge with only %s set: %s", fld.name, other.name)
		}
	}
	assert.Equal(t, base, base.Merge(acl.Options{}), "merging nothing changes nothing")
	assert.Equal(t, over, acl.Options{}.Merge(over), "merging over nothing takes everything")
	assert.Equal(t, over, base.Merge(over), "every field set: the override wins")
	zero := base.Merge(acl.Options{DownloadRate: i(0)})
	assert.Equal(t, int64(0), *zero.DownloadRate, "a user's explicit 0 (unlimited) overrides the group's limit")

	// In a session: the group's options, with the user's over them.
	s := newSite(t, acl.SiteConfig{
		Home:   t.TempDir(),
		Groups: []acl.Group{{Name: "g", Options: acl.Options{DownloadRate: i(100), UploadRate: i(200)}}},
		Users:  []acl.User{{Name: "u", Password: hashOf(t, "pw"), Group: "g", Options: acl.Options{UploadRate: i(0), Ratio: f(2)}}},
	})
	sess, err := s.Login(t.Context(), "u", "pw")
	require.NoError(t, err, "login")
	assert.Equal(t, acl.Options{DownloadRate: i(100), UploadRate: i(0), Ratio: f(2)}, sess.Options,
		"session options: group's, overridden by the user's field by field")
}

func TestUserType(t *testing.T) {
	for _, ut := range []acl.UserType{acl.Local, acl.System, acl.Anonymous} {
		got, err := acl.ParseUserType(ut.String())
		require.NoError(t, err, "ParseUserType(%q)", ut.String())
		assert.Equal(t, ut, got, "round trip of %v", ut)
	}
	got, err := acl.ParseUserType("")
	require.NoError(t, err, "an empty type")
	assert.Equal(t, acl.Local, got, "the default type is local")
	got, err = acl.ParseUserType("SYSTEM")
	require.NoError(t, err, "types are case-insensitive")
	assert.Equal(t, acl.System, got, "SYSTEM")
	_, err = acl.ParseUserType("admin")
	assert.Error(t, err, "an unknown type")
	assert.Equal(t, "UserType(9)", acl.UserType(9).String(), "String of an unknown type")
}

func TestConcurrentLogins(t *testing.T) {
	home := t.TempDir()
	s := newSite(t, acl.SiteConfig{
		Home:   home,
		Groups: []acl.Group{{Name: "g", Home: "shared/$$groupname$$"}},
		Users: []acl.User{
			{Name: "a", Password: hashOf(t, "pw"), Group: "g"},
			{Name: "b", Password: hashOf(t, "pw"), Group: "g"},
			{Name: "anonymous", Type: acl.Anonymous, Home: "anon/$$username$$"},
		},
	})
	errs := make(chan error, 30)
	for i := range cap(errs) {
		go func() {
			name := []string{"a", "b", "ftp"}[i%3]
			_, err := s.Login(t.Context(), name, "pw")
			errs <- err
		}()
	}
	for range cap(errs) {
		assert.NoError(t, <-errs, "concurrent logins creating the same homes")
	}
	assertDir(t, filepath.Join(home, "shared", "g"), "the group home")
}

// lookupSystem is fakeSystem with acl.SystemLookup.
type lookupSystem struct{ *fakeSystem }

func (l lookupSystem) Lookup(_ context.Context, name string) (*acl.SystemAccount, error) {
	a, ok := l.accounts[strings.ToLower(name)]
	if !ok {
		return nil, errors.New("no account")
	}
	return &a.SystemAccount, nil
}

// TestLoginVerified: a login verified by other means (a one-time password)
// gets the same session as a password login, without the password; the
// anonymous user and unknown users get none, and system accounts need
// SystemLookup.
func TestLoginVerified(t *testing.T) {
	home := t.TempDir()
	sys := &fakeSystem{accounts: map[string]fakeAccount{
		"eve@example.com": {password: "pw", SystemAccount: acl.SystemAccount{Name: "eve@example.com", Email: "eve@example.com", Domain: "example.com", Home: "/mail/eve"}},
	}}
	cfg := acl.SiteConfig{
		Home: home,
		Users: []acl.User{
			{Name: "alice", Password: hashOf(t, "secret"), Home: "alice"},
			{Name: "anonymous", Type: acl.Anonymous},
		},
		Groups: []acl.Group{{Name: "mail", System: true, RestrictTo: "example.com", Home: "$$domain$$"}},
		System: lookupSystem{sys},
	}
	site, err := acl.NewSite(cfg)
	require.NoError(t, err, "NewSite")
	ctx := context.Background()

	sess, err := site.LoginVerified(ctx, "alice")
	require.NoError(t, err, "a local user")
	assert.Equal(t, filepath.Join(home, "alice"), sess.Home, "the user's home")
	sess, err = site.LoginVerified(ctx, "eve@example.com")
	require.NoError(t, err, "a member of a system group")
	assert.Equal(t, "mail", sess.Group)
	assert.Equal(t, filepath.Join(home, "example.com"), sess.Home, "$$domain$$ from the looked-up account")
	assert.Zero(t, sys.calls.Load(), "no password was checked")

	for _, name := range []string{"anonymous", "nobody", "eve@other.org"} {
		_, err := site.LoginVerified(ctx, name)
		assert.ErrorIs(t, err, acl.ErrLogin, "%s has no verified login", name)
	}

	cfg.System = sys // without SystemLookup
	site, err = acl.NewSite(cfg)
	require.NoError(t, err, "NewSite")
	_, err = site.LoginVerified(ctx, "eve@example.com")
	assert.ErrorIs(t, err, acl.ErrLogin, "system accounts need SystemLookup")
}
