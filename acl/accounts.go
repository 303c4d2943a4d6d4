package acl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// UserType is how a user authenticates.
type UserType uint8

const (
	// Local users have a password hash stored with the user.
	Local UserType = iota
	// System users authenticate against the embedding application's
	// accounts ([SystemAccounts]).
	System
	// Anonymous users ("anonymous" or "ftp") log in with any password,
	// which is taken as their e-mail address.
	Anonymous
)

func (t UserType) String() string {
	switch t {
	case Local:
		return "local"
	case System:
		return "system"
	case Anonymous:
		return "anonymous"
	}
	return fmt.Sprintf("UserType(%d)", uint8(t))
}

// ParseUserType parses "local", "system" or "anonymous".
func ParseUserType(s string) (UserType, error) {
	switch strings.ToLower(s) {
	case "local", "":
		return Local, nil
	case "system":
		return System, nil
	case "anonymous":
		return Anonymous, nil
	}
	return 0, fmt.Errorf("acl: unknown user type %q (want local, system or anonymous)", s)
}

// Options are a user's or group's limits. A nil field is not set: the
// user's own value overrides the group's, field by field. Zero means
// unlimited. They are enforced by package quota.
type Options struct {
	DownloadRate   *int64   // bytes per second
	UploadRate     *int64   // bytes per second
	DownloadAmount *int64   // bytes per period
	UploadAmount   *int64   // bytes per period
	Ratio          *float64 // bytes to upload for each byte downloaded
	RatioCredit    *int64   // bytes that may be downloaded before any upload
}

// Merge returns o with every field that is set in over replaced.
func (o Options) Merge(over Options) Options {
	pick := func(a, b *int64) *int64 {
		if b != nil {
			return b
		}
		return a
	}
	o.DownloadRate = pick(o.DownloadRate, over.DownloadRate)
	o.UploadRate = pick(o.UploadRate, over.UploadRate)
	o.DownloadAmount = pick(o.DownloadAmount, over.DownloadAmount)
	o.UploadAmount = pick(o.UploadAmount, over.UploadAmount)
	o.RatioCredit = pick(o.RatioCredit, over.RatioCredit)
	if over.Ratio != nil {
		o.Ratio = over.Ratio
	}
	return o
}

// User is an account of a site.
type User struct {
	Name        string
	DisplayName string
	Type        UserType
	// Password is the hash from HashPassword (Local users).
	Password string
	// Account names the system account (System users); empty means Name.
	Account string
	// Group is the user's group, "" for none.
	Group string
	// Home overrides the group's and the site's home directory. It may
	// hold path variables; a relative path is taken from the site home.
	Home        string
	Permissions []Permission
	Options     Options
}

// Group is a set of users sharing a home, permissions and options.
type Group struct {
	Name        string
	Description string
	Home        string
	// System makes the group's members the embedding application's
	// accounts: any system account that RestrictTo admits logs in as a
	// member of this group.
	System bool
	// RestrictTo limits a System group to domains and accounts:
	// "domain.com;user@other.com". Empty admits every account.
	RestrictTo  string
	Permissions []Permission
	Options     Options
}

// Alias shows a real directory at a virtual path of every user's tree.
type Alias struct {
	// Path is the virtual path from the user's root, e.g. "/shared".
	Path string
	// Target is the real directory, absolute or relative to the site
	// home; it may hold path variables.
	Target string
}

// SystemAccount is what the embedding application knows of an account.
type SystemAccount struct {
	Name   string // the login name, e.g. "john@example.com"
	Email  string
	Domain string
	Home   string // the account's own folder ($$homedir$$)
}

// SystemAccounts authenticates the embedding application's accounts.
type SystemAccounts interface {
	Authenticate(ctx context.Context, name, password string) (*SystemAccount, error)
}

// SystemAccountsFunc adapts a function to SystemAccounts.
type SystemAccountsFunc func(ctx context.Context, name, password string) (*SystemAccount, error)

// Authenticate calls f.
func (f SystemAccountsFunc) Authenticate(ctx context.Context, name, password string) (*SystemAccount, error) {
	return f(ctx, name, password)
}

// SystemLookup is an optional interface of SystemAccounts: the facts of an
// account without its password, for logins verified another way (an RFC
// 2289 one-time password). See Site.LoginVerified.
type SystemLookup interface {
	Lookup(ctx context.Context, name string) (*SystemAccount, error)
}

// ErrLogin is returned for any failed login; the reason is logged, not
// told to the client.
var ErrLogin = errors.New("acl: login incorrect")

// Site holds the accounts and policy of one FTP site. Build it with
// NewSite; it is immutable afterwards and safe for concurrent use (a
// configuration reload builds a new Site).
type Site struct {
	home    string
	users   map[string]*User // by lower-case name
	groups  []*Group         // in order
	byName  map[string]*Group
	aliases []Alias
	system  SystemAccounts
	cache   *credCache
	mkdirMu sync.Mutex
}

// SiteConfig describes a site for NewSite.
type SiteConfig struct {
	// Home is the site's home directory, the default home of its users.
	Home    string
	Users   []User
	Groups  []Group
	Aliases []Alias
	// System authenticates System users and members of System groups.
	System SystemAccounts
	// CacheTTL is how long a verified local password is remembered
	// (see HashPassword); zero means 5 minutes, negative disables it.
	CacheTTL time.Duration
}

// NewSite validates cfg and builds the site. It reports every problem at
// once.
func NewSite(cfg SiteConfig) (*Site, error) {
	s := &Site{
		home:    cfg.Home,
		users:   make(map[string]*User),
		byName:  make(map[string]*Group),
		aliases: cfg.Aliases,
		system:  cfg.System,
	}
	ttl := cfg.CacheTTL
	if ttl == 0 {
		ttl = 5 * time.Minute
	}
	if ttl > 0 {
		s.cache = newCredCache(ttl)
	}
	var errs []error
	for i := range cfg.Groups {
		g := cfg.Groups[i]
		if g.Name == "" {
			errs = append(errs, fmt.Errorf("acl: group %d has no name", i+1))
			continue
		}
		if _, dup := s.byName[strings.ToLower(g.Name)]; dup {
			errs = append(errs, fmt.Errorf("acl: group %q defined twice", g.Name))
			continue
		}
		if _, err := NewPolicy(g.Permissions); err != nil {
			errs = append(errs, fmt.Errorf("acl: group %q: %w", g.Name, err))
		}
		if g.System && cfg.System == nil {
			errs = append(errs, fmt.Errorf("acl: group %q integrates system accounts but the site has none", g.Name))
		}
		s.groups = append(s.groups, &g)
		s.byName[strings.ToLower(g.Name)] = &g
	}
	for i := range cfg.Users {
		u := cfg.Users[i]
		key := strings.ToLower(u.Name)
		switch {
		case u.Name == "":
			errs = append(errs, fmt.Errorf("acl: user %d has no name", i+1))
			continue
		case s.users[key] != nil:
			errs = append(errs, fmt.Errorf("acl: user %q defined twice", u.Name))
			continue
		}
		if u.Group != "" && s.byName[strings.ToLower(u.Group)] == nil {
			errs = append(errs, fmt.Errorf("acl: user %q: group %q does not exist", u.Name, u.Group))
		}
		switch u.Type {
		case Local:
			if !ValidHash(u.Password) {
				errs = append(errs, fmt.Errorf("acl: user %q: password is not a hash from HashPassword", u.Name))
			}
		case System:
			if cfg.System == nil {
				errs = append(errs, fmt.Errorf("acl: user %q is a system user but the site has no system accounts", u.Name))
			}
		case Anonymous:
			if !isAnonymous(u.Name) {
				errs = append(errs, fmt.Errorf("acl: anonymous user must be named \"anonymous\" or \"ftp\", not %q", u.Name))
			}
		}
		if _, err := NewPolicy(u.Permissions); err != nil {
			errs = append(errs, fmt.Errorf("acl: user %q: %w", u.Name, err))
		}
		s.users[key] = &u
	}
	for _, a := range cfg.Aliases {
		if strings.Trim(a.Path, "/") == "" || a.Target == "" {
			errs = append(errs, fmt.Errorf("acl: alias %q -> %q: both path and target are needed", a.Path, a.Target))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

func isAnonymous(name string) bool {
	return strings.EqualFold(name, "anonymous") || strings.EqualFold(name, "ftp")
}

// Session is the outcome of a login: who the user is and what they may
// see and do.
type Session struct {
	User    string
	Group   string // "" when none
	Type    UserType
	Email   string // the anonymous password, or the system account's
	Home    string // real directory
	Policy  *Policy
	Options Options
	// Mounts are the aliases of the session, virtual path (clean,
	// absolute) to real directory, site-wide ones first.
	Mounts []Mount
}

// Mount is an alias resolved for one session.
type Mount struct {
	Path string // virtual, absolute, clean: "/shared"
	Dir  string // real directory
}

// Login authenticates name and password and returns the session. Every
// failure is ErrLogin, wrapped with the reason for logs.
func (s *Site) Login(ctx context.Context, name, password string) (*Session, error) {
	if u := s.user(name); u != nil {
		return s.loginUser(ctx, u, password)
	}
	if isAnonymous(name) {
		if u := s.anonymousUser(); u != nil {
			return s.loginUser(ctx, u, password)
		}
	}
	if u := s.systemMember(name); u != nil {
		return s.loginUser(ctx, u, password)
	}
	// Pay for a key derivation anyway, so that the time of the answer
	// does not tell unknown users from known ones.
	CheckPassword(dummyHash(), password)
	return nil, fmt.Errorf("%w: no user %q", ErrLogin, name)
}

var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("ferry dummy password")
	return h
})

// LoginVerified returns the session of a user whose identity the caller
// has verified by other means than the password, such as an RFC 2289
// one-time password. Anonymous users are refused (they have no identity
// to verify); system users need SystemAccounts that implement
// SystemLookup.
func (s *Site) LoginVerified(ctx context.Context, name string) (*Session, error) {
	u := s.user(name)
	if u == nil {
		u = s.systemMember(name)
	}
	if u == nil {
		return nil, fmt.Errorf("%w: no user %q", ErrLogin, name)
	}
	switch u.Type {
	case Local:
		return s.session(u, nil, "")
	case System:
		sl, ok := s.system.(SystemLookup)
		if !ok {
			return nil, fmt.Errorf("%w: system accounts cannot be looked up without a password", ErrLogin)
		}
		acctName := u.accountName()
		acct, err := sl.Lookup(ctx, acctName)
		if err != nil || acct == nil {
			return nil, fmt.Errorf("%w: system account %q: %v", ErrLogin, acctName, err)
		}
		return s.session(u, acct, "")
	}
	return nil, fmt.Errorf("%w: %s user %q has no verified login", ErrLogin, u.Type, u.Name)
}

func (s *Site) user(name string) *User { return s.users[strings.ToLower(name)] }

// systemMember is the user of a system account not configured as a user:
// a member of the first system group that admits it, or nil.
func (s *Site) systemMember(name string) *User {
	for _, g := range s.groups {
		if g.System && restrictAdmits(g.RestrictTo, name) {
			return &User{Name: name, Type: System, Group: g.Name}
		}
	}
	return nil
}

// accountName is the system account a system user logs in as.
func (u *User) accountName() string {
	if u.Account != "" {
		return u.Account
	}
	return u.Name
}

func (s *Site) anonymousUser() *User {
	if u := s.users["anonymous"]; u != nil && u.Type == Anonymous {
		return u
	}
	if u := s.users["ftp"]; u != nil && u.Type == Anonymous {
		return u
	}
	return nil
}

func (s *Site) loginUser(ctx context.Context, u *User, password string) (*Session, error) {
	switch u.Type {
	case Anonymous:
		return s.session(u, nil, password)
	case Local:
		var ok bool
		var err error
		if s.cache != nil {
			ok, err = s.cache.check(strings.ToLower(u.Name), u.Password, password)
		} else {
			ok, err = CheckPassword(u.Password, password)
		}
		if err != nil || !ok {
			return nil, fmt.Errorf("%w: wrong password for %q", ErrLogin, u.Name)
		}
		return s.session(u, nil, "")
	case System:
		acctName := u.accountName()
		acct, err := s.system.Authenticate(ctx, acctName, password)
		if err != nil || acct == nil {
			return nil, fmt.Errorf("%w: system account %q: %v", ErrLogin, acctName, err)
		}
		return s.session(u, acct, "")
	}
	return nil, fmt.Errorf("%w: user %q has an unknown type", ErrLogin, u.Name)
}

// restrictAdmits applies a group's "restrict to" list to an account name.
func restrictAdmits(restrict, name string) bool {
	if strings.TrimSpace(restrict) == "" {
		return true
	}
	_, domain, _ := strings.Cut(name, "@")
	for _, r := range strings.Split(restrict, ";") {
		r = strings.TrimSpace(r)
		switch {
		case r == "":
		case strings.Contains(r, "@"):
			if strings.EqualFold(r, name) {
				return true
			}
		case domain != "" && strings.EqualFold(r, domain):
			return true
		}
	}
	return false
}

// session builds the session of an authenticated user.
func (s *Site) session(u *User, acct *SystemAccount, email string) (*Session, error) {
	var g *Group
	if u.Group != "" {
		g = s.byName[strings.ToLower(u.Group)]
	}
	vars := Vars{Username: u.Name}
	if g != nil {
		vars.Groupname = g.Name
	}
	if acct != nil {
		vars.Email, vars.Domain, vars.Homedir = acct.Email, acct.Domain, acct.Home
		email = acct.Email
	}
	home := s.home
	if g != nil && g.Home != "" {
		home = g.Home
	}
	if u.Home != "" {
		home = u.Home
	}
	home, err := vars.Expand(home)
	if err != nil {
		return nil, fmt.Errorf("%w: home of %q: %v", ErrLogin, u.Name, err)
	}
	home = s.realPath(home)
	if home == "" {
		return nil, fmt.Errorf("%w: user %q has no home directory", ErrLogin, u.Name)
	}
	var groupPerms []Permission
	var opts Options
	if g != nil {
		groupPerms = g.Permissions
		opts = g.Options
	}
	gp, err := vars.expandPerms(groupPerms)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrLogin, err)
	}
	up, err := vars.expandPerms(u.Permissions)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrLogin, err)
	}
	if len(gp) == 0 && len(up) == 0 {
		// No entry anywhere: every right for accounts, read-only
		// for anonymous users.
		def := Permission{Path: "*", Recursive: true, Rights: All}
		if u.Type == Anonymous {
			def.Rights = ReadOnly
		}
		up = []Permission{def}
	}
	pol, err := NewPolicy(gp, up)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrLogin, err)
	}
	sess := &Session{
		User:    u.Name,
		Type:    u.Type,
		Email:   email,
		Home:    home,
		Policy:  pol,
		Options: opts.Merge(u.Options),
	}
	if g != nil {
		sess.Group = g.Name
	}
	for _, a := range s.aliases {
		target, err := vars.Expand(a.Target)
		if err != nil {
			return nil, fmt.Errorf("%w: alias %q: %v", ErrLogin, a.Path, err)
		}
		p, err := vars.Expand(a.Path)
		if err != nil {
			return nil, fmt.Errorf("%w: alias %q: %v", ErrLogin, a.Path, err)
		}
		sess.Mounts = append(sess.Mounts, Mount{Path: cleanVirtual(p), Dir: s.realPath(target)})
	}
	for _, e := range pol.Aliases() {
		sess.Mounts = append(sess.Mounts, Mount{Path: cleanVirtual(e.Path), Dir: s.realPath(e.FullPath)})
	}
	// A home that does not exist is created at first login, once
	// everything else has been accepted: a refused login creates nothing.
	s.mkdirMu.Lock()
	err = os.MkdirAll(home, 0o755)
	s.mkdirMu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("%w: creating home of %q: %v", ErrLogin, u.Name, err)
	}
	return sess, nil
}

// realPath makes a configured directory absolute, relative ones from the
// site home.
func (s *Site) realPath(p string) string {
	if p == "" {
		return ""
	}
	if !filepath.IsAbs(p) && s.home != "" {
		p = filepath.Join(s.home, p)
	}
	return filepath.Clean(p)
}

// cleanVirtual cleans a virtual path as a rooted, slash-separated one.
func cleanVirtual(p string) string { return path.Clean("/" + p) }

// Users returns the names of the site's configured users.
func (s *Site) Users() []string {
	names := make([]string, 0, len(s.users))
	for _, u := range s.users {
		names = append(names, u.Name)
	}
	return names
}

// Forget drops any remembered verification of user's password; call it
// when a user is changed or removed outside a reload. Names compare
// without regard to case, as at login.
func (s *Site) Forget(user string) {
	if s.cache != nil {
		s.cache.forget(strings.ToLower(user))
	}
}
