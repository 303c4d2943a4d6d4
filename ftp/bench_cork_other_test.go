//go:build !linux

package ftp_test

import "net"

// cork does nothing where TCP_CORK does not exist.
func cork(*net.TCPConn) {}
