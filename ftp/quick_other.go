//go:build !linux

package ftp

import "github.com/ferryftp/ferry/quota"

// quickRETR is the fast path of small downloads on Linux (quick_linux.go);
// elsewhere every download takes the ordinary path.
func (c *conn) quickRETR(virt string, f any, n int64, opening string, q *quota.Transfer) bool {
	return false
}
