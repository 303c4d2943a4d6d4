package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync/atomic"

	"github.com/ferryftp/ferry/acl"
	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftp/w3c"
	"github.com/ferryftp/ferry/quota"
	"github.com/ferryftp/ferry/skey"
)

// siteState is what a site keeps across reloads, found by the site's
// name: the counters and limiters that sessions share, the one-time
// password authenticator with its pending challenges, and the access log.
type siteState struct {
	name      string
	quota     *quota.Manager
	quotaPath string             // of quota's store, "" for memory only
	conns     *quota.ConnLimiter // connections to the site's address, counted at connect
	hostConns *quota.ConnLimiter // sessions that chose the site by HOST, counted at login
	otp       *ftp.OTPAuthenticator
	otpStore  otpSwitch
	login     *siteLogin // of the site's default virtual host
	hostLogin *siteLogin // of its virtual hosts chosen by HOST
	accessLog accessLogSwitch
	logSpec   *logSpec // of the writer in accessLog
}

// siteRuntime is a site as one configuration serves it.
type siteRuntime struct {
	spec  *siteSpec
	st    *siteState
	auth  *ftp.SiteAuthenticator
	def   *ftp.VirtualHost // for clients without HOST
	named map[string]*ftp.VirtualHost
}

// otp reports whether the site has one-time passwords.
func (s *siteRuntime) otp() bool { return s.spec.otpState != "" }

// anonymousOK reports whether the site has an anonymous user.
func (s *siteRuntime) anonymousOK() bool { return s.spec.anonymous }

// siteLogin is the Authenticator of a site's virtual hosts. It reads the
// configuration in force at each call, so a session that chose the site
// before a reload logs in with the users after it.
//
// The engine applies a site's access rules and connection limits at
// connect, to the default site of the address. For a site chosen by HOST,
// siteLogin applies them at login: the access rules at USER and PASS,
// max_users and max_per_ip to the sessions logged in by HOST.
type siteLogin struct {
	d      *daemon
	name   string
	byHost bool
}

var (
	_ ftp.Authenticator = (*siteLogin)(nil)
	_ ftp.Challenger    = (*siteLogin)(nil)
)

var errAccessDenied = &ftp.Error{Code: ftp.StatusNotLoggedIn, Msg: "Access denied."}

func (l *siteLogin) site(li *ftp.LoginInfo) (*siteRuntime, error) {
	s := l.d.cur.Load().sites[l.name]
	if s == nil {
		return nil, errNoSite
	}
	if a := s.spec.access; a != nil && !a.Allow(li.Remote.Addr()) {
		return nil, errAccessDenied
	}
	if l.byHost {
		c := s.st.hostConns
		if (s.spec.maxUsers > 0 && c.Count() >= s.spec.maxUsers) || (s.spec.maxPerIP > 0 && c.CountIP(li.Remote.Addr()) >= s.spec.maxPerIP) {
			return nil, errTooMany
		}
	}
	return s, nil
}

var errTooMany = &ftp.Error{Code: ftp.StatusServiceNotAvailable, Msg: "Too many users logged in to this site; try again later."}

// Challenge implements ftp.Challenger.
func (l *siteLogin) Challenge(ctx context.Context, li *ftp.LoginInfo) (string, error) {
	s, err := l.site(li)
	if err != nil {
		return "", err
	}
	if isAnonymousUser(li.User) && s.anonymousOK() {
		return "Anonymous login ok, send your e-mail address as password.", nil
	}
	if s.otp() {
		return s.st.otp.Challenge(ctx, li)
	}
	return "", nil
}

// Login implements ftp.Authenticator.
func (l *siteLogin) Login(ctx context.Context, li *ftp.LoginInfo) (*ftp.User, error) {
	s, err := l.site(li)
	if err != nil {
		return nil, err
	}
	var u *ftp.User
	if s.otp() {
		u, err = s.st.otp.Login(ctx, li)
	} else {
		u, err = s.auth.Login(ctx, li)
	}
	if err != nil {
		return nil, err
	}
	if l.byHost {
		release, err := s.st.hostConns.Acquire(li.Remote.Addr())
		if err != nil {
			if u.Release != nil {
				u.Release()
			}
			return nil, errTooMany
		}
		if prev := u.Release; prev != nil {
			u.Release = func() { prev(); release() }
		} else {
			u.Release = release
		}
	}
	if u.Session != nil && u.Session.Type != acl.Anonymous && s.spec.admins[strings.ToLower(u.Session.User)] {
		u.Admin = true
	}
	return u, nil
}

// newSiteState makes the state of a site that was not served before.
func (d *daemon) newSiteState(ctx context.Context, spec *siteSpec) (*siteState, error) {
	st := &siteState{name: spec.name, conns: &quota.ConnLimiter{}, hostConns: &quota.ConnLimiter{}, quotaPath: spec.quotaState}
	st.login = &siteLogin{d: d, name: spec.name}
	st.hostLogin = &siteLogin{d: d, name: spec.name, byHost: true}
	st.quota = &quota.Manager{Period: spec.quotaPeriod, Logger: d.log.With("site", spec.name)}
	if spec.quotaState != "" {
		if err := mkdirFor(spec.quotaState); err != nil {
			return nil, fmt.Errorf("site %s: quota state: %w", spec.name, err)
		}
		st.quota.Store = quota.NewFileStore(spec.quotaState)
		if err := st.quota.Load(ctx); err != nil {
			return nil, fmt.Errorf("site %s: %w", spec.name, err)
		}
	}
	current := func() (*siteRuntime, error) {
		if s := d.cur.Load().sites[spec.name]; s != nil {
			return s, nil
		}
		return nil, errNoSite
	}
	st.otp = &ftp.OTPAuthenticator{
		Store: &st.otpStore,
		// The one-time password replaced the password: the user's
		// session comes from the site without one.
		Lookup: func(ctx context.Context, li *ftp.LoginInfo) (*ftp.User, error) {
			s, err := current()
			if err != nil {
				return nil, err
			}
			return s.auth.LoginVerified(ctx, li.User)
		},
		Next: ftp.AuthenticatorFunc(func(ctx context.Context, li *ftp.LoginInfo) (*ftp.User, error) {
			s, err := current()
			if err != nil {
				return nil, err
			}
			return s.auth.Login(ctx, li)
		}),
		Required: func(user string) bool {
			s, err := current()
			if err != nil || isAnonymousUser(user) {
				return false
			}
			if v, ok := s.spec.otpUsers[strings.ToLower(user)]; ok {
				return v
			}
			return s.spec.requireOTP
		},
		Logger: d.log.With("site", spec.name),
	}
	return st, nil
}

// otpSwitch is the OTP store of a site: the state file the configuration
// in force names, which a reload may change.
type otpSwitch struct {
	f atomic.Pointer[otpFile]
}

var _ ftp.OTPStore = (*otpSwitch)(nil)

func (s *otpSwitch) LoadOTP(ctx context.Context, user string) (skey.State, error) {
	f := s.f.Load()
	if f == nil {
		return skey.State{}, fs.ErrNotExist
	}
	return f.LoadOTP(ctx, user)
}

func (s *otpSwitch) StoreOTP(ctx context.Context, user string, st skey.State) error {
	f := s.f.Load()
	if f == nil {
		return errors.New("one-time passwords are no longer configured")
	}
	return f.StoreOTP(ctx, user, st)
}

// accessLogSwitch is the access log of a site: the W3C writer of the
// configuration in force, none when it is nil.
type accessLogSwitch struct {
	w atomic.Pointer[w3c.Writer]
}

var _ ftp.AccessLogger = (*accessLogSwitch)(nil)

func (s *accessLogSwitch) LogAccess(e *ftp.LogEntry) {
	if w := s.w.Load(); w != nil {
		w.LogAccess(e)
	}
}
