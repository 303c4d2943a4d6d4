// Package e2etest supports the end-to-end tests of package ftp: test
// servers over a temporary host directory served with vfs/osfs, independent
// client programs (curl, lftp, Python's ftplib) run with a time limit, and
// the checks that a session leaves nothing behind (open descriptors,
// goroutines).
package e2etest

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp/ftptest"
	"github.com/ferryftp/ferry/vfs/osfs"
)

// Server is a test server whose tree is a temporary host directory.
type Server struct {
	*ftptest.Server
	Dir        string // the host directory served as "/"
	Host, Port string // of the control listener, Host without brackets
}

// NewServer starts an ftptest server over a new temporary directory served
// with osfs. opts are passed to ftptest.NewServer after the file system.
func NewServer(t testing.TB, opts ...ftptest.Option) *Server {
	t.Helper()
	return NewServerIn(t, t.TempDir(), opts...)
}

// NewServerIn is NewServer serving dir, which must exist.
func NewServerIn(t testing.TB, dir string, opts ...ftptest.Option) *Server {
	t.Helper()
	fsys, err := osfs.New(dir)
	if err != nil {
		t.Fatalf("e2etest: osfs: %v", err)
	}
	t.Cleanup(func() { fsys.Close() })
	srv := ftptest.NewServer(t, append([]ftptest.Option{ftptest.WithFS(fsys)}, opts...)...)
	host, port, err := net.SplitHostPort(srv.Addr)
	if err != nil {
		t.Fatalf("e2etest: address %q: %v", srv.Addr, err)
	}
	return &Server{Server: srv, Dir: dir, Host: host, Port: port}
}

// URL is the ftp:// URL of the served path p ("/" separated, unescaped),
// without credentials.
func (s *Server) URL(p string) string {
	u := url.URL{Scheme: "ftp", Host: s.Addr, Path: "/" + strings.TrimPrefix(p, "/")}
	return u.String()
}

// Path is the host path of the served name.
func (s *Server) Path(name string) string {
	return filepath.Join(s.Dir, filepath.FromSlash(name))
}

// WriteFile creates the served file name with data.
func (s *Server) WriteFile(t testing.TB, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(s.Path(name), data, 0o644); err != nil {
		t.Fatalf("e2etest: %v", err)
	}
}

// ReadFile returns the content of the served file name, nil if it does not
// exist.
func (s *Server) ReadFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(s.Path(name))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("e2etest: %v", err)
	}
	return b
}

// Exists reports whether the served name exists.
func (s *Server) Exists(name string) bool {
	_, err := os.Lstat(s.Path(name))
	return err == nil
}

// MemDir returns a new directory in memory (tmpfs at /dev/shm), removed
// when the test ends, or t.TempDir() where there is none. Benchmarks of the
// server use it to keep the disk's noise out of their numbers.
func MemDir(t testing.TB) string {
	t.Helper()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "ferry-bench-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}

// LookPath returns the path of the program name, or skips the test.
func LookPath(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed: %v (CI installs it)", name, err)
	}
	return p
}

// Result is the outcome of a client program.
type Result struct {
	Stdout, Stderr string
	Err            error // nil for exit status 0
}

// ExitCode is the program's exit status, -1 if it did not exit normally.
func (r Result) ExitCode() int {
	if r.Err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(r.Err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

func (r Result) String() string {
	return "error: " + errString(r.Err) + "\nstdout:\n" + r.Stdout + "\nstderr:\n" + r.Stderr
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// Run runs the program with args, its standard input empty, HOME set to a
// temporary directory (so no user configuration is read or written), and
// kills it after timeout.
func Run(t testing.TB, timeout time.Duration, env []string, prog string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "LC_ALL=C.UTF-8", "LANG=C.UTF-8")
	cmd.Env = append(cmd.Env, env...)
	cmd.Dir = home
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		err = errors.Join(err, errors.New("e2etest: killed after "+timeout.String()))
	}
	return Result{Stdout: stdout.String(), Stderr: stderr.String(), Err: err}
}

// Pattern returns n bytes that run through all 256 byte values, again and
// again, with the pass number mixed in so that a misplaced block shows.
func Pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i) ^ byte(i>>8)*7
	}
	return b
}

// HasIPv6 reports whether a TCP listener can be opened on [::1].
func HasIPv6() bool {
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// SkipWithoutIPv6 skips the test when ::1 is not available.
func SkipWithoutIPv6(t testing.TB) {
	t.Helper()
	if !HasIPv6() {
		t.Skip("::1 is not available on this machine")
	}
}

// OpenFDs is the number of descriptors this process holds open, -1 where
// /proc/self/fd cannot be read.
func OpenFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents) - 1 // the directory being read
}

// Eventually polls cond until it holds or timeout passes, and reports
// whether it held. It is for conditions no channel announces, such as
// descriptors and goroutines released by other goroutines.
func Eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		runtime.Gosched()
		time.Sleep(5 * time.Millisecond) // polling interval, not synchronisation
	}
}

// Goroutines returns the stacks of all goroutines, for failure messages.
func Goroutines() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

// DescribeFDs lists the descriptors this process holds and what they
// refer to, for failure messages.
func DescribeFDs() string {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, e := range ents {
		target, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		b.WriteString(e.Name() + " -> " + target + "\n")
	}
	return b.String()
}
