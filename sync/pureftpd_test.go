package sync_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/internal/e2etest"
	ferrysync "github.com/ferryftp/ferry/sync"
)

// pureFTPd is a Pure-FTPd server (Debian's pure-ftpd package), a server
// written elsewhere, started for one test on a random loopback port.
//
// Pure-FTPd must start as root: it chroots and takes the identity of its
// virtual user for each session. The test runs it directly when it is
// root, through "sudo -n" otherwise (CI runners have password-less sudo),
// and skips when neither works. It runs in the foreground (no -B), with
// one virtual user in a PureDB file (-l puredb:...), anonymous logins off
// (-E), no DNS look-ups (-H). The user's password hash is SHA-512 crypt
// from openssl, which checks in microseconds; pure-pw's own Argon2 hash
// takes seconds per login.
type pureFTPd struct {
	addr string
	home string // the user's chroot
}

const (
	pureUser     = "syncer"
	purePassword = "Sync-pass-1"
)

func lookSbin(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

func startPureFTPd(t *testing.T) *pureFTPd {
	t.Helper()
	bin, pw := lookSbin("pure-ftpd"), lookSbin("pure-pw")
	if bin == "" || pw == "" {
		t.Skip("pure-ftpd is not installed (apt-get install pure-ftpd): skipping the tests against an independent server")
	}
	var prefix []string
	if os.Getuid() != 0 {
		if exec.Command("sudo", "-n", "true").Run() != nil {
			t.Skip("pure-ftpd must start as root, and sudo -n is not available: skipping")
		}
		prefix = []string{"sudo", "-n"}
	}
	dir, err := os.MkdirTemp("", "ferry-pureftpd-")
	require.NoError(t, err, "temp dir")
	t.Cleanup(func() { os.RemoveAll(dir) })
	home := filepath.Join(dir, "home")
	require.NoError(t, os.MkdirAll(home, 0o777), "home")
	for _, d := range []string{dir, home} {
		require.NoError(t, os.Chmod(d, 0o777), "chmod %s", d)
	}
	// The virtual user is the test's own user, so that the test can
	// remove what the server writes; nobody when the test is root,
	// since Pure-FTPd refuses root sessions.
	uid, gid := os.Getuid(), os.Getgid()
	if uid == 0 {
		uid, gid = 65534, 65534
	}
	hash := cryptPassword(t, pw, dir)
	passwd := filepath.Join(dir, "pureftpd.passwd")
	line := fmt.Sprintf("%s:%s:%d:%d::%s/./::::::::::::\n", pureUser, hash, uid, gid, home)
	require.NoError(t, os.WriteFile(passwd, []byte(line), 0o600), "passwd file")
	db := filepath.Join(dir, "pureftpd.pdb")
	if out, err := exec.Command(pw, "mkdb", db, "-f", passwd).CombinedOutput(); err != nil {
		t.Fatalf("pure-pw mkdb: %v\n%s", err, out)
	}
	os.Chmod(db, 0o644)

	port := freePort(t)
	args := append(prefix, bin, "-S", "127.0.0.1,"+port, "-l", "puredb:"+db, "-E", "-H", "-A", "-p", "30000:50000")
	cmd := exec.Command(args[0], args[1:]...)
	out := new(lockedBuffer)
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start(), "start pure-ftpd")
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	addr := "127.0.0.1:" + port
	up := e2etest.Eventually(10*time.Second, func() bool {
		select {
		case <-exited:
			return true
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	select {
	case <-exited:
		t.Fatalf("pure-ftpd exited: %s", out.String())
	default:
	}
	require.True(t, up, "pure-ftpd listens on %s: %s", addr, out.String())
	return &pureFTPd{addr: addr, home: home}
}

// cryptPassword returns a crypt(3) hash of purePassword: SHA-512 crypt
// from openssl, or pure-pw's slower default when openssl is missing.
func cryptPassword(t *testing.T, pw, dir string) string {
	salt := make([]byte, 6)
	rand.Read(salt)
	if out, err := exec.Command("openssl", "passwd", "-6", "-salt", hex.EncodeToString(salt), purePassword).Output(); err == nil {
		return strings.TrimSpace(string(out))
	}
	f := filepath.Join(dir, "pw.tmp")
	cmd := exec.Command(pw, "useradd", pureUser, "-u", "65534", "-d", dir, "-f", f)
	cmd.Stdin = strings.NewReader(purePassword + "\n" + purePassword + "\n")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "pure-pw useradd: %s", out)
	b, err := os.ReadFile(f)
	require.NoError(t, err, "pure-pw output")
	fields := strings.Split(string(b), ":")
	require.Greater(t, len(fields), 2, "pure-pw line %q", b)
	return fields[1]
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu  gosync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err, "free port")
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// place is the folder sub of the user's home.
func (p *pureFTPd) place(t *testing.T, sub string) place {
	dir := filepath.Join(p.home, sub)
	require.NoError(t, os.MkdirAll(dir, 0o777), "mkdir %s", dir)
	require.NoError(t, os.Chmod(dir, 0o777), "chmod %s", dir)
	return place{kind: "pure-ftpd", dir: dir, loc: ferrysync.FTPLocation{
		Addr: p.addr, User: pureUser, Password: purePassword, Dir: "/" + sub, Timeout: 20 * time.Second,
	}}
}

// TestPureFTPd runs the scenarios of every mode, and interrupted runs,
// against Pure-FTPd: as source, as destination, and on both sides.
func TestPureFTPd(t *testing.T) {
	t.Parallel()
	srv := startPureFTPd(t)
	n := 0
	places := map[string]func(t *testing.T) (place, place){
		"local-pure": func(t *testing.T) (place, place) { n++; return localPlace(t), srv.place(t, fmt.Sprint("d", n)) },
		"pure-local": func(t *testing.T) (place, place) { n++; return srv.place(t, fmt.Sprint("s", n)), localPlace(t) },
		"pure-pure": func(t *testing.T) (place, place) {
			n++
			return srv.place(t, fmt.Sprint("s", n)), srv.place(t, fmt.Sprint("d", n))
		},
	}
	for _, sc := range []struct {
		name string
		fn   func(t *testing.T, src, dst place)
	}{
		{"one-way", scenarioOneWay},
		{"clone", scenarioClone},
		{"two-way", scenarioTwoWay},
		{"interrupted", scenarioInterrupted},
		{"noop", scenarioNoop},
	} {
		for _, pn := range []string{"local-pure", "pure-local", "pure-pure"} {
			t.Run(sc.name+"/"+pn, func(t *testing.T) {
				src, dst := places[pn](t)
				sc.fn(t, src, dst)
			})
		}
	}
}
