package main

import (
	"fmt"
	"io"
)

// runSkey runs the "ferryd skey" subcommands.
func runSkey(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "ferryd skey: usage: ferryd skey key [-alg md4|md5|sha1] [-hex] COUNT SEED")
	return 2
}
