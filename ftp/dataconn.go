package ftp

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// dataSetup is a data connection prepared by PASV, EPSV, PORT or EPRT and
// opened by the next transfer command.
type dataSetup interface {
	// open returns the connected data connection. It gives up when ctx
	// ends or after the server's DataTimeout.
	open(ctx context.Context, timeout time.Duration) (net.Conn, error)
	close()
}

// errDataTimeout means a data connection did not open, or a transfer made
// no progress, within DataTimeout.
var errDataTimeout = errors.New("ftp: data connection timed out")

// passiveListener is what passiveData needs of its *net.TCPListener. It
// has the four methods of the listener it stands for, so that a test can
// put a fake in its place and make connections from foreign addresses.
type passiveListener interface {
	Accept() (net.Conn, error)
	SetDeadline(t time.Time) error
	Close() error
	Addr() net.Addr
}

var _ passiveListener = (*net.TCPListener)(nil)

// passiveData listens for the client's data connection.
type passiveData struct {
	l      passiveListener
	client netip.Addr // the only address accepted: the control client's
	log    func(msg string, args ...any)

	// reusable says the listener may serve the session's next PASV or
	// EPSV once a transfer on it ended well (see openPassive): its port
	// is one of the system's ephemeral range, not of PassivePorts.
	reusable bool
}

func (p *passiveData) open(ctx context.Context, timeout time.Duration) (net.Conn, error) {
	p.l.SetDeadline(time.Now().Add(timeout))
	stop := context.AfterFunc(ctx, func() { p.l.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	for {
		tc, err := p.l.Accept() // a *net.TCPConn: the fast path stays
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return nil, errDataTimeout
			}
			return nil, err
		}
		from := addrPortOf(tc.RemoteAddr()).Addr()
		if from != p.client {
			// Data-connection theft (RFC 2577 section 4 discusses
			// the port-guessing attack): close and wait on.
			p.log("foreign data connection refused", "from", from.String())
			tc.Close()
			continue
		}
		return tc, nil
	}
}

func (p *passiveData) close() { p.l.Close() }

func (p *passiveData) port() uint16 { return uint16(p.l.Addr().(*net.TCPAddr).Port) }

// activeData connects to the client (PORT, EPRT).
type activeData struct {
	addr  netip.AddrPort
	local netip.Addr // the control connection's local address
}

func (a *activeData) open(ctx context.Context, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout, KeepAlive: -1} // see listenPassive
	if a.local.Is4() == a.addr.Addr().Is4() {
		// From the control connection's address; a target of the other
		// protocol (AllowForeignActive) leaves from the system's choice.
		d.LocalAddr = &net.TCPAddr{IP: a.local.AsSlice()}
	}
	nc, err := d.DialContext(ctx, "tcp", a.addr.String())
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, errDataTimeout
		}
		return nil, err
	}
	return nc, nil
}

func (a *activeData) close() {}

// openedData is a data connection already open, or the error of opening
// it.
type openedData struct {
	nc  net.Conn
	err error
}

func (o *openedData) open(context.Context, time.Duration) (net.Conn, error) { return o.nc, o.err }

func (o *openedData) close() {
	if o.nc != nil {
		o.nc.Close()
	}
}

// listenPassive opens the passive listener on the control connection's
// local address, in the configured port range.
func (c *conn) listenPassive() (*passiveData, error) {
	ip := c.local.Addr()
	pr := c.srv.PassivePorts
	// No TCP keep-alive on data connections: the transfer watchdog
	// (DataTimeout) looks after them, and four setsockopt calls per
	// small file are worth saving.
	lc := net.ListenConfig{KeepAlive: -1}
	listen := func(port int) (*net.TCPListener, error) {
		l, err := lc.Listen(context.Background(), "tcp", netip.AddrPortFrom(ip, uint16(port)).String())
		if err != nil {
			return nil, err
		}
		return l.(*net.TCPListener), nil
	}
	var l *net.TCPListener
	var err error
	if pr.First == 0 && pr.Last == 0 {
		// A random port of the system's ephemeral range, asked for by
		// number: hard to guess (RFC 2577 section 8), and cheap where
		// port 0 is not. To find a port for port 0, Linux walks its
		// range past every port in use, and with the tens of thousands
		// of TIME_WAIT connections a busy server leaves behind, that
		// walk costs a millisecond of kernel time per PASV. A few tries,
		// then the system's choice.
		lo, hi := ephemeralPorts()
		for range 8 {
			l, err = listen(lo + rand.IntN(hi-lo+1))
			if err == nil {
				break
			}
		}
		if l == nil {
			l, err = listen(0)
		}
	} else {
		first, last := int(pr.First), int(pr.Last)
		if last < first {
			first, last = last, first
		}
		n := last - first + 1
		start := rand.IntN(n)
		for i := 0; i < n; i++ {
			l, err = listen(first + (start+i)%n)
			if err == nil || !errors.Is(err, syscall.EADDRINUSE) {
				break
			}
		}
	}
	if err != nil {
		return nil, err
	}
	return &passiveData{
		l:        l,
		client:   c.remote.Addr(),
		log:      func(msg string, args ...any) { c.log.Warn(msg, args...) },
		reusable: pr.First == 0 && pr.Last == 0,
	}, nil
}

// ephemeralPorts is the system's range of ports for automatic binding:
// Linux's ip_local_port_range, or else the dynamic range of RFC 6335
// section 6.
var ephemeralPorts = sync.OnceValues(func() (lo, hi int) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err == nil {
		f := strings.Fields(string(b))
		if len(f) == 2 {
			lo, err1 := strconv.Atoi(f[0])
			hi, err2 := strconv.Atoi(f[1])
			if err1 == nil && err2 == nil && 1024 <= lo && lo <= hi && hi <= 65535 {
				return lo, hi
			}
		}
	}
	return 49152, 65535
})

// passiveAnnounce is the IPv4 address a 227 reply names: the configured
// public address, except for clients in the local networks.
func (c *conn) passiveAnnounce() netip.Addr {
	pub := c.srv.PassiveAddress
	if !pub.IsValid() {
		return c.local.Addr()
	}
	for _, p := range c.srv.LocalNetworks {
		if p.Contains(c.remote.Addr()) {
			return c.local.Addr()
		}
	}
	return pub
}

// checkActive applies RFC 2577 to a PORT or EPRT target.
func (c *conn) checkActive(ap netip.AddrPort) error {
	if !c.srv.AllowForeignActive && ap.Addr().Unmap() != c.remote.Addr() {
		return errReply(StatusParameterNotImpl, "Data connection to an address other than yours is not allowed.")
	}
	if !c.srv.AllowPrivilegedActive && ap.Port() < 1024 {
		return errReply(StatusParameterNotImpl, "Data connection to a port below 1024 is not allowed.")
	}
	if ap.Port() == 0 {
		return errReply(StatusParameterSyntaxError, "Invalid port.")
	}
	return nil
}

func portString(p uint16) string { return strconv.Itoa(int(p)) }
