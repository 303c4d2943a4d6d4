package quota

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoginThrottleGrowth(t *testing.T) {
	s := time.Second
	tests := []struct {
		name  string
		l     *LoginThrottle
		want  []time.Duration // delay of each failure in a row
		banAt int             // failure (1-based) that bans
	}{
		{
			name:  "defaults",
			l:     &LoginThrottle{},
			want:  []time.Duration{1 * s, 2 * s, 4 * s, 8 * s, 16 * s, 16 * s, 16 * s, 16 * s, 16 * s, 16 * s},
			banAt: 10,
		},
		{
			name:  "custom",
			l:     &LoginThrottle{Delay: 100 * time.Millisecond, MaxDelay: time.Second, BanAfter: 3, BanFor: time.Minute},
			want:  []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond},
			banAt: 3,
		},
		{
			name:  "max below delay",
			l:     &LoginThrottle{Delay: 5 * s, MaxDelay: 3 * s, BanAfter: 2},
			want:  []time.Duration{3 * s, 3 * s},
			banAt: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock(t, "2026-03-14T12:00:00Z")
			l := tt.l
			l.Now = clk.Now
			ip := netip.MustParseAddr("127.0.0.1")
			for i, want := range tt.want {
				banned, _ := l.Banned(ip)
				assert.False(t, banned, "not banned before failure %d", i+1)
				assert.NoError(t, l.Check(ip), "Check before failure %d", i+1)
				assert.Equal(t, want, l.Failed(ip), "delay of failure %d", i+1)
				clk.advance(time.Second)
			}
			banned, left := l.Banned(ip)
			assert.True(t, banned, "banned after failure %d", tt.banAt)
			assert.Equal(t, l.banFor()-time.Second, left, "ban time left")
			err := l.Check(ip)
			assert.ErrorIs(t, err, ErrBanned, "Check while banned")
			other, _ := l.Banned(netip.MustParseAddr("127.0.0.2"))
			assert.False(t, other, "another address is not banned")

			clk.advance(left - time.Nanosecond)
			banned, _ = l.Banned(ip)
			assert.True(t, banned, "still banned just before the end")
			clk.advance(time.Nanosecond)
			banned, _ = l.Banned(ip)
			assert.False(t, banned, "the ban ends")
			assert.Equal(t, tt.want[0], l.Failed(ip), "after a ban, failures count from the start")
		})
	}
}

func TestLoginThrottleBanMessage(t *testing.T) {
	clk := newClock(t, "2026-03-14T12:00:00Z")
	l := &LoginThrottle{BanAfter: 1, Now: clk.Now}
	l.Failed(netip.MustParseAddr("127.0.0.1"))
	clk.advance(90 * time.Second)
	assert.EqualError(t, l.Check(netip.MustParseAddr("127.0.0.1")),
		"too many failed logins from your address; try again in 13m30s", "the text a client sees")
	l.Succeeded(netip.MustParseAddr("127.0.0.1"))
	banned, _ := l.Banned(netip.MustParseAddr("127.0.0.1"))
	assert.True(t, banned, "a success does not lift a ban")
}

func TestLoginThrottleExpiry(t *testing.T) {
	clk := newClock(t, "2026-03-14T12:00:00Z")
	l := &LoginThrottle{Now: clk.Now} // BanFor 15m
	ip := netip.MustParseAddr("127.0.0.1")
	assert.Equal(t, time.Second, l.Failed(ip), "first")
	clk.advance(14 * time.Minute)
	assert.Equal(t, 2*time.Second, l.Failed(ip), "remembered within BanFor")
	clk.advance(15 * time.Minute)
	assert.Equal(t, time.Second, l.Failed(ip), "forgotten BanFor after the last failure")
	l.Failed(ip)
	l.Succeeded(ip)
	assert.Equal(t, time.Second, l.Failed(ip), "a success forgets the failures")
	l.Succeeded(netip.MustParseAddr("127.0.0.9")) // unknown: nothing
}

func TestLoginThrottleIPv6Network(t *testing.T) {
	l := &LoginThrottle{BanAfter: 2}
	l.Failed(netip.MustParseAddr("2001:db8:1:2::1"))
	l.Failed(netip.MustParseAddr("2001:db8:1:2:ffff::9"))
	banned, _ := l.Banned(netip.MustParseAddr("2001:db8:1:2::77"))
	assert.True(t, banned, "IPv6 counts per /64")
	banned, _ = l.Banned(netip.MustParseAddr("2001:db8:1:3::1"))
	assert.False(t, banned, "another /64 is not banned")

	l.Failed(netip.MustParseAddr("127.0.0.1"))
	l.Failed(netip.MustParseAddr("::ffff:127.0.0.1"))
	banned, _ = l.Banned(netip.MustParseAddr("127.0.0.1"))
	assert.True(t, banned, "a mapped IPv4 address is its IPv4 address")
	banned, _ = l.Banned(netip.MustParseAddr("127.0.0.2"))
	assert.False(t, banned, "IPv4 counts per address")
}

// Entries expire: failures from many addresses do not stay in memory.
func TestLoginThrottleBoundedMemory(t *testing.T) {
	clk := newClock(t, "2026-03-14T12:00:00Z")
	l := &LoginThrottle{Now: clk.Now, BanAfter: 2, BanFor: time.Minute}
	for i := range 1000 {
		ip := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		l.Failed(ip)
		if i%2 == 0 {
			l.Failed(ip) // banned
		}
	}
	require.Len(t, l.addrs, 1000, "one entry per address")
	clk.advance(time.Minute)
	l.Failed(netip.MustParseAddr("127.0.0.1"))
	assert.Len(t, l.addrs, 1, "expired entries and ended bans are swept")

	// A flood from more addresses than the cap stays under the cap.
	l2 := &LoginThrottle{Now: clk.Now}
	for i := range maxThrottled + 100 {
		l2.Failed(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
	}
	assert.LessOrEqual(t, len(l2.addrs), maxThrottled, "at most maxThrottled entries")
}

func TestLoginThrottleConcurrent(t *testing.T) {
	l := &LoginThrottle{BanAfter: 1000}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			ip := netip.MustParseAddr(fmt.Sprintf("127.0.0.%d", i%4+1))
			for range 50 {
				l.Failed(ip)
				l.Banned(ip)
				_ = l.Check(ip)
			}
		})
	}
	wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, f := range l.addrs {
		assert.Equal(t, 250, f.n, "every failure of %v counted", k)
	}
}
