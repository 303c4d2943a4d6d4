package vfs_test

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/vfs"
	"github.com/ferryftp/ferry/vfs/memfs"
	"github.com/ferryftp/ferry/vfs/vfstest"
)

func TestHelpersReachAbilities(t *testing.T) {
	m := memfs.New()
	ctx := t.Context()
	require.NoError(t, vfs.Mkdir(ctx, m, "d", 0o755), "Mkdir through the helper")
	f, err := vfs.OpenFile(ctx, m, "d/f", vfs.O_WRONLY|vfs.O_CREATE, 0o644)
	require.NoError(t, err, "OpenFile through the helper")
	_, err = f.(io.Writer).Write([]byte("x"))
	require.NoError(t, err, "Write")
	require.NoError(t, f.Close(), "Close")
	require.NoError(t, vfs.Rename(ctx, m, "d/f", "d/g"), "Rename through the helper")
	mtime := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	require.NoError(t, vfs.Chtimes(ctx, m, "d/g", mtime, mtime), "Chtimes through the helper")
	fi, err := m.Stat(ctx, "d/g")
	require.NoError(t, err, "Stat")
	assert.True(t, mtime.Equal(fi.ModTime()), "Chtimes through the helper sets the time")
	require.NoError(t, vfs.Remove(ctx, m, "d/g"), "Remove through the helper")
	f, err = vfs.OpenFile(ctx, m, "d", vfs.O_RDONLY, 0)
	require.NoError(t, err, "OpenFile(O_RDONLY) goes through Open")
	require.NoError(t, f.Close(), "Close")
}

func TestReadOnlyHidesAbilities(t *testing.T) {
	m := memfs.New()
	require.NoError(t, m.WriteFile("f", []byte("x"), 0o644), "WriteFile")
	ro := vfs.ReadOnly(m)
	ctx := t.Context()

	_, ok := ro.(vfs.OpenFileFS)
	assert.False(t, ok, "vfs.ReadOnly must hide OpenFileFS")
	_, ok = ro.(vfs.MkdirFS)
	assert.False(t, ok, "vfs.ReadOnly must hide MkdirFS")
	_, ok = ro.(vfs.RemoveFS)
	assert.False(t, ok, "vfs.ReadOnly must hide RemoveFS")
	_, ok = ro.(vfs.RenameFS)
	assert.False(t, ok, "vfs.ReadOnly must hide RenameFS")
	_, ok = ro.(vfs.ChtimesFS)
	assert.False(t, ok, "vfs.ReadOnly must hide ChtimesFS")

	_, err := vfs.OpenFile(ctx, ro, "f", vfs.O_WRONLY, 0)
	assert.ErrorIs(t, err, vfs.ErrUnsupported, "OpenFile for writing on a read-only FS")
	var pe *fs.PathError
	assert.True(t, errors.As(err, &pe), "the helpers answer *fs.PathError, got %T", err)
	assert.ErrorIs(t, vfs.Mkdir(ctx, ro, "d", 0o755), vfs.ErrUnsupported, "Mkdir")
	assert.ErrorIs(t, vfs.Remove(ctx, ro, "f"), vfs.ErrUnsupported, "Remove")
	err = vfs.Rename(ctx, ro, "f", "g")
	assert.ErrorIs(t, err, vfs.ErrUnsupported, "Rename")
	var le *os.LinkError
	assert.True(t, errors.As(err, &le), "Rename answers *os.LinkError, got %T", err)
	assert.ErrorIs(t, vfs.Chtimes(ctx, ro, "f", time.Now(), time.Now()), vfs.ErrUnsupported, "Chtimes")

	f, err := vfs.OpenFile(ctx, ro, "f", vfs.O_RDONLY, 0)
	require.NoError(t, err, "reading still works")
	require.NoError(t, f.Close(), "Close")
	_, err = m.Stat(ctx, "g")
	assert.ErrorIs(t, err, fs.ErrNotExist, "nothing may change behind a read-only view")
}

// TestReadOnlyConformance runs the kit on a read-only view: the write
// checks skip, the read checks still hold.
func TestReadOnlyConformance(t *testing.T) {
	vfstest.TestFS(t, vfs.ReadOnly(memfs.New()))
}

func TestValidPath(t *testing.T) {
	for name, want := range map[string]bool{
		".": true, "a": true, "a/b": true, "": false, "/a": false, "a/": false, "../a": false, "a/../b": false,
	} {
		assert.Equal(t, want, vfs.ValidPath(name), "ValidPath(%q)", name)
	}
}
