package ftp_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferryftp/ferry/internal/e2etest"
)

// leanServer is refServer with the savings of the engine's small-file
// path and nothing else: a session keeps its passive listener, RETR sends
// the file under TCP_CORK and then writes its "150" and "226" together.
// BenchmarkSmallFilesLean measures it against refServer, to show how much
// faster than the minimal server any server can be on the same machine
// and kernel when it does no work of its own: the bound of what
// BenchmarkSmallFiles can show.
type leanServer struct {
	l   net.Listener
	dir string
	wg  sync.WaitGroup
}

func newLeanServer(b *testing.B, dir string) *leanServer {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s := &leanServer{l: l, dir: dir}
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

func (s *leanServer) handle(nc net.Conn) {
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
		case "TYPE":
			reply("200 ok")
		case "QUIT":
			reply("221 bye")
			return
		case "EPSV":
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
			dc, err := accept()
			if err != nil {
				reply("425 no")
				continue
			}
			if rc, err := dc.(*net.TCPConn).SyscallConn(); err == nil {
				rc.Control(func(fd uintptr) {
					syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_CORK, 1)
				})
			}
			f, err := os.Open(filepath.Join(s.dir, arg))
			if err == nil {
				_, err = io.Copy(dc, f)
				f.Close()
			}
			dc.Close()
			if err != nil {
				reply("150 go\r\n451 failed")
				continue
			}
			reply("150 go\r\n226 done")
		default:
			reply("502 no")
		}
	}
}

// BenchmarkSmallFilesLean is BenchmarkSmallFiles with leanServer in the
// place of the engine: x-ref is the most a server can gain over refServer
// here with the engine's savings alone.
func BenchmarkSmallFilesLean(b *testing.B) {
	const workers, files = 8, 50
	lean := newLeanServer(b, e2etest.MemDir(b))
	ref := newRefServer(b, e2etest.MemDir(b))
	var leanLat, refLat []time.Duration
	var refWall time.Duration
	round := 0
	for b.Loop() {
		round++
		_, lat, err := smallFilesRound(lean.l.Addr().String(), round, workers, files, true)
		if err != nil {
			b.Fatal(err)
		}
		leanLat = append(leanLat, lat...)
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
	leanRate := n / b.Elapsed().Seconds()
	refRate := n / refWall.Seconds()
	b.ReportMetric(leanRate, "files/s")
	b.ReportMetric(float64(percentile(leanLat, 99))/1e6, "p99-ms")
	b.ReportMetric(refRate, "ref-files/s")
	b.ReportMetric(float64(percentile(refLat, 99))/1e6, "ref-p99-ms")
	b.ReportMetric(leanRate/refRate, "x-ref")
}
