// Package w3c writes FTP access logs in the W3C Extended Log File Format
// (W3C Working Draft WD-logfile-960323, Hallam-Baker and Behlendorf; its
// earlier edition is the Internet-Draft draft-hallam-http-logfile-00), the
// format of IIS and of most log analysers.
//
// A [Writer] is an [ftp.AccessLogger]: set it as ftp.Server.AccessLog or a
// virtual host's AccessLog. Each file starts with the directives
//
//	#Software: Ferry 1.0
//	#Version: 1.0
//	#Date: 2026-11-25 14:30:00
//	#Fields: date time c-ip cs-username s-ip s-port cs-method cs-uri-stem sc-status sc-bytes cs-bytes time-taken cs-host
//
// followed by one line per command and per transfer, in UTC:
//
//	2026-11-25 14:30:02 192.0.2.7 alice 192.0.2.1 21 RETR /pub/read%20me.txt 226 1048576 0 0.412 ftp.example.org
//
// Text fields are escaped as URIs are (%20 for a space, %XX for each byte of
// a UTF-8 name), so no field contains a space and a line splits on spaces;
// "-" is an empty field. The argument of PASS is never written.
//
// # Files
//
// Config.Pattern names the files. Time variables go between double quotes
// in the file name: logs/ftp/"yyyymmdd".log starts a file per UTC day
// (logs/ftp/20261125.log). The variables are yyyy, yy, mm (month), dd and
// hh (hour); the finest one present sets the rotation: hourly, daily,
// monthly or yearly. A pattern without quotes names one file that never
// rotates. Files are opened with O_APPEND, so a restart continues the
// day's file, after a new block of directives.
//
// # Concurrency
//
// LogAccess may be called from any goroutine and never blocks: it copies
// the entry into a bounded queue, and one goroutine formats and writes the
// lines. When the queue is full the entry is dropped and counted
// ([Writer.Dropped]); [Writer.Close] writes every entry queued before it.
package w3c

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferryftp/ferry/ftp"
)

// Config configures a [Writer]. Only Pattern is required.
type Config struct {
	// Pattern is the file name, with time variables in double quotes:
	// logs/ftp/"yyyymmdd".log. See the package documentation.
	Pattern string
	// Dir is the directory of a relative Pattern. Empty means the
	// working directory.
	Dir string
	// RetentionDays, when positive, deletes the files of the pattern
	// whose period ended more than that many days ago, at start and at
	// each rotation: with a daily pattern and 7, today's file and the
	// seven before it are kept. Only files whose names the pattern
	// produces are deleted, never anything else in the directory. It
	// needs a pattern whose names carry the year and every unit down to
	// the rotation's ("yyyymmdd", not "mmdd"). Zero keeps every file.
	RetentionDays int
	// Now is the clock of the #Date directives, of retention, and of
	// entries without a Time. It must be safe for concurrent use. Nil
	// means time.Now. The file of an entry is chosen by the entry's Time.
	Now func() time.Time
	// QueueSize is the number of entries that may wait for the writer.
	// Zero means 4096.
	QueueSize int
	// Software is the value of the #Software directive; empty omits it.
	Software string
	// Logger receives write errors and the warning that entries were
	// dropped. Nil means slog.Default().
	Logger *slog.Logger
}

// DefaultQueueSize is the queue length when Config.QueueSize is zero.
const DefaultQueueSize = 4096

const (
	// flushInterval bounds how long a line may wait in the buffer while
	// the queue never empties.
	flushInterval = time.Second
	// lateSlack lets an entry stamped just before a rotation, and
	// dequeued just after it, go to the new file instead of reopening the
	// old one.
	lateSlack = time.Minute
	// warnInterval spaces out the warnings about dropped entries and
	// write errors.
	warnInterval = 10 * time.Second
	bufferSize   = 64 << 10
)

// A Writer is an [ftp.AccessLogger] writing W3C extended log files. Create
// it with [New]; stop it with [Writer.Close].
type Writer struct {
	cfg Config
	pat *pattern
	log *slog.Logger

	// mu guards closed and the closing of q; LogAccess holds it for
	// reading, only to send without blocking.
	mu     sync.RWMutex
	closed bool
	q      chan *ftp.LogEntry

	dropped  atomic.Uint64
	lastWarn atomic.Int64 // unix nanoseconds of the last drop warning

	closeOnce sync.Once
	done      chan struct{} // closed when run returns
	err       error         // of the final flush and close; set before done

	// Owned by the goroutine running run (and by New before it starts).
	f          *os.File
	bw         *bufio.Writer
	path       string
	start, end time.Time // the period of f
	buf        []byte
	pending    uint64 // lines in bw since the last flush
	lastFlush  time.Time
	lastErrLog time.Time

	// beforeWrite, when set by a test before run starts, is called for
	// each entry before it is written.
	beforeWrite func(e *ftp.LogEntry)
}

var _ ftp.AccessLogger = (*Writer)(nil)

var entryPool = sync.Pool{New: func() any { return new(ftp.LogEntry) }}

// New opens the current file of cfg.Pattern, creating its directory, runs
// retention, and starts the writing goroutine.
func New(cfg Config) (*Writer, error) {
	w, err := newWriter(cfg)
	if err != nil {
		return nil, err
	}
	go w.run()
	return w, nil
}

// newWriter is New without starting the goroutine.
func newWriter(cfg Config) (*Writer, error) {
	p, err := parsePattern(cfg.Pattern, cfg.Dir)
	if err != nil {
		return nil, err
	}
	if cfg.RetentionDays < 0 {
		return nil, fmt.Errorf("w3c: negative RetentionDays %d", cfg.RetentionDays)
	}
	if cfg.RetentionDays > 0 && !p.dated {
		return nil, fmt.Errorf("%w: %s: retention needs names that carry their date (\"yyyymmdd\")", ErrPattern, cfg.Pattern)
	}
	if cfg.QueueSize < 0 {
		return nil, fmt.Errorf("w3c: negative QueueSize %d", cfg.QueueSize)
	}
	if cfg.QueueSize == 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	w := &Writer{
		cfg:  cfg,
		pat:  p,
		log:  cfg.Logger,
		q:    make(chan *ftp.LogEntry, cfg.QueueSize),
		done: make(chan struct{}),
	}
	if w.log == nil {
		w.log = slog.Default()
	}
	if err := w.open(w.now()); err != nil {
		return nil, err
	}
	w.lastFlush = time.Now()
	return w, nil
}

func (w *Writer) now() time.Time {
	if w.cfg.Now != nil {
		return w.cfg.Now()
	}
	return time.Now()
}

// LogAccess queues a copy of e and returns at once. If the queue is full,
// or the Writer is closed, the entry is dropped and counted, and a warning
// is logged (at most once every 10 seconds).
func (w *Writer) LogAccess(e *ftp.LogEntry) {
	if e == nil {
		return
	}
	c := entryPool.Get().(*ftp.LogEntry)
	*c = *e
	w.mu.RLock()
	if !w.closed {
		select {
		case w.q <- c:
			w.mu.RUnlock()
			return
		default:
		}
	}
	w.mu.RUnlock()
	entryPool.Put(c)
	w.drop(1)
}

// Dropped returns the number of entries that were not written: the queue
// was full, the Writer was closed, or the file could not be written.
func (w *Writer) Dropped() uint64 { return w.dropped.Load() }

// drop counts n lost entries and warns, without blocking the caller.
func (w *Writer) drop(n uint64) {
	total := w.dropped.Add(n)
	now := time.Now().UnixNano()
	last := w.lastWarn.Load()
	if last != 0 && now-last < int64(warnInterval) {
		return
	}
	if w.lastWarn.CompareAndSwap(last, now) {
		// The logger may write to the disk that holds the writer up.
		go w.log.Warn("w3c: access log entries dropped", "pattern", w.cfg.Pattern, "dropped", total)
	}
}

// Close stops accepting entries, writes every queued entry, flushes and
// closes the file. If ctx ends first, Close returns ctx.Err() and the
// remaining entries are still written in the background. Close may be
// called more than once.
func (w *Writer) Close(ctx context.Context) error {
	w.closeOnce.Do(func() {
		w.mu.Lock()
		w.closed = true
		close(w.q)
		w.mu.Unlock()
	})
	select {
	case <-w.done:
		return w.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run writes the queued entries until the queue is closed and empty.
func (w *Writer) run() {
	defer close(w.done)
	for e := range w.q {
		if w.beforeWrite != nil {
			w.beforeWrite(e)
		}
		w.write(e)
		*e = ftp.LogEntry{}
		entryPool.Put(e)
		if len(w.q) == 0 || time.Since(w.lastFlush) >= flushInterval {
			w.flush()
		}
	}
	w.err = w.closeFile(true)
}

// write writes one entry to the file of its time, rotating first if the
// time left the current file's period.
func (w *Writer) write(e *ftp.LogEntry) {
	if e.Time.IsZero() {
		e.Time = w.now()
	}
	if w.f == nil || !e.Time.Before(w.end) || e.Time.Before(w.start.Add(-lateSlack)) {
		if err := w.rotate(e.Time); err != nil {
			w.writeError(err)
			w.drop(1)
			return
		}
	}
	w.buf = appendLine(w.buf[:0], e)
	w.pending++
	if _, err := w.bw.Write(w.buf); err != nil {
		w.failed(err)
	}
}

// rotate closes the current file, opens the file for t and runs retention
// when the name changed.
func (w *Writer) rotate(t time.Time) error {
	name := w.pat.name(t)
	if w.f != nil && name == w.path {
		// Same name for another period (a pattern such as "mmdd"
		// repeats yearly): keep writing.
		w.start, w.end = w.pat.period(t)
		return nil
	}
	if w.f != nil {
		if err := w.closeFile(false); err != nil {
			w.writeError(err)
		}
	}
	return w.open(t)
}

// open opens the file for t, writes the directives, and deletes expired
// files.
func (w *Writer) open(t time.Time) error {
	name := w.pat.name(t)
	if err := os.MkdirAll(filepath.Dir(name), 0o750); err != nil {
		return fmt.Errorf("w3c: %w", err)
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("w3c: %w", err)
	}
	w.f, w.path = f, name
	w.start, w.end = w.pat.period(t)
	if w.bw == nil {
		w.bw = bufio.NewWriterSize(f, bufferSize)
	} else {
		w.bw.Reset(f)
	}
	// The directives reach the file at once, for a reader that follows it.
	if err := w.writeHeader(w.now()); err != nil {
		w.failed(err)
		return fmt.Errorf("w3c: %w", err)
	}
	w.removeExpired()
	return nil
}

// writeHeader writes the directives that start each file (and each
// reopening of a file), Version and Fields first among the required ones
// (draft "Format": they "should precede all entries").
func (w *Writer) writeHeader(now time.Time) error {
	b := w.buf[:0]
	if w.cfg.Software != "" {
		b = append(b, "#Software: "...)
		b = appendDirectiveText(b, w.cfg.Software)
		b = append(b, '\n')
	}
	b = append(b, "#Version: "+Version+"\n#Date: "...)
	now = now.UTC()
	b = appendDate(b, now)
	b = append(b, ' ')
	b = appendTime(b, now)
	b = append(b, "\n#Fields: "+Fields+"\n"...)
	w.buf = b
	if _, err := w.bw.Write(b); err != nil {
		return err
	}
	return w.bw.Flush()
}

// appendDirectiveText writes s with each byte that is not printable ASCII
// as %XX: lines are ASCII and hold no control characters (draft "Format"
// and "Entries").
func appendDirectiveText(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7F || c == '%' {
			b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
			continue
		}
		b = append(b, c)
	}
	return b
}

// flush writes the buffered lines to the file.
func (w *Writer) flush() {
	w.lastFlush = time.Now()
	if w.f == nil || w.bw.Buffered() == 0 {
		return
	}
	if err := w.bw.Flush(); err != nil {
		w.failed(err)
		return
	}
	w.pending = 0
}

// failed handles a write error: the buffered lines are counted as
// dropped and the file is closed, to be opened again by the next entry.
func (w *Writer) failed(err error) {
	w.writeError(err)
	if w.pending > 0 {
		w.drop(w.pending)
		w.pending = 0
	}
	w.bw.Reset(io.Discard)
	w.f.Close()
	w.f = nil
}

// closeFile flushes and closes the current file; final also syncs it.
func (w *Writer) closeFile(final bool) error {
	if w.f == nil {
		return nil
	}
	err := w.bw.Flush()
	if err != nil && w.pending > 0 {
		w.drop(w.pending)
	}
	w.pending = 0
	if final && err == nil {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	w.f = nil
	w.bw.Reset(io.Discard)
	if err != nil {
		return fmt.Errorf("w3c: %w", err)
	}
	return nil
}

// writeError logs a write error, at most once every 10 seconds.
func (w *Writer) writeError(err error) {
	now := time.Now()
	if !w.lastErrLog.IsZero() && now.Sub(w.lastErrLog) < warnInterval {
		return
	}
	w.lastErrLog = now
	w.log.Error("w3c: access log write failed", "pattern", w.cfg.Pattern, "err", err)
}

// removeExpired deletes the pattern's files whose period ended more than
// RetentionDays ago. The current file is never deleted.
func (w *Writer) removeExpired() {
	if w.cfg.RetentionDays <= 0 {
		return
	}
	entries, err := os.ReadDir(w.pat.dir)
	if err != nil {
		w.writeError(err)
		return
	}
	cutoff := w.now().AddDate(0, 0, -w.cfg.RetentionDays)
	for _, de := range entries {
		if !de.Type().IsRegular() {
			continue
		}
		start, ok := w.pat.parse(de.Name())
		if !ok {
			continue
		}
		path := filepath.Join(w.pat.dir, de.Name())
		if path == w.path {
			continue
		}
		if _, end := w.pat.period(start); end.After(cutoff) {
			continue
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			w.writeError(err)
			continue
		}
		w.log.Info("w3c: expired access log removed", "file", path)
	}
}
