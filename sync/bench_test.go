package sync_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp/ftptest"
	"github.com/ferryftp/ferry/internal/e2etest"
	ferrysync "github.com/ferryftp/ferry/sync"
)

// BenchmarkMirror mirrors, from Ferry's server to a local directory, a
// tree of 10,000 small files (100 folders of 100 files of 1 to 4 KiB) and
// one file of 1 GiB of random bytes, all on disk; then runs again with
// nothing changed, which must take under two seconds. It writes over a
// gigabyte per iteration, so it does not run in short mode:
//
//	go test -run '^$' -bench Mirror -benchtime 1x ./sync/
func BenchmarkMirror(b *testing.B) {
	if testing.Short() {
		b.Skip("mirrors 1 GiB per iteration")
	}
	srcDir := b.TempDir()
	block := make([]byte, 4096)
	for d := range 100 {
		dir := filepath.Join(srcDir, fmt.Sprintf("dir%03d", d))
		if err := os.Mkdir(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		for f := range 100 {
			rand.Read(block)
			size := 1024 + (d*100+f)*31%3072
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("file%03d.dat", f)), block[:size], 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	big, err := os.Create(filepath.Join(srcDir, "big.bin"))
	if err != nil {
		b.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for range 1024 {
		rand.Read(chunk)
		if _, err := big.Write(chunk); err != nil {
			b.Fatal(err)
		}
	}
	if err := big.Close(); err != nil {
		b.Fatal(err)
	}
	srv := e2etest.NewServerIn(b, srcDir)
	src := ferrysync.FTPLocation{Addr: srv.Addr, User: ftptest.User, Password: ftptest.Password, Dir: "/"}

	var first, second time.Duration
	var bytes int64
	b.ResetTimer()
	for range b.N {
		dst := filepath.Join(b.TempDir(), "mirror")
		it := ferrysync.Item{Name: "bench", Source: src, Dest: ferrysync.LocalLocation{Dir: dst}, Mode: ferrysync.Clone, Recursive: true}
		ctx := context.Background()
		t0 := time.Now()
		sum, err := ferrysync.Run(ctx, it, nil)
		first += time.Since(t0)
		if err != nil || sum.Files != 10001 {
			b.Fatalf("first run: %v, %+v", err, sum)
		}
		bytes += sum.Bytes
		t1 := time.Now()
		sum, err = ferrysync.Run(ctx, it, nil)
		d := time.Since(t1)
		second += d
		if err != nil || sum.Planned != 0 {
			b.Fatalf("second run: %v, %+v", err, sum)
		}
		if d > 2*time.Second {
			b.Errorf("the run with nothing changed took %v, over 2s", d)
		}
		b.StopTimer()
		os.RemoveAll(dst)
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(first.Seconds()/n, "first-s/op")
	b.ReportMetric(second.Seconds()/n, "unchanged-s/op")
	b.ReportMetric(float64(bytes)/first.Seconds()/1e6, "first-MB/s")
}
