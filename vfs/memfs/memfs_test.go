package memfs_test

import (
	"fmt"
	"io"
	"io/fs"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/vfs"
	"github.com/ferryftp/ferry/vfs/memfs"
	"github.com/ferryftp/ferry/vfs/vfstest"
)

func TestConformance(t *testing.T) {
	vfstest.TestFS(t, memfs.New())
}

func TestZeroValue(t *testing.T) {
	vfstest.TestFS(t, new(memfs.FS))
}

// clock is a manual clock for FS.Clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func TestClockAndDirectoryTimes(t *testing.T) {
	t0 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := &clock{now: t0}
	m := &memfs.FS{Clock: clk.Now}
	ctx := t.Context()

	fi, err := m.Stat(ctx, ".")
	require.NoError(t, err, "Stat of the root")
	assert.Equal(t, t0, fi.ModTime(), "the root is stamped by the clock on first use")

	steps := []struct {
		what string
		do   func() error
		dir  string
	}{
		{"Mkdir", func() error { return m.Mkdir(ctx, "d", 0o755) }, "."},
		{"WriteFile", func() error { return m.WriteFile("d/f", []byte("x"), 0o644) }, "d"},
		{"Rename", func() error { return m.Rename(ctx, "d/f", "d/g") }, "d"},
		{"Remove", func() error { return m.Remove(ctx, "d/g") }, "d"},
	}
	for i, s := range steps {
		at := t0.Add(time.Duration(i+1) * time.Hour)
		clk.Set(at)
		require.NoError(t, s.do(), s.what)
		fi, err := m.Stat(ctx, s.dir)
		require.NoError(t, err, "Stat(%q)", s.dir)
		assert.Equal(t, at, fi.ModTime(), "%s should update the modification time of %q", s.what, s.dir)
	}

	clk.Set(t0.Add(24 * time.Hour))
	require.NoError(t, m.WriteFile("f", nil, 0o600), "WriteFile")
	f, err := m.OpenFile(ctx, "f", vfs.O_WRONLY, 0)
	require.NoError(t, err, "OpenFile")
	clk.Set(t0.Add(48 * time.Hour))
	_, err = f.(io.Writer).Write([]byte("later"))
	require.NoError(t, err, "Write")
	require.NoError(t, f.Close(), "Close")
	fi, err = m.Stat(ctx, "f")
	require.NoError(t, err, "Stat")
	assert.Equal(t, t0.Add(48*time.Hour), fi.ModTime(), "writing should update the file's time")
	assert.Equal(t, fs.FileMode(0o600), fi.Mode(), "a file keeps the permission bits it was made with")
}

func TestHelpers(t *testing.T) {
	m := memfs.New()
	ctx := t.Context()
	require.NoError(t, m.MkdirAll("a/b/c"), "MkdirAll")
	require.NoError(t, m.MkdirAll("a/b/c"), "MkdirAll of existing directories")
	require.NoError(t, m.MkdirAll("."), `MkdirAll(".")`)
	require.NoError(t, m.WriteFile("a/b/c/f.txt", []byte("hello"), 0o644), "WriteFile")
	require.NoError(t, m.WriteFile("a/b/c/f.txt", []byte("hi"), 0o644), "WriteFile again truncates")

	f, err := m.Open(ctx, "a/b/c/f.txt")
	require.NoError(t, err, "Open")
	data, err := io.ReadAll(f)
	require.NoError(t, err, "ReadAll")
	assert.Equal(t, "hi", string(data), "WriteFile replaces the content")

	assert.Error(t, m.MkdirAll("a/b/c/f.txt/d"), "MkdirAll through a file")
	assert.ErrorIs(t, m.WriteFile("missing/f", nil, 0o644), fs.ErrNotExist, "WriteFile does not create parents")
	assert.ErrorIs(t, m.WriteFile("../f", nil, 0o644), fs.ErrInvalid, "WriteFile checks names")
	assert.ErrorIs(t, m.MkdirAll("/a"), fs.ErrInvalid, "MkdirAll checks names")
}

func TestSparseStaysSmall(t *testing.T) {
	m := memfs.New()
	f, err := m.OpenFile(t.Context(), "big", vfs.O_RDWR|vfs.O_CREATE, 0o644)
	require.NoError(t, err, "OpenFile")
	defer f.Close()
	w := f.(io.WriterAt)
	for _, off := range []int64{0, 1 << 40, 1<<40 + 65535, 3 << 50} {
		_, err := w.WriteAt([]byte("ab"), off)
		require.NoError(t, err, "WriteAt(%d)", off)
	}
	fi, err := f.Stat()
	require.NoError(t, err, "Stat")
	assert.Equal(t, int64(3<<50+2), fi.Size(), "size after the last write")

	r := f.(io.ReaderAt)
	buf := make([]byte, 4)
	_, err = r.ReadAt(buf, 1<<40+65534)
	require.NoError(t, err, "ReadAt across a page boundary")
	assert.Equal(t, []byte{0, 'a', 'b', 0}, buf, "bytes across a page boundary")

	_, err = f.Seek(1<<62, io.SeekStart)
	require.NoError(t, err, "Seek far")
	_, err = f.Seek(1<<61, io.SeekCurrent)
	require.NoError(t, err, "Seek farther")
	_, err = f.Seek(1<<62, io.SeekCurrent)
	assert.Error(t, err, "Seek past the largest offset should fail, not wrap")
	_, err = w.WriteAt([]byte("x"), 1<<63-1)
	assert.Error(t, err, "a write past the largest size should fail")
}

func TestFileModes(t *testing.T) {
	m := memfs.New()
	ctx := t.Context()
	require.NoError(t, m.WriteFile("f", []byte("data"), 0o644), "WriteFile")

	r, err := m.Open(ctx, "f")
	require.NoError(t, err, "Open")
	_, err = r.(io.Writer).Write([]byte("x"))
	assert.Error(t, err, "a file opened for reading refuses writes")
	require.NoError(t, r.Close(), "Close")
	assert.ErrorIs(t, r.Close(), fs.ErrClosed, "a second Close")
	_, err = r.Read(make([]byte, 1))
	assert.ErrorIs(t, err, fs.ErrClosed, "Read after Close")
	_, err = r.Stat()
	assert.ErrorIs(t, err, fs.ErrClosed, "Stat after Close")

	w, err := m.OpenFile(ctx, "f", vfs.O_WRONLY, 0)
	require.NoError(t, err, "OpenFile(O_WRONLY)")
	_, err = w.Read(make([]byte, 1))
	assert.Error(t, err, "a file opened for writing only refuses reads")
	require.NoError(t, w.Close(), "Close")

	d, err := m.Open(ctx, ".")
	require.NoError(t, err, "Open of a directory")
	_, err = d.Read(make([]byte, 1))
	assert.Error(t, err, "a directory cannot be read")
	fi, err := d.Stat()
	require.NoError(t, err, "Stat of an open directory")
	assert.True(t, fi.IsDir(), "an open directory is a directory")

	a, err := m.OpenFile(ctx, "f", vfs.O_WRONLY|vfs.O_APPEND, 0)
	require.NoError(t, err, "OpenFile(O_APPEND)")
	_, err = a.(io.WriterAt).WriteAt([]byte("x"), 0)
	assert.Error(t, err, "WriteAt on an appending file fails, as with os.File")
	require.NoError(t, a.Close(), "Close")

	for _, flag := range []int{vfs.O_WRONLY | vfs.O_RDWR, 0x8000000} {
		_, err := m.OpenFile(ctx, "f", flag, 0)
		assert.ErrorIs(t, err, fs.ErrInvalid, "OpenFile(%#x)", flag)
	}
}

func TestOpenFileSurvivesRemove(t *testing.T) {
	m := memfs.New()
	ctx := t.Context()
	require.NoError(t, m.WriteFile("f", []byte("still here"), 0o644), "WriteFile")
	f, err := m.Open(ctx, "f")
	require.NoError(t, err, "Open")
	defer f.Close()
	require.NoError(t, m.Remove(ctx, "f"), "Remove of an open file")
	data, err := io.ReadAll(f)
	require.NoError(t, err, "reading a removed file")
	assert.Equal(t, "still here", string(data), "an open file stays readable after Remove, as on Unix")
}

func TestRenameRules(t *testing.T) {
	m := memfs.New()
	ctx := t.Context()
	require.NoError(t, m.MkdirAll("d/e"), "MkdirAll")
	require.NoError(t, m.MkdirAll("other"), "MkdirAll")
	require.NoError(t, m.WriteFile("f", nil, 0o644), "WriteFile")
	assert.ErrorIs(t, m.Rename(ctx, "f", "other"), fs.ErrExist, "a file may not replace a directory")
	assert.Error(t, m.Rename(ctx, "d", "f"), "a directory may not replace a file")
	assert.Error(t, m.Rename(ctx, "d", "d/e/x"), "a directory may not move below itself")
	assert.NoError(t, m.Rename(ctx, "d", "d"), "renaming to the same name is a no-op")
	assert.Error(t, m.Rename(ctx, ".", "x"), "the root cannot be renamed")
	_, err := m.Stat(ctx, "d/e")
	assert.NoError(t, err, "failed renames leave the tree alone")
}

func TestReadDirSnapshot(t *testing.T) {
	m := memfs.New()
	ctx := t.Context()
	for _, name := range []string{"c", "a", "b", "d"} {
		require.NoError(t, m.WriteFile(name, nil, 0o644), "WriteFile")
	}
	d, err := m.ReadDir(ctx, ".")
	require.NoError(t, err, "ReadDir")
	defer d.Close()
	first, err := d.ReadDir(1)
	require.NoError(t, err, "ReadDir(1)")
	require.Len(t, first, 1, "ReadDir(1)")
	assert.Equal(t, "a", first[0].Name(), "names come in sorted order")

	require.NoError(t, m.Remove(ctx, "c"), "Remove during a listing")
	require.NoError(t, m.WriteFile("bb", nil, 0o644), "WriteFile during a listing")
	rest, err := d.ReadDir(0)
	require.NoError(t, err, "ReadDir(0) returns the rest with a nil error")
	var names []string
	for _, e := range rest {
		names = append(names, e.Name())
	}
	assert.Equal(t, []string{"b", "d"}, names, "removed names are skipped, new ones are not seen")
	require.NoError(t, d.Close(), "Close")
	_, err = d.ReadDir(1)
	assert.ErrorIs(t, err, fs.ErrClosed, "ReadDir after Close")
}

// TestConcurrentUse runs writers, readers and listings at once; run it
// with -race.
func TestConcurrentUse(t *testing.T) {
	m := memfs.New()
	ctx := t.Context()
	require.NoError(t, m.MkdirAll("dir"), "MkdirAll")
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				name := fmt.Sprintf("dir/g%d-%d", g, i)
				if err := m.WriteFile(name, []byte(name), 0o644); err != nil {
					t.Errorf("WriteFile(%q): %v", name, err)
					return
				}
				if i%2 == 0 {
					if err := m.Remove(ctx, name); err != nil {
						t.Errorf("Remove(%q): %v", name, err)
					}
				}
			}
		})
		wg.Go(func() {
			for range 20 {
				d, err := m.ReadDir(ctx, "dir")
				if err != nil {
					t.Errorf("ReadDir: %v", err)
					return
				}
				for {
					entries, err := d.ReadDir(7)
					for _, e := range entries {
						_, _ = e.Info()
					}
					if err != nil {
						break
					}
				}
				d.Close()
			}
		})
	}
	// One file shared by several goroutines.
	require.NoError(t, m.WriteFile("shared", nil, 0o644), "WriteFile")
	f, err := m.OpenFile(ctx, "shared", vfs.O_RDWR|vfs.O_APPEND, 0)
	require.NoError(t, err, "OpenFile")
	for range 4 {
		wg.Go(func() {
			for range 100 {
				_, _ = f.(io.Writer).Write([]byte("0123456789"))
				_, _ = f.(io.ReaderAt).ReadAt(make([]byte, 5), 3)
				_, _ = f.Stat()
			}
		})
	}
	wg.Wait()
	require.NoError(t, f.Close(), "Close")
	fi, err := m.Stat(ctx, "shared")
	require.NoError(t, err, "Stat")
	assert.Equal(t, int64(4*100*10), fi.Size(), "appends from several goroutines must not overwrite each other")
}
