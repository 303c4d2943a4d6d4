//go:build !unix

package osfs

import "os"

// openNonblock is zero where FIFOs do not block an open.
const openNonblock = 0

func clearNonblock(*os.File, int) error { return nil }
