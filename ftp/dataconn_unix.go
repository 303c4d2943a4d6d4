//go:build unix

package ftp

import (
	"net"
	"syscall"
)

// dropPending closes the connections waiting in a reused passive
// listener's queue before its port is announced again: only a connection
// made after the announcement can be the client's, so nobody who learnt
// the port from an earlier transfer can be accepted in the client's place.
func dropPending(l passiveListener) {
	tl, ok := l.(*net.TCPListener)
	if !ok {
		return
	}
	rc, err := tl.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		// The listener is non-blocking: accept returns EAGAIN once the
		// queue is empty.
		for range 64 {
			nfd, _, err := syscall.Accept(int(fd))
			if err != nil {
				return
			}
			syscall.Close(nfd)
		}
	})
}
