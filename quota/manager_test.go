package quota

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// move moves n bytes for u in direction d, through a Transfer.
func move(t *testing.T, u *User, d Direction, n int64) {
	t.Helper()
	tr, err := u.Begin(d, n)
	require.NoError(t, err, "Begin(%v, %d)", d, n)
	require.NoError(t, tr.Add(n), "Add(%d)", n)
	tr.End()
}

func TestBeginAmount(t *testing.T) {
	tests := []struct {
		name    string
		period  Period
		limits  Limits
		dl, ul  int64 // moved before
		dir     Direction
		size    int64
		wantErr string // "" for success
	}{
		{name: "unlimited", dl: 1 << 40, dir: Download, size: 1 << 40},
		{name: "under the limit", limits: Limits{DownloadAmount: 1000}, dl: 999, dir: Download, size: 5000},
		{name: "at the limit", period: Monthly, limits: Limits{DownloadAmount: 1000}, dl: 1000, dir: Download, size: 10,
			wantErr: "download limit of 1000 bytes per month reached (resets 2026-04-01 00:00 UTC)"},
		{name: "at the limit, size unknown", period: Daily, limits: Limits{UploadAmount: 1000}, ul: 1000, dir: Upload, size: -1,
			wantErr: "upload limit of 1000 bytes per day reached (resets 2026-03-15 00:00 UTC)"},
		{name: "weekly", period: Weekly, limits: Limits{UploadAmount: 10}, ul: 11, dir: Upload, size: -1,
			wantErr: "upload limit of 10 bytes per week reached (resets 2026-03-16 00:00 UTC)"},
		{name: "cumulative", limits: Limits{DownloadAmount: 10}, dl: 10, dir: Download, size: 1,
			wantErr: "download limit of 10 bytes reached"},
		{name: "the other direction is free", limits: Limits{DownloadAmount: 10}, dl: 10, dir: Upload, size: 100},
		{name: "an empty file is never refused", limits: Limits{DownloadAmount: 10}, dl: 10, dir: Download, size: 0},
		{name: "negative is unlimited", limits: Limits{DownloadAmount: -5}, dl: 10, dir: Download, size: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock(t, "2026-03-14T15:09:26Z") // a Saturday
			m := &Manager{Period: tt.period, Now: clk.Now}
			u := m.User("alice", Limits{})
			move(t, u, Download, tt.dl)
			move(t, u, Upload, tt.ul)
			m.User("alice", tt.limits)
			tr, err := u.Begin(tt.dir, tt.size)
			if tt.wantErr == "" {
				assert.NoError(t, err, "Begin should succeed")
				assert.NotNil(t, tr, "a Transfer")
				return
			}
			assert.ErrorIs(t, err, ErrAmountExceeded, "Begin should refuse for the amount")
			assert.EqualError(t, err, tt.wantErr, "the refusal says why")
			assert.Nil(t, tr, "no Transfer when refused")
		})
	}
}

func TestBeginRatio(t *testing.T) {
	tests := []struct {
		name    string
		limits  Limits
		dl, ul  int64
		size    int64
		balance int64
		wantErr string
	}{
		{name: "no ratio", dl: 100, size: 100, balance: -1},
		{name: "credit covers it", limits: Limits{Ratio: 2, RatioCredit: 1000}, size: 1000, balance: 1000},
		{name: "exactly the balance", limits: Limits{Ratio: 2}, ul: 2000, dl: 500, size: 500, balance: 500},
		{name: "over the balance", limits: Limits{Ratio: 2}, ul: 2468, size: 5678, balance: 1234,
			wantErr: "ratio 2:1: balance is 1234 bytes, file is 5678 bytes"},
		{name: "no balance, size unknown", limits: Limits{Ratio: 3, RatioCredit: 100}, ul: 300, dl: 200, size: -1, balance: 0,
			wantErr: "ratio 3:1: balance is 0 bytes"},
		{name: "some balance, size unknown", limits: Limits{Ratio: 3}, ul: 3, size: -1, balance: 1},
		{name: "fractional ratio", limits: Limits{Ratio: 1.5}, ul: 1500, dl: 100, size: 901, balance: 900,
			wantErr: "ratio 1.5:1: balance is 900 bytes, file is 901 bytes"},
		{name: "overdrawn shows 0", limits: Limits{Ratio: 1}, ul: 10, dl: 50, size: 1, balance: 0,
			wantErr: "ratio 1:1: balance is 0 bytes, file is 1 bytes"},
		{name: "empty file", limits: Limits{Ratio: 1}, size: 0, balance: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Manager{}
			u := m.User("bob", Limits{})
			move(t, u, Upload, tt.ul)
			move(t, u, Download, tt.dl)
			m.User("bob", tt.limits)
			assert.Equal(t, tt.balance, u.Status().Balance, "Status().Balance")
			_, err := u.Begin(Download, tt.size)
			if tt.wantErr == "" {
				assert.NoError(t, err, "Begin should succeed")
			} else {
				assert.ErrorIs(t, err, ErrRatio, "Begin should refuse for the ratio")
				assert.EqualError(t, err, tt.wantErr, "the refusal says the balance")
			}
			_, err = u.Begin(Upload, 1<<30)
			assert.NoError(t, err, "a ratio never refuses uploads")
		})
	}
}

func TestRemainingAndAdd(t *testing.T) {
	m := &Manager{}
	u := m.User("carol", Limits{DownloadAmount: 100, UploadAmount: 50, Ratio: 2, RatioCredit: 40})
	dl, err := u.Begin(Download, -1)
	require.NoError(t, err, "Begin download")
	ul, err := u.Begin(Upload, -1)
	require.NoError(t, err, "Begin upload")

	assert.Equal(t, int64(40), dl.Remaining(), "download: the ratio credit is the tighter limit")
	assert.Equal(t, int64(50), ul.Remaining(), "upload: the amount")
	assert.NoError(t, ul.Add(40), "upload of 40 is under the limit")
	assert.Equal(t, int64(60), dl.Remaining(), "an upload in another session raises the balance at once")
	assert.NoError(t, dl.Add(60), "landing exactly on the balance is no error")
	assert.Equal(t, int64(0), dl.Remaining(), "nothing left")
	assert.ErrorIs(t, dl.Err(), ErrRatio, "Err says why nothing may move")
	assert.EqualError(t, dl.Err(), "ratio 2:1: balance is 0 bytes", "Err's text")
	assert.ErrorIs(t, dl.Add(1), ErrRatio, "a byte past the balance is an error")
	assert.Equal(t, int64(61), u.Status().Downloaded, "bytes past the limit are still counted")

	assert.NoError(t, ul.Add(10), "upload exactly to its limit")
	assert.ErrorIs(t, ul.Err(), ErrAmountExceeded, "upload used up")
	err = ul.Add(5)
	assert.ErrorIs(t, err, ErrAmountExceeded, "past the upload limit")
	assert.EqualError(t, err, "upload limit of 50 bytes reached", "the error's text")
	assert.Equal(t, int64(55), u.Status().Uploaded, "counted anyway")

	// With more uploaded, the amount binds the download before the ratio.
	m.User("carol", Limits{DownloadAmount: 100, Ratio: 0.5})
	assert.Equal(t, int64(39), dl.Remaining(), "the amount is the tighter limit now")
	assert.NoError(t, dl.Err(), "bytes may still move")

	m.User("carol", Limits{})
	assert.Equal(t, int64(-1), dl.Remaining(), "unlimited")
	assert.Equal(t, int64(-1), ul.Remaining(), "unlimited")
	assert.NoError(t, dl.Add(-3), "negative Add counts nothing")
	assert.Equal(t, int64(61), u.Status().Downloaded, "negative Add counts nothing")
}

func TestPeriodRollover(t *testing.T) {
	tests := []struct {
		period     Period
		start      string
		sameUntil  string // still the same period
		newFrom    string // the next period
		wantPeriod string // PeriodStart in the next period
	}{
		{Daily, "2026-03-14T08:00:00Z", "2026-03-14T23:59:59Z", "2026-03-15T00:00:00Z", "2026-03-15T00:00:00Z"},
		{Weekly, "2026-03-16T00:00:00Z", "2026-03-22T23:59:59Z", "2026-03-23T00:00:01Z", "2026-03-23T00:00:00Z"},
		{Weekly, "2026-03-21T12:00:00Z", "2026-03-22T12:00:00Z", "2026-03-24T12:00:00Z", "2026-03-23T00:00:00Z"}, // Sat, Sun, then Tue
		{Monthly, "2026-01-31T22:00:00Z", "2026-01-31T23:59:59Z", "2026-02-01T00:00:00Z", "2026-02-01T00:00:00Z"},
		{Monthly, "2025-12-05T00:00:00Z", "2025-12-31T23:00:00Z", "2026-03-10T00:00:00Z", "2026-03-01T00:00:00Z"}, // months later
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v from %s", tt.period, tt.start), func(t *testing.T) {
			clk := newClock(t, tt.start)
			m := &Manager{Period: tt.period, Now: clk.Now}
			u := m.User("dave", Limits{DownloadAmount: 100})
			move(t, u, Download, 100)
			move(t, u, Upload, 7)
			_, err := u.Begin(Download, 1)
			assert.ErrorIs(t, err, ErrAmountExceeded, "used up at %s", tt.start)

			clk.set(t, tt.sameUntil)
			_, err = u.Begin(Download, 1)
			assert.ErrorIs(t, err, ErrAmountExceeded, "still used up at %s", tt.sameUntil)
			assert.Equal(t, int64(100), u.Status().Downloaded, "counters kept within the period")

			clk.set(t, tt.newFrom)
			_, err = u.Begin(Download, 1)
			assert.NoError(t, err, "a new period at %s", tt.newFrom)
			st := u.Status()
			assert.Equal(t, int64(0), st.Downloaded, "downloads start from 0")
			assert.Equal(t, int64(0), st.Uploaded, "uploads start from 0")
			assert.True(t, st.PeriodStart.Equal(mustTime(t, tt.wantPeriod)), "PeriodStart = %v, want %s", st.PeriodStart, tt.wantPeriod)
		})
	}
}

// A transfer running across midnight counts its later bytes in the new day.
func TestRolloverDuringTransfer(t *testing.T) {
	clk := newClock(t, "2026-03-14T23:59:00Z")
	m := &Manager{Period: Daily, Now: clk.Now}
	u := m.User("erin", Limits{DownloadAmount: 100})
	tr, err := u.Begin(Download, 150)
	require.NoError(t, err, "Begin")
	require.NoError(t, tr.Add(100), "the day's 100 bytes")
	assert.Equal(t, int64(0), tr.Remaining(), "the day is used up")
	clk.advance(2 * time.Minute)
	assert.Equal(t, int64(100), tr.Remaining(), "a new day, a new budget")
	require.NoError(t, tr.Add(50), "the rest, in the new day")
	assert.Equal(t, int64(50), u.Status().Downloaded, "only the new day's bytes")
}

func TestCumulativePeriodStart(t *testing.T) {
	clk := newClock(t, "2026-03-14T10:00:00Z")
	m := &Manager{Now: clk.Now}
	u := m.User("fay", Limits{})
	assert.True(t, u.Status().PeriodStart.IsZero(), "nothing counted yet")
	clk.advance(time.Hour)
	move(t, u, Upload, 10)
	assert.True(t, u.Status().PeriodStart.Equal(mustTime(t, "2026-03-14T11:00:00Z")), "counting started with the first byte")
	clk.set(t, "2030-01-01T00:00:00Z")
	assert.Equal(t, int64(10), u.Status().Uploaded, "None never rolls over")
}

func TestSetPeriod(t *testing.T) {
	clk := newClock(t, "2026-03-14T10:00:00Z")
	m := &Manager{Period: Monthly, Now: clk.Now}
	u := m.User("gus", Limits{})
	move(t, u, Download, 10)
	m.SetPeriod(Daily)
	assert.Equal(t, int64(0), u.Status().Downloaded, "a month's counters are not a day's: they start again")
	move(t, u, Download, 5)
	m.SetPeriod(Monthly)
	assert.Equal(t, int64(5), u.Status().Downloaded, "a day's counters are within the month: kept")
}

func TestReloadKeepsState(t *testing.T) {
	m := &Manager{}
	u := m.User("hal", Limits{DownloadRate: 1 << 20})
	move(t, u, Download, 42)
	lim := u.lim[Download]
	require.NotNil(t, lim, "a limiter for the download rate")

	u2 := m.User("hal", Limits{DownloadRate: 2 << 20, UploadRate: 1000})
	assert.Same(t, u, u2, "one User per name")
	assert.Same(t, lim, u.lim[Download], "the limiter survives a reload")
	assert.Equal(t, float64(2<<20), float64(lim.Limit()), "with the new rate")
	assert.Equal(t, burstFor(2<<20), lim.Burst(), "and the new burst")
	assert.Equal(t, int64(42), u.Status().Downloaded, "counters survive a reload")

	tr, err := u.Begin(Download, -1)
	require.NoError(t, err, "Begin")
	assert.True(t, tr.Limited(), "limited")
	m.User("hal", Limits{UploadRate: 1000})
	assert.False(t, tr.Limited(), "a transfer under way follows a reload")
	assert.Equal(t, defaultChunk, tr.Burst(), "Burst when not limited")
	assert.Same(t, m.User("hal", Limits{}), u, "still the same user")
	assert.NotSame(t, u, m.User("ian", Limits{}), "another name, another user")
}

func TestStatusString(t *testing.T) {
	clk := newClock(t, "2026-03-14T15:09:26Z")
	m := &Manager{Period: Monthly, Now: clk.Now}
	u := m.User("alice", Limits{DownloadAmount: 10000, DownloadRate: 65536, Ratio: 2})
	move(t, u, Upload, 4000)
	move(t, u, Download, 1500)
	st := u.Status()
	assert.Equal(t, Status{
		Limits:      Limits{DownloadAmount: 10000, DownloadRate: 65536, Ratio: 2},
		Period:      Monthly,
		PeriodStart: mustTime(t, "2026-03-01T00:00:00Z"),
		Downloaded:  1500,
		Uploaded:    4000,
		Balance:     500,
	}, st, "Status")
	assert.Equal(t, strings.Join([]string{
		"Period: monthly since 2026-03-01 00:00 UTC, resets 2026-04-01 00:00 UTC",
		"Downloaded: 1500 of 10000 bytes (8500 left)",
		"Uploaded: 4000 bytes (no limit)",
		"Download speed: 65536 bytes/s",
		"Upload speed: unlimited",
		"Ratio: 2:1, credit 0 bytes, balance 500 bytes",
	}, "\n"), st.String(), "Status.String")

	m2 := &Manager{Now: clk.Now}
	v := m2.User("bob", Limits{UploadAmount: 100, UploadRate: 1000})
	assert.Equal(t, strings.Join([]string{
		"Period: none (cumulative)",
		"Downloaded: 0 bytes (no limit)",
		"Uploaded: 0 of 100 bytes (100 left)",
		"Download speed: unlimited",
		"Upload speed: 1000 bytes/s",
		"Ratio: none",
	}, "\n"), v.Status().String(), "Status.String with nothing moved")
	tr, err := v.Begin(Upload, -1)
	require.NoError(t, err, "Begin")
	assert.ErrorIs(t, tr.Add(150), ErrAmountExceeded, "past the limit")
	assert.Contains(t, v.Status().String(), "Period: none (cumulative since 2026-03-14 15:09 UTC)", "None shows since when")
	assert.Contains(t, v.Status().String(), "Uploaded: 150 of 100 bytes (0 left)", "overshoot shows 0 left")
	assert.Equal(t, int64(-1), v.Status().Balance, "no ratio: Balance -1")
}

func TestCopy(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 10000) // 100,000 bytes
	tests := []struct {
		name    string
		limits  Limits
		src     int
		want    int64
		wantErr error
	}{
		{name: "unlimited", src: len(data), want: int64(len(data))},
		{name: "under the amount", limits: Limits{DownloadAmount: 200000}, src: len(data), want: int64(len(data))},
		{name: "exactly the amount", limits: Limits{DownloadAmount: 100000}, src: len(data), want: 100000},
		{name: "stops at the amount", limits: Limits{DownloadAmount: 54321}, src: len(data), want: 54321, wantErr: ErrAmountExceeded},
		{name: "stops at the ratio", limits: Limits{Ratio: 1, RatioCredit: 777}, src: len(data), want: 777, wantErr: ErrRatio},
		{name: "empty source", limits: Limits{DownloadAmount: 1}, src: 0, want: 0},
		{name: "rate limited", limits: Limits{DownloadRate: 1 << 30}, src: len(data), want: int64(len(data))},
		{name: "rate limited, stops at the amount", limits: Limits{DownloadRate: 1 << 30, DownloadAmount: 70000}, src: len(data), want: 70000, wantErr: ErrAmountExceeded},
		{name: "rate limited, exactly the amount", limits: Limits{DownloadRate: 1 << 30, DownloadAmount: 100000}, src: len(data), want: 100000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &Manager{}
			u := m.User("jo", tt.limits)
			tr, err := u.Begin(Download, -1)
			require.NoError(t, err, "Begin")
			defer tr.End()
			var dst bytes.Buffer
			n, err := tr.Copy(context.Background(), &dst, bytes.NewReader(data[:tt.src]))
			if tt.wantErr != nil {
				assert.ErrorIs(t, err, tt.wantErr, "Copy stops for the limit")
			} else {
				assert.NoError(t, err, "Copy")
			}
			assert.Equal(t, tt.want, n, "bytes written")
			assert.Equal(t, data[:n], dst.Bytes(), "the bytes written are the source's")
			assert.Equal(t, n, u.Status().Downloaded, "the counters hold what was written")
			_, err = u.Begin(Download, 1)
			if tt.wantErr != nil || tt.limits.DownloadAmount == tt.want {
				assert.Error(t, err, "the next transfer is refused up front")
			}
		})
	}
}

// readerFromDst records whether io.Copy handed it the source: the path to
// sendfile and splice.
type readerFromDst struct {
	bytes.Buffer
	calls int
}

func (d *readerFromDst) ReadFrom(r io.Reader) (int64, error) {
	d.calls++
	return d.Buffer.ReadFrom(r)
}

func TestCopyUnlimitedKeepsReaderFrom(t *testing.T) {
	m := &Manager{}
	u := m.User("kim", Limits{UploadAmount: 10 << 20})
	tr, err := u.Begin(Upload, -1)
	require.NoError(t, err, "Begin")
	defer tr.End()
	assert.False(t, tr.Limited(), "not rate limited")
	var dst readerFromDst
	src := bytes.Repeat([]byte{'x'}, 5<<20)
	n, err := tr.Copy(context.Background(), &dst, bytes.NewReader(src))
	require.NoError(t, err, "Copy")
	assert.Equal(t, int64(len(src)), n, "all bytes")
	assert.Equal(t, 2, dst.calls, "the destination's ReadFrom moved the bytes, one call per 4 MiB segment")
	assert.Equal(t, n, u.Status().Uploaded, "counted")
}

// errWriter fails after limit bytes.
type errWriter struct{ limit int }

func (w *errWriter) Write(p []byte) (int, error) {
	if len(p) > w.limit {
		n := w.limit
		w.limit = 0
		return n, errors.New("disk full")
	}
	w.limit -= len(p)
	return len(p), nil
}

func TestCopyCountsWhatMoved(t *testing.T) {
	for _, limits := range []Limits{{}, {DownloadRate: 1 << 30}} {
		m := &Manager{}
		u := m.User("lee", limits)
		tr, err := u.Begin(Download, -1)
		require.NoError(t, err, "Begin")
		n, err := tr.Copy(context.Background(), &errWriter{limit: 12345}, bytes.NewReader(make([]byte, 100000)))
		assert.EqualError(t, err, "disk full", "the write error (limits %+v)", limits)
		assert.Equal(t, int64(12345), n, "bytes written before the error")
		assert.Equal(t, int64(12345), u.Status().Downloaded, "an aborted transfer counts exactly what moved")
		tr.End()
		tr.End()
	}

	m := &Manager{}
	tr, err := m.User("lee", Limits{DownloadRate: 1 << 30}).Begin(Download, -1)
	require.NoError(t, err, "Begin")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n, err := tr.Copy(ctx, io.Discard, bytes.NewReader(make([]byte, 10)))
	assert.ErrorIs(t, err, context.Canceled, "a cancelled transfer stops")
	assert.Equal(t, int64(0), n, "and moves nothing")
}

// A download stopped at its ratio balance goes on when an upload of the
// same user raises the balance while the copy looks for more data.
func TestCopyBudgetGrows(t *testing.T) {
	m := &Manager{}
	u := m.User("max", Limits{Ratio: 1, RatioCredit: 10})
	tr, err := u.Begin(Download, -1)
	require.NoError(t, err, "Begin")
	src := &hookReader{r: bytes.NewReader(make([]byte, 15))}
	src.hook = func() {
		if u.Status().Downloaded == 10 && src.n == 10 {
			move(t, u, Upload, 100) // raises the balance
		}
	}
	n, err := tr.Copy(context.Background(), io.Discard, src)
	assert.NoError(t, err, "the copy finishes with the raised balance")
	assert.Equal(t, int64(15), n, "all bytes")
}

type hookReader struct {
	r    io.Reader
	n    int
	hook func()
}

func (h *hookReader) Read(p []byte) (int, error) {
	h.hook()
	n, err := h.r.Read(p)
	h.n += n
	return n, err
}

func TestConcurrentAdd(t *testing.T) {
	m := &Manager{Store: &memStore{}}
	u := m.User("nan", Limits{DownloadRate: 1 << 40, UploadAmount: 1 << 40})
	const workers, adds = 16, 200
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			d := Direction(i % 2)
			tr, err := u.Begin(d, -1)
			if !assert.NoError(t, err, "Begin") {
				return
			}
			defer tr.End()
			for j := range adds {
				assert.NoError(t, tr.Add(int64(j+1)), "Add")
				if j%50 == 0 {
					_ = u.Status()
					_ = tr.Remaining()
				}
			}
		})
	}
	wg.Wait()
	per := int64(adds * (adds + 1) / 2)
	st := u.Status()
	assert.Equal(t, per*workers/2, st.Downloaded, "the sum of Add equals the download counter")
	assert.Equal(t, per*workers/2, st.Uploaded, "the sum of Add equals the upload counter")
	require.NoError(t, m.Flush(context.Background()), "Flush")
}
