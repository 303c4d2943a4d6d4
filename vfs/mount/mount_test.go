package mount_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/vfs"
	"github.com/ferryftp/ferry/vfs/memfs"
	"github.com/ferryftp/ferry/vfs/mount"
	"github.com/ferryftp/ferry/vfs/osfs"
	"github.com/ferryftp/ferry/vfs/vfstest"
)

// subFS shows the directory dir of a mount.FS as a file system of its
// own, so that the conformance kit, which wants an empty root, can run
// inside a mount or next to one.
type subFS struct {
	m   *mount.FS
	dir string
}

var (
	_ vfs.OpenFileFS = subFS{}
	_ vfs.MkdirFS    = subFS{}
	_ vfs.RemoveFS   = subFS{}
	_ vfs.RenameFS   = subFS{}
	_ vfs.ChtimesFS  = subFS{}
)

func (s subFS) full(op, name string) (string, error) {
	if !vfs.ValidPath(name) {
		return "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return s.dir, nil
	}
	return s.dir + "/" + name, nil
}

func (s subFS) Stat(ctx context.Context, name string) (fs.FileInfo, error) {
	n, err := s.full("stat", name)
	if err != nil {
		return nil, err
	}
	return s.m.Stat(ctx, n)
}

func (s subFS) Open(ctx context.Context, name string) (vfs.File, error) {
	n, err := s.full("open", name)
	if err != nil {
		return nil, err
	}
	return s.m.Open(ctx, n)
}

func (s subFS) ReadDir(ctx context.Context, name string) (vfs.DirReader, error) {
	n, err := s.full("readdir", name)
	if err != nil {
		return nil, err
	}
	return s.m.ReadDir(ctx, n)
}

func (s subFS) OpenFile(ctx context.Context, name string, flag int, perm fs.FileMode) (vfs.File, error) {
	n, err := s.full("open", name)
	if err != nil {
		return nil, err
	}
	return s.m.OpenFile(ctx, n, flag, perm)
}

func (s subFS) Mkdir(ctx context.Context, name string, perm fs.FileMode) error {
	n, err := s.full("mkdir", name)
	if err != nil {
		return err
	}
	return s.m.Mkdir(ctx, n, perm)
}

func (s subFS) Remove(ctx context.Context, name string) error {
	n, err := s.full("remove", name)
	if err != nil {
		return err
	}
	return s.m.Remove(ctx, n)
}

func (s subFS) Rename(ctx context.Context, oldname, newname string) error {
	o, err := s.full("rename", oldname)
	if err != nil {
		return err
	}
	n, err := s.full("rename", newname)
	if err != nil {
		return err
	}
	return s.m.Rename(ctx, o, n)
}

func (s subFS) Chtimes(ctx context.Context, name string, atime, mtime time.Time) error {
	n, err := s.full("chtimes", name)
	if err != nil {
		return err
	}
	return s.m.Chtimes(ctx, n, atime, mtime)
}

func mustMount(t *testing.T, m *mount.FS, dir string, fsys vfs.FS) {
	t.Helper()
	require.NoError(t, m.Mount(dir, fsys), "Mount(%q)", dir)
}

func osFS(t *testing.T, dir string) *osfs.FS {
	t.Helper()
	fsys, err := osfs.New(dir)
	require.NoError(t, err, "osfs.New(%q)", dir)
	t.Cleanup(func() { fsys.Close() })
	return fsys
}

func writeFile(t *testing.T, fsys vfs.FS, name, data string) {
	t.Helper()
	f, err := vfs.OpenFile(t.Context(), fsys, name, vfs.O_WRONLY|vfs.O_CREATE|vfs.O_TRUNC, 0o644)
	require.NoError(t, err, "create %q", name)
	_, err = f.(io.Writer).Write([]byte(data))
	require.NoError(t, err, "write %q", name)
	require.NoError(t, f.Close(), "close %q", name)
}

func readFile(t *testing.T, fsys vfs.FS, name string) string {
	t.Helper()
	f, err := fsys.Open(t.Context(), name)
	require.NoError(t, err, "Open(%q)", name)
	defer f.Close()
	b, err := io.ReadAll(f)
	require.NoError(t, err, "read %q", name)
	return string(b)
}

func mkdir(t *testing.T, fsys vfs.FS, name string) {
	t.Helper()
	require.NoError(t, vfs.Mkdir(t.Context(), fsys, name, 0o755), "Mkdir(%q)", name)
}

// list reads the whole directory n entries at a time and checks the
// streaming contract on the way.
func list(t *testing.T, fsys vfs.FS, dir string, n int) []fs.DirEntry {
	t.Helper()
	d, err := fsys.ReadDir(t.Context(), dir)
	require.NoError(t, err, "ReadDir(%q)", dir)
	defer d.Close()
	var all []fs.DirEntry
	for batches := 0; ; batches++ {
		require.Less(t, batches, 1000, "ReadDir(%d) of %q should end", n, dir)
		entries, err := d.ReadDir(n)
		if n > 0 {
			assert.LessOrEqual(t, len(entries), n, "ReadDir(%d) of %q returns at most %d entries", n, dir, n)
		}
		all = append(all, entries...)
		if n <= 0 {
			require.NoError(t, err, "ReadDir(%d) of %q", n, dir)
			more, err := d.ReadDir(n)
			assert.Empty(t, more, "ReadDir(%d) of %q answers everything in one call", n, dir)
			assert.NoError(t, err, "ReadDir(%d) at the end is no error", n)
			return all
		}
		if err == io.EOF {
			break
		}
		require.NoError(t, err, "ReadDir(%d) of %q before the end", n, dir)
		require.NotEmpty(t, entries, "ReadDir(%d) of %q: an empty batch needs io.EOF", n, dir)
	}
	entries, err := d.ReadDir(n)
	assert.Empty(t, entries, "ReadDir(%d) of %q after io.EOF", n, dir)
	assert.ErrorIs(t, err, io.EOF, "ReadDir(%d) of %q after io.EOF reports io.EOF again", n, dir)
	return all
}

func names(entries []fs.DirEntry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	slices.Sort(out)
	return out
}

func TestConformanceNothingMounted(t *testing.T) {
	vfstest.TestFS(t, mount.New(memfs.New()))
}

// TestConformanceBesideMounts runs the kit in a directory of the root of
// a mount.FS that has mounts elsewhere, so every name goes through the
// mount table and back to the root.
func TestConformanceBesideMounts(t *testing.T) {
	root := memfs.New()
	mkdir(t, root, "home")
	m := mount.New(root)
	mustMount(t, m, "shared", memfs.New())
	mustMount(t, m, "deep/er/mnt", memfs.New())
	mustMount(t, m, "home2", memfs.New()) // a name that starts like the directory
	vfstest.TestFS(t, subFS{m, "home"})
}

// TestConformanceInsideMount runs the kit inside mounts: at the top, under
// a directory that exists only on the way to the mount, and on the host.
func TestConformanceInsideMount(t *testing.T) {
	t.Run("memfs", func(t *testing.T) {
		m := mount.New(memfs.New())
		mustMount(t, m, "/mnt/", memfs.New())
		mustMount(t, m, "other", memfs.New())
		vfstest.TestFS(t, subFS{m, "mnt"})
	})
	t.Run("intermediate", func(t *testing.T) {
		m := mount.New(memfs.New())
		mustMount(t, m, "a/b", memfs.New())
		vfstest.TestFS(t, subFS{m, "a/b"})
	})
	t.Run("osfs", func(t *testing.T) {
		base := t.TempDir()
		require.NoError(t, os.Mkdir(filepath.Join(base, "root"), 0o755), "root dir")
		require.NoError(t, os.Mkdir(filepath.Join(base, "alias"), 0o755), "alias dir")
		m := mount.New(osFS(t, filepath.Join(base, "root")))
		mustMount(t, m, "alias", osFS(t, filepath.Join(base, "alias")))
		vfstest.TestFS(t, subFS{m, "alias"})
		entries, err := os.ReadDir(filepath.Join(base, "root"))
		require.NoError(t, err, "ReadDir of the root dir")
		assert.Empty(t, entries, "what was written in the mount is not in the root dir")
	})
}

func TestMountPointListedOnce(t *testing.T) {
	ctx := t.Context()
	root, pub := memfs.New(), memfs.New()
	mkdir(t, root, "pub")
	writeFile(t, root, "pub/hidden.txt", "root's")
	writeFile(t, root, "docs", "a file with a mount point's name")
	writeFile(t, root, "readme", "x")
	mkdir(t, root, "zzz")
	writeFile(t, pub, "shown.txt", "pub's")
	m := mount.New(root)
	mustMount(t, m, "pub", pub)
	mustMount(t, m, "docs", memfs.New())
	mustMount(t, m, "new", memfs.New())

	for _, n := range []int{-1, 0, 1, 2, 3, 4, 5, 100} {
		entries := list(t, m, ".", n)
		assert.Equal(t, []string{"docs", "new", "pub", "readme", "zzz"}, names(entries),
			"ReadDir(%d): each mount point once, real entries of the same name hidden", n)
		for _, e := range entries {
			if e.Name() == "docs" || e.Name() == "pub" || e.Name() == "new" {
				assert.True(t, e.IsDir(), "ReadDir(%d): mount point %q is a directory", n, e.Name())
				info, err := e.Info()
				require.NoError(t, err, "Info of %q", e.Name())
				assert.Equal(t, e.Name(), info.Name(), "the listed mount point has its name")
			}
		}
	}
	for _, mp := range []string{"pub", "docs", "new"} {
		fi, err := m.Stat(ctx, mp)
		require.NoError(t, err, "Stat of mount point %q", mp)
		assert.Equal(t, mp, fi.Name(), "Stat of a mount point shows its name, not the mounted root's")
		assert.True(t, fi.IsDir(), "a mount point is a directory")
	}
	assert.Equal(t, []string{"shown.txt"}, names(list(t, m, "pub", 10)), "below the mount point: the mounted file system")
	_, err := m.Stat(ctx, "pub/hidden.txt")
	assert.ErrorIs(t, err, fs.ErrNotExist, "the real directory's files are hidden")
	assert.Equal(t, "pub's", readFile(t, m, "pub/shown.txt"), "reading below the mount")
}

func TestOperationsBelowMount(t *testing.T) {
	ctx := t.Context()
	root, mnt := memfs.New(), memfs.New()
	m := mount.New(root)
	mustMount(t, m, "m", mnt)

	writeFile(t, m, "m/f.txt", "data")
	mkdir(t, m, "m/dir")
	writeFile(t, m, "top.txt", "top")
	assert.Equal(t, "data", readFile(t, mnt, "f.txt"), "a write below the mount lands in the mounted file system")
	_, err := root.Stat(ctx, "m")
	assert.ErrorIs(t, err, fs.ErrNotExist, "and not in the root")
	assert.Equal(t, "top", readFile(t, root, "top.txt"), "a write beside the mount lands in the root")

	require.NoError(t, m.Rename(ctx, "m/f.txt", "m/dir/g.txt"), "rename within the mount")
	assert.Equal(t, "data", readFile(t, mnt, "dir/g.txt"), "renamed within the mounted file system")
	mtime := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	require.NoError(t, m.Chtimes(ctx, "m/dir/g.txt", mtime, mtime), "Chtimes below the mount")
	fi, err := mnt.Stat(ctx, "dir/g.txt")
	require.NoError(t, err, "Stat")
	assert.True(t, mtime.Equal(fi.ModTime()), "Chtimes reached the mounted file system")
	require.NoError(t, m.Remove(ctx, "m/dir/g.txt"), "Remove below the mount")
	_, err = mnt.Stat(ctx, "dir/g.txt")
	assert.ErrorIs(t, err, fs.ErrNotExist, "removed from the mounted file system")

	// Nested mounts: the nearest one holds the name.
	inner := memfs.New()
	mustMount(t, m, "m/dir/inner", inner)
	writeFile(t, m, "m/dir/inner/x", "inner")
	assert.Equal(t, "inner", readFile(t, inner, "x"), "the nested mount")
	assert.Equal(t, []string{"inner"}, names(list(t, m, "m/dir", 3)), "a nested mount point in a mounted directory")

	// A later mount at the same place replaces the earlier one, listed
	// once still.
	again := memfs.New()
	writeFile(t, again, "again", "")
	mustMount(t, m, "/m/", again)
	assert.Equal(t, []string{"again", "dir"}, names(list(t, m, "m", 10)),
		"the replacing mount, and the way to the nested mount that stays")
	assert.Equal(t, []string{"m", "top.txt"}, names(list(t, m, ".", 10)), "one mount point after replacing")
}

func TestIntermediateDirectory(t *testing.T) {
	ctx := t.Context()
	root := memfs.New()
	m := mount.New(root)
	mustMount(t, m, "a/b/c", memfs.New())
	mustMount(t, m, "a/x", memfs.New())

	for _, dir := range []string{"a", "a/b"} {
		fi, err := m.Stat(ctx, dir)
		require.NoError(t, err, "Stat(%q) of a directory on the way to a mount", dir)
		assert.True(t, fi.IsDir(), "%q is shown as a directory", dir)
		assert.Equal(t, filepath.Base(dir), fi.Name(), "its name")
	}
	assert.Equal(t, []string{"a"}, names(list(t, m, ".", 1)), "the root lists the intermediate directory")
	assert.Equal(t, []string{"b", "x"}, names(list(t, m, "a", 1)), "the intermediate directory lists what leads to mounts")
	assert.Equal(t, []string{"c"}, names(list(t, m, "a/b", -1)), "and so on down")
	_, err := m.Stat(ctx, "a/missing")
	assert.ErrorIs(t, err, fs.ErrNotExist, "nothing else exists there")

	// It cannot be made, removed, renamed or replaced by a file.
	assert.ErrorIs(t, m.Mkdir(ctx, "a", 0o755), fs.ErrExist, "Mkdir of an intermediate directory")
	assert.ErrorIs(t, m.Remove(ctx, "a"), fs.ErrPermission, "Remove of an intermediate directory")
	assert.ErrorIs(t, m.Rename(ctx, "a", "z"), fs.ErrPermission, "Rename of an intermediate directory")
	_, err = m.OpenFile(ctx, "a", vfs.O_WRONLY|vfs.O_CREATE|vfs.O_TRUNC, 0o644)
	assert.ErrorIs(t, err, fs.ErrPermission, "creating a file over an intermediate directory")
	_, err = m.OpenFile(ctx, "a/b", vfs.O_WRONLY|vfs.O_CREATE|vfs.O_EXCL, 0o644)
	assert.ErrorIs(t, err, fs.ErrExist, "O_EXCL over an intermediate directory")
	_, err = root.Stat(ctx, "a")
	assert.ErrorIs(t, err, fs.ErrNotExist, "nothing was created in the root")

	// Once the root has the directory for real, it shows its contents too.
	mkdir(t, root, "a")
	writeFile(t, root, "a/real.txt", "real")
	assert.Equal(t, []string{"b", "real.txt", "x"}, names(list(t, m, "a", 2)), "real entries and mount paths together")
}

func TestMountPointProtected(t *testing.T) {
	ctx := t.Context()
	root := memfs.New()
	mkdir(t, root, "pub")
	writeFile(t, root, "file", "x")
	mnt := memfs.New()
	writeFile(t, mnt, "inside", "y")
	m := mount.New(root)
	mustMount(t, m, "pub/docs", mnt)

	assert.ErrorIs(t, m.Remove(ctx, "pub/docs"), fs.ErrPermission, "Remove of a mount point")
	assert.ErrorIs(t, m.Remove(ctx, "pub"), fs.ErrPermission, "Remove of a directory holding a mount point")
	for _, tc := range [][2]string{
		{"pub/docs", "pub/docs2"}, {"pub/docs", "elsewhere"}, {"pub", "pub2"}, {"file", "pub/docs"}, {"file", "pub"},
	} {
		assert.ErrorIs(t, m.Rename(ctx, tc[0], tc[1]), fs.ErrPermission, "Rename(%q, %q)", tc[0], tc[1])
	}
	assert.ErrorIs(t, m.Mkdir(ctx, "pub/docs", 0o755), fs.ErrExist, "Mkdir on a mount point")
	_, err := m.OpenFile(ctx, "pub/docs", vfs.O_WRONLY|vfs.O_CREATE, 0o644)
	assert.Error(t, err, "opening a mount point for writing")
	assert.Equal(t, "y", readFile(t, mnt, "inside"), "the mounted file system is untouched")
	assert.Equal(t, "x", readFile(t, root, "file"), "the file is still in place")
	assert.Equal(t, []string{"docs"}, names(list(t, m, "pub", 5)), "the mount point is still there")

	err = m.Mount("/", memfs.New())
	assert.Error(t, err, "mounting on the root")
	assert.Error(t, m.Mount("..", memfs.New()), "\"..\" is the root")
	assert.Error(t, m.Mount("", memfs.New()), "an empty mount point is the root")
}

func TestRenameAcrossMounts(t *testing.T) {
	ctx := t.Context()
	root, one, two := memfs.New(), memfs.New(), memfs.New()
	writeFile(t, root, "r.txt", "r")
	writeFile(t, one, "a.txt", "a")
	m := mount.New(root)
	mustMount(t, m, "one", one)
	mustMount(t, m, "two", two)
	mustMount(t, m, "twice", one) // the same file system at a second place

	for _, tc := range [][2]string{
		{"one/a.txt", "two/a.txt"},
		{"one/a.txt", "a.txt"},
		{"r.txt", "one/r.txt"},
		{"one/a.txt", "twice/b.txt"},
	} {
		err := m.Rename(ctx, tc[0], tc[1])
		assert.ErrorIs(t, err, mount.ErrCrossMount, "Rename(%q, %q) crosses file systems", tc[0], tc[1])
		assert.ErrorIs(t, err, fs.ErrPermission, "Rename(%q, %q) is refused as a permission error", tc[0], tc[1])
	}
	assert.Equal(t, "a", readFile(t, one, "a.txt"), "the refused renames moved nothing")
	assert.Equal(t, "r", readFile(t, root, "r.txt"), "the refused renames moved nothing")

	require.NoError(t, m.Rename(ctx, "r.txt", "s.txt"), "a rename within the root")
	require.NoError(t, m.Rename(ctx, "twice/a.txt", "twice/b.txt"), "a rename within one mount")
	assert.Equal(t, "a", readFile(t, one, "b.txt"), "renamed in the mounted file system")
}

// uncomparable is a file system value that cannot be compared with ==.
type uncomparable struct {
	vfs.FS
	tags []string
}

func TestRenameUncomparableFS(t *testing.T) {
	ctx := t.Context()
	inner := memfs.New()
	writeFile(t, inner, "f", "x")
	m := mount.New(uncomparable{memfs.New(), nil})
	mustMount(t, m, "a", uncomparable{vfs.FS(inner), []string{"a"}})
	mustMount(t, m, "b", uncomparable{memfs.New(), nil})
	assert.NotPanics(t, func() {
		assert.ErrorIs(t, m.Rename(ctx, "a/f", "b/f"), mount.ErrCrossMount, "across file systems")
		err := m.Rename(ctx, "a/f", "a/g")
		assert.ErrorIs(t, err, vfs.ErrUnsupported, "within a file system that cannot rename")
	}, "file systems need not be comparable")
}

// broken is a file system whose root cannot be read.
type broken struct{ vfs.FS }

func (broken) Stat(context.Context, string) (fs.FileInfo, error) {
	return nil, errors.New("target is gone")
}

func TestMountTargetGone(t *testing.T) {
	m := mount.New(memfs.New())
	mustMount(t, m, "gone", broken{memfs.New()})
	mustMount(t, m, "here", memfs.New())
	assert.Equal(t, []string{"here"}, names(list(t, m, ".", 1)), "a mount whose target is gone is not listed")
	_, err := m.Stat(t.Context(), "gone")
	assert.Error(t, err, "Stat of a mount whose target is gone")
}

func TestReadDirStreaming(t *testing.T) {
	root := memfs.New()
	var want []string
	for i := range 10 {
		name := fmt.Sprintf("f%02d", i)
		writeFile(t, root, name, "")
		want = append(want, name)
	}
	writeFile(t, root, "m1", "hidden by the mount")
	m := mount.New(root)
	for _, mp := range []string{"m1", "m2", "m3"} {
		mustMount(t, m, mp, memfs.New())
		want = append(want, mp)
	}
	slices.Sort(want)
	for n := -1; n <= 15; n++ {
		assert.Equal(t, want, names(list(t, m, ".", n)), "ReadDir(%d): every entry exactly once", n)
	}

	// Only mounts, no real directory below.
	m = mount.New(memfs.New())
	mustMount(t, m, "x/m1", memfs.New())
	mustMount(t, m, "x/m2", memfs.New())
	for _, n := range []int{-1, 1, 2, 3} {
		assert.Equal(t, []string{"m1", "m2"}, names(list(t, m, "x", n)), "ReadDir(%d) of a directory made of mounts", n)
	}
}

// TestOSAliasOutsideRoot serves a host directory outside the root's
// directory, as an alias does, and checks that nothing reaches past it.
func TestOSAliasOutsideRoot(t *testing.T) {
	ctx := t.Context()
	base := t.TempDir()
	rootDir, aliasDir := filepath.Join(base, "site", "home"), filepath.Join(base, "elsewhere", "shared")
	require.NoError(t, os.MkdirAll(rootDir, 0o755), "root dir")
	require.NoError(t, os.MkdirAll(aliasDir, 0o755), "alias dir")
	require.NoError(t, os.WriteFile(filepath.Join(base, "elsewhere", "secret"), []byte("secret"), 0o644), "a file beside the alias")
	require.NoError(t, os.WriteFile(filepath.Join(base, "site", "secret"), []byte("secret"), 0o644), "a file beside the root")
	require.NoError(t, os.WriteFile(filepath.Join(aliasDir, "doc.txt"), []byte("shared doc"), 0o644), "a shared file")
	require.NoError(t, os.Symlink("../secret", filepath.Join(aliasDir, "escape")), "a symlink out of the alias")

	m := mount.New(osFS(t, rootDir))
	mustMount(t, m, "pub/shared", osFS(t, aliasDir))

	assert.Equal(t, "shared doc", readFile(t, m, "pub/shared/doc.txt"), "reading through the alias")
	writeFile(t, m, "pub/shared/up.txt", "uploaded")
	got, err := os.ReadFile(filepath.Join(aliasDir, "up.txt"))
	require.NoError(t, err, "the upload is in the alias target")
	assert.Equal(t, "uploaded", string(got), "upload content")
	assert.Equal(t, []string{"pub"}, names(list(t, m, ".", 10)), "the root shows the path to the alias")
	assert.Equal(t, []string{"shared"}, names(list(t, m, "pub", 10)), "and the alias")

	for _, name := range []string{
		"pub/shared/..", "pub/shared/../secret", "pub/shared/../../secret", "../secret", "pub/../../secret",
		"/pub/shared/doc.txt", "pub//shared", "pub/./shared",
	} {
		_, err := m.Stat(ctx, name)
		assert.ErrorIs(t, err, fs.ErrInvalid, "Stat(%q)", name)
		_, err = m.Open(ctx, name)
		assert.ErrorIs(t, err, fs.ErrInvalid, "Open(%q)", name)
		_, err = m.ReadDir(ctx, name)
		assert.ErrorIs(t, err, fs.ErrInvalid, "ReadDir(%q)", name)
		_, err = m.OpenFile(ctx, name, vfs.O_WRONLY|vfs.O_CREATE, 0o644)
		assert.ErrorIs(t, err, fs.ErrInvalid, "OpenFile(%q)", name)
		assert.ErrorIs(t, m.Mkdir(ctx, name, 0o755), fs.ErrInvalid, "Mkdir(%q)", name)
		assert.ErrorIs(t, m.Remove(ctx, name), fs.ErrInvalid, "Remove(%q)", name)
		assert.ErrorIs(t, m.Rename(ctx, "pub/shared/doc.txt", name), fs.ErrInvalid, "Rename to %q", name)
		assert.ErrorIs(t, m.Chtimes(ctx, name, time.Now(), time.Now()), fs.ErrInvalid, "Chtimes(%q)", name)
	}
	_, err = m.Open(ctx, "pub/shared/escape")
	assert.Error(t, err, "a symbolic link out of the alias target is not followed")

	entries, err := os.ReadDir(rootDir)
	require.NoError(t, err, "ReadDir of the root dir")
	assert.Empty(t, entries, "nothing was created in the root's directory")
	got, err = os.ReadFile(filepath.Join(base, "elsewhere", "secret"))
	require.NoError(t, err, "the file beside the alias")
	assert.Equal(t, "secret", string(got), "is untouched")
}

func TestIntermediateInsideMount(t *testing.T) {
	ctx := t.Context()
	m := mount.New(memfs.New())
	mustMount(t, m, "m", memfs.New())
	mustMount(t, m, "m/missing/inner", memfs.New())
	fi, err := m.Stat(ctx, "m/missing")
	require.NoError(t, err, "Stat of a directory on the way to a nested mount, which the outer mount lacks")
	assert.True(t, fi.IsDir(), "shown as a directory")
	assert.Equal(t, []string{"missing"}, names(list(t, m, "m", 1)), "listed in the outer mount")
	assert.Equal(t, []string{"inner"}, names(list(t, m, "m/missing", 1)), "and it lists the nested mount")
}
