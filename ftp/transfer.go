package ftp

import (
	"context"
	"errors"
	"github.com/ferryftp/ferry/quota"
	"io"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// transfer is one data transfer in flight. It runs in its own goroutine so
// that the control connection keeps answering ABOR, STAT and NOOP.
type transfer struct {
	verb  string
	path  string // virtual path, for STAT
	start time.Time

	cancel context.CancelFunc
	done   chan struct{} // closed when the final reply has been sent

	q        *quota.Transfer // the user's limits, nil when none
	bytes    atomic.Int64    // moved so far
	aborted  atomic.Bool     // by ABOR or by the connection closing
	timedOut atomic.Bool     // by the data watchdog

	mu sync.Mutex // guards dc
	dc net.Conn

	// spare is the passive listener of a transfer that ended well, for
	// the session to use again; see openPassive. The transfer goroutine
	// sets it and hands it over under xferMu.
	spare *passiveData
}

func (t *transfer) setData(dc net.Conn) {
	t.mu.Lock()
	t.dc = dc
	t.mu.Unlock()
}

// closeData closes the data connection, unblocking any I/O on it.
func (t *transfer) closeData() {
	t.mu.Lock()
	if t.dc != nil {
		t.dc.Close()
	}
	t.mu.Unlock()
}

// abort stops the transfer; its goroutine answers 426.
func (t *transfer) abort() {
	t.aborted.Store(true)
	t.cancel()
	t.closeData()
}

// xferFunc moves the bytes of one transfer over the open data connection,
// counting them in t.bytes.
type xferFunc func(ctx context.Context, t *transfer, dc net.Conn) error

// startTransfer opens the prepared data connection and runs fn in a new
// goroutine: "150" now, then "226" or the error's reply when fn returns.
// cleanup runs after fn in every case, also when the data connection never
// opened; it is where handlers close their files.
//
// q, when not nil, is the user's quota for this transfer: fn's copy loops
// honour its rate and limits through t, and it ends with the transfer.
func (c *conn) startTransfer(verb, virt, opening string, q *quota.Transfer, fn xferFunc, cleanup func()) {
	ds := c.data
	c.data = nil
	c.rest = 0
	if q != nil {
		inner := cleanup
		cleanup = func() {
			q.End()
			if inner != nil {
				inner()
			}
		}
	}
	if ds == nil {
		if cleanup != nil {
			cleanup()
		}
		c.reply(StatusCannotOpenData, "Use PORT, PASV, EPRT or EPSV first.")
		return
	}
	c.xferStarted = true
	ctx, cancel := context.WithCancel(c.ctx)
	t := &transfer{verb: verb, path: virt, start: time.Now(), cancel: cancel, done: make(chan struct{}), q: q}
	c.xferMu.Lock()
	c.xfer = t
	c.conn().SetReadDeadline(time.Time{})
	c.xferMu.Unlock()
	c.reply(StatusFileStatusOK, opening)

	go func() {
		defer close(t.done)
		defer cancel()
		code, msg, ok := c.runTransferSafe(ctx, t, ds, fn, cleanup)
		// The final reply goes out before the transfer is seen to end:
		// Shutdown must not say 421 to a session whose 226 is still
		// on its way.
		var sent, received int64
		if t.inbound() {
			received = t.bytes.Load()
		} else {
			sent = t.bytes.Load()
		}
		al, entry := c.accessEntry(t.verb, t.path, code, sent, received, t.start)
		c.xferMu.Lock()
		c.xfer = nil
		if t.spare != nil {
			if c.spare != nil {
				c.spare.close()
			}
			c.spare = t.spare
		}
		c.conn().SetReadDeadline(time.Now().Add(c.srv.idleTimeout()))
		c.reply(code, msg)
		c.xferMu.Unlock()
		if al != nil {
			al.LogAccess(entry)
		}
		if !ok {
			c.close()
		}
	}()
}

// runTransferSafe is runTransfer with the recovery of the serve loop: a
// panic, in a plug-in for example, is logged with its stack and answered
// 421, and ok is false: the connection must close.
func (c *conn) runTransferSafe(ctx context.Context, t *transfer, ds dataSetup, fn xferFunc, cleanup func()) (code int, msg string, ok bool) {
	defer func() {
		if v := recover(); v != nil {
			c.log.Error("panic in transfer", "verb", t.verb, "panic", v, "stack", string(debug.Stack()))
			code, msg, ok = StatusServiceNotAvailable, "Internal error; closing control connection.", false
		}
	}()
	code, msg = c.runTransfer(ctx, t, ds, fn, cleanup)
	return code, msg, true
}

func (c *conn) runTransfer(ctx context.Context, t *transfer, ds dataSetup, fn xferFunc, cleanup func()) (int, string) {
	if cleanup != nil {
		defer cleanup()
	}
	defer func() {
		if t.spare == nil {
			ds.close()
		}
	}()
	dc, err := ds.open(ctx, c.srv.dataTimeout())
	if err != nil {
		if t.aborted.Load() {
			return StatusTransferAborted, "Connection closed; transfer aborted."
		}
		c.log.Debug("data connection failed", "err", err)
		return StatusCannotOpenData, "Can't open data connection."
	}
	// ABOR and the watchdog close the TCP connection itself, under TLS
	// too: that stops a handshake or a transfer at once.
	t.setData(dc)
	dc, err = c.wrapData(ctx, dc)
	if err != nil {
		if t.aborted.Load() {
			return StatusTransferAborted, "Connection closed; transfer aborted."
		}
		c.log.Debug("data connection refused", "err", err)
		return errorReplyText(err, StatusCannotOpenData, "Can't open data connection.")
	}
	stop := c.watchTransfer(t)
	// On a panic in fn, too, the watchdog stops and the data connection
	// closes.
	defer stop()
	defer dc.Close()
	err = fn(ctx, t, dc)
	stop()
	if cerr := closeWrite(dc); err == nil && cerr != nil && !t.inbound() {
		// An upload is complete once its end has been read; the
		// client may have closed already (under TLS 1.3, with a
		// session ticket unread, its close is a reset).
		err = &dataError{cerr}
	}
	dc.Close()
	switch {
	case t.aborted.Load():
		return StatusTransferAborted, "Connection closed; transfer aborted."
	case t.timedOut.Load():
		return StatusTransferAborted, "Data connection timed out; transfer aborted."
	case err == nil:
		c.log.Debug("transfer complete", "verb", t.verb, "path", t.path, "bytes", t.bytes.Load())
		if p, ok := ds.(*passiveData); ok && p.reusable && ctx.Err() == nil {
			t.spare = p // never after an abort, a timeout or an error
		}
		return StatusClosingDataConnection, "Transfer complete."
	case isQuotaError(err):
		c.log.Info("transfer stopped at a limit", "verb", t.verb, "path", t.path, "err", err)
		fe := quotaReply(err, t.inbound())
		return fe.Code, fe.Msg
	case isDataError(err):
		c.log.Debug("data connection lost", "verb", t.verb, "err", err)
		return StatusTransferAborted, "Data connection lost; transfer aborted."
	}
	code, msg, known := errorReply(err)
	if !known {
		c.log.Error("transfer failed", "verb", t.verb, "path", t.path, "err", err)
	}
	return code, msg
}

func errorReplyText(err error, defCode int, defMsg string) (int, string) {
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Code, fe.Msg
	}
	return defCode, defMsg
}

// inbound reports whether the client sends the data (STOR, APPE, STOU).
func (t *transfer) inbound() bool {
	return t.verb == "STOR" || t.verb == "APPE" || t.verb == "STOU"
}

// closeWrite ends the data stream cleanly: a TLS close_notify, or nothing
// for TCP (Close sends the FIN).
func closeWrite(dc net.Conn) error {
	type closeWriter interface{ CloseWrite() error }
	if cw, ok := dc.(closeWriter); ok {
		if _, isTCP := dc.(*net.TCPConn); !isTCP {
			return cw.CloseWrite()
		}
	}
	return nil
}

// watchTransfer drops a data connection that makes no progress for
// DataTimeout.
func (c *conn) watchTransfer(t *transfer) (stop func()) {
	// A timer rather than a goroutine: most transfers end before it
	// ever fires, and a small file should not pay for a goroutine.
	d := c.srv.dataTimeout()
	var mu sync.Mutex // guards tm, last and stopped
	var tm *time.Timer
	var stopped bool
	last := t.bytes.Load()
	mu.Lock()
	tm = time.AfterFunc(d, func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		n := t.bytes.Load()
		if n == last {
			t.timedOut.Store(true)
			t.closeData()
			return
		}
		last = n
		tm.Reset(d)
	})
	mu.Unlock()
	return func() {
		mu.Lock()
		stopped = true
		tm.Stop()
		mu.Unlock()
	}
}

// dataError marks an error of the data connection, as opposed to one of the
// file system: the client gets 426, not 451.
type dataError struct{ err error }

func (e *dataError) Error() string { return "data connection: " + e.err.Error() }
func (e *dataError) Unwrap() error { return e.err }

func isDataError(err error) bool {
	var de *dataError
	var oe *net.OpError
	return errors.As(err, &de) || errors.As(err, &oe) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF)
}

// chunkSize is how many bytes move between two progress updates (STAT, the
// data watchdog, cancellation). A kernel copy (sendfile, splice) runs inside
// each chunk.
const chunkSize = 1 << 20

// copyChunks copies src to dst in chunks, counting progress in t. When dst
// is a *net.TCPConn and src an *os.File (or the other way round), io.Copy
// sees them through the *io.LimitedReader and the kernel moves the bytes.
//
// Under a quota, a chunk is never more than the bytes left before an
// amount or ratio limit; an unlimited user's chunks stay chunkSize, and
// keep the kernel copy. A rate-limited transfer goes through copyBuffered
// instead: its bytes are read, then waited for, then written, so that the
// limiter is charged the bytes that really move, no more (a chunk waited
// for before the copy would be charged in full however short it turns out
// at the end of the data, and a user moving many small files would get a
// fraction of the rate).
func copyChunks(ctx context.Context, t *transfer, dst io.Writer, src io.Reader) error {
	lr := &io.LimitedReader{R: src}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if t.q != nil && t.q.Limited() {
			_, srcIsData := src.(net.Conn)
			return copyBuffered(ctx, t, dst, src, srcIsData)
		}
		want := t.budget(chunkSize)
		if want == 0 {
			if err := t.atLimit(ctx, dst, src); err != nil {
				if err == io.EOF {
					return nil
				}
				return err
			}
			continue
		}
		lr.N = want
		n, err := io.Copy(dst, lr)
		t.bytes.Add(n)
		if qerr := t.account(n); qerr != nil {
			return qerr
		}
		if err != nil {
			return err
		}
		if n < want {
			return nil
		}
	}
}

// budget returns how many bytes the next chunk may move: at most max, at
// most the rate limiter's burst, and no more than the bytes left before an
// amount or ratio limit. It returns 0 at such a limit: see atLimit.
func (t *transfer) budget(max int64) int64 {
	q := t.q
	if q == nil {
		return max
	}
	n := max
	if q.Limited() {
		n = min(n, int64(q.Burst()))
	}
	if rem := q.Remaining(); rem >= 0 {
		n = min(n, rem)
	}
	return n
}

// pace waits until n bytes, read and about to be written, may move under
// the user's speed limit.
func (t *transfer) pace(ctx context.Context, n int) error {
	if t.q == nil {
		return nil
	}
	return t.q.WaitN(ctx, n)
}

// atLimit is the step of a transfer that has reached an amount or ratio
// limit: it reads one byte of src to tell the end of the data (io.EOF)
// from a transfer the limit cuts (the limit's error; the byte is not
// written, so the data moved and the counters stop exactly at the limit).
// If the limit moved meanwhile (a new period, an upload raising the ratio
// balance), the byte is written and accounted and atLimit returns nil.
// Other errors are src's or dst's.
func (t *transfer) atLimit(ctx context.Context, dst io.Writer, src io.Reader) error {
	var one [1]byte
	n, err := io.ReadFull(src, one[:])
	if n == 0 {
		return err
	}
	if qerr := t.q.Err(); qerr != nil {
		return qerr
	}
	if err := t.pace(ctx, n); err != nil {
		return err
	}
	w, err := dst.Write(one[:n])
	t.bytes.Add(int64(w))
	if qerr := t.account(int64(w)); qerr != nil && err == nil {
		return qerr
	}
	return err
}

// account records n bytes against the quota; the error stops the transfer
// at a limit.
func (t *transfer) account(n int64) error {
	if t.q == nil || n == 0 {
		return nil
	}
	return t.q.Add(n)
}

// copyBuffered copies with a buffer, for streams that cannot be handed to
// the kernel (TLS, TYPE A conversion) and for rate-limited transfers;
// progress is counted per write. Under a speed limit, each chunk read
// waits for the user's limiter before it is written (see copyChunks).
// srcIsData says which side is the data connection, so that its errors are
// told apart from the file system's.
func copyBuffered(ctx context.Context, t *transfer, dst io.Writer, src io.Reader, srcIsData bool) error {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		want := t.budget(int64(len(buf)))
		atLimit := want == 0
		if atLimit {
			want = 1 // one byte tells the end of the data from more (see atLimit)
		}
		n, rerr := src.Read(buf[:want])
		if n > 0 {
			if atLimit {
				if qerr := t.q.Err(); qerr != nil {
					return qerr
				}
			}
			if err := t.pace(ctx, n); err != nil {
				return err
			}
			w, werr := dst.Write(buf[:n])
			t.bytes.Add(int64(w))
			if qerr := t.account(int64(w)); qerr != nil && werr == nil {
				return qerr
			}
			if werr != nil {
				if !srcIsData {
					werr = &dataError{werr}
				}
				return werr
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			if srcIsData {
				rerr = &dataError{rerr}
			}
			return rerr
		}
	}
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// isOSFile reports whether f is an *os.File, the precondition of the
// kernel copy.
func isOSFile(f any) bool {
	_, ok := f.(*os.File)
	return ok
}
