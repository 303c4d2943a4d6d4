//go:build !unix

package ftp

// dropPending is a no-op where the listener's queue cannot be read without
// blocking; passiveData.open still accepts only the control client's
// address.
func dropPending(passiveListener) {}
