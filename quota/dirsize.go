package quota

import (
	"context"
	"fmt"
	"io"
	"sync"
)

// DirSizes tracks the size of directory trees that have a maximum size
// (a path permission entry's "Maximum directory size"). Each tree is named
// by a key of the caller's choice, such as the entry's directory. Its size
// is measured once, by a scan the caller provides, the first time it is
// needed; from then on it follows the caller's reservations (bytes about
// to be written) and releases (bytes reserved but not written, files
// deleted or truncated), and the tree is never walked again unless the key
// is forgotten.
//
// Reserving before writing means that concurrent uploads into the same
// tree cannot together exceed its limit: each one's bytes are counted
// before they land.
//
// The zero value is usable. A DirSizes is safe for concurrent use.
type DirSizes struct {
	mu   sync.Mutex
	dirs map[string]*dirSize
}

type dirSize struct {
	ready chan struct{} // closed when the scan ended; used and err are set
	used  int64         // guarded by DirSizes.mu once ready
	err   error         // the scan's error; the entry is then out of the map
	retry bool          // the scan failed for its caller's context only
}

// Reserve counts n more bytes in the tree key, whose size may not exceed
// limit bytes; it returns an error wrapping [ErrDirFull], with a text fit
// for the client, and counts nothing if the tree's size plus n would
// exceed limit. A limit of 0 (or less) is unlimited: Reserve then returns
// nil, counting n only if key is already tracked (so that its size stays
// true should a limit come back).
//
// Reserve with n = 0 checks that the tree is not over its limit already.
//
// The first call for key runs scan to measure the tree (a nil scan
// measures 0); concurrent first calls wait for that one scan, or for ctx.
// A scan error is returned (wrapped) to the calls that waited for it, and
// the next call scans again.
func (d *DirSizes) Reserve(ctx context.Context, key string, limit int64, scan func(ctx context.Context) (int64, error), n int64) error {
	n = max(n, 0)
	for {
		d.mu.Lock()
		e, ok := d.dirs[key]
		if !ok {
			if limit <= 0 {
				d.mu.Unlock()
				return nil
			}
			e = &dirSize{ready: make(chan struct{})}
			if d.dirs == nil {
				d.dirs = make(map[string]*dirSize)
			}
			d.dirs[key] = e
			d.mu.Unlock()
			if err := d.scan(ctx, key, e, scan); err != nil {
				return err
			}
			continue
		}
		select {
		case <-e.ready:
			used := e.used
			full := limit > 0 && n > limit-used
			if !full {
				e.used += n
			}
			d.mu.Unlock()
			if full {
				return limitErrorf(ErrDirFull, "maximum directory size of %d bytes reached (%d bytes used, %d more needed)", limit, used, n)
			}
			return nil
		default:
		}
		d.mu.Unlock()
		select {
		case <-e.ready:
			if e.err != nil && !e.retry {
				return e.err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// scan measures the tree of the new entry e and marks it ready; on error
// it removes e, so that the next call scans again.
func (d *DirSizes) scan(ctx context.Context, key string, e *dirSize, scan func(ctx context.Context) (int64, error)) (err error) {
	var used int64
	defer func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if err != nil {
			e.err = err
			e.retry = ctx.Err() != nil
			if d.dirs[key] == e {
				delete(d.dirs, key)
			}
		}
		e.used = max(used, 0)
		close(e.ready)
	}()
	if scan == nil {
		return nil
	}
	// A panicking scan must not leave waiters waiting.
	err = fmt.Errorf("quota: measuring directory size: scan did not return")
	used, err = scan(ctx)
	if err != nil {
		err = fmt.Errorf("quota: measuring directory size: %w", err)
	}
	return err
}

// Release takes n bytes off the tree key: bytes reserved but not written,
// or bytes of files deleted or truncated. The size never goes below 0. It
// does nothing for a key not tracked, or being scanned (the scan sees the
// files as they are).
func (d *DirSizes) Release(key string, n int64) {
	if n <= 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if e, ok := d.dirs[key]; ok && isReady(e) {
		e.used = max(e.used-n, 0)
	}
}

// Used returns the tracked size of the tree key (bytes on disk plus bytes
// reserved), and false if key is not tracked or is being scanned.
func (d *DirSizes) Used(key string) (int64, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e, ok := d.dirs[key]; ok && isReady(e) {
		return e.used, true
	}
	return 0, false
}

// Forget stops tracking key: the next Reserve scans the tree again. Use it
// when the tree changed behind the server's back, or its entry went away.
// Reservations made before Forget and released after it are lost, so the
// new size may be off by them until the next Forget.
func (d *DirSizes) Forget(key string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.dirs, key)
}

func isReady(e *dirSize) bool {
	select {
	case <-e.ready:
		return true
	default:
		return false
	}
}

// Writer returns a writer to w that reserves each write's bytes in the
// tree key before writing them (see [DirSizes.Reserve]) and releases the
// part a short or failed write did not write. A write that would exceed
// limit writes nothing and returns the [ErrDirFull] error.
func (d *DirSizes) Writer(ctx context.Context, key string, limit int64, scan func(ctx context.Context) (int64, error), w io.Writer) io.Writer {
	return &dirWriter{ctx: ctx, d: d, key: key, limit: limit, scan: scan, w: w}
}

type dirWriter struct {
	ctx   context.Context
	d     *DirSizes
	key   string
	limit int64
	scan  func(ctx context.Context) (int64, error)
	w     io.Writer
}

func (w *dirWriter) Write(p []byte) (int, error) {
	if err := w.d.Reserve(w.ctx, w.key, w.limit, w.scan, int64(len(p))); err != nil {
		return 0, err
	}
	n, err := w.w.Write(p)
	if n < len(p) {
		w.d.Release(w.key, int64(len(p)-n))
	}
	return n, err
}
