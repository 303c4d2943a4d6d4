// Package vfstest checks that a [vfs.FS] backend keeps the contract of
// package vfs, as testing/fstest does for io/fs.
//
// Run [TestFS] from each backend's tests:
//
//	func TestConformance(t *testing.T) {
//		vfstest.TestFS(t, memfs.New())
//	}
package vfstest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/vfs"
)

// TestFS checks fsys, which must be empty, against the contract of package
// vfs, each part in its own subtest. The parts that need an ability fsys
// lacks ([vfs.OpenFileFS], [vfs.MkdirFS], ...) are skipped. TestFS leaves
// files and directories behind; give it a file system of its own.
//
// Beyond what the interfaces say, TestFS expects what the FTP engine relies
// on: invalid names fail with [fs.ErrInvalid]; missing names with
// [fs.ErrNotExist]; O_CREATE|O_EXCL on an existing file and Mkdir of an
// existing name with [fs.ErrExist]; ReadDir on a file fails when called;
// files are sparse enough that a write at offset 5 GiB succeeds.
//
// A backend that implements an ability but refuses it (a read-only
// osfs, say) fails those checks; give TestFS such a backend behind
// [vfs.ReadOnly], which hides the abilities.
func TestFS(t *testing.T, fsys vfs.FS) {
	t.Helper()
	c := &checker{fsys: fsys}
	c.openFile, _ = fsys.(vfs.OpenFileFS)
	c.mkdir, _ = fsys.(vfs.MkdirFS)
	c.remove, _ = fsys.(vfs.RemoveFS)
	c.rename, _ = fsys.(vfs.RenameFS)
	c.chtimes, _ = fsys.(vfs.ChtimesFS)

	// Read-only checks first, while the file system is still empty.
	t.Run("EmptyRoot", c.testEmptyRoot)
	t.Run("InvalidNames", c.testInvalidNames)
	t.Run("Missing", c.testMissing)
	t.Run("CreateWriteRead", c.testCreateWriteRead)
	t.Run("ReadWrite", c.testReadWrite)
	t.Run("Append", c.testAppend)
	t.Run("Exclusive", c.testExclusive)
	t.Run("Truncate", c.testTruncate)
	t.Run("OpenMissingWithoutCreate", c.testOpenMissingWithoutCreate)
	t.Run("SeekAndReadAt", c.testSeek)
	t.Run("Sparse", c.testSparse)
	t.Run("Mkdir", c.testMkdir)
	t.Run("Remove", c.testRemove)
	t.Run("RenameFile", c.testRenameFile)
	t.Run("RenameDir", c.testRenameDir)
	t.Run("RenameOverFile", c.testRenameOver)
	t.Run("Chtimes", c.testChtimes)
	t.Run("ReadDir", c.testReadDir)
	t.Run("ReadDirEmpty", c.testReadDirEmpty)
	t.Run("ReadDirOnFile", c.testReadDirOnFile)
}

type checker struct {
	fsys     vfs.FS
	openFile vfs.OpenFileFS
	mkdir    vfs.MkdirFS
	remove   vfs.RemoveFS
	rename   vfs.RenameFS
	chtimes  vfs.ChtimesFS
}

// need skips t unless fsys has every ability asked for.
func (c *checker) need(t *testing.T, abilities ...any) {
	t.Helper()
	for _, a := range abilities {
		var missing string
		switch a {
		case &c.openFile:
			if c.openFile == nil {
				missing = "OpenFileFS"
			}
		case &c.mkdir:
			if c.mkdir == nil {
				missing = "MkdirFS"
			}
		case &c.remove:
			if c.remove == nil {
				missing = "RemoveFS"
			}
		case &c.rename:
			if c.rename == nil {
				missing = "RenameFS"
			}
		case &c.chtimes:
			if c.chtimes == nil {
				missing = "ChtimesFS"
			}
		default:
			panic(fmt.Sprintf("vfstest: unknown ability %T", a))
		}
		if missing != "" {
			t.Skipf("file system does not implement vfs.%s", missing)
		}
	}
}

// writeFile creates or truncates name and writes data to it.
func (c *checker) writeFile(t *testing.T, name string, data []byte) {
	t.Helper()
	f, err := c.openFile.OpenFile(t.Context(), name, vfs.O_WRONLY|vfs.O_CREATE|vfs.O_TRUNC, 0o644)
	require.NoError(t, err, "OpenFile(%q, O_WRONLY|O_CREATE|O_TRUNC) should create the file", name)
	w, ok := f.(io.Writer)
	require.True(t, ok, "a file opened for writing should implement io.Writer, %T does not", f)
	n, err := w.Write(data)
	require.NoError(t, err, "Write to %q", name)
	require.Equal(t, len(data), n, "Write to %q should write every byte", name)
	require.NoError(t, f.Close(), "Close of %q after writing", name)
}

// readFile opens name and reads it whole.
func (c *checker) readFile(t *testing.T, name string) []byte {
	t.Helper()
	f, err := c.fsys.Open(t.Context(), name)
	require.NoError(t, err, "Open(%q)", name)
	defer f.Close()
	data, err := io.ReadAll(f)
	require.NoError(t, err, "reading %q", name)
	return data
}

// assertMissing checks that name does not exist.
func (c *checker) assertMissing(t *testing.T, name string) {
	t.Helper()
	_, err := c.fsys.Stat(t.Context(), name)
	assert.ErrorIs(t, err, fs.ErrNotExist, "Stat(%q) should report that it does not exist", name)
}

func (c *checker) testEmptyRoot(t *testing.T) {
	fi, err := c.fsys.Stat(t.Context(), ".")
	require.NoError(t, err, `Stat(".") should describe the root`)
	assert.True(t, fi.IsDir(), `Stat(".") should be a directory, got mode %v`, fi.Mode())

	d, err := c.fsys.ReadDir(t.Context(), ".")
	require.NoError(t, err, `ReadDir(".")`)
	defer d.Close()
	entries, err := d.ReadDir(10)
	assert.Empty(t, entries, "the file system given to TestFS should be empty")
	assert.ErrorIs(t, err, io.EOF, "ReadDir(10) of an empty root should end with io.EOF")
}

var invalidNames = []string{
	"", "/", "/abs", "../x", "..", "a/../b", "a/..", "./a", "a/./b", "a/", "a//b", "/a/../..",
}

func (c *checker) testInvalidNames(t *testing.T) {
	ctx := t.Context()
	for _, name := range invalidNames {
		t.Run(fmt.Sprintf("%q", name), func(t *testing.T) {
			_, err := c.fsys.Stat(ctx, name)
			assert.ErrorIs(t, err, fs.ErrInvalid, "Stat(%q) should refuse the name", name)
			f, err := c.fsys.Open(ctx, name)
			assert.ErrorIs(t, err, fs.ErrInvalid, "Open(%q) should refuse the name", name)
			assert.True(t, f == nil, "Open(%q) should return no file", name)
			d, err := c.fsys.ReadDir(ctx, name)
			assert.ErrorIs(t, err, fs.ErrInvalid, "ReadDir(%q) should refuse the name", name)
			assert.True(t, d == nil, "ReadDir(%q) should return no reader", name)
			if c.openFile != nil {
				f, err := c.openFile.OpenFile(ctx, name, vfs.O_WRONLY|vfs.O_CREATE, 0o644)
				assert.ErrorIs(t, err, fs.ErrInvalid, "OpenFile(%q, O_CREATE) should refuse the name", name)
				assert.True(t, f == nil, "OpenFile(%q) should return no file", name)
			}
			if c.mkdir != nil {
				err := c.mkdir.Mkdir(ctx, name, 0o755)
				assert.ErrorIs(t, err, fs.ErrInvalid, "Mkdir(%q) should refuse the name", name)
			}
			if c.remove != nil {
				err := c.remove.Remove(ctx, name)
				assert.ErrorIs(t, err, fs.ErrInvalid, "Remove(%q) should refuse the name", name)
			}
			if c.rename != nil {
				err := c.rename.Rename(ctx, name, "renamed")
				assert.ErrorIs(t, err, fs.ErrInvalid, "Rename(%q, \"renamed\") should refuse the name", name)
				err = c.rename.Rename(ctx, "renamed", name)
				assert.ErrorIs(t, err, fs.ErrInvalid, "Rename(\"renamed\", %q) should refuse the name", name)
			}
			if c.chtimes != nil {
				err := c.chtimes.Chtimes(ctx, name, time.Now(), time.Now())
				assert.ErrorIs(t, err, fs.ErrInvalid, "Chtimes(%q) should refuse the name", name)
			}
		})
	}
	// Nothing may have been created by any of the refused calls.
	d, err := c.fsys.ReadDir(ctx, ".")
	require.NoError(t, err, `ReadDir(".")`)
	defer d.Close()
	entries, _ := d.ReadDir(10)
	assert.Empty(t, entries, "refused names should create nothing")
}

func (c *checker) testMissing(t *testing.T) {
	ctx := t.Context()
	for _, name := range []string{"missing", "missing/child"} {
		_, err := c.fsys.Stat(ctx, name)
		assert.ErrorIs(t, err, fs.ErrNotExist, "Stat(%q)", name)
		_, err = c.fsys.Open(ctx, name)
		assert.ErrorIs(t, err, fs.ErrNotExist, "Open(%q)", name)
		_, err = c.fsys.ReadDir(ctx, name)
		assert.ErrorIs(t, err, fs.ErrNotExist, "ReadDir(%q)", name)
		if c.remove != nil {
			assert.ErrorIs(t, c.remove.Remove(ctx, name), fs.ErrNotExist, "Remove(%q)", name)
		}
		if c.rename != nil {
			assert.ErrorIs(t, c.rename.Rename(ctx, name, "other"), fs.ErrNotExist, "Rename(%q, \"other\")", name)
		}
		if c.chtimes != nil {
			assert.ErrorIs(t, c.chtimes.Chtimes(ctx, name, time.Now(), time.Now()), fs.ErrNotExist, "Chtimes(%q)", name)
		}
	}
	if c.mkdir != nil {
		assert.ErrorIs(t, c.mkdir.Mkdir(ctx, "missing/child", 0o755), fs.ErrNotExist,
			"Mkdir below a missing directory")
	}
	if c.openFile != nil {
		_, err := c.openFile.OpenFile(ctx, "missing/child", vfs.O_WRONLY|vfs.O_CREATE, 0o644)
		assert.ErrorIs(t, err, fs.ErrNotExist, "OpenFile(O_CREATE) below a missing directory")
	}
}

func (c *checker) testCreateWriteRead(t *testing.T) {
	c.need(t, &c.openFile)
	const name = "create.txt"
	data := []byte("hello, world\n")
	c.writeFile(t, name, data)

	fi, err := c.fsys.Stat(t.Context(), name)
	require.NoError(t, err, "Stat of a file just written")
	assert.Equal(t, name, fi.Name(), "FileInfo.Name should be the last element of the name")
	assert.Equal(t, int64(len(data)), fi.Size(), "Stat size after writing")
	assert.True(t, fi.Mode().IsRegular(), "a created file should be regular, got %v", fi.Mode())
	assert.False(t, fi.IsDir(), "a created file is not a directory")

	f, err := c.fsys.Open(t.Context(), name)
	require.NoError(t, err, "Open of a file just written")
	defer f.Close()
	fi, err = f.Stat()
	require.NoError(t, err, "File.Stat")
	assert.Equal(t, int64(len(data)), fi.Size(), "File.Stat size")
	got, err := io.ReadAll(f)
	require.NoError(t, err, "reading the file back")
	assert.Equal(t, data, got, "the file should read back as written")
	n, err := f.Read(make([]byte, 1))
	assert.Equal(t, 0, n, "Read at the end should read nothing")
	assert.ErrorIs(t, err, io.EOF, "Read at the end should report io.EOF")
}

func (c *checker) testReadWrite(t *testing.T) {
	c.need(t, &c.openFile)
	f, err := c.openFile.OpenFile(t.Context(), "rdwr.txt", vfs.O_RDWR|vfs.O_CREATE|vfs.O_TRUNC, 0o644)
	require.NoError(t, err, "OpenFile(O_RDWR|O_CREATE)")
	defer f.Close()
	w, ok := f.(io.Writer)
	require.True(t, ok, "a file opened O_RDWR should implement io.Writer")
	_, err = w.Write([]byte("0123456789"))
	require.NoError(t, err, "Write")
	pos, err := f.Seek(2, io.SeekStart)
	require.NoError(t, err, "Seek")
	assert.Equal(t, int64(2), pos, "Seek(2, SeekStart) should answer 2")
	_, err = w.Write([]byte("ab"))
	require.NoError(t, err, "Write after Seek")
	got := make([]byte, 3)
	_, err = io.ReadFull(f, got)
	require.NoError(t, err, "Read after Write")
	assert.Equal(t, "456", string(got), "reading should continue after the bytes written")
	require.NoError(t, f.Close(), "Close")
	assert.Equal(t, "01ab456789", string(c.readFile(t, "rdwr.txt")), "overwriting in place")
}

func (c *checker) testAppend(t *testing.T) {
	c.need(t, &c.openFile)
	const name = "append.txt"
	c.writeFile(t, name, []byte("abc"))
	f, err := c.openFile.OpenFile(t.Context(), name, vfs.O_WRONLY|vfs.O_APPEND, 0)
	require.NoError(t, err, "OpenFile(O_WRONLY|O_APPEND) of an existing file")
	_, err = f.Seek(0, io.SeekStart)
	require.NoError(t, err, "Seek on an appending file")
	_, err = f.(io.Writer).Write([]byte("def"))
	require.NoError(t, err, "Write with O_APPEND")
	_, err = f.(io.Writer).Write([]byte("gh"))
	require.NoError(t, err, "second Write with O_APPEND")
	require.NoError(t, f.Close(), "Close")
	assert.Equal(t, "abcdefgh", string(c.readFile(t, name)), "O_APPEND should write at the end whatever the offset")
}

func (c *checker) testExclusive(t *testing.T) {
	c.need(t, &c.openFile)
	const name = "excl.txt"
	f, err := c.openFile.OpenFile(t.Context(), name, vfs.O_WRONLY|vfs.O_CREATE|vfs.O_EXCL, 0o644)
	require.NoError(t, err, "O_CREATE|O_EXCL should create a new file")
	require.NoError(t, f.Close(), "Close")
	f, err = c.openFile.OpenFile(t.Context(), name, vfs.O_WRONLY|vfs.O_CREATE|vfs.O_EXCL, 0o644)
	assert.ErrorIs(t, err, fs.ErrExist, "O_CREATE|O_EXCL on an existing file")
	assert.True(t, f == nil, "a refused OpenFile should return no file")
}

func (c *checker) testTruncate(t *testing.T) {
	c.need(t, &c.openFile)
	const name = "trunc.txt"
	c.writeFile(t, name, []byte("0123456789"))
	f, err := c.openFile.OpenFile(t.Context(), name, vfs.O_WRONLY|vfs.O_TRUNC, 0)
	require.NoError(t, err, "OpenFile(O_WRONLY|O_TRUNC)")
	fi, err := f.Stat()
	require.NoError(t, err, "File.Stat")
	assert.Zero(t, fi.Size(), "O_TRUNC should empty the file at once")
	_, err = f.(io.Writer).Write([]byte("ab"))
	require.NoError(t, err, "Write")
	require.NoError(t, f.Close(), "Close")
	assert.Equal(t, "ab", string(c.readFile(t, name)), "content after O_TRUNC and a write")

	// Without O_TRUNC, writing overwrites in place.
	f, err = c.openFile.OpenFile(t.Context(), name, vfs.O_WRONLY, 0)
	require.NoError(t, err, "OpenFile(O_WRONLY)")
	_, err = f.(io.Writer).Write([]byte("X"))
	require.NoError(t, err, "Write")
	require.NoError(t, f.Close(), "Close")
	assert.Equal(t, "Xb", string(c.readFile(t, name)), "O_WRONLY without O_TRUNC keeps the rest")
}

func (c *checker) testOpenMissingWithoutCreate(t *testing.T) {
	c.need(t, &c.openFile)
	_, err := c.openFile.OpenFile(t.Context(), "nocreate.txt", vfs.O_WRONLY, 0o644)
	assert.ErrorIs(t, err, fs.ErrNotExist, "OpenFile without O_CREATE of a missing file")
	c.assertMissing(t, "nocreate.txt")
}

func (c *checker) testSeek(t *testing.T) {
	c.need(t, &c.openFile)
	const name = "seek.txt"
	c.writeFile(t, name, []byte("0123456789"))
	f, err := c.fsys.Open(t.Context(), name)
	require.NoError(t, err, "Open")
	defer f.Close()

	for _, tc := range []struct {
		offset int64
		whence int
		pos    int64
		want   string
	}{
		{4, io.SeekStart, 4, "456"},
		{1, io.SeekCurrent, 8, "89"},
		{-3, io.SeekEnd, 7, "789"},
		{20, io.SeekStart, 20, ""},
	} {
		pos, err := f.Seek(tc.offset, tc.whence)
		require.NoError(t, err, "Seek(%d, %d)", tc.offset, tc.whence)
		assert.Equal(t, tc.pos, pos, "Seek(%d, %d) position", tc.offset, tc.whence)
		buf := make([]byte, len(tc.want)+1)
		n, err := io.ReadFull(f, buf[:max(len(tc.want), 1)])
		if tc.want == "" {
			assert.ErrorIs(t, err, io.EOF, "Read past the end should report io.EOF")
		} else {
			require.NoError(t, err, "Read after Seek(%d, %d)", tc.offset, tc.whence)
		}
		assert.Equal(t, tc.want, string(buf[:n]), "bytes after Seek(%d, %d)", tc.offset, tc.whence)
	}
	_, err = f.Seek(-1, io.SeekStart)
	assert.Error(t, err, "Seek to a negative offset should fail")

	if ra, ok := f.(io.ReaderAt); ok {
		buf := make([]byte, 4)
		n, err := ra.ReadAt(buf, 3)
		require.NoError(t, err, "ReadAt(3)")
		assert.Equal(t, "3456", string(buf[:n]), "ReadAt(3)")
		n, err = ra.ReadAt(buf, 8)
		assert.ErrorIs(t, err, io.EOF, "ReadAt across the end should report io.EOF")
		assert.Equal(t, "89", string(buf[:n]), "ReadAt(8) should read what there is")
	}
}

func (c *checker) testSparse(t *testing.T) {
	c.need(t, &c.openFile)
	const (
		name = "sparse.bin"
		off  = 5 << 30 // beyond any 32-bit offset
	)
	f, err := c.openFile.OpenFile(t.Context(), name, vfs.O_RDWR|vfs.O_CREATE|vfs.O_TRUNC, 0o644)
	require.NoError(t, err, "OpenFile(O_RDWR|O_CREATE)")
	defer f.Close()
	pos, err := f.Seek(off, io.SeekStart)
	require.NoError(t, err, "Seek to 5 GiB")
	require.Equal(t, int64(off), pos, "Seek to 5 GiB position")
	_, err = f.(io.Writer).Write([]byte{'x'})
	require.NoError(t, err, "Write at 5 GiB")
	require.NoError(t, f.Close(), "Close")

	fi, err := c.fsys.Stat(t.Context(), name)
	require.NoError(t, err, "Stat")
	assert.Equal(t, int64(off+1), fi.Size(), "size after writing one byte at 5 GiB")

	r, err := c.fsys.Open(t.Context(), name)
	require.NoError(t, err, "Open")
	defer r.Close()
	buf := bytes.Repeat([]byte{0xff}, 5) // a reader must overwrite, not skip
	_, err = io.ReadFull(r, buf)
	require.NoError(t, err, "Read at the start")
	assert.Equal(t, make([]byte, 5), buf, "a hole should read as zeros")
	_, err = r.Seek(off-4, io.SeekStart)
	require.NoError(t, err, "Seek near the end")
	got := bytes.Repeat([]byte{0xff}, 6)
	n, err := io.ReadFull(r, got)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "reading across the end")
	assert.Equal(t, []byte{0, 0, 0, 0, 'x'}, got[:n], "the hole should end with the byte written")

	if c.remove != nil {
		assert.NoError(t, c.remove.Remove(t.Context(), name), "Remove of the sparse file")
	}
}

func (c *checker) testMkdir(t *testing.T) {
	c.need(t, &c.mkdir)
	ctx := t.Context()
	require.NoError(t, c.mkdir.Mkdir(ctx, "dir", 0o755), "Mkdir of a new directory")
	fi, err := c.fsys.Stat(ctx, "dir")
	require.NoError(t, err, "Stat of a new directory")
	assert.True(t, fi.IsDir(), "Mkdir should make a directory, got %v", fi.Mode())
	assert.Equal(t, "dir", fi.Name(), "FileInfo.Name of a directory")
	assert.ErrorIs(t, c.mkdir.Mkdir(ctx, "dir", 0o755), fs.ErrExist, "Mkdir of an existing directory")
	assert.ErrorIs(t, c.mkdir.Mkdir(ctx, ".", 0o755), fs.ErrExist, `Mkdir(".")`)
	require.NoError(t, c.mkdir.Mkdir(ctx, "dir/sub", 0o755), "Mkdir below a directory")
	fi, err = c.fsys.Stat(ctx, "dir/sub")
	require.NoError(t, err, "Stat of a nested directory")
	assert.True(t, fi.IsDir(), "dir/sub should be a directory")
	if c.openFile != nil {
		c.writeFile(t, "dir/file", nil)
		assert.ErrorIs(t, c.mkdir.Mkdir(ctx, "dir/file", 0o755), fs.ErrExist, "Mkdir over a file")
		_, err = c.openFile.OpenFile(ctx, "dir", vfs.O_WRONLY, 0)
		assert.Error(t, err, "opening a directory for writing should fail")
	}
}

func (c *checker) testRemove(t *testing.T) {
	c.need(t, &c.openFile, &c.mkdir, &c.remove)
	ctx := t.Context()
	require.NoError(t, c.mkdir.Mkdir(ctx, "rm", 0o755), "Mkdir")
	c.writeFile(t, "rm/file", []byte("x"))

	assert.Error(t, c.remove.Remove(ctx, "rm"), "Remove of a non-empty directory should fail")
	_, err := c.fsys.Stat(ctx, "rm/file")
	assert.NoError(t, err, "a failed Remove should leave the directory's files")

	require.NoError(t, c.remove.Remove(ctx, "rm/file"), "Remove of a file")
	c.assertMissing(t, "rm/file")
	require.NoError(t, c.remove.Remove(ctx, "rm"), "Remove of an empty directory")
	c.assertMissing(t, "rm")
	assert.ErrorIs(t, c.remove.Remove(ctx, "rm"), fs.ErrNotExist, "Remove of a removed directory")
	assert.Error(t, c.remove.Remove(ctx, "."), "Remove of the root should fail")
}

func (c *checker) testRenameFile(t *testing.T) {
	c.need(t, &c.openFile, &c.rename)
	ctx := t.Context()
	c.writeFile(t, "old.txt", []byte("moved"))
	require.NoError(t, c.rename.Rename(ctx, "old.txt", "new.txt"), "Rename of a file")
	c.assertMissing(t, "old.txt")
	assert.Equal(t, "moved", string(c.readFile(t, "new.txt")), "a renamed file keeps its content")
	fi, err := c.fsys.Stat(ctx, "new.txt")
	require.NoError(t, err, "Stat after Rename")
	assert.Equal(t, "new.txt", fi.Name(), "FileInfo.Name after Rename")

	assert.ErrorIs(t, c.rename.Rename(ctx, "new.txt", "nodir/new.txt"), fs.ErrNotExist,
		"Rename into a missing directory")
	assert.Equal(t, "moved", string(c.readFile(t, "new.txt")), "a failed Rename leaves the file")
}

func (c *checker) testRenameDir(t *testing.T) {
	c.need(t, &c.openFile, &c.mkdir, &c.rename)
	ctx := t.Context()
	require.NoError(t, c.mkdir.Mkdir(ctx, "olddir", 0o755), "Mkdir")
	require.NoError(t, c.mkdir.Mkdir(ctx, "target", 0o755), "Mkdir")
	c.writeFile(t, "olddir/child", []byte("child"))
	require.NoError(t, c.rename.Rename(ctx, "olddir", "target/newdir"), "Rename of a directory into another")
	c.assertMissing(t, "olddir")
	fi, err := c.fsys.Stat(ctx, "target/newdir")
	require.NoError(t, err, "Stat of a renamed directory")
	assert.True(t, fi.IsDir(), "a renamed directory stays a directory")
	assert.Equal(t, "child", string(c.readFile(t, "target/newdir/child")), "a renamed directory keeps its files")
	assert.Error(t, c.rename.Rename(ctx, "target", "target/newdir/inside"),
		"moving a directory below itself should fail")
}

func (c *checker) testRenameOver(t *testing.T) {
	c.need(t, &c.openFile, &c.rename)
	c.writeFile(t, "src.txt", []byte("new content"))
	c.writeFile(t, "dst.txt", []byte("old"))
	require.NoError(t, c.rename.Rename(t.Context(), "src.txt", "dst.txt"), "Rename over an existing file")
	c.assertMissing(t, "src.txt")
	assert.Equal(t, "new content", string(c.readFile(t, "dst.txt")), "Rename should replace the file")
}

func (c *checker) testChtimes(t *testing.T) {
	c.need(t, &c.openFile, &c.chtimes)
	ctx := t.Context()
	c.writeFile(t, "times.txt", []byte("t"))
	// Whole seconds, which every file system keeps.
	mtime := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	require.NoError(t, c.chtimes.Chtimes(ctx, "times.txt", mtime, mtime), "Chtimes")
	fi, err := c.fsys.Stat(ctx, "times.txt")
	require.NoError(t, err, "Stat after Chtimes")
	assert.True(t, mtime.Equal(fi.ModTime()), "ModTime after Chtimes: got %v, want %v", fi.ModTime(), mtime)

	if c.mkdir != nil {
		require.NoError(t, c.mkdir.Mkdir(ctx, "timesdir", 0o755), "Mkdir")
		require.NoError(t, c.chtimes.Chtimes(ctx, "timesdir", mtime, mtime), "Chtimes of a directory")
		fi, err := c.fsys.Stat(ctx, "timesdir")
		require.NoError(t, err, "Stat")
		assert.True(t, mtime.Equal(fi.ModTime()), "directory ModTime after Chtimes: got %v", fi.ModTime())
		c.writeFile(t, "timesdir/new", nil)
		fi, err = c.fsys.Stat(ctx, "timesdir")
		require.NoError(t, err, "Stat")
		assert.True(t, fi.ModTime().After(mtime), "creating a file should update the directory's ModTime")
	}
}

func (c *checker) testReadDir(t *testing.T) {
	c.need(t, &c.openFile, &c.mkdir)
	ctx := t.Context()
	require.NoError(t, c.mkdir.Mkdir(ctx, "list", 0o755), "Mkdir")
	var want []string
	for i := range 25 {
		name := fmt.Sprintf("f%02d", i)
		c.writeFile(t, "list/"+name, bytes.Repeat([]byte("x"), i))
		want = append(want, name)
	}
	require.NoError(t, c.mkdir.Mkdir(ctx, "list/sub", 0o755), "Mkdir")
	want = append(want, "sub")

	d, err := c.fsys.ReadDir(ctx, "list")
	require.NoError(t, err, "ReadDir")
	var got []string
	for batches := 0; ; batches++ {
		require.Less(t, batches, 100, "ReadDir(7) should reach io.EOF")
		entries, err := d.ReadDir(7)
		assert.LessOrEqual(t, len(entries), 7, "ReadDir(7) should return at most 7 entries")
		for _, e := range entries {
			got = append(got, e.Name())
			info, ierr := e.Info()
			require.NoError(t, ierr, "DirEntry.Info of %q", e.Name())
			assert.Equal(t, e.Name(), info.Name(), "Info().Name() should be the entry's name")
			assert.Equal(t, e.IsDir(), info.IsDir(), "IsDir of %q should agree with Info", e.Name())
			if e.Name() == "sub" {
				assert.True(t, e.IsDir(), "sub should be listed as a directory")
			} else {
				var i int
				_, _ = fmt.Sscanf(e.Name(), "f%02d", &i)
				assert.Equal(t, int64(i), info.Size(), "listed size of %q", e.Name())
				assert.True(t, info.Mode().IsRegular(), "%q should be listed as a regular file", e.Name())
			}
		}
		if err == io.EOF {
			break
		}
		require.NoError(t, err, "ReadDir(7) before the end")
		require.NotEmpty(t, entries, "ReadDir(7) must not return an empty batch without an error")
	}
	entries, err := d.ReadDir(7)
	assert.Empty(t, entries, "ReadDir after io.EOF should return nothing")
	assert.ErrorIs(t, err, io.EOF, "ReadDir after io.EOF should report io.EOF again")
	assert.NoError(t, d.Close(), "Close of a DirReader")

	slices.Sort(got)
	assert.Equal(t, want, got, "a listing should return every entry exactly once")
}

func (c *checker) testReadDirEmpty(t *testing.T) {
	c.need(t, &c.mkdir)
	require.NoError(t, c.mkdir.Mkdir(t.Context(), "emptydir", 0o755), "Mkdir")
	d, err := c.fsys.ReadDir(t.Context(), "emptydir")
	require.NoError(t, err, "ReadDir of an empty directory")
	defer d.Close()
	entries, err := d.ReadDir(1)
	assert.Empty(t, entries, "an empty directory lists nothing")
	assert.ErrorIs(t, err, io.EOF, "an empty directory should report io.EOF at once")
}

func (c *checker) testReadDirOnFile(t *testing.T) {
	c.need(t, &c.openFile)
	c.writeFile(t, "notadir.txt", []byte("x"))
	d, err := c.fsys.ReadDir(t.Context(), "notadir.txt")
	assert.Error(t, err, "ReadDir of a file should fail")
	assert.True(t, d == nil, "ReadDir of a file should return no reader")
	assert.False(t, errors.Is(err, io.EOF), "ReadDir of a file should not look like the end of a listing")
}
