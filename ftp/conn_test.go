package ftp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryftp/ferry/internal/leaktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMain runs the tests of package ftp (the ftp_test ones included: they
// share this binary) and then checks that no goroutine outlives them: every
// connection, transfer, watchdog and listener goroutine must have ended
// once the servers of the tests are shut down.
func TestMain(m *testing.M) { leaktest.Main(m) }

// fakeListener hands out the connections a test puts in conns, with the
// deadline semantics of a *net.TCPListener.
type fakeListener struct {
	conns  chan net.Conn
	wake   chan struct{}
	closed chan struct{}

	mu       sync.Mutex
	deadline time.Time
}

func newFakeListener() *fakeListener {
	return &fakeListener{conns: make(chan net.Conn, 4), wake: make(chan struct{}, 1), closed: make(chan struct{})}
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

func (f *fakeListener) Accept() (net.Conn, error) {
	for {
		f.mu.Lock()
		d := f.deadline
		f.mu.Unlock()
		var expired <-chan time.Time
		var tm *time.Timer
		if !d.IsZero() {
			tm = time.NewTimer(time.Until(d))
			expired = tm.C
		}
		var c net.Conn
		var err error
		select {
		case c = <-f.conns:
		case <-expired:
			err = timeoutError{}
		case <-f.wake:
		case <-f.closed:
			err = net.ErrClosed
		}
		if tm != nil {
			tm.Stop()
		}
		if c != nil || err != nil {
			return c, err
		}
	}
}

func (f *fakeListener) SetDeadline(t time.Time) error {
	f.mu.Lock()
	f.deadline = t
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
	return nil
}

func (f *fakeListener) Close() error { close(f.closed); return nil }

func (f *fakeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2020} }

// fromConn is one end of a pipe that claims to come from another address.
type fromConn struct {
	net.Conn
	from netip.AddrPort
}

func (c fromConn) RemoteAddr() net.Addr { return net.TCPAddrFromAddrPort(c.from) }

// pipeFrom returns a server end that seems to come from addr, and the
// client end.
func pipeFrom(addr string) (server, client net.Conn) {
	s, c := net.Pipe()
	return fromConn{s, netip.MustParseAddrPort(addr)}, c
}

// TestPassiveRefusesForeignAddress: a passive data connection from an
// address other than the control client's is closed and the wait goes on
// (RFC 2577 section 4, the port-guessing attack). Only two loopback
// addresses may be used, and the passive listener sits on one of them, so
// this is checked with a fake listener.
func TestPassiveRefusesForeignAddress(t *testing.T) {
	fl := newFakeListener()
	var logged []string
	var logMu sync.Mutex
	p := &passiveData{
		l:      fl,
		client: netip.MustParseAddr("127.0.0.1"),
		log: func(msg string, args ...any) {
			logMu.Lock()
			logged = append(logged, msg)
			logMu.Unlock()
		},
	}
	thiefServer, thief := pipeFrom("[::1]:40000")
	ownServer, own := pipeFrom("127.0.0.1:40001")
	defer thief.Close()
	defer own.Close()
	fl.conns <- thiefServer
	fl.conns <- ownServer

	dc, err := p.open(context.Background(), 5*time.Second)
	require.NoError(t, err, "the client's own connection is accepted after the foreign one")
	assert.Equal(t, "127.0.0.1:40001", dc.RemoteAddr().String(), "open returns the client's connection")
	thief.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = thief.Read(make([]byte, 1))
	assert.ErrorIs(t, err, io.EOF, "the foreign connection is closed")
	logMu.Lock()
	assert.Equal(t, []string{"foreign data connection refused"}, logged, "the refusal is logged")
	logMu.Unlock()
	dc.Close()
	p.close()
}

func TestPassiveForeignOnlyTimesOut(t *testing.T) {
	fl := newFakeListener()
	p := &passiveData{l: fl, client: netip.MustParseAddr("::1"), log: func(string, ...any) {}}
	thiefServer, thief := pipeFrom("127.0.0.1:40000")
	defer thief.Close()
	fl.conns <- thiefServer
	start := time.Now()
	_, err := p.open(context.Background(), 100*time.Millisecond)
	assert.ErrorIs(t, err, errDataTimeout, "only a foreign connection came: the wait ends in the data timeout")
	assert.GreaterOrEqual(t, time.Since(start), 90*time.Millisecond, "the foreign connection does not end the wait")
	p.close()
}

func TestPassiveOpenCancelled(t *testing.T) {
	fl := newFakeListener()
	p := &passiveData{l: fl, client: netip.MustParseAddr("127.0.0.1"), log: func(string, ...any) {}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := p.open(ctx, time.Minute)
		done <- err
	}()
	cancel() // ABOR, QUIT or the connection closing
	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.Canceled, "a cancelled wait reports the cancellation")
	case <-time.After(5 * time.Second):
		t.Fatal("open did not return after cancel")
	}
	p.close()
}

// TestReplyFormat checks the multi-line form of RFC 959 section 4.2: a
// continuation line that begins with a digit is indented, so no client
// takes it for the last line.
func TestReplyFormat(t *testing.T) {
	for _, tc := range []struct {
		text, want string
	}{
		{"OK.", "200 OK.\r\n"},
		{"first\nsecond\nlast", "200-first\r\nsecond\r\n200 last\r\n"},
		{"first\n200 looks like an end\nlast", "200-first\r\n 200 looks like an end\r\n200 last\r\n"},
		{"with CR\r\nand\x00NUL\nend\r\n", "200-with CR\r\nandNUL\r\n200 end\r\n"},
	} {
		assert.Equal(t, tc.want, string(appendReply(nil, StatusOK, tc.text)), "reply text %q", tc.text)
	}
}

// TestErrorReplyHidesCauses checks that the causes of errors never reach
// the reply text.
func TestErrorReplyHidesCauses(t *testing.T) {
	secret := "/srv/ftp/secret/path"
	for _, err := range []error{
		fmt.Errorf("open %s: %w", secret, os.ErrNotExist),
		fmt.Errorf("open %s: %w", secret, os.ErrPermission),
		&Error{Code: StatusFileUnavailable, Msg: "Refused.", Err: errors.New(secret)},
		errors.New(secret),
		fmt.Errorf("copy: %w", context.Canceled),
	} {
		code, msg, _ := errorReply(err)
		assert.NotContains(t, msg, secret, "reply %d %q for %v", code, msg, err)
		assert.False(t, strings.ContainsAny(msg, "\r\n"), "one line")
	}
}
