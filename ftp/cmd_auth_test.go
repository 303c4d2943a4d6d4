package ftp_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftp/ftptest"
	"github.com/ferryftp/ferry/vfs/memfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoginFailureDelayAndLimit(t *testing.T) {
	const delay = 40 * time.Millisecond
	srv := ftptest.NewServer(t, ftptest.WithServer(func(s *ftp.Server) {
		s.LoginFailureDelay = delay
		s.MaxLoginFailures = 3
	}))
	c := ftptest.Dial(t, srv.Addr)
	// The delay grows with each failure of the session.
	for i := 1; i <= 2; i++ {
		cmdCode(t, c, "USER user", ftp.StatusNeedPassword)
		start := time.Now()
		cmdCode(t, c, "PASS wrong", ftp.StatusNotLoggedIn)
		assert.GreaterOrEqual(t, time.Since(start), time.Duration(i)*delay, "failure %d is answered after %d delays", i, i)
	}
	cmdCode(t, c, "USER user", ftp.StatusNeedPassword)
	start := time.Now()
	text := cmdCode(t, c, "PASS wrong", ftp.StatusServiceNotAvailable)
	assert.GreaterOrEqual(t, time.Since(start), 3*delay, "the last failure is delayed too")
	assert.Equal(t, "Too many failed logins; closing control connection.", text, "the reason")
	_, _, err := c.ReadErr()
	assert.Error(t, err, "the connection is closed")

	// The count is per session: a new one may log in.
	c2 := ftptest.Dial(t, srv.Addr)
	c2.Login()
}

func TestLoginDelayEndsWithConnection(t *testing.T) {
	tried := make(chan struct{}, 1)
	srv := ftptest.NewServer(t, ftptest.WithServer(func(s *ftp.Server) {
		s.LoginFailureDelay = time.Hour
		s.Auth = ftp.AuthenticatorFunc(func(ctx context.Context, li *ftp.LoginInfo) (*ftp.User, error) {
			tried <- struct{}{}
			return nil, errors.New("bad password")
		})
	}))
	c := ftptest.Dial(t, srv.Addr)
	cmdCode(t, c, "USER user", ftp.StatusNeedPassword)
	c.Send("PASS wrong")
	<-tried // the session is now in its login delay
	// Shutdown must not wait an hour for the delayed reply.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := srv.Shutdown(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "the session in its login delay is busy")
	_, _, err = c.ReadErr()
	assert.Error(t, err, "the connection is closed")
}

// lockAuth refuses "locked" with its own reply and shows a challenge.
type lockAuth struct{ ftp.Authenticator }

func (a lockAuth) Login(ctx context.Context, li *ftp.LoginInfo) (*ftp.User, error) {
	if li.User == "locked" {
		return nil, &ftp.Error{Code: ftp.StatusNotLoggedIn, Msg: "Account locked.", Err: errors.New("locked since /etc/secret")}
	}
	if li.User == "broken" {
		return nil, errors.New("database at /var/db/users unreachable")
	}
	return a.Authenticator.Login(ctx, li)
}

func (a lockAuth) Challenge(ctx context.Context, li *ftp.LoginInfo) (string, error) {
	switch li.User {
	case "banned":
		return "", &ftp.Error{Code: ftp.StatusNotLoggedIn, Msg: "Not welcome."}
	case "otp":
		return "otp-md5 499 ke1234 ext, Response required.", nil
	}
	return "", nil
}

func TestAuthenticatorReplies(t *testing.T) {
	m := memfs.New()
	srv := ftptest.NewServer(t, ftptest.WithFS(m), ftptest.WithServer(func(s *ftp.Server) {
		s.Auth = lockAuth{ftptest.Auth(m)}
		s.MaxLoginFailures = 10
	}))
	c := ftptest.Dial(t, srv.Addr)
	cmdCode(t, c, "USER locked", ftp.StatusNeedPassword)
	assert.Equal(t, "Account locked.", cmdCode(t, c, "PASS x", ftp.StatusNotLoggedIn), "an *ftp.Error is sent as is, without its cause")
	cmdCode(t, c, "USER broken", ftp.StatusNeedPassword)
	assert.Equal(t, "Login incorrect.", cmdCode(t, c, "PASS x", ftp.StatusNotLoggedIn), "any other error is a plain 530")
	assert.Equal(t, "Not welcome.", cmdCode(t, c, "USER banned", ftp.StatusNotLoggedIn), "a Challenger refuses at USER")
	cmdCode(t, c, "PASS x", ftp.StatusBadSequence)
	assert.Equal(t, "otp-md5 499 ke1234 ext, Response required.", cmdCode(t, c, "USER otp", ftp.StatusNeedPassword), "a Challenger's 331 text")
	assert.Equal(t, "Password required for user.", cmdCode(t, c, "USER user", ftp.StatusNeedPassword), "USER again restarts the login")
	cmdCode(t, c, "PASS pass", ftp.StatusLoggedIn)
}

func TestUserHome(t *testing.T) {
	m := memfs.New()
	require.NoError(t, m.MkdirAll("home/joe"), "setup")
	srv := ftptest.NewServer(t, ftptest.WithFS(m), ftptest.WithServer(func(s *ftp.Server) {
		s.Auth = ftp.AuthenticatorFunc(func(ctx context.Context, li *ftp.LoginInfo) (*ftp.User, error) {
			return &ftp.User{Name: "joe", FS: m, Home: "home/joe"}, nil
		})
	}))
	c := ftptest.Dial(t, srv.Addr)
	cmdCode(t, c, "USER joe", ftp.StatusNeedPassword)
	cmdCode(t, c, "PASS any", ftp.StatusLoggedIn)
	assert.Equal(t, `"/home/joe" is the current directory.`, cmdCode(t, c, "PWD", ftp.StatusPathCreated), "the session starts at Home")
	cmdCode(t, c, "REIN", ftp.StatusServiceReady)
	cmdCode(t, c, "PWD", ftp.StatusNotLoggedIn)
}

func TestREINWaitsForTransfer(t *testing.T) {
	_, c, dc := retrInFlight(t, 4<<20)
	// RFC 959 4.1.1: REIN lets the transfer in progress complete.
	c.Send("REIN")
	assert.Len(t, readData(t, dc), 4<<20, "the transfer completes")
	expectCode(t, c, ftp.StatusClosingDataConnection, "the transfer")
	expectCode(t, c, ftp.StatusServiceReady, "REIN")
	cmdCode(t, c, "TYPE I", ftp.StatusNotLoggedIn)
}

// TestAuthenticator421Closes: an Authenticator that answers 421 (a site
// full at login) ends the session, as RFC 959 4.2 defines 421.
func TestAuthenticator421Closes(t *testing.T) {
	srv := ftptest.NewServer(t, ftptest.WithServer(func(s *ftp.Server) {
		s.Auth = ftp.AuthenticatorFunc(func(context.Context, *ftp.LoginInfo) (*ftp.User, error) {
			return nil, &ftp.Error{Code: ftp.StatusServiceNotAvailable, Msg: "Too many users; try later."}
		})
	}))
	c := ftptest.Dial(t, srv.Addr)
	code, _ := c.Cmd("USER a")
	require.Equal(t, ftp.StatusNeedPassword, code)
	code, text := c.Cmd("PASS b")
	assert.Equal(t, ftp.StatusServiceNotAvailable, code, "the Authenticator's reply")
	assert.Equal(t, "Too many users; try later.", text)
	_, _, err := c.ReadErr()
	assert.Error(t, err, "the connection is closed after 421")
}
