package ftp_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftp/ftptest"
	"github.com/ferryftp/ferry/internal/e2etest"
	"github.com/ferryftp/ferry/vfs/memfs"
)

// clientDial connects a Client to addr and logs in as the test user.
func clientDial(t *testing.T, addr string, opts ...ftp.ClientOption) *ftp.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := ftp.Dial(ctx, addr, append([]ftp.ClientOption{ftp.WithTimeout(10 * time.Second)}, opts...)...)
	require.NoError(t, err, "dial %s", addr)
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.Login(ctx, ftptest.User, ftptest.Password), "login")
	return c
}

func clientNames(entries []ftp.Entry) []string {
	var names []string
	for _, e := range entries {
		names = append(names, e.Name+":"+e.Type.String())
	}
	sort.Strings(names)
	return names
}

// TestClientCommands runs every command of the Client against Ferry's
// server.
func TestClientCommands(t *testing.T) {
	t.Parallel()
	fsys := memfs.New()
	srv := ftptest.NewServer(t, ftptest.WithFS(fsys))
	ctx := context.Background()
	c := clientDial(t, srv.Addr)

	feats, err := c.Features(ctx)
	require.NoError(t, err, "FEAT")
	assert.Contains(t, feats, "MLST", "Ferry announces MLST")
	assert.Contains(t, feats, "MFMT", "Ferry announces MFMT")
	has, err := c.HasFeature(ctx, "epsv")
	require.NoError(t, err, "HasFeature")
	assert.True(t, has, "HasFeature is case-insensitive")

	require.NoError(t, c.MakeDir(ctx, "dir one"), "MKD")
	require.NoError(t, c.ChangeDir(ctx, "dir one"), "CWD")
	pwd, err := c.CurrentDir(ctx)
	require.NoError(t, err, "PWD")
	assert.Equal(t, "/dir one", pwd, "PWD after CWD")
	require.NoError(t, c.ChangeDir(ctx, "/"), "CWD /")

	payload := e2etest.Pattern(3<<20 + 17)
	n, err := c.Store(ctx, "dir one/big.bin", 0, bytes.NewReader(payload))
	require.NoError(t, err, "STOR")
	assert.Equal(t, int64(len(payload)), n, "bytes stored")
	size, err := c.Size(ctx, "dir one/big.bin")
	require.NoError(t, err, "SIZE")
	assert.Equal(t, int64(len(payload)), size, "SIZE after STOR")

	var buf bytes.Buffer
	n, err = c.Retrieve(ctx, "dir one/big.bin", 0, &buf)
	require.NoError(t, err, "RETR")
	assert.Equal(t, int64(len(payload)), n, "bytes retrieved")
	assert.True(t, bytes.Equal(payload, buf.Bytes()), "RETR gives what STOR sent")

	when := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	require.NoError(t, c.SetModTime(ctx, "dir one/big.bin", when.Add(800*time.Millisecond)), "MFMT")
	mt, err := c.ModTime(ctx, "dir one/big.bin")
	require.NoError(t, err, "MDTM")
	assert.Equal(t, when, mt, "MDTM gives the MFMT time in whole seconds")

	require.NoError(t, c.Rename(ctx, "dir one/big.bin", "dir one/moved.bin"), "RNFR/RNTO")
	_, err = c.Size(ctx, "dir one/big.bin")
	var fe *ftp.Error
	require.ErrorAs(t, err, &fe, "SIZE of a renamed file fails with a reply")
	assert.Equal(t, ftp.StatusFileUnavailable, fe.Code, "550 for a missing file")

	_, err = c.Store(ctx, "small.txt", 0, strings.NewReader("hi"))
	require.NoError(t, err, "STOR small")
	entries, err := c.List(ctx, "")
	require.NoError(t, err, "MLSD of the current directory")
	assert.Equal(t, []string{"dir one:dir", "small.txt:file"}, clientNames(entries), "entries of /")
	entries, err = c.List(ctx, "dir one")
	require.NoError(t, err, "MLSD dir one")
	require.Len(t, entries, 1, "one file in dir one")
	assert.Equal(t, ftp.Entry{Name: "moved.bin", Type: ftp.EntryFile, Size: int64(len(payload)), ModTime: when}, entries[0], "MLSD facts")

	st, err := c.Stat(ctx, "dir one/moved.bin")
	require.NoError(t, err, "MLST of a file")
	assert.Equal(t, ftp.Entry{Name: "moved.bin", Type: ftp.EntryFile, Size: int64(len(payload)), ModTime: when}, st, "MLST facts")
	st, err = c.Stat(ctx, "/dir one")
	require.NoError(t, err, "MLST of a directory")
	assert.Equal(t, ftp.EntryDir, st.Type, "MLST type of a directory")
	assert.Equal(t, "dir one", st.Name, "the name is the last element")
	_, err = c.Stat(ctx, "nowhere")
	require.ErrorAs(t, err, &fe, "MLST of a missing file fails with a reply")
	assert.Equal(t, ftp.StatusFileUnavailable, fe.Code, "550 for MLST of a missing file")

	require.NoError(t, c.Delete(ctx, "dir one/moved.bin"), "DELE")
	require.NoError(t, c.RemoveDir(ctx, "dir one"), "RMD")
	require.NoError(t, c.Type(ctx, "I"), "TYPE I")
	require.NoError(t, c.NoOp(ctx), "NOOP")
	done, cancel := context.WithCancel(ctx)
	cancel()
	assert.ErrorIs(t, c.NoOp(done), context.Canceled, "an ended context sends nothing")
	require.NoError(t, c.NoOp(ctx), "and does not break the Client")
	require.NoError(t, c.Quit(ctx), "QUIT")
	assert.Error(t, c.NoOp(ctx), "no command after QUIT")
}

// TestClientResume resumes a download and an upload with REST (RFC 3659
// section 5).
func TestClientResume(t *testing.T) {
	t.Parallel()
	srv := ftptest.NewServer(t)
	ctx := context.Background()
	c := clientDial(t, srv.Addr)
	payload := e2etest.Pattern(1<<20 + 5)
	half := int64(len(payload) / 2)

	_, err := c.Store(ctx, "up.bin", 0, bytes.NewReader(payload[:half]))
	require.NoError(t, err, "STOR the first half")
	n, err := c.Store(ctx, "up.bin", half, bytes.NewReader(payload[half:]))
	require.NoError(t, err, "REST then STOR the rest")
	assert.Equal(t, int64(len(payload))-half, n, "bytes of the second STOR")

	var buf bytes.Buffer
	_, err = c.Retrieve(ctx, "up.bin", 0, &buf)
	require.NoError(t, err, "RETR whole")
	assert.True(t, bytes.Equal(payload, buf.Bytes()), "resumed upload is whole")

	buf.Reset()
	n, err = c.Retrieve(ctx, "up.bin", 1000, &buf)
	require.NoError(t, err, "REST then RETR")
	assert.Equal(t, int64(len(payload)-1000), n, "bytes after the offset")
	assert.True(t, bytes.Equal(payload[1000:], buf.Bytes()), "RETR from the offset")
}

// TestClientExplicitTLS secures the control connection with AUTH TLS and
// data connections with PROT P; Ferry refuses data connections that do
// not resume the control session, so the transfers prove resumption.
func TestClientExplicitTLS(t *testing.T) {
	t.Parallel()
	srv := newFTPS(t)
	ctx := context.Background()
	cfg := ftpsClientConfig()
	cfg.ClientSessionCache = nil // the Client adds one
	c := clientDial(t, srv.Addr, ftp.WithExplicitTLS(cfg))
	payload := e2etest.Pattern(256<<10 + 3)
	_, err := c.Store(ctx, "tls.bin", 0, bytes.NewReader(payload))
	require.NoError(t, err, "STOR over PROT P")
	var buf bytes.Buffer
	_, err = c.Retrieve(ctx, "tls.bin", 100, &buf)
	require.NoError(t, err, "RETR over PROT P")
	assert.True(t, bytes.Equal(payload[100:], buf.Bytes()), "RETR content over TLS")
	entries, err := c.List(ctx, "/")
	require.NoError(t, err, "MLSD over PROT P")
	assert.Equal(t, []string{"tls.bin:file"}, clientNames(entries), "listing over TLS")
	require.NoError(t, c.Quit(ctx), "QUIT")
}

// cancelWriter cancels a context on its first write and fails it.
type cancelWriter struct {
	cancel context.CancelFunc
	n      int
}

func (w *cancelWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	w.cancel()
	return len(p), nil
}

// TestClientCancel cancels a download: Retrieve returns the context's
// error and the Client is broken from then on.
func TestClientCancel(t *testing.T) {
	t.Parallel()
	fsys := memfs.New()
	require.NoError(t, fsys.WriteFile("big.bin", e2etest.Pattern(16<<20), 0o644), "seed")
	srv := ftptest.NewServer(t, ftptest.WithFS(fsys))
	c := clientDial(t, srv.Addr)
	ctx, cancel := context.WithCancel(context.Background())
	w := &cancelWriter{cancel: cancel}
	_, err := c.Retrieve(ctx, "big.bin", 0, w)
	assert.ErrorIs(t, err, context.Canceled, "Retrieve stops with the context")
	assert.Less(t, w.n, 16<<20, "the transfer stopped early")
	assert.Error(t, c.NoOp(context.Background()), "the Client is broken after a cancelled transfer")
}

// noopWriter sends NOOP through the Client on each of its first writes.
type noopWriter struct {
	c     *ftp.Client
	buf   bytes.Buffer
	noops int
	err   error
}

func (w *noopWriter) Write(p []byte) (int, error) {
	if w.noops < 3 {
		w.noops++
		if err := w.c.NoOp(context.Background()); err != nil && w.err == nil {
			w.err = err
		}
	}
	return w.buf.Write(p)
}

// TestClientNoOpDuringTransfer sends NOOPs while a download runs; their
// replies are read after the transfer's and the session stays in step.
func TestClientNoOpDuringTransfer(t *testing.T) {
	t.Parallel()
	fsys := memfs.New()
	payload := e2etest.Pattern(4 << 20)
	require.NoError(t, fsys.WriteFile("big.bin", payload, 0o644), "seed")
	srv := ftptest.NewServer(t, ftptest.WithFS(fsys))
	ctx := context.Background()
	c := clientDial(t, srv.Addr)
	w := &noopWriter{c: c}
	_, err := c.Retrieve(ctx, "big.bin", 0, w)
	require.NoError(t, err, "RETR with NOOPs during it")
	require.NoError(t, w.err, "NOOP during the transfer")
	assert.Equal(t, 3, w.noops, "three NOOPs sent")
	assert.True(t, bytes.Equal(payload, w.buf.Bytes()), "content")
	size, err := c.Size(ctx, "big.bin")
	require.NoError(t, err, "a command after the transfer gets its own reply")
	assert.Equal(t, int64(len(payload)), size, "SIZE")
}

// TestClientRefusesLineBreaks: a name with CR or LF never reaches the
// control connection, where it would be a second command.
func TestClientRefusesLineBreaks(t *testing.T) {
	t.Parallel()
	fsys := memfs.New()
	require.NoError(t, fsys.WriteFile("keep.txt", []byte("x"), 0o644), "seed")
	srv := ftptest.NewServer(t, ftptest.WithFS(fsys))
	ctx := context.Background()
	c := clientDial(t, srv.Addr)
	assert.Error(t, c.Delete(ctx, "x\r\nDELE keep.txt"), "DELE with CRLF")
	assert.Error(t, c.Rename(ctx, "keep.txt", "y\nz"), "RNTO with LF")
	_, err := c.Retrieve(ctx, "a\x00b", 0, io.Discard)
	assert.Error(t, err, "RETR with NUL")
	_, err = fsys.Stat(ctx, "keep.txt")
	assert.NoError(t, err, "keep.txt is still there")
	require.NoError(t, c.NoOp(ctx), "the session is intact")
}

// scripted is a minimal FTP server for what Ferry's does not do: no MLSD,
// no EPSV, odd replies. reply answers each command; it may open the data
// connection with data.
type scripted struct {
	t        *testing.T
	l        net.Listener
	greeting string
	reply    func(s *scriptSession, verb, arg string) string
	mu       sync.Mutex
	commands []string
}

type scriptSession struct {
	nc    net.Conn
	w     *bufio.Writer
	pasv  net.Listener
	after func() // runs after the reply is written (the transfer)
}

// data sends body over the passive connection and then writes final.
func (s *scriptSession) data(body, final string) {
	s.after = func() {
		dc, err := s.pasv.Accept()
		if err != nil {
			return
		}
		io.WriteString(dc, body)
		dc.Close()
		s.w.WriteString(final + "\r\n")
		s.w.Flush()
	}
}

func newScripted(t *testing.T, greeting string, reply func(s *scriptSession, verb, arg string) string) *scripted {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err, "listen")
	s := &scripted{t: t, l: l, greeting: greeting, reply: reply}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			s.serve(nc)
		}
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return s
}

func (s *scripted) serve(nc net.Conn) {
	defer nc.Close()
	ss := &scriptSession{nc: nc, w: bufio.NewWriter(nc)}
	defer func() {
		if ss.pasv != nil {
			ss.pasv.Close()
		}
	}()
	ss.w.WriteString(s.greeting)
	ss.w.Flush()
	r := bufio.NewReader(nc)
	for {
		nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		s.mu.Lock()
		s.commands = append(s.commands, line)
		s.mu.Unlock()
		out := ""
		switch verb {
		case "PASV":
			if ss.pasv == nil {
				ss.pasv, _ = net.Listen("tcp4", "127.0.0.1:0")
			}
			port := ss.pasv.Addr().(*net.TCPAddr).Port
			// A foreign address: the Client must use the control peer.
			out = fmt.Sprintf("227 Entering Passive Mode (10,9,8,7,%d,%d)\r\n", port>>8, port&0xff)
		case "QUIT":
			ss.w.WriteString("221 Bye\r\n")
			ss.w.Flush()
			return
		default:
			out = s.reply(ss, verb, arg)
		}
		ss.w.WriteString(out)
		ss.w.Flush()
		if ss.after != nil {
			ss.after()
			ss.after = nil
		}
	}
}

func (s *scripted) sent() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.commands...)
}

// TestClientOldServer drives a server without EPSV, MLSD or MFMT, with
// a 120 greeting and multi-line replies whose lines all carry the code:
// the Client falls back to PASV and LIST and reports MFMT unsupported.
func TestClientOldServer(t *testing.T) {
	t.Parallel()
	listing := "total 3\r\n" +
		"drwxr-xr-x 2 owner group 4096 Jan  2  2020 sub dir\r\n" +
		"-rw-r--r-- 1 owner group 12 Jan  2  2020 file.txt\r\n" +
		"lrwxrwxrwx 1 owner group 8 Jan  2  2020 ln -> file.txt\r\n"
	dos := "01-02-20  03:04PM       <DIR>          Win Dir\r\n" +
		"01-02-20  03:04PM                  77 win.txt\r\n"
	srv := newScripted(t, "120 wait\r\n220-Old server\r\n220 ready\r\n",
		func(s *scriptSession, verb, arg string) string {
			switch verb {
			case "USER":
				return "331 password\r\n"
			case "PASS":
				return "230-Welcome\r\n230-more\r\n230 in\r\n"
			case "FEAT":
				return "211-Features:\r\n211-MDTM\r\n211-SIZE\r\n211 End\r\n"
			case "TYPE":
				return "200 ok\r\n"
			case "EPSV":
				return "502 no\r\n"
			case "LIST":
				switch arg {
				case "":
					s.data(listing, "226 done")
				case "dos":
					s.data(dos, "226 done")
				case "./-dash":
					s.data("", "226 done")
				case "evil":
					s.data("-rw-r--r-- 1 o g 1 Jan  2  2020 ok\r\n-rw-r--r-- 1 o g 1 Jan  2  2020 ../../etc/passwd\r\n", "226 done")
				default:
					return "550 no\r\n"
				}
				return "150 here\r\n"
			case "MDTM":
				return "213 20200102151617\r\n"
			case "SIZE":
				if arg == "file.txt" {
					return "213 12\r\n"
				}
				return "550 not a plain file\r\n"
			case "PWD":
				return "257 \"/home/\"\"q\"\"\" is current\r\n"
			case "CWD":
				if arg == "sub dir" || arg == `/home/"q"` {
					return "250 ok\r\n"
				}
				return "550 no\r\n"
			}
			return "502 Command not supported here.\r\n"
		})
	ctx := context.Background()
	c, err := ftp.Dial(ctx, srv.l.Addr().String(), ftp.WithTimeout(10*time.Second), ftp.WithClientLogger(slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	require.NoError(t, err, "dial through 120 and a multi-line 220")
	defer c.Close()
	require.NoError(t, c.Login(ctx, "u", "p"), "login with a multi-line 230")
	feats, err := c.Features(ctx)
	require.NoError(t, err, "FEAT")
	assert.Equal(t, map[string]string{"MDTM": "", "SIZE": ""}, feats, "features from lines with the code")

	entries, err := c.List(ctx, "")
	require.NoError(t, err, "LIST fallback")
	day := time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC)
	assert.Equal(t, []ftp.Entry{
		{Name: "sub dir", Type: ftp.EntryDir, Size: 4096, ModTime: day, Precision: 24 * time.Hour},
		{Name: "file.txt", Type: ftp.EntryFile, Size: 12, ModTime: day, Precision: 24 * time.Hour},
		{Name: "ln", Type: ftp.EntryLink, Size: 8, ModTime: day, Precision: 24 * time.Hour, Target: "file.txt"},
	}, entries, "Unix LIST entries")
	entries, err = c.List(ctx, "dos")
	require.NoError(t, err, "DOS LIST")
	at := time.Date(2020, 1, 2, 15, 4, 0, 0, time.UTC)
	assert.Equal(t, []ftp.Entry{
		{Name: "Win Dir", Type: ftp.EntryDir, ModTime: at, Precision: time.Minute},
		{Name: "win.txt", Type: ftp.EntryFile, Size: 77, ModTime: at, Precision: time.Minute},
	}, entries, "DOS LIST entries")
	_, err = c.List(ctx, "-dash")
	require.NoError(t, err, "LIST of a name that starts with a dash")
	_, err = c.List(ctx, "evil")
	assert.ErrorIs(t, err, ftp.ErrListFormat, "a listing that names a path is refused")

	mt, err := c.ModTime(ctx, "file.txt")
	require.NoError(t, err, "MDTM")
	assert.Equal(t, time.Date(2020, 1, 2, 15, 16, 17, 0, time.UTC), mt, "MDTM time")
	st, err := c.Stat(ctx, "file.txt")
	require.NoError(t, err, "Stat with SIZE and MDTM")
	assert.Equal(t, ftp.Entry{Name: "file.txt", Type: ftp.EntryFile, Size: 12, ModTime: mt}, st, "Stat of a file without MLST")
	st, err = c.Stat(ctx, "sub dir")
	require.NoError(t, err, "Stat of a directory with CWD")
	assert.Equal(t, ftp.Entry{Name: "sub dir", Type: ftp.EntryDir}, st, "Stat of a directory without MLST")
	_, err = c.Stat(ctx, "missing")
	var fe *ftp.Error
	require.ErrorAs(t, err, &fe, "Stat of a missing name")
	assert.Equal(t, 550, fe.Code, "the SIZE error")
	err = c.SetModTime(ctx, "file.txt", mt)
	assert.ErrorIs(t, err, errors.ErrUnsupported, "MFMT not announced")
	require.NoError(t, c.Quit(ctx), "QUIT")

	sent := strings.Join(srv.sent(), "\n")
	assert.Contains(t, sent, "EPSV\nPASV\nLIST", "EPSV tried once, then PASV")
	assert.NotContains(t, sent[strings.Index(sent, "PASV"):], "EPSV", "EPSV not tried again after 502")
	assert.Contains(t, sent, "LIST ./-dash", "a dash name is not sent as flags")
	assert.NotContains(t, sent, "MFMT", "no MFMT sent to a server without it")
	assert.Contains(t, sent, "CWD sub dir\nCWD /home/\"q\"", "Stat goes back to the directory PWD named")
}

// TestClientBadReplies: a reply line that is no reply breaks the Client
// instead of being misread.
func TestClientBadReplies(t *testing.T) {
	t.Parallel()
	for name, greeting := range map[string]string{
		"garbage":        "hello\r\n",
		"bad code":       "620 what\r\n",
		"refused":        "421 busy\r\n",
		"endless multi":  "220-" + strings.Repeat("x\r\n", 20000),
		"very long line": "220 " + strings.Repeat("x", 20000) + "\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := newScripted(t, greeting, func(*scriptSession, string, string) string { return "500 no\r\n" })
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := ftp.Dial(ctx, srv.l.Addr().String())
			if c != nil {
				c.Close()
			}
			assert.Error(t, err, "greeting %.20q is refused", greeting)
		})
	}
}
