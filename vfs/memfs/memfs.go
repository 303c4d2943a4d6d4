// Package memfs is an in-memory [vfs.FS] for tests and for embedding small
// trees in a server.
//
// It implements every ability of package vfs, and its methods, and those of
// its open files and listings, are safe for concurrent use. There are no
// symbolic links, no owners, and permission bits are stored but not
// enforced. Access times are not kept: Chtimes sets the modification time
// only.
//
// Files are sparse: their contents are kept in pages of 64 KiB that are
// allocated only when written (and, for the last page of a small file,
// only as long as written), and a page never written reads as zeros. A file
// of 5 GiB with one byte written at its end therefore costs a few bytes.
// There is no limit on the total size held other than the host's memory;
// put a quota in front of a memfs that strangers write to.
//
// Listings come in sorted name order. [FS.ReadDir] takes a snapshot of the
// names when it is called and looks each one up again as it is returned:
// entries removed in the meantime are skipped, entries added are not seen.
package memfs

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ferryftp/ferry/vfs"
)

var (
	errIsDir    = errors.New("memfs: is a directory")
	errNotDir   = errors.New("memfs: not a directory")
	errNotEmpty = errors.New("memfs: directory not empty")
	errTooLarge = errors.New("memfs: file too large")
	errBadFlag  = errors.New("memfs: file not open for this operation")
)

// FS is an in-memory file system. The zero FS is an empty file system
// (just the root directory) ready to use.
type FS struct {
	// Clock returns the time stamped on new and changed files and
	// directories; nil means time.Now. Set it before the first use.
	Clock func() time.Time

	once sync.Once
	mu   sync.RWMutex // guards the tree and every node in it
	root *node
}

var (
	_ vfs.FS         = (*FS)(nil)
	_ vfs.OpenFileFS = (*FS)(nil)
	_ vfs.MkdirFS    = (*FS)(nil)
	_ vfs.RemoveFS   = (*FS)(nil)
	_ vfs.RenameFS   = (*FS)(nil)
	_ vfs.ChtimesFS  = (*FS)(nil)
)

// New returns an empty file system.
func New() *FS { return new(FS) }

// node is a file or directory. Its fields are guarded by FS.mu.
type node struct {
	name    string // base name, "." for the root
	mode    fs.FileMode
	modTime time.Time

	children map[string]*node // directories only

	size  int64            // files only
	pages map[int64][]byte // files only; see data.go
}

func (n *node) info() fs.FileInfo {
	return &fileInfo{name: n.name, size: n.size, mode: n.mode, modTime: n.modTime}
}

// fileInfo is a snapshot of a node.
type fileInfo struct {
	name    string
	size    int64
	mode    fs.FileMode
	modTime time.Time
}

func (fi *fileInfo) Name() string       { return fi.name }
func (fi *fileInfo) Size() int64        { return fi.size }
func (fi *fileInfo) Mode() fs.FileMode  { return fi.mode }
func (fi *fileInfo) ModTime() time.Time { return fi.modTime }
func (fi *fileInfo) IsDir() bool        { return fi.mode.IsDir() }
func (fi *fileInfo) Sys() any           { return nil }
func (fi *fileInfo) String() string     { return fs.FormatFileInfo(fi) }

func (m *FS) now() time.Time {
	if m.Clock != nil {
		return m.Clock()
	}
	return time.Now()
}

// tree returns the root directory, creating it on first use.
func (m *FS) tree() *node {
	m.once.Do(func() {
		m.root = &node{name: ".", mode: fs.ModeDir | 0o755, modTime: m.now(), children: map[string]*node{}}
	})
	return m.root
}

// lookup finds the node of a valid name. m.mu must be held.
func (m *FS) lookup(name string) (*node, error) {
	n := m.tree()
	if name == "." {
		return n, nil
	}
	for elem := range strings.SplitSeq(name, "/") {
		if n.children == nil {
			return nil, errNotDir
		}
		c, ok := n.children[elem]
		if !ok {
			return nil, fs.ErrNotExist
		}
		n = c
	}
	return n, nil
}

// lookupParent finds the directory that holds a valid name other than ".",
// and the name's last element. m.mu must be held.
func (m *FS) lookupParent(name string) (*node, string, error) {
	if name == "." {
		return nil, "", fs.ErrInvalid
	}
	dir, base := path.Split(name)
	parent, err := m.lookup(path.Clean(dir)) // Clean("") == "."
	if err != nil {
		return nil, "", err
	}
	if parent.children == nil {
		return nil, "", errNotDir
	}
	return parent, base, nil
}

// check refuses a done ctx and an invalid name.
func check(ctx context.Context, op, name string) error {
	if err := ctx.Err(); err != nil {
		return &fs.PathError{Op: op, Path: name, Err: err}
	}
	if !fs.ValidPath(name) {
		return &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	return nil
}

// Stat returns the information of name.
func (m *FS) Stat(ctx context.Context, name string) (fs.FileInfo, error) {
	if err := check(ctx, "stat", name); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	n, err := m.lookup(name)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	return n.info(), nil
}

// Open opens name for reading. A directory can be opened, but not read.
func (m *FS) Open(ctx context.Context, name string) (vfs.File, error) {
	return m.OpenFile(ctx, name, vfs.O_RDONLY, 0)
}

// OpenFile opens name with the flags of package vfs. A file created gets
// the permission bits of perm.
func (m *FS) OpenFile(ctx context.Context, name string, flag int, perm fs.FileMode) (vfs.File, error) {
	if err := check(ctx, "open", name); err != nil {
		return nil, err
	}
	f, err := m.openFile(name, flag, perm)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return f, nil
}

func (m *FS) openFile(name string, flag int, perm fs.FileMode) (*file, error) {
	const known = vfs.O_WRONLY | vfs.O_RDWR | vfs.O_APPEND | vfs.O_CREATE | vfs.O_EXCL | vfs.O_TRUNC
	if flag&^known != 0 || flag&(vfs.O_WRONLY|vfs.O_RDWR) == vfs.O_WRONLY|vfs.O_RDWR {
		return nil, fs.ErrInvalid
	}
	write := flag&(vfs.O_WRONLY|vfs.O_RDWR) != 0
	if flag == vfs.O_RDONLY {
		m.mu.RLock()
		defer m.mu.RUnlock()
	} else {
		m.mu.Lock()
		defer m.mu.Unlock()
	}
	n, err := m.lookup(name)
	switch {
	case errors.Is(err, fs.ErrNotExist) && flag&vfs.O_CREATE != 0:
		parent, base, err := m.lookupParent(name)
		if err != nil {
			return nil, err
		}
		now := m.now()
		n = &node{name: base, mode: perm & fs.ModePerm, modTime: now}
		parent.children[base] = n
		parent.modTime = now
	case err != nil:
		return nil, err
	case flag&(vfs.O_CREATE|vfs.O_EXCL) == vfs.O_CREATE|vfs.O_EXCL:
		return nil, fs.ErrExist
	case n.mode.IsDir() && (write || flag&vfs.O_TRUNC != 0):
		return nil, errIsDir
	case flag&vfs.O_TRUNC != 0:
		n.truncate(m.now())
	}
	return &file{fsys: m, node: n, name: name, flag: flag}, nil
}

// ReadDir opens the directory name for a listing in sorted name order.
func (m *FS) ReadDir(ctx context.Context, name string) (vfs.DirReader, error) {
	if err := check(ctx, "readdir", name); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	n, err := m.lookup(name)
	if err == nil && n.children == nil {
		err = errNotDir
	}
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	names := make([]string, 0, len(n.children))
	for name := range n.children {
		names = append(names, name)
	}
	slices.Sort(names)
	return &dirReader{fsys: m, dir: n, name: name, names: names}, nil
}

// Mkdir creates the directory name with the permission bits of perm.
func (m *FS) Mkdir(ctx context.Context, name string, perm fs.FileMode) error {
	if err := check(ctx, "mkdir", name); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.mkdir(name, perm); err != nil {
		return &fs.PathError{Op: "mkdir", Path: name, Err: err}
	}
	return nil
}

func (m *FS) mkdir(name string, perm fs.FileMode) error {
	if name == "." {
		return fs.ErrExist
	}
	parent, base, err := m.lookupParent(name)
	if err != nil {
		return err
	}
	if _, ok := parent.children[base]; ok {
		return fs.ErrExist
	}
	now := m.now()
	parent.children[base] = &node{
		name:     base,
		mode:     fs.ModeDir | perm&fs.ModePerm,
		modTime:  now,
		children: map[string]*node{},
	}
	parent.modTime = now
	return nil
}

// Remove removes the file or empty directory name.
func (m *FS) Remove(ctx context.Context, name string) error {
	if err := check(ctx, "remove", name); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.remove(name); err != nil {
		return &fs.PathError{Op: "remove", Path: name, Err: err}
	}
	return nil
}

func (m *FS) remove(name string) error {
	parent, base, err := m.lookupParent(name)
	if err != nil {
		return err
	}
	n, ok := parent.children[base]
	switch {
	case !ok:
		return fs.ErrNotExist
	case len(n.children) > 0:
		return errNotEmpty
	}
	delete(parent.children, base)
	parent.modTime = m.now()
	return nil
}

// Rename moves oldname to newname. It replaces a file at newname; it
// refuses to replace a directory (with fs.ErrExist, as os.Root does), to
// replace a file with a directory, and to move a directory below itself.
// Its errors are *os.LinkError naming both, as those of vfs.Rename and
// osfs are.
func (m *FS) Rename(ctx context.Context, oldname, newname string) error {
	linkErr := func(err error) error {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return linkErr(err)
	}
	if !fs.ValidPath(oldname) || !fs.ValidPath(newname) {
		return linkErr(fs.ErrInvalid)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	oldParent, oldBase, err := m.lookupParent(oldname)
	if err != nil {
		return linkErr(err)
	}
	n, ok := oldParent.children[oldBase]
	if !ok {
		return linkErr(fs.ErrNotExist)
	}
	newParent, newBase, err := m.lookupParent(newname)
	if err != nil {
		return linkErr(err)
	}
	if oldname == newname {
		return nil
	}
	if n.children != nil && strings.HasPrefix(newname, oldname+"/") {
		return linkErr(fs.ErrInvalid)
	}
	if target, ok := newParent.children[newBase]; ok {
		switch {
		case target.children != nil:
			return linkErr(fs.ErrExist)
		case n.children != nil:
			return linkErr(errNotDir)
		}
	}
	delete(oldParent.children, oldBase)
	n.name = newBase
	newParent.children[newBase] = n
	now := m.now()
	oldParent.modTime = now
	newParent.modTime = now
	return nil
}

// Chtimes sets the modification time of name; a zero mtime leaves it
// unchanged. Access times are not kept, so atime is ignored.
func (m *FS) Chtimes(ctx context.Context, name string, atime, mtime time.Time) error {
	if err := check(ctx, "chtimes", name); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookup(name)
	if err != nil {
		return &fs.PathError{Op: "chtimes", Path: name, Err: err}
	}
	if !mtime.IsZero() {
		n.modTime = mtime
	}
	return nil
}

// WriteFile writes data to the file name, creating it with perm or
// truncating it, as os.WriteFile does. It is meant for setting up tests.
func (m *FS) WriteFile(name string, data []byte, perm fs.FileMode) error {
	if !fs.ValidPath(name) {
		return &fs.PathError{Op: "writefile", Path: name, Err: fs.ErrInvalid}
	}
	f, err := m.openFile(name, vfs.O_WRONLY|vfs.O_CREATE|vfs.O_TRUNC, perm)
	if err != nil {
		return &fs.PathError{Op: "writefile", Path: name, Err: err}
	}
	_, err = f.Write(data)
	if err1 := f.Close(); err == nil {
		err = err1
	}
	return err
}

// MkdirAll creates the directory name and any missing parents with
// permission bits 0o755, as os.MkdirAll does. It is meant for setting up
// tests.
func (m *FS) MkdirAll(name string) error {
	if !fs.ValidPath(name) {
		return &fs.PathError{Op: "mkdirall", Path: name, Err: fs.ErrInvalid}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if name == "." {
		return nil
	}
	prefix := ""
	for elem := range strings.SplitSeq(name, "/") {
		prefix = path.Join(prefix, elem)
		n, err := m.lookup(prefix)
		if err == nil {
			if n.children == nil {
				return &fs.PathError{Op: "mkdirall", Path: prefix, Err: errNotDir}
			}
			continue
		}
		if err := m.mkdir(prefix, 0o755); err != nil {
			return &fs.PathError{Op: "mkdirall", Path: prefix, Err: err}
		}
	}
	return nil
}

// dirReader streams a snapshot of a directory's names.
type dirReader struct {
	fsys *FS
	dir  *node
	name string

	mu     sync.Mutex // guards names and closed
	names  []string   // names not yet returned
	closed bool
}

// ReadDir returns the next n entries, or with n <= 0 all that remain.
func (d *dirReader) ReadDir(n int) ([]fs.DirEntry, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, &fs.PathError{Op: "readdir", Path: d.name, Err: fs.ErrClosed}
	}
	var entries []fs.DirEntry
	d.fsys.mu.RLock()
	for len(d.names) > 0 && (n <= 0 || len(entries) < n) {
		c, ok := d.dir.children[d.names[0]]
		d.names = d.names[1:]
		if ok {
			entries = append(entries, fs.FileInfoToDirEntry(c.info()))
		}
	}
	d.fsys.mu.RUnlock()
	if n > 0 && len(entries) == 0 {
		return nil, io.EOF
	}
	return entries, nil
}

// Close ends the listing.
func (d *dirReader) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return &fs.PathError{Op: "close", Path: d.name, Err: fs.ErrClosed}
	}
	d.closed = true
	d.names = nil
	return nil
}
