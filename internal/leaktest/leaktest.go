// Package leaktest checks, after a package's tests, that no goroutine
// outlives them.
package leaktest

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"
)

// Main runs the tests of m and exits; when they passed it first waits up to
// 10 seconds for the number of goroutines to come back to what it was
// before, and fails the run with the stacks of those still running. Call it
// from TestMain. Fuzzing runs are not checked: the fuzzing engine keeps
// goroutines of its own.
func Main(m *testing.M) {
	base := runtime.NumGoroutine()
	code := m.Run()
	if f := flag.Lookup("test.fuzz"); code == 0 && (f == nil || f.Value.String() == "") {
		if err := Wait(base, 10*time.Second); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// Wait waits, up to limit, for the number of goroutines to come back to
// base, and otherwise reports the stacks of those still running.
func Wait(base int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			return fmt.Errorf("goroutine leak: %d goroutines after the tests, %d before:\n%s",
				runtime.NumGoroutine(), base, buf)
		}
		<-tick.C
	}
	return nil
}
