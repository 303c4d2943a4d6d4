package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// LocalLocation is a directory of the machine that runs the item.
type LocalLocation struct {
	Dir string // the directory; relative to the working directory unless absolute
}

func (l LocalLocation) String() string {
	if abs, err := filepath.Abs(l.Dir); err == nil {
		return "local:" + abs
	}
	return "local:" + l.Dir
}

// Open opens the directory as a [LocalDir], creating it (and its parents)
// with create.
func (l LocalLocation) Open(ctx context.Context, create bool) (Endpoint, error) {
	if l.Dir == "" {
		return nil, errors.New("sync: local directory not set")
	}
	if create {
		if err := os.MkdirAll(l.Dir, 0o755); err != nil {
			return nil, err
		}
	}
	return OpenLocalDir(l.Dir)
}

// LocalDir is an [Endpoint] over a local directory. It is confined with
// [os.Root]: no name, and no symbolic link met on the way, reaches outside
// the directory.
type LocalDir struct {
	root *os.Root
}

var _ Endpoint = (*LocalDir)(nil)

// OpenLocalDir opens dir, which must exist.
func OpenLocalDir(dir string) (*LocalDir, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &LocalDir{root: r}, nil
}

func (d *LocalDir) check(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return checkName(name)
}

// List reads the directory. A symbolic link is followed when its target
// lies inside the root; otherwise it is an entry of Kind Other.
func (d *LocalDir) List(ctx context.Context, dir string) ([]Entry, error) {
	if err := d.check(ctx, dir); err != nil {
		return nil, err
	}
	f, err := d.root.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Entry
	for {
		des, err := f.ReadDir(1024)
		for _, de := range des {
			out = append(out, d.entry(dir, de))
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
}

func (d *LocalDir) entry(dir string, de fs.DirEntry) Entry {
	e := Entry{Name: de.Name(), Kind: Other}
	var fi fs.FileInfo
	var err error
	if de.Type()&fs.ModeSymlink != 0 {
		fi, err = d.root.Stat(join(dir, de.Name()))
	} else {
		fi, err = de.Info()
	}
	if err != nil {
		e.Link = de.Type()&fs.ModeSymlink != 0
		return e
	}
	e = entryOf(fi)
	e.Name = de.Name()
	e.Link = de.Type()&fs.ModeSymlink != 0
	return e
}

func entryOf(fi fs.FileInfo) Entry {
	e := Entry{Name: fi.Name(), Kind: Other, ModTime: fi.ModTime()}
	switch {
	case fi.Mode().IsRegular():
		e.Kind, e.Size = File, fi.Size()
	case fi.IsDir():
		e.Kind = Dir
	}
	return e
}

// Stat follows symbolic links inside the root.
func (d *LocalDir) Stat(ctx context.Context, name string) (Entry, error) {
	if err := d.check(ctx, name); err != nil {
		return Entry{}, err
	}
	fi, err := d.root.Stat(name)
	if err != nil {
		return Entry{}, err
	}
	e := entryOf(fi)
	return e, nil
}

// Open returns the *os.File itself, so that copies to a local file or a
// socket can go through the kernel (copy_file_range, sendfile).
func (d *LocalDir) Open(ctx context.Context, name string, offset int64) (io.ReadCloser, error) {
	if err := d.check(ctx, name); err != nil {
		return nil, err
	}
	f, err := d.root.Open(name)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = fmt.Errorf("sync: %s is not a regular file", name)
		}
		return nil, err
	}
	if offset > 0 {
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

// Write writes r into name from offset on. The copy stops when ctx ends.
func (d *LocalDir) Write(ctx context.Context, name string, offset int64, r io.Reader) (int64, error) {
	if err := d.check(ctx, name); err != nil {
		return 0, err
	}
	f, err := d.root.OpenFile(name, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return 0, err
	}
	if err := f.Truncate(offset); err != nil {
		f.Close()
		return 0, err
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		f.Close()
		return 0, err
	}
	stop := context.AfterFunc(ctx, func() {
		// Unblock a reader that waits on the network; a local
		// source is stopped by the chunked copy below.
		if c, ok := r.(io.Closer); ok {
			c.Close()
		}
	})
	n, err := copyCtx(ctx, f, r)
	stop()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// copyCtx copies src to dst in chunks, checking ctx between them. The
// chunks go through io.CopyN, which keeps the kernel's zero-copy paths.
func copyCtx(ctx context.Context, dst io.Writer, src io.Reader) (int64, error) {
	const chunk = 4 << 20
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		m, err := io.CopyN(dst, src, chunk)
		n += m
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return n, err
		}
	}
}

// Rename replaces newname, as rename(2) does.
func (d *LocalDir) Rename(ctx context.Context, oldname, newname string) error {
	if err := d.check(ctx, oldname); err != nil {
		return err
	}
	if err := checkName(newname); err != nil {
		return err
	}
	return d.root.Rename(oldname, newname)
}

// SetModTime sets the modification time and leaves the access time.
func (d *LocalDir) SetModTime(ctx context.Context, name string, t time.Time) error {
	if err := d.check(ctx, name); err != nil {
		return err
	}
	return d.root.Chtimes(name, time.Time{}, t)
}

func (d *LocalDir) Mkdir(ctx context.Context, name string) error {
	if err := d.check(ctx, name); err != nil {
		return err
	}
	return d.root.Mkdir(name, 0o755)
}

func (d *LocalDir) Remove(ctx context.Context, name string, dir bool) error {
	if err := d.check(ctx, name); err != nil {
		return err
	}
	if name == "." {
		return fmt.Errorf("%w: the root cannot be removed", errPathEscape)
	}
	fi, err := d.root.Lstat(name)
	if err != nil {
		return err
	}
	if fi.IsDir() != dir {
		return fmt.Errorf("sync: %s: not a %s", name, map[bool]string{true: "directory", false: "file"}[dir])
	}
	return d.root.Remove(name)
}

func (d *LocalDir) Close() error { return d.root.Close() }
