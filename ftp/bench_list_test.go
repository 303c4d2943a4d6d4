package ftp_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/internal/e2etest"
)

// listTiming is what one listing measured.
type listTiming struct {
	firstByte, complete time.Duration
	bytes               int64
}

// readListing reads a listing from dc into buf, noting when its first
// byte came, counted from start.
func readListing(dc net.Conn, buf []byte, start time.Time) (listTiming, error) {
	var lt listTiming
	dc.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		n, err := dc.Read(buf)
		if n > 0 && lt.bytes == 0 {
			lt.firstByte = time.Since(start)
		}
		lt.bytes += int64(n)
		if err == io.EOF {
			lt.complete = time.Since(start)
			return lt, nil
		}
		if err != nil {
			return lt, err
		}
	}
}

// heapInUse is the heap in use now, as runtime.MemStats.HeapInuse counts
// it, read without stopping the world.
func heapInUse(samples []metrics.Sample) uint64 {
	metrics.Read(samples)
	return samples[0].Value.Uint64() + samples[1].Value.Uint64()
}

func heapSamples() []metrics.Sample {
	return []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
	}
}

// peakHeap samples the heap in use every 200µs until stop is closed and
// returns the highest value seen.
func peakHeap(stop <-chan struct{}) <-chan uint64 {
	res := make(chan uint64, 1)
	go func() {
		samples := heapSamples()
		var peak uint64
		tk := time.NewTicker(200 * time.Microsecond)
		defer tk.Stop()
		for {
			peak = max(peak, heapInUse(samples))
			select {
			case <-stop:
				res <- max(peak, heapInUse(samples))
				return
			case <-tk.C:
			}
		}
	}()
	return res
}

func memStats() runtime.MemStats {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms
}

// rawLister is the reference listing: the directory read in batches of
// 256 with os.File.ReadDir, each entry's FileInfo taken, and a line of
// mode, size and name written through a 32 KiB bufio.Writer to a new TCP
// connection.
type rawLister struct {
	l   *net.TCPListener
	dir string
}

func (r *rawLister) list(buf []byte) (listTiming, error) {
	errc := serveOnce(r.l, func(tc *net.TCPConn) error {
		f, err := os.Open(r.dir)
		if err != nil {
			return err
		}
		defer f.Close()
		bw := bufio.NewWriterSize(tc, 32<<10)
		var line []byte
		for {
			ents, err := f.ReadDir(256)
			for _, e := range ents {
				fi, ierr := e.Info()
				if ierr != nil {
					continue
				}
				line = append(line[:0], fi.Mode().String()...)
				line = append(line, ' ')
				line = strconv.AppendInt(line, fi.Size(), 10)
				line = append(line, ' ')
				line = append(line, fi.Name()...)
				line = append(line, '\r', '\n')
				bw.Write(line)
			}
			if err == io.EOF {
				return bw.Flush()
			}
			if err != nil {
				return err
			}
		}
	})
	start := time.Now()
	dc, err := net.Dial("tcp", r.l.Addr().String())
	if err != nil {
		return listTiming{}, err
	}
	defer dc.Close()
	lt, err := readListing(dc, buf, start)
	return lt, errors.Join(err, <-errc)
}

var bigDirOnce sync.Once

// BenchmarkList100k lists a directory of 100,000 empty files on disk
// (osfs), with LIST, NLST and MLSD, beside the raw listing of rawLister.
// Targets: complete < 0.5 s, first byte < 50 ms, server heap growth
// < 4 MiB.
//
// first-byte-ms and complete-ms count from the command (the data
// connection already open) to the first byte and to the end of the data.
// heap-retained-KiB is HeapInuse after the listing less HeapInuse before,
// both after a GC: what the listing leaves behind. heap-peak-KiB is the
// highest HeapInuse seen while the listing ran (sampled every 200µs, no GC
// forced) less the same baseline: it includes garbage not yet collected,
// so it is bounded by the GC's pacing (GOGC) rather than by what is live.
// alloc-KiB/op is what the whole process allocated for one listing, the
// in-process client included (which allocates next to nothing).
func BenchmarkList100k(b *testing.B) {
	const entries = 100_000
	root := b.TempDir()
	dir := filepath.Join(root, "big")
	if err := os.Mkdir(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for i := range entries {
		f, err := os.Create(filepath.Join(dir, "file-"+strconv.Itoa(i)+".dat"))
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
	b.Logf("created %d files in %v", entries, time.Since(start))
	srv := e2etest.NewServerIn(b, root)
	l, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	raw := &rawLister{l: l, dir: dir}

	for _, verb := range []string{"LIST", "NLST", "MLSD"} {
		b.Run(verb, func(b *testing.B) {
			c, err := benchDial(srv.Addr)
			if err != nil {
				b.Fatal(err)
			}
			defer c.close()
			if err := c.login(); err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 64<<10)
			var first, rawFirst, rawComplete time.Duration
			var maxRetained, maxPeak int64
			var allocs uint64
			for b.Loop() {
				b.StopTimer()
				lt, err := raw.list(buf)
				if err != nil {
					b.Fatal(err)
				}
				rawFirst += lt.firstByte
				rawComplete += lt.complete

				dc, err := c.epsv()
				if err != nil {
					b.Fatal(err)
				}
				before := memStats()
				stop := make(chan struct{})
				peakc := peakHeap(stop)
				b.StartTimer()

				start := time.Now()
				if err := c.send(verb + " big"); err != nil {
					b.Fatal(err)
				}
				if _, err := c.expect(ftp.StatusFileStatusOK); err != nil {
					b.Fatal(err)
				}
				lt, err = readListing(dc, buf, start)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := c.expect(ftp.StatusClosingDataConnection); err != nil {
					b.Fatal(err)
				}

				b.StopTimer()
				close(stop)
				dc.Close()
				p := <-peakc
				after := memStats()
				first += lt.firstByte
				if lt.bytes < entries*10 {
					b.Fatalf("%s: %d bytes for %d entries", verb, lt.bytes, entries)
				}
				maxRetained = max(maxRetained, int64(after.HeapInuse)-int64(before.HeapInuse))
				maxPeak = max(maxPeak, int64(p)-int64(before.HeapInuse))
				allocs += after.TotalAlloc - before.TotalAlloc
				b.StartTimer()
			}
			n := time.Duration(b.N)
			b.ReportMetric(float64(first/n)/1e6, "first-byte-ms")
			b.ReportMetric(float64(b.Elapsed()/n)/1e6, "complete-ms")
			b.ReportMetric(float64(maxRetained)/1024, "heap-retained-KiB")
			b.ReportMetric(float64(maxPeak)/1024, "heap-peak-KiB")
			b.ReportMetric(float64(allocs)/float64(b.N)/1024, "alloc-KiB/op")
			b.ReportMetric(float64(rawFirst/n)/1e6, "raw-first-byte-ms")
			b.ReportMetric(float64(rawComplete/n)/1e6, "raw-complete-ms")
			b.ReportMetric(rawComplete.Seconds()/b.Elapsed().Seconds(), "x-raw")
		})
	}
}
