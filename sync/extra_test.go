package sync_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftp/ftptest"
	"github.com/ferryftp/ferry/internal/e2etest"
	ferrysync "github.com/ferryftp/ferry/sync"
)

// selfSigned returns a server certificate for 127.0.0.1 and a pool that
// trusts it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err, "key")
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ferry sync test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err, "certificate")
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err, "parse")
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

// TestFTPSLocation mirrors to a server that requires TLS on the control
// and data connections, and session resumption on the latter.
func TestFTPSLocation(t *testing.T) {
	t.Parallel()
	cert, pool := selfSigned(t)
	srv := e2etest.NewServer(t, ftptest.WithServer(func(s *ftp.Server) {
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		s.RequireTLS, s.RequireDataTLS = true, true
	}))
	src := localPlace(t)
	write(t, src.dir, sourceTree)
	dstDir := filepath.Join(srv.Dir, "tls")
	loc := ferrysync.FTPLocation{Addr: srv.Addr, User: ftptest.User, Password: ftptest.Password, Dir: "/tls",
		TLS: &tls.Config{RootCAs: pool}}
	assert.Contains(t, loc.String(), "ftpes://user@127.0.0.1:", "the location says TLS")
	it := ferrysync.Item{Name: "tls", Source: src.loc, Dest: loc, Mode: ferrysync.Clone, Recursive: true}
	sum, log := mustRun(t, it)
	assert.Equal(t, 4, sum.Files, "copied over FTPS\n%s", log)
	assert.Equal(t, read(t, src.dir), read(t, dstDir), "the destination directory was created and filled")

	plain := it
	l := loc
	l.TLS = nil
	plain.Dest = l
	_, err, _ := runItem(t, plain)
	assert.Error(t, err, "without TLS the server refuses the login")

	wrongCA := it
	l = loc
	l.TLS = &tls.Config{}
	wrongCA.Dest = l
	_, err, _ = runItem(t, wrongCA)
	assert.Error(t, err, "a certificate the client does not trust")
}

// TestSymlinks: links inside the tree are followed, links that lead out of
// it are left alone, and deleting a link never deletes what it points to.
func TestSymlinks(t *testing.T) {
	t.Parallel()
	outside := t.TempDir()
	write(t, outside, tree{"secret.txt": "outside", "keep/k.txt": "kept"})
	src, dst := localPlace(t), localPlace(t)
	write(t, src.dir, tree{"real/a.txt": "a", "file.txt": "f"})
	require.NoError(t, os.Symlink("file.txt", filepath.Join(src.dir, "link.txt")), "link to a file inside")
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(src.dir, "escape.txt")), "link outside")
	// On the destination, an extra link to a folder outside.
	require.NoError(t, os.Symlink(filepath.Join(outside, "keep"), filepath.Join(dst.dir, "extra-link")), "extra link")

	sum, log := mustRun(t, item("links", ferrysync.Clone, src, dst))
	got := read(t, dst.dir)
	assert.Equal(t, "f", got["link.txt"], "a link inside is copied as the file it names\n%s", log)
	assert.NotContains(t, got, "escape.txt", "a link that leaves the tree is not followed")
	assert.Contains(t, log, "skip escape.txt", "and the skip is logged")
	_, err := os.Lstat(filepath.Join(dst.dir, "extra-link"))
	assert.ErrorIs(t, err, os.ErrNotExist, "the extra link is deleted")
	assert.Equal(t, tree{"secret.txt": "outside", "keep/k.txt": "kept"}, read(t, outside), "nothing outside is touched")
	assert.Equal(t, 1, sum.Deleted, "one deletion: the link")
}

// noResume is a destination that cannot write from an offset, as a server
// without REST STREAM.
type noResume struct{ ferrysync.Endpoint }

func (n noResume) Write(ctx context.Context, name string, off int64, r io.Reader) (int64, error) {
	if off > 0 {
		return 0, &ftp.Error{Code: ftp.StatusNotImplemented, Msg: "REST is not supported by this server."}
	}
	return n.Endpoint.Write(ctx, name, off, r)
}

// TestResumeRefused: where a part cannot be resumed, the copy starts over.
func TestResumeRefused(t *testing.T) {
	t.Parallel()
	src, dst := localPlace(t), localPlace(t)
	payload := e2etest.Pattern(10 << 20)
	writeAt(t, src.dir, "big.bin", string(payload), base)
	it := item("noresume", ferrysync.OneWay, src, dst)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cut := it
	cut.Dest = wrapLoc{dst.loc, func(ep ferrysync.Endpoint) ferrysync.Endpoint {
		return &cancelAfter{Endpoint: ep, cancel: cancel, limit: 1 << 20}
	}}
	_, err := ferrysync.Run(ctx, cut, nil)
	require.ErrorIs(t, err, context.Canceled, "interrupted")
	require.Len(t, temps(t, dst.dir), 1, "a part is left")

	it.Dest = wrapLoc{dst.loc, func(ep ferrysync.Endpoint) ferrysync.Endpoint { return noResume{ep} }}
	sum, log := mustRun(t, it)
	assert.Contains(t, log, "cannot resume", "the refusal is logged")
	assert.Equal(t, int64(len(payload)), sum.Bytes, "the whole file is copied again")
	assert.Equal(t, string(payload), read(t, dst.dir)["big.bin"], "complete")
	noTemps(t, dst.dir)
}
