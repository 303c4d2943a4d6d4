package quota_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ferryftp/ferry/quota"
)

// fixedNow is a clock stopped at a known time, so that the output is
// stable.
func fixedNow() time.Time { return time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC) }

// A user's transfers go through Begin, Copy and End; a limit stops the
// transfer that reaches it and refuses the next one up front.
func ExampleManager() {
	m := &quota.Manager{Period: quota.Monthly, Now: fixedNow}
	u := m.User("alice", quota.Limits{DownloadAmount: 1000})

	t, err := u.Begin(quota.Download, 1500)
	if err != nil {
		fmt.Println(err)
		return
	}
	n, err := t.Copy(context.Background(), io.Discard, strings.NewReader(strings.Repeat("x", 1500)))
	t.End()
	fmt.Println(n, errors.Is(err, quota.ErrAmountExceeded))

	_, err = u.Begin(quota.Download, 10)
	fmt.Println(err)
	// Output:
	// 1000 true
	// download limit of 1000 bytes per month reached (resets 2026-04-01 00:00 UTC)
}

// With a ratio of 2, a user must upload 2 bytes for each byte downloaded;
// a credit allows a first download.
func ExampleUser_Begin_ratio() {
	m := &quota.Manager{}
	u := m.User("bob", quota.Limits{Ratio: 2, RatioCredit: 100})

	up, _ := u.Begin(quota.Upload, -1)
	_ = up.Add(2468)
	up.End()

	_, err := u.Begin(quota.Download, 5678)
	fmt.Println(err)
	fmt.Println(errors.Is(err, quota.ErrRatio))
	// Output:
	// ratio 2:1: balance is 1334 bytes, file is 5678 bytes
	// true
}

// Status is the answer to SITE QUOTA.
func ExampleUser_Status() {
	m := &quota.Manager{Period: quota.Weekly, Now: fixedNow}
	u := m.User("carol", quota.Limits{UploadAmount: 1 << 20, DownloadRate: 512 << 10, Ratio: 1.5})
	t, _ := u.Begin(quota.Upload, -1)
	_ = t.Add(3000)
	t.End()
	fmt.Println(u.Status())
	// Output:
	// Period: weekly since 2026-03-09 00:00 UTC, resets 2026-03-16 00:00 UTC
	// Downloaded: 0 bytes (no limit)
	// Uploaded: 3000 of 1048576 bytes (1045576 left)
	// Download speed: 524288 bytes/s
	// Upload speed: unlimited
	// Ratio: 1.5:1, credit 0 bytes, balance 2000 bytes
}

// A limited transfer moves Burst bytes at a time and waits for each chunk;
// an unlimited one may keep its zero-copy path.
func ExampleTransfer_Limited() {
	m := &quota.Manager{}
	u := m.User("dave", quota.Limits{DownloadRate: 1 << 20})
	down, _ := u.Begin(quota.Download, -1)
	up, _ := u.Begin(quota.Upload, -1)
	fmt.Println(down.Limited(), down.Burst())
	fmt.Println(up.Limited())
	// Output:
	// true 104857
	// false
}

// Counters survive a restart through a FileStore.
func ExampleFileStore() {
	dir, err := os.MkdirTemp("", "quota")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "quota.json")
	ctx := context.Background()

	m := &quota.Manager{Store: quota.NewFileStore(path), Period: quota.Daily, Now: fixedNow}
	_ = m.Load(ctx)
	t, _ := m.User("erin", quota.Limits{}).Begin(quota.Upload, -1)
	_ = t.Add(42)
	t.End()
	_ = m.Flush(ctx) // at shutdown

	m2 := &quota.Manager{Store: quota.NewFileStore(path), Period: quota.Daily, Now: fixedNow}
	_ = m2.Load(ctx)
	fmt.Println(m2.User("erin", quota.Limits{}).Status().Uploaded)

	_ = m2.Reset("erin")
	fmt.Println(m2.User("erin", quota.Limits{}).Status().Uploaded)
	// Output:
	// 42
	// 0
}

// Uploads reserve their bytes in the tree before writing them; the tree is
// scanned once.
func ExampleDirSizes() {
	var d quota.DirSizes
	scan := func(ctx context.Context) (int64, error) {
		fmt.Println("scanning")
		return 900, nil // bytes already in the tree
	}
	ctx := context.Background()

	fmt.Println(d.Reserve(ctx, "incoming/", 1000, scan, 60))
	err := d.Reserve(ctx, "incoming/", 1000, scan, 60)
	fmt.Println(err)
	fmt.Println(errors.Is(err, quota.ErrDirFull))

	d.Release("incoming/", 500) // a file deleted
	var file bytes.Buffer
	w := d.Writer(ctx, "incoming/", 1000, scan, &file)
	_, err = w.Write(make([]byte, 100))
	used, _ := d.Used("incoming/")
	fmt.Println(err, used)
	// Output:
	// scanning
	// <nil>
	// maximum directory size of 1000 bytes reached (960 bytes used, 60 more needed)
	// true
	// <nil> 560
}

func ExampleConnLimiter() {
	c := &quota.ConnLimiter{MaxTotal: 100, MaxPerIP: 2}
	ip := netip.MustParseAddr("127.0.0.1")
	r1, _ := c.Acquire(ip)
	r2, _ := c.Acquire(ip)
	_, err := c.Acquire(ip)
	fmt.Println(err)
	r1()
	r1() // a second release does nothing
	r2()
	fmt.Println(c.Count())
	// Output:
	// too many connections from your address (maximum 2)
	// 0
}

func ExampleLoginThrottle() {
	now := fixedNow()
	l := &quota.LoginThrottle{BanAfter: 5, Now: func() time.Time { return now }}
	ip := netip.MustParseAddr("127.0.0.1")
	var delays []string
	for range 5 {
		delays = append(delays, l.Failed(ip).String())
	}
	fmt.Println(strings.Join(delays, " "))
	fmt.Println(l.Banned(ip))
	fmt.Println(l.Check(ip))
	// Output:
	// 1s 2s 4s 8s 16s
	// true 15m0s
	// too many failed logins from your address; try again in 15m0s
}

func ExamplePeriod_Start() {
	t := time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC) // a Saturday
	for _, p := range []quota.Period{quota.Daily, quota.Weekly, quota.Monthly} {
		fmt.Printf("%-7s %s  next %s\n", p, p.Start(t).Format(time.DateOnly), p.Next(t).Format(time.DateOnly))
	}
	// Output:
	// daily   2026-03-14  next 2026-03-15
	// weekly  2026-03-09  next 2026-03-16
	// monthly 2026-03-01  next 2026-04-01
}
