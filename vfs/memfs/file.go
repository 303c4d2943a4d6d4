package memfs

import (
	"io"
	"io/fs"
	"math"
	"sync"
	"time"

	"github.com/ferryftp/ferry/vfs"
)

// pageSize is the unit of a file's sparse storage. Page i holds the bytes
// from i*pageSize on, as far as they were written; bytes below the file's
// size that no page holds are zeros.
const pageSize = 64 << 10

// truncate empties a file. FS.mu must be held for writing.
func (n *node) truncate(now time.Time) {
	n.size = 0
	n.pages = nil
	n.modTime = now
}

// readAt copies the bytes from off on into p and reports how many there
// were; it does not report io.EOF. FS.mu must be held.
func (n *node) readAt(p []byte, off int64) int {
	if off >= n.size {
		return 0
	}
	p = p[:min(int64(len(p)), n.size-off)]
	for done := 0; done < len(p); {
		at := off + int64(done)
		idx, within := at/pageSize, int(at%pageSize)
		chunk := p[done:min(len(p), done+pageSize-within)]
		pg := n.pages[idx]
		m := 0
		if within < len(pg) {
			m = copy(chunk, pg[within:])
		}
		clear(chunk[m:])
		done += len(chunk)
	}
	return len(p)
}

// writeAt writes p at off, growing the file as needed. FS.mu must be held
// for writing.
func (n *node) writeAt(p []byte, off int64, now time.Time) error {
	if len(p) == 0 {
		return nil
	}
	if off > math.MaxInt64-int64(len(p)) {
		return errTooLarge
	}
	for done := 0; done < len(p); {
		at := off + int64(done)
		idx, within := at/pageSize, int(at%pageSize)
		chunk := p[done:min(len(p), done+pageSize-within)]
		pg := n.pages[idx]
		if need := within + len(chunk); len(pg) < need {
			// Pages are made zeroed and never shortened, so the bytes
			// between len and cap are zeros.
			if cap(pg) >= need {
				pg = pg[:need]
			} else {
				grown := make([]byte, need, min(pageSize, max(need, 2*cap(pg))))
				copy(grown, pg)
				pg = grown
			}
		}
		copy(pg[within:], chunk)
		if n.pages == nil {
			n.pages = map[int64][]byte{}
		}
		n.pages[idx] = pg
		done += len(chunk)
	}
	n.size = max(n.size, off+int64(len(p)))
	n.modTime = now
	return nil
}

// file is an open file of an FS. It implements vfs.File, io.Writer,
// io.ReaderAt and io.WriterAt; its methods are safe for concurrent use.
type file struct {
	fsys *FS
	node *node
	name string
	flag int

	mu     sync.Mutex // guards off and closed
	off    int64
	closed bool
}

var (
	_ vfs.File    = (*file)(nil)
	_ io.Writer   = (*file)(nil)
	_ io.ReaderAt = (*file)(nil)
	_ io.WriterAt = (*file)(nil)
)

func (f *file) err(op string, err error) error {
	return &fs.PathError{Op: op, Path: f.name, Err: err}
}

func (f *file) readable() bool { return f.flag&(vfs.O_WRONLY) == 0 }
func (f *file) writable() bool { return f.flag&(vfs.O_WRONLY|vfs.O_RDWR) != 0 }

// checkRead reports why f cannot be read from, if it cannot. f.mu must be
// held.
func (f *file) checkRead(op string) error {
	switch {
	case f.closed:
		return f.err(op, fs.ErrClosed)
	case !f.readable():
		return f.err(op, errBadFlag)
	case f.node.mode.IsDir():
		return f.err(op, errIsDir)
	}
	return nil
}

// checkWrite reports why f cannot be written to, if it cannot. f.mu must be
// held.
func (f *file) checkWrite(op string) error {
	switch {
	case f.closed:
		return f.err(op, fs.ErrClosed)
	case !f.writable():
		return f.err(op, errBadFlag)
	}
	return nil
}

// Read reads from the current offset.
func (f *file) Read(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.checkRead("read"); err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	f.fsys.mu.RLock()
	n := f.node.readAt(p, f.off)
	f.fsys.mu.RUnlock()
	f.off += int64(n)
	if n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// ReadAt reads from off without moving the offset.
func (f *file) ReadAt(p []byte, off int64) (int, error) {
	f.mu.Lock()
	err := f.checkRead("readat")
	f.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, f.err("readat", fs.ErrInvalid)
	}
	f.fsys.mu.RLock()
	n := f.node.readAt(p, off)
	f.fsys.mu.RUnlock()
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Write writes at the current offset, or at the end of the file when it
// was opened with O_APPEND. Writing past the end leaves a hole of zeros.
func (f *file) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.checkWrite("write"); err != nil {
		return 0, err
	}
	f.fsys.mu.Lock()
	defer f.fsys.mu.Unlock()
	if f.flag&vfs.O_APPEND != 0 {
		f.off = f.node.size
	}
	if err := f.node.writeAt(p, f.off, f.fsys.now()); err != nil {
		return 0, f.err("write", err)
	}
	f.off += int64(len(p))
	return len(p), nil
}

// WriteAt writes at off without moving the offset. As with os.File, it
// refuses a file opened with O_APPEND.
func (f *file) WriteAt(p []byte, off int64) (int, error) {
	f.mu.Lock()
	err := f.checkWrite("writeat")
	f.mu.Unlock()
	switch {
	case err != nil:
		return 0, err
	case f.flag&vfs.O_APPEND != 0 || off < 0:
		return 0, f.err("writeat", fs.ErrInvalid)
	}
	f.fsys.mu.Lock()
	defer f.fsys.mu.Unlock()
	if err := f.node.writeAt(p, off, f.fsys.now()); err != nil {
		return 0, f.err("writeat", err)
	}
	return len(p), nil
}

// Seek sets the offset. An offset past the end is allowed; writing there
// leaves a hole.
func (f *file) Seek(offset int64, whence int) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return 0, f.err("seek", fs.ErrClosed)
	}
	var base int64
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		base = f.off
	case io.SeekEnd:
		f.fsys.mu.RLock()
		base = f.node.size
		f.fsys.mu.RUnlock()
	default:
		return 0, f.err("seek", fs.ErrInvalid)
	}
	if (offset > 0 && base > math.MaxInt64-offset) || base+offset < 0 {
		return 0, f.err("seek", fs.ErrInvalid)
	}
	f.off = base + offset
	return f.off, nil
}

// Stat returns the file's current information.
func (f *file) Stat() (fs.FileInfo, error) {
	f.mu.Lock()
	closed := f.closed
	f.mu.Unlock()
	if closed {
		return nil, f.err("stat", fs.ErrClosed)
	}
	f.fsys.mu.RLock()
	defer f.fsys.mu.RUnlock()
	return f.node.info(), nil
}

// Close closes the file; a second Close fails with fs.ErrClosed.
func (f *file) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return f.err("close", fs.ErrClosed)
	}
	f.closed = true
	return nil
}
