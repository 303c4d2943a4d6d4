package quota

import (
	"net/netip"
	"sync"
)

// ConnLimiter limits a site's connections: in all, and from any one client
// address. An IPv4-mapped IPv6 address counts as its IPv4 address; zones
// are ignored. The zero value is usable and limits nothing. A ConnLimiter
// is safe for concurrent use; set its fields before the first Acquire and
// change them later only with [ConnLimiter.SetLimits].
type ConnLimiter struct {
	// MaxTotal is the most connections at a time (Maximum connected
	// users); 0 is unlimited.
	MaxTotal int

	// MaxPerIP is the most connections at a time from one address; 0 is
	// unlimited.
	MaxPerIP int

	mu    sync.Mutex
	total int
	perIP map[netip.Addr]int // only addresses with connections
}

// SetLimits changes both limits while the limiter is in use (a
// configuration reload). Connections over a lowered limit stay; new ones
// are refused until the count is below it.
func (c *ConnLimiter) SetLimits(maxTotal, maxPerIP int) {
	c.mu.Lock()
	c.MaxTotal, c.MaxPerIP = maxTotal, maxPerIP
	c.mu.Unlock()
}

// Acquire counts a new connection from ip, or refuses it with an error
// wrapping [ErrTooManyConnections] or [ErrTooManyFromIP] (the engine
// answers 421). The connection's owner must call release when it ends,
// however it ends; release may be called any number of times, from any
// goroutine, and counts once.
func (c *ConnLimiter) Acquire(ip netip.Addr) (release func(), err error) {
	ip = ip.Unmap().WithZone("")
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.MaxTotal > 0 && c.total >= c.MaxTotal {
		return nil, limitErrorf(ErrTooManyConnections, "too many users connected (maximum %d); try again later", c.MaxTotal)
	}
	if c.MaxPerIP > 0 && c.perIP[ip] >= c.MaxPerIP {
		return nil, limitErrorf(ErrTooManyFromIP, "too many connections from your address (maximum %d)", c.MaxPerIP)
	}
	if c.perIP == nil {
		c.perIP = make(map[netip.Addr]int)
	}
	c.total++
	c.perIP[ip]++
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.total--
			if c.perIP[ip]--; c.perIP[ip] <= 0 {
				delete(c.perIP, ip)
			}
		})
	}, nil
}

// Count returns the number of connections counted now.
func (c *ConnLimiter) Count() (total int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// CountIP returns the number of connections counted now from ip.
func (c *ConnLimiter) CountIP(ip netip.Addr) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.perIP[ip.Unmap().WithZone("")]
}
