package ftp

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferryftp/ferry/acl"
	"github.com/ferryftp/ferry/quota"
	"github.com/ferryftp/ferry/vfs"
)

// ErrServerClosed is returned by [Server.Serve] and [Server.ListenAndServe]
// after a call to [Server.Shutdown] or [Server.Close].
var ErrServerClosed = errors.New("ftp: Server closed")

// A Server serves FTP sessions. The zero value is usable: it listens on
// ":21" and, with no [Server.Auth], rejects every login.
//
// The fields must not be changed once the server is serving.
type Server struct {
	// Addr is the TCP address to listen on, ":21" if empty.
	Addr string

	// Auth checks logins and returns each user's view. Nil rejects every
	// login.
	Auth Authenticator

	// Greeting is the text of the 220 reply sent on connect; it may span
	// several lines. Empty means "Ferry FTP server ready.".
	Greeting string

	// TLSConfig, when set, enables explicit FTPS (AUTH TLS, RFC 4217) and
	// is the base of implicit FTPS ([Server.ServeTLS]). Each session uses
	// a copy with TLS 1.2 as the minimum version and with session tickets
	// sealed by a key of its own, which replaces the configuration's
	// ticket keys, WrapSession and UnwrapSession: that is how a PROT P
	// data connection proves it belongs to its control connection.
	TLSConfig *tls.Config

	// TLSHandshakeTimeout bounds each TLS handshake, on the control
	// connection (AUTH TLS, implicit FTPS) and on PROT P data
	// connections. Zero means 10 seconds.
	TLSHandshakeTimeout time.Duration

	// Hosts, when set, serves several sites on this server's addresses:
	// by the address a client connects to, and by the client's HOST
	// command (RFC 7151). Each site brings its greeting, users and
	// access log. Nil: one site, made of the fields below.
	Hosts HostResolver

	// AccessLog, when set, receives an entry for every command and every
	// transfer (see package ftp/w3c for W3C extended log files).
	AccessLog AccessLogger

	// ConnFilter, when set, decides which client addresses may connect.
	// A refused client gets 421 and is closed before the greeting.
	// [acl.AccessList] implements it.
	ConnFilter ConnFilter

	// MaxConnections is the most clients connected at once, 0 for no
	// limit; MaxConnectionsPerIP the most from one address. A connection
	// beyond them gets 421 and is closed.
	MaxConnections      int
	MaxConnectionsPerIP int

	// LoginThrottle, when set, delays the reply to failed logins per
	// client address, growing with each failure, and bans an address that
	// keeps failing (421 at connect). It replaces LoginFailureDelay.
	LoginThrottle *quota.LoginThrottle

	// DirSizes tracks the maximum directory sizes of path permissions;
	// nil means one of the server's own. Share one between servers that
	// serve the same trees.
	DirSizes *quota.DirSizes

	// RequireTLS refuses USER before AUTH TLS (530), so that no password
	// crosses the network in clear.
	RequireTLS bool

	// RequireDataTLS refuses PROT C (534) and transfers without PROT P
	// (521, before any 1xx reply; RFC 4217 section 10.2).
	RequireDataTLS bool

	// ExemptAnonymous exempts the anonymous users ("anonymous", "ftp")
	// from RequireTLS and RequireDataTLS.
	ExemptAnonymous bool

	// NoTLSSessionReuse accepts PROT P data connections that do not resume
	// the control connection's TLS session. By default they are refused
	// with 522 after the 150 reply (RFC 4217 section 10.2): resumption
	// proves that the data connection comes from the client of the
	// control connection and not from a third party that reached the
	// data port first. Set it only for clients that cannot resume, such
	// as Python's ftplib.FTP_TLS.
	NoTLSSessionReuse bool

	// AllowCCC lets a client clear the control connection with CCC (RFC
	// 4217 section 5), for NAT devices that must read it. Off by default:
	// commands after CCC, ABOR included, travel in clear and can be
	// forged.
	AllowCCC bool

	// PassivePorts is the range PASV and EPSV listen in. The zero value
	// takes a random port of the system's ephemeral range, which a
	// session keeps for its next transfers (connections made to it
	// between transfers are dropped); a configured range is given back
	// after each transfer.
	PassivePorts PortRange

	// PassiveAddress is the IPv4 address announced in 227 replies, for a
	// server behind NAT. The zero value announces the control
	// connection's local address. Clients in LocalNetworks always get the
	// local address.
	PassiveAddress netip.Addr

	// LocalNetworks are the client networks that are told the local
	// address in PASV replies instead of PassiveAddress.
	LocalNetworks []netip.Prefix

	// AllowForeignActive lets PORT and EPRT name an address other than
	// the control client's own. It enables the bounce attack of RFC 2577
	// section 2 and is off by default.
	AllowForeignActive bool

	// AllowPrivilegedActive lets PORT and EPRT name a port below 1024 (RFC
	// 2577 section 3). Off by default.
	AllowPrivilegedActive bool

	// IdleTimeout closes a control connection that sends no command for
	// this long while no transfer runs. Zero means 5 minutes.
	IdleTimeout time.Duration

	// DataTimeout is how long a data connection may take to open, and how
	// long a transfer may make no progress, before it is dropped. Zero
	// means 1 minute.
	DataTimeout time.Duration

	// MaxLineLength is the longest command line accepted, without CRLF.
	// A longer one gets 500 and the connection is closed. Zero means
	// 4096 bytes.
	MaxLineLength int

	// LoginFailureDelay is the delay before the reply to a failed login;
	// it grows with each failure of the session. Zero means 1 second; a
	// negative value disables it.
	LoginFailureDelay time.Duration

	// MaxLoginFailures is how many failed logins a session may make
	// before it gets 421 and is closed. Zero means 3.
	MaxLoginFailures int

	// Logger receives the server's logs. Nil means slog.Default().
	Logger *slog.Logger

	// Trace, when set, logs every command (PASS and its argument hidden)
	// and reply at debug level.
	Trace bool

	// Now returns the current time, for listings. Nil means time.Now.
	Now func() time.Time

	dirOnce     sync.Once
	ownDirSizes *quota.DirSizes
	connOnce    sync.Once
	connLimit   *quota.ConnLimiter

	mu         sync.Mutex
	listeners  map[*net.Listener]struct{}
	conns      map[*conn]struct{}
	inShutdown atomic.Bool
	nextID     atomic.Uint64
	connWG     sync.WaitGroup
}

// PortRange is an inclusive range of TCP ports. The zero value means any
// free port.
type PortRange struct {
	First, Last uint16
}

// ConnFilter admits or refuses client addresses.
type ConnFilter interface {
	Allow(addr netip.Addr) bool
}

// ConnFilterFunc adapts a function to [ConnFilter].
type ConnFilterFunc func(addr netip.Addr) bool

// Allow calls f.
func (f ConnFilterFunc) Allow(addr netip.Addr) bool { return f(addr) }

// Authenticator checks a login and returns the [User] that the session acts
// as. It may return an [*Error] to choose the reply; any other error is a
// plain "530 Login incorrect.".
type Authenticator interface {
	Login(ctx context.Context, info *LoginInfo) (*User, error)
}

// AuthenticatorFunc adapts a function to [Authenticator].
type AuthenticatorFunc func(ctx context.Context, info *LoginInfo) (*User, error)

// Login calls f.
func (f AuthenticatorFunc) Login(ctx context.Context, info *LoginInfo) (*User, error) {
	return f(ctx, info)
}

// Challenger is an optional interface of an [Authenticator]: the text of
// the 331 reply to USER, for example an anonymous hint or an RFC 2289
// one-time-password challenge. An error refuses the user at once (an
// [*Error] chooses the reply).
type Challenger interface {
	Challenge(ctx context.Context, info *LoginInfo) (string, error)
}

// LoginInfo describes a login attempt.
type LoginInfo struct {
	User     string
	Password string // empty in Challenge
	Remote   netip.AddrPort
	Local    netip.AddrPort
	// TLS is the control connection's TLS state, nil in plain text.
	TLS *tls.ConnectionState
}

// User is the session's view after login.
type User struct {
	// Name is the user name as logged.
	Name string
	// FS is the user's file tree; its root is the user's "/".
	FS vfs.FS
	// Home is the virtual directory the session starts in; "" means "/".
	Home string
	// Authorizer, when set, is asked before every command that uses a
	// path (see the README's table of rights). Nil allows everything the
	// file system allows.
	Authorizer Authorizer
	// Release, when set, is called once when the session ends (QUIT,
	// REIN, disconnect), to free what the login opened.
	Release func()
	// Admin lets the user see every session with SITE WHO.
	Admin bool
	// Quota is the user's limits and counters, shared by all the user's
	// sessions (see package quota); nil means none.
	Quota *quota.User
	// Session is the acl session behind the user, when it came from a
	// SiteAuthenticator; nil otherwise.
	Session *acl.Session
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Server) idleTimeout() time.Duration { return orDefault(s.IdleTimeout, 5*time.Minute) }
func (s *Server) dataTimeout() time.Duration { return orDefault(s.DataTimeout, time.Minute) }

func (s *Server) maxLineLength() int {
	if s.MaxLineLength > 0 {
		return s.MaxLineLength
	}
	return 4096
}

func (s *Server) loginFailureDelay() time.Duration {
	if s.LoginFailureDelay < 0 {
		return 0
	}
	return orDefault(s.LoginFailureDelay, time.Second)
}

func (s *Server) maxLoginFailures() int {
	if s.MaxLoginFailures > 0 {
		return s.MaxLoginFailures
	}
	return 3
}

func (s *Server) greeting() string {
	if s.Greeting != "" {
		return s.Greeting
	}
	return "Ferry FTP server ready."
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// ListenAndServe listens on s.Addr and serves.
func (s *Server) ListenAndServe() error {
	if s.inShutdown.Load() {
		return ErrServerClosed
	}
	addr := s.Addr
	if addr == "" {
		addr = ":21"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(l)
}

// ListenAndServeTLS listens on s.Addr and serves implicit FTPS: TLS starts
// before the greeting. s.TLSConfig must hold a certificate, or certFile and
// keyFile name PEM files.
func (s *Server) ListenAndServeTLS(certFile, keyFile string) error {
	if s.inShutdown.Load() {
		return ErrServerClosed
	}
	cfg, err := s.tlsConfigWith(certFile, keyFile)
	if err != nil {
		return err
	}
	addr := s.Addr
	if addr == "" {
		addr = ":990"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.serve(l, cfg)
}

// ServeTLS serves implicit FTPS on l; see [Server.ListenAndServeTLS].
func (s *Server) ServeTLS(l net.Listener, certFile, keyFile string) error {
	cfg, err := s.tlsConfigWith(certFile, keyFile)
	if err != nil {
		return err
	}
	return s.serve(l, cfg)
}

func (s *Server) tlsConfigWith(certFile, keyFile string) (*tls.Config, error) {
	var cfg *tls.Config
	if s.TLSConfig != nil {
		cfg = s.TLSConfig.Clone()
	} else {
		cfg = &tls.Config{}
	}
	if certFile != "" || keyFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if len(cfg.Certificates) == 0 && cfg.GetCertificate == nil && cfg.GetConfigForClient == nil {
		return nil, errors.New("ftp: ListenAndServeTLS needs a certificate")
	}
	return cfg, nil
}

// Serve accepts connections on l and serves each in its own goroutine. It
// always returns a non-nil error; after Shutdown or Close, ErrServerClosed.
func (s *Server) Serve(l net.Listener) error { return s.serve(l, nil) }

func (s *Server) serve(l net.Listener, implicitTLS *tls.Config) error {
	if !s.trackListener(&l, true) {
		l.Close()
		return ErrServerClosed
	}
	defer s.trackListener(&l, false)
	var delay time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.inShutdown.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		c := s.newConn(nc, implicitTLS)
		if !s.trackConn(c, true) {
			nc.Close()
			return ErrServerClosed
		}
		go c.serve()
	}
}

func (s *Server) trackListener(l *net.Listener, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.inShutdown.Load() {
			return false
		}
		if s.listeners == nil {
			s.listeners = make(map[*net.Listener]struct{})
		}
		s.listeners[l] = struct{}{}
	} else {
		delete(s.listeners, l)
	}
	return true
}

func (s *Server) trackConn(c *conn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.inShutdown.Load() {
			return false
		}
		if s.conns == nil {
			s.conns = make(map[*conn]struct{})
		}
		s.conns[c] = struct{}{}
		s.connWG.Add(1)
	} else {
		if _, ok := s.conns[c]; ok {
			delete(s.conns, c)
			s.connWG.Done()
		}
	}
	return true
}

func (s *Server) closeListeners() error {
	var err error
	for l := range s.listeners {
		if cerr := (*l).Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	return err
}

// Close closes all listeners and all connections at once, transfers
// included. For a graceful stop use [Server.Shutdown].
func (s *Server) Close() error {
	s.inShutdown.Store(true)
	s.mu.Lock()
	err := s.closeListeners()
	for c := range s.conns {
		c.close()
	}
	s.mu.Unlock()
	return err
}

// Shutdown stops the server gracefully: it closes the listeners, sends 421
// to idle sessions and closes them, and waits for sessions with a transfer
// in flight to finish it. When ctx ends first, the remaining connections
// are closed and ctx's error is returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.inShutdown.Store(true)
	s.mu.Lock()
	lerr := s.closeListeners()
	s.mu.Unlock()

	done := make(chan struct{})
	go func() { s.connWG.Wait(); close(done) }()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		for c := range s.conns {
			c.shutdownIfIdle()
		}
		s.mu.Unlock()
		select {
		case <-done:
			return lerr
		case <-ctx.Done():
			s.mu.Lock()
			for c := range s.conns {
				c.close()
			}
			s.mu.Unlock()
			return ctx.Err()
		case <-tick.C:
		}
	}
}
