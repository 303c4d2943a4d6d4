package ftp

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io/fs"
	"log/slog"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/ferryftp/ferry/skey"
)

// OTPStore keeps the S/KEY state of users (RFC 2289 section 7). StoreOTP
// must be atomic and durable: once it returns nil the new state survives
// a crash, so a one-time password accepted once is never accepted again.
type OTPStore interface {
	// LoadOTP returns the state of user, or an error wrapping
	// fs.ErrNotExist when user has no one-time passwords. Any other error
	// refuses the login: it must not mean "no state", or a broken store
	// would let users in with their passwords.
	LoadOTP(ctx context.Context, user string) (skey.State, error)
	// StoreOTP replaces the state of user.
	StoreOTP(ctx context.Context, user string, s skey.State) error
}

// OTPAuthenticator asks the users that have one-time-password state for a
// one-time password (RFC 2289) instead of their password. The challenge
// (RFC 2289 section 6) is the text of the 331 reply to USER, where S/KEY
// and OPIE servers put it and clients such as lftp look for it:
//
//	331 Response to otp-md5 498 ke1234 required for alice.
//
// and the response, six words or hexadecimal, is the argument of PASS.
//
// It implements [Authenticator] and [Challenger]. The zero value refuses
// every login. The fields must not change once the server is serving.
//
// # Security
//
// "Load the state, verify, store the new state" runs under a lock per
// user and the new state is stored before the login is accepted, so two
// sessions presenting the same response accept it exactly once, and a
// crash after the reply cannot make the password valid again.
//
// Against the race attack of RFC 2289 section 9 (an eavesdropper who has
// seen most of a response races the user to complete it) a challenge
// reserves its user for the session that asked, identified by
// [LoginInfo.Remote], until that session answers or PendingTimeout
// passes. Meanwhile other sessions are refused that user at USER, and
// their PASS is refused without being checked. The price, which section
// 9 acknowledges, is that anyone can keep a user waiting for
// PendingTimeout by sending USER; and a client that opens several
// connections at once must log them in one after the other.
type OTPAuthenticator struct {
	// Store holds the users' state. Nil refuses every login.
	Store OTPStore

	// Lookup returns the session's view of a user whose one-time password
	// verified: the account, without checking any password (LoginInfo's
	// Password is empty). Nil refuses every one-time-password login.
	Lookup func(ctx context.Context, info *LoginInfo) (*User, error)

	// Next authenticates, by password, the users that have no
	// one-time-password state. If it is also a [Challenger], it chooses
	// their 331 reply. Nil refuses them.
	Next Authenticator

	// Required, when it returns true for a user name, refuses password
	// logins of that user even without one-time-password state: such a
	// user is sent a made-up challenge, stable for the life of the
	// process, so that the reply to USER does not tell whether the user
	// exists, and the login then fails. Nil means never.
	Required func(user string) bool

	// PendingTimeout is how long a challenge reserves its user for the
	// session that asked (RFC 2289 section 9). Zero means 1 minute; a
	// negative value turns the reservation off.
	PendingTimeout time.Duration

	// Logger receives warnings (sequences running low, store failures).
	// Nil means slog.Default().
	Logger *slog.Logger

	locks   keyedMutex
	pending pendingSet
	now     func() time.Time // nil: time.Now; set by tests

	keyOnce sync.Once
	key     [32]byte // per-process key of the made-up challenges
}

var (
	_ Authenticator = (*OTPAuthenticator)(nil)
	_ Challenger    = (*OTPAuthenticator)(nil)
)

// errOTPExhausted answers a user whose sequence is used up (RFC 2289
// section 7 leaves re-initialisation to the site; see RFC 2243 section 4).
var errOTPExhausted = &Error{
	Code: StatusNotLoggedIn,
	Msg:  "One-time passwords exhausted; ask the administrator to reinitialise.",
	Err:  skey.ErrExhausted,
}

// errOTPInProgress refuses a second session while another has the user's
// challenge (RFC 2289 section 9).
var errOTPInProgress = &Error{
	Code: StatusNotLoggedIn,
	Msg:  "Another login of this user is in progress; try again later.",
}

func (a *OTPAuthenticator) logger() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}

func (a *OTPAuthenticator) required(user string) bool {
	return a.Required != nil && a.Required(user)
}

// Challenge returns the 331 text for info.User: the challenge of its
// sequence, "Response to otp-md5 498 ke1234 required for alice.", or for
// a user without state the text of Next's Challenger, "" (the engine's
// password prompt) without one.
func (a *OTPAuthenticator) Challenge(ctx context.Context, info *LoginInfo) (string, error) {
	if a.Store == nil {
		return "", nil
	}
	// A new USER gives up what the session held for the previous one.
	a.pending.releaseSession(info.Remote)
	var c skey.Challenge
	st, err := a.Store.LoadOTP(ctx, info.User)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if !a.required(info.User) {
			if ch, ok := a.Next.(Challenger); ok {
				return ch.Challenge(ctx, info)
			}
			return "", nil
		}
		c = a.fakeChallenge(info.User)
	case err != nil:
		a.logger().Error("otp: cannot load state", "user", info.User, "err", err)
		return "", &Error{Code: StatusNotLoggedIn, Msg: "Login incorrect.", Err: err}
	default:
		if err := st.Validate(); err != nil {
			a.logger().Error("otp: invalid stored state", "user", info.User, "err", err)
			return "", &Error{Code: StatusNotLoggedIn, Msg: "Login incorrect.", Err: err}
		}
		if st.Seq < 1 {
			a.logger().Warn("otp: sequence exhausted", "user", info.User)
			return "", errOTPExhausted
		}
		if st.Seq < skey.LowSeq {
			// RFC 2243 section 4.3 asks generators to warn. The 331
			// reply stays the single line that clients search for the
			// challenge, so the warning goes to the administrator.
			a.logger().Warn("otp: few one-time passwords left", "user", info.User, "left", st.Seq)
		}
		c = st.Challenge()
	}
	if !a.reserve(info) {
		a.logger().Warn("otp: login refused while another is in progress", "user", info.User, "remote", info.Remote)
		return "", errOTPInProgress
	}
	return challengeText(c, info.User), nil
}

func challengeText(c skey.Challenge, user string) string {
	return "Response to " + c.String() + " required for " + user + "."
}

// fakeChallenge makes up a challenge for a user without state, from an
// HMAC of the name under a key drawn once per process: the same user
// gets the same challenge for the life of the process, and it looks like
// one that "ferryd skey init" makes (MD5, two letters and four digits,
// a sequence number below 499).
func (a *OTPAuthenticator) fakeChallenge(user string) skey.Challenge {
	a.keyOnce.Do(func() { rand.Read(a.key[:]) })
	m := hmac.New(sha256.New, a.key[:])
	m.Write([]byte(user))
	sum := m.Sum(nil)
	seed := []byte{'a' + sum[0]%26, 'a' + sum[1]%26}
	seed = append(seed, pad4(binary.BigEndian.Uint16(sum[2:])%10000)...)
	seq := skey.LowSeq + int(binary.BigEndian.Uint16(sum[4:]))%(499-skey.LowSeq)
	return skey.Challenge{Alg: skey.MD5, Seq: seq, Seed: string(seed)}
}

func pad4(n uint16) []byte {
	s := strconv.Itoa(int(n))
	for len(s) < 4 {
		s = "0" + s
	}
	return []byte(s)
}

// Login verifies info.Password as the response to the user's challenge
// and, once the new state is stored, returns Lookup's view. Users without
// state go to Next, unless Required refuses them.
func (a *OTPAuthenticator) Login(ctx context.Context, info *LoginInfo) (*User, error) {
	if a.Store == nil {
		return nil, errors.New("ftp: OTPAuthenticator without Store")
	}
	unlock, err := a.locks.lock(ctx, info.User)
	if err != nil {
		return nil, err
	}
	st, err := a.Store.LoadOTP(ctx, info.User)
	if errors.Is(err, fs.ErrNotExist) {
		unlock()
		if a.required(info.User) {
			a.release(info)
			return nil, errors.New("ftp: one-time password required")
		}
		if a.Next == nil {
			return nil, errors.New("ftp: no password authenticator")
		}
		return a.Next.Login(ctx, info)
	}
	if !a.reserved(info) {
		unlock()
		a.logger().Warn("otp: response refused while another login is in progress", "user", info.User, "remote", info.Remote)
		return nil, errOTPInProgress
	}
	err = a.verify(ctx, info.User, st, err, info.Password)
	unlock()
	a.release(info)
	if err != nil {
		return nil, err
	}
	if a.Lookup == nil {
		return nil, errors.New("ftp: OTPAuthenticator without Lookup")
	}
	li := *info
	li.Password = ""
	return a.Lookup(ctx, &li)
}

// verify checks response against the state st that loading user gave
// (with loadErr), and stores the advanced state. The caller holds the
// user's lock.
func (a *OTPAuthenticator) verify(ctx context.Context, user string, st skey.State, loadErr error, response string) error {
	log := a.logger()
	if loadErr != nil {
		log.Error("otp: cannot load state", "user", user, "err", loadErr)
		return loadErr
	}
	if err := st.Validate(); err != nil {
		log.Error("otp: invalid stored state", "user", user, "err", err)
		return err
	}
	if st.Seq < 1 {
		return errOTPExhausted
	}
	// Verify's errors never hold any part of the response, so they may be
	// logged.
	if err := st.Verify(response); err != nil {
		log.Info("otp: response refused", "user", user, "reason", err)
		return err
	}
	// Stored before the login is accepted (RFC 2289 section 7): if this
	// fails, the password is spent anyway, never reusable.
	if err := a.Store.StoreOTP(ctx, user, st); err != nil {
		log.Error("otp: cannot store state; login refused", "user", user, "err", err)
		return err
	}
	if st.Seq < skey.LowSeq {
		log.Warn("otp: few one-time passwords left", "user", user, "left", st.Seq)
	}
	return nil
}

func (a *OTPAuthenticator) pendingTimeout() time.Duration {
	if a.PendingTimeout == 0 {
		return time.Minute
	}
	return a.PendingTimeout
}

func (a *OTPAuthenticator) clock() time.Time {
	if a.now != nil {
		return a.now()
	}
	return time.Now()
}

// reserve reserves info.User for the session info.Remote, unless another
// session holds it (RFC 2289 section 9).
func (a *OTPAuthenticator) reserve(info *LoginInfo) bool {
	d := a.pendingTimeout()
	if d < 0 {
		return true
	}
	return a.pending.reserve(info.User, info.Remote, a.clock(), d)
}

// reserved reports whether no other session holds info.User.
func (a *OTPAuthenticator) reserved(info *LoginInfo) bool {
	if a.pendingTimeout() < 0 {
		return true
	}
	return a.pending.free(info.User, info.Remote, a.clock())
}

func (a *OTPAuthenticator) release(info *LoginInfo) {
	a.pending.release(info.User, info.Remote)
}

// pendingSet holds the users that a challenge reserved, each for one
// session until a deadline. A session holds at most one user: a new USER
// gives up the previous one, so a session cannot fill the set:
// byRemote[r] == u exactly when byUser[u].remote == r. The zero value is
// ready to use.
type pendingSet struct {
	mu       sync.Mutex
	byUser   map[string]pendingEntry   // guarded by mu
	byRemote map[netip.AddrPort]string // the user each session holds; guarded by mu
	sweep    int                       // size of byUser that triggers removing expired entries
}

type pendingEntry struct {
	remote   netip.AddrPort
	deadline time.Time
}

func (p *pendingSet) reserve(user string, remote netip.AddrPort, now time.Time, d time.Duration) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.byUser[user]; ok && e.remote != remote {
		if now.Before(e.deadline) {
			return false
		}
		p.removeLocked(user, e.remote)
	}
	if p.byUser == nil {
		p.byUser = make(map[string]pendingEntry)
		p.byRemote = make(map[netip.AddrPort]string)
	}
	if prev, ok := p.byRemote[remote]; ok {
		p.removeLocked(prev, remote)
	}
	// Sessions that send USER and close without PASS leave entries
	// behind; they are swept whenever the set has doubled.
	if len(p.byUser) >= max(p.sweep, 64) {
		for u, e := range p.byUser {
			if !now.Before(e.deadline) {
				p.removeLocked(u, e.remote)
			}
		}
		p.sweep = 2 * len(p.byUser)
	}
	p.byUser[user] = pendingEntry{remote: remote, deadline: now.Add(d)}
	p.byRemote[remote] = user
	return true
}

// free reports whether remote may answer for user: no other session
// holds user, or its reservation has expired.
func (p *pendingSet) free(user string, remote netip.AddrPort, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.byUser[user]
	return !ok || e.remote == remote || !now.Before(e.deadline)
}

// release ends remote's reservation of user, if it holds one.
func (p *pendingSet) release(user string, remote netip.AddrPort) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.removeLocked(user, remote)
}

// releaseSession ends remote's reservation, whichever user it holds.
func (p *pendingSet) releaseSession(remote netip.AddrPort) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if user, ok := p.byRemote[remote]; ok {
		p.removeLocked(user, remote)
	}
}

func (p *pendingSet) removeLocked(user string, remote netip.AddrPort) {
	if e, ok := p.byUser[user]; ok && e.remote == remote {
		delete(p.byUser, user)
	}
	if p.byRemote[remote] == user {
		delete(p.byRemote, remote)
	}
}

func (p *pendingSet) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.byUser)
}

// keyedMutex is a set of mutexes, one per key, that exist only while
// held or waited for. Waiting respects a context. The zero value is
// ready to use.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyedEntry // guarded by mu
}

type keyedEntry struct {
	ch   chan struct{} // holds a token while locked
	refs int           // holders and waiters; guarded by keyedMutex.mu
}

// lock locks key, or returns ctx's error if it ends first. unlock must be
// called exactly once.
func (k *keyedMutex) lock(ctx context.Context, key string) (unlock func(), err error) {
	k.mu.Lock()
	if k.m == nil {
		k.m = make(map[string]*keyedEntry)
	}
	e := k.m[key]
	if e == nil {
		e = &keyedEntry{ch: make(chan struct{}, 1)}
		k.m[key] = e
	}
	e.refs++
	k.mu.Unlock()
	select {
	case e.ch <- struct{}{}:
		return func() {
			<-e.ch
			k.release(key, e)
		}, nil
	case <-ctx.Done():
		k.release(key, e)
		return nil, ctx.Err()
	}
}

func (k *keyedMutex) release(key string, e *keyedEntry) {
	k.mu.Lock()
	defer k.mu.Unlock()
	e.refs--
	if e.refs == 0 {
		delete(k.m, key)
	}
}

// len returns the number of keys held or waited for.
func (k *keyedMutex) len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.m)
}
