package osfs_test

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// FuzzOpen feeds arbitrary names to Stat, Open and ReadDir of an osfs whose
// root holds links that lead outside. No call may panic, and none may
// succeed on anything outside the root.
func FuzzOpen(f *testing.F) {
	e := newEscapeTree(f)
	// Give the outside a name that occurs nowhere inside, so that a
	// listing that shows it gives itself away.
	outsideOnly := filepath.Join(e.outside, "dir", "outside-only.txt")
	if err := os.WriteFile(outsideOnly, []byte("x"), 0o644); err != nil {
		f.Fatal(err)
	}
	var forbidden []os.FileInfo
	for _, p := range []string{e.base, e.outside, e.secret, filepath.Join(e.outside, "dir"), outsideOnly} {
		fi, err := os.Stat(p)
		if err != nil {
			f.Fatal(err)
		}
		forbidden = append(forbidden, fi)
	}
	fsys := newFS(f, e.root)

	for _, seed := range []string{
		".", "abs", "abs/secret.txt", "rel/secret.txt", "deep/rel/dir", "etc/passwd",
		"fileabs", "filerel", "in/ok.txt", "okfile", "self/self/abs", "loop1",
		"../outside/secret.txt", "/etc/passwd", "in/../abs", "sub/../../outside",
		"abs/", "rel/.", "in\\..\\..\\outside", "\x00", "self/rel/dir/outside-only.txt",
	} {
		f.Add(seed)
	}

	f.Fuzz(func(t *testing.T, name string) {
		ctx := context.Background()
		isOutside := func(fi fs.FileInfo) bool {
			for _, o := range forbidden {
				if os.SameFile(fi, o) {
					return true
				}
			}
			return false
		}

		if fi, err := fsys.Stat(ctx, name); err == nil && isOutside(fi) {
			t.Fatalf("Stat(%q) reached outside the root", name)
		}

		if file, err := fsys.Open(ctx, name); err == nil {
			fi, err := file.Stat()
			if err == nil && isOutside(fi) {
				t.Fatalf("Open(%q) opened a file outside the root", name)
			}
			file.Close()
		}

		if d, err := fsys.ReadDir(ctx, name); err == nil {
			defer d.Close()
			for {
				entries, err := d.ReadDir(16)
				for _, de := range entries {
					if de.Name() == "outside-only.txt" || de.Name() == "secret.txt" {
						t.Fatalf("ReadDir(%q) listed %q from outside the root", name, de.Name())
					}
					if fi, err := de.Info(); err == nil && isOutside(fi) {
						t.Fatalf("ReadDir(%q) described %q outside the root", name, de.Name())
					}
				}
				if err == io.EOF || err != nil {
					break
				}
			}
		}
	})
}
