//go:build unix

package osfs

import (
	"os"
	"syscall"
)

// openNonblock makes opening a FIFO return at once.
const openNonblock = syscall.O_NONBLOCK

// clearNonblock puts a regular file opened with openNonblock and flag
// back into blocking mode. The flag means nothing for regular files, but
// the descriptor is handed to sendfile and splice and should be ordinary.
// One F_SETFL with the status flags the file was opened with, less
// O_NONBLOCK, does it: of the flags F_SETFL changes, the open can have
// set only O_APPEND and O_SYNC (which some systems let it change).
func clearNonblock(f *os.File, flag int) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_SETFL, uintptr(flag&(syscall.O_APPEND|syscall.O_SYNC)))
	}); err != nil {
		return err
	}
	if errno != 0 {
		return errno
	}
	return nil
}
