package ftp_test

import (
	"net"
	"syscall"
)

// cork holds back partial segments until the connection closes, so that
// a small file and its FIN leave together (see refServer's lean mode).
func cork(tc *net.TCPConn) {
	if rc, err := tc.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_CORK, 1)
		})
	}
}
