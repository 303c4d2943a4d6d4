package osfs_test

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/vfs"
	"github.com/ferryftp/ferry/vfs/osfs"
)

// escapeTree is a served directory next to a directory that must stay out
// of reach, with links from the one to the other.
type escapeTree struct {
	base    string // holds both
	root    string // served
	outside string // must never be read, written or listed
	secret  string // a file in outside
	mtime   time.Time
}

// newEscapeTree lays out
//
//	base/outside/secret.txt       "secret"
//	base/outside/dir/
//	base/root/abs        -> base/outside (absolute)
//	base/root/rel        -> ../outside
//	base/root/deep/rel   -> ../../outside
//	base/root/etc        -> ../../../../../../../../etc
//	base/root/fileabs    -> base/outside/secret.txt
//	base/root/filerel    -> ../outside/secret.txt
//	base/root/sub/ok.txt "ok"
//	base/root/in         -> sub
//	base/root/okfile     -> sub/ok.txt
//	base/root/loop1      -> loop2, loop2 -> loop1
//	base/root/self       -> .
//	base/root/victim.txt "victim"
func newEscapeTree(t testing.TB) *escapeTree {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links need privileges on Windows")
	}
	base := t.TempDir()
	e := &escapeTree{
		base:    base,
		root:    filepath.Join(base, "root"),
		outside: filepath.Join(base, "outside"),
		secret:  filepath.Join(base, "outside", "secret.txt"),
		mtime:   time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	must := func(err error) {
		t.Helper()
		require.NoError(t, err, "setting up the escape tree")
	}
	must(os.MkdirAll(filepath.Join(e.outside, "dir"), 0o755))
	must(os.WriteFile(e.secret, []byte("secret"), 0o644))
	must(os.Chtimes(e.secret, e.mtime, e.mtime))
	must(os.MkdirAll(filepath.Join(e.root, "deep"), 0o755))
	must(os.MkdirAll(filepath.Join(e.root, "sub"), 0o755))
	must(os.WriteFile(filepath.Join(e.root, "sub", "ok.txt"), []byte("ok"), 0o644))
	must(os.WriteFile(filepath.Join(e.root, "victim.txt"), []byte("victim"), 0o644))
	for link, target := range map[string]string{
		"abs":      e.outside,
		"rel":      "../outside",
		"deep/rel": "../../outside",
		"etc":      "../../../../../../../../etc",
		"fileabs":  e.secret,
		"filerel":  "../outside/secret.txt",
		"in":       "sub",
		"okfile":   "sub/ok.txt",
		"loop1":    "loop2",
		"loop2":    "loop1",
		"self":     ".",
	} {
		must(os.Symlink(target, filepath.Join(e.root, filepath.FromSlash(link))))
	}
	return e
}

// assertOutsideUntouched checks that nothing outside the root changed.
func (e *escapeTree) assertOutsideUntouched(t *testing.T) {
	t.Helper()
	data, err := os.ReadFile(e.secret)
	require.NoError(t, err, "the secret file outside must still exist")
	assert.Equal(t, "secret", string(data), "the secret file outside must be unchanged")
	fi, err := os.Stat(e.secret)
	require.NoError(t, err, "stat of the secret file")
	assert.True(t, fi.ModTime().Equal(e.mtime), "the secret file's mtime must be unchanged, got %v", fi.ModTime())
	entries, err := os.ReadDir(e.outside)
	require.NoError(t, err, "listing outside")
	var names []string
	for _, de := range entries {
		names = append(names, de.Name())
	}
	assert.ElementsMatch(t, []string{"dir", "secret.txt"}, names, "nothing may be created in or removed from outside")
	sub, err := os.ReadDir(filepath.Join(e.outside, "dir"))
	require.NoError(t, err, "listing outside/dir")
	assert.Empty(t, sub, "nothing may be created in outside/dir")
}

// assertHidden checks that err is a failure that says nothing of the host.
func (e *escapeTree) assertHidden(t *testing.T, err error, what string) {
	t.Helper()
	if !assert.Error(t, err, "%s must fail", what) {
		return
	}
	assert.NotContains(t, err.Error(), e.base, "the error of %s must not contain the host path", what)
	var pe *fs.PathError
	var le *os.LinkError
	assert.True(t, errors.As(err, &pe) || errors.As(err, &le), "the error of %s should be a *fs.PathError or *os.LinkError, got %T", what, err)
}

var escapingLinks = []string{"abs", "rel", "deep/rel", "etc"}

func TestEscapeThroughSymlinks(t *testing.T) {
	e := newEscapeTree(t)
	fsys := newFS(t, e.root)
	ctx := t.Context()

	for _, link := range escapingLinks {
		t.Run(link, func(t *testing.T) {
			secret := link + "/secret.txt"
			if link == "etc" {
				secret = link + "/passwd"
			}
			_, err := fsys.Stat(ctx, link)
			e.assertHidden(t, err, "Stat of the link")
			_, err = fsys.Stat(ctx, secret)
			e.assertHidden(t, err, "Stat through the link")
			f, err := fsys.Open(ctx, secret)
			e.assertHidden(t, err, "Open through the link")
			assert.True(t, f == nil, "a refused Open returns no file")
			d, err := fsys.ReadDir(ctx, link)
			e.assertHidden(t, err, "ReadDir of the link")
			assert.True(t, d == nil, "a refused ReadDir returns no reader")
			_, err = fsys.ReadDir(ctx, link+"/dir")
			e.assertHidden(t, err, "ReadDir through the link")

			_, err = fsys.OpenFile(ctx, link+"/new.txt", vfs.O_WRONLY|vfs.O_CREATE, 0o644)
			e.assertHidden(t, err, "OpenFile(O_CREATE) through the link")
			_, err = fsys.OpenFile(ctx, link+"/new.txt", vfs.O_WRONLY|vfs.O_CREATE|vfs.O_EXCL, 0o644)
			e.assertHidden(t, err, "OpenFile(O_CREATE|O_EXCL) through the link")
			_, err = fsys.OpenFile(ctx, secret, vfs.O_WRONLY|vfs.O_TRUNC, 0)
			e.assertHidden(t, err, "OpenFile(O_TRUNC) through the link")
			_, err = fsys.OpenFile(ctx, secret, vfs.O_WRONLY|vfs.O_APPEND, 0)
			e.assertHidden(t, err, "OpenFile(O_APPEND) through the link")
			e.assertHidden(t, fsys.Mkdir(ctx, link+"/newdir", 0o755), "Mkdir through the link")
			e.assertHidden(t, fsys.Mkdir(ctx, link+"/dir/newdir", 0o755), "Mkdir deeper through the link")
			e.assertHidden(t, fsys.Rename(ctx, "victim.txt", link+"/victim.txt"), "Rename into the link")
			e.assertHidden(t, fsys.Rename(ctx, secret, "stolen.txt"), "Rename out of the link")
			e.assertHidden(t, fsys.Remove(ctx, secret), "Remove through the link")
			e.assertHidden(t, fsys.Remove(ctx, link+"/dir"), "Remove of a directory through the link")
			e.assertHidden(t, fsys.Chtimes(ctx, secret, time.Now(), time.Now()), "Chtimes through the link")
			e.assertHidden(t, fsys.Chtimes(ctx, link, time.Now(), time.Now()), "Chtimes of the link")

			e.assertOutsideUntouched(t)
			_, err = os.Stat(filepath.Join(e.root, "victim.txt"))
			assert.NoError(t, err, "a refused Rename leaves the file in place")
			_, err = os.Lstat(filepath.Join(e.root, "stolen.txt"))
			assert.ErrorIs(t, err, fs.ErrNotExist, "nothing may be moved in from outside")
		})
	}

	t.Run("FileLinks", func(t *testing.T) {
		for _, link := range []string{"fileabs", "filerel"} {
			_, err := fsys.Stat(ctx, link)
			e.assertHidden(t, err, "Stat of "+link)
			assert.ErrorIs(t, err, fs.ErrPermission, "Stat of %s should be a permission error", link)
			_, err = fsys.Open(ctx, link)
			e.assertHidden(t, err, "Open of "+link)
			_, err = fsys.OpenFile(ctx, link, vfs.O_WRONLY|vfs.O_TRUNC, 0)
			e.assertHidden(t, err, "OpenFile(O_TRUNC) of "+link)
			_, err = fsys.OpenFile(ctx, link, vfs.O_WRONLY|vfs.O_CREATE, 0o644)
			e.assertHidden(t, err, "OpenFile(O_CREATE) of "+link)
			e.assertHidden(t, fsys.Chtimes(ctx, link, time.Now(), time.Now()), "Chtimes of "+link)
		}
		e.assertOutsideUntouched(t)
	})

	t.Run("ErrOutsideRoot", func(t *testing.T) {
		_, err := fsys.Stat(ctx, "rel/secret.txt")
		assert.ErrorIs(t, err, osfs.ErrOutsideRoot, "a relative escape should report ErrOutsideRoot")
		assert.ErrorIs(t, err, fs.ErrPermission, "ErrOutsideRoot should be a permission error")
		_, err = fsys.Stat(ctx, "abs")
		assert.ErrorIs(t, err, osfs.ErrOutsideRoot, "an absolute link should report ErrOutsideRoot")
	})

	t.Run("RemoveLinkItself", func(t *testing.T) {
		for _, link := range []string{"abs", "rel", "fileabs"} {
			require.NoError(t, fsys.Remove(ctx, link), "Remove of the link %s removes the link", link)
			_, err := os.Lstat(filepath.Join(e.root, link))
			assert.ErrorIs(t, err, fs.ErrNotExist, "the link %s should be gone", link)
		}
		e.assertOutsideUntouched(t)
	})
}

func TestSymlinksInside(t *testing.T) {
	e := newEscapeTree(t)
	fsys := newFS(t, e.root)
	ctx := t.Context()

	fi, err := fsys.Stat(ctx, "in")
	require.NoError(t, err, "Stat of a link to a directory inside")
	assert.True(t, fi.IsDir(), "Stat follows a link that stays inside")
	f, err := fsys.Open(ctx, "in/ok.txt")
	require.NoError(t, err, "Open through a link inside")
	data, err := io.ReadAll(f)
	require.NoError(t, err, "Read")
	assert.Equal(t, "ok", string(data), "content through a link inside")
	require.NoError(t, f.Close(), "Close")
	f, err = fsys.Open(ctx, "okfile")
	require.NoError(t, err, "Open of a link to a file inside")
	require.NoError(t, f.Close(), "Close")
	_, err = fsys.Stat(ctx, "self/self/self/sub/ok.txt")
	assert.NoError(t, err, "a link to its own directory can be walked through")

	w, err := fsys.OpenFile(ctx, "in/new.txt", vfs.O_WRONLY|vfs.O_CREATE, 0o644)
	require.NoError(t, err, "OpenFile(O_CREATE) through a link inside")
	require.NoError(t, w.Close(), "Close")
	_, err = os.Stat(filepath.Join(e.root, "sub", "new.txt"))
	assert.NoError(t, err, "the file should be created in the link's target")
}

func TestSymlinkLoops(t *testing.T) {
	e := newEscapeTree(t)
	fsys := newFS(t, e.root)
	ctx := t.Context()

	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := fsys.Stat(ctx, "loop1")
		e.assertHidden(t, err, "Stat of a link loop")
		_, err = fsys.Open(ctx, "loop1/x")
		e.assertHidden(t, err, "Open through a link loop")
		_, err = fsys.ReadDir(ctx, "loop2")
		e.assertHidden(t, err, "ReadDir of a link loop")
		_, err = fsys.OpenFile(ctx, "loop1", vfs.O_WRONLY|vfs.O_CREATE, 0o644)
		e.assertHidden(t, err, "OpenFile(O_CREATE) of a link loop")
		name := strings.Repeat("self/", 300) + "sub"
		_, err = fsys.Stat(ctx, name)
		e.assertHidden(t, err, "Stat through 300 links")
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("operations on link loops should fail promptly, not hang")
	}
}

func TestListingSymlinks(t *testing.T) {
	e := newEscapeTree(t)
	fsys := newFS(t, e.root)

	d, err := fsys.ReadDir(t.Context(), ".")
	require.NoError(t, err, "ReadDir of the root")
	defer d.Close()
	infos := map[string]fs.FileInfo{}
	types := map[string]fs.FileMode{}
	for {
		entries, err := d.ReadDir(3)
		for _, de := range entries {
			fi, err := de.Info()
			require.NoError(t, err, "Info of %q", de.Name())
			infos[de.Name()] = fi
			types[de.Name()] = de.Type()
		}
		if err == io.EOF {
			break
		}
		require.NoError(t, err, "ReadDir(3)")
	}

	outside, err := os.Stat(e.outside)
	require.NoError(t, err, "stat outside")
	secret, err := os.Stat(e.secret)
	require.NoError(t, err, "stat secret")
	for _, name := range []string{"abs", "rel", "etc", "fileabs", "filerel", "loop1", "loop2"} {
		fi := infos[name]
		require.NotNil(t, fi, "%s should be listed", name)
		assert.Equal(t, fs.ModeSymlink, fi.Mode().Type(), "%s leads outside or nowhere and should be listed as a link", name)
		assert.Equal(t, fs.ModeSymlink, types[name], "the entry type of %s should be a link", name)
		assert.False(t, os.SameFile(fi, outside) || os.SameFile(fi, secret), "the listing must not describe what %s points to", name)
	}
	for name, want := range map[string]fs.FileMode{"in": fs.ModeDir, "self": fs.ModeDir, "okfile": 0, "sub": fs.ModeDir, "victim.txt": 0} {
		fi := infos[name]
		require.NotNil(t, fi, "%s should be listed", name)
		assert.Equal(t, want, fi.Mode().Type(), "%s resolves inside and should be listed as its target", name)
		assert.Equal(t, want, types[name], "the entry type of %s should agree with its info", name)
		assert.Equal(t, name, fi.Name(), "a followed link keeps its own name")
	}
	assert.Equal(t, int64(2), infos["okfile"].Size(), "a link to a file lists the file's size")
}

// TestReplaceDirWithLink swaps a directory for a link to outside after the
// file system was opened (a time-of-check to time-of-use attack).
func TestReplaceDirWithLink(t *testing.T) {
	e := newEscapeTree(t)
	dir := filepath.Join(e.root, "swap")
	require.NoError(t, os.Mkdir(dir, 0o755), "Mkdir")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("inside"), 0o644), "WriteFile")
	fsys := newFS(t, e.root)
	ctx := t.Context()

	_, err := fsys.Stat(ctx, "swap/secret.txt")
	require.NoError(t, err, "before the swap the file is inside")
	d, err := fsys.ReadDir(ctx, "swap")
	require.NoError(t, err, "ReadDir before the swap")
	defer d.Close()

	require.NoError(t, os.Rename(dir, filepath.Join(e.root, "swapped")), "moving the directory away")
	require.NoError(t, os.Symlink(e.outside, dir), "putting a link in its place")

	_, err = fsys.Stat(ctx, "swap/secret.txt")
	e.assertHidden(t, err, "Stat after the swap")
	_, err = fsys.Open(ctx, "swap/secret.txt")
	e.assertHidden(t, err, "Open after the swap")
	_, err = fsys.OpenFile(ctx, "swap/new.txt", vfs.O_WRONLY|vfs.O_CREATE, 0o644)
	e.assertHidden(t, err, "OpenFile(O_CREATE) after the swap")
	e.assertHidden(t, fsys.Mkdir(ctx, "swap/newdir", 0o755), "Mkdir after the swap")
	e.assertHidden(t, fsys.Remove(ctx, "swap/secret.txt"), "Remove after the swap")
	e.assertHidden(t, fsys.Rename(ctx, "victim.txt", "swap/victim.txt"), "Rename after the swap")

	// The listing opened before the swap stays on the directory it opened.
	entries, err := d.ReadDir(10)
	require.NoError(t, err, "ReadDir after the swap")
	require.Len(t, entries, 1, "the open listing shows the original directory")
	fi, err := entries[0].Info()
	require.NoError(t, err, "Info")
	assert.Equal(t, int64(len("inside")), fi.Size(), "the entry must describe the file inside, not the one outside")
	e.assertOutsideUntouched(t)
}

// TestReplaceRootWithLink moves the served directory away and puts a link
// to outside at its host path: the file system keeps serving the directory
// it opened.
func TestReplaceRootWithLink(t *testing.T) {
	e := newEscapeTree(t)
	fsys := newFS(t, e.root)
	ctx := t.Context()

	require.NoError(t, os.Rename(e.root, e.root+".moved"), "moving the root away")
	require.NoError(t, os.Symlink(e.outside, e.root), "putting a link in its place")

	_, err := fsys.Stat(ctx, "secret.txt")
	assert.ErrorIs(t, err, fs.ErrNotExist, "the file system must not follow its host path to outside")
	_, err = fsys.Stat(ctx, "victim.txt")
	assert.NoError(t, err, "the file system keeps serving the directory it opened")
	e.assertOutsideUntouched(t)
}

func TestDotDotRejected(t *testing.T) {
	e := newEscapeTree(t)
	fsys := newFS(t, filepath.Join(e.root, "sub"))
	for _, name := range []string{"..", "../outside/secret.txt", "../victim.txt", "a/../../victim.txt", "/etc/passwd", e.secret[1:] + "/.."} {
		_, err := fsys.Stat(t.Context(), name)
		assert.ErrorIs(t, err, fs.ErrInvalid, "Stat(%q) should refuse the name", name)
		_, err = fsys.Open(t.Context(), name)
		assert.ErrorIs(t, err, fs.ErrInvalid, "Open(%q) should refuse the name", name)
	}
}

func TestErrorsHideHostPath(t *testing.T) {
	e := newEscapeTree(t)
	fsys := newFS(t, e.root)
	ctx := t.Context()
	_, err := fsys.Stat(ctx, "missing")
	e.assertHidden(t, err, "Stat of a missing file")
	_, err = fsys.Open(ctx, "sub/missing")
	e.assertHidden(t, err, "Open of a missing file")
	_, err = fsys.ReadDir(ctx, "victim.txt")
	e.assertHidden(t, err, "ReadDir of a file")
	e.assertHidden(t, fsys.Mkdir(ctx, "sub", 0o755), "Mkdir of an existing directory")
	e.assertHidden(t, fsys.Remove(ctx, "."), "Remove of the root")
	e.assertHidden(t, fsys.Rename(ctx, "missing", "x"), "Rename of a missing file")

	d, err := fsys.ReadDir(ctx, "sub")
	require.NoError(t, err, "ReadDir")
	require.NoError(t, d.Close(), "Close")
	_, err = d.ReadDir(1)
	e.assertHidden(t, err, "ReadDir after Close")
	e.assertHidden(t, d.Close(), "a second Close")
}
