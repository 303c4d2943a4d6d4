package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	jftp "github.com/jlaffaye/ftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/ftp"
)

func TestSelfSignedCert(t *testing.T) {
	now := time.Now()
	cert, err := selfSignedCert([]string{"127.0.0.1:2121", "192.0.2.7:990", "ftp.example:21", ":21", "[::]:21"}, now)
	require.NoError(t, err)
	leaf := cert.Leaf
	require.NotNil(t, leaf)
	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	require.True(t, ok, "an ECDSA key")
	assert.Equal(t, elliptic.P256(), pub.Curve, "on P-256")
	for _, name := range []string{"localhost", "127.0.0.1", "::1", "192.0.2.7", "ftp.example"} {
		assert.NoError(t, leaf.VerifyHostname(name), "the certificate names %s", name)
	}
	assert.Len(t, leaf.IPAddresses, 3, "loopback addresses once, unspecified ones left out")
	assert.True(t, leaf.NotBefore.Before(now) && leaf.NotAfter.After(now.AddDate(0, 11, 0)), "valid now and for a year")
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	_, err = leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "localhost"})
	assert.NoError(t, err, "the certificate verifies as its own trust anchor")

	fp := certFingerprint(leaf)
	assert.Regexp(t, `^([0-9A-F]{2}:){31}[0-9A-F]{2}$`, fp, "fingerprint in the form of openssl x509 -fingerprint")
	sum := sha256.Sum256(leaf.Raw)
	assert.Equal(t, strings.ReplaceAll(fp, ":", ""), strings.ToUpper(hex.EncodeToString(sum[:])))
	assert.True(t, strings.HasPrefix(pubKeyPin(leaf), "sha256//"), "curl's pin form")
}

func TestTLSOptionErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	require.NoError(t, os.WriteFile(bad, []byte("not PEM"), 0o644))
	for name, o := range map[string]tlsOptions{
		"cert without key": {certFile: bad},
		"key without cert": {keyFile: bad},
		"unreadable pair":  {certFile: bad, keyFile: bad},
		"missing CA file":  {clientCA: filepath.Join(dir, "missing.pem")},
		"CA file not PEM":  {clientCA: bad},
	} {
		_, err := setupTLS(&ftp.Server{}, &o, "127.0.0.1:0", io.Discard)
		assert.Error(t, err, name)
	}
}

// testCA issues certificates for the daemon tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestCA(t *testing.T) *testCA {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &testCA{cert, key}
}

// issue returns a certificate for cn and the PEM of its chain and key.
func (ca *testCA) issue(t *testing.T, cn string, client bool) (tls.Certificate, []byte, []byte) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	certPEM := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw})...)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	return tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key}, certPEM, keyPEM
}

func (ca *testCA) pem() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw})
}

// lineWriter passes the daemon's output lines to the test.
type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines chan string
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(line)
			return len(p), nil
		}
		select {
		case w.lines <- strings.TrimSuffix(line, "\n"):
		default:
		}
	}
}

// flagDaemon is a ferryd run by a test with flags.
type flagDaemon struct {
	explicit, implicit string // addresses
	output             []string
}

// startDaemon runs ferryd with args plus -listen and -implicit-listen on
// loopback ports, until the test ends.
func startDaemon(t *testing.T, args ...string) *flagDaemon {
	t.Helper()
	root := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, "hello.txt"), []byte("hello over TLS"), 0o644))
	ctx, cancel := context.WithCancel(context.Background())
	out := &lineWriter{lines: make(chan string, 64)}
	done := make(chan error, 1)
	args = append([]string{"-listen", "127.0.0.1:0", "-implicit-listen", "127.0.0.1:0", "-root", root, "-user", "alice:secret"}, args...)
	go func() { done <- serve(ctx, args, out, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err, "ferryd stops cleanly")
		case <-time.After(10 * time.Second):
			t.Error("ferryd did not stop")
		}
	})
	d := &flagDaemon{}
	urlRE := regexp.MustCompile(`(ftps?)://(\S+)`)
	deadline := time.After(10 * time.Second)
	for d.explicit == "" || d.implicit == "" {
		select {
		case line := <-out.lines:
			d.output = append(d.output, line)
			if m := urlRE.FindStringSubmatch(line); m != nil {
				if m[1] == "ftp" {
					d.explicit = m[2]
				} else {
					d.implicit = m[2]
				}
			}
		case err := <-done:
			t.Fatalf("ferryd exited: %v\n%s", err, strings.Join(d.output, "\n"))
		case <-deadline:
			t.Fatalf("ferryd did not announce its addresses:\n%s", strings.Join(d.output, "\n"))
		}
	}
	return d
}

// dial logs in as alice with jlaffaye/ftp over explicit or implicit FTPS.
// Its data connections resume the control session through the cache,
// keyed by ServerName.
func (d *flagDaemon) dial(t *testing.T, implicit bool, cfg *tls.Config) (*jftp.ServerConn, error) {
	t.Helper()
	cfg.ServerName = "127.0.0.1"
	cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	opt, addr := jftp.DialWithExplicitTLS(cfg), d.explicit
	if implicit {
		opt, addr = jftp.DialWithTLS(cfg), d.implicit
	}
	c, err := jftp.Dial(addr, opt, jftp.DialWithTimeout(5*time.Second))
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Quit() })
	if err := c.Login("alice", "secret"); err != nil {
		return nil, err
	}
	return c, nil
}

func retrieve(t *testing.T, c *jftp.ServerConn, name string) string {
	t.Helper()
	r, err := c.Retr(name)
	require.NoError(t, err, "RETR %s", name)
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	require.NoError(t, r.Close())
	return string(b)
}

// TestDaemonDefaultTLS runs ferryd without TLS flags: explicit FTPS is
// offered with a generated certificate, whose printed fingerprint and pin
// match what the handshake presents; plain FTP still works.
func TestDaemonDefaultTLS(t *testing.T) {
	d := startDaemon(t)
	out := strings.Join(d.output, "\n")
	fp := regexp.MustCompile(`fingerprint ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})`).FindStringSubmatch(out)
	require.NotNil(t, fp, "the fingerprint is printed:\n%s", out)
	pin := regexp.MustCompile(`(sha256//\S+)`).FindStringSubmatch(out)
	require.NotNil(t, pin, "the public key pin is printed:\n%s", out)

	var seen *x509.Certificate
	cfg := &tls.Config{
		InsecureSkipVerify: true, // the fingerprint is checked instead
		VerifyConnection: func(cs tls.ConnectionState) error {
			seen = cs.PeerCertificates[0]
			return nil
		},
	}
	for _, implicit := range []bool{false, true} {
		c, err := d.dial(t, implicit, cfg.Clone())
		require.NoError(t, err, "FTPS login (implicit=%v)", implicit)
		assert.Equal(t, "hello over TLS", retrieve(t, c, "hello.txt"), "RETR under PROT P (implicit=%v)", implicit)
	}
	require.NotNil(t, seen)
	assert.Equal(t, fp[1], certFingerprint(seen), "the printed fingerprint is the presented certificate's")
	sum := sha256.Sum256(seen.RawSubjectPublicKeyInfo)
	assert.Equal(t, "sha256//"+base64.StdEncoding.EncodeToString(sum[:]), pin[1])
	assert.NoError(t, seen.VerifyHostname("127.0.0.1"))

	plain, err := jftp.Dial(d.explicit, jftp.DialWithTimeout(5*time.Second))
	require.NoError(t, err)
	defer plain.Quit()
	assert.NoError(t, plain.Login("alice", "secret"), "TLS is offered, not required, by default")
}

// TestDaemonTLSFlags runs ferryd with a certificate from files and
// -tls-required.
func TestDaemonTLSFlags(t *testing.T) {
	ca := newTestCA(t)
	_, certPEM, keyPEM := ca.issue(t, "ferry test server", false)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, certPEM, 0o644))
	require.NoError(t, os.WriteFile(keyFile, keyPEM, 0o600))
	d := startDaemon(t, "-tls-cert", certFile, "-tls-key", keyFile, "-tls-required")

	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	for _, implicit := range []bool{false, true} {
		c, err := d.dial(t, implicit, &tls.Config{RootCAs: roots})
		require.NoError(t, err, "FTPS login with a verified certificate (implicit=%v)", implicit)
		assert.Equal(t, "hello over TLS", retrieve(t, c, "hello.txt"))
	}

	plain, err := jftp.Dial(d.explicit, jftp.DialWithTimeout(5*time.Second))
	require.NoError(t, err)
	defer plain.Quit()
	err = plain.Login("alice", "secret")
	require.Error(t, err, "-tls-required refuses a plain-text login")
	assert.Contains(t, err.Error(), "AUTH TLS", "the refusal (530) tells what to do")
}

// TestDaemonClientCA runs ferryd with -tls-client-ca: a client must
// present a certificate issued by the CA.
func TestDaemonClientCA(t *testing.T) {
	ca := newTestCA(t)
	clientCert, _, _ := ca.issue(t, "alice", true)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile, ca.pem(), 0o644))
	d := startDaemon(t, "-tls-client-ca", caFile)

	c, err := d.dial(t, false, &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{clientCert}})
	require.NoError(t, err, "a login with a client certificate of the CA")
	assert.Equal(t, "hello over TLS", retrieve(t, c, "hello.txt"), "data connections with the client certificate")

	_, err = d.dial(t, false, &tls.Config{InsecureSkipVerify: true})
	assert.Error(t, err, "no client certificate: refused")
	other := newTestCA(t)
	otherCert, _, _ := other.issue(t, "mallory", true)
	_, err = d.dial(t, true, &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{otherCert}})
	assert.Error(t, err, "a client certificate of another CA: refused")

	plain, err := jftp.Dial(d.explicit, jftp.DialWithTimeout(5*time.Second))
	require.NoError(t, err)
	defer plain.Quit()
	assert.Error(t, plain.Login("alice", "secret"), "-tls-client-ca requires TLS for logins")
}
