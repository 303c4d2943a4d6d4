//go:build unix

package osfs_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/vfs"
)

// TestFIFORefused checks that a FIFO inside the root neither hangs Open
// nor is served.
func TestFIFORefused(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644), "Mkfifo")
	fsys := newFS(t, dir)
	ctx := t.Context()

	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := fsys.Open(ctx, "fifo")
		assert.ErrorIs(t, err, fs.ErrPermission, "Open of a FIFO should be refused")
		_, err = fsys.OpenFile(ctx, "fifo", vfs.O_RDWR, 0)
		assert.ErrorIs(t, err, fs.ErrPermission, "OpenFile(O_RDWR) of a FIFO should be refused")
		_, err = fsys.ReadDir(ctx, "fifo")
		assert.Error(t, err, "ReadDir of a FIFO should fail")
		_, err = fsys.OpenFile(ctx, "fifo", vfs.O_WRONLY, 0)
		assert.Error(t, err, "OpenFile(O_WRONLY) of a FIFO without a reader should fail")
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("opening a FIFO must not wait for the other end")
	}
}

// TestOpenedFileBlocking checks that a regular file is handed out in
// blocking mode, as any *os.File from os.Open would be, with the status
// flags it was opened with.
func TestOpenedFileBlocking(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644), "WriteFile")
	fsys := newFS(t, dir)
	for _, tc := range []struct {
		name   string
		flag   int
		append bool
	}{
		{"read", vfs.O_RDONLY, false},
		{"write", vfs.O_WRONLY | vfs.O_TRUNC, false},
		{"append", vfs.O_WRONLY | vfs.O_APPEND, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := fsys.OpenFile(t.Context(), "f", tc.flag, 0)
			require.NoError(t, err, "OpenFile")
			defer f.Close()
			rc, err := f.(*os.File).SyscallConn()
			require.NoError(t, err, "SyscallConn")
			var flags uintptr
			var errno syscall.Errno
			require.NoError(t, rc.Control(func(fd uintptr) {
				flags, _, errno = syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
			}), "Control")
			require.Zero(t, errno, "fcntl(F_GETFL)")
			assert.Zero(t, flags&syscall.O_NONBLOCK, "the file should not be left non-blocking")
			assert.Equal(t, tc.append, flags&syscall.O_APPEND != 0, "O_APPEND")
		})
	}
}
