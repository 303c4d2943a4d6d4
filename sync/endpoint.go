package sync

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind is the kind of an [Entry].
type Kind uint8

const (
	File  Kind = iota // a regular file
	Dir               // a directory
	Other             // anything else: a device, a link that leads nowhere usable; never copied, and deleted only if a link
)

func (k Kind) String() string {
	switch k {
	case File:
		return "file"
	case Dir:
		return "dir"
	case Other:
		return "other"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Entry is a file or directory of an [Endpoint].
type Entry struct {
	Name    string    // the name in its directory
	Kind    Kind      // file, directory or other
	Size    int64     // in bytes, for files
	ModTime time.Time // modification time
	// Precision is the granularity of ModTime beyond the whole second
	// that every comparison allows: a minute for a server that lists
	// with LIST and cannot answer MDTM, 0 otherwise.
	Precision time.Duration
	// Link marks a symbolic link, described by its target. Removing it
	// removes the link, never what it points to.
	Link bool
}

// Endpoint is one side of an item: a tree of files that can be listed,
// read and written. Names are slash-separated and relative to the
// endpoint's root, as in io/fs: "." is the root, "a/b.txt" a file below it.
//
// It has more methods than the small interfaces this module prefers
// because each mode needs every one of them on either side: a two-way item
// lists, reads, writes, renames, dates and removes on both.
//
// The engine never writes a file in place: [Endpoint.Write] goes to a
// temporary name in the same directory, which [Endpoint.Rename] then moves
// over the target, so an interrupted run never leaves a truncated file
// where a good one was.
type Endpoint interface {
	// List returns the entries of the directory dir, without "." and
	// "..". Entries that are neither files nor directories are returned
	// with Kind Other.
	List(ctx context.Context, dir string) ([]Entry, error)
	// Stat returns the entry of name; an error wrapping fs.ErrNotExist
	// when there is none.
	Stat(ctx context.Context, name string) (Entry, error)
	// Open opens the file name for reading from offset on.
	Open(ctx context.Context, name string, offset int64) (io.ReadCloser, error)
	// Write writes r into the file name from offset on, creating it
	// when missing and cutting it at offset first. It returns the bytes
	// read from r.
	Write(ctx context.Context, name string, offset int64, r io.Reader) (int64, error)
	// Rename moves the file oldname to newname, replacing a file there.
	Rename(ctx context.Context, oldname, newname string) error
	// SetModTime sets the modification time of name; an error wrapping
	// errors.ErrUnsupported when the endpoint cannot.
	SetModTime(ctx context.Context, name string, t time.Time) error
	// Mkdir creates the directory name; its parent exists.
	Mkdir(ctx context.Context, name string) error
	// Remove removes the file, or the empty directory when dir is
	// true, name.
	Remove(ctx context.Context, name string, dir bool) error
	// Close releases the endpoint.
	Close() error
}

// Location says where an endpoint is and opens it. [LocalLocation] and
// [FTPLocation] are the two kinds.
type Location interface {
	// Open connects to the endpoint. With create, a root directory that
	// does not exist is created; without, it is an error wrapping
	// fs.ErrNotExist.
	Open(ctx context.Context, create bool) (Endpoint, error)
	// String describes the location for logs and the journal: the
	// directory, or the user, server and directory. Never a password.
	String() string
}

// keepAliver is an endpoint whose connection can go idle and be closed
// by the network: KeepAlive sends a no-op (FTP NOOP).
type keepAliver interface {
	KeepAlive(ctx context.Context) error
}

// timeSetter is an endpoint that knows up front whether SetModTime works.
// An endpoint that does not implement it is assumed to set times.
type timeSetter interface {
	CanSetModTime(ctx context.Context) bool
}

// errPathEscape is returned for a name that is not a clean relative path.
var errPathEscape = errors.New("sync: invalid path")

// checkName reports whether name is a clean, relative, slash-separated
// path as the Endpoint methods take: fs.ValidPath without backslash
// concerns, since listings of FTP servers are not trusted to give one.
func checkName(name string) error {
	if !fs.ValidPath(name) || !utf8.ValidString(name) {
		return fmt.Errorf("%w: %q", errPathEscape, name)
	}
	return nil
}

// tempPrefix starts the names of the temporary files a copy writes.
const tempPrefix = ".ferrysync-"

// tempName returns the temporary name under which the copy of a file of
// this size and time is written next to target: ".ferrysync-<8 hex>-base",
// the hex being a hash of the source's size, time and the name. The same
// source version always gets the same temporary name, so a later run finds
// the part an interrupted run left and resumes it (REST); a part of another
// version is stale and removed.
func tempName(target string, size int64, mtime time.Time) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%d\x00%d\x00%s", size, mtime.Unix(), target)
	base := path.Base(target)
	// Keep the name within the 255 bytes of common file systems.
	const room = 255 - len(tempPrefix) - 9
	if len(base) > room {
		base = base[:room]
		for !utf8.ValidString(base) {
			base = base[:len(base)-1]
		}
	}
	name := fmt.Sprintf("%s%08x-%s", tempPrefix, h.Sum32(), base)
	if dir := path.Dir(target); dir != "." {
		return dir + "/" + name
	}
	return name
}

// isTempName reports whether a base name is one tempName makes.
func isTempName(base string) bool {
	if len(base) < len(tempPrefix)+10 || !strings.HasPrefix(base, tempPrefix) || base[len(tempPrefix)+8] != '-' {
		return false
	}
	for _, c := range base[len(tempPrefix) : len(tempPrefix)+8] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// join joins a directory and a name of the endpoint's tree.
func join(dir, name string) string {
	if dir == "." || dir == "" {
		return name
	}
	return dir + "/" + name
}

// emptyEndpoint stands for a root that does not exist yet during a dry
// run: it lists nothing and writes nothing.
type emptyEndpoint struct{}

func (emptyEndpoint) List(context.Context, string) ([]Entry, error) { return nil, nil }
func (emptyEndpoint) Stat(_ context.Context, name string) (Entry, error) {
	return Entry{}, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
}
func (emptyEndpoint) Open(_ context.Context, name string, _ int64) (io.ReadCloser, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}
func (emptyEndpoint) Write(context.Context, string, int64, io.Reader) (int64, error) {
	return 0, errDryRun
}
func (emptyEndpoint) Rename(context.Context, string, string) error        { return errDryRun }
func (emptyEndpoint) SetModTime(context.Context, string, time.Time) error { return errDryRun }
func (emptyEndpoint) Mkdir(context.Context, string) error                 { return errDryRun }
func (emptyEndpoint) Remove(context.Context, string, bool) error          { return errDryRun }
func (emptyEndpoint) Close() error                                        { return nil }

var errDryRun = errors.New("sync: dry run changes nothing")

var _ Endpoint = emptyEndpoint{}
