package ftp

import (
	"context"
	"errors"
	"path"
	"time"
)

// USER, RFC 959 4.1.1.
func (c *conn) cmdUSER(arg string) error {
	if c.state == stateLoggedIn {
		return errReply(StatusNotLoggedIn, "Can't change to another user; use REIN first.")
	}
	if c.loginTLSRequired(arg) {
		return errReply(StatusNotLoggedIn, "TLS required: use AUTH TLS before USER.")
	}
	c.userName = arg
	c.state = stateNeedPass
	text := "Password required for " + arg + "."
	if ch, ok := c.auth().(Challenger); ok {
		ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
		defer cancel()
		t, err := ch.Challenge(ctx, c.loginInfo(""))
		if err != nil {
			c.state = stateNeedUser
			var fe *Error
			if errors.As(err, &fe) {
				return fe
			}
			c.log.Warn("user refused", "user", arg, "err", err)
			return errReply(StatusNotLoggedIn, "Login incorrect.")
		}
		if t != "" {
			text = t
		}
	}
	return c.reply(StatusNeedPassword, text)
}

func (c *conn) loginInfo(pass string) *LoginInfo {
	li := &LoginInfo{User: c.userName, Password: pass, Remote: c.remote, Local: c.local}
	if c.tls != nil {
		cs := c.tls.ConnectionState()
		li.TLS = &cs
	}
	return li
}

// PASS, RFC 959 4.1.1.
func (c *conn) cmdPASS(arg string) error {
	switch c.state {
	case stateLoggedIn:
		return c.reply(StatusSuperfluous, "Already logged in.")
	case stateNeedUser:
		return errReply(StatusBadSequence, "Login with USER first.")
	}
	u, err := c.login(arg)
	if err != nil {
		c.state = stateNeedUser
		c.failures++
		c.log.Info("login failed", "user", c.userName, "failures", c.failures)
		d := time.Duration(c.failures) * c.srv.loginFailureDelay()
		if lt := c.srv.LoginThrottle; lt != nil {
			d = lt.Failed(c.remote.Addr())
		}
		if d > 0 {
			tm := time.NewTimer(d)
			select {
			case <-tm.C:
			case <-c.ctx.Done():
				tm.Stop()
			}
		}
		if lt := c.srv.LoginThrottle; lt != nil {
			if banned, _ := lt.Banned(c.remote.Addr()); banned {
				c.reply(StatusServiceNotAvailable, "Too many failed logins from your address; closing control connection.")
				c.quitting = true
				return nil
			}
		}
		if c.failures >= c.srv.maxLoginFailures() {
			c.reply(StatusServiceNotAvailable, "Too many failed logins; closing control connection.")
			c.quitting = true
			return nil
		}
		var fe *Error
		if errors.As(err, &fe) {
			return fe
		}
		return errReply(StatusNotLoggedIn, "Login incorrect.")
	}
	if lt := c.srv.LoginThrottle; lt != nil {
		lt.Succeeded(c.remote.Addr())
	}
	c.user = u
	c.setWho(u.Name)
	c.state = stateLoggedIn
	c.cwd = "/"
	if u.Home != "" {
		c.cwd = path.Clean("/" + u.Home)
	}
	c.log = c.log.With("user", u.Name)
	c.log.Info("logged in")
	return c.reply(StatusLoggedIn, "User "+u.Name+" logged in, proceed.")
}

func (c *conn) login(pass string) (*User, error) {
	auth := c.auth()
	if auth == nil {
		return nil, errors.New("ftp: no Authenticator")
	}
	ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
	defer cancel()
	u, err := auth.Login(ctx, c.loginInfo(pass))
	if err != nil {
		return nil, err
	}
	if u == nil || u.FS == nil {
		return nil, errors.New("ftp: Authenticator returned no user or no FS")
	}
	if u.Name == "" {
		u.Name = c.userName
	}
	return u, nil
}

// ACCT, RFC 959 4.1.1: no site needs an account.
func (c *conn) cmdACCT(string) error {
	return c.reply(StatusSuperfluous, "ACCT command superfluous at this site.")
}

// REIN, RFC 959 4.1.1: the transfer in flight has already finished
// (dispatch waits for it); everything else is reset.
// With TLS, the reply is sent protected and the session then reverts to
// plain text (RFC 4217 section 13).
func (c *conn) cmdREIN(string) error {
	c.reset()
	err := c.reply(StatusServiceReady, "Service ready for new user.")
	c.clearTLS()
	return err
}

// QUIT, RFC 959 4.1.1: dispatch has let the transfer in flight finish.
func (c *conn) cmdQUIT(string) error {
	c.quitting = true
	return c.reply(StatusClosing, "Goodbye.")
}
