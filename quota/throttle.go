package quota

import (
	"net/netip"
	"sync"
	"time"
)

// LoginThrottle slows down and then bans client addresses that fail to log
// in, so that a password cannot be guessed at line rate (RFC 2577 section
// 5). Each failure doubles the delay before the server answers, up to
// MaxDelay; after BanAfter failures the address is banned for BanFor.
// Failures are forgotten BanFor after the last one, and a ban when it
// ends, so the memory used is bounded by the addresses that failed
// recently (and at most maxThrottled entries).
//
// IPv6 addresses count by their /64 network, the block one subscriber
// usually holds; IPv4 addresses (and IPv4-mapped IPv6 ones) one by one.
//
// The zero value is usable with the defaults below. A LoginThrottle is
// safe for concurrent use; set its fields before the first call.
type LoginThrottle struct {
	// Delay is the delay after the first failure; 0 is 1 second.
	Delay time.Duration

	// MaxDelay caps the delay; 0 is 16 seconds.
	MaxDelay time.Duration

	// BanAfter is the number of failures that bans an address; 0 is 10.
	BanAfter int

	// BanFor is how long a ban lasts, and how long failures are
	// remembered; 0 is 15 minutes.
	BanFor time.Duration

	// Now returns the current time; nil is time.Now.
	Now func() time.Time

	mu        sync.Mutex
	addrs     map[netip.Addr]*failures // by throttleKey
	lastSweep time.Time
}

type failures struct {
	n           int       // failures since the address was last forgotten
	last        time.Time // the last failure
	bannedUntil time.Time // zero if not banned
}

// maxThrottled bounds the addresses a LoginThrottle remembers: beyond it,
// unbanned entries, then any, are dropped.
const maxThrottled = 1 << 16

func (l *LoginThrottle) delay() time.Duration {
	if l.Delay > 0 {
		return l.Delay
	}
	return time.Second
}

func (l *LoginThrottle) maxDelay() time.Duration {
	if l.MaxDelay > 0 {
		return l.MaxDelay
	}
	return 16 * time.Second
}

func (l *LoginThrottle) banAfter() int {
	if l.BanAfter > 0 {
		return l.BanAfter
	}
	return 10
}

func (l *LoginThrottle) banFor() time.Duration {
	if l.BanFor > 0 {
		return l.BanFor
	}
	return 15 * time.Minute
}

func (l *LoginThrottle) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// throttleKey is the address failures count under.
func throttleKey(ip netip.Addr) netip.Addr {
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.Addr()
		}
	}
	return ip
}

// expired reports whether f can be forgotten at now.
func (l *LoginThrottle) expired(f *failures, now time.Time) bool {
	if !f.bannedUntil.IsZero() {
		return !now.Before(f.bannedUntil)
	}
	return now.Sub(f.last) >= l.banFor()
}

// Failed records a failed login from ip and returns how long to wait
// before answering it: Delay for the first failure, doubling with each
// one up to MaxDelay. The failure that reaches BanAfter also bans ip.
func (l *LoginThrottle) Failed(ip netip.Addr) (delay time.Duration) {
	now := l.now()
	k := throttleKey(ip)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweepLocked(now)
	f := l.addrs[k]
	if f == nil || l.expired(f, now) {
		f = &failures{}
		if l.addrs == nil {
			l.addrs = make(map[netip.Addr]*failures)
		}
		l.addrs[k] = f
	}
	f.n++
	f.last = now
	if f.n >= l.banAfter() && f.bannedUntil.IsZero() {
		f.bannedUntil = now.Add(l.banFor())
	}
	d, limit := l.delay(), l.maxDelay()
	for i := 1; i < f.n && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// Succeeded forgets ip's failures, unless it is banned.
func (l *LoginThrottle) Succeeded(ip netip.Addr) {
	now := l.now()
	k := throttleKey(ip)
	l.mu.Lock()
	defer l.mu.Unlock()
	if f := l.addrs[k]; f != nil && (f.bannedUntil.IsZero() || l.expired(f, now)) {
		delete(l.addrs, k)
	}
}

// Banned reports whether ip is banned now, and for how long still.
func (l *LoginThrottle) Banned(ip netip.Addr) (bool, time.Duration) {
	now := l.now()
	k := throttleKey(ip)
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.addrs[k]
	if f == nil || f.bannedUntil.IsZero() || !now.Before(f.bannedUntil) {
		return false, 0
	}
	return true, f.bannedUntil.Sub(now)
}

// Check returns an error wrapping [ErrBanned], with a text fit for the
// client, if ip is banned now, and nil otherwise.
func (l *LoginThrottle) Check(ip netip.Addr) error {
	if banned, left := l.Banned(ip); banned {
		return limitErrorf(ErrBanned, "too many failed logins from your address; try again in %s", left.Round(time.Second))
	}
	return nil
}

// sweepLocked forgets expired entries, once a minute or when there are too
// many, and drops entries beyond maxThrottled.
func (l *LoginThrottle) sweepLocked(now time.Time) {
	if len(l.addrs) < maxThrottled && now.Sub(l.lastSweep) < time.Minute && !now.Before(l.lastSweep) {
		return
	}
	l.lastSweep = now
	for k, f := range l.addrs {
		if l.expired(f, now) {
			delete(l.addrs, k)
		}
	}
	// Under a flood from many addresses, make room, for a while: unbanned
	// entries first.
	for _, banned := range []bool{false, true} {
		for k, f := range l.addrs {
			if len(l.addrs) < maxThrottled*3/4 {
				return
			}
			if banned || f.bannedUntil.IsZero() {
				delete(l.addrs, k)
			}
		}
	}
}
