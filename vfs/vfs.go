// Package vfs is the file contract that the FTP engine serves.
//
// Names are slash-separated, unrooted and clean, as in [io/fs]: "." is the
// root of the file system, "a/b.txt" a file below it. A name never contains
// "..", a leading slash or an empty element; the engine resolves the
// client's virtual paths before it calls a backend, and [ValidPath] checks
// the form. Backends must still refuse to reach outside their root by any
// other means (symbolic links in particular): that is the job of
// [github.com/ferryftp/ferry/vfs/osfs], which confines itself with
// [os.Root].
//
// [FS] is the read side that every backend has. Writing, creating
// directories, removing, renaming and setting times are optional abilities,
// each its own small interface ([OpenFileFS], [MkdirFS], [RemoveFS],
// [RenameFS], [ChtimesFS]). The helper functions of this package reach them
// and answer [ErrUnsupported] when a backend lacks one, so a read-only
// backend implements three methods and nothing else.
//
// Every method that may block takes a [context.Context] first.
package vfs

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"time"
)

// ErrUnsupported is returned by the helpers of this package when a backend
// does not implement the ability asked for. The FTP engine answers 502 for it.
var ErrUnsupported = errors.New("vfs: operation not supported")

// Flags for [OpenFile], as in package os.
const (
	O_RDONLY = 0x0
	O_WRONLY = 0x1
	O_RDWR   = 0x2
	O_APPEND = 0x400
	O_CREATE = 0x40
	O_EXCL   = 0x80
	O_TRUNC  = 0x200
)

// FS is a file system the engine can read.
type FS interface {
	// Stat returns the file information of name. It follows symbolic
	// links that stay inside the file system.
	Stat(ctx context.Context, name string) (fs.FileInfo, error)

	// Open opens name for reading.
	Open(ctx context.Context, name string) (File, error)

	// ReadDir opens the directory name for a streamed listing. The caller
	// must close the returned [DirReader].
	ReadDir(ctx context.Context, name string) (DirReader, error)
}

// File is an open file. Reading and seeking are required; a file opened
// for writing also implements [io.Writer].
//
// A backend that serves local files should return the *os.File itself: the
// engine then hands it to the network stack as is, and the kernel copies
// the bytes (sendfile, splice) without passing them through user space.
type File interface {
	io.Reader
	io.Seeker
	io.Closer
	Stat() (fs.FileInfo, error)
}

// DirReader streams the entries of a directory, as [fs.ReadDirFile] does:
// ReadDir(n) with n > 0 returns at most n entries and [io.EOF] at the end.
// Entries come in the backend's order; the engine does not sort.
type DirReader interface {
	ReadDir(n int) ([]fs.DirEntry, error)
	Close() error
}

// OpenFileFS is a file system that can open files for writing.
type OpenFileFS interface {
	FS
	// OpenFile opens name with the flags of package os (this package
	// repeats them as O_ constants). A file opened for writing must
	// implement [io.Writer].
	OpenFile(ctx context.Context, name string, flag int, perm fs.FileMode) (File, error)
}

// MkdirFS is a file system that can create directories.
type MkdirFS interface {
	FS
	Mkdir(ctx context.Context, name string, perm fs.FileMode) error
}

// RemoveFS is a file system that can remove files and empty directories.
type RemoveFS interface {
	FS
	// Remove removes the file or empty directory name. It does not
	// follow a symbolic link in the last element: the link is removed.
	Remove(ctx context.Context, name string) error
}

// RenameFS is a file system that can rename files and directories.
type RenameFS interface {
	FS
	// Rename moves oldname to newname, replacing a file at newname.
	Rename(ctx context.Context, oldname, newname string) error
}

// ChtimesFS is a file system that can set modification times (MFMT).
type ChtimesFS interface {
	FS
	Chtimes(ctx context.Context, name string, atime, mtime time.Time) error
}

// OpenFile opens name in fsys with flag and perm. A read-only open goes
// through [FS.Open]; any other needs [OpenFileFS].
func OpenFile(ctx context.Context, fsys FS, name string, flag int, perm fs.FileMode) (File, error) {
	if flag == O_RDONLY {
		return fsys.Open(ctx, name)
	}
	if f, ok := fsys.(OpenFileFS); ok {
		return f.OpenFile(ctx, name, flag, perm)
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: ErrUnsupported}
}

// Mkdir creates the directory name in fsys.
func Mkdir(ctx context.Context, fsys FS, name string, perm fs.FileMode) error {
	if f, ok := fsys.(MkdirFS); ok {
		return f.Mkdir(ctx, name, perm)
	}
	return &fs.PathError{Op: "mkdir", Path: name, Err: ErrUnsupported}
}

// Remove removes the file or empty directory name in fsys.
func Remove(ctx context.Context, fsys FS, name string) error {
	if f, ok := fsys.(RemoveFS); ok {
		return f.Remove(ctx, name)
	}
	return &fs.PathError{Op: "remove", Path: name, Err: ErrUnsupported}
}

// Rename renames oldname to newname in fsys.
func Rename(ctx context.Context, fsys FS, oldname, newname string) error {
	if f, ok := fsys.(RenameFS); ok {
		return f.Rename(ctx, oldname, newname)
	}
	return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: ErrUnsupported}
}

// Chtimes sets the access and modification times of name in fsys.
func Chtimes(ctx context.Context, fsys FS, name string, atime, mtime time.Time) error {
	if f, ok := fsys.(ChtimesFS); ok {
		return f.Chtimes(ctx, name, atime, mtime)
	}
	return &fs.PathError{Op: "chtimes", Path: name, Err: ErrUnsupported}
}

// ValidPath reports whether name is a valid vfs name; see [fs.ValidPath].
func ValidPath(name string) bool { return fs.ValidPath(name) }

// ReadOnly wraps fsys so that only its [FS] methods are visible: every
// write ability is hidden, so the helpers answer [ErrUnsupported].
func ReadOnly(fsys FS) FS { return readOnly{fsys} }

type readOnly struct{ fsys FS }

func (r readOnly) Stat(ctx context.Context, name string) (fs.FileInfo, error) {
	return r.fsys.Stat(ctx, name)
}
func (r readOnly) Open(ctx context.Context, name string) (File, error) {
	return r.fsys.Open(ctx, name)
}
func (r readOnly) ReadDir(ctx context.Context, name string) (DirReader, error) {
	return r.fsys.ReadDir(ctx, name)
}
