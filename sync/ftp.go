package sync

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"path"
	"strings"
	gosync "sync"
	"time"

	"github.com/ferryftp/ferry/ftp"
)

// FTPLocation is a directory on an FTP server.
type FTPLocation struct {
	// Addr is the server's "host:port"; the port is 21 when missing.
	Addr string
	// User and Password log in.
	User, Password string
	// Dir is the directory on the server, absolute or relative to the
	// user's login directory; "" is the login directory.
	Dir string
	// TLS, when set, secures the connection with explicit FTPS (AUTH TLS,
	// RFC 4217) and protects the data connections (PROT P).
	TLS *tls.Config
	// Timeout bounds each wait for the server (see [ftp.WithTimeout]);
	// zero means 60 seconds.
	Timeout time.Duration
	// Logger, when set, gets every command and reply at debug level.
	Logger *slog.Logger
}

func (l FTPLocation) String() string {
	scheme := "ftp"
	if l.TLS != nil {
		scheme = "ftpes"
	}
	addr := l.Addr
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(strings.Trim(addr, "[]"), "21")
	}
	dir := l.Dir
	if !strings.HasPrefix(dir, "/") {
		dir = "~/" + dir
	}
	return scheme + "://" + l.User + "@" + addr + path.Clean("/"+dir)
}

// Open connects and logs in. With create, a Dir that does not exist is
// made, one MKD per missing element.
func (l FTPLocation) Open(ctx context.Context, create bool) (Endpoint, error) {
	e := &FTP{loc: l}
	if err := e.connect(ctx); err != nil {
		return nil, err
	}
	root := "."
	if _, err := e.Stat(ctx, root); err != nil {
		if !create || !errors.Is(err, fs.ErrNotExist) {
			e.Close()
			return nil, err
		}
		if err := e.mkdirAll(ctx); err != nil {
			e.Close()
			return nil, err
		}
	}
	return e, nil
}

// FTP is an [Endpoint] on an FTP server, over an [ftp.Client]. Names are
// relative to the location's Dir.
//
// When a command fails in a way that leaves the connection unusable (a
// timeout, a reset), the next call connects and logs in again, so one
// lost connection costs one file, not the rest of the run.
type FTP struct {
	loc FTPLocation

	mu    gosync.Mutex // guards c and stale
	c     *ftp.Client
	stale bool // c is broken; reconnect before the next call
	mfmt  bool
	mdtm  bool
}

var (
	_ Endpoint   = (*FTP)(nil)
	_ keepAliver = (*FTP)(nil)
	_ timeSetter = (*FTP)(nil)
)

func (e *FTP) connect(ctx context.Context) error {
	opts := []ftp.ClientOption{ftp.WithTimeout(e.loc.Timeout)}
	if e.loc.TLS != nil {
		opts = append(opts, ftp.WithExplicitTLS(e.loc.TLS))
	}
	if e.loc.Logger != nil {
		opts = append(opts, ftp.WithClientLogger(e.loc.Logger))
	}
	c, err := ftp.Dial(ctx, e.loc.Addr, opts...)
	if err != nil {
		return err
	}
	if err := c.Login(ctx, e.loc.User, e.loc.Password); err != nil {
		c.Close()
		return err
	}
	feats, err := c.Features(ctx)
	if err != nil {
		c.Close()
		return err
	}
	_, e.mfmt = feats["MFMT"]
	_, e.mdtm = feats["MDTM"]
	e.mu.Lock()
	e.c, e.stale = c, false
	e.mu.Unlock()
	return nil
}

// client returns the connection, made again when the last one broke.
func (e *FTP) client(ctx context.Context) (*ftp.Client, error) {
	e.mu.Lock()
	c, stale := e.c, e.stale
	e.mu.Unlock()
	if c != nil && !stale {
		return c, nil
	}
	if c != nil {
		c.Close()
	}
	if err := e.connect(ctx); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.c, nil
}

// done notes whether err broke the connection: anything but a reply of
// the server or a refused listing line leaves it unusable.
func (e *FTP) done(err error) error {
	var fe *ftp.Error
	if err == nil || errors.As(err, &fe) || errors.Is(err, ftp.ErrListFormat) ||
		errors.Is(err, errors.ErrUnsupported) || errors.Is(err, errPathEscape) {
		return err
	}
	e.mu.Lock()
	e.stale = true
	e.mu.Unlock()
	return err
}

// full is the server path of a name.
func (e *FTP) full(name string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	dir := e.loc.Dir
	switch {
	case name == "." && dir == "":
		return ".", nil
	case dir == "":
		return name, nil
	case name == ".":
		return dir, nil
	}
	return strings.TrimRight(dir, "/") + "/" + name, nil
}

// notExist turns a 550 reply to a look-up into fs.ErrNotExist. RFC 959
// gives 550 for "file not found, no access"; for a look-up both mean that
// there is nothing usable there.
func notExist(op, name string, err error) error {
	var fe *ftp.Error
	if errors.As(err, &fe) && fe.Code == ftp.StatusFileUnavailable {
		return &fs.PathError{Op: op, Path: name, Err: fmt.Errorf("%w (%d %s)", fs.ErrNotExist, fe.Code, fe.Msg)}
	}
	return err
}

func (e *FTP) List(ctx context.Context, dir string) ([]Entry, error) {
	p, err := e.full(dir)
	if err != nil {
		return nil, err
	}
	c, err := e.client(ctx)
	if err != nil {
		return nil, err
	}
	if p == "." {
		p = ""
	}
	list, err := c.List(ctx, p)
	if err != nil {
		return nil, e.done(notExist("list", dir, err))
	}
	out := make([]Entry, 0, len(list))
	for _, fe := range list {
		en := Entry{Name: fe.Name, Size: max(fe.Size, 0), ModTime: fe.ModTime, Kind: kindOf(fe.Type)}
		if fe.Type == ftp.EntryLink {
			// The listing does not say what the link leads to: ask
			// for the target's entry (its time to the second).
			en.Link = true
			if st, err := e.Stat(ctx, join(dir, fe.Name)); err == nil {
				en.Kind, en.Size, en.ModTime = st.Kind, st.Size, st.ModTime
			}
			if c, err = e.client(ctx); err != nil {
				return nil, err
			}
		}
		if fe.Type == ftp.EntryFile && fe.Precision > 0 {
			// LIST gives minutes at best; MDTM gives seconds.
			en.Precision = fe.Precision
			if e.mdtm {
				t, err := c.ModTime(ctx, join(p, fe.Name))
				if err != nil {
					return nil, e.done(err)
				}
				en.ModTime, en.Precision = t, 0
			}
		}
		out = append(out, en)
	}
	return out, nil
}

func (e *FTP) Stat(ctx context.Context, name string) (Entry, error) {
	p, err := e.full(name)
	if err != nil {
		return Entry{}, err
	}
	c, err := e.client(ctx)
	if err != nil {
		return Entry{}, err
	}
	st, err := c.Stat(ctx, p)
	if err != nil {
		return Entry{}, e.done(notExist("stat", name, err))
	}
	return Entry{Name: path.Base(name), Size: max(st.Size, 0), ModTime: st.ModTime, Kind: kindOf(st.Type)}, nil
}

// kindOf is the Kind of an FTP entry type; a link is Other until its
// target is known.
func kindOf(t ftp.EntryType) Kind {
	switch t {
	case ftp.EntryFile:
		return File
	case ftp.EntryDir:
		return Dir
	}
	return Other
}

// Open streams the file through a pipe fed by RETR; Close stops the
// transfer when it has not ended.
func (e *FTP) Open(ctx context.Context, name string, offset int64) (io.ReadCloser, error) {
	p, err := e.full(name)
	if err != nil {
		return nil, err
	}
	c, err := e.client(ctx)
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := c.Retrieve(ctx, p, offset, pw)
		err = e.done(err)
		pw.CloseWithError(err)
		done <- err
	}()
	return &retrReader{pr: pr, done: done}, nil
}

type retrReader struct {
	pr   *io.PipeReader
	done chan error
	once gosync.Once
	err  error
}

func (r *retrReader) Read(p []byte) (int, error) { return r.pr.Read(p) }

func (r *retrReader) Close() error {
	r.once.Do(func() {
		r.pr.CloseWithError(errors.New("sync: reader closed"))
		r.err = <-r.done
	})
	return r.err
}

func (e *FTP) Write(ctx context.Context, name string, offset int64, r io.Reader) (int64, error) {
	p, err := e.full(name)
	if err != nil {
		return 0, err
	}
	c, err := e.client(ctx)
	if err != nil {
		return 0, err
	}
	n, err := c.Store(ctx, p, offset, r)
	return n, e.done(err)
}

func (e *FTP) Rename(ctx context.Context, oldname, newname string) error {
	from, err := e.full(oldname)
	if err != nil {
		return err
	}
	to, err := e.full(newname)
	if err != nil {
		return err
	}
	c, err := e.client(ctx)
	if err != nil {
		return err
	}
	return e.done(c.Rename(ctx, from, to))
}

func (e *FTP) SetModTime(ctx context.Context, name string, t time.Time) error {
	p, err := e.full(name)
	if err != nil {
		return err
	}
	if !e.mfmt {
		return fmt.Errorf("sync: the server has no MFMT: %w", errors.ErrUnsupported)
	}
	c, err := e.client(ctx)
	if err != nil {
		return err
	}
	return e.done(c.SetModTime(ctx, p, t))
}

// CanSetModTime reports whether the server announced MFMT.
func (e *FTP) CanSetModTime(context.Context) bool { return e.mfmt }

func (e *FTP) Mkdir(ctx context.Context, name string) error {
	p, err := e.full(name)
	if err != nil {
		return err
	}
	c, err := e.client(ctx)
	if err != nil {
		return err
	}
	return e.done(c.MakeDir(ctx, p))
}

// mkdirAll makes the location's Dir, element by element.
func (e *FTP) mkdirAll(ctx context.Context) error {
	c, err := e.client(ctx)
	if err != nil {
		return err
	}
	dir := strings.TrimRight(e.loc.Dir, "/")
	prefix := ""
	if strings.HasPrefix(dir, "/") {
		prefix, dir = "/", strings.TrimLeft(dir, "/")
	}
	for _, el := range strings.Split(dir, "/") {
		if el == "" {
			continue
		}
		prefix = path.Join(prefix, el)
		if _, err := c.Stat(ctx, prefix); err == nil {
			continue
		}
		if err := c.MakeDir(ctx, prefix); err != nil {
			return e.done(err)
		}
	}
	return nil
}

func (e *FTP) Remove(ctx context.Context, name string, dir bool) error {
	p, err := e.full(name)
	if err != nil {
		return err
	}
	if name == "." {
		return fmt.Errorf("%w: the root cannot be removed", errPathEscape)
	}
	c, err := e.client(ctx)
	if err != nil {
		return err
	}
	if dir {
		return e.done(c.RemoveDir(ctx, p))
	}
	return e.done(c.Delete(ctx, p))
}

// KeepAlive sends NOOP (RFC 959 section 4.1.3), during a transfer too.
func (e *FTP) KeepAlive(ctx context.Context) error {
	e.mu.Lock()
	c, stale := e.c, e.stale
	e.mu.Unlock()
	if c == nil || stale {
		return nil
	}
	return c.NoOp(ctx)
}

// Close sends QUIT, waiting at most five seconds for the reply.
func (e *FTP) Close() error {
	e.mu.Lock()
	c := e.c
	e.c = nil
	e.mu.Unlock()
	if c == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.Quit(ctx)
	return nil
}
