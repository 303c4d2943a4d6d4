//go:build !unix

package sync

// lockFile does nothing where flock(2) is missing: runs of one item are
// still kept apart within a process by the Scheduler.
func lockFile(string) (unlock func(), err error) { return func() {}, nil }
