package ftp_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftp/ftptest"
)

// rawCmd sends line (if not empty) on nc and reads one reply of a single
// line into buf, which it returns with the code. It holds no memory
// between calls: the idle-session benchmark's clients must cost as little
// as they can.
func rawCmd(nc net.Conn, buf []byte, line string) (int, error) {
	if line != "" {
		if _, err := io.WriteString(nc, line+"\r\n"); err != nil {
			return 0, err
		}
	}
	n := 0
	for {
		m, err := nc.Read(buf[n:])
		n += m
		if i := bytes.Index(buf[:n], []byte("\r\n")); i >= 0 {
			if n < 4 || i != n-2 {
				return 0, fmt.Errorf("unexpected reply %q", buf[:n])
			}
			return strconv.Atoi(string(buf[:3]))
		}
		if err != nil {
			return 0, err
		}
		if n == len(buf) {
			return 0, errors.New("reply too long")
		}
	}
}

// memInUse is HeapInuse and StackInuse after two collections.
func memInUse() (heap, stack int64) {
	ms := memStats()
	return int64(ms.HeapInuse), int64(ms.StackInuse)
}

// BenchmarkIdleSessions measures what 1,000 idle, logged-in sessions cost
// in memory: heap plus goroutine stacks, from runtime.MemStats (HeapInuse
// + StackInuse after two collections) before and after. Target: <= 16 KiB
// per session.
//
// The clients run in the same process, as bare net.Conns with no buffer
// of their own, so session-B, the whole growth per session, counts the
// server's session and socket and also the client's socket: it is an
// upper bound of the server's cost. client-B estimates the client's share:
// half of what 1,000 plain TCP connection pairs cost, whose server side is
// accepted and held without a goroutine (it is noisy, as small
// differences of two heap readings are). stack-B is the goroutine stack
// part of session-B.
func BenchmarkIdleSessions(b *testing.B) {
	const sessions = 1000
	srv := ftptest.NewServer(b)
	buf := make([]byte, 512)
	var perSession, perClient, stackPerSession float64
	for b.Loop() {
		// Reference: bare TCP pairs.
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		accepted := make([]net.Conn, 0, sessions)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for range sessions {
				nc, err := l.Accept()
				if err != nil {
					return
				}
				accepted = append(accepted, nc)
			}
		}()
		clients := make([]net.Conn, 0, sessions)
		heap0, stack0 := memInUse()
		for range sessions {
			nc, err := net.Dial("tcp4", l.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			clients = append(clients, nc)
		}
		<-done
		heap1, stack1 := memInUse()
		pairs := heap1 + stack1 - heap0 - stack0
		for _, nc := range append(clients, accepted...) {
			nc.Close()
		}
		l.Close()

		// The sessions.
		clients = clients[:0]
		heap0, stack0 = memInUse()
		for range sessions {
			nc, err := net.Dial("tcp4", srv.Addr)
			if err != nil {
				b.Fatal(err)
			}
			clients = append(clients, nc)
			for _, step := range []struct {
				line string
				want int
			}{
				{"", ftp.StatusServiceReady},
				{"USER " + ftptest.User, ftp.StatusNeedPassword},
				{"PASS " + ftptest.Password, ftp.StatusLoggedIn},
			} {
				if code, err := rawCmd(nc, buf, step.line); err != nil || code != step.want {
					b.Fatalf("%q: %d, %v", step.line, code, err)
				}
			}
		}
		heap1, stack1 = memInUse()
		used := heap1 + stack1 - heap0 - stack0
		for _, nc := range clients {
			nc.Close()
		}
		perClient = float64(pairs) / 2 / sessions
		perSession = float64(used) / sessions
		stackPerSession = float64(stack1-stack0) / sessions
	}
	b.ReportMetric(perSession, "session-B")
	b.ReportMetric(stackPerSession, "stack-B")
	b.ReportMetric(perClient, "client-B")
}

// loginRound runs workers clients at once, each logging in logins times:
// connect, greeting, USER, PASS, QUIT, close.
func loginRound(addr string, workers, logins int) (time.Duration, error) {
	errs := make([]error, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			buf := make([]byte, 512)
			for range logins {
				nc, err := net.Dial("tcp4", addr)
				if err != nil {
					errs[w] = err
					return
				}
				nc.SetDeadline(time.Now().Add(10 * time.Second))
				for _, step := range []struct {
					line string
					want int
				}{
					{"", ftp.StatusServiceReady},
					{"USER " + ftptest.User, ftp.StatusNeedPassword},
					{"PASS " + ftptest.Password, ftp.StatusLoggedIn},
					{"QUIT", ftp.StatusClosing},
				} {
					if code, err := rawCmd(nc, buf, step.line); err != nil || code != step.want {
						errs[w] = fmt.Errorf("%q: %d, %w", step.line, code, err)
						nc.Close()
						return
					}
				}
				nc.Close()
			}
		})
	}
	wg.Wait()
	return time.Since(start), errors.Join(errs...)
}

// reinRound runs workers sessions at once, each logging in logins times
// on its one connection: USER, PASS, REIN (RFC 959 4.1.1).
func reinRound(addr string, workers, logins int) (time.Duration, error) {
	conns := make([]net.Conn, workers)
	buf := make([]byte, 512)
	for i := range conns {
		nc, err := net.Dial("tcp4", addr)
		if err != nil {
			return 0, err
		}
		defer nc.Close()
		if _, err := rawCmd(nc, buf, ""); err != nil {
			return 0, err
		}
		conns[i] = nc
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for w, nc := range conns {
		wg.Go(func() {
			buf := make([]byte, 512)
			nc.SetDeadline(time.Now().Add(30 * time.Second))
			for range logins {
				for _, step := range []struct {
					line string
					want int
				}{
					{"USER " + ftptest.User, ftp.StatusNeedPassword},
					{"PASS " + ftptest.Password, ftp.StatusLoggedIn},
					{"REIN", ftp.StatusServiceReady},
				} {
					if code, err := rawCmd(nc, buf, step.line); err != nil || code != step.want {
						errs[w] = fmt.Errorf("%q: %d, %w", step.line, code, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start), errors.Join(errs...)
}

// BenchmarkLogins logs in with 8 concurrent clients, beside the same load
// on refServer, which accepts any USER and PASS without a look. A login
// is a new connection: greeting, USER, PASS, QUIT. Target: >= 4,000
// logins/s. rein-logins/s counts logins on open connections (USER, PASS,
// REIN), the protocol work alone.
func BenchmarkLogins(b *testing.B) {
	const workers, logins = 8, 100
	srv := ftptest.NewServer(b)
	ref := newRefServer(b, b.TempDir())
	var refTime, reinTime, refReinTime time.Duration
	for b.Loop() {
		if _, err := loginRound(srv.Addr, workers, logins); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		d, err := loginRound(ref.l.Addr().String(), workers, logins)
		if err != nil {
			b.Fatal(err)
		}
		refTime += d
		d, err = reinRound(srv.Addr, workers, logins)
		if err != nil {
			b.Fatal(err)
		}
		reinTime += d
		d, err = reinRound(ref.l.Addr().String(), workers, logins)
		if err != nil {
			b.Fatal(err)
		}
		refReinTime += d
		b.StartTimer()
	}
	n := float64(b.N * workers * logins)
	rate := n / b.Elapsed().Seconds()
	refRate := n / refTime.Seconds()
	b.ReportMetric(rate, "logins/s")
	b.ReportMetric(refRate, "ref-logins/s")
	b.ReportMetric(rate/refRate, "x-ref")
	b.ReportMetric(n/reinTime.Seconds(), "rein-logins/s")
	b.ReportMetric(n/refReinTime.Seconds(), "ref-rein-logins/s")
}
