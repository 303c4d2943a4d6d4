package ftp_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	goftp "github.com/jlaffaye/ftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftp/ftptest"
	"github.com/ferryftp/ferry/internal/e2etest"
)

// The end-to-end tests of this package run the server over loopback with
// osfs on a temporary directory, against independent clients: curl
// (e2e_curl_test.go), lftp (e2e_lftp_test.go), Python's ftplib
// (e2e_python_test.go) and github.com/jlaffaye/ftp (e2e_goclient_test.go).
// This file holds the tests of size, concurrency and failure.

const (
	e2eGiB = int64(1) << 30
	e2eMiB = int64(1) << 20
)

// e2eSparse makes the served file name size bytes long without using disk
// (a hole), with marker written at its very end.
func e2eSparse(t *testing.T, srv *e2etest.Server, name string, size int64, marker []byte) {
	t.Helper()
	f, err := os.Create(srv.Path(name))
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, f.Truncate(size), "sparse file of %d bytes", size)
	if len(marker) > 0 {
		_, err = f.WriteAt(marker, size-int64(len(marker)))
		require.NoError(t, err, "marker at the end")
	}
}

// TestLargeFileOffsets resumes transfers of a 3 GiB file at offsets past
// 2 GiB and 4 GiB, where 32-bit offsets would wrap (RFC 3659 section 5:
// REST takes any decimal marker). The file is sparse, so it takes no disk
// and only the last few MiB cross the network.
func TestLargeFileOffsets(t *testing.T) {
	t.Parallel()
	srv := e2etest.NewServer(t)
	const size = 3 * e2eGiB
	marker := []byte("the end of a three gibibyte file\n")
	e2eSparse(t, srv, "big.bin", size, marker)
	sizeText := strconv.FormatInt(size, 10)

	t.Run("raw", func(t *testing.T) {
		c := ftptest.Dial(t, srv.Addr)
		c.Login()
		c.Cmd("TYPE I")
		code, text := c.Cmd("SIZE big.bin")
		assert.Equal(t, ftp.StatusFile, code, "SIZE: %s", text)
		assert.Equal(t, sizeText, text, "SIZE of a 3 GiB file")

		// REST 2.5 GiB: read the first MiB from there, then hang up.
		dc := c.Passive()
		code, text = c.Cmd("REST " + strconv.FormatInt(size-size/6, 10))
		require.Equal(t, ftp.StatusFileActionPending, code, "REST past 2 GiB: %s", text)
		code, text = c.Cmd("RETR big.bin")
		require.Equal(t, ftp.StatusFileStatusOK, code, "RETR: %s", text)
		assert.Contains(t, text, "("+strconv.FormatInt(size/6, 10)+" bytes)", "150 names the bytes to come")
		buf := make([]byte, e2eMiB)
		dc.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := io.ReadFull(dc, buf)
		require.NoError(t, err, "first MiB after REST")
		assert.Equal(t, make([]byte, e2eMiB), buf, "the hole reads as zeros")
		dc.Close()
		code, text = c.Read()
		assert.Contains(t, []int{ftp.StatusTransferAborted, ftp.StatusClosingDataConnection}, code,
			"a closed data connection ends the transfer: %d %s", code, text)

		// The last 4 MiB, marker included.
		dc = c.Passive()
		c.Cmd("REST " + strconv.FormatInt(size-4*e2eMiB, 10))
		code, text = c.Cmd("RETR big.bin")
		require.Equal(t, ftp.StatusFileStatusOK, code, "RETR: %s", text)
		dc.SetReadDeadline(time.Now().Add(20 * time.Second))
		tail, err := io.ReadAll(dc)
		require.NoError(t, err, "tail")
		code, text = c.Read()
		assert.Equal(t, ftp.StatusClosingDataConnection, code, "226 after the tail: %s", text)
		require.Len(t, tail, int(4*e2eMiB), "tail length")
		assert.True(t, bytes.HasSuffix(tail, marker), "the tail ends with the marker")

		// REST beyond the end is refused.
		c.Passive()
		c.Cmd("REST " + strconv.FormatInt(size+1, 10))
		code, _ = c.Cmd("RETR big.bin")
		assert.Equal(t, ftp.StatusFileUnavailable, code, "RETR from beyond the end")
	})

	t.Run("curl", func(t *testing.T) {
		prog := e2etest.LookPath(t, "curl")
		out := filepath.Join(t.TempDir(), "tail.bin")
		off := size - 3*e2eMiB
		r := e2etest.Run(t, 30*time.Second, nil, prog, "--silent", "--show-error", "--max-time", "20",
			"--user", ftptest.User+":"+ftptest.Password,
			"--continue-at", strconv.FormatInt(off, 10), "--output", out, srv.URL("big.bin"))
		require.NoError(t, r.Err, "curl --continue-at %d\n%s", off, r)
		got, err := os.ReadFile(out)
		require.NoError(t, err)
		assert.Equal(t, int(3*e2eMiB), len(got), "curl received the last 3 MiB")
		assert.True(t, bytes.HasSuffix(got, marker), "the tail ends with the marker")
	})

	t.Run("jlaffaye", func(t *testing.T) {
		c := e2eDialGo(t, srv.Addr)
		n, err := c.FileSize("big.bin")
		require.NoError(t, err, "SIZE")
		assert.Equal(t, size, n, "SIZE")
		r, err := c.RetrFrom("big.bin", uint64(size-2*e2eMiB))
		require.NoError(t, err, "RETR from 3 GiB - 2 MiB")
		got, err := io.ReadAll(r)
		require.NoError(t, err)
		require.NoError(t, r.Close(), "226")
		assert.Equal(t, int(2*e2eMiB), len(got), "the last 2 MiB")
		assert.True(t, bytes.HasSuffix(got, marker), "the tail ends with the marker")

		entries, err := c.List("/")
		require.NoError(t, err, "MLSD")
		found := false
		for _, e := range entries {
			if e.Name == "big.bin" {
				found = true
				assert.Equal(t, uint64(size), e.Size, "MLSD size fact of a 3 GiB file")
			}
		}
		assert.True(t, found, "MLSD lists big.bin")
	})

	// REST then STOR past 4 GiB (RFC 3659 section 5.5): the server keeps
	// the file up to the offset and writes from there.
	t.Run("stor-past-4GiB", func(t *testing.T) {
		e2eSparse(t, srv, "huge.bin", 5*e2eGiB, nil)
		off := 4*e2eGiB + e2eGiB/2 + 7
		c := e2eDialGo(t, srv.Addr)
		require.NoError(t, c.StorFrom("huge.bin", bytes.NewReader(marker), uint64(off)), "REST+STOR past 4 GiB")
		fi, err := os.Stat(srv.Path("huge.bin"))
		require.NoError(t, err)
		assert.Equal(t, off+int64(len(marker)), fi.Size(), "size after REST+STOR")
		f, err := os.Open(srv.Path("huge.bin"))
		require.NoError(t, err)
		defer f.Close()
		got := make([]byte, len(marker)+8)
		_, err = f.ReadAt(got, off-8)
		require.NoError(t, err)
		assert.Equal(t, append(make([]byte, 8), marker...), got, "bytes around the offset")
		n, err := c.FileSize("huge.bin")
		require.NoError(t, err, "SIZE")
		assert.Equal(t, off+int64(len(marker)), n, "SIZE after REST+STOR")
	})
}

// TestConcurrentSessions runs 200 sessions at once, each storing and
// retrieving its own file.
func TestConcurrentSessions(t *testing.T) {
	t.Parallel()
	const sessions = 200
	srv := e2etest.NewServer(t)
	var loggedIn, done sync.WaitGroup
	loggedIn.Add(sessions)
	errs := make(chan error, sessions)
	for i := range sessions {
		done.Add(1)
		go func() {
			defer done.Done()
			errs <- e2eSession(i, srv.Addr, &loggedIn)
		}()
	}
	done.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err, "session")
	}
	for i := range sessions {
		assert.Equal(t, e2eSessionData(i), srv.ReadFile(t, fmt.Sprintf("s%03d.bin", i)), "file of session %d on disk", i)
	}
}

func e2eSessionData(i int) []byte {
	return append([]byte(fmt.Sprintf("session %d\n", i)), e2etest.Pattern(16<<10+i)...)
}

// session logs in, waits until every session has, then stores, lists and
// retrieves its file.
func e2eSession(i int, addr string, loggedIn *sync.WaitGroup) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("session %d: %w", i, err)
		}
	}()
	c, err := goftp.Dial(addr, goftp.DialWithTimeout(20*time.Second))
	if err != nil {
		loggedIn.Done()
		return err
	}
	defer c.Quit()
	err = c.Login(ftptest.User, ftptest.Password)
	loggedIn.Done()
	if err != nil {
		return err
	}
	loggedIn.Wait() // all sessions are open at once from here on
	name := fmt.Sprintf("s%03d.bin", i)
	data := e2eSessionData(i)
	if err := c.Stor(name, bytes.NewReader(data)); err != nil {
		return err
	}
	r, err := c.Retr(name)
	if err != nil {
		return err
	}
	got, err := io.ReadAll(r)
	if cerr := r.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if !bytes.Equal(got, data) {
		return fmt.Errorf("retrieved %d bytes differ from the %d stored", len(got), len(data))
	}
	return nil
}

// TestClientVanishes drops the control and data connections in the middle
// of transfers. The server must let go of every descriptor and goroutine of
// the session and keep serving others. It does not run in parallel, so
// that the counts are this test's alone.
func TestClientVanishes(t *testing.T) {
	if e2etest.OpenFDs() < 0 {
		t.Skip("/proc/self/fd is not readable")
	}
	srv := e2etest.NewServer(t)
	e2eSparse(t, srv, "big.bin", e2eGiB, nil)
	srv.WriteFile(t, "small.txt", []byte("still here\n"))

	// Warm up: a first session starts what lives on (the runtime's
	// network poller, timers), so the baseline is taken after it.
	e2eProbe(t, srv)
	fds, goroutines := e2etest.OpenFDs(), runtime.NumGoroutine()
	fdsBefore := e2etest.DescribeFDs()

	t.Run("RETR", func(t *testing.T) {
		c := ftptest.Dial(t, srv.Addr)
		c.Login()
		c.Cmd("TYPE I")
		dc := c.Passive()
		code, text := c.Cmd("RETR big.bin")
		require.Equal(t, ftp.StatusFileStatusOK, code, "RETR: %s", text)
		dc.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := io.ReadFull(dc, make([]byte, 256<<10))
		require.NoError(t, err, "the transfer runs")
		// The server now blocks writing a file far larger than the
		// socket buffers. Vanish without QUIT or ABOR.
		dc.Close()
		c.NetConn().Close()
	})
	t.Run("RETR-control-only", func(t *testing.T) {
		c := ftptest.Dial(t, srv.Addr)
		c.Login()
		c.Cmd("TYPE I")
		dc := c.Passive()
		code, text := c.Cmd("RETR big.bin")
		require.Equal(t, ftp.StatusFileStatusOK, code, "RETR: %s", text)
		// The data connection stays open but unread, the server
		// blocked writing to it; only the control connection goes.
		c.NetConn().Close()
		dc.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := io.Copy(io.Discard, dc)
		if err != nil {
			assert.NotErrorIs(t, err, os.ErrDeadlineExceeded, "the server closes the data connection")
		}
		assert.Less(t, n, e2eGiB, "the transfer stopped with the control connection")
	})
	t.Run("STOR", func(t *testing.T) {
		c := ftptest.Dial(t, srv.Addr)
		c.Login()
		c.Cmd("TYPE I")
		dc := c.Passive()
		code, text := c.Cmd("STOR upload.bin")
		require.Equal(t, ftp.StatusFileStatusOK, code, "STOR: %s", text)
		_, err := dc.Write(e2etest.Pattern(256 << 10))
		require.NoError(t, err)
		// Vanish with the data connection reset, not closed cleanly.
		if tc, ok := dc.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.NetConn().Close()
		dc.Close()
	})
	t.Run("EPSV-unused", func(t *testing.T) {
		// A passive listener prepared, connected to, and never used
		// by a transfer command.
		c := ftptest.Dial(t, srv.Addr)
		c.Login()
		c.Passive()
		c.NetConn().Close()
	})

	released := e2etest.Eventually(10*time.Second, func() bool {
		// A splice from a socket to a file keeps its pipe in a
		// sync.Pool that only a collection empties.
		runtime.GC()
		return e2etest.OpenFDs() <= fds && runtime.NumGoroutine() <= goroutines
	})
	assert.True(t, released, "descriptors %d (baseline %d) and goroutines %d (baseline %d) are released\n"+
		"descriptors before:\n%s\ndescriptors after:\n%s\n%s",
		e2etest.OpenFDs(), fds, runtime.NumGoroutine(), goroutines, fdsBefore, e2etest.DescribeFDs(), e2etest.Goroutines())
	e2eProbe(t, srv)
}

// e2eProbe checks that the server serves: login, a passive RETR, QUIT.
func e2eProbe(t *testing.T, srv *e2etest.Server) {
	t.Helper()
	c := ftptest.Dial(t, srv.Addr)
	c.Login()
	dc := c.Passive()
	code, text := c.Cmd("RETR small.txt")
	require.Equal(t, ftp.StatusFileStatusOK, code, "RETR: %s", text)
	dc.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(dc)
	require.NoError(t, err)
	assert.Equal(t, "still here\r\n", string(got), "the file in TYPE A")
	code, text = c.Read()
	assert.Equal(t, ftp.StatusClosingDataConnection, code, "226: %s", text)
	code, _ = c.Cmd("QUIT")
	assert.Equal(t, ftp.StatusClosing, code, "QUIT")
	dc.Close()
	c.NetConn().Close()
}
