package ftp_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"io/fs"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftp/ftptest"
	"github.com/ferryftp/ferry/vfs"
)

// The FTPS throughput benchmarks move 1 GiB per operation under PROT P and,
// in the same run, the same bytes through a bare TLS connection over
// loopback in the same process: the engine's cost is the difference.
//
//	go test -run '^$' -bench 'FTPS' -benchtime 3x ./ftp/
//
// docs/performance-tls.md keeps the numbers.

const benchSize = 1 << 30

// benchPattern is the content of the benchmark's file, repeated.
var benchPattern = func() []byte {
	b := make([]byte, 256<<10)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}()

// benchFile reads benchSize bytes of benchPattern, or swallows writes, at
// the cost of a memory copy: the file system is not what is measured.
type benchFile struct {
	off  int64
	size int64
}

func (f *benchFile) Read(p []byte) (int, error) {
	if f.off >= f.size {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), f.size-f.off)]
	n := 0
	for n < len(p) {
		n += copy(p[n:], benchPattern[(f.off+int64(n))%int64(len(benchPattern)):])
	}
	f.off += int64(n)
	return n, nil
}

func (f *benchFile) Write(p []byte) (int, error) { f.off += int64(len(p)); return len(p), nil }

func (f *benchFile) Seek(offset int64, whence int) (int64, error) {
	if whence != io.SeekStart {
		return 0, errors.ErrUnsupported
	}
	f.off = offset
	return offset, nil
}

func (f *benchFile) Close() error               { return nil }
func (f *benchFile) Stat() (fs.FileInfo, error) { return benchInfo{f.size}, nil }

type benchInfo struct{ size int64 }

func (i benchInfo) Name() string       { return "big" }
func (i benchInfo) Size() int64        { return i.size }
func (i benchInfo) Mode() fs.FileMode  { return 0o644 }
func (i benchInfo) ModTime() time.Time { return time.Unix(0, 0) }
func (i benchInfo) IsDir() bool        { return false }
func (i benchInfo) Sys() any           { return nil }

// benchFS serves one file, "big", and takes uploads to any name.
type benchFS struct{}

func (benchFS) Stat(_ context.Context, name string) (fs.FileInfo, error) {
	if name == "." {
		return nil, fs.ErrPermission
	}
	return benchInfo{benchSize}, nil
}

func (benchFS) Open(context.Context, string) (vfs.File, error) {
	return &benchFile{size: benchSize}, nil
}

func (benchFS) ReadDir(context.Context, string) (vfs.DirReader, error) {
	return nil, vfs.ErrUnsupported
}

func (benchFS) OpenFile(context.Context, string, int, fs.FileMode) (vfs.File, error) {
	return &benchFile{}, nil
}

var _ vfs.OpenFileFS = benchFS{}

// benchDrain reads r to its end with the same buffer size as the engine.
func benchDrain(r io.Reader) (int64, error) {
	return io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, make([]byte, 256<<10))
}

func benchFeed(w io.Writer) (int64, error) {
	return io.CopyBuffer(struct{ io.Writer }{w}, &benchFile{size: benchSize}, make([]byte, 256<<10))
}

// BenchmarkFTPS pairs each transfer with a bare TLS copy of the same bytes
// in the same direction, alternating which goes first, so that both meet
// the same machine load; it reports both rates and their ratio.
func BenchmarkFTPS(b *testing.B) {
	b.Run("RETR", func(b *testing.B) { benchPaired(b, "RETR big", false) })
	b.Run("STOR", func(b *testing.B) { benchPaired(b, "STOR up", true) })
}

func benchPaired(b *testing.B, cmd string, upload bool) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	defer l.Close()
	c, cfg := benchSession(b)
	var raw, ftps time.Duration
	b.ResetTimer()
	for i := range b.N {
		if i%2 == 0 {
			raw += benchRawTLS(b, l, upload)
			ftps += benchTransfer(b, c, cfg, cmd, upload)
		} else {
			ftps += benchTransfer(b, c, cfg, cmd, upload)
			raw += benchRawTLS(b, l, upload)
		}
	}
	mbps := func(d time.Duration) float64 { return float64(b.N) * benchSize / 1e6 / d.Seconds() }
	b.ReportMetric(mbps(raw), "raw-MB/s")
	b.ReportMetric(mbps(ftps), "ftps-MB/s")
	b.ReportMetric(100*raw.Seconds()/ftps.Seconds(), "%-of-raw")
}

// benchRawTLS copies benchSize bytes over a loopback TLS connection with the
// test servers' certificate, from the server to the client or, for an
// upload, the other way round, and returns how long it took.
func benchRawTLS(b *testing.B, l net.Listener, upload bool) time.Duration {
	start := time.Now()
	errc := make(chan error, 1)
	go func() {
		nc, err := l.Accept()
		if err != nil {
			errc <- err
			return
		}
		tc := tls.Server(nc, ftpsServerConfig())
		defer tc.Close()
		if upload {
			_, err = benchDrain(tc)
		} else if _, err = benchFeed(tc); err == nil {
			err = tc.CloseWrite()
		}
		errc <- err
	}()
	nc, err := net.Dial("tcp", l.Addr().String())
	require.NoError(b, err)
	tc := tls.Client(nc, ftpsClientConfig())
	defer tc.Close()
	var n int64
	if upload {
		if n, err = benchFeed(tc); err == nil {
			err = tc.CloseWrite()
		}
	} else {
		n, err = benchDrain(tc)
	}
	require.NoError(b, err)
	require.Equal(b, int64(benchSize), n)
	require.NoError(b, <-errc)
	return time.Since(start)
}

// benchSession opens an FTPS session under PROT P and TYPE I.
func benchSession(b *testing.B) (*ftptest.Conn, *tls.Config) {
	srv := newFTPS(b, ftptest.WithFS(benchFS{}))
	cfg := ftpsClientConfig()
	c := ftptest.Dial(b, srv.Addr)
	c.StartTLS(cfg)
	c.Login()
	for _, line := range []string{"PBSZ 0", "PROT P", "TYPE I"} {
		code, text := c.Cmd(line)
		require.Equal(b, ftp.StatusOK, code, "%s: %s", line, text)
	}
	return c, cfg
}

// benchTransfer runs cmd once over a passive data connection and returns
// how long it took, from EPSV to the 226 reply.
func benchTransfer(b *testing.B, c *ftptest.Conn, cfg *tls.Config, cmd string, upload bool) time.Duration {
	start := time.Now()
	dc := c.Passive()
	code, text := c.Cmd(cmd)
	require.Equal(b, ftp.StatusFileStatusOK, code, "%s: %s", cmd, text)
	tc := tls.Client(dc, cfg)
	defer tc.Close()
	var n int64
	var err error
	if upload {
		if n, err = benchFeed(tc); err == nil {
			err = tc.CloseWrite()
		}
		if err == nil {
			// The server closes once it has read everything.
			_, err = io.Copy(io.Discard, tc)
		}
	} else {
		n, err = benchDrain(tc)
	}
	require.NoError(b, err)
	require.Equal(b, int64(benchSize), n)
	require.True(b, tc.ConnectionState().DidResume, "the data connection resumed the session")
	code, text = c.Read()
	require.Equal(b, ftp.StatusClosingDataConnection, code, "%s: %s", cmd, text)
	return time.Since(start)
}
