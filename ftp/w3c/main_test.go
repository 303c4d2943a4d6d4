package w3c

import (
	"testing"

	"github.com/ferryftp/ferry/internal/leaktest"
)

// TestMain fails the run if goroutines outlive the tests: every Writer's
// goroutine must end with Close.
func TestMain(m *testing.M) { leaktest.Main(m) }
