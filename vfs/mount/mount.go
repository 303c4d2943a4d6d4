// Package mount composes file systems: a root [vfs.FS] with other file
// systems mounted at directories of it. It is how aliases are served: the
// mount point shows as a directory in its parent's listing, every
// operation below it goes to the mounted file system, and because the
// engine resolves ".." on virtual paths before any backend sees them, ".."
// from inside a mount returns to the virtual parent, never to the real
// one.
//
// Renames across file systems are refused, and so are removing or
// renaming a mount point itself.
package mount

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ferryftp/ferry/vfs"
)

// ErrCrossMount is returned for a rename between two file systems.
var ErrCrossMount = errors.New("mount: rename across file systems")

// FS is a root file system with others mounted on it. Build it with New
// and Mount before use; afterwards it is safe for concurrent use as far
// as its file systems are.
type FS struct {
	root   vfs.FS
	mounts map[string]vfs.FS // by vfs name, "pub/docs"
	// kids lists, by directory, the sorted base names of the mount
	// points in it and of the directories on the way to deeper ones.
	kids map[string][]string
	// inner holds the proper ancestors of mount points, whichever file
	// system they are in; they show as directories even where it has none.
	inner map[string]bool
}

var (
	_ vfs.OpenFileFS = (*FS)(nil)
	_ vfs.MkdirFS    = (*FS)(nil)
	_ vfs.RemoveFS   = (*FS)(nil)
	_ vfs.RenameFS   = (*FS)(nil)
	_ vfs.ChtimesFS  = (*FS)(nil)
)

// New returns root with nothing mounted.
func New(root vfs.FS) *FS {
	return &FS{root: root, mounts: map[string]vfs.FS{}, kids: map[string][]string{}, inner: map[string]bool{}}
}

// Mount mounts fsys at dir, a virtual directory ("/shared", "pub/docs").
// A later mount at the same directory replaces an earlier one.
func (m *FS) Mount(dir string, fsys vfs.FS) error {
	name := strings.Trim(path.Clean("/"+dir), "/")
	if name == "" {
		return errors.New("mount: cannot mount on the root")
	}
	if !fs.ValidPath(name) {
		return fmt.Errorf("mount: invalid mount point %q", dir)
	}
	// Each directory on the way lists the next one, so that a mount
	// below directories the root lacks can still be reached by listing.
	for d := name; d != "."; d = path.Dir(d) {
		parent, base := path.Dir(d), path.Base(d)
		if i, found := slices.BinarySearch(m.kids[parent], base); !found {
			m.kids[parent] = slices.Insert(m.kids[parent], i, base)
		}
		if d != name {
			m.inner[d] = true
		}
	}
	m.mounts[name] = fsys
	return nil
}

// resolve finds the file system that holds name and the name inside it.
func (m *FS) resolve(name string) (vfs.FS, string) {
	if len(m.mounts) == 0 || name == "." {
		return m.root, name
	}
	for d := name; d != "."; d = path.Dir(d) {
		if fsys, ok := m.mounts[d]; ok {
			if d == name {
				return fsys, "."
			}
			return fsys, name[len(d)+1:]
		}
	}
	return m.root, name
}

// mountOf returns the mount point whose file system holds name, "" for
// the root.
func (m *FS) mountOf(name string) string {
	for d := name; d != "."; d = path.Dir(d) {
		if _, ok := m.mounts[d]; ok {
			return d
		}
	}
	return ""
}

func (m *FS) isMountPoint(name string) bool {
	_, ok := m.mounts[name]
	return ok
}

func invalid(op, name string) error {
	return &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
}

// Stat implements vfs.FS.
func (m *FS) Stat(ctx context.Context, name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, invalid("stat", name)
	}
	fsys, sub := m.resolve(name)
	fi, err := fsys.Stat(ctx, sub)
	if err != nil {
		if m.inner[name] && errors.Is(err, fs.ErrNotExist) {
			return dirInfo{name: path.Base(name)}, nil
		}
		return nil, err
	}
	if sub == "." && name != "." {
		return renamed{fi, path.Base(name)}, nil
	}
	return fi, nil
}

// Open implements vfs.FS.
func (m *FS) Open(ctx context.Context, name string) (vfs.File, error) {
	if !fs.ValidPath(name) {
		return nil, invalid("open", name)
	}
	fsys, sub := m.resolve(name)
	return fsys.Open(ctx, sub)
}

// OpenFile implements vfs.OpenFileFS. A mount point, or a directory on
// the way to one, cannot be opened for writing: it is a directory, and
// the root may not even hold it, so a create would put a file there.
func (m *FS) OpenFile(ctx context.Context, name string, flag int, perm fs.FileMode) (vfs.File, error) {
	if !fs.ValidPath(name) {
		return nil, invalid("open", name)
	}
	if flag != vfs.O_RDONLY && (m.isMountPoint(name) || m.inner[name]) {
		err := fs.ErrPermission
		if flag&vfs.O_CREATE != 0 && flag&vfs.O_EXCL != 0 {
			err = fs.ErrExist
		}
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	fsys, sub := m.resolve(name)
	return vfs.OpenFile(ctx, fsys, sub, flag, perm)
}

// ReadDir implements vfs.FS: the entries of the directory, then the mount
// points in it. A real entry with a mount point's name is hidden by it.
func (m *FS) ReadDir(ctx context.Context, name string) (vfs.DirReader, error) {
	if !fs.ValidPath(name) {
		return nil, invalid("readdir", name)
	}
	kids := m.kids[name]
	fsys, sub := m.resolve(name)
	dr, err := fsys.ReadDir(ctx, sub)
	if err != nil {
		if !(m.inner[name] && errors.Is(err, fs.ErrNotExist)) {
			return nil, err
		}
		dr = nil
	}
	if len(kids) == 0 {
		return dr, nil
	}
	return &mergedDir{m: m, ctx: ctx, dir: name, dr: dr, kids: kids}, nil
}

// Mkdir implements vfs.MkdirFS.
func (m *FS) Mkdir(ctx context.Context, name string, perm fs.FileMode) error {
	if !fs.ValidPath(name) {
		return invalid("mkdir", name)
	}
	if m.isMountPoint(name) || m.inner[name] {
		return &fs.PathError{Op: "mkdir", Path: name, Err: fs.ErrExist}
	}
	fsys, sub := m.resolve(name)
	return vfs.Mkdir(ctx, fsys, sub, perm)
}

// Remove implements vfs.RemoveFS. A mount point cannot be removed.
func (m *FS) Remove(ctx context.Context, name string) error {
	if !fs.ValidPath(name) {
		return invalid("remove", name)
	}
	if m.isMountPoint(name) || m.inner[name] {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrPermission}
	}
	fsys, sub := m.resolve(name)
	return vfs.Remove(ctx, fsys, sub)
}

// Rename implements vfs.RenameFS, within one file system only.
func (m *FS) Rename(ctx context.Context, oldname, newname string) error {
	if !fs.ValidPath(oldname) || !fs.ValidPath(newname) {
		return invalid("rename", oldname)
	}
	if m.isMountPoint(oldname) || m.inner[oldname] || m.isMountPoint(newname) || m.inner[newname] {
		return &fs.PathError{Op: "rename", Path: oldname, Err: fs.ErrPermission}
	}
	// Mount points, not file system values, are compared: the values
	// need not be comparable, and the same file system mounted twice is
	// two places, as with bind mounts.
	if m.mountOf(oldname) != m.mountOf(newname) {
		return &fs.PathError{Op: "rename", Path: oldname, Err: errors.Join(fs.ErrPermission, ErrCrossMount)}
	}
	fsys, s1 := m.resolve(oldname)
	_, s2 := m.resolve(newname)
	return vfs.Rename(ctx, fsys, s1, s2)
}

// Chtimes implements vfs.ChtimesFS.
func (m *FS) Chtimes(ctx context.Context, name string, atime, mtime time.Time) error {
	if !fs.ValidPath(name) {
		return invalid("chtimes", name)
	}
	fsys, sub := m.resolve(name)
	return vfs.Chtimes(ctx, fsys, sub, atime, mtime)
}

// mergedDir streams a directory's own entries, then its mount points.
type mergedDir struct {
	m    *FS
	ctx  context.Context
	dir  string
	dr   vfs.DirReader // nil for a directory that exists only as a path to a mount
	kids []string
	done bool // dr is exhausted
	next int  // next kid to emit
}

func (d *mergedDir) ReadDir(n int) ([]fs.DirEntry, error) {
	var out []fs.DirEntry
	for !d.done && d.dr != nil {
		entries, err := d.dr.ReadDir(n)
		// Filter in place: the batch is ours.
		out = entries[:0]
		for _, e := range entries {
			if !d.isKid(e.Name()) {
				out = append(out, e)
			}
		}
		// With n <= 0 the reader answered everything at once.
		if err == io.EOF || (err == nil && (len(entries) == 0 || n <= 0)) {
			d.done = true
			break
		}
		if err != nil {
			return out, err
		}
		if len(out) > 0 {
			return out, nil
		}
	}
	d.done = true
	// The mount points, in the room the batch has left.
	for d.next < len(d.kids) && (n <= 0 || len(out) < n) {
		kid := d.kids[d.next]
		d.next++
		full := kid
		if d.dir != "." {
			full = d.dir + "/" + kid
		}
		fi, err := d.m.Stat(d.ctx, full)
		if err != nil {
			continue // a mount whose target is gone is not listed
		}
		out = append(out, fs.FileInfoToDirEntry(fi))
	}
	if len(out) == 0 && n > 0 {
		return nil, io.EOF
	}
	return out, nil
}

func (d *mergedDir) isKid(name string) bool {
	i := sort.SearchStrings(d.kids, name)
	return i < len(d.kids) && d.kids[i] == name
}

func (d *mergedDir) Close() error {
	if d.dr != nil {
		return d.dr.Close()
	}
	return nil
}

// renamed shows a mounted root under its mount point's name.
type renamed struct {
	fs.FileInfo
	name string
}

func (r renamed) Name() string { return r.name }

// dirInfo is a directory that exists only on the way to a mount point.
type dirInfo struct{ name string }

func (d dirInfo) Name() string       { return d.name }
func (d dirInfo) Size() int64        { return 0 }
func (d dirInfo) Mode() fs.FileMode  { return fs.ModeDir | 0o555 }
func (d dirInfo) ModTime() time.Time { return time.Time{} }
func (d dirInfo) IsDir() bool        { return true }
func (d dirInfo) Sys() any           { return nil }
