package quota

import (
	"context"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// simulate runs sessions transfers of one user, each moving Burst-sized
// chunks as fast as the shared limiter allows, on a simulated clock from
// start for window, and returns the bytes moved within the window. A
// session reserves a chunk, waits the delay the limiter gives, moves the
// chunk and reserves the next.
func simulate(t *testing.T, u *User, dir Direction, sessions int, start time.Time, window time.Duration) int64 {
	t.Helper()
	type session struct {
		tr    *Transfer
		ready time.Time // when the chunk reserved may move
		chunk int
	}
	ss := make([]*session, sessions)
	for i := range ss {
		tr, err := u.Begin(dir, -1)
		require.NoError(t, err, "Begin")
		chunk := tr.Burst()
		ss[i] = &session{tr: tr, chunk: chunk, ready: start.Add(tr.DelayAt(start, chunk))}
	}
	end := start.Add(window)
	var moved int64
	for {
		next := ss[0]
		for _, s := range ss[1:] {
			if s.ready.Before(next.ready) {
				next = s
			}
		}
		if next.ready.After(end) {
			return moved
		}
		moved += int64(next.chunk)
		require.NoError(t, next.tr.Add(int64(next.chunk)), "Add")
		now := next.ready
		next.ready = now.Add(next.tr.DelayAt(now, next.chunk))
	}
}

// Four sessions of one user share its limit: over 10 s the bytes moved stay
// within 5% of the limit times 10 s.
func TestRateAccuracySimulated(t *testing.T) {
	start := mustTime(t, "2026-03-14T12:00:00Z")
	for _, r := range []int64{1000, 50 << 10, 100 << 10, 300 << 10, 1 << 20, 8 << 20, 100 << 20} {
		for _, sessions := range []int{1, 4} {
			m := &Manager{}
			u := m.User("sim", Limits{DownloadRate: r})
			moved := simulate(t, u, Download, sessions, start, 10*time.Second)
			want := float64(r) * 10
			errPct := 100 * (float64(moved) - want) / want
			t.Logf("rate %9d B/s, %d sessions: error %+.2f%%", r, sessions, errPct)
			assert.LessOrEqual(t, math.Abs(errPct), 5.0,
				"rate %d B/s, %d sessions: moved %d bytes in 10 s, want %.0f ± 5%% (error %.2f%%)", r, sessions, moved, want, errPct)
			assert.Equal(t, moved, u.Status().Downloaded, "counted")
		}
	}
}

// Users have their own limiters; directions too.
func TestRateSeparate(t *testing.T) {
	start := mustTime(t, "2026-03-14T12:00:00Z")
	m := &Manager{}
	const r = 1 << 20
	a := m.User("a", Limits{DownloadRate: r, UploadRate: r})
	b := m.User("b", Limits{DownloadRate: r})
	for _, tc := range []struct {
		u   *User
		dir Direction
	}{{a, Download}, {a, Upload}, {b, Download}} {
		moved := simulate(t, tc.u, tc.dir, 2, start, 10*time.Second)
		assert.InDelta(t, float64(r*10), float64(moved), r*10*0.05, "%s %v has its own full rate", tc.u.Name(), tc.dir)
	}
}

func TestDelayAt(t *testing.T) {
	start := mustTime(t, "2026-03-14T12:00:00Z")
	m := &Manager{}
	u := m.User("d", Limits{UploadRate: 1 << 20})
	tr, err := u.Begin(Upload, -1)
	require.NoError(t, err, "Begin")
	b := tr.Burst()
	assert.Equal(t, 104857, b, "a tenth of a second's worth")
	assert.Equal(t, time.Duration(0), tr.DelayAt(start, b), "the first burst is free")
	assert.InDelta(t, float64(100*time.Millisecond), float64(tr.DelayAt(start, b)), float64(time.Millisecond), "the next one waits a tenth of a second")
	// Over Burst is reserved in pieces.
	d := tr.DelayAt(start, 3*b)
	assert.InDelta(t, float64(400*time.Millisecond), float64(d), float64(time.Millisecond), "three more bursts wait till 0.4 s")

	dl, err := u.Begin(Download, -1)
	require.NoError(t, err, "Begin")
	assert.False(t, dl.Limited(), "downloads are not limited")
	assert.Equal(t, time.Duration(0), dl.DelayAt(start, 1<<30), "no delay when not limited")
}

func TestWaitN(t *testing.T) {
	m := &Manager{}
	u := m.User("w", Limits{UploadRate: 1000}) // burst 250 bytes
	tr, err := u.Begin(Upload, -1)
	require.NoError(t, err, "Begin")
	require.True(t, tr.Limited(), "limited")
	require.Equal(t, 250, tr.Burst(), "burst")
	require.NoError(t, tr.WaitN(context.Background(), 250), "the first burst is free")

	// The next burst needs 250 ms: a deadline of 10 ms cannot be met, and
	// the limiter says so at once.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	assert.Error(t, tr.WaitN(ctx, 250), "WaitN fails when ctx's deadline is too near")

	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	assert.ErrorIs(t, tr.WaitN(ctx2, 1), context.Canceled, "WaitN honours a cancelled ctx")

	dl, err := u.Begin(Download, -1)
	require.NoError(t, err, "Begin")
	assert.NoError(t, dl.WaitN(context.Background(), 1<<30), "not limited: no wait")
	assert.ErrorIs(t, dl.WaitN(ctx2, 1), context.Canceled, "not limited, but ctx is done")
}

// A real-time copy at 1 MiB/s of 1.5 bursts: the first burst at once, the
// rest after about a tenth of a second.
func TestCopyRateLimitedRealTime(t *testing.T) {
	m := &Manager{}
	u := m.User("rt", Limits{DownloadRate: 1 << 20})
	tr, err := u.Begin(Download, -1)
	require.NoError(t, err, "Begin")
	defer tr.End()
	n := int64(tr.Burst() * 3 / 2)
	begin := time.Now()
	written, err := tr.Copy(context.Background(), discardWriter{}, &zeroReader{n: n})
	elapsed := time.Since(begin)
	require.NoError(t, err, "Copy")
	assert.Equal(t, n, written, "all bytes")
	assert.GreaterOrEqual(t, elapsed, 40*time.Millisecond, "the second chunk waited for the limiter")
	assert.Less(t, elapsed, 5*time.Second, "but not for long")
}

// discardWriter is io.Discard without ReadFrom.
type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// zeroReader reads n zero bytes.
type zeroReader struct{ n int64 }

func (z *zeroReader) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	k := min(int64(len(p)), z.n)
	clear(p[:k])
	z.n -= k
	return int(k), nil
}

// BenchmarkRateAccuracy measures, in real time over about 3 s, how close
// four goroutines of one user moving Burst chunks come to the user's
// limit. It reports the error in percent as err%.
//
//	go test -run '^$' -bench RateAccuracy ./quota/
func BenchmarkRateAccuracy(b *testing.B) {
	const (
		r        = 4 << 20
		sessions = 4
		window   = 3 * time.Second
	)
	var worst float64
	for range b.N {
		m := &Manager{}
		u := m.User("bench", Limits{DownloadRate: r})
		ctx, cancel := context.WithTimeout(context.Background(), window)
		var moved atomic.Int64
		var wg sync.WaitGroup
		begin := time.Now()
		for range sessions {
			wg.Go(func() {
				tr, err := u.Begin(Download, -1)
				if err != nil {
					b.Error(err)
					return
				}
				defer tr.End()
				chunk := tr.Burst()
				for tr.WaitN(ctx, chunk) == nil {
					moved.Add(int64(chunk))
					_ = tr.Add(int64(chunk))
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(begin)
		cancel()
		want := float64(r) * elapsed.Seconds()
		errPct := 100 * math.Abs(float64(moved.Load())-want) / want
		worst = max(worst, errPct)
	}
	b.ReportMetric(worst, "err%")
	if worst > 5 {
		b.Errorf("rate error %.2f%% over 5%%", worst)
	}
}
