//go:build unix

package osfs

import (
	"os"
	"syscall"
)

// openNonblock makes opening a FIFO return at once.
const openNonblock = syscall.O_NONBLOCK

// clearNonblock puts a regular file opened with openNonblock back into
// blocking mode. The flag means nothing for regular files, but the
// descriptor is handed to sendfile and splice and should be ordinary.
func clearNonblock(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetNonblock(int(fd), false)
	}); err != nil {
		return err
	}
	return serr
}
