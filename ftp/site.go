package ftp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"sync/atomic"

	"github.com/ferryftp/ferry/acl"
	"github.com/ferryftp/ferry/quota"
	"github.com/ferryftp/ferry/vfs"
	"github.com/ferryftp/ferry/vfs/mount"
	"github.com/ferryftp/ferry/vfs/osfs"
)

// Authorizer decides whether the session may use a right in a directory.
// dir is the virtual directory relative to the user's root, without
// leading or trailing slashes: "" for the root, "pub/incoming" below it.
// A refusal is answered "550 Permission denied."; see the README for which
// command needs which right. [acl.Policy] implements it.
type Authorizer interface {
	Authorize(ctx context.Context, dir string, want acl.Right) error
}

// SiteAuthenticator logs users into an [acl.Site]: each session gets its
// home directory (confined with os.Root) with its aliases mounted, and its
// path permissions as the [Authorizer].
type SiteAuthenticator struct {
	site atomic.Pointer[acl.Site]

	// Quota, when set before serving, holds the users' limits and
	// counters: each session gets its user's shared state, with the
	// options of the user merged over the group's.
	Quota *quota.Manager
}

// NewSiteAuthenticator returns an authenticator for site.
func NewSiteAuthenticator(site *acl.Site) *SiteAuthenticator {
	a := &SiteAuthenticator{}
	a.site.Store(site)
	return a
}

// SetSite replaces the site, for a configuration reload: new logins see it
// at once, sessions already logged in keep what they had. Safe for
// concurrent use.
func (a *SiteAuthenticator) SetSite(site *acl.Site) { a.site.Store(site) }

// Site returns the current site.
func (a *SiteAuthenticator) Site() *acl.Site { return a.site.Load() }

// Login implements Authenticator.
func (a *SiteAuthenticator) Login(ctx context.Context, li *LoginInfo) (*User, error) {
	site := a.site.Load()
	if site == nil {
		return nil, errors.New("ftp: SiteAuthenticator has no site")
	}
	return a.user(site.Login(ctx, li.User, li.Password))
}

// LoginVerified is Login for a user whose identity another check has
// already proved (a one-time password, see [OTPAuthenticator]): the
// session comes from the site without the password.
func (a *SiteAuthenticator) LoginVerified(ctx context.Context, name string) (*User, error) {
	site := a.site.Load()
	if site == nil {
		return nil, errors.New("ftp: SiteAuthenticator has no site")
	}
	return a.user(site.LoginVerified(ctx, name))
}

// user turns a site session into the engine's User, with its quota.
func (a *SiteAuthenticator) user(sess *acl.Session, err error) (*User, error) {
	if err != nil {
		return nil, err
	}
	u, err := SessionUser(sess)
	if err != nil {
		return nil, err
	}
	if a.Quota != nil {
		u.Quota = a.Quota.User(sess.User, QuotaLimits(sess.Options))
	}
	return u, nil
}

// QuotaLimits converts a user's acl options to quota limits (unset means
// unlimited).
func QuotaLimits(o acl.Options) quota.Limits {
	v := func(p *int64) int64 {
		if p == nil {
			return 0
		}
		return *p
	}
	l := quota.Limits{
		DownloadRate:   v(o.DownloadRate),
		UploadRate:     v(o.UploadRate),
		DownloadAmount: v(o.DownloadAmount),
		UploadAmount:   v(o.UploadAmount),
		RatioCredit:    v(o.RatioCredit),
	}
	if o.Ratio != nil {
		l.Ratio = *o.Ratio
	}
	return l
}

// SessionUser opens the file systems of an acl session: the home confined
// with os.Root, and each alias mounted on it. The returned user's Release
// closes them.
func SessionUser(sess *acl.Session) (*User, error) {
	root, err := osfs.New(sess.Home)
	if err != nil {
		return nil, fmt.Errorf("ftp: opening home of %q: %w", sess.User, err)
	}
	closers := []io.Closer{root}
	release := func() {
		for _, c := range closers {
			c.Close()
		}
	}
	var fsys vfs.FS = root
	if len(sess.Mounts) > 0 {
		m := mount.New(root)
		for _, mt := range sess.Mounts {
			sub, err := osfs.New(mt.Dir)
			if err != nil {
				release()
				return nil, fmt.Errorf("ftp: alias %s of %q: %w", mt.Path, sess.User, err)
			}
			closers = append(closers, sub)
			if err := m.Mount(mt.Path, sub); err != nil {
				release()
				return nil, err
			}
		}
		fsys = m
	}
	return &User{
		Name:       sess.User,
		FS:         fsys,
		Authorizer: sess.Policy,
		Release:    release,
		Session:    sess,
	}, nil
}

// errDenied is the reply to a refused right: neutral, naming no rule.
var errDenied = &Error{Code: StatusFileUnavailable, Msg: "Permission denied."}

// allow asks the session's Authorizer for want in the virtual directory
// dir (absolute, clean). A nil Authorizer allows everything.
func (c *conn) allow(dir string, want acl.Right) error {
	if c.user == nil || c.user.Authorizer == nil {
		return nil
	}
	rel := strings.Trim(dir, "/")
	if err := c.user.Authorizer.Authorize(c.ctx, rel, want); err != nil {
		c.log.Info("permission denied", "dir", "/"+rel, "right", want.String())
		return &Error{Code: StatusFileUnavailable, Msg: errDenied.Msg, Err: err}
	}
	return nil
}

// allowIn asks for want in the directory that holds the virtual path virt.
func (c *conn) allowIn(virt string, want acl.Right) error {
	return c.allow(path.Dir(virt), want)
}

// allows reports whether want is granted in dir, without logging.
func (c *conn) allows(dir string, want acl.Right) bool {
	if c.user == nil || c.user.Authorizer == nil {
		return true
	}
	return c.user.Authorizer.Authorize(c.ctx, strings.Trim(dir, "/"), want) == nil
}
