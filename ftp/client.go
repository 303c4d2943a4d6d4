package ftp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Client is an FTP client, written for mirroring: it lists with MLSD when
// the server offers it (RFC 3659 section 7) and parses LIST otherwise,
// reads and sets modification times (MDTM, MFMT), asks sizes (SIZE),
// resumes transfers (REST, RFC 3659 section 5), opens passive data
// connections with EPSV and falls back to PASV (RFC 2428 section 3), and
// speaks explicit FTPS (RFC 4217) with PROT P data connections that resume
// the control connection's TLS session.
//
// Transfers are binary (TYPE I, set by [Client.Login]). A reply that is not
// the one expected is returned as an [*Error] holding its code and text.
//
// A Client is safe for concurrent use: commands run one at a time, in the
// order they get the connection. While a transfer runs, [Client.NoOp]
// sends NOOP at once, to keep the control connection alive, and its reply
// is read after the transfer's. A context that ends during a command, or
// an I/O error, leaves the control connection in an unknown state: the
// Client is then broken and every later call fails with the same error.
type Client struct {
	cfg     clientConfig
	host    string      // the server's address for data connections
	tlsConf *tls.Config // explicit TLS, with ServerName and a session cache; nil without
	log     *slog.Logger

	// busy holds a token while a command or transfer has the connection.
	busy chan struct{}

	// Guarded by busy.
	feats   map[string]string // FEAT, nil until asked
	noEPSV  bool              // EPSV failed once: PASV from then on
	prot    bool              // PROT P is in force
	loginOK bool

	wmu          sync.Mutex // guards the fields below and writes to nc
	nc           net.Conn
	lr           *lineReader
	transferring bool  // between the 1xx and the final reply of a transfer
	pendingNoops int   // NOOPs sent during the transfer, replies unread
	broken       error // sticky: the control connection is unusable
}

// ClientOption configures [Dial].
type ClientOption func(*clientConfig)

type clientConfig struct {
	tls     *tls.Config
	timeout time.Duration
	dialer  *net.Dialer
	logger  *slog.Logger
}

// WithExplicitTLS makes [Dial] send AUTH TLS (RFC 4217 section 4) and
// [Client.Login] protect data connections with PBSZ 0 and PROT P (section
// 9). cfg is cloned; an empty ServerName becomes the host of the address
// dialled, and a nil ClientSessionCache a new one: both are needed for
// data connections to resume the control connection's session, which
// servers such as Ferry require.
func WithExplicitTLS(cfg *tls.Config) ClientOption {
	return func(c *clientConfig) {
		if cfg == nil {
			cfg = &tls.Config{}
		}
		c.tls = cfg
	}
}

// WithTimeout bounds each wait of the client: for a reply, for the data
// connection, for each megabyte of a transfer. Zero means 60 seconds, a
// negative value no bound (the context still applies).
func WithTimeout(d time.Duration) ClientOption {
	return func(c *clientConfig) { c.timeout = d }
}

// WithDialer sets the dialer of the control and data connections.
func WithDialer(d *net.Dialer) ClientOption {
	return func(c *clientConfig) { c.dialer = d }
}

// WithClientLogger logs every command (PASS hidden) and reply at debug
// level to l.
func WithClientLogger(l *slog.Logger) ClientOption {
	return func(c *clientConfig) { c.logger = l }
}

// transferChunk is how many bytes a transfer copies between refreshes of
// the data connection's deadline. Copying a bounded chunk keeps the
// kernel's zero-copy paths (sendfile from a file, splice into one).
const transferChunk = 1 << 20

// maxReplyLines bounds a multi-line reply, and maxReplyLine each of its
// lines, so a hostile server cannot make the client hold unbounded text.
const (
	maxReplyLines = 10000
	maxReplyLine  = 8192
	maxListLine   = 64 << 10
)

// errClientClosed is returned by calls after Close or Quit.
var errClientClosed = errors.New("ftp: client closed")

func (c *Client) timeout() time.Duration {
	switch {
	case c.cfg.timeout == 0:
		return 60 * time.Second
	case c.cfg.timeout < 0:
		return 0
	}
	return c.cfg.timeout
}

// deadline is the time a single wait may last under ctx.
func (c *Client) deadline(ctx context.Context) time.Time {
	var t time.Time
	if d := c.timeout(); d > 0 {
		t = time.Now().Add(d)
	}
	if cd, ok := ctx.Deadline(); ok && (t.IsZero() || cd.Before(t)) {
		t = cd
	}
	return t
}

// Dial connects to the FTP server at addr ("host:port"; port 21 when
// missing) and reads its greeting (RFC 959 section 5.4: 120 then 220, or
// 220). With [WithExplicitTLS] it then secures the control connection.
// The context bounds the whole exchange.
func Dial(ctx context.Context, addr string, opts ...ClientOption) (*Client, error) {
	var cfg clientConfig
	for _, o := range opts {
		o(&cfg)
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(strings.Trim(addr, "[]"), "21")
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, busy: make(chan struct{}, 1), log: cfg.logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	d := cfg.dialer
	if d == nil {
		d = &net.Dialer{Timeout: c.timeout()}
	}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c.nc = nc
	c.lr = newLineReader(nc, maxReplyLine, nil)
	if h, _, err := net.SplitHostPort(nc.RemoteAddr().String()); err == nil {
		c.host = h
	} else {
		c.host = host
	}
	if err := c.greet(ctx, host); err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

func (c *Client) greet(ctx context.Context, host string) error {
	release, err := c.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	code, text, err := c.readReply(ctx)
	if err == nil && code == StatusServiceReadyIn {
		code, text, err = c.readReply(ctx)
	}
	if err != nil {
		return err
	}
	if code != StatusServiceReady {
		return &Error{Code: code, Msg: text}
	}
	if c.cfg.tls == nil {
		return nil
	}
	conf := c.cfg.tls.Clone()
	if conf.ServerName == "" {
		conf.ServerName = host
	}
	if conf.ClientSessionCache == nil {
		conf.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	}
	if err := c.expect(ctx, "AUTH TLS", StatusAuthOK); err != nil {
		return err
	}
	// Bytes after the 234 reply were sent in clear and must not pass for
	// replies protected by TLS (the STARTTLS injection of CVE-2011-0411).
	if c.lr.Buffered() > 0 {
		return c.fail(errors.New("ftp: data after the AUTH TLS reply"))
	}
	tc := tls.Client(c.nc, conf)
	tc.SetDeadline(c.deadline(ctx))
	if err := tc.HandshakeContext(ctx); err != nil {
		return c.fail(err)
	}
	tc.SetDeadline(time.Time{})
	c.wmu.Lock()
	c.nc = tc
	c.lr = newLineReader(tc, maxReplyLine, nil)
	c.wmu.Unlock()
	c.tlsConf = conf
	return nil
}

// acquire waits for the connection. The returned function gives it back.
// While held, the end of ctx breaks the control connection's waits.
func (c *Client) acquire(ctx context.Context) (release func(), err error) {
	select {
	case c.busy <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return c.hold(ctx)
}

// hold completes acquire once the busy token is taken.
func (c *Client) hold(ctx context.Context) (release func(), err error) {
	c.wmu.Lock()
	err = c.broken
	nc := c.nc
	c.wmu.Unlock()
	if err == nil {
		// A context that has already ended sends nothing, and so
		// breaks nothing.
		err = ctx.Err()
	}
	if err != nil {
		<-c.busy
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	return func() {
		if !stop() {
			// The context ended while the connection was in use:
			// whatever was in flight is lost.
			c.fail(ctx.Err())
		}
		<-c.busy
	}, nil
}

// fail marks the control connection unusable and closes it. It returns
// the error that broke it.
func (c *Client) fail(err error) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.broken == nil {
		c.broken = err
		c.nc.Close()
	}
	return c.broken
}

// send writes one command line. Only the holder of busy calls it, but
// NoOp during a transfer writes too: writes share wmu. A 0xFF byte is
// doubled (RFC 854 IAC IAC, RFC 959 section 4.1.2), and a line with CR, LF
// or NUL is refused, so no name can smuggle in a second command.
func (c *Client) send(ctx context.Context, line string) error {
	if strings.ContainsAny(line, "\r\n\x00") {
		return errBadPath
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.sendLocked(ctx, line)
}

func (c *Client) sendLocked(ctx context.Context, line string) error {
	if c.broken != nil {
		return c.broken
	}
	if verb, _, _ := strings.Cut(line, " "); strings.EqualFold(verb, "PASS") {
		c.log.Debug("ftp client >", "line", "PASS ****")
	} else {
		c.log.Debug("ftp client >", "line", line)
	}
	b := make([]byte, 0, len(line)+2)
	for i := 0; i < len(line); i++ {
		b = append(b, line[i])
		if line[i] == telnetIAC {
			b = append(b, telnetIAC)
		}
	}
	b = append(b, '\r', '\n')
	c.nc.SetWriteDeadline(c.deadline(ctx))
	if _, err := c.nc.Write(b); err != nil {
		c.broken = err
		c.nc.Close()
		return err
	}
	return nil
}

// readReply reads one reply (RFC 959 section 4.2): "NNN text", or
// "NNN-text" then lines up to one starting "NNN ". The text of a
// multi-line reply is its lines joined with "\n", without the code of the
// first and last lines; continuation lines that start with "NNN-" lose that
// prefix too.
func (c *Client) readReply(ctx context.Context) (int, string, error) {
	c.nc.SetReadDeadline(c.deadline(ctx))
	line, err := c.lr.ReadLine()
	if err != nil {
		return 0, "", c.readFailed(ctx, err)
	}
	code, multi, ok := replyCode(line)
	if !ok {
		return 0, "", c.fail(fmt.Errorf("ftp: malformed reply %q", clipReply(line)))
	}
	text := line[4:]
	if multi {
		lines := []string{text}
		prefix := line[:3]
		for {
			l, err := c.lr.ReadLine()
			if err != nil {
				return 0, "", c.readFailed(ctx, err)
			}
			if len(lines) >= maxReplyLines {
				return 0, "", c.fail(errors.New("ftp: reply too long"))
			}
			if strings.HasPrefix(l, prefix) && len(l) >= 4 && l[3] == ' ' {
				lines = append(lines, l[4:])
				break
			}
			if strings.HasPrefix(l, prefix) && len(l) >= 4 && l[3] == '-' {
				l = l[4:]
			}
			lines = append(lines, l)
		}
		text = strings.Join(lines, "\n")
	}
	c.log.Debug("ftp client <", "code", code, "text", text)
	return code, text, nil
}

func (c *Client) readFailed(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		err = ctx.Err()
	} else if errors.Is(err, errLineTooLong) {
		err = errors.New("ftp: reply line too long")
	}
	return c.fail(err)
}

// replyCode parses the "NNN " or "NNN-" start of a reply line. RFC 959
// section 4.2 allows a bare "NNN" too, for a reply without text.
func replyCode(line string) (code int, multi, ok bool) {
	if len(line) < 3 || !isDigits(line[:3]) || line[0] < '1' || line[0] > '5' {
		return 0, false, false
	}
	code, _ = strconv.Atoi(line[:3])
	switch {
	case len(line) == 3:
		return code, false, true
	case line[3] == ' ':
		return code, false, true
	case line[3] == '-':
		return code, true, true
	}
	return 0, false, false
}

func clipReply(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// cmd sends line and reads the reply. The caller holds busy.
func (c *Client) cmd(ctx context.Context, line string) (int, string, error) {
	if err := c.send(ctx, line); err != nil {
		return 0, "", err
	}
	return c.readReply(ctx)
}

// expect runs cmd and turns any reply but the wanted codes into an
// [*Error].
func (c *Client) expect(ctx context.Context, line string, want ...int) error {
	_, err := c.expectText(ctx, line, want...)
	return err
}

func (c *Client) expectText(ctx context.Context, line string, want ...int) (string, error) {
	code, text, err := c.cmd(ctx, line)
	if err != nil {
		return "", err
	}
	for _, w := range want {
		if code == w {
			return text, nil
		}
	}
	return text, &Error{Code: code, Msg: text}
}

// simple runs one command that needs no data connection.
func (c *Client) simple(ctx context.Context, line string, want ...int) (string, error) {
	release, err := c.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return c.expectText(ctx, line, want...)
}

// clientArg checks a pathname before it goes on a command line.
func clientArg(p string) (string, error) {
	if p == "" || strings.ContainsAny(p, "\r\n\x00") {
		return "", errBadPath
	}
	return p, nil
}

// Login sends USER and, when asked, PASS (RFC 959 section 4.1.1). After a
// login it reads the server's features (FEAT, RFC 2389), turns on UTF-8
// names when offered ("OPTS UTF8 ON", which RFC 2640 section 3.2 leaves
// implicit but servers such as IIS need), protects data connections under
// explicit TLS (PBSZ 0, PROT P; RFC 4217 sections 8 and 9) and selects
// binary transfers (TYPE I).
func (c *Client) Login(ctx context.Context, user, password string) error {
	if _, err := clientArg(user); err != nil {
		return err
	}
	if strings.ContainsAny(password, "\r\n\x00") {
		return errBadPath
	}
	release, err := c.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	code, text, err := c.cmd(ctx, "USER "+user)
	if err != nil {
		return err
	}
	if code == StatusNeedPassword {
		code, text, err = c.cmd(ctx, "PASS "+password)
		if err != nil {
			return err
		}
	}
	if code != StatusLoggedIn && code != StatusSuperfluous {
		return &Error{Code: code, Msg: text}
	}
	c.loginOK = true
	feats, err := c.features(ctx)
	if err != nil {
		return err
	}
	if _, ok := feats["UTF8"]; ok {
		if _, _, err := c.cmd(ctx, "OPTS UTF8 ON"); err != nil {
			return err
		}
	}
	if c.tlsConf != nil {
		if err := c.expect(ctx, "PBSZ 0", StatusOK); err != nil {
			return err
		}
		if err := c.expect(ctx, "PROT P", StatusOK); err != nil {
			return err
		}
		c.prot = true
	}
	return c.expect(ctx, "TYPE I", StatusOK)
}

// features asks FEAT once. A server without FEAT (500, 502) has none.
func (c *Client) features(ctx context.Context) (map[string]string, error) {
	if c.feats != nil {
		return c.feats, nil
	}
	code, text, err := c.cmd(ctx, "FEAT")
	if err != nil {
		return nil, err
	}
	if code == StatusSystem {
		c.feats = parseFeatures(text)
	} else {
		c.feats = map[string]string{}
	}
	return c.feats, nil
}

// Features returns the features the server announced in its FEAT reply
// (RFC 2389 section 3), names upper-cased, each with its parameters: for
// example "MLST" with "type*;size*;modify*;". The reply is asked once and
// kept. The map is the caller's.
func (c *Client) Features(ctx context.Context) (map[string]string, error) {
	release, err := c.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	f, err := c.features(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(f))
	for k, v := range f {
		out[k] = v
	}
	return out, nil
}

// HasFeature reports whether FEAT announced name, such as "MFMT".
func (c *Client) HasFeature(ctx context.Context, name string) (bool, error) {
	f, err := c.Features(ctx)
	if err != nil {
		return false, err
	}
	_, ok := f[strings.ToUpper(name)]
	return ok, nil
}

// Quit sends QUIT (RFC 959 section 4.1.1) and closes the connection.
func (c *Client) Quit(ctx context.Context) error {
	release, err := c.acquire(ctx)
	if err != nil {
		c.Close()
		return err
	}
	err = c.expect(ctx, "QUIT", StatusClosing)
	release()
	c.Close()
	return err
}

// Close closes the control connection without QUIT.
func (c *Client) Close() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.broken == nil {
		c.broken = errClientClosed
		return c.nc.Close()
	}
	return nil
}

// NoOp sends NOOP (RFC 959 section 4.1.3), to keep an idle control
// connection open through firewalls. During a transfer it sends NOOP
// without waiting; the replies are sorted out when the transfer ends
// (see finish). While another command is in progress it does nothing,
// since the connection is not idle.
func (c *Client) NoOp(ctx context.Context) error {
	select {
	case c.busy <- struct{}{}:
		release, err := c.hold(ctx)
		if err != nil {
			return err
		}
		defer release()
		return c.expect(ctx, "NOOP", StatusOK)
	default:
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !c.transferring {
		return nil
	}
	if err := c.sendLocked(ctx, "NOOP"); err != nil {
		return err
	}
	c.pendingNoops++
	return nil
}

// Type sends TYPE (RFC 959 section 4.1.2) with its argument, such as "I"
// or "A". Transfers are meant for "I", which Login selects.
func (c *Client) Type(ctx context.Context, t string) error {
	if _, err := clientArg(t); err != nil {
		return err
	}
	_, err := c.simple(ctx, "TYPE "+t, StatusOK)
	return err
}

// ChangeDir sends CWD.
func (c *Client) ChangeDir(ctx context.Context, dir string) error {
	if _, err := clientArg(dir); err != nil {
		return err
	}
	_, err := c.simple(ctx, "CWD "+dir, StatusFileActionOK, StatusOK)
	return err
}

// CurrentDir sends PWD and returns the directory of its 257 reply.
func (c *Client) CurrentDir(ctx context.Context) (string, error) {
	text, err := c.simple(ctx, "PWD", StatusPathCreated)
	if err != nil {
		return "", err
	}
	return parse257(text)
}

// MakeDir sends MKD.
func (c *Client) MakeDir(ctx context.Context, dir string) error {
	if _, err := clientArg(dir); err != nil {
		return err
	}
	_, err := c.simple(ctx, "MKD "+dir, StatusPathCreated, StatusFileActionOK)
	return err
}

// RemoveDir sends RMD; the directory must be empty.
func (c *Client) RemoveDir(ctx context.Context, dir string) error {
	if _, err := clientArg(dir); err != nil {
		return err
	}
	_, err := c.simple(ctx, "RMD "+dir, StatusFileActionOK, StatusOK)
	return err
}

// Delete sends DELE.
func (c *Client) Delete(ctx context.Context, name string) error {
	if _, err := clientArg(name); err != nil {
		return err
	}
	_, err := c.simple(ctx, "DELE "+name, StatusFileActionOK, StatusOK)
	return err
}

// Rename sends RNFR then RNTO (RFC 959 section 4.1.3). Servers replace an
// existing file at to, as rename(2) does; RFC 959 does not say.
func (c *Client) Rename(ctx context.Context, from, to string) error {
	if _, err := clientArg(from); err != nil {
		return err
	}
	if _, err := clientArg(to); err != nil {
		return err
	}
	release, err := c.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	if err := c.expect(ctx, "RNFR "+from, StatusFileActionPending); err != nil {
		return err
	}
	return c.expect(ctx, "RNTO "+to, StatusFileActionOK, StatusOK)
}

// Size sends SIZE (RFC 3659 section 4) and returns the size in bytes of
// the binary representation.
func (c *Client) Size(ctx context.Context, name string) (int64, error) {
	if _, err := clientArg(name); err != nil {
		return 0, err
	}
	text, err := c.simple(ctx, "SIZE "+name, StatusFile)
	if err != nil {
		return 0, err
	}
	n, perr := parseRest(strings.TrimSpace(text))
	if perr != nil {
		return 0, fmt.Errorf("ftp: malformed SIZE reply %q", clipReply(text))
	}
	return n, nil
}

// ModTime sends MDTM (RFC 3659 section 3) and returns the time, in UTC.
func (c *Client) ModTime(ctx context.Context, name string) (time.Time, error) {
	if _, err := clientArg(name); err != nil {
		return time.Time{}, err
	}
	text, err := c.simple(ctx, "MDTM "+name, StatusFile)
	if err != nil {
		return time.Time{}, err
	}
	t, perr := parseTime(strings.TrimSpace(text))
	if perr != nil {
		return time.Time{}, fmt.Errorf("ftp: malformed MDTM reply %q", clipReply(text))
	}
	return t, nil
}

// SetModTime sends MFMT (draft-somers-ftp-mfxx section 3) with t in whole
// seconds, UTC. A server that did not announce MFMT, or answers 500 or
// 502, gives an error wrapping [errors.ErrUnsupported].
func (c *Client) SetModTime(ctx context.Context, name string, t time.Time) error {
	if _, err := clientArg(name); err != nil {
		return err
	}
	release, err := c.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	feats, err := c.features(ctx)
	if err != nil {
		return err
	}
	if _, ok := feats["MFMT"]; !ok {
		return fmt.Errorf("ftp: MFMT: %w", errors.ErrUnsupported)
	}
	t = t.UTC()
	if t.Year() < 1000 || t.Year() > 9999 {
		return fmt.Errorf("ftp: MFMT: time %v has no time-val", t)
	}
	err = c.expect(ctx, "MFMT "+formatTime(t.Truncate(time.Second))+" "+name, StatusFile)
	var fe *Error
	if errors.As(err, &fe) && (fe.Code == StatusSyntaxError || fe.Code == StatusNotImplemented) {
		return fmt.Errorf("ftp: MFMT: %w: %w", errors.ErrUnsupported, err)
	}
	return err
}
