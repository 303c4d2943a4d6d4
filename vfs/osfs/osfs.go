// Package osfs serves a directory of the host's file system as a [vfs.FS],
// confined to that directory with [os.Root].
//
// # Security
//
// Confinement is the point of this package. Every operation goes through
// the [os.Root] opened by [New], which resolves each name one element at a
// time relative to directory descriptors (openat and friends), so no name
// reaches outside the root directory: not with "..", not with an absolute
// path, not through a symbolic link, and not through a directory that is
// replaced by a link after the file system was opened. Symbolic links whose
// target stays inside the root are followed; links that lead outside, or
// that are absolute (os.Root refuses every absolute link), fail with an
// error that satisfies errors.Is(err, [fs.ErrPermission]) ([ErrOutsideRoot]).
// Names are checked with [fs.ValidPath] first and refused with
// [fs.ErrInvalid].
//
// Only regular files and directories are opened: a FIFO, socket or device
// node met inside the root is refused, so that a stray FIFO cannot hang a
// transfer. The open itself is non-blocking to make that check possible.
//
// Errors returned by the methods of [FS] are [*fs.PathError] (an
// [*os.LinkError] for Rename) whose paths are the vfs names the caller
// gave: they never contain the host path of the root. The *os.File that
// Open and OpenFile return is a different matter: its Name method, and the
// errors of its own methods (Read, Write, Stat, ...), carry the host path,
// as os does. The engine must keep those to its log and never show them to
// a client (it does: only the vfs error sentinels reach a reply).
//
// os.Root does not guard against bind mounts or /proc-style magic links
// placed inside the root by the host's administrator; see [os.Root].
//
// # Zero copy
//
// [FS.Open] and [FS.OpenFile] return the *os.File itself as the [vfs.File],
// never a wrapper, so that io.Copy from the file to a *net.TCPConn reaches
// sendfile and io.Copy from a *net.TCPConn to the file reaches splice.
//
// # Listings
//
// [FS.ReadDir] streams: it returns a [vfs.DirReader] over the open
// directory, which reads entries from the kernel in batches of the size
// asked for. The information of each entry is taken with fstatat relative
// to the open directory, never by a host path. A symbolic link is listed
// with the information of its target when the target resolves inside the
// root (so a link to a directory lists as a directory, and a client can
// change into it); a link that is dangling, loops or leads outside is
// listed as the link itself (type [fs.ModeSymlink]), and nothing outside
// the root is ever examined.
package osfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"time"

	"github.com/ferryftp/ferry/vfs"
)

var (
	// ErrOutsideRoot is the cause of an error for a name that would resolve
	// outside the root, typically through a symbolic link. It satisfies
	// errors.Is(err, fs.ErrPermission).
	ErrOutsideRoot = fmt.Errorf("osfs: name leads outside the root: %w", fs.ErrPermission)

	// ErrReadOnly is the cause of the error the write methods of a file
	// system opened with [NewReadOnly] return. It satisfies
	// errors.Is(err, fs.ErrPermission).
	ErrReadOnly = fmt.Errorf("osfs: read-only file system: %w", fs.ErrPermission)

	// errNotRegular refuses FIFOs, sockets and device nodes.
	errNotRegular = fmt.Errorf("osfs: not a regular file or directory: %w", fs.ErrPermission)

	// errNotDir is the cause of an error for ReadDir on a file.
	errNotDir = errors.New("osfs: not a directory")
)

// FS is a directory of the host served as a [vfs.FS]. It implements every
// ability of package vfs. Its methods are safe for concurrent use.
type FS struct {
	root     *os.Root
	readOnly bool

	// escape is the (unexported) error os.Root reports when a name leads
	// outside the root; see New.
	escape error
}

var (
	_ vfs.FS         = (*FS)(nil)
	_ vfs.OpenFileFS = (*FS)(nil)
	_ vfs.MkdirFS    = (*FS)(nil)
	_ vfs.RemoveFS   = (*FS)(nil)
	_ vfs.RenameFS   = (*FS)(nil)
	_ vfs.ChtimesFS  = (*FS)(nil)
)

// New opens the directory dir as a writable file system. The directory is
// held open: if it is later renamed on the host, the file system follows
// it. Close releases it.
func New(dir string) (*FS, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	// os does not export the error os.Root returns for a name that
	// escapes, and comparing error text is not an option. A leading ".."
	// is refused lexically, before any system call, with exactly that
	// error; learn its identity from it.
	_, err = root.Lstat("..")
	var pe *fs.PathError
	if !errors.As(err, &pe) {
		root.Close()
		return nil, fmt.Errorf("osfs: os.Root did not refuse \"..\": %v", err)
	}
	return &FS{root: root, escape: pe.Err}, nil
}

// NewReadOnly is like [New], but the file system refuses every change:
// OpenFile with any flag other than O_RDONLY, Mkdir, Remove, Rename and
// Chtimes fail with [ErrReadOnly].
//
// The methods stay present (FS is one type), so an engine that computes
// its abilities from the interfaces a backend implements should wrap a
// read-only file system with [vfs.ReadOnly] to hide them.
func NewReadOnly(dir string) (*FS, error) {
	fsys, err := New(dir)
	if err != nil {
		return nil, err
	}
	fsys.readOnly = true
	return fsys, nil
}

// Close closes the root directory. Files and listings already open stay
// usable; every later call on the file system fails.
func (fsys *FS) Close() error {
	return fsys.root.Close()
}

// Stat returns the information of name, following symbolic links that stay
// inside the root.
func (fsys *FS) Stat(ctx context.Context, name string) (fs.FileInfo, error) {
	if err := check(ctx, "stat", name); err != nil {
		return nil, err
	}
	fi, err := fsys.root.Stat(name)
	if err != nil {
		return nil, fsys.pathErr("stat", name, err)
	}
	return fi, nil
}

// Open opens name for reading. The [vfs.File] is the *os.File itself; see
// the package documentation about zero copy and about the host path it
// carries.
func (fsys *FS) Open(ctx context.Context, name string) (vfs.File, error) {
	f, err := fsys.open(ctx, "open", name, os.O_RDONLY, 0)
	if err != nil {
		return nil, err // not f: a nil *os.File in an interface is not nil
	}
	return f, nil
}

// OpenFile opens name with the flags of package vfs (vfs.O_CREATE and the
// others, translated to the host's values). Permission bits other than
// 0o777 in perm are ignored. Unknown flags are refused with
// [fs.ErrInvalid]. The [vfs.File] is the *os.File itself.
func (fsys *FS) OpenFile(ctx context.Context, name string, flag int, perm fs.FileMode) (vfs.File, error) {
	osflag, err := hostFlag(flag)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	if fsys.readOnly && flag != vfs.O_RDONLY {
		return nil, &fs.PathError{Op: "open", Path: name, Err: ErrReadOnly}
	}
	f, err := fsys.open(ctx, "open", name, osflag, perm)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// open opens name in the root and keeps it only if it is a regular file
// or a directory.
func (fsys *FS) open(ctx context.Context, op, name string, flag int, perm fs.FileMode) (*os.File, error) {
	if err := check(ctx, op, name); err != nil {
		return nil, err
	}
	// Non-blocking, so that opening a FIFO returns at once and can be
	// refused below instead of waiting for a writer.
	f, err := fsys.root.OpenFile(name, flag|openNonblock, perm&fs.ModePerm)
	if err != nil {
		return nil, fsys.pathErr(op, name, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fsys.pathErr(op, name, err)
	}
	switch {
	case fi.Mode().IsRegular():
		if err := clearNonblock(f, flag); err != nil {
			f.Close()
			return nil, fsys.pathErr(op, name, err)
		}
	case fi.IsDir():
	default:
		f.Close()
		return nil, &fs.PathError{Op: op, Path: name, Err: errNotRegular}
	}
	return f, nil
}

// ReadDir opens the directory name for a streamed listing; see the package
// documentation. The returned reader also stops with ctx: a batch asked for
// after ctx is done fails with ctx's error.
func (fsys *FS) ReadDir(ctx context.Context, name string) (vfs.DirReader, error) {
	f, err := fsys.open(ctx, "readdir", name, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fsys.pathErr("readdir", name, err)
	}
	if !fi.IsDir() {
		f.Close()
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errNotDir}
	}
	return &dirReader{ctx: ctx, fsys: fsys, name: name, f: f}, nil
}

// Mkdir creates the directory name. Permission bits other than 0o777 in
// perm are ignored.
func (fsys *FS) Mkdir(ctx context.Context, name string, perm fs.FileMode) error {
	if err := fsys.checkWrite(ctx, "mkdir", name); err != nil {
		return err
	}
	return fsys.pathErr("mkdir", name, fsys.root.Mkdir(name, perm&fs.ModePerm))
}

// Remove removes the file or empty directory name. A symbolic link is
// removed itself, never its target.
func (fsys *FS) Remove(ctx context.Context, name string) error {
	if err := fsys.checkWrite(ctx, "remove", name); err != nil {
		return err
	}
	return fsys.pathErr("remove", name, fsys.root.Remove(name))
}

// Rename moves oldname to newname, replacing a file at newname; both names
// are confined to the root. Its errors are [*os.LinkError] with the two
// vfs names.
func (fsys *FS) Rename(ctx context.Context, oldname, newname string) error {
	linkErr := func(err error) error {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err}
	}
	if err := ctx.Err(); err != nil {
		return linkErr(err)
	}
	if !fs.ValidPath(oldname) || !fs.ValidPath(newname) {
		return linkErr(fs.ErrInvalid)
	}
	if fsys.readOnly {
		return linkErr(ErrReadOnly)
	}
	if err := fsys.root.Rename(oldname, newname); err != nil {
		return linkErr(fsys.cause(err))
	}
	return nil
}

// Chtimes sets the access and modification times of name, following a
// symbolic link that stays inside the root. A zero time leaves that time
// unchanged.
func (fsys *FS) Chtimes(ctx context.Context, name string, atime, mtime time.Time) error {
	if err := fsys.checkWrite(ctx, "chtimes", name); err != nil {
		return err
	}
	return fsys.pathErr("chtimes", name, fsys.root.Chtimes(name, atime, mtime))
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

// checkWrite is check for the methods that change the file system.
func (fsys *FS) checkWrite(ctx context.Context, op, name string) error {
	if err := check(ctx, op, name); err != nil {
		return err
	}
	if fsys.readOnly {
		return &fs.PathError{Op: op, Path: name, Err: ErrReadOnly}
	}
	return nil
}

// pathErr turns an error of os into a *fs.PathError that names the vfs
// name; nil stays nil.
func (fsys *FS) pathErr(op, name string, err error) error {
	if err == nil {
		return nil
	}
	return &fs.PathError{Op: op, Path: name, Err: fsys.cause(err)}
}

// cause strips the path (which may be a host path) from an error of os
// and replaces the escape error of os.Root with ErrOutsideRoot. The causes
// that remain are system errors (syscall.Errno, which satisfy errors.Is
// for fs.ErrNotExist, fs.ErrExist and fs.ErrPermission) and sentinels
// without paths.
func (fsys *FS) cause(err error) error {
	var (
		pe *fs.PathError
		le *os.LinkError
		se *os.SyscallError
	)
	switch {
	case errors.As(err, &pe):
		err = pe.Err
	case errors.As(err, &le):
		err = le.Err
	}
	if errors.As(err, &se) {
		err = se.Err
	}
	if err == fsys.escape {
		return ErrOutsideRoot
	}
	return err
}

// hostFlag translates the open flags of package vfs, which have Linux's
// values, to those of the host.
func hostFlag(flag int) (int, error) {
	const known = vfs.O_WRONLY | vfs.O_RDWR | vfs.O_APPEND | vfs.O_CREATE | vfs.O_EXCL | vfs.O_TRUNC
	if flag&^known != 0 || flag&(vfs.O_WRONLY|vfs.O_RDWR) == vfs.O_WRONLY|vfs.O_RDWR {
		return 0, fs.ErrInvalid
	}
	osflag := os.O_RDONLY
	for _, m := range [...]struct{ v, o int }{
		{vfs.O_WRONLY, os.O_WRONLY},
		{vfs.O_RDWR, os.O_RDWR},
		{vfs.O_APPEND, os.O_APPEND},
		{vfs.O_CREATE, os.O_CREATE},
		{vfs.O_EXCL, os.O_EXCL},
		{vfs.O_TRUNC, os.O_TRUNC},
	} {
		if flag&m.v != 0 {
			osflag |= m.o
		}
	}
	return osflag, nil
}

// dirReader streams the entries of an open directory.
type dirReader struct {
	ctx  context.Context
	fsys *FS
	name string
	f    *os.File
}

// ReadDir returns the next batch of entries. An *os.File opened in an
// os.Root takes each entry's information with fstatat relative to the
// directory itself, never by host path; dirReader only replaces the
// entries of symbolic links whose targets resolve inside the root.
func (d *dirReader) ReadDir(n int) ([]fs.DirEntry, error) {
	if err := d.ctx.Err(); err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: d.name, Err: err}
	}
	entries, err := d.f.ReadDir(n)
	for i, e := range entries {
		if e.Type()&fs.ModeSymlink == 0 {
			continue
		}
		// Resolved from the root, so whatever the link says, the target
		// is looked at only if it lies inside.
		if fi, err := d.fsys.root.Stat(path.Join(d.name, e.Name())); err == nil {
			entries[i] = fs.FileInfoToDirEntry(fi)
		}
	}
	if err != nil && err != io.EOF {
		err = d.fsys.pathErr("readdir", d.name, err)
	}
	return entries, err
}

// Close closes the directory.
func (d *dirReader) Close() error {
	return d.fsys.pathErr("close", d.name, d.f.Close())
}
