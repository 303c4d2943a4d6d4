package osfs_test

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/vfs"

	"github.com/ferryftp/ferry/vfs/osfs"
	"github.com/ferryftp/ferry/vfs/vfstest"
)

// newFS opens an osfs over dir and closes it when t ends.
func newFS(t testing.TB, dir string) *osfs.FS {
	t.Helper()
	fsys, err := osfs.New(dir)
	require.NoError(t, err, "osfs.New(%q)", dir)
	t.Cleanup(func() { fsys.Close() })
	return fsys
}

func TestConformance(t *testing.T) {
	vfstest.TestFS(t, newFS(t, t.TempDir()))
}

// TestReadOnlyConformance runs the kit on a read-only osfs behind
// vfs.ReadOnly, which hides the abilities it would refuse.
func TestReadOnlyConformance(t *testing.T) {
	fsys, err := osfs.NewReadOnly(t.TempDir())
	require.NoError(t, err, "NewReadOnly")
	defer fsys.Close()
	vfstest.TestFS(t, vfs.ReadOnly(fsys))
}

func TestOpenReturnsOSFile(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "f"), []byte("data"), 0o644), "WriteFile")
	fsys := newFS(t, dir)
	ctx := t.Context()

	f, err := fsys.Open(ctx, "f")
	require.NoError(t, err, "Open")
	defer f.Close()
	_, ok := f.(*os.File)
	assert.True(t, ok, "Open must return the *os.File itself so io.Copy reaches sendfile, got %T", f)

	w, err := fsys.OpenFile(ctx, "g", vfs.O_WRONLY|vfs.O_CREATE, 0o644)
	require.NoError(t, err, "OpenFile")
	defer w.Close()
	_, ok = w.(*os.File)
	assert.True(t, ok, "OpenFile must return the *os.File itself so io.Copy reaches splice, got %T", w)
}

func TestReadOnly(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "f"), []byte("data"), 0o644), "WriteFile")
	require.NoError(t, os.Mkdir(filepath.Join(dir, "d"), 0o755), "Mkdir")
	fsys, err := osfs.NewReadOnly(dir)
	require.NoError(t, err, "NewReadOnly")
	defer fsys.Close()
	ctx := t.Context()

	_, err = fsys.Stat(ctx, "f")
	assert.NoError(t, err, "Stat works read-only")
	f, err := fsys.Open(ctx, "f")
	require.NoError(t, err, "Open works read-only")
	require.NoError(t, f.Close(), "Close")
	f, err = fsys.OpenFile(ctx, "f", vfs.O_RDONLY, 0)
	require.NoError(t, err, "OpenFile(O_RDONLY) works read-only")
	require.NoError(t, f.Close(), "Close")
	d, err := fsys.ReadDir(ctx, ".")
	require.NoError(t, err, "ReadDir works read-only")
	require.NoError(t, d.Close(), "Close")

	for _, flag := range []int{vfs.O_WRONLY, vfs.O_RDWR, vfs.O_WRONLY | vfs.O_CREATE, vfs.O_RDONLY | vfs.O_TRUNC, vfs.O_WRONLY | vfs.O_APPEND} {
		_, err := fsys.OpenFile(ctx, "f", flag, 0o644)
		assert.ErrorIs(t, err, fs.ErrPermission, "OpenFile(%#x) read-only", flag)
		assert.ErrorIs(t, err, osfs.ErrReadOnly, "OpenFile(%#x) read-only", flag)
	}
	assert.ErrorIs(t, fsys.Mkdir(ctx, "new", 0o755), fs.ErrPermission, "Mkdir read-only")
	assert.ErrorIs(t, fsys.Remove(ctx, "f"), fs.ErrPermission, "Remove read-only")
	assert.ErrorIs(t, fsys.Rename(ctx, "f", "g"), fs.ErrPermission, "Rename read-only")
	assert.ErrorIs(t, fsys.Chtimes(ctx, "f", time.Now(), time.Now()), fs.ErrPermission, "Chtimes read-only")

	data, err := os.ReadFile(filepath.Join(dir, "f"))
	require.NoError(t, err, "the file should still be there")
	assert.Equal(t, "data", string(data), "the file should be unchanged")
	_, err = os.Stat(filepath.Join(dir, "new"))
	assert.ErrorIs(t, err, fs.ErrNotExist, "nothing should be created")
}

func TestOpenFileFlags(t *testing.T) {
	fsys := newFS(t, t.TempDir())
	for _, flag := range []int{vfs.O_WRONLY | vfs.O_RDWR, 0x8000000, vfs.O_RDONLY | 0x100000} {
		_, err := fsys.OpenFile(t.Context(), "f", flag|vfs.O_CREATE, 0o644)
		assert.ErrorIs(t, err, fs.ErrInvalid, "OpenFile(%#x) should refuse unknown or conflicting flags", flag)
	}
	// Bits beyond the permission bits (setuid, sticky) are dropped.
	f, err := fsys.OpenFile(t.Context(), "suid", vfs.O_WRONLY|vfs.O_CREATE, fs.ModeSetuid|0o644)
	require.NoError(t, err, "OpenFile with extra mode bits")
	defer f.Close()
	fi, err := f.Stat()
	require.NoError(t, err, "Stat")
	assert.Zero(t, fi.Mode()&fs.ModeSetuid, "a created file must not be setuid")
}

func TestCancelledContext(t *testing.T) {
	fsys := newFS(t, t.TempDir())
	ctx, cancel := context.WithCancel(t.Context())
	d, err := fsys.ReadDir(ctx, ".")
	require.NoError(t, err, "ReadDir")
	defer d.Close()
	cancel()
	_, err = d.ReadDir(10)
	assert.ErrorIs(t, err, context.Canceled, "a listing stops with its context")
	_, err = fsys.Stat(ctx, ".")
	assert.ErrorIs(t, err, context.Canceled, "Stat with a done context")
	_, err = fsys.Open(ctx, ".")
	assert.ErrorIs(t, err, context.Canceled, "Open with a done context")
}

func TestClosedFS(t *testing.T) {
	dir := t.TempDir()
	fsys, err := osfs.New(dir)
	require.NoError(t, err, "New")
	require.NoError(t, fsys.Close(), "Close")
	_, err = fsys.Stat(t.Context(), ".")
	assert.Error(t, err, "Stat after Close")
	if err != nil {
		assert.NotContains(t, err.Error(), dir, "errors must not contain the host path")
	}
}

func TestNewErrors(t *testing.T) {
	_, err := osfs.New(filepath.Join(t.TempDir(), "missing"))
	assert.ErrorIs(t, err, fs.ErrNotExist, "New of a missing directory")
}

// BenchmarkReadDir100k lists a directory of 100,000 files in batches, with
// the information of every entry, as LIST does.
func BenchmarkReadDir100k(b *testing.B) {
	const files = 100_000
	dir := b.TempDir()
	for i := range files {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("file%06d.txt", i)))
		require.NoError(b, err, "creating the files")
		require.NoError(b, f.Close(), "creating the files")
	}
	fsys := newFS(b, dir)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		d, err := fsys.ReadDir(ctx, ".")
		require.NoError(b, err, "ReadDir")
		n := 0
		for {
			entries, err := d.ReadDir(1000)
			for _, e := range entries {
				if _, err := e.Info(); err != nil {
					b.Fatalf("Info: %v", err)
				}
			}
			n += len(entries)
			if err == io.EOF {
				break
			}
			require.NoError(b, err, "ReadDir(1000)")
		}
		require.NoError(b, d.Close(), "Close")
		if n != files {
			b.Fatalf("listed %d entries, want %d", n, files)
		}
	}
}
