package quota

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sizeScan(n int64) func(context.Context) (int64, error) {
	return func(context.Context) (int64, error) { return n, nil }
}

func TestDirSizesReserve(t *testing.T) {
	tests := []struct {
		name     string
		limit    int64
		scanned  int64
		reserve  []int64
		wantFull []bool
		wantUsed int64
	}{
		{name: "under", limit: 100, scanned: 10, reserve: []int64{50, 40}, wantFull: []bool{false, false}, wantUsed: 100},
		{name: "over", limit: 100, scanned: 10, reserve: []int64{50, 41, 40}, wantFull: []bool{false, true, false}, wantUsed: 100},
		{name: "already full", limit: 100, scanned: 150, reserve: []int64{1, 0}, wantFull: []bool{true, true}, wantUsed: 150},
		{name: "exactly full", limit: 100, scanned: 100, reserve: []int64{0, 1}, wantFull: []bool{false, true}, wantUsed: 100},
		{name: "negative counts 0", limit: 100, scanned: 10, reserve: []int64{-5}, wantFull: []bool{false}, wantUsed: 10},
		{name: "huge", limit: 100, scanned: 10, reserve: []int64{1 << 62}, wantFull: []bool{true}, wantUsed: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d DirSizes
			for i, n := range tt.reserve {
				err := d.Reserve(context.Background(), "pub", tt.limit, sizeScan(tt.scanned), n)
				if tt.wantFull[i] {
					assert.ErrorIs(t, err, ErrDirFull, "Reserve(%d) is over the limit", n)
				} else {
					assert.NoError(t, err, "Reserve(%d)", n)
				}
			}
			used, ok := d.Used("pub")
			assert.True(t, ok, "tracked")
			assert.Equal(t, tt.wantUsed, used, "Used")
		})
	}
}

func TestDirSizesMessage(t *testing.T) {
	var d DirSizes
	err := d.Reserve(context.Background(), "/srv/ftp/secret/", 1000, sizeScan(990), 20)
	assert.ErrorIs(t, err, ErrDirFull, "full")
	assert.EqualError(t, err, "maximum directory size of 1000 bytes reached (990 bytes used, 20 more needed)", "the text a client sees")
	assert.NotContains(t, err.Error(), "/srv", "no path in the text")
}

func TestDirSizesReleaseAndForget(t *testing.T) {
	var d DirSizes
	var scans atomic.Int32
	scan := func(context.Context) (int64, error) { scans.Add(1); return 500, nil }
	ctx := context.Background()

	d.Release("a", 10) // not tracked: nothing
	_, ok := d.Used("a")
	assert.False(t, ok, "not tracked before the first Reserve")

	require.NoError(t, d.Reserve(ctx, "a", 1000, scan, 400), "Reserve")
	assert.ErrorIs(t, d.Reserve(ctx, "a", 1000, scan, 101), ErrDirFull, "full")
	d.Release("a", 300) // a file deleted
	require.NoError(t, d.Reserve(ctx, "a", 1000, scan, 101), "room after a delete")
	used, _ := d.Used("a")
	assert.Equal(t, int64(701), used, "Used")
	d.Release("a", 5000)
	used, _ = d.Used("a")
	assert.Equal(t, int64(0), used, "never below 0")
	d.Release("a", -7)
	used, _ = d.Used("a")
	assert.Equal(t, int64(0), used, "a negative release does nothing")
	assert.Equal(t, int32(1), scans.Load(), "one scan, never again")

	// Unlimited: no scan, nothing counted; but a tracked key keeps counting.
	require.NoError(t, d.Reserve(ctx, "b", 0, scan, 1<<40), "unlimited")
	_, ok = d.Used("b")
	assert.False(t, ok, "an unlimited tree is not tracked")
	require.NoError(t, d.Reserve(ctx, "a", 0, scan, 1<<40), "limit removed")
	used, _ = d.Used("a")
	assert.Equal(t, int64(1<<40), used, "a tracked tree keeps its size true without a limit")

	d.Forget("a")
	_, ok = d.Used("a")
	assert.False(t, ok, "forgotten")
	require.NoError(t, d.Reserve(ctx, "a", 1000, scan, 1), "Reserve after Forget")
	used, _ = d.Used("a")
	assert.Equal(t, int64(501), used, "rescanned")
	assert.Equal(t, int32(2), scans.Load(), "a second scan after Forget, none for the unlimited tree")

	// A nil scan measures 0.
	require.NoError(t, d.Reserve(ctx, "c", 10, nil, 10), "nil scan")
	assert.ErrorIs(t, d.Reserve(ctx, "c", 10, nil, 1), ErrDirFull, "full")
}

// Concurrent first calls wait for the one scan.
func TestDirSizesScanOnce(t *testing.T) {
	var d DirSizes
	var scans atomic.Int32
	release := make(chan struct{})
	started := make(chan struct{})
	scan := func(context.Context) (int64, error) {
		if scans.Add(1) == 1 {
			close(started)
		}
		<-release
		return 100, nil
	}
	const n = 20
	errs := make(chan error, n)
	for range n {
		go func() { errs <- d.Reserve(context.Background(), "k", 1000, scan, 10) }()
	}
	<-started
	_, ok := d.Used("k")
	assert.False(t, ok, "not ready while scanning")
	d.Release("k", 50) // ignored while scanning
	close(release)
	for range n {
		assert.NoError(t, <-errs, "Reserve")
	}
	assert.Equal(t, int32(1), scans.Load(), "one scan for all the first calls")
	used, _ := d.Used("k")
	assert.Equal(t, int64(100+n*10), used, "scan plus every reservation")
}

func TestDirSizesScanError(t *testing.T) {
	var d DirSizes
	var scans atomic.Int32
	release := make(chan struct{})
	started := make(chan struct{})
	scan := func(context.Context) (int64, error) {
		if scans.Add(1) == 1 {
			close(started)
			<-release
			return 0, errors.New("lstat /srv/x: permission denied")
		}
		return 7, nil
	}
	first := make(chan error, 1)
	go func() { first <- d.Reserve(context.Background(), "k", 100, scan, 1) }()
	<-started
	waiter := make(chan error, 1)
	go func() { waiter <- d.Reserve(context.Background(), "k", 100, scan, 1) }()

	// A waiter whose context ends stops waiting.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, d.Reserve(ctx, "k", 100, scan, 1), context.Canceled, "waiting honours ctx")

	close(release)
	assert.ErrorContains(t, <-first, "permission denied", "the scanner gets the scan's error")
	// The waiter either waited for the failed scan (its error) or came
	// after it and scanned again (success).
	if err := <-waiter; err != nil {
		assert.ErrorContains(t, err, "permission denied", "a waiter gets the scan's error")
	}
	require.NoError(t, d.Reserve(context.Background(), "k", 100, scan, 1), "the next call scans again")
	used, ok := d.Used("k")
	assert.True(t, ok, "tracked after a good scan")
	assert.GreaterOrEqual(t, used, int64(8), "the second scan's size plus reservations")
}

// A scan that fails because its caller's context ended does not fail the
// calls that waited for it: one of them scans again.
func TestDirSizesScanCancelled(t *testing.T) {
	var d DirSizes
	var scans atomic.Int32
	started := make(chan struct{})
	scan := func(ctx context.Context) (int64, error) {
		if scans.Add(1) == 1 {
			close(started)
			<-ctx.Done()
			return 0, ctx.Err()
		}
		return 3, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { first <- d.Reserve(ctx, "k", 100, scan, 1) }()
	<-started
	waiter := make(chan error, 1)
	go func() { waiter <- d.Reserve(context.Background(), "k", 100, scan, 1) }()
	cancel()
	assert.ErrorIs(t, <-first, context.Canceled, "the cancelled scanner fails")
	assert.NoError(t, <-waiter, "the waiter scans again")
	used, _ := d.Used("k")
	assert.Equal(t, int64(4), used, "scan plus the waiter's byte")
}

func TestDirSizesScanPanics(t *testing.T) {
	var d DirSizes
	assert.Panics(t, func() {
		_ = d.Reserve(context.Background(), "k", 10, func(context.Context) (int64, error) { panic("boom") }, 1)
	}, "the scan's panic goes to its caller")
	done := make(chan error, 1)
	go func() { done <- d.Reserve(context.Background(), "k", 10, sizeScan(2), 1) }()
	select {
	case err := <-done:
		assert.NoError(t, err, "the next call scans again")
	case <-time.After(10 * time.Second):
		t.Fatal("a call after a panicking scan hangs")
	}
}

// Concurrent uploads into one tree never exceed its limit together.
func TestDirSizesConcurrent(t *testing.T) {
	var d DirSizes
	const limit = 100000
	var granted atomic.Int64
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Go(func() {
			for j := range 200 {
				n := int64(1 + (i*7+j*13)%97)
				if err := d.Reserve(context.Background(), "tree", limit, sizeScan(1000), n); err == nil {
					granted.Add(n)
					if j%3 == 0 { // a short write gives some back
						d.Release("tree", 1)
						granted.Add(-1)
					}
				} else if !assert.ErrorIs(t, err, ErrDirFull, "only ErrDirFull") {
					return
				}
				if used, ok := d.Used("tree"); ok {
					assert.LessOrEqual(t, used, int64(limit), "never over the limit")
				}
			}
		})
	}
	wg.Wait()
	used, ok := d.Used("tree")
	require.True(t, ok, "tracked")
	assert.LessOrEqual(t, used, int64(limit), "never over the limit")
	assert.Equal(t, 1000+granted.Load(), used, "the size is the scan plus what was granted and not released")
}

type shortWriter struct {
	bytes.Buffer
	max int
}

func (w *shortWriter) Write(p []byte) (int, error) {
	if len(p) > w.max {
		n, _ := w.Buffer.Write(p[:w.max])
		return n, errors.New("short")
	}
	return w.Buffer.Write(p)
}

func TestDirSizesWriter(t *testing.T) {
	var d DirSizes
	var buf shortWriter
	buf.max = 60
	w := d.Writer(context.Background(), "up", 100, sizeScan(0), &buf)
	n, err := w.Write(make([]byte, 50))
	require.NoError(t, err, "first write")
	assert.Equal(t, 50, n, "written")
	n, err = w.Write(make([]byte, 51))
	assert.ErrorIs(t, err, ErrDirFull, "over the limit")
	assert.Equal(t, 0, n, "nothing written when refused")
	n, err = w.Write(make([]byte, 50))
	assert.NoError(t, err, "exactly to the limit")
	assert.Equal(t, 50, n, "written")
	d.Release("up", 100) // the files were deleted
	n, err = w.Write(make([]byte, 80))
	assert.EqualError(t, err, "short", "the writer's error")
	assert.Equal(t, 60, n, "a short write")
	used, _ := d.Used("up")
	assert.Equal(t, int64(60), used, "the unwritten part was released")
}
