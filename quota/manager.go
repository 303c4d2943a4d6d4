package quota

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Manager keeps the counters and speed limiters of a site's users. The
// zero value is usable: it keeps counters in memory only, with no period
// (cumulative), on the system clock. A Manager is safe for concurrent use;
// set its fields before the first call and change the period later only
// with [Manager.SetPeriod].
type Manager struct {
	// Store keeps the counters across restarts; nil keeps them in memory
	// only.
	Store Store

	// Period is the span amount limits count over; the zero value is
	// [None] (cumulative until reset).
	Period Period

	// Now returns the current time, for periods; nil is time.Now. Speed
	// limits always run on the system clock (see [Transfer.DelayAt]).
	Now func() time.Time

	// Logger receives errors of saves done in the background; nil is
	// slog.Default().
	Logger *slog.Logger

	// saveMu serialises loading and saving, and is held from a snapshot
	// to the end of its write so that saves land in order.
	saveMu sync.Mutex

	mu        sync.Mutex       // guards the fields below and every User's state
	users     map[string]*User // by name
	loaded    bool             // the store was read (or there is none)
	dirty     bool             // counters changed since the last save
	lastSave  time.Time        // system clock, for debouncing
	timer     *time.Timer      // pending debounced save
	timerDone chan struct{}    // closed when timer's function returns
}

// saveInterval is the least time between two saves triggered by
// [Transfer.End].
const saveInterval = time.Second

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Manager) logger() *slog.Logger {
	if m.Logger != nil {
		return m.Logger
	}
	return slog.Default()
}

// SetPeriod changes the period while the Manager is in use (a
// configuration reload). Counters whose period started before the new
// period's current start go back to 0 on their next use.
func (m *Manager) SetPeriod(p Period) {
	m.mu.Lock()
	m.Period = p
	m.mu.Unlock()
}

// Load reads the store; call it once at start, before serving. It merges
// into the counters already in memory, so that nothing counted before it
// is lost: entries of the same period add up. Later calls do nothing: once
// loaded, the Manager's memory is what counts, and the store only receives
// it. Without a Store, Load does nothing.
//
// A Manager whose Load was not called or failed loads on its first save
// and does not write the store while the store cannot be read, so that a
// damaged file is never replaced by partial counters.
func (m *Manager) Load(ctx context.Context) error {
	m.saveMu.Lock()
	defer m.saveMu.Unlock()
	return m.loadLocked(ctx)
}

// loadLocked is Load with m.saveMu held.
func (m *Manager) loadLocked(ctx context.Context) error {
	m.mu.Lock()
	done := m.loaded || m.Store == nil
	m.mu.Unlock()
	if done {
		return nil
	}
	all, err := m.Store.Load(ctx)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for name, c := range all {
		c.PeriodStart = c.PeriodStart.UTC()
		u := m.userLocked(name)
		u.c = merge(m.Period, u.c, c)
	}
	m.loaded = true
	return nil
}

// merge combines counters counted in memory (mem) with stored ones.
func merge(p Period, mem, stored Counters) Counters {
	switch {
	case mem.zero():
		return stored
	case stored.zero():
		return mem
	case p == None || mem.PeriodStart.Equal(stored.PeriodStart):
		c := Counters{
			PeriodStart: mem.PeriodStart,
			Downloaded:  mem.Downloaded + stored.Downloaded,
			Uploaded:    mem.Uploaded + stored.Uploaded,
		}
		if !stored.PeriodStart.IsZero() && (c.PeriodStart.IsZero() || stored.PeriodStart.Before(c.PeriodStart)) {
			c.PeriodStart = stored.PeriodStart
		}
		return c
	case stored.PeriodStart.After(mem.PeriodStart):
		return stored
	}
	return mem
}

// User returns the state name shares among all its sessions and sets its
// limits. A later call for the same name (a new login, a configuration
// reload) updates the limits and keeps the counters and the speed
// limiters' state.
func (m *Manager) User(name string, l Limits) *User {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.userLocked(name)
	u.setLimitsLocked(l)
	return u
}

func (m *Manager) userLocked(name string) *User {
	if u, ok := m.users[name]; ok {
		return u
	}
	if m.users == nil {
		m.users = make(map[string]*User)
	}
	u := &User{m: m, name: name}
	m.users[name] = u
	return u
}

// Reset sets name's counters back to 0, starting a new count now (an
// administrator's reset), and saves at once. It returns the store's error,
// if any; the counters in memory are reset regardless.
func (m *Manager) Reset(name string) error {
	m.saveMu.Lock()
	defer m.saveMu.Unlock()
	// Load first, or a stored entry would come back with the first save.
	lerr := m.loadLocked(context.Background())
	m.mu.Lock()
	if u, ok := m.users[name]; ok {
		u.c = Counters{PeriodStart: m.Period.Start(m.now())}
	}
	m.dirty = true
	m.mu.Unlock()
	if lerr != nil {
		return lerr
	}
	return m.saveLocked(context.Background())
}

// Flush saves the counters now if they changed since the last save. Call
// it at shutdown, after the transfers ended.
func (m *Manager) Flush(ctx context.Context) error {
	m.mu.Lock()
	t, done := m.timer, m.timerDone
	m.timer, m.timerDone = nil, nil
	m.mu.Unlock()
	if t != nil && !t.Stop() {
		<-done // it fired: let it finish, it will not save
	}
	m.saveMu.Lock()
	defer m.saveMu.Unlock()
	return m.saveLocked(ctx)
}

// saveLocked writes the counters if they changed; m.saveMu is held.
func (m *Manager) saveLocked(ctx context.Context) error {
	if m.Store == nil {
		return nil
	}
	if err := m.loadLocked(ctx); err != nil {
		return err
	}
	m.mu.Lock()
	if !m.dirty {
		m.mu.Unlock()
		return nil
	}
	all := make(map[string]Counters, len(m.users))
	for name, u := range m.users {
		if !u.c.zero() {
			all[name] = u.c
		}
	}
	m.dirty = false
	m.mu.Unlock()

	err := m.Store.Save(ctx, all)

	m.mu.Lock()
	m.lastSave = time.Now()
	if err != nil {
		m.dirty = true // try again next time
	}
	m.mu.Unlock()
	return err
}

// saveSoon schedules a save at most saveInterval after the last one.
func (m *Manager) saveSoon() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Store == nil || !m.dirty || m.timer != nil {
		return
	}
	d := max(saveInterval-time.Since(m.lastSave), 0)
	done := make(chan struct{})
	m.timerDone = done
	m.timer = time.AfterFunc(d, func() {
		defer close(done)
		m.mu.Lock()
		if m.timerDone != done { // Flush took over
			m.mu.Unlock()
			return
		}
		m.timer, m.timerDone = nil, nil
		m.mu.Unlock()

		m.saveMu.Lock()
		defer m.saveMu.Unlock()
		if err := m.saveLocked(context.Background()); err != nil {
			m.logger().Error("quota: saving counters", "err", err)
		}
	})
}

// User is the state all sessions of one user share: limits, counters and
// one speed limiter per direction. Get it from [Manager.User].
type User struct {
	m    *Manager
	name string

	// Guarded by m.mu.
	limits Limits
	c      Counters
	lim    [2]*rate.Limiter // by Direction; nil until a rate is set
}

// Name returns the user's name.
func (u *User) Name() string { return u.name }

// Chunk sizes: see burstFor.
const (
	minChunk     = 32 << 10
	maxChunk     = 1 << 20
	defaultChunk = 32 << 10 // for transfers that are not rate limited
)

// burstFor returns the burst of a limiter of r bytes per second, which is
// also the chunk a limited transfer moves at a time: a tenth of a second's
// worth, at least 32 KiB (but at most a quarter of a second's worth, so
// that the initial burst stays within 2.5% of 10 s of traffic), at most
// 1 MiB.
func burstFor(r int64) int {
	b := r / 10
	if b < minChunk {
		b = min(minChunk, r/4)
	}
	return int(max(min(b, maxChunk), 1))
}

func (u *User) setLimitsLocked(l Limits) {
	u.limits = l
	for _, d := range []Direction{Download, Upload} {
		r := l.rate(d)
		if r == 0 {
			continue // the limiter, if any, waits idle for a new rate
		}
		b := burstFor(r)
		switch lim := u.lim[d]; {
		case lim == nil:
			u.lim[d] = rate.NewLimiter(rate.Limit(r), b)
		case lim.Limit() != rate.Limit(r) || lim.Burst() != b:
			lim.SetLimit(rate.Limit(r))
			lim.SetBurst(b)
		}
	}
}

// limiter returns the limiter of direction d, nil if d is not limited.
func (u *User) limiter(d Direction) *rate.Limiter {
	u.m.mu.Lock()
	defer u.m.mu.Unlock()
	if u.limits.rate(d) == 0 {
		return nil
	}
	return u.lim[d]
}

// rollLocked starts a new period when the current one is over.
func (u *User) rollLocked(now time.Time) {
	p := u.m.Period
	if p == None {
		return
	}
	if start := p.Start(now); u.c.PeriodStart.Before(start) {
		u.c = Counters{PeriodStart: start}
		u.m.dirty = true
	}
}

// balanceLocked returns credit + uploaded/ratio - downloaded, in bytes;
// call it only with a ratio.
func (u *User) balanceLocked() int64 {
	l := u.limits
	b := math.Floor(float64(l.RatioCredit) + float64(u.c.Uploaded)/l.Ratio - float64(u.c.Downloaded))
	switch {
	case b >= math.MaxInt64:
		return math.MaxInt64
	case b <= math.MinInt64:
		return math.MinInt64
	}
	return int64(b)
}

// remainingLocked returns the bytes that may still move in direction d,
// -1 if unlimited.
func (u *User) remainingLocked(d Direction) int64 {
	rem := int64(-1)
	if a := u.limits.amount(d); a > 0 {
		rem = max(a-*u.c.count(d), 0)
	}
	if d == Download && u.limits.hasRatio() {
		b := max(u.balanceLocked(), 0)
		if rem < 0 || b < rem {
			rem = b
		}
	}
	return rem
}

// amountErrLocked is the error of a used-up amount.
func (u *User) amountErrLocked(d Direction, now time.Time) error {
	p := u.m.Period
	msg := fmt.Sprintf("%s limit of %d bytes%s reached", d, u.limits.amount(d), p.per())
	if p != None {
		msg += " (resets " + timeText(p.Next(now)) + ")"
	}
	return &limitError{err: ErrAmountExceeded, msg: msg}
}

// ratioErrLocked is the error of a used-up ratio balance; size is the
// refused file's size, -1 if none.
func (u *User) ratioErrLocked(size int64) error {
	msg := fmt.Sprintf("ratio %s: balance is %d bytes", u.limits.ratioText(), max(u.balanceLocked(), 0))
	if size >= 0 {
		msg += fmt.Sprintf(", file is %d bytes", size)
	}
	return &limitError{err: ErrRatio, msg: msg}
}

// Begin starts a transfer of size bytes in direction dir: the bytes it will
// move (a file's size less a restart offset), -1 if unknown. It refuses up
// front, with an error that says why, a transfer in a direction whose
// amount is used up ([ErrAmountExceeded]) and a download larger than the
// ratio balance, or any download of unknown size once the balance is 0
// ([ErrRatio]). A transfer of 0 bytes is never refused.
func (u *User) Begin(dir Direction, size int64) (*Transfer, error) {
	m := u.m
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	u.rollLocked(now)
	if size != 0 {
		if a := u.limits.amount(dir); a > 0 && *u.c.count(dir) >= a {
			return nil, u.amountErrLocked(dir, now)
		}
		if dir == Download && u.limits.hasRatio() {
			if b := u.balanceLocked(); b <= 0 || size > b {
				return nil, u.ratioErrLocked(size)
			}
		}
	}
	return &Transfer{u: u, dir: dir}, nil
}

// Status returns a snapshot of the user's limits and counters.
func (u *User) Status() Status {
	m := u.m
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	u.rollLocked(now)
	s := Status{
		Limits:      u.limits,
		Period:      m.Period,
		PeriodStart: u.c.PeriodStart,
		Downloaded:  u.c.Downloaded,
		Uploaded:    u.c.Uploaded,
		Balance:     -1,
	}
	if u.limits.hasRatio() {
		s.Balance = max(u.balanceLocked(), 0)
	}
	return s
}

// Status is a snapshot of a user's limits and counters, for SITE QUOTA.
type Status struct {
	Limits      Limits
	Period      Period
	PeriodStart time.Time // see [Counters.PeriodStart]
	Downloaded  int64
	Uploaded    int64
	Balance     int64 // bytes the ratio still allows to download; -1 if no ratio
}

// String returns the status as lines of text, without a final newline,
// fit for a multi-line reply:
//
//	Period: monthly since 2026-03-01 00:00 UTC, resets 2026-04-01 00:00 UTC
//	Downloaded: 1500 of 10000 bytes (8500 left)
//	Uploaded: 4000 bytes (no limit)
//	Download speed: 65536 bytes/s
//	Upload speed: unlimited
//	Ratio: 2:1, credit 0 bytes, balance 500 bytes
func (s Status) String() string {
	var b strings.Builder
	b.WriteString("Period: ")
	switch {
	case s.Period == None && s.PeriodStart.IsZero():
		b.WriteString("none (cumulative)")
	case s.Period == None:
		b.WriteString("none (cumulative since " + timeText(s.PeriodStart) + ")")
	default:
		fmt.Fprintf(&b, "%s since %s, resets %s", s.Period, timeText(s.PeriodStart), timeText(s.Period.Next(s.PeriodStart)))
	}
	amount := func(name string, n, limit int64) {
		if limit > 0 {
			fmt.Fprintf(&b, "\n%s: %d of %d bytes (%d left)", name, n, limit, max(limit-n, 0))
		} else {
			fmt.Fprintf(&b, "\n%s: %d bytes (no limit)", name, n)
		}
	}
	amount("Downloaded", s.Downloaded, s.Limits.amount(Download))
	amount("Uploaded", s.Uploaded, s.Limits.amount(Upload))
	speed := func(name string, r int64) {
		if r > 0 {
			fmt.Fprintf(&b, "\n%s: %d bytes/s", name, r)
		} else {
			fmt.Fprintf(&b, "\n%s: unlimited", name)
		}
	}
	speed("Download speed", s.Limits.rate(Download))
	speed("Upload speed", s.Limits.rate(Upload))
	if s.Limits.hasRatio() {
		fmt.Fprintf(&b, "\nRatio: %s, credit %d bytes, balance %d bytes", s.Limits.ratioText(), s.Limits.RatioCredit, max(s.Balance, 0))
	} else {
		b.WriteString("\nRatio: none")
	}
	return b.String()
}
