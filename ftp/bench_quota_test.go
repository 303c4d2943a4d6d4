package ftp_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftp/ftptest"
	"github.com/ferryftp/ferry/quota"
)

// The benchmarks of limits; docs/limits.md records their numbers and how
// to run them.

// quotaBenchLogin logs c in as name (see newQuotaServer) in TYPE I.
func quotaBenchLogin(c *benchConn, name string) error {
	if _, err := c.cmd("USER "+name, ftp.StatusNeedPassword); err != nil {
		return err
	}
	if _, err := c.cmd("PASS "+ftptest.Password, ftp.StatusLoggedIn); err != nil {
		return err
	}
	_, err := c.cmd("TYPE I", ftp.StatusOK)
	return err
}

func quotaBenchDial(b *testing.B, addr, name string) *benchConn {
	b.Helper()
	c, err := benchDial(addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.close)
	if err := quotaBenchLogin(c, name); err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkQuotaRETR1GiB measures what the quota hooks cost a user without
// limits: a 1 GiB RETR from osfs over loopback by a user whose User.Quota
// is set with zero Limits (timed), beside the same RETR by a user without
// a Quota (the reference, in the extra metrics). Both reach sendfile.
// Target: overhead under 3%.
func BenchmarkQuotaRETR1GiB(b *testing.B) {
	const size = 1 << 30
	qs := newQuotaServer(b, quotaSetup{})
	qs.user("unlimited", quota.Limits{})
	writeBigFile(b, qs.Path("big.bin"), size)
	withQuota := quotaBenchDial(b, qs.Addr, "unlimited")
	without := quotaBenchDial(b, qs.Addr, ftptest.User)
	b.SetBytes(size)
	var refTime time.Duration
	var ratios []float64 // per iteration: with quota / without
	i := 0
	for b.Loop() {
		// The reference runs before and after in turn, so that neither
		// inherits the other's aftermath.
		i++
		var ref time.Duration
		reference := func() {
			b.StopTimer()
			start := time.Now()
			n, err := without.retr("big.bin", drain)
			ref = time.Since(start)
			if err != nil || n != size {
				b.Fatalf("RETR without quota: %d bytes, %v", n, err)
			}
			b.StartTimer()
		}
		if i%2 == 0 {
			reference()
		}
		start := time.Now()
		n, err := withQuota.retr("big.bin", drain)
		took := time.Since(start)
		if err != nil || n != size {
			b.Fatalf("RETR with quota: %d bytes, %v", n, err)
		}
		if i%2 == 1 {
			reference()
		}
		refTime += ref
		ratios = append(ratios, took.Seconds()/ref.Seconds())
	}
	slices.Sort(ratios)
	b.ReportMetric(mbps(size*int64(b.N), refTime), "noquota-MB/s")
	b.ReportMetric((b.Elapsed().Seconds()/refTime.Seconds()-1)*100, "overhead-%")
	// On a shared machine one slow transfer moves the totals by tens of
	// percent; the median of the pairs does not follow it.
	b.ReportMetric((ratios[len(ratios)/2]-1)*100, "median-overhead-%")
}

// BenchmarkQuotaRateAccuracy runs four sessions of one user at once, each
// moving a quarter of 10 seconds' worth of the user's speed limit, and
// reports the rate they reach together against the limit (rate-err-%),
// in each direction. Target: within 5%. Each iteration takes 10 seconds;
// run it with -benchtime 1x.
func BenchmarkQuotaRateAccuracy(b *testing.B) {
	const (
		rate     = 4 << 20 // bytes per second
		sessions = 4
		seconds  = 10
		each     = rate * seconds / sessions
	)
	for _, dir := range []quota.Direction{quota.Download, quota.Upload} {
		b.Run(dir.String(), func(b *testing.B) {
			qs := newQuotaServer(b, quotaSetup{})
			writeBigFile(b, qs.Path("each.bin"), each)
			var moved int64
			var took time.Duration
			run := 0
			for b.Loop() {
				b.StopTimer()
				// A new user per run: a limiter at rest, its burst full.
				run++
				name := fmt.Sprintf("rate%d", run)
				limits := quota.Limits{DownloadRate: rate}
				if dir == quota.Upload {
					limits = quota.Limits{UploadRate: rate}
				}
				u := qs.user(name, limits)
				conns := make([]*benchConn, sessions)
				for i := range conns {
					conns[i] = quotaBenchDial(b, qs.Addr, name)
				}
				b.StartTimer()
				var wg sync.WaitGroup
				errs := make([]error, sessions)
				start := time.Now()
				for i, c := range conns {
					wg.Go(func() {
						if dir == quota.Download {
							var n int64
							n, errs[i] = c.retr("each.bin", drain)
							if errs[i] == nil && n != each {
								errs[i] = fmt.Errorf("%d bytes, want %d", n, each)
							}
							return
						}
						errs[i] = c.stor(fmt.Sprintf("up%d.bin", i), source(each))
					})
				}
				wg.Wait()
				took += time.Since(start)
				for i, err := range errs {
					if err != nil {
						b.Fatalf("session %d: %v", i, err)
					}
				}
				s := u.Status()
				moved += s.Downloaded + s.Uploaded
				for _, c := range conns {
					c.close()
				}
			}
			got := float64(moved) / took.Seconds()
			b.ReportMetric(got, "B/s")
			b.ReportMetric((got/rate-1)*100, "rate-err-%")
		})
	}
}
