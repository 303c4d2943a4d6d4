package acl

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
)

// Permission is one path permission entry.
type Permission struct {
	// Path says which directory the entry is for: a path relative to
	// the user's home with a trailing slash ("docs/", "pub/incoming/"),
	// "/" for the home itself, or "*" for every directory that no other
	// entry covers.
	Path string

	// FullPath, when set, makes the entry a private alias: Path appears
	// in the user's tree and shows the real directory FullPath (which
	// may contain path variables). Only the users the entry belongs to
	// see it.
	FullPath string

	// Recursive applies the entry to the subdirectories of Path too
	// ("Apply to subfolders"), unless a more specific entry covers them.
	Recursive bool

	// Rights are what the entry allows.
	Rights Right

	// MaxDirSize limits the total size of the directory tree in bytes,
	// 0 for no limit. It is enforced by package quota.
	MaxDirSize int64
}

// key is the entry's directory in the canonical form the policy compares:
// "" for the home, "a/b" for "a/b/", "*" for the default.
func (p Permission) key() (string, error) {
	switch p.Path {
	case "*":
		return "*", nil
	case "/", "":
		return "", nil
	}
	s := strings.Trim(p.Path, "/")
	if s == "" {
		return "", nil
	}
	for _, el := range strings.Split(s, "/") {
		if el == "" || el == "." || el == ".." {
			return "", fmt.Errorf("acl: permission path %q: empty, \".\" or \"..\" element", p.Path)
		}
	}
	return s, nil
}

// Policy decides what a user may do where. It is built from the user's
// permission entries merged over the group's; it is immutable and safe
// for concurrent use.
//
// A check for a right in a directory finds the most specific entry for
// it: the entry for the directory itself, else the entry of its nearest
// ancestor that applies to subfolders, else the "*" entry. That entry
// alone decides. With no entry at all, nothing is allowed.
//
// Directories are virtual, slash-separated and relative to the user's
// home: "" is the home, "pub/incoming" a directory below it.
type Policy struct {
	entries map[string]Permission // by key
	def     *Permission           // the "*" entry
}

// ErrDenied is the error of a check that failed.
var ErrDenied = errors.New("acl: permission denied")

// NewPolicy builds a policy. Entries later in the list replace earlier ones
// with the same path, so passing the group's entries first and the user's
// after gives the user's override, entry by entry.
func NewPolicy(entries ...[]Permission) (*Policy, error) {
	p := &Policy{entries: make(map[string]Permission)}
	var errs []error
	for _, list := range entries {
		for _, e := range list {
			k, err := e.key()
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if k == "*" {
				e := e
				p.def = &e
				continue
			}
			p.entries[k] = e
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// MustPolicy is NewPolicy for literals in tests and examples; it panics on
// error.
func MustPolicy(entries ...[]Permission) *Policy {
	p, err := NewPolicy(entries...)
	if err != nil {
		panic(err)
	}
	return p
}

// Entry returns the entry that decides for dir, and false when none does
// (always for a nil policy, whose Rights are nevertheless All). dir is
// cleaned first, so "pub/../private" is judged as "private" and no ".."
// climbs above the home.
func (p *Policy) Entry(dir string) (Permission, bool) {
	if p == nil {
		return Permission{}, false
	}
	dir = strings.Trim(path.Clean("/"+dir), "/")
	if e, ok := p.entries[dir]; ok {
		return e, true
	}
	// Walk up the ancestors, nearest first.
	for d := dir; d != ""; {
		i := strings.LastIndexByte(d, '/')
		if i < 0 {
			d = ""
		} else {
			d = d[:i]
		}
		if e, ok := p.entries[d]; ok && e.Recursive {
			return e, true
		}
	}
	if p.def != nil {
		return *p.def, true
	}
	return Permission{}, false
}

// Rights returns the rights that apply in dir.
func (p *Policy) Rights(dir string) Right {
	if p == nil {
		return All
	}
	e, ok := p.Entry(dir)
	if !ok {
		return None
	}
	return e.Rights
}

// Allowed reports whether every right in want applies in dir. A nil
// policy allows everything.
func (p *Policy) Allowed(dir string, want Right) bool {
	return p.Rights(dir)&want == want
}

// Check is Allowed as an error: nil, or ErrDenied wrapped with the right.
func (p *Policy) Check(dir string, want Right) error {
	if p.Allowed(dir, want) {
		return nil
	}
	return fmt.Errorf("%w: %s in /%s", ErrDenied, want, dir)
}

// Authorize is Check with a context, so that a Policy serves as the FTP
// engine's authorizer.
func (p *Policy) Authorize(_ context.Context, dir string, want Right) error {
	return p.Check(dir, want)
}

// Aliases returns the private aliases of the policy (entries with a
// FullPath), sorted by path.
func (p *Policy) Aliases() []Permission {
	if p == nil {
		return nil
	}
	var out []Permission
	for _, e := range p.entries {
		if e.FullPath != "" {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Entries returns every entry, the "*" entry last, the others sorted by
// path; for tools that show a user's effective permissions.
func (p *Policy) Entries() []Permission {
	if p == nil {
		return nil
	}
	keys := make([]string, 0, len(p.entries))
	for k := range p.entries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]Permission, 0, len(keys)+1)
	for _, k := range keys {
		out = append(out, p.entries[k])
	}
	if p.def != nil {
		out = append(out, *p.def)
	}
	return out
}

// Dir returns the directory part of a virtual file path in the form the
// policy takes: Dir("/pub/a.txt") is "pub".
func Dir(virt string) string {
	d := path.Dir(path.Clean("/" + virt))
	return strings.Trim(d, "/")
}
