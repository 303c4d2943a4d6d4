package w3c

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/ftp"
)

// clock is an injected Config.Now, safe for concurrent use.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.Set(t)
	return c
}

func (c *clock) Now() time.Time  { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Set(t time.Time) { c.ns.Store(t.UnixNano()) }

func closeWriter(t testing.TB, w *Writer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, w.Close(ctx), "Close")
}

// records is a slog handler that passes records to a channel without
// blocking.
type records chan slog.Record

func (r records) Enabled(context.Context, slog.Level) bool { return true }
func (r records) Handle(_ context.Context, rec slog.Record) error {
	select {
	case r <- rec:
	default:
	}
	return nil
}
func (r records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r records) WithGroup(string) slog.Handler      { return r }

// waitRecord waits for a record whose message contains msg.
func waitRecord(t testing.TB, r records, msg string) slog.Record {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case rec := <-r:
			if strings.Contains(rec.Message, msg) {
				return rec
			}
		case <-timeout:
			require.FailNow(t, "no log record", "want a record %q", msg)
		}
	}
}

// quiet discards the warnings of tests that drop entries on purpose.
var quiet = slog.New(slog.DiscardHandler)

var (
	clientAP = netip.MustParseAddrPort("192.0.2.7:50123")
	serverAP = netip.MustParseAddrPort("192.0.2.1:21")
)

// checkEntry checks every field of a parsed entry against the entry that
// was logged.
func checkEntry(t testing.TB, got entry, want *ftp.LogEntry) {
	t.Helper()
	utc := want.Time.UTC()
	what := want.Method + " " + want.URI
	assert.Equal(t, utc.Format("2006-01-02"), got.get(t, "date"), "%s: date", what)
	assert.Equal(t, utc.Format("15:04:05"), got.get(t, "time"), "%s: time", what)
	assert.Equal(t, want.Remote.Addr().Unmap().String(), got.text(t, "c-ip"), "%s: c-ip", what)
	assert.Equal(t, want.User, got.text(t, "cs-username"), "%s: cs-username", what)
	assert.Equal(t, want.Local.Addr().Unmap().String(), got.text(t, "s-ip"), "%s: s-ip", what)
	assert.Equal(t, strconv.Itoa(int(want.Local.Port())), got.get(t, "s-port"), "%s: s-port", what)
	assert.Equal(t, want.Method, got.text(t, "cs-method"), "%s: cs-method", what)
	wantURI := want.URI
	if want.Method == "PASS" {
		wantURI = ""
	}
	assert.Equal(t, wantURI, got.text(t, "cs-uri-stem"), "%s: cs-uri-stem", what)
	assert.Equal(t, strconv.Itoa(want.Status), got.get(t, "sc-status"), "%s: sc-status", what)
	assert.Equal(t, strconv.FormatInt(want.Sent, 10), got.get(t, "sc-bytes"), "%s: sc-bytes", what)
	assert.Equal(t, strconv.FormatInt(want.Received, 10), got.get(t, "cs-bytes"), "%s: cs-bytes", what)
	taken, err := strconv.ParseFloat(got.get(t, "time-taken"), 64)
	if assert.NoError(t, err, "%s: time-taken is <fixed>", what) {
		assert.InDelta(t, want.Duration.Seconds(), taken, 0.0005, "%s: time-taken in seconds", what)
	}
	assert.Regexp(t, `^[0-9]+\.[0-9]{3}$`, got.get(t, "time-taken"), "%s: time-taken has milliseconds", what)
	assert.Equal(t, want.Host, got.text(t, "cs-host"), "%s: cs-host", what)
}

// TestWriterFields logs a session's commands and transfers and reads every
// field back.
func TestWriterFields(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	at := time.Date(2026, 11, 25, 14, 29, 0, 0, time.UTC)
	w, err := New(Config{Pattern: `logs/ftp/"yyyymmdd".log`, Dir: dir, Now: newClock(at).Now, Software: "Ferry test"})
	require.NoError(t, err, "New")

	v6c, v6s := netip.MustParseAddrPort("[2001:db8::7]:40000"), netip.MustParseAddrPort("[2001:db8::1]:2121")
	e := func(sec int, user, method, uri string, status int, sent, recv int64, d time.Duration) *ftp.LogEntry {
		return &ftp.LogEntry{
			Time: at.Add(time.Duration(sec) * time.Second), Remote: clientAP, Local: serverAP,
			User: user, Method: method, URI: uri, Status: status, Sent: sent, Received: recv, Duration: d,
		}
	}
	entries := []*ftp.LogEntry{
		e(1, "", "USER", "alice", 331, 0, 0, time.Millisecond),
		e(2, "", "PASS", "", 230, 0, 0, 3*time.Millisecond),
		e(2, "alice", "PASS", "leaked-secret", 503, 0, 0, 0), // the writer blanks it too
		e(3, "alice", "CWD", "/dir with spaces", 250, 0, 0, 0),
		e(4, "alice", "RETR", "/pub/été 日本.txt", 226, 1048576, 0, 1412*time.Millisecond),
		e(5, "alice", "STOR", `/up/"quoted" name's+100%.bin`, 226, 0, 65536, 250*time.Millisecond),
		e(6, "alice", "LIST", "", 226, 1234, 0, 20*time.Millisecond),
		e(7, "alice", "DELE", "/a\tb\x01c?#", 550, 0, 0, 0),
		e(8, "alice", "RETR", "-", 226, 0, 0, 0),
		e(9, "bob smith", "QUIT", "", 221, 0, 0, 0),
	}
	entries[2].Host = "ftp.example.org"
	entries[6].Host = "ftp.example.org"
	entries[9].Remote, entries[9].Local = v6c, v6s
	for _, le := range entries {
		w.LogAccess(le)
	}
	closeWriter(t, w)
	assert.Zero(t, w.Dropped(), "nothing dropped")

	path := filepath.Join(dir, "logs", "ftp", "20261125.log")
	raw, err := os.ReadFile(path)
	require.NoError(t, err, "the day's file")
	assert.NotContains(t, string(raw), "leaked-secret", "a PASS argument never reaches the file")
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), st.Mode().Perm()&^0o022, "file mode")

	f := parseLog(t, path)
	assert.Equal(t, []directive{
		{"Software", "Ferry test"},
		{"Version", "1.0"},
		{"Date", "2026-11-25 14:29:00"},
		{"Fields", Fields},
	}, f.Directives, "directives")
	require.Len(t, f.Entries, len(entries), "one entry per LogAccess:\n%v", f)
	for i, want := range entries {
		checkEntry(t, f.Entries[i], want)
	}
	assert.Equal(t, "/pub/%C3%A9t%C3%A9%20%E6%97%A5%E6%9C%AC.txt", f.Entries[4].get(t, "cs-uri-stem"), "UTF-8 escaped by byte")
	assert.Equal(t, "%2D", f.Entries[8].get(t, "cs-uri-stem"), "a file named - is not an empty field")
	assert.Equal(t, "-", f.Entries[6].get(t, "cs-uri-stem"), "an empty URI is -")
	assert.Equal(t, "1.412", f.Entries[4].get(t, "time-taken"), "time-taken")
}

// TestRotationDayBoundary crosses midnight UTC with an injected clock: two
// files, each starting with its directives.
func TestRotationDayBoundary(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	day1 := time.Date(2026, 11, 25, 23, 59, 58, 0, time.UTC)
	day2 := time.Date(2026, 11, 26, 0, 0, 1, 0, time.UTC)
	clk := newClock(day1)
	cfg := Config{Pattern: `ex"yymmdd".log`, Dir: dir, Now: clk.Now}
	w, err := New(cfg)
	require.NoError(t, err, "New")

	entry := func(t time.Time, uri string) *ftp.LogEntry {
		return &ftp.LogEntry{Time: t, Remote: clientAP, Local: serverAP, User: "u", Method: "RETR", URI: uri, Status: 226, Sent: 10}
	}
	e1 := entry(day1.Add(time.Second+999*time.Millisecond), "/before-midnight")
	w.LogAccess(e1)
	// The clock moves on before the next entry is logged, so the writer
	// reads it when it opens the second file.
	clk.Set(day2)
	e2 := entry(day2, "/after-midnight")
	w.LogAccess(e2)
	// Stamped before midnight but dequeued after it: it stays in the new
	// file rather than reopening the old one.
	e3 := entry(day2.Add(-2*time.Second), "/late")
	w.LogAccess(e3)
	closeWriter(t, w)

	f1 := parseLog(t, filepath.Join(dir, "ex261125.log"))
	assert.Equal(t, []string{"2026-11-25 23:59:58"}, f1.directive("Date"), "#Date of the first file is its opening")
	assert.Equal(t, []string{Fields}, f1.directive("Fields"), "#Fields of the first file")
	assert.Equal(t, []string{"1.0"}, f1.directive("Version"), "#Version of the first file")
	assert.Empty(t, f1.directive("Software"), "no #Software when Config.Software is empty")
	require.Len(t, f1.Entries, 1, "the first day:\n%v", f1)
	checkEntry(t, f1.Entries[0], e1)

	f2 := parseLog(t, filepath.Join(dir, "ex261126.log"))
	assert.Equal(t, []directive{{"Version", "1.0"}, {"Date", "2026-11-26 00:00:01"}, {"Fields", Fields}}, f2.Directives, "directives of the second file")
	require.Len(t, f2.Entries, 2, "the second day:\n%v", f2)
	checkEntry(t, f2.Entries[0], e2)
	checkEntry(t, f2.Entries[1], e3)

	// A restart the same day appends to the day's file, after a new block
	// of directives.
	clk.Set(day2.Add(time.Hour))
	w, err = New(cfg)
	require.NoError(t, err, "New again")
	e4 := entry(day2.Add(time.Hour), "/after-restart")
	w.LogAccess(e4)
	closeWriter(t, w)
	f2 = parseLog(t, filepath.Join(dir, "ex261126.log"))
	assert.Equal(t, []string{"2026-11-26 00:00:01", "2026-11-26 01:00:01"}, f2.directive("Date"), "one #Date per opening")
	assert.Len(t, f2.directive("Fields"), 2, "one #Fields per opening")
	require.Len(t, f2.Entries, 3, "appended:\n%v", f2)
	checkEntry(t, f2.Entries[2], e4)

	names, err := filepath.Glob(filepath.Join(dir, "*"))
	require.NoError(t, err)
	assert.Len(t, names, 2, "two files: %v", names)
}

// TestPlainPatternNeverRotates: a pattern without quotes is one file.
func TestPlainPatternNeverRotates(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	w, err := New(Config{
		Pattern: "access-yyyymmdd.log", Dir: dir, Now: newClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)).Now,
		Software: "Ferry\n1.0 © 100%",
	})
	require.NoError(t, err, "New")
	for i := range 3 {
		w.LogAccess(&ftp.LogEntry{Time: time.Date(2026, 1, 1+i*40, 12, 0, 0, 0, time.UTC), Method: "NOOP", Status: 200})
	}
	closeWriter(t, w)
	f := parseLog(t, filepath.Join(dir, "access-yyyymmdd.log"))
	assert.Len(t, f.directive("Fields"), 1, "one block of directives")
	assert.Equal(t, []string{"Ferry%0A1.0 %C2%A9 100%25"}, f.directive("Software"), "#Software stays one ASCII line")
	require.Len(t, f.Entries, 3, "every entry in the one file")
	assert.Equal(t, "2026-03-22", f.Entries[2].get(t, "date"), "date of the last entry")
}

// TestRetention deletes the pattern's expired files at start and at
// rotation, and nothing else.
func TestRetention(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	require.NoError(t, os.MkdirAll(filepath.Join(logs, "ex20261102.log"), 0o755), "a directory with a log name")
	write := func(name string) {
		require.NoError(t, os.WriteFile(filepath.Join(logs, name), []byte("x\n"), 0o644), "create %s", name)
	}
	keepAlways := []string{
		"notes.txt", "ex20261101.log.gz", "ex20261341.log", "ex2026110.log", "other-20261101.log",
		"EX20261101.log", "ex20261101.LOG", "ex20261101.log~",
	}
	for _, n := range keepAlways {
		write(n)
	}
	for _, n := range []string{"ex20261120.log", "ex20261121.log", "ex20261122.log", "ex20261124.log"} {
		write(n)
	}
	require.NoError(t, os.Symlink("notes.txt", filepath.Join(logs, "ex20261103.log")), "a symlink with a log name")

	clk := newClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	w, err := New(Config{Pattern: `logs/ex"yyyymmdd".log`, Dir: dir, RetentionDays: 3, Now: clk.Now, Logger: quiet})
	require.NoError(t, err, "New")

	exists := func(name string) bool {
		_, err := os.Lstat(filepath.Join(logs, name))
		return err == nil
	}
	// At start, the cutoff is 2026-11-22 12:00: a day's file goes once the
	// day ended before it.
	assert.False(t, exists("ex20261120.log"), "ended 21st 00:00: deleted at start")
	assert.False(t, exists("ex20261121.log"), "ended 22nd 00:00: deleted at start")
	assert.True(t, exists("ex20261122.log"), "ends 23rd 00:00: kept")
	assert.True(t, exists("ex20261124.log"), "kept")
	assert.True(t, exists("ex20261125.log"), "today's file is open")

	// Two days later the rotation runs retention again: the cutoff is
	// 2026-11-24 00:00:05.
	later := time.Date(2026, 11, 27, 0, 0, 5, 0, time.UTC)
	clk.Set(later)
	w.LogAccess(&ftp.LogEntry{Time: later, Method: "NOOP", Status: 200})
	closeWriter(t, w)
	assert.False(t, exists("ex20261122.log"), "ended 23rd: deleted at rotation")
	assert.True(t, exists("ex20261124.log"), "ends 25th 00:00: kept")
	assert.True(t, exists("ex20261125.log"), "kept")
	assert.True(t, exists("ex20261127.log"), "the new file")
	for _, n := range append(keepAlways, "ex20261102.log", "ex20261103.log") {
		assert.True(t, exists(n), "%s is not the pattern's file and must be kept", n)
	}
}

// TestCloseDrains queues 100,000 entries while the writer is held, then
// closes at once: every entry is in the file, in order.
func TestCloseDrains(t *testing.T) {
	t.Parallel()
	const n = 100_000
	dir := t.TempDir()
	w, err := newWriter(Config{Pattern: "access.log", Dir: dir, QueueSize: n})
	require.NoError(t, err, "New")
	release := make(chan struct{})
	var once sync.Once
	w.beforeWrite = func(*ftp.LogEntry) { once.Do(func() { <-release }) }
	go w.run()

	base := time.Now()
	for i := range n {
		w.LogAccess(&ftp.LogEntry{
			Time: base, Remote: clientAP, Local: serverAP, User: "u",
			Method: "RETR", URI: "/f/" + strconv.Itoa(i), Status: 226, Sent: int64(i),
		})
	}
	close(release)
	closeWriter(t, w)
	assert.Zero(t, w.Dropped(), "nothing dropped")

	data, err := os.ReadFile(filepath.Join(dir, "access.log"))
	require.NoError(t, err)
	next := 0
	scanLog(t, string(data), func(d *directive, e *entry) {
		if e == nil {
			return
		}
		if uri := e.values[e.index["cs-uri-stem"]]; uri != "/f/"+strconv.Itoa(next) {
			require.Failf(t, "order", "entry %d has URI %s", next, uri)
		}
		next++
	})
	assert.Equal(t, n, next, "every entry queued before Close is written")
}

// TestLogAccessNeverBlocks holds the writer: LogAccess still returns at
// once, drops what does not fit and counts it, and warns.
func TestLogAccessNeverBlocks(t *testing.T) {
	t.Parallel()
	const queue, extra = 8, 1000
	dir := t.TempDir()
	logs := make(records, 64)
	w, err := newWriter(Config{Pattern: "access.log", Dir: dir, QueueSize: queue, Logger: slog.New(logs)})
	require.NoError(t, err, "New")
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	w.beforeWrite = func(*ftp.LogEntry) { once.Do(func() { close(entered); <-release }) }
	go w.run()

	w.LogAccess(&ftp.LogEntry{Method: "NOOP", Status: 200})
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		require.FailNow(t, "the writer did not take the first entry")
	}
	// The writer is stuck in its write: the queue fills, then overflows.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range extra {
			w.LogAccess(&ftp.LogEntry{Method: "NOOP", URI: strconv.Itoa(i), Status: 200})
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		close(release)
		require.FailNow(t, "LogAccess blocked while the writer was stalled")
	}
	assert.Equal(t, uint64(extra-queue), w.Dropped(), "entries beyond the queue are dropped and counted")
	rec := waitRecord(t, logs, "dropped")
	assert.Equal(t, slog.LevelWarn, rec.Level, "a drop is a warning")

	close(release)
	closeWriter(t, w)
	f := parseLog(t, filepath.Join(dir, "access.log"))
	assert.Len(t, f.Entries, 1+queue, "the held entry and the queue are written")
	assert.Equal(t, uint64(extra-queue), w.Dropped(), "Dropped after Close")

	w.LogAccess(&ftp.LogEntry{Method: "NOOP"})
	assert.Equal(t, uint64(extra-queue+1), w.Dropped(), "an entry after Close is dropped, without panic")
	closeWriter(t, w) // a second Close is harmless
}

// TestConcurrentLogging logs from many goroutines with the race detector
// on: every entry is written or counted as dropped, and each goroutine's
// entries keep their order.
func TestConcurrentLogging(t *testing.T) {
	t.Parallel()
	const goroutines, each = 32, 1000
	dir := t.TempDir()
	w, err := New(Config{Pattern: `"yyyymmdd".log`, Dir: dir, Logger: quiet})
	require.NoError(t, err, "New")
	now := time.Now()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				w.LogAccess(&ftp.LogEntry{
					Time: now, Remote: clientAP, Local: serverAP,
					User: "u" + strconv.Itoa(g), Method: "SIZE", URI: fmt.Sprintf("/%d/%d", g, i), Status: 213,
				})
				_ = w.Dropped()
			}
		})
	}
	wg.Wait()
	closeWriter(t, w)

	last := make([]int, goroutines)
	for i := range last {
		last[i] = -1
	}
	written := 0
	names, err := filepath.Glob(filepath.Join(dir, "*.log"))
	require.NoError(t, err)
	for _, name := range names { // two when the test runs across midnight
		for _, e := range parseLog(t, name).Entries {
			var g, i int
			_, err := fmt.Sscanf(e.text(t, "cs-uri-stem"), "/%d/%d", &g, &i)
			require.NoError(t, err, "URI")
			assert.Equal(t, "u"+strconv.Itoa(g), e.text(t, "cs-username"), "user of goroutine %d", g)
			assert.Greater(t, i, last[g], "goroutine %d: entries in order", g)
			last[g] = i
			written++
		}
	}
	assert.Equal(t, uint64(goroutines*each), uint64(written)+w.Dropped(), "written %d + dropped %d", written, w.Dropped())
}

// TestCloseWhileLogging closes the writer while goroutines are logging.
func TestCloseWhileLogging(t *testing.T) {
	t.Parallel()
	const goroutines, each = 8, 2000
	dir := t.TempDir()
	w, err := New(Config{Pattern: "access.log", Dir: dir, Logger: quiet})
	require.NoError(t, err, "New")
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			<-start
			for range each {
				w.LogAccess(&ftp.LogEntry{Method: "NOOP", Status: 200})
			}
		})
	}
	close(start)
	closeWriter(t, w)
	wg.Wait()
	f := parseLog(t, filepath.Join(dir, "access.log"))
	assert.Equal(t, uint64(goroutines*each), uint64(len(f.Entries))+w.Dropped(), "written + dropped")
}

// TestFlushWhenIdle: a line reaches the file when the queue empties,
// without waiting for Close.
func TestFlushWhenIdle(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	w, err := New(Config{Pattern: "access.log", Dir: dir})
	require.NoError(t, err, "New")
	defer closeWriter(t, w)
	w.LogAccess(&ftp.LogEntry{Method: "NOOP", URI: "idle-flush", Status: 200})
	path := filepath.Join(dir, "access.log")
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(path)
		return err == nil && strings.Contains(string(b), "idle-flush")
	}, 10*time.Second, 5*time.Millisecond, "the line is flushed once the queue is empty")
}

// TestWriteErrorRecovers loses the file under the writer: the buffered
// lines are counted as dropped, the error is logged, and the next entry
// opens the file again with its directives.
func TestWriteErrorRecovers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	logs := make(records, 64)
	w, err := newWriter(Config{Pattern: "access.log", Dir: dir, Logger: slog.New(logs)})
	require.NoError(t, err, "New")
	release := make(chan struct{})
	w.beforeWrite = func(e *ftp.LogEntry) {
		switch e.URI {
		case "1":
			<-release // until 1, 2 and 3 are queued: no flush between them
		case "2":
			w.f.Close() // the next flush fails
		}
	}
	go w.run()
	for _, u := range []string{"1", "2", "3"} {
		w.LogAccess(&ftp.LogEntry{Method: "NOOP", URI: u, Status: 200})
	}
	close(release)
	waitRecord(t, logs, "write failed")
	w.LogAccess(&ftp.LogEntry{Method: "NOOP", URI: "4", Status: 200})
	closeWriter(t, w)

	assert.Equal(t, uint64(3), w.Dropped(), "the three buffered lines are lost and counted")
	f := parseLog(t, filepath.Join(dir, "access.log"))
	require.Len(t, f.Entries, 1, "only the entry after the error:\n%v", f)
	assert.Equal(t, "4", f.Entries[0].text(t, "cs-uri-stem"), "the entry after the error")
	assert.Len(t, f.directive("Fields"), 2, "directives again after reopening")
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(blocker, nil, 0o644))
	for _, cfg := range []Config{
		{Pattern: `"yyyymmdd.log`, Dir: dir},
		{Pattern: `"mmdd".log`, Dir: dir, RetentionDays: 7},
		{Pattern: "access.log", Dir: dir, RetentionDays: 7},
		{Pattern: "access.log", Dir: dir, RetentionDays: -1},
		{Pattern: "access.log", Dir: dir, QueueSize: -1},
		{Pattern: "sub/access.log", Dir: blocker}, // the directory is a file
	} {
		w, err := New(cfg)
		if !assert.Error(t, err, "New(%+v) must fail", cfg) {
			closeWriter(t, w)
		}
	}
}

// BenchmarkWriter measures LogAccess through to the file.
func BenchmarkWriter(b *testing.B) {
	w, err := New(Config{Pattern: "access.log", Dir: b.TempDir(), QueueSize: 1 << 16, Logger: quiet})
	require.NoError(b, err)
	e := &ftp.LogEntry{
		Time: time.Now(), Remote: clientAP, Local: serverAP,
		User: "alice", Method: "RETR", URI: "/pub/read me.txt", Status: 226, Sent: 1048576, Duration: 412 * time.Millisecond,
	}
	b.ReportAllocs()
	for b.Loop() {
		w.LogAccess(e)
	}
	closeWriter(b, w)
	b.ReportMetric(float64(w.Dropped()), "dropped")
}
