package ftp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/skey"
	"github.com/ferryftp/ferry/vfs"
)

// memOTPStore is an OTPStore in memory.
type memOTPStore struct {
	mu       sync.Mutex
	m        map[string]skey.State
	stores   int
	loadErr  error // returned by LoadOTP when set
	storeErr error // returned by StoreOTP when set
}

func (s *memOTPStore) LoadOTP(_ context.Context, user string) (skey.State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loadErr != nil {
		return skey.State{}, s.loadErr
	}
	st, ok := s.m[user]
	if !ok {
		return skey.State{}, fmt.Errorf("otp state of %q: %w", user, fs.ErrNotExist)
	}
	return st, nil
}

func (s *memOTPStore) StoreOTP(_ context.Context, user string, st skey.State) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.storeErr != nil {
		return s.storeErr
	}
	s.stores++
	s.m[user] = st
	return nil
}

func (s *memOTPStore) get(user string) skey.State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[user]
}

const (
	otpPass = "This is a test." // RFC 2289 Appendix C
	otpSeed = "ke1234"
)

// otpFixture is an OTPAuthenticator whose user alice has a sequence of
// n passwords, so her first challenge is "otp-md5 <n-1> ke1234", and whose
// password authenticator accepts bob/secret.
type otpFixture struct {
	a         *OTPAuthenticator
	store     *memOTPStore
	nextCalls atomic.Int32
	logs      *otpLogBuffer
}

func newOTPFixture(t *testing.T, n int) *otpFixture {
	t.Helper()
	st, err := skey.NewState(skey.MD5, otpPass, otpSeed, n)
	require.NoError(t, err, "NewState")
	f := &otpFixture{
		store: &memOTPStore{m: map[string]skey.State{"alice": st}},
		logs:  &otpLogBuffer{},
	}
	fsys := vfs.FS(nil)
	f.a = &OTPAuthenticator{
		Store: f.store,
		Lookup: func(_ context.Context, li *LoginInfo) (*User, error) {
			if li.Password != "" {
				return nil, errors.New("Lookup was given the response")
			}
			return &User{Name: li.User, FS: fsys}, nil
		},
		Next: AuthenticatorFunc(func(_ context.Context, li *LoginInfo) (*User, error) {
			f.nextCalls.Add(1)
			if li.User == "bob" && li.Password == "secret" {
				return &User{Name: "bob", FS: fsys}, nil
			}
			return nil, errors.New("bad password")
		}),
		Logger: slog.New(slog.NewTextHandler(f.logs, nil)),
	}
	return f
}

type otpLogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *otpLogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *otpLogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func otpRemote(port uint16) netip.AddrPort {
	return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)
}

func otpInfo(user, pass string, port uint16) *LoginInfo {
	return &LoginInfo{User: user, Password: pass, Remote: otpRemote(port)}
}

func otpResponse(t *testing.T, seq int, hex bool) string {
	t.Helper()
	r, err := skey.Response(skey.MD5, otpPass, otpSeed, seq, hex)
	require.NoError(t, err, "Response")
	return r
}

func TestOTPLoginAdvances(t *testing.T) {
	f := newOTPFixture(t, 5)
	ctx := context.Background()

	text, err := f.a.Challenge(ctx, otpInfo("alice", "", 1))
	require.NoError(t, err, "Challenge")
	assert.Equal(t, "Response to otp-md5 4 ke1234 required for alice.", text, "331 text")

	u, err := f.a.Login(ctx, otpInfo("alice", otpResponse(t, 4, false), 1))
	require.NoError(t, err, "six-word response to 4")
	assert.Equal(t, "alice", u.Name, "user from Lookup")
	assert.Equal(t, 3, f.store.get("alice").Seq, "stored sequence after a login")

	text, err = f.a.Challenge(ctx, otpInfo("alice", "", 1))
	require.NoError(t, err, "Challenge")
	assert.Equal(t, "Response to otp-md5 3 ke1234 required for alice.", text, "next challenge")
	_, err = f.a.Login(ctx, otpInfo("alice", otpResponse(t, 3, true), 1))
	require.NoError(t, err, "hex response to 3 (RFC 2289 section 6)")
	_, err = f.a.Login(ctx, otpInfo("alice", "word:"+otpResponse(t, 2, false), 1))
	require.NoError(t, err, "RFC 2243 \"word:\" response to 2")
	assert.Equal(t, 1, f.store.get("alice").Seq, "stored sequence after three logins")
	assert.Zero(t, f.nextCalls.Load(), "OTP users never reach the password authenticator")
	assert.Zero(t, f.a.locks.len(), "no user lock left behind")
	assert.Zero(t, f.a.pending.len(), "no reservation left behind")
}

func TestOTPReplayRefused(t *testing.T) {
	f := newOTPFixture(t, 100)
	ctx := context.Background()
	r := otpResponse(t, 99, false)
	_, err := f.a.Login(ctx, otpInfo("alice", r, 1))
	require.NoError(t, err, "first use")
	before := f.store.get("alice")

	_, err = f.a.Login(ctx, otpInfo("alice", r, 1))
	assert.ErrorIs(t, err, skey.ErrMismatch, "second use of the same response (RFC 2289 section 7)")
	_, err = f.a.Login(ctx, otpInfo("alice", otpResponse(t, 99, true), 2))
	assert.ErrorIs(t, err, skey.ErrMismatch, "the same password in hexadecimal")
	assert.Equal(t, before, f.store.get("alice"), "a refused response changes nothing")
}

func TestOTPWrongResponses(t *testing.T) {
	f := newOTPFixture(t, 100)
	ctx := context.Background()
	before := f.store.get("alice")
	for _, tc := range []struct {
		name, resp string
		want       error
	}{
		{"password of another count", otpResponse(t, 97, false), skey.ErrMismatch},
		{"password of the next count", otpResponse(t, 98, false), skey.ErrMismatch},
		{"the user's password", "secret", skey.ErrMalformed},
		{"empty", "", skey.ErrMalformed},
		{"unknown word", "INCH SEA ANNE LONG AHEM TOURS", skey.ErrUnknownWord},
		{"bad checksum", "INCH SEA ANNE LONG AHEM TOOK", skey.ErrChecksum},
	} {
		_, err := f.a.Login(ctx, otpInfo("alice", tc.resp, 1))
		assert.ErrorIs(t, err, tc.want, tc.name)
	}
	assert.Equal(t, before, f.store.get("alice"), "refused responses change nothing")
	assert.Zero(t, f.store.stores, "nothing stored")
	assert.Zero(t, f.nextCalls.Load(), "no fall back to the password")
}

func TestOTPExhausted(t *testing.T) {
	f := newOTPFixture(t, 3) // challenges 2 and 1, then nothing
	ctx := context.Background()
	for seq := 2; seq >= 1; seq-- {
		_, err := f.a.Challenge(ctx, otpInfo("alice", "", 1))
		require.NoError(t, err, "challenge %d", seq)
		_, err = f.a.Login(ctx, otpInfo("alice", otpResponse(t, seq, false), 1))
		require.NoError(t, err, "login with %d", seq)
	}
	require.Equal(t, 0, f.store.get("alice").Seq, "sequence used up")

	text, err := f.a.Challenge(ctx, otpInfo("alice", "", 1))
	var fe *Error
	require.ErrorAs(t, err, &fe, "USER of an exhausted user is refused with a reply")
	assert.Empty(t, text)
	assert.Equal(t, StatusNotLoggedIn, fe.Code)
	assert.Equal(t, "One-time passwords exhausted; ask the administrator to reinitialise.", fe.Msg)

	_, err = f.a.Login(ctx, otpInfo("alice", "secret", 1))
	require.ErrorAs(t, err, &fe, "PASS of an exhausted user")
	assert.Equal(t, StatusNotLoggedIn, fe.Code)
	assert.Zero(t, f.nextCalls.Load(), "no fall back to the password")
}

func TestOTPLowWarning(t *testing.T) {
	f := newOTPFixture(t, skey.LowSeq+1)
	ctx := context.Background()
	_, err := f.a.Challenge(ctx, otpInfo("alice", "", 1))
	require.NoError(t, err)
	assert.NotContains(t, f.logs.String(), "few one-time passwords left", "no warning at LowSeq")
	_, err = f.a.Login(ctx, otpInfo("alice", otpResponse(t, skey.LowSeq, false), 1))
	require.NoError(t, err)
	assert.Contains(t, f.logs.String(), "few one-time passwords left", "warning once below LowSeq (RFC 2243 section 4.3)")

	text, err := f.a.Challenge(ctx, otpInfo("alice", "", 1))
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("Response to otp-md5 %d ke1234 required for alice.", skey.LowSeq-1), text,
		"the 331 reply stays one line")
}

var otpChallengeRE = regexp.MustCompile(`^Response to otp-md5 ([1-9][0-9]*) [a-z]{2}[0-9]{4} required for ([a-z]+)\.$`)

func TestOTPRequiredFakeChallenge(t *testing.T) {
	f := newOTPFixture(t, 100)
	f.a.Required = func(string) bool { return true }
	f.a.PendingTimeout = -1 // several sessions ask for bob at once
	ctx := context.Background()

	first, err := f.a.Challenge(ctx, otpInfo("bob", "", 1))
	require.NoError(t, err, "a required user without state still gets a challenge")
	assert.Regexp(t, otpChallengeRE, first, "made-up challenge looks like a real one")
	c, err := skey.FindChallenge(first)
	require.NoError(t, err, "clients can parse it")
	assert.GreaterOrEqual(t, c.Seq, skey.LowSeq, "no low-sequence hint")

	again, err := f.a.Challenge(ctx, otpInfo("bob", "", 2))
	require.NoError(t, err)
	assert.Equal(t, first, again, "stable for the same user")
	ghost, err := f.a.Challenge(ctx, otpInfo("nobody", "", 3))
	require.NoError(t, err, "users that do not exist get one too")
	assert.Regexp(t, otpChallengeRE, ghost)
	assert.NotEqual(t, first[:len(first)-len("bob.")], ghost[:len(ghost)-len("nobody.")], "differs between users")

	other := &OTPAuthenticator{Store: f.store, Required: f.a.Required}
	elsewhere, err := other.Challenge(ctx, otpInfo("bob", "", 1))
	require.NoError(t, err)
	assert.NotEqual(t, first, elsewhere, "keyed per process, not a function of the name alone")

	r, err := skey.Response(c.Alg, otpPass, c.Seed, c.Seq, false)
	require.NoError(t, err)
	for _, pass := range []string{"secret", r} {
		_, err = f.a.Login(ctx, otpInfo("bob", pass, 2))
		assert.Error(t, err, "login of a required user without state fails")
	}
	assert.Zero(t, f.nextCalls.Load(), "the password authenticator is never asked")

	_, err = f.a.Login(ctx, otpInfo("alice", otpResponse(t, 99, false), 4))
	assert.NoError(t, err, "required users with state log in with their OTP")
}

type otpChallengerAuth struct {
	AuthenticatorFunc
	text string
}

func (c otpChallengerAuth) Challenge(context.Context, *LoginInfo) (string, error) { return c.text, nil }

func TestOTPPasswordUsers(t *testing.T) {
	f := newOTPFixture(t, 100)
	ctx := context.Background()
	f.a.Required = func(u string) bool { return u == "alice" }

	text, err := f.a.Challenge(ctx, otpInfo("bob", "", 1))
	require.NoError(t, err)
	assert.Empty(t, text, "the engine's password prompt for users without state")
	u, err := f.a.Login(ctx, otpInfo("bob", "secret", 1))
	require.NoError(t, err, "password login of a user without state")
	assert.Equal(t, "bob", u.Name)
	_, err = f.a.Login(ctx, otpInfo("bob", "wrong", 1))
	assert.Error(t, err, "wrong password")
	assert.Equal(t, int32(2), f.nextCalls.Load(), "both went to Next")

	f.a.Next = otpChallengerAuth{AuthenticatorFunc: f.a.Next.(AuthenticatorFunc), text: "Guest login ok, send your e-mail."}
	text, err = f.a.Challenge(ctx, otpInfo("anonymous", "", 1))
	require.NoError(t, err)
	assert.Equal(t, "Guest login ok, send your e-mail.", text, "Next's Challenger chooses the text")

	f.a.Next = nil
	_, err = f.a.Login(ctx, otpInfo("bob", "secret", 1))
	assert.Error(t, err, "nil Next refuses users without state")

	var zero OTPAuthenticator
	_, err = zero.Login(ctx, otpInfo("bob", "secret", 1))
	assert.Error(t, err, "the zero OTPAuthenticator refuses")
	text, err = zero.Challenge(ctx, otpInfo("bob", "", 1))
	assert.NoError(t, err)
	assert.Empty(t, text)
}

func TestOTPStoreFailures(t *testing.T) {
	ctx := context.Background()

	f := newOTPFixture(t, 100)
	f.store.loadErr = errors.New("disk on fire")
	_, err := f.a.Challenge(ctx, otpInfo("bob", "", 1))
	var fe *Error
	require.ErrorAs(t, err, &fe, "a broken store refuses USER")
	assert.Equal(t, "Login incorrect.", fe.Msg, "no store text in the reply")
	_, err = f.a.Login(ctx, otpInfo("bob", "secret", 1))
	assert.Error(t, err, "a broken store refuses PASS")
	assert.Zero(t, f.nextCalls.Load(), "a broken store is not \"no state\": no password login")

	f = newOTPFixture(t, 100)
	f.store.storeErr = errors.New("disk full")
	_, err = f.a.Login(ctx, otpInfo("alice", otpResponse(t, 99, false), 1))
	assert.Error(t, err, "a login whose new state cannot be stored is refused")
	assert.Contains(t, f.logs.String(), "cannot store state")

	f = newOTPFixture(t, 100)
	f.store.m["alice"] = skey.State{Seed: otpSeed, Seq: 5}
	_, err = f.a.Challenge(ctx, otpInfo("alice", "", 1))
	assert.Error(t, err, "invalid stored state refuses USER")
	_, err = f.a.Login(ctx, otpInfo("alice", otpResponse(t, 5, false), 1))
	assert.ErrorIs(t, err, skey.ErrAlgorithm, "invalid stored state refuses PASS")

	f = newOTPFixture(t, 100)
	f.a.Lookup = nil
	_, err = f.a.Login(ctx, otpInfo("alice", otpResponse(t, 99, false), 1))
	assert.Error(t, err, "nil Lookup refuses")
}

// Many sessions presenting the same response at once: exactly one is
// accepted (RFC 2289 section 7; skey package doc, "Concurrency").
func TestOTPConcurrentUseAcceptsOnce(t *testing.T) {
	f := newOTPFixture(t, 100)
	r := otpResponse(t, 99, false)
	const n = 64
	var ok atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			if _, err := f.a.Login(context.Background(), otpInfo("alice", r, uint16(1000+i))); err == nil {
				ok.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	assert.Equal(t, int32(1), ok.Load(), "one of %d identical responses accepted", n)
	assert.Equal(t, 98, f.store.get("alice").Seq, "sequence advanced once")
	assert.Equal(t, 1, f.store.stores, "stored once")
	assert.Zero(t, f.a.locks.len(), "user locks removed when unused")
}

// RFC 2289 section 9: while one session has the challenge, another may
// neither get it nor answer it.
func TestOTPRaceDefence(t *testing.T) {
	f := newOTPFixture(t, 100)
	now := time.Unix(1e9, 0)
	f.a.now = func() time.Time { return now }
	ctx := context.Background()
	r := otpResponse(t, 99, false)

	_, err := f.a.Challenge(ctx, otpInfo("alice", "", 1))
	require.NoError(t, err, "session 1 gets the challenge")
	_, err = f.a.Challenge(ctx, otpInfo("alice", "", 2))
	var fe *Error
	require.ErrorAs(t, err, &fe, "session 2 is refused the same user")
	assert.Equal(t, StatusNotLoggedIn, fe.Code)
	_, err = f.a.Login(ctx, otpInfo("alice", r, 2))
	assert.Error(t, err, "session 2 may not answer, even correctly")
	assert.Equal(t, 99, f.store.get("alice").Seq, "nothing spent by session 2")

	_, err = f.a.Login(ctx, otpInfo("alice", r, 1))
	require.NoError(t, err, "session 1 answers")
	_, err = f.a.Challenge(ctx, otpInfo("alice", "", 2))
	assert.NoError(t, err, "released after the answer")

	now = now.Add(time.Minute)
	_, err = f.a.Challenge(ctx, otpInfo("alice", "", 3))
	assert.NoError(t, err, "a reservation expires after PendingTimeout")
	_, err = f.a.Challenge(ctx, otpInfo("bob", "", 3))
	require.NoError(t, err)
	_, err = f.a.Challenge(ctx, otpInfo("alice", "", 4))
	assert.NoError(t, err, "a new USER in the same session gives the previous user up")
	assert.Equal(t, 1, f.a.pending.len(), "one reservation per session")

	f.a.PendingTimeout = -1
	_, err = f.a.Challenge(ctx, otpInfo("alice", "", 5))
	assert.NoError(t, err, "negative PendingTimeout turns the reservation off")
	_, err = f.a.Login(ctx, otpInfo("alice", otpResponse(t, 98, false), 6))
	assert.NoError(t, err)
}

func TestOTPPendingSweep(t *testing.T) {
	var p pendingSet
	now := time.Unix(1e9, 0)
	for i := range 1000 {
		require.True(t, p.reserve(fmt.Sprint("u", i), otpRemote(uint16(i+1)), now, time.Second))
	}
	later := now.Add(2 * time.Second)
	for i := range 1000 {
		require.True(t, p.reserve(fmt.Sprint("v", i), otpRemote(uint16(i+5000)), later, time.Second))
	}
	assert.Equal(t, 1000, p.len(), "expired reservations are swept")
	assert.Equal(t, len(p.byUser), len(p.byRemote), "both indexes agree")
}

func TestKeyedMutexContext(t *testing.T) {
	var k keyedMutex
	unlock, err := k.lock(context.Background(), "alice")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = k.lock(ctx, "alice")
	assert.ErrorIs(t, err, context.Canceled, "waiting ends with the context")
	other, err := k.lock(ctx, "bob")
	if err == nil {
		// select chooses at random between a free lock and a done context.
		other()
	}
	unlock()
	assert.Zero(t, k.len(), "entries removed when unused")
}
