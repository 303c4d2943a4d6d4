package ftp_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftp/ftptest"
	"github.com/ferryftp/ferry/internal/e2etest"
)

// The benchmarks of this package run over loopback, each beside a
// reference measured in the same run, and report the ratio. See
// docs/performance.md for the targets, the numbers and how to reproduce
// them. Each b.Loop iteration measures the server under test with the timer
// running and the reference with the timer stopped, so ns/op and MB/s are
// the server's and the reference appears in the extra metrics.

// benchConn is a minimal FTP client for benchmarks: no allocation per
// reply beyond the line, errors returned rather than failing, so that it
// can run on many goroutines.
type benchConn struct {
	nc net.Conn
	r  *bufio.Reader
}

func benchDial(addr string) (*benchConn, error) {
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	c := &benchConn{nc: nc, r: bufio.NewReaderSize(nc, 512)}
	if _, err := c.expect(ftp.StatusServiceReady); err != nil {
		nc.Close()
		return nil, fmt.Errorf("greeting: %w", err)
	}
	return c, nil
}

// read reads one reply, multi-line replies skipped to their last line.
func (c *benchConn) read() (int, string, error) {
	c.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return 0, "", err
		}
		if len(line) < 5 {
			return 0, "", fmt.Errorf("short reply %q", line)
		}
		code, err := strconv.Atoi(line[:3])
		if err != nil {
			continue // a continuation line
		}
		if line[3] == ' ' {
			return code, strings.TrimRight(line[4:], "\r\n"), nil
		}
	}
}

func (c *benchConn) expect(want int) (string, error) {
	code, text, err := c.read()
	if err != nil {
		return "", err
	}
	if code != want {
		return "", fmt.Errorf("reply %d %s, want %d", code, text, want)
	}
	return text, nil
}

func (c *benchConn) send(line string) error {
	c.nc.SetWriteDeadline(time.Now().Add(30 * time.Second))
	_, err := io.WriteString(c.nc, line+"\r\n")
	return err
}

func (c *benchConn) cmd(line string, want int) (string, error) {
	if err := c.send(line); err != nil {
		return "", err
	}
	text, err := c.expect(want)
	if err != nil {
		return "", fmt.Errorf("%s: %w", line, err)
	}
	return text, nil
}

func (c *benchConn) login() error {
	if _, err := c.cmd("USER "+ftptest.User, ftp.StatusNeedPassword); err != nil {
		return err
	}
	_, err := c.cmd("PASS "+ftptest.Password, ftp.StatusLoggedIn)
	return err
}

// epsv sends EPSV and connects to the announced port.
func (c *benchConn) epsv() (*net.TCPConn, error) {
	text, err := c.cmd("EPSV", ftp.StatusExtendedPassiveMode)
	if err != nil {
		return nil, err
	}
	i, j := strings.Index(text, "(|||"), strings.LastIndex(text, "|)")
	if i < 0 || j < i {
		return nil, fmt.Errorf("EPSV reply %q", text)
	}
	host, _, _ := net.SplitHostPort(c.nc.RemoteAddr().String())
	dc, err := net.DialTimeout("tcp", net.JoinHostPort(host, text[i+4:j]), 10*time.Second)
	if err != nil {
		return nil, err
	}
	return dc.(*net.TCPConn), nil
}

// retr retrieves name into w and returns the byte count.
func (c *benchConn) retr(name string, w func(io.Reader) (int64, error)) (int64, error) {
	dc, err := c.epsv()
	if err != nil {
		return 0, err
	}
	defer dc.Close()
	if _, err := c.cmd("RETR "+name, ftp.StatusFileStatusOK); err != nil {
		return 0, err
	}
	n, err := w(dc)
	if err != nil {
		return n, err
	}
	_, err = c.expect(ftp.StatusClosingDataConnection)
	return n, err
}

// stor stores name from r.
func (c *benchConn) stor(name string, r func(io.Writer) error) error {
	dc, err := c.epsv()
	if err != nil {
		return err
	}
	defer dc.Close()
	if _, err := c.cmd("STOR "+name, ftp.StatusFileStatusOK); err != nil {
		return err
	}
	if err := r(dc); err != nil {
		return err
	}
	if err := dc.Close(); err != nil {
		return err
	}
	_, err = c.expect(ftp.StatusClosingDataConnection)
	return err
}

func (c *benchConn) close() { c.nc.Close() }

// drain reads r to its end into a 1 MiB buffer, so that the reading side
// costs as little as it can, the same for the server and the reference.
func drain(r io.Reader) (int64, error) {
	bp := drainBufs.Get().(*[]byte)
	defer drainBufs.Put(bp)
	buf := *bp
	var n int64
	for {
		m, err := r.Read(buf)
		n += int64(m)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// drainBufs keeps the client's 1 MiB buffers: allocating one per small
// file would cost the client more than the servers it measures.
var drainBufs = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// source writes size bytes of the pattern to w in 1 MiB writes.
func source(size int64) func(io.Writer) error {
	block := e2etest.Pattern(1 << 20)
	return func(w io.Writer) error {
		for left := size; left > 0; {
			n := min(left, int64(len(block)))
			if _, err := w.Write(block[:n]); err != nil {
				return err
			}
			left -= n
		}
		return nil
	}
}

// benchServer starts a test server over a temporary directory on disk,
// served with osfs.
func benchServer(b *testing.B) *e2etest.Server {
	b.Helper()
	return e2etest.NewServer(b)
}

// writeBigFile writes size bytes of real data (not a hole, so the page
// cache holds real pages for sendfile to move) and reads it once to warm
// the cache.
func writeBigFile(b *testing.B, name string, size int64) {
	b.Helper()
	f, err := os.Create(name)
	if err != nil {
		b.Fatal(err)
	}
	if err := source(size)(f); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	f, err = os.Open(name)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, err := drain(f); err != nil {
		b.Fatal(err)
	}
}

// rawSendfile is the reference for RETR: one TCP connection per transfer,
// io.Copy from the *os.File to the *net.TCPConn (sendfile), the reader
// discarding.
type rawSendfile struct {
	l    *net.TCPListener
	name string
}

func newRawSendfile(b *testing.B, name string) *rawSendfile {
	l, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	return &rawSendfile{l: l, name: name}
}

// benchLogin dials addr, logs in and sets TYPE I; the connection closes
// with the benchmark.
func benchLogin(b *testing.B, addr string) *benchConn {
	b.Helper()
	c, err := benchDial(addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.close)
	if err := c.login(); err != nil {
		b.Fatal(err)
	}
	if _, err := c.cmd("TYPE I", ftp.StatusOK); err != nil {
		b.Fatal(err)
	}
	return c
}

// serveOnce accepts one connection on l in a new goroutine, runs serve on
// it and closes it; the channel gets serve's error. The raw references
// are built on it.
func serveOnce(l *net.TCPListener, serve func(tc *net.TCPConn) error) <-chan error {
	errc := make(chan error, 1)
	go func() {
		tc, err := l.AcceptTCP()
		if err != nil {
			errc <- err
			return
		}
		defer tc.Close()
		errc <- serve(tc)
	}()
	return errc
}

func (r *rawSendfile) copy() (int64, error) {
	errc := serveOnce(r.l, func(tc *net.TCPConn) error {
		f, err := os.Open(r.name)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tc, f)
		return err
	})
	dc, err := net.Dial("tcp", r.l.Addr().String())
	if err != nil {
		return 0, err
	}
	defer dc.Close()
	n, err := drain(dc)
	return n, errors.Join(err, <-errc)
}

// rawReceive is the reference for STOR: one TCP connection per transfer,
// io.Copy from the *net.TCPConn into a new *os.File (splice).
type rawReceive struct {
	l    *net.TCPListener
	name string
}

func newRawReceive(b *testing.B, name string) *rawReceive {
	l, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	return &rawReceive{l: l, name: name}
}

func (r *rawReceive) copy(size int64) error {
	errc := serveOnce(r.l, func(tc *net.TCPConn) error {
		f, err := os.Create(r.name)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, tc)
		return errors.Join(err, f.Close())
	})
	dc, err := net.Dial("tcp", r.l.Addr().String())
	if err != nil {
		return err
	}
	err = source(size)(dc)
	dc.Close()
	return errors.Join(err, <-errc)
}

// mbps is the throughput of n bytes in d, in MB/s as go test counts them
// (10^6 bytes).
func mbps(n int64, d time.Duration) float64 { return float64(n) / d.Seconds() / 1e6 }

// BenchmarkRETR1GiB retrieves a 1 GiB file from osfs in TYPE I, beside
// the raw sendfile of the same file over a new TCP connection. Target:
// ferry >= 95% of raw.
func BenchmarkRETR1GiB(b *testing.B) {
	const size = 1 << 30
	srv := benchServer(b)
	writeBigFile(b, srv.Path("big.bin"), size)
	raw := newRawSendfile(b, srv.Path("big.bin"))
	c := benchLogin(b, srv.Addr)
	b.SetBytes(size)
	var rawTime time.Duration
	reference := func() {
		b.StopTimer()
		start := time.Now()
		n, err := raw.copy()
		rawTime += time.Since(start)
		if err != nil || n != size {
			b.Fatalf("raw sendfile: %d bytes, %v", n, err)
		}
		b.StartTimer()
	}
	i := 0
	for b.Loop() {
		// The reference runs before and after in turn, so that
		// neither inherits the other's aftermath (writeback, caches).
		if i++; i%2 == 0 {
			reference()
		}
		n, err := c.retr("big.bin", drain)
		if err != nil || n != size {
			b.Fatalf("RETR: %d bytes, %v", n, err)
		}
		if i%2 == 1 {
			reference()
		}
	}
	ferryTime := b.Elapsed()
	b.ReportMetric(mbps(size*int64(b.N), rawTime), "raw-MB/s")
	b.ReportMetric(rawTime.Seconds()/ferryTime.Seconds(), "x-raw")
}

// BenchmarkSTOR1GiB stores a 1 GiB file to osfs in TYPE I, beside the
// raw copy from a new TCP connection into a file. Target: ferry >= 85% of
// raw.
func BenchmarkSTOR1GiB(b *testing.B) {
	const size = 1 << 30
	srv := benchServer(b)
	raw := newRawReceive(b, filepath.Join(b.TempDir(), "raw.bin"))
	c := benchLogin(b, srv.Addr)
	b.SetBytes(size)
	var rawTime time.Duration
	reference := func() {
		b.StopTimer()
		start := time.Now()
		if err := raw.copy(size); err != nil {
			b.Fatalf("raw receive: %v", err)
		}
		rawTime += time.Since(start)
		b.StartTimer()
	}
	i := 0
	for b.Loop() {
		if i++; i%2 == 0 {
			reference()
		}
		if err := c.stor("up.bin", source(size)); err != nil {
			b.Fatalf("STOR: %v", err)
		}
		if i%2 == 1 {
			reference()
		}
	}
	ferryTime := b.Elapsed()
	if fi, err := os.Stat(srv.Path("up.bin")); err != nil || fi.Size() != size {
		b.Fatalf("stored file: %v, %v", fi, err)
	}
	b.ReportMetric(mbps(size*int64(b.N), rawTime), "raw-MB/s")
	b.ReportMetric(rawTime.Seconds()/ferryTime.Seconds(), "x-raw")
}

// percentile returns the p-th percentile (0 < p <= 100) of ds, sorted in
// place.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(float64(len(ds))*p/100+0.5) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

// smallFilesRound runs workers sessions at once, each storing then
// retrieving files 4 KiB files, each transfer over a new passive
// connection. It returns the wall time and the time of each file (its
// STOR plus its RETR). The names are new in each round: storing over an
// existing file would measure ext4's flush on close of a truncated file
// (auto_da_alloc) rather than the server.
func smallFilesRound(addr string, round, workers, files int, login bool) (time.Duration, []time.Duration, error) {
	data := e2etest.Pattern(4 << 10)
	conns := make([]*benchConn, workers)
	for i := range conns {
		c, err := benchDial(addr)
		if err != nil {
			return 0, nil, err
		}
		defer c.close()
		if login {
			if err := c.login(); err != nil {
				return 0, nil, err
			}
			if _, err := c.cmd("TYPE I", ftp.StatusOK); err != nil {
				return 0, nil, err
			}
		}
		conns[i] = c
	}
	lat := make([][]time.Duration, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for w, c := range conns {
		wg.Go(func() {
			for i := range files {
				t0 := time.Now()
				name := "f" + strconv.Itoa(round) + "-" + strconv.Itoa(w) + "-" + strconv.Itoa(i)
				if err := c.stor(name, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
					errs[w] = err
					return
				}
				n, err := c.retr(name, drain)
				if err == nil && n != int64(len(data)) {
					err = fmt.Errorf("RETR %s: %d bytes", name, n)
				}
				if err != nil {
					errs[w] = err
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	return wall, slices.Concat(lat...), errors.Join(errs...)
}

// refServer is a minimal FTP server written for comparison: USER and PASS
// accepted blindly, EPSV, STOR and RETR on a directory, QUIT and REIN;
// no checks, no accounting, a goroutine and a bufio.Reader per
// connection.
//
// A lean refServer adds the engine's small-file savings and nothing else:
// a session keeps its passive listener, and RETR sends the file under
// TCP_CORK (on Linux) before it writes its 150 and 226 together. It shows
// how much faster than the minimal server any server can be here with
// those savings alone, doing no work of its own (BenchmarkSmallFilesLean).
type refServer struct {
	l    net.Listener
	dir  string
	lean bool
	wg   sync.WaitGroup
}

func newRefServer(b *testing.B, dir string) *refServer { return startRefServer(b, dir, false) }

func startRefServer(b *testing.B, dir string, lean bool) *refServer {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s := &refServer{l: l, dir: dir, lean: lean}
	s.wg.Go(func() {
		for {
			nc, err := l.Accept()
			if err != nil {
				return
			}
			s.wg.Go(func() { s.handle(nc) })
		}
	})
	b.Cleanup(func() { l.Close(); s.wg.Wait() })
	return s
}

func (s *refServer) handle(nc net.Conn) {
	defer nc.Close()
	r := bufio.NewReader(nc)
	reply := func(line string) error {
		_, err := io.WriteString(nc, line+"\r\n")
		return err
	}
	var pl net.Listener
	defer func() {
		if pl != nil {
			pl.Close()
		}
	}()
	accept := func() (net.Conn, error) {
		if pl == nil {
			return nil, errors.New("no EPSV")
		}
		if !s.lean {
			defer func() { pl.Close(); pl = nil }()
		}
		return pl.Accept()
	}
	reply("220 ready")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(strings.TrimRight(line, "\r\n"), " ")
		switch verb {
		case "USER":
			reply("331 password")
		case "PASS":
			reply("230 logged in")
		case "REIN":
			reply("220 ready")
		case "TYPE":
			reply("200 ok")
		case "QUIT":
			reply("221 bye")
			return
		case "EPSV":
			if pl != nil && !s.lean {
				pl.Close()
				pl = nil
			}
			if pl == nil {
				if pl, err = net.Listen("tcp4", "127.0.0.1:0"); err != nil {
					reply("425 no")
					continue
				}
			}
			reply("229 (|||" + strconv.Itoa(pl.Addr().(*net.TCPAddr).Port) + "|)")
		case "STOR":
			reply("150 go")
			dc, err := accept()
			if err != nil {
				reply("425 no")
				continue
			}
			f, err := os.Create(filepath.Join(s.dir, arg))
			if err == nil {
				_, err = io.Copy(f, dc)
				err = errors.Join(err, f.Close())
			}
			dc.Close()
			if err != nil {
				reply("451 failed")
				continue
			}
			reply("226 done")
		case "RETR":
			// The lean server's 150 goes with the final reply.
			prelim := ""
			if s.lean {
				prelim = "150 go\r\n"
			} else {
				reply("150 go")
			}
			dc, err := accept()
			if err != nil {
				reply(prelim + "425 no")
				continue
			}
			if s.lean {
				cork(dc.(*net.TCPConn))
			}
			f, err := os.Open(filepath.Join(s.dir, arg))
			if err == nil {
				_, err = io.Copy(dc, f)
				f.Close()
			}
			dc.Close()
			if err != nil {
				reply(prelim + "451 failed")
				continue
			}
			reply(prelim + "226 done")
		default:
			reply("502 no")
		}
	}
}

// BenchmarkSmallFiles runs 8 sessions at once, each storing then
// retrieving 4 KiB files, a new passive connection per transfer, beside
// the same load on refServer. A file is one STOR plus one RETR. Targets:
// >= 1.2x the reference's files/s, p99 per file < 5 ms.
func BenchmarkSmallFiles(b *testing.B) {
	// Both trees in memory: file creation on this machine's disk
	// varies tenfold from one minute to the next.
	srv := e2etest.NewServerIn(b, e2etest.MemDir(b))
	benchSmallFiles(b, srv.Addr)
}

// BenchmarkSmallFilesLean is BenchmarkSmallFiles with a lean refServer in
// the place of the engine: its x-ref is the most a server gains over the
// minimal one here with the engine's small-file savings alone.
func BenchmarkSmallFilesLean(b *testing.B) {
	lean := startRefServer(b, e2etest.MemDir(b), true)
	benchSmallFiles(b, lean.l.Addr().String())
}

// benchSmallFiles measures the server at addr, timer running, and a
// refServer, timer stopped, in alternate rounds.
func benchSmallFiles(b *testing.B, addr string) {
	const workers, files = 8, 50
	ref := newRefServer(b, e2etest.MemDir(b))
	var srvLat, refLat []time.Duration
	var refWall time.Duration
	round := 0
	for b.Loop() {
		round++
		_, lat, err := smallFilesRound(addr, round, workers, files, true)
		if err != nil {
			b.Fatal(err)
		}
		srvLat = append(srvLat, lat...)
		b.StopTimer()
		wall, lat, err := smallFilesRound(ref.l.Addr().String(), round, workers, files, true)
		if err != nil {
			b.Fatal(err)
		}
		refWall += wall
		refLat = append(refLat, lat...)
		b.StartTimer()
	}
	n := float64(b.N * workers * files)
	srvRate := n / b.Elapsed().Seconds()
	refRate := n / refWall.Seconds()
	b.ReportMetric(srvRate, "files/s")
	b.ReportMetric(float64(percentile(srvLat, 50))/1e6, "p50-ms")
	b.ReportMetric(float64(percentile(srvLat, 99))/1e6, "p99-ms")
	b.ReportMetric(refRate, "ref-files/s")
	b.ReportMetric(float64(percentile(refLat, 99))/1e6, "ref-p99-ms")
	b.ReportMetric(srvRate/refRate, "x-ref")
	b.ReportMetric(float64(timeWaits()), "time-wait")
}

// timeWaits counts the TCP connections of the machine in TIME_WAIT. The
// cost of binding a listener to port 0 grows with them (see listenPassive),
// so the small-file rates depend on how many the run has left behind.
func timeWaits() int {
	n := 0
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(name)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) > 3 && f[3] == "06" {
				n++
			}
		}
	}
	return n
}
