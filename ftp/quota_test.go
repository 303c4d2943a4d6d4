package ftp

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/quota"
)

// readFromRecorder is a destination that implements io.ReaderFrom, as
// *net.TCPConn does, and records what io.Copy hands it: the kernel copy
// (sendfile) needs an *io.LimitedReader over an *os.File.
type readFromRecorder struct {
	srcs []io.Reader
	n    int64
}

func (r *readFromRecorder) Write(p []byte) (int, error) {
	r.n += int64(len(p))
	return len(p), nil
}

func (r *readFromRecorder) ReadFrom(src io.Reader) (int64, error) {
	r.srcs = append(r.srcs, src)
	n, err := io.Copy(struct{ io.Writer }{r}, src) // plain copy, no recursion
	return n, err
}

// TestCopyChunksUnlimitedQuotaKeepsKernelCopy: a user with a quota but no
// limit (zero Limits) copies in chunks of chunkSize, each handed to the
// destination's ReadFrom as an *io.LimitedReader over the *os.File, as
// without a quota: *net.TCPConn.ReadFrom then reaches sendfile.
func TestCopyChunksUnlimitedQuotaKeepsKernelCopy(t *testing.T) {
	const size = 2*chunkSize + 123
	name := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(name, make([]byte, size), 0o644))
	u := (&quota.Manager{}).User("u", quota.Limits{})
	for _, tc := range []struct {
		name string
		q    func() *quota.Transfer
	}{
		{"no quota", func() *quota.Transfer { return nil }},
		{"unlimited quota", func() *quota.Transfer {
			q, err := u.Begin(quota.Download, size)
			require.NoError(t, err)
			return q
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := os.Open(name)
			require.NoError(t, err)
			defer f.Close()
			tr := &transfer{q: tc.q()}
			assert.EqualValues(t, chunkSize, tr.budget(chunkSize), "an unlimited chunk is chunkSize")
			dst := &readFromRecorder{}
			require.NoError(t, copyChunks(context.Background(), tr, dst, f))
			assert.EqualValues(t, size, dst.n, "bytes copied")
			assert.EqualValues(t, size, tr.bytes.Load(), "progress")
			require.Len(t, dst.srcs, 3, "one ReadFrom per chunk")
			for i, src := range dst.srcs {
				lr, ok := src.(*io.LimitedReader)
				if assert.True(t, ok, "chunk %d: ReadFrom gets an *io.LimitedReader, got %T", i, src) {
					_, isFile := lr.R.(*os.File)
					assert.True(t, isFile, "chunk %d: over the *os.File, got %T", i, lr.R)
				}
			}
		})
	}
	assert.EqualValues(t, size, u.Status().Downloaded, "the unlimited quota counts")
}

// TestCopyStopsExactlyAtLimit: both copy loops stop an upload or download
// exactly at an amount limit, the byte read beyond it unwritten, and
// complete a transfer that ends exactly on it.
func TestCopyStopsExactlyAtLimit(t *testing.T) {
	const limit = 1000
	loops := map[string]func(ctx context.Context, t *transfer, dst io.Writer, src io.Reader) error{
		"copyChunks": copyChunks,
		"copyBuffered": func(ctx context.Context, t *transfer, dst io.Writer, src io.Reader) error {
			return copyBuffered(ctx, t, dst, src, false)
		},
	}
	for name, copyFn := range loops {
		for _, dir := range []quota.Direction{quota.Download, quota.Upload} {
			for _, size := range []int{limit - 1, limit, limit + 1, 3 * limit} {
				u := (&quota.Manager{}).User("u", quota.Limits{DownloadAmount: limit, UploadAmount: limit})
				q, err := u.Begin(dir, -1)
				require.NoError(t, err)
				tr := &transfer{q: q}
				var dst bytes.Buffer
				err = copyFn(context.Background(), tr, &dst, bytes.NewReader(make([]byte, size)))
				moved := min(size, limit)
				if size > limit {
					assert.ErrorIs(t, err, quota.ErrAmountExceeded, "%s, %v of %d bytes: stopped by the limit", name, dir, size)
				} else {
					assert.NoError(t, err, "%s, %v of %d bytes: within the limit", name, dir, size)
				}
				assert.Equal(t, moved, dst.Len(), "%s, %v of %d bytes: bytes written", name, dir, size)
				assert.EqualValues(t, moved, tr.bytes.Load(), "%s, %v of %d bytes: progress", name, dir, size)
				s := u.Status()
				assert.EqualValues(t, moved, s.Downloaded+s.Uploaded, "%s, %v of %d bytes: counted", name, dir, size)
			}
		}
	}
}

// TestPacedCopyChargesBytesMoved: a rate-limited copy charges the limiter
// the bytes it moves, not the chunks it asks for, so that small files and
// short reads do not use up a user's rate. On synctest's clock, the time
// is exact: files that fit in the burst move at once, and then the rate
// applies to the bytes.
func TestPacedCopyChargesBytesMoved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const rate = 1 << 20
		const burst = rate / 10 // the limiter's burst for this rate
		u := (&quota.Manager{}).User("u", quota.Limits{DownloadRate: rate, UploadRate: rate})
		for _, dir := range []quota.Direction{quota.Download, quota.Upload} {
			start := time.Now()
			copyFile := func(size int) {
				q, err := u.Begin(dir, int64(size))
				require.NoError(t, err)
				defer q.End()
				tr := &transfer{q: q}
				require.NoError(t, copyChunks(context.Background(), tr, io.Discard, bytes.NewReader(make([]byte, size))))
			}
			for range 50 {
				copyFile(1000)
			}
			assert.Zero(t, time.Since(start), "%v: 50 files of 1000 bytes fit in the burst", dir)
			copyFile(rate)
			want := time.Duration(rate-(burst-50*1000)) * time.Second / rate
			assert.InDelta(t, want, time.Since(start), float64(time.Millisecond),
				"%v: the burst left, then the rate, for the bytes moved", dir)
		}
	})
}

// TestAtLimitGoesOnWhenBudgetGrows: a download at its ratio balance goes
// on when an upload of the same user raises the balance meanwhile.
func TestAtLimitGoesOnWhenBudgetGrows(t *testing.T) {
	u := (&quota.Manager{}).User("u", quota.Limits{Ratio: 1, RatioCredit: 10})
	down, err := u.Begin(quota.Download, 10)
	require.NoError(t, err)
	tr := &transfer{q: down}
	// Once the balance is used up, the next read comes with an upload of
	// 5 bytes, which raises it by 5.
	rest := bytes.NewReader(make([]byte, 5))
	var uploaded sync.Once
	src := io.MultiReader(bytes.NewReader(make([]byte, 10)), quotaReaderFunc(func(p []byte) (int, error) {
		uploaded.Do(func() {
			up, err := u.Begin(quota.Upload, -1)
			require.NoError(t, err)
			require.NoError(t, up.Add(5))
			up.End()
		})
		return rest.Read(p)
	}))
	var dst bytes.Buffer
	err = copyChunks(context.Background(), tr, &dst, src)
	assert.NoError(t, err, "the upload made room for the rest")
	assert.Equal(t, 15, dst.Len(), "all the bytes moved")
	assert.EqualValues(t, 15, u.Status().Downloaded)
	assert.Zero(t, u.Status().Balance, "the balance is used up")
}

type quotaReaderFunc func(p []byte) (int, error)

func (f quotaReaderFunc) Read(p []byte) (int, error) { return f(p) }

// BenchmarkQuotaHooksPerChunk measures the quota work copyChunks does per
// chunk for a user with a quota and no limit: budget before the chunk,
// account after it. Divided by the time sendfile takes to move chunkSize
// bytes, it bounds what the hooks add to an unlimited transfer.
func BenchmarkQuotaHooksPerChunk(b *testing.B) {
	u := (&quota.Manager{}).User("u", quota.Limits{})
	q, err := u.Begin(quota.Download, -1)
	if err != nil {
		b.Fatal(err)
	}
	tr := &transfer{q: q}
	for b.Loop() {
		if tr.q.Limited() {
			b.Fatal("limited")
		}
		n := tr.budget(chunkSize)
		if err := tr.account(n); err != nil {
			b.Fatal(err)
		}
	}
}
