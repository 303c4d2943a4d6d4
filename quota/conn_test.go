package quota

import (
	"net/netip"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConnLimiter(t *testing.T) {
	a := netip.MustParseAddr("127.0.0.1")
	b := netip.MustParseAddr("::1")
	tests := []struct {
		name      string
		maxTotal  int
		maxPerIP  int
		addrs     []netip.Addr
		wantErrIs []error // nil: accepted
	}{
		{name: "unlimited", addrs: []netip.Addr{a, a, a, b}, wantErrIs: []error{nil, nil, nil, nil}},
		{name: "total", maxTotal: 2, addrs: []netip.Addr{a, b, b}, wantErrIs: []error{nil, nil, ErrTooManyConnections}},
		{name: "per address", maxPerIP: 2, addrs: []netip.Addr{a, a, b, a}, wantErrIs: []error{nil, nil, nil, ErrTooManyFromIP}},
		{name: "mapped IPv4 is IPv4", maxPerIP: 1, addrs: []netip.Addr{a, netip.MustParseAddr("::ffff:127.0.0.1")}, wantErrIs: []error{nil, ErrTooManyFromIP}},
		{name: "zones ignored", maxPerIP: 1, addrs: []netip.Addr{netip.MustParseAddr("fe80::1%eth0"), netip.MustParseAddr("fe80::1%eth1")}, wantErrIs: []error{nil, ErrTooManyFromIP}},
		{name: "total first", maxTotal: 1, maxPerIP: 1, addrs: []netip.Addr{a, a}, wantErrIs: []error{nil, ErrTooManyConnections}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &ConnLimiter{MaxTotal: tt.maxTotal, MaxPerIP: tt.maxPerIP}
			var releases []func()
			for i, ip := range tt.addrs {
				release, err := c.Acquire(ip)
				if tt.wantErrIs[i] == nil {
					require.NoError(t, err, "connection %d from %v", i, ip)
					releases = append(releases, release)
				} else {
					assert.ErrorIs(t, err, tt.wantErrIs[i], "connection %d from %v", i, ip)
					assert.Nil(t, release, "no release when refused")
				}
			}
			assert.Equal(t, len(releases), c.Count(), "Count")
			for _, r := range releases {
				r()
				r() // idempotent
			}
			assert.Equal(t, 0, c.Count(), "back to 0")
			assert.Empty(t, c.perIP, "no address left behind")
		})
	}
}

func TestConnLimiterMessages(t *testing.T) {
	c := &ConnLimiter{MaxTotal: 1}
	r, err := c.Acquire(netip.MustParseAddr("127.0.0.1"))
	require.NoError(t, err, "first")
	defer r()
	_, err = c.Acquire(netip.MustParseAddr("127.0.0.1"))
	assert.EqualError(t, err, "too many users connected (maximum 1); try again later", "total")

	c.SetLimits(0, 1)
	_, err = c.Acquire(netip.MustParseAddr("127.0.0.1"))
	assert.EqualError(t, err, "too many connections from your address (maximum 1)", "per address")
	assert.Equal(t, 1, c.CountIP(netip.MustParseAddr("::ffff:127.0.0.1")), "CountIP")
	c.SetLimits(0, 0)
	r2, err := c.Acquire(netip.MustParseAddr("127.0.0.1"))
	require.NoError(t, err, "unlimited after a reload")
	r2()
}

func TestConnLimiterConcurrent(t *testing.T) {
	c := &ConnLimiter{MaxTotal: 50, MaxPerIP: 10}
	addrs := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("::1")}
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			ip := addrs[i%len(addrs)]
			for range 100 {
				release, err := c.Acquire(ip)
				if err != nil {
					continue
				}
				assert.LessOrEqual(t, c.Count(), 50, "never over the total")
				assert.LessOrEqual(t, c.CountIP(ip), 10, "never over the per-address limit")
				// Released twice, from two goroutines: counted once.
				var both sync.WaitGroup
				both.Go(release)
				both.Go(release)
				both.Wait()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 0, c.Count(), "every connection released")
	for _, ip := range addrs {
		assert.Equal(t, 0, c.CountIP(ip), "no connection left from %v", ip)
	}
}
