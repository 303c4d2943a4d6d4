package acl

import (
	"fmt"
	"strings"
)

// Right is one of the nine rights of a path permission. Rights combine as
// a bit set.
type Right uint16

// The rights, in the order of the product's Path Permissions dialog.
const (
	Get    Right = 1 << iota // download files (RETR, SIZE, MDTM, HASH)
	Access                   // enter the directory (CWD)
	List                     // list its contents (LIST, NLST, MLSD, STAT path)
	Put                      // upload files (STOR, STOU, MFMT)
	Rename                   // rename (RNFR, RNTO)
	Append                   // append to files (APPE)
	Mkdir                    // make subdirectories (MKD)
	Delete                   // delete files (DELE)
	Rmdir                    // remove directories (RMD)

	// None is no right at all.
	None Right = 0
	// ReadOnly is Get, Access and List.
	ReadOnly = Get | Access | List
	// All is every right.
	All = Get | Access | List | Put | Rename | Append | Mkdir | Delete | Rmdir
)

var rightNames = [...]struct {
	r    Right
	name string
}{
	{Get, "get"}, {Access, "access"}, {List, "list"}, {Put, "put"}, {Rename, "rename"},
	{Append, "append"}, {Mkdir, "mkdir"}, {Delete, "delete"}, {Rmdir, "rmdir"},
}

// String lists the rights by name, comma-separated: "get,access,list".
func (r Right) String() string {
	if r == None {
		return "none"
	}
	var parts []string
	for _, n := range rightNames {
		if r&n.r != 0 {
			parts = append(parts, n.name)
		}
	}
	if rest := r &^ All; rest != 0 {
		parts = append(parts, fmt.Sprintf("0x%x", uint16(rest)))
	}
	return strings.Join(parts, ",")
}

// ParseRights parses a comma- or space-separated list of right names, as
// String writes them. "all", "none" and "readonly" are accepted too; names
// are case-insensitive.
func ParseRights(s string) (Right, error) {
	var r Right
	for _, f := range strings.FieldsFunc(s, func(c rune) bool { return c == ',' || c == ' ' || c == ';' }) {
		switch strings.ToLower(f) {
		case "all":
			r |= All
			continue
		case "none":
			continue
		case "readonly", "read":
			r |= ReadOnly
			continue
		}
		found := false
		for _, n := range rightNames {
			if strings.EqualFold(f, n.name) {
				r |= n.r
				found = true
				break
			}
		}
		if !found {
			return 0, fmt.Errorf("acl: unknown right %q (want get, access, list, put, rename, append, mkdir, delete, rmdir)", f)
		}
	}
	return r, nil
}

// MarshalText implements encoding.TextMarshaler.
func (r Right) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Right) UnmarshalText(b []byte) error {
	v, err := ParseRights(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}
