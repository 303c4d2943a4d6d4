package ftp_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferryftp/ferry/acl"
	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftp/ftptest"
	"github.com/ferryftp/ferry/internal/e2etest"
)

// The cost of path permissions: the same commands in two sessions over the
// same tree, one with a policy of 50 entries as its Authorizer, one with
// none. Each b.Loop iteration runs the command with the policy (timed) and
// without (timer stopped), in alternating order, so ns/op is the
// session with permissions and noacl-ns/op the one without; overhead-% is
// their difference. Target: < 10%. The numbers are in docs/accounts.md.

// aclBenchEntries returns 50 permission entries: the home, the default,
// the directories the benchmarks use and 45 others.
func aclBenchEntries() []acl.Permission {
	perms := []acl.Permission{
		{Path: "/", Rights: acl.All, Recursive: true},
		{Path: "*", Rights: acl.ReadOnly},
		{Path: "big/", Rights: acl.ReadOnly | acl.Put, Recursive: true},
		{Path: "up/", Rights: acl.ReadOnly, Recursive: true},
		// STOR in up/a/b/ finds this entry two levels up.
		{Path: "up/a/", Rights: acl.All, Recursive: true},
	}
	for i := range 45 {
		perms = append(perms, acl.Permission{
			Path:      fmt.Sprintf("area%02d/sub%d/", i, i%7),
			Rights:    acl.ReadOnly | acl.Right(1<<(i%9)),
			Recursive: i%2 == 0,
		})
	}
	return perms
}

// aclBenchServer serves dir to two users over the same site: "acl" with
// the 50 entries as its Authorizer, "plain" with no Authorizer.
func aclBenchServer(b *testing.B, dir string) *ftptest.Server {
	b.Helper()
	hash, err := acl.HashPasswordIter("pw", 1000)
	if err != nil {
		b.Fatal(err)
	}
	site, err := acl.NewSite(acl.SiteConfig{Home: dir, Users: []acl.User{
		{Name: "acl", Password: hash, Permissions: aclBenchEntries()},
		{Name: "plain", Password: hash, Permissions: aclBenchEntries()},
	}})
	if err != nil {
		b.Fatal(err)
	}
	sa := ftp.NewSiteAuthenticator(site)
	return ftptest.NewServer(b, ftptest.WithServer(func(s *ftp.Server) {
		s.Auth = ftp.AuthenticatorFunc(func(ctx context.Context, li *ftp.LoginInfo) (*ftp.User, error) {
			u, err := sa.Login(ctx, li)
			if err == nil && li.User == "plain" {
				u.Authorizer = nil
			}
			return u, err
		})
	}))
}

// aclBenchConn is a minimal client that returns errors, for benchmarks.
type aclBenchConn struct {
	nc net.Conn
	br *bufio.Reader
}

func aclBenchLogin(b *testing.B, addr, user string) *aclBenchConn {
	b.Helper()
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { nc.Close() })
	c := &aclBenchConn{nc: nc, br: bufio.NewReader(nc)}
	for _, step := range []struct {
		line string
		want int
	}{{"", ftp.StatusServiceReady}, {"USER " + user, ftp.StatusNeedPassword}, {"PASS pw", ftp.StatusLoggedIn}, {"TYPE I", ftp.StatusOK}} {
		if step.line != "" {
			if err := c.send(step.line); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := c.expect(step.want); err != nil {
			b.Fatalf("%s: %v", step.line, err)
		}
	}
	return c
}

func (c *aclBenchConn) send(line string) error {
	c.nc.SetWriteDeadline(time.Now().Add(30 * time.Second))
	_, err := io.WriteString(c.nc, line+"\r\n")
	return err
}

// expect reads a reply (the last line of a multi-line one) and checks its
// code.
func (c *aclBenchConn) expect(want int) (string, error) {
	c.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		line, err := c.br.ReadString('\n')
		if err != nil {
			return "", err
		}
		if len(line) < 4 || line[3] != ' ' {
			continue
		}
		code, err := strconv.Atoi(line[:3])
		if err != nil {
			continue
		}
		if code != want {
			return "", fmt.Errorf("reply %q, want %d", strings.TrimSpace(line), want)
		}
		return line[4:], nil
	}
}

func (c *aclBenchConn) epsv() (net.Conn, error) {
	if err := c.send("EPSV"); err != nil {
		return nil, err
	}
	text, err := c.expect(ftp.StatusExtendedPassiveMode)
	if err != nil {
		return nil, err
	}
	i, j := strings.Index(text, "(|||"), strings.LastIndex(text, "|)")
	if i < 0 || j < i {
		return nil, fmt.Errorf("EPSV reply %q", text)
	}
	host, _, _ := net.SplitHostPort(c.nc.RemoteAddr().String())
	return net.DialTimeout("tcp", net.JoinHostPort(host, text[i+4:j]), 10*time.Second)
}

// transfer runs line over a new data connection, sending up when it is
// not nil and reading into buf otherwise; it returns the bytes read.
func (c *aclBenchConn) transfer(line string, up, buf []byte) (int64, error) {
	dc, err := c.epsv()
	if err != nil {
		return 0, err
	}
	defer dc.Close()
	if err := c.send(line); err != nil {
		return 0, err
	}
	if _, err := c.expect(ftp.StatusFileStatusOK); err != nil {
		return 0, err
	}
	var n int64
	dc.SetDeadline(time.Now().Add(30 * time.Second))
	if up != nil {
		if _, err := dc.Write(up); err != nil {
			return 0, err
		}
		dc.Close()
	} else {
		for {
			m, err := dc.Read(buf)
			n += int64(m)
			if err == io.EOF {
				break
			}
			if err != nil {
				return n, err
			}
		}
	}
	_, err = c.expect(ftp.StatusClosingDataConnection)
	return n, err
}

// aclBenchPair runs op in the session with permissions (timed) and in the
// one without (timer stopped), alternating which goes first, and reports
// the other's time and the overhead.
func aclBenchPair(b *testing.B, op func(c *aclBenchConn, i int) error, withACL, plain *aclBenchConn) {
	var plainTime time.Duration
	reference := func(i int) {
		b.StopTimer()
		start := time.Now()
		if err := op(plain, i); err != nil {
			b.Fatalf("without permissions: %v", err)
		}
		plainTime += time.Since(start)
		b.StartTimer()
	}
	i := 0
	for b.Loop() {
		i++
		if i%2 == 0 {
			reference(i)
		}
		if err := op(withACL, i); err != nil {
			b.Fatalf("with permissions: %v", err)
		}
		if i%2 == 1 {
			reference(i)
		}
	}
	aclNs := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	plainNs := float64(plainTime.Nanoseconds()) / float64(b.N)
	b.ReportMetric(plainNs, "noacl-ns/op")
	b.ReportMetric((aclNs-plainNs)/plainNs*100, "overhead-%")
}

// BenchmarkACLList10k lists a directory of 10,000 files (LIST, in ls -l
// form), with and without a 50-entry policy.
func BenchmarkACLList10k(b *testing.B) {
	const entries = 10_000
	dir := e2etest.MemDir(b)
	big := filepath.Join(dir, "big")
	if err := os.Mkdir(big, 0o755); err != nil {
		b.Fatal(err)
	}
	for i := range entries {
		if err := os.WriteFile(filepath.Join(big, "file-"+strconv.Itoa(i)+".dat"), nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	srv := aclBenchServer(b, dir)
	withACL, plain := aclBenchLogin(b, srv.Addr, "acl"), aclBenchLogin(b, srv.Addr, "plain")
	buf := make([]byte, 64<<10)
	aclBenchPair(b, func(c *aclBenchConn, _ int) error {
		n, err := c.transfer("LIST big", nil, buf)
		if err == nil && n < entries*40 {
			err = fmt.Errorf("listing of %d bytes for %d entries", n, entries)
		}
		return err
	}, withACL, plain)
}

// BenchmarkACLSmallSTOR stores 4 KiB files (over the 100 files of
// up/a/b/, so most replace a file: Put and Delete are checked), with and
// without a 50-entry policy.
func BenchmarkACLSmallSTOR(b *testing.B) {
	dir := e2etest.MemDir(b)
	if err := os.MkdirAll(filepath.Join(dir, "up", "a", "b"), 0o755); err != nil {
		b.Fatal(err)
	}
	srv := aclBenchServer(b, dir)
	withACL, plain := aclBenchLogin(b, srv.Addr, "acl"), aclBenchLogin(b, srv.Addr, "plain")
	data := e2etest.Pattern(4 << 10)
	b.SetBytes(int64(len(data)))
	aclBenchPair(b, func(c *aclBenchConn, i int) error {
		_, err := c.transfer("STOR up/a/b/f"+strconv.Itoa(i%100)+".dat", data, nil)
		return err
	}, withACL, plain)
}

// BenchmarkACLAuthorize is one check of a 50-entry policy for a directory
// that no entry names, found two ancestors up: the work the engine adds to
// a command.
func BenchmarkACLAuthorize(b *testing.B) {
	pol := acl.MustPolicy(aclBenchEntries())
	ctx := context.Background()
	for b.Loop() {
		if err := pol.Authorize(ctx, "up/a/b", acl.Put|acl.Delete); err != nil {
			b.Fatal(err)
		}
	}
}
