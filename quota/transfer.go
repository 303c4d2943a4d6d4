package quota

import (
	"context"
	"io"
	"sync/atomic"
	"time"
)

// Transfer is one transfer of a [User], from [User.Begin] to
// [Transfer.End]. It accounts bytes as they move into the user's shared
// counters and paces them with the user's shared speed limiter, so that
// all the user's sessions together keep to the limits. A Transfer is safe
// for concurrent use, though a transfer normally has one goroutine.
type Transfer struct {
	u     *User
	dir   Direction
	ended atomic.Bool
}

// Limited reports whether the transfer's direction is rate limited now.
// When it is not, [Transfer.WaitN] never waits and the caller may move
// bytes in any size, keeping a zero-copy path (see [Transfer.Copy]).
func (t *Transfer) Limited() bool { return t.u.limiter(t.dir) != nil }

// Burst returns the chunk size, in bytes, to move at a time when
// [Transfer.Limited]: the limiter's burst, a tenth of a second's worth of
// the rate, at least 32 KiB (or a quarter second's worth, if smaller), at
// most 1 MiB. When not limited it returns 32 KiB, a fair buffer size.
func (t *Transfer) Burst() int {
	if lim := t.u.limiter(t.dir); lim != nil {
		return lim.Burst()
	}
	return defaultChunk
}

// WaitN blocks until n bytes may move under the user's speed limit, or
// ctx is done. It returns at once when the direction is not limited. An n
// larger than [Transfer.Burst] is waited for in Burst pieces.
func (t *Transfer) WaitN(ctx context.Context, n int) error {
	for n > 0 {
		lim := t.u.limiter(t.dir)
		if lim == nil {
			return ctx.Err()
		}
		k := min(n, lim.Burst())
		if err := lim.WaitN(ctx, k); err != nil {
			return err
		}
		n -= k
	}
	return ctx.Err()
}

// DelayAt reserves n bytes of the user's speed limit at now and returns
// how long after now they may move: [Transfer.WaitN] with an explicit
// clock, for tests and simulations. It returns 0 when the direction is not
// limited. A limiter should be driven by one clock: do not mix DelayAt
// and WaitN on the same user.
func (t *Transfer) DelayAt(now time.Time, n int) time.Duration {
	var d time.Duration
	for n > 0 {
		lim := t.u.limiter(t.dir)
		if lim == nil {
			return 0
		}
		k := min(n, lim.Burst())
		d = lim.ReserveN(now, k).DelayFrom(now)
		n -= k
	}
	return d
}

// Remaining returns how many bytes may still move in the transfer's
// direction before the user's amount limit or, for a download, ratio
// balance is reached; -1 if neither limits it. It is shared by the user's
// sessions and moves with them: an upload raises the ratio balance, a new
// period restores the amount.
func (t *Transfer) Remaining() int64 {
	u, m := t.u, t.u.m
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	u.rollLocked(now)
	return u.remainingLocked(t.dir)
}

// Err returns the error that says why no byte may move any more
// ([ErrAmountExceeded] or [ErrRatio]) when [Transfer.Remaining] is 0, and
// nil otherwise. A caller that finds more data to move once Remaining is 0
// stops the transfer with this error.
func (t *Transfer) Err() error {
	u, m := t.u, t.u.m
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	u.rollLocked(now)
	if u.remainingLocked(t.dir) != 0 {
		return nil
	}
	if a := u.limits.amount(t.dir); a > 0 && *u.c.count(t.dir) >= a {
		return u.amountErrLocked(t.dir, now)
	}
	return u.ratioErrLocked(-1)
}

// Add accounts n bytes moved. The bytes are always counted. Add returns
// [ErrAmountExceeded] or, for a download, [ErrRatio] when the counters
// went past the limit: bytes moved that the limit did not allow, which
// happens when a caller moves more than [Transfer.Remaining] or when
// sessions of the same user race for the last bytes. Landing exactly on
// the limit is no error: Remaining is then 0 and [Transfer.Err] gives the
// error to stop with if more data follows. Add may be called after End.
func (t *Transfer) Add(n int64) error {
	u, m := t.u, t.u.m
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	u.rollLocked(now)
	if n > 0 {
		*u.c.count(t.dir) += n
		if u.c.PeriodStart.IsZero() {
			u.c.PeriodStart = now.UTC() // Period None: counting starts now
		}
		m.dirty = true
	}
	if a := u.limits.amount(t.dir); a > 0 && *u.c.count(t.dir) > a {
		return u.amountErrLocked(t.dir, now)
	}
	if t.dir == Download && u.limits.hasRatio() && u.balanceLocked() < 0 {
		return u.ratioErrLocked(-1)
	}
	return nil
}

// End ends the transfer and schedules a save of the counters, at most one
// per second (see [Manager.Flush]). It may be called more than once; only
// the first call counts. On a nil Transfer (no quota) it does nothing.
func (t *Transfer) End() {
	if t == nil || t.ended.Swap(true) {
		return
	}
	t.u.m.saveSoon()
}

// copySegment is the most Copy moves in one go when not rate limited, so
// that counters follow a long transfer.
const copySegment = 4 << 20

// Copy moves bytes from src to dst until src's end, under the transfer's
// limits, and returns how many bytes it wrote; it accounts them with
// [Transfer.Add] as they move. It returns nil at src's end, the error of
// [Transfer.Err] when a limit stops it with more data left in src (the
// extra bytes read, at most one chunk, are not written), ctx's error when
// ctx is done, or a read or write error. It does not call End.
//
// When rate limited, it reads chunks of [Transfer.Burst] bytes and waits
// for each before writing it. When not, it hands src to dst in segments
// through io.CopyBuffer, so that an *os.File copied to a *net.TCPConn (or
// the reverse) still reaches sendfile or splice.
func (t *Transfer) Copy(ctx context.Context, dst io.Writer, src io.Reader) (written int64, err error) {
	var buf []byte
	for {
		if err := ctx.Err(); err != nil {
			return written, err
		}
		rem := t.Remaining()
		if rem == 0 {
			// Nothing more may move: done if src is at its end.
			var one [1]byte
			if n, err := io.ReadFull(src, one[:]); n == 0 {
				if err == io.EOF {
					err = nil
				}
				return written, err
			}
			if err := t.Err(); err != nil {
				return written, err
			}
			// The budget grew meanwhile (a new period, an upload raising
			// the ratio balance): move the byte read and go on.
			if err := t.WaitN(ctx, 1); err != nil {
				return written, err
			}
			n, err := dst.Write(one[:])
			written += int64(n)
			aerr := t.Add(int64(n))
			if err != nil {
				return written, err
			}
			if aerr != nil {
				return written, aerr
			}
			continue
		}

		if !t.Limited() {
			seg := int64(copySegment)
			if rem > 0 {
				seg = min(seg, rem)
			}
			if buf == nil {
				buf = make([]byte, defaultChunk)
			}
			n, err := io.CopyBuffer(dst, io.LimitReader(src, seg), buf)
			written += n
			aerr := t.Add(n)
			if err != nil {
				return written, err
			}
			if aerr != nil {
				return written, aerr
			}
			if n < seg {
				return written, nil // src's end
			}
			continue
		}

		size := t.Burst()
		if rem > 0 {
			size = int(min(int64(size), rem))
		}
		if len(buf) < size {
			buf = make([]byte, size)
		}
		nr, rerr := src.Read(buf[:size])
		if nr > 0 {
			if err := t.WaitN(ctx, nr); err != nil {
				return written, err
			}
			nw, werr := dst.Write(buf[:nr])
			written += int64(nw)
			aerr := t.Add(int64(nw))
			switch {
			case werr != nil:
				return written, werr
			case nw < nr:
				return written, io.ErrShortWrite
			case aerr != nil:
				return written, aerr
			}
		}
		if rerr == io.EOF {
			return written, nil
		}
		if rerr != nil {
			return written, rerr
		}
	}
}
