package ftp_test

// RFC fixtures: transcripts of whole sessions in testdata/rfc/*.txtar,
// replayed byte for byte against a live ftptest server by TestRFCFixtures.
//
// # Format
//
// A fixture is a txtar archive (the format of golang.org/x/tools/txtar,
// parsed here by a few lines of code): free text up to the first section
// line, which says what the transcript shows and cites the RFC sections,
// then sections that each begin with a line "-- name --".
//
// The optional "-- setup --" section builds the served tree (a memfs) and
// sets server knobs, one directive a line:
//
//	file /a.txt hello world        a file holding "hello world" (no newline)
//	file /b.txt "one\ntwo\n"       a Go-quoted argument is unquoted first
//	dir /d                         a directory (parents are created)
//	mtime /a.txt 20200102030405    the modification time, UTC
//	clock 20250615120000           the server's and the file system's "now"
//	server maxlinelength=64        a Server field; see serverKnobs
//
// Paths may be Go-quoted too. Without a clock line, the clock stands at
// fixtureNow. Files and directories get that time unless mtime says
// otherwise.
//
// The "-- session --" section is the transcript, one event a line; blank
// lines and lines beginning with "#" are comments:
//
//	C: <line>     the client sends <line> and CRLF
//	S: <line>     the server sends exactly <line> and CRLF; a multi-line
//	              reply is one S: line per line ("211-...", ..., "211 End")
//	D> <line>     the data connection delivers <line> and CRLF
//	D< <line>     the client sends <line> and CRLF on the data connection
//
// A payload of C:, D> or D< that begins with a double quote is a Go string
// literal giving the exact bytes, with no CRLF added: `C: "ABOR\n"`,
// `D> "no newline"`, `D> ""` for an empty transfer. A run of D> lines is
// one transfer: the harness reads the data connection to its end and
// compares everything; a run of D< lines is sent and the data connection
// is then closed. The data connection is opened when the first D line of
// a run comes: by connecting to the passive port when the last data
// command was PASV or EPSV, by accepting on the harness's own listener
// when it was PORT or EPRT.
//
// Placeholders, substituted before sending and comparing:
//
//	{port}   the passive port (PassivePorts is fixed to one free port)
//	{pasv}   127,0,0,1,p1,p2 for that port, as in a 227 reply
//	{aport}  the port of the harness's listener for PORT and EPRT
//	{act}    127,0,0,1,p1,p2 for that port, as in a PORT command
//	{any}    in S: lines only, any run of non-space characters (STOU names)
//
// The first S: line is the greeting. When the transcript ends with the
// connection still open, the harness sends NOOP and expects "200 NOOP ok."
// as the very next reply, so a stray reply fails the fixture; when it ends
// after QUIT or a 421 reply, it expects the server to close the connection.
//
// # Updating
//
//	go test ./ftp -run TestRFCFixtures -update
//
// rewrites the S: and D> lines of every fixture from what the live server
// sends. Each run of S: lines stands for one reply ("S: ?" is enough for a
// new command), so the number of replies at each point of the transcript
// must already be right; lines that still match, placeholders included,
// are kept as written. Review the diff before committing it: an updated
// fixture only records behaviour, the RFC decides whether it is right.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftp/ftptest"
	"github.com/ferryftp/ferry/vfs/memfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the S: and D> lines of testdata/rfc/*.txtar from the live server")

// fixtureNow is the clock of a fixture without a clock line.
var fixtureNow = time.Date(2025, time.June, 15, 12, 0, 0, 0, time.UTC)

// fixtureTimeout bounds every wait of the harness.
const fixtureTimeout = 10 * time.Second

func TestRFCFixtures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "rfc", "*.txtar"))
	require.NoError(t, err, "listing the fixtures")
	require.NotEmpty(t, files, "no fixtures found in testdata/rfc")
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			runFixture(t, file)
		})
	}
}

// archive is a parsed txtar file.
type archive struct {
	comment  string
	sections []section
}

type section struct {
	name  string
	start int // line number of the first line of data, 1-based
	data  string
}

func parseArchive(text string) archive {
	var a archive
	lines := strings.SplitAfter(text, "\n")
	var b strings.Builder
	cur := -1
	for i, l := range lines {
		trimmed := strings.TrimRight(l, "\r\n")
		if strings.HasPrefix(trimmed, "-- ") && strings.HasSuffix(trimmed, " --") && len(trimmed) > 6 {
			if cur < 0 {
				a.comment = b.String()
			} else {
				a.sections[cur].data = b.String()
			}
			b.Reset()
			a.sections = append(a.sections, section{name: strings.TrimSpace(trimmed[3 : len(trimmed)-3]), start: i + 2})
			cur = len(a.sections) - 1
			continue
		}
		b.WriteString(l)
	}
	if cur < 0 {
		a.comment = b.String()
	} else {
		a.sections[cur].data = b.String()
	}
	return a
}

func (a archive) format() []byte {
	var b bytes.Buffer
	b.WriteString(a.comment)
	for _, s := range a.sections {
		fmt.Fprintf(&b, "-- %s --\n", s.name)
		b.WriteString(s.data)
	}
	return b.Bytes()
}

func (a archive) section(name string) (section, bool) {
	for _, s := range a.sections {
		if s.name == name {
			return s, true
		}
	}
	return section{}, false
}

// An op is one event of a session.
type op struct {
	kind  byte     // 'C' send, 'S' one reply, '>' data in, '<' data out, '#' comment
	line  int      // line number in the file, for messages
	lines []string // S: the expected lines of one reply; '#': the text; C, >, <: the payloads
}

func parseSession(t *testing.T, file string, sec section) []op {
	var ops []op
	lines := strings.Split(strings.TrimSuffix(sec.data, "\n"), "\n")
	for i, l := range lines {
		n := sec.start + i
		prefix, payload, _ := strings.Cut(l, " ")
		if len(l) == 2 {
			prefix = l
		}
		last := len(ops) - 1
		switch prefix {
		case "C:":
			ops = append(ops, op{kind: 'C', line: n, lines: []string{payload}})
		case "S:":
			if last >= 0 && ops[last].kind == 'S' && replyOpen(ops[last].lines) {
				ops[last].lines = append(ops[last].lines, payload)
			} else {
				ops = append(ops, op{kind: 'S', line: n, lines: []string{payload}})
			}
		case "D>", "D<":
			kind := prefix[1]
			if last >= 0 && ops[last].kind == kind {
				ops[last].lines = append(ops[last].lines, payload)
			} else {
				ops = append(ops, op{kind: kind, line: n, lines: []string{payload}})
			}
		default:
			if strings.TrimSpace(l) != "" && !strings.HasPrefix(l, "#") {
				t.Fatalf("%s:%d: unknown session line %q", file, n, l)
			}
			ops = append(ops, op{kind: '#', line: n, lines: []string{l}})
		}
	}
	return ops
}

// replyOpen reports whether the lines so far are an unfinished multi-line
// reply: "NNN-" first and no "NNN " line yet (RFC 959 section 4.2).
func replyOpen(lines []string) bool {
	first := lines[0]
	if len(first) < 4 || first[3] != '-' || !isCode(first[:3]) {
		return false
	}
	if len(lines) == 1 {
		return true
	}
	return !strings.HasPrefix(lines[len(lines)-1], first[:3]+" ")
}

func isCode(s string) bool {
	return len(s) == 3 && s[0] >= '1' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9'
}

// payload decodes a C:, D> or D< payload: a Go string literal as is, or a
// line with CRLF.
func payload(s string) ([]byte, error) {
	if strings.HasPrefix(s, `"`) {
		u, err := strconv.Unquote(s)
		if err != nil {
			return nil, fmt.Errorf("bad Go string literal %s: %w", s, err)
		}
		return []byte(u), nil
	}
	return []byte(s + "\r\n"), nil
}

// formatData writes received data as D> lines.
func formatData(data []byte) []string {
	if len(data) == 0 {
		return []string{`""`}
	}
	var out []string
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		piece := data
		if i >= 0 {
			piece = data[:i+1]
		}
		data = data[len(piece):]
		text, ok := bytes.CutSuffix(piece, []byte("\r\n"))
		if ok && !bytes.ContainsAny(text, "\r\n\x00") && !bytes.HasPrefix(text, []byte(`"`)) &&
			utf8.Valid(text) && !bytes.HasSuffix(text, []byte(" ")) {
			out = append(out, string(text))
		} else {
			out = append(out, strconv.Quote(string(piece)))
		}
	}
	return out
}

// serverKnobs are the Server fields a setup section may set.
var serverKnobs = map[string]func(s *ftp.Server, v string) error{
	"greeting": func(s *ftp.Server, v string) error { s.Greeting = v; return nil },
	"maxlinelength": func(s *ftp.Server, v string) (err error) {
		s.MaxLineLength, err = strconv.Atoi(v)
		return err
	},
	"maxloginfailures": func(s *ftp.Server, v string) (err error) {
		s.MaxLoginFailures, err = strconv.Atoi(v)
		return err
	},
	"datatimeout": func(s *ftp.Server, v string) (err error) {
		s.DataTimeout, err = time.ParseDuration(v)
		return err
	},
	"allowprivilegedactive": func(s *ftp.Server, v string) (err error) {
		s.AllowPrivilegedActive, err = strconv.ParseBool(v)
		return err
	},
	// hosts=a.example,b.example serves virtual hosts (RFC 7151) with
	// the same accounts, each greeting "<name> ready.".
	"hosts": func(s *ftp.Server, v string) error {
		names := strings.Split(v, ",")
		s.Hosts = ftp.HostResolverFunc(func(_ context.Context, _ netip.AddrPort, name string) (*ftp.VirtualHost, error) {
			if name == "" {
				return &ftp.VirtualHost{}, nil
			}
			for _, n := range names {
				if strings.EqualFold(n, name) {
					return &ftp.VirtualHost{Name: n, Greeting: n + " ready."}, nil
				}
			}
			return nil, errors.New("unknown host")
		})
		return nil
	},
}

// word takes one word, or one Go string literal, off the front of s.
func word(s string) (w, rest string, err error) {
	s = strings.TrimLeft(s, " ")
	if strings.HasPrefix(s, `"`) {
		q, err := strconv.QuotedPrefix(s)
		if err != nil {
			return "", "", err
		}
		w, _ = strconv.Unquote(q)
		return w, strings.TrimLeft(s[len(q):], " "), nil
	}
	w, rest, _ = strings.Cut(s, " ")
	return w, rest, nil
}

func parseTimeVal(s string) (time.Time, error) {
	return time.ParseInLocation("20060102150405", s, time.UTC)
}

// fixtureSetup applies a setup section to a new memfs and server options.
func fixtureSetup(t *testing.T, file string, sec section, ok bool) (*memfs.FS, []func(*ftp.Server)) {
	now := fixtureNow
	type mt struct {
		name string
		t    time.Time
	}
	var mtimes []mt
	var knobs []func(*ftp.Server)
	var build []func(m *memfs.FS) error
	if ok {
		for i, l := range strings.Split(sec.data, "\n") {
			n := sec.start + i
			if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
				continue
			}
			fail := func(err error) { t.Fatalf("%s:%d: %q: %v", file, n, l, err) }
			verb, rest, _ := strings.Cut(l, " ")
			switch verb {
			case "file", "dir", "mtime":
				p, arg, err := word(rest)
				if err != nil {
					fail(err)
				}
				name := strings.TrimPrefix(path.Clean("/"+p), "/")
				switch verb {
				case "file":
					content := arg
					if strings.HasPrefix(arg, `"`) {
						if content, err = strconv.Unquote(arg); err != nil {
							fail(err)
						}
					}
					build = append(build, func(m *memfs.FS) error {
						if dir := path.Dir(name); dir != "." {
							if err := m.MkdirAll(dir); err != nil {
								return err
							}
						}
						return m.WriteFile(name, []byte(content), 0o644)
					})
				case "dir":
					build = append(build, func(m *memfs.FS) error { return m.MkdirAll(name) })
				case "mtime":
					tm, err := parseTimeVal(arg)
					if err != nil {
						fail(err)
					}
					mtimes = append(mtimes, mt{name, tm})
				}
			case "clock":
				tm, err := parseTimeVal(strings.TrimSpace(rest))
				if err != nil {
					fail(err)
				}
				now = tm
			case "server":
				k, v, _ := strings.Cut(rest, "=")
				set, found := serverKnobs[strings.ToLower(strings.TrimSpace(k))]
				if !found {
					fail(errors.New("unknown server knob"))
				}
				if strings.HasPrefix(v, `"`) {
					var err error
					if v, err = strconv.Unquote(v); err != nil {
						fail(err)
					}
				}
				knobs = append(knobs, func(s *ftp.Server) {
					if err := set(s, v); err != nil {
						fail(err)
					}
				})
			default:
				fail(errors.New("unknown setup directive"))
			}
		}
	}
	m := &memfs.FS{Clock: func() time.Time { return now }}
	for _, b := range build {
		require.NoError(t, b(m), "%s: setup", file)
	}
	for _, x := range mtimes {
		require.NoError(t, m.Chtimes(t.Context(), x.name, time.Time{}, x.t), "%s: setup mtime %s", file, x.name)
	}
	knobs = append([]func(*ftp.Server){func(s *ftp.Server) { s.Now = func() time.Time { return now } }}, knobs...)
	return m, knobs
}

// freePorts returns the first of n consecutive ports on 127.0.0.1 that
// were free a moment ago. They are taken below the system's ephemeral
// range when it is known, so that no outgoing connection of a test running
// in parallel can take one in the meantime.
func freePorts(t *testing.T, n int) int {
	t.Helper()
	lo := 32768 // the usual start of Linux's ephemeral range
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil {
				lo = v
			}
		}
	}
	const base = 10000
	if lo-base > 1000 {
		for range 100 {
			first := base + rand.IntN(lo-base-n)
			if portsFree(first, n) {
				return first
			}
		}
	}
	// Any free ports will do, at some risk of a race.
	for range 100 {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		require.NoError(t, err, "finding a free port")
		first := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if first+n-1 <= 65535 && portsFree(first, n) {
			return first
		}
	}
	t.Fatalf("no %d free consecutive ports", n)
	return 0
}

func portsFree(first, n int) bool {
	for p := first; p < first+n; p++ {
		l, err := net.Listen("tcp4", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			return false
		}
		l.Close()
	}
	return true
}

func hostPort(port int) string {
	return fmt.Sprintf("127,0,0,1,%d,%d", port>>8, port&0xff)
}

// replayer runs one fixture.
type replayer struct {
	t        *testing.T
	file     string
	nc       net.Conn
	r        *bufio.Reader
	port     int          // passive
	active   net.Listener // for PORT and EPRT
	subst    *strings.Replacer
	passive  bool // the last data command was PASV or EPSV
	closed   bool // QUIT or 421 seen: the server will close
	sentQuit bool
}

func runFixture(t *testing.T, file string) {
	raw, err := os.ReadFile(file)
	require.NoError(t, err, "reading %s", file)
	a := parseArchive(string(raw))
	require.NotEmpty(t, strings.TrimSpace(a.comment), "%s: the header must say what the fixture covers", file)
	setup, hasSetup := a.section("setup")
	m, knobs := fixtureSetup(t, file, setup, hasSetup)
	sess, ok := a.section("session")
	require.True(t, ok, "%s: no session section", file)
	ops := parseSession(t, file, sess)

	port := freePorts(t, 1)
	opts := []ftptest.Option{ftptest.WithFS(m), ftptest.WithServer(func(s *ftp.Server) {
		s.PassivePorts = ftp.PortRange{First: uint16(port), Last: uint16(port)}
	})}
	for _, k := range knobs {
		opts = append(opts, ftptest.WithServer(k))
	}
	srv := ftptest.NewServer(t, opts...)

	active, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err, "listening for active data connections")
	defer active.Close()
	aport := active.Addr().(*net.TCPAddr).Port

	nc, err := net.DialTimeout("tcp", srv.Addr, fixtureTimeout)
	require.NoError(t, err, "dialing the server")
	defer nc.Close()
	rp := &replayer{
		t: t, file: file, nc: nc, r: bufio.NewReader(nc), port: port, active: active,
		subst: strings.NewReplacer(
			"{port}", strconv.Itoa(port), "{pasv}", hostPort(port),
			"{aport}", strconv.Itoa(aport), "{act}", hostPort(aport)),
	}
	unsubst := strings.NewReplacer(
		"(|||"+strconv.Itoa(port)+"|)", "(|||{port}|)",
		"("+hostPort(port)+")", "({pasv})")

	var out []string // the session as updated
	for _, o := range ops {
		switch o.kind {
		case '#':
			out = append(out, o.lines[0])
		case 'C':
			rp.send(o)
			out = append(out, "C: "+o.lines[0])
		case 'S':
			got := rp.readReply(o)
			if *update {
				if !replyMatches(rp.subst, o.lines, got) {
					for i := range got {
						got[i] = unsubst.Replace(got[i])
					}
					o.lines = got
				}
			} else if !replyMatches(rp.subst, o.lines, got) {
				t.Fatalf("%s:%d: reply differs\nwant:\n\t%s\ngot:\n\t%s", file, o.line,
					strings.Join(o.lines, "\n\t"), strings.Join(got, "\n\t"))
			}
			for _, l := range o.lines {
				out = append(out, "S: "+l)
			}
		case '>':
			got := rp.receive(o)
			want := rp.expectedData(o)
			if *update {
				if !bytes.Equal(want, got) {
					o.lines = formatData(got)
				}
			} else if !bytes.Equal(want, got) {
				t.Fatalf("%s:%d: data differs\nwant:\n\t%s\ngot:\n\t%s", file, o.line,
					strings.Join(formatData(want), "\n\t"), strings.Join(formatData(got), "\n\t"))
			}
			for _, l := range o.lines {
				out = append(out, "D> "+l)
			}
		case '<':
			rp.transmit(o)
			for _, l := range o.lines {
				out = append(out, "D< "+l)
			}
		}
	}
	rp.finish()

	if *update {
		for i := range a.sections {
			if a.sections[i].name == "session" {
				a.sections[i].data = strings.Join(out, "\n") + "\n"
			}
		}
		if formatted := a.format(); !bytes.Equal(formatted, raw) {
			require.NoError(t, os.WriteFile(file, formatted, 0o644), "rewriting %s", file)
			t.Logf("updated %s", file)
		}
	}
}

// replyMatches compares one reply with its expected lines, placeholders
// substituted.
func replyMatches(subst *strings.Replacer, want, got []string) bool {
	if len(want) != len(got) {
		return false
	}
	for i := range want {
		w := subst.Replace(want[i])
		if !strings.Contains(w, "{any}") {
			if w != got[i] {
				return false
			}
			continue
		}
		parts := strings.Split(w, "{any}")
		for j := range parts {
			parts[j] = regexp.QuoteMeta(parts[j])
		}
		if !regexp.MustCompile(`^` + strings.Join(parts, `\S+`) + `$`).MatchString(got[i]) {
			return false
		}
	}
	return true
}

func (rp *replayer) send(o op) {
	text := rp.subst.Replace(o.lines[0])
	b, err := payload(text)
	require.NoError(rp.t, err, "%s:%d", rp.file, o.line)
	verb, arg, _ := strings.Cut(strings.TrimRight(string(b), "\r\n"), " ")
	switch strings.ToUpper(verb) {
	case "PASV":
		rp.passive = true
	case "EPSV":
		if !strings.EqualFold(strings.TrimSpace(arg), "ALL") {
			rp.passive = true
		}
	case "PORT", "EPRT":
		rp.passive = false
	case "QUIT":
		rp.sentQuit = true
	}
	rp.nc.SetWriteDeadline(time.Now().Add(fixtureTimeout))
	_, err = rp.nc.Write(b)
	require.NoError(rp.t, err, "%s:%d: sending", rp.file, o.line)
}

// readReply reads one whole reply, each line checked for its CRLF.
func (rp *replayer) readReply(o op) []string {
	rp.nc.SetReadDeadline(time.Now().Add(fixtureTimeout))
	readLine := func() string {
		l, err := rp.r.ReadString('\n')
		require.NoError(rp.t, err, "%s:%d: reading a reply (got %q)", rp.file, o.line, l)
		require.True(rp.t, strings.HasSuffix(l, "\r\n"), "%s:%d: reply line %q does not end in CRLF", rp.file, o.line, l)
		return strings.TrimSuffix(l, "\r\n")
	}
	first := readLine()
	lines := []string{first}
	if len(first) >= 4 && first[3] == '-' {
		for {
			l := readLine()
			lines = append(lines, l)
			if strings.HasPrefix(l, first[:3]+" ") {
				break
			}
		}
	}
	if strings.HasPrefix(first, "421") {
		rp.closed = true
	}
	return lines
}

// dataConn opens the data connection for a run of D lines.
func (rp *replayer) dataConn(o op) net.Conn {
	if rp.passive {
		dc, err := net.DialTimeout("tcp4", "127.0.0.1:"+strconv.Itoa(rp.port), fixtureTimeout)
		require.NoError(rp.t, err, "%s:%d: connecting to the passive port", rp.file, o.line)
		return dc
	}
	rp.active.(*net.TCPListener).SetDeadline(time.Now().Add(fixtureTimeout))
	dc, err := rp.active.Accept()
	require.NoError(rp.t, err, "%s:%d: accepting the active data connection", rp.file, o.line)
	return dc
}

func (rp *replayer) expectedData(o op) []byte {
	var want []byte
	for _, l := range o.lines {
		b, err := payload(rp.subst.Replace(l))
		require.NoError(rp.t, err, "%s:%d", rp.file, o.line)
		want = append(want, b...)
	}
	return want
}

func (rp *replayer) receive(o op) []byte {
	dc := rp.dataConn(o)
	defer dc.Close()
	dc.SetReadDeadline(time.Now().Add(fixtureTimeout))
	got, err := io.ReadAll(dc)
	require.NoError(rp.t, err, "%s:%d: reading the data connection", rp.file, o.line)
	return got
}

func (rp *replayer) transmit(o op) {
	dc := rp.dataConn(o)
	defer dc.Close()
	dc.SetWriteDeadline(time.Now().Add(fixtureTimeout))
	_, err := dc.Write(rp.expectedData(o))
	require.NoError(rp.t, err, "%s:%d: writing the data connection", rp.file, o.line)
}

// finish checks that nothing more than the transcript was sent.
func (rp *replayer) finish() {
	rp.nc.SetReadDeadline(time.Now().Add(fixtureTimeout))
	if rp.closed || rp.sentQuit {
		rest, err := io.ReadAll(rp.r)
		if err != nil && !errors.Is(err, net.ErrClosed) && !isReset(err) {
			require.NoError(rp.t, err, "%s: waiting for the server to close", rp.file)
		}
		assert.Empty(rp.t, string(rest), "%s: the server sent more than the transcript before closing", rp.file)
		return
	}
	rp.nc.SetWriteDeadline(time.Now().Add(fixtureTimeout))
	_, err := io.WriteString(rp.nc, "NOOP\r\n")
	require.NoError(rp.t, err, "%s: sending the final NOOP", rp.file)
	l, err := rp.r.ReadString('\n')
	require.NoError(rp.t, err, "%s: reading the reply to the final NOOP", rp.file)
	assert.Equal(rp.t, "200 NOOP ok.\r\n", l, "%s: the reply after the transcript must be that of the final NOOP", rp.file)
}

func isReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }

// TestRFCFixturesCoverEveryCommand checks that every verb of the command
// table, as HELP lists it, is sent in at least one fixture. The FTPS verbs
// need a certificate and are exercised by the TLS tests instead.
func TestRFCFixturesCoverEveryCommand(t *testing.T) {
	srv := ftptest.NewServer(t)
	c := ftptest.Dial(t, srv.Addr)
	code, text := c.Cmd("HELP")
	require.Equal(t, ftp.StatusHelp, code, "HELP")
	lines := strings.Split(text, "\n")
	require.Greater(t, len(lines), 2, "HELP lists the verbs between its first and last lines")
	var verbs []string
	for _, l := range lines[1 : len(lines)-2] {
		for _, v := range strings.Fields(l) {
			verbs = append(verbs, strings.TrimSuffix(v, "*"))
		}
	}
	require.Contains(t, verbs, "RETR", "HELP must list RETR")

	files, err := filepath.Glob(filepath.Join("..", "testdata", "rfc", "*.txtar"))
	require.NoError(t, err, "listing the fixtures")
	sent := map[string]bool{}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		require.NoError(t, err, "reading %s", file)
		for _, l := range strings.Split(string(raw), "\n") {
			p, ok := strings.CutPrefix(l, "C: ")
			if !ok {
				continue
			}
			if b, err := payload(p); err == nil {
				p = string(b)
			}
			v, _, _ := strings.Cut(strings.TrimSpace(p), " ")
			sent[strings.ToUpper(v)] = true
		}
	}
	tlsVerbs := map[string]bool{"AUTH": true, "PBSZ": true, "PROT": true, "CCC": true}
	for _, v := range verbs {
		if !tlsVerbs[v] {
			assert.True(t, sent[v], "no fixture in testdata/rfc sends %s", v)
		}
	}
}
