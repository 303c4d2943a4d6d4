package ftp_test

import (
	"context"
	"fmt"
	"io/fs"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftp/ftptest"
	"github.com/ferryftp/ferry/skey"
	"github.com/ferryftp/ferry/vfs/memfs"
)

type otpMap struct {
	mu sync.Mutex
	m  map[string]skey.State
}

func (s *otpMap) LoadOTP(_ context.Context, user string) (skey.State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.m[user]
	if !ok {
		return skey.State{}, fmt.Errorf("user %q: %w", user, fs.ErrNotExist)
	}
	return st, nil
}

func (s *otpMap) StoreOTP(_ context.Context, user string, st skey.State) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[user] = st
	return nil
}

func (s *otpMap) get(user string) skey.State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[user]
}

const e2ePass = "correct horse battery"

// newOTPServer serves alice (sequence of 100, seed "ke1234") and dave
// (one password left) with one-time passwords; ftptest's account
// "user" keeps its password; carol must use OTP but has no state.
func newOTPServer(t *testing.T) (*ftptest.Server, *otpMap) {
	t.Helper()
	alice, err := skey.NewState(skey.MD5, e2ePass, "ke1234", 100)
	require.NoError(t, err)
	dave, err := skey.NewState(skey.SHA1, e2ePass, "da0001", 2)
	require.NoError(t, err)
	store := &otpMap{m: map[string]skey.State{"alice": alice, "dave": dave}}
	fsys := memfs.New()
	srv := ftptest.NewServer(t, ftptest.WithFS(fsys), ftptest.WithServer(func(s *ftp.Server) {
		s.Auth = &ftp.OTPAuthenticator{
			Store: store,
			Lookup: func(_ context.Context, li *ftp.LoginInfo) (*ftp.User, error) {
				return &ftp.User{Name: li.User, FS: fsys}, nil
			},
			Next:     s.Auth,
			Required: func(u string) bool { return u == "carol" },
			Logger:   s.Logger,
		}
	}))
	return srv, store
}

// answer reads the challenge in a 331 text and computes the response a
// generator would, as six words.
func otpAnswer(t *testing.T, text string) string {
	t.Helper()
	c, err := skey.FindChallenge(text)
	require.NoError(t, err, "331 text %q holds a challenge", text)
	r, err := skey.Response(c.Alg, e2ePass, c.Seed, c.Seq, false)
	require.NoError(t, err)
	return r
}

func TestOTPLoginOverControlConnection(t *testing.T) {
	srv, store := newOTPServer(t)

	c := ftptest.Dial(t, srv.Addr)
	code, text := c.Cmd("USER alice")
	require.Equal(t, ftp.StatusNeedPassword, code, text)
	assert.Equal(t, "Response to otp-md5 99 ke1234 required for alice.", text, "the challenge is the 331 text")
	resp := otpAnswer(t, text)
	code, text = c.Cmd("PASS " + resp)
	require.Equal(t, ftp.StatusLoggedIn, code, "correct response: %s", text)
	code, text = c.Cmd("PWD")
	assert.Equal(t, ftp.StatusPathCreated, code, "logged-in session works: %s", text)
	assert.Equal(t, 98, store.get("alice").Seq, "state advanced")

	// Replay of the response just used, in a new session.
	c2 := ftptest.Dial(t, srv.Addr)
	code, text = c2.Cmd("USER alice")
	require.Equal(t, ftp.StatusNeedPassword, code, text)
	assert.Equal(t, "Response to otp-md5 98 ke1234 required for alice.", text)
	code, text = c2.Cmd("PASS " + resp)
	assert.Equal(t, ftp.StatusNotLoggedIn, code, "replayed response refused: %s", text)
	assert.Equal(t, "Login incorrect.", text)

	// A wrong response: valid words of the wrong count.
	c3 := ftptest.Dial(t, srv.Addr)
	code, _ = c3.Cmd("USER alice")
	require.Equal(t, ftp.StatusNeedPassword, code)
	wrong, err := skey.Response(skey.MD5, e2ePass, "ke1234", 97, false)
	require.NoError(t, err)
	code, text = c3.Cmd("PASS " + wrong)
	assert.Equal(t, ftp.StatusNotLoggedIn, code, "wrong words refused: %s", text)
	code, text = c3.Cmd("USER alice")
	require.Equal(t, ftp.StatusNeedPassword, code, text)
	code, text = c3.Cmd("PASS " + otpAnswer(t, text))
	assert.Equal(t, ftp.StatusLoggedIn, code, "a fresh response works after a wrong one: %s", text)
	assert.Equal(t, 97, store.get("alice").Seq)
}

func TestOTPSecondSessionRefused(t *testing.T) {
	srv, store := newOTPServer(t)
	a := ftptest.Dial(t, srv.Addr)
	code, text := a.Cmd("USER alice")
	require.Equal(t, ftp.StatusNeedPassword, code, text)

	b := ftptest.Dial(t, srv.Addr)
	code, text = b.Cmd("USER alice")
	assert.Equal(t, ftp.StatusNotLoggedIn, code, "RFC 2289 section 9: one login in progress per user")
	assert.Equal(t, "Another login of this user is in progress; try again later.", text)

	code, text = a.Cmd("PASS " + otpAnswer(t, store.get("alice").Challenge().String()))
	require.Equal(t, ftp.StatusLoggedIn, code, text)
	code, text = b.Cmd("USER alice")
	assert.Equal(t, ftp.StatusNeedPassword, code, "free again once the first session answered: %s", text)
}

func TestOTPPasswordAndRequiredUsers(t *testing.T) {
	srv, _ := newOTPServer(t)

	c := ftptest.Dial(t, srv.Addr)
	c.Login() // ftptest's user/pass has no state: password login

	c = ftptest.Dial(t, srv.Addr)
	code, first := c.Cmd("USER carol")
	require.Equal(t, ftp.StatusNeedPassword, code, "a required user without state is not refused at USER")
	_, err := skey.FindChallenge(first)
	require.NoError(t, err, "and gets a challenge: %s", first)
	code, text := c.Cmd("PASS " + otpAnswer(t, first))
	assert.Equal(t, ftp.StatusNotLoggedIn, code, "but cannot log in: %s", text)
	code, again := c.Cmd("USER carol")
	require.Equal(t, ftp.StatusNeedPassword, code)
	assert.Equal(t, first, again, "the made-up challenge is stable")
}

func TestOTPExhaustedOverControlConnection(t *testing.T) {
	srv, _ := newOTPServer(t)
	c := ftptest.Dial(t, srv.Addr)
	code, text := c.Cmd("USER dave")
	require.Equal(t, ftp.StatusNeedPassword, code, text)
	assert.Equal(t, "Response to otp-sha1 1 da0001 required for dave.", text)
	code, text = c.Cmd("PASS " + otpAnswer(t, text))
	require.Equal(t, ftp.StatusLoggedIn, code, "the last password works: %s", text)

	c = ftptest.Dial(t, srv.Addr)
	code, text = c.Cmd("USER dave")
	assert.Equal(t, ftp.StatusNotLoggedIn, code, "exhausted sequence refused at USER")
	assert.Equal(t, "One-time passwords exhausted; ask the administrator to reinitialise.", text)
	code, _ = c.Cmd("PASS anything")
	assert.Equal(t, ftp.StatusBadSequence, code, "no PASS after a refused USER")
}

// lftp is an independent generator: with ftp:skey-force it finds the
// challenge in the 331 reply and answers it from the pass phrase given as
// the password.
func TestOTPLoginWithLftp(t *testing.T) {
	prog, err := exec.LookPath("lftp")
	if err != nil {
		t.Skip("lftp not installed; CI installs it")
	}
	srv, store := newOTPServer(t)
	run := func(passphrase string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		script := "set net:max-retries 1\nset net:timeout 10\nset net:reconnect-interval-base 1\nset cmd:fail-exit yes\n" +
			"set ftp:ssl-allow no\nset ftp:skey-force yes\n" +
			`open -u alice,"` + passphrase + `" ftp://` + srv.Addr + "\ncls -1 /\n"
		out, err := exec.CommandContext(ctx, prog, "-c", script).CombinedOutput()
		return string(out), err
	}
	out, err := run(e2ePass)
	require.NoError(t, err, "lftp logs in with its own OTP generator: %s", out)
	assert.Equal(t, 98, store.get("alice").Seq, "one password spent")
	out, err = run(e2ePass)
	require.NoError(t, err, "and again with the next one: %s", out)
	assert.Equal(t, 97, store.get("alice").Seq)

	out, err = run("not the pass phrase")
	assert.Error(t, err, "a wrong pass phrase gives a wrong response: %s", out)
	assert.Equal(t, 97, store.get("alice").Seq, "nothing spent")
}
