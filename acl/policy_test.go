package acl_test

import (
	"path"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/acl"
)

// TestPolicyMostSpecific puts each of the nine rights in each position an
// entry can decide from, alone, with every less specific entry granting
// exactly the other eight: the right that applies must be that one and no
// other, so no entry can leak into another's place.
func TestPolicyMostSpecific(t *testing.T) {
	type entry struct {
		path      string
		recursive bool
		decides   bool // grants r; every other entry grants All &^ r
	}
	positions := []struct {
		name    string
		entries []entry
		dir     string
		want    string // the Path of the deciding entry
	}{
		{"own entry", []entry{
			{"pub/docs/", false, true}, {"pub/", true, false}, {"/", true, false}, {"*", false, false},
		}, "pub/docs", "pub/docs/"},
		{"own entry, not recursive, ancestors recursive", []entry{
			{"a/", true, false}, {"a/b/", false, true}, {"*", false, false},
		}, "a/b", "a/b/"},
		{"nearest recursive ancestor", []entry{
			{"pub/docs/", true, true}, {"pub/", true, false}, {"/", true, false}, {"*", false, false},
		}, "pub/docs/a/b", "pub/docs/"},
		{"non-recursive parent is skipped", []entry{
			{"pub/docs/", false, false}, {"pub/", true, true}, {"/", true, false}, {"*", false, false},
		}, "pub/docs/a", "pub/"},
		{"home entry for the home", []entry{
			{"/", false, true}, {"*", false, false}, {"pub/", true, false},
		}, "", "/"},
		{"recursive home entry below", []entry{
			{"/", true, true}, {"*", false, false}, {"pub/", false, false},
		}, "x/y", "/"},
		{"recursive home entry below a non-recursive one", []entry{
			{"/", true, true}, {"*", false, false}, {"pub/", false, false},
		}, "pub/sub", "/"},
		{"default for an unlisted directory", []entry{
			{"*", false, true}, {"/", false, false}, {"pub/", true, false},
		}, "other", "*"},
		{"default below a non-recursive entry", []entry{
			{"*", false, true}, {"/", false, false}, {"pub/", false, false},
		}, "pub/a", "*"},
		{"a sibling does not cover", []entry{
			{"*", false, true}, {"pub/", true, false}, {"pub2/", true, false},
		}, "pub3/x", "*"},
		{"a prefix that is not an ancestor does not cover", []entry{
			{"*", false, true}, {"pu/", true, false},
		}, "pub", "*"},
		{"the default does not apply to subfolders of an entry", []entry{
			{"*", false, false}, {"pub/", true, true},
		}, "pub/a/b/c/d/e", "pub/"},
	}
	for _, pos := range positions {
		for _, rt := range allRights {
			var perms []acl.Permission
			for _, e := range pos.entries {
				rights := acl.All &^ rt.r
				if e.decides {
					rights = rt.r
				}
				perms = append(perms, acl.Permission{Path: e.path, Recursive: e.recursive, Rights: rights})
			}
			p, err := acl.NewPolicy(perms)
			require.NoError(t, err, "%s: NewPolicy", pos.name)

			e, ok := p.Entry(pos.dir)
			require.True(t, ok, "%s: an entry should decide for %q", pos.name, pos.dir)
			assert.Equal(t, pos.want, e.Path, "%s: the entry deciding for %q", pos.name, pos.dir)
			assert.Equal(t, rt.r, p.Rights(pos.dir), "%s, %s: Rights(%q) should be the deciding entry's alone", pos.name, rt.name, pos.dir)
			for _, other := range allRights {
				assert.Equal(t, other.r == rt.r, p.Allowed(pos.dir, other.r),
					"%s: with %s deciding, Allowed(%q, %s)", pos.name, rt.name, pos.dir, other.name)
			}
			// The same answer however the directory is spelled.
			for _, spelling := range []string{"/" + pos.dir, pos.dir + "/", "/" + pos.dir + "/", "./" + pos.dir} {
				assert.Equal(t, rt.r, p.Rights(spelling), "%s: Rights(%q)", pos.name, spelling)
			}
		}
	}
}

func TestPolicyRecursive(t *testing.T) {
	p := acl.MustPolicy([]acl.Permission{
		{Path: "*", Rights: acl.None},
		{Path: "/", Rights: acl.ReadOnly, Recursive: true},
		{Path: "upload/", Rights: acl.Put | acl.Access}, // not recursive
		{Path: "pub/", Rights: acl.All, Recursive: true},
		{Path: "pub/locked/", Rights: acl.ReadOnly}, // not recursive
	})
	for _, tc := range []struct {
		dir  string
		want acl.Right
	}{
		{"", acl.ReadOnly},
		{"docs", acl.ReadOnly},           // "/" applies to subfolders
		{"upload", acl.Put | acl.Access}, // its own entry
		{"upload/sub", acl.ReadOnly},     // not covered by upload/: falls to "/"
		{"pub", acl.All},                 // own entry
		{"pub/a/b", acl.All},             // recursive ancestor
		{"pub/locked", acl.ReadOnly},     // own entry beats the recursive parent
		{"pub/locked/inner", acl.All},    // locked/ is not recursive: back to pub/
		{"pub/../upload", acl.Put | acl.Access},
		{"../../pub", acl.All}, // ".." stops at the home
	} {
		assert.Equal(t, tc.want, p.Rights(tc.dir), "Rights(%q)", tc.dir)
	}

	// Without the recursive home entry, the same subfolders fall to "*".
	p = acl.MustPolicy([]acl.Permission{
		{Path: "*", Rights: acl.List},
		{Path: "/", Rights: acl.ReadOnly},
		{Path: "upload/", Rights: acl.Put},
	})
	assert.Equal(t, acl.ReadOnly, p.Rights(""), "the home's own entry")
	assert.Equal(t, acl.List, p.Rights("docs"), "an unlisted directory gets the default")
	assert.Equal(t, acl.List, p.Rights("upload/sub"), "below a non-recursive entry: the default")
}

func TestPolicyUserOverridesGroup(t *testing.T) {
	group := []acl.Permission{
		{Path: "*", Rights: acl.None},
		{Path: "/", Rights: acl.ReadOnly, Recursive: true},
		{Path: "pub/", Rights: acl.All, Recursive: true},
		{Path: "incoming/", Rights: acl.Put | acl.Access, Recursive: true},
		{Path: "private/", Rights: acl.None, Recursive: true},
	}
	user := []acl.Permission{
		{Path: "pub/", Rights: acl.ReadOnly}, // replaces the group's, and is not recursive
		{Path: "/private/", Rights: acl.All, Recursive: true},
		{Path: "mine/", Rights: acl.All},
		{Path: "*", Rights: acl.Get},
	}
	p, err := acl.NewPolicy(group, user)
	require.NoError(t, err, "NewPolicy(group, user)")
	for _, tc := range []struct {
		dir  string
		want acl.Right
		why  string
	}{
		{"", acl.ReadOnly, "the group's home entry is inherited"},
		{"pub", acl.ReadOnly, "the user's pub/ replaces the group's"},
		{"pub/sub", acl.ReadOnly, "the user's pub/ is not recursive: the group's recursive home decides"},
		{"incoming/x", acl.Put | acl.Access, "the group's incoming/ is inherited"},
		{"private/deep", acl.All, "the user's private/ replaces the group's, written with a leading slash"},
		{"mine", acl.All, "the user's own entry"},
	} {
		assert.Equal(t, tc.want, p.Rights(tc.dir), "Rights(%q): %s", tc.dir, tc.why)
	}

	// The user's "*" replaces the group's.
	p, err = acl.NewPolicy(
		[]acl.Permission{{Path: "*", Rights: acl.All}, {Path: "x/", Rights: acl.Get}},
		[]acl.Permission{{Path: "*", Rights: acl.List}},
	)
	require.NoError(t, err, "NewPolicy")
	assert.Equal(t, acl.List, p.Rights("elsewhere"), "the user's default replaces the group's")
	assert.Equal(t, acl.Get, p.Rights("x"), "the group's x/ stays")

	// Order is what counts: the group's entries given last would win.
	p = acl.MustPolicy(user, group)
	assert.Equal(t, acl.All, p.Rights("pub/sub"), "entries later in the list replace earlier ones")

	// Entries lists the merged result, "*" last.
	var paths []string
	for _, e := range acl.MustPolicy(group, user).Entries() {
		paths = append(paths, e.Path)
	}
	assert.Equal(t, []string{"/", "incoming/", "mine/", "/private/", "pub/", "*"}, paths,
		"Entries: one per directory, user's entries in place of the group's, sorted, \"*\" last")
}

func TestPolicyNoEntry(t *testing.T) {
	for _, p := range []*acl.Policy{
		acl.MustPolicy(),
		acl.MustPolicy(nil, nil),
		acl.MustPolicy([]acl.Permission{{Path: "pub/", Rights: acl.All}}),
	} {
		_, ok := p.Entry("other")
		assert.False(t, ok, "no entry should decide for an unlisted directory without \"*\"")
		assert.Equal(t, acl.None, p.Rights("other"), "no entry: no right")
		for _, rt := range allRights {
			assert.False(t, p.Allowed("other", rt.r), "no entry: %s not allowed", rt.name)
			err := p.Check("other", rt.r)
			assert.ErrorIs(t, err, acl.ErrDenied, "Check(%s) without an entry", rt.name)
		}
		assert.True(t, p.Allowed("other", acl.None), "asking for no right always succeeds")
	}
}

func TestPolicyNil(t *testing.T) {
	var p *acl.Policy
	assert.Equal(t, acl.All, p.Rights("any/dir"), "a nil policy has every right")
	assert.True(t, p.Allowed("", acl.All), "a nil policy allows everything")
	assert.NoError(t, p.Check("x", acl.Delete|acl.Rmdir), "a nil policy denies nothing")
	_, ok := p.Entry("x")
	assert.False(t, ok, "a nil policy has no entries")
	assert.Empty(t, p.Aliases(), "a nil policy has no aliases")
	assert.Empty(t, p.Entries(), "a nil policy lists no entries")
}

func TestPolicyCheck(t *testing.T) {
	p := acl.MustPolicy([]acl.Permission{{Path: "/", Rights: acl.ReadOnly}})
	assert.NoError(t, p.Check("", acl.Get|acl.List), "rights the entry has")
	err := p.Check("", acl.Get|acl.Put)
	require.ErrorIs(t, err, acl.ErrDenied, "one missing right denies")
	assert.Contains(t, err.Error(), "get,put", "the error names the rights asked for")
}

func TestPolicyInvalidPaths(t *testing.T) {
	for _, bad := range []string{"../x/", "a/../b/", "./a/", "a/./b/", "a//b/", "..", "/../", "x/.."} {
		_, err := acl.NewPolicy([]acl.Permission{{Path: "ok/"}, {Path: bad}})
		assert.Error(t, err, "NewPolicy should refuse the entry path %q", bad)
		assert.Panics(t, func() { acl.MustPolicy([]acl.Permission{{Path: bad}}) }, "MustPolicy(%q)", bad)
	}
	// Every bad entry is reported, not just the first.
	_, err := acl.NewPolicy([]acl.Permission{{Path: "../x/"}}, []acl.Permission{{Path: "a/../b/"}})
	require.Error(t, err, "NewPolicy with two bad entries")
	assert.Contains(t, err.Error(), `"../x/"`, "the first bad entry is reported")
	assert.Contains(t, err.Error(), `"a/../b/"`, "the second bad entry is reported")

	// Spellings that name a real directory are accepted.
	for path, dir := range map[string]string{
		"pub/": "pub", "/pub/": "pub", "pub": "pub", "a/b/c/": "a/b/c", "/": "", "": "", "//": "",
		"...": "...", "a.b/": "a.b", "attention!!/": "attention!!",
	} {
		p, err := acl.NewPolicy([]acl.Permission{{Path: path, Rights: acl.Mkdir}})
		require.NoError(t, err, "NewPolicy should accept %q", path)
		assert.Equal(t, acl.Mkdir, p.Rights(dir), "entry %q should decide for %q", path, dir)
	}
}

func TestPolicyAliases(t *testing.T) {
	p := acl.MustPolicy([]acl.Permission{
		{Path: "src/", FullPath: "/srv/source", Rights: acl.ReadOnly},
		{Path: "attention!!/", FullPath: "notices", Rights: acl.ReadOnly},
		{Path: "pub/", Rights: acl.All},
		{Path: "*", FullPath: "/never", Rights: acl.None},
	})
	var got []string
	for _, a := range p.Aliases() {
		got = append(got, a.Path+"="+a.FullPath)
	}
	assert.Equal(t, []string{"attention!!/=notices", "src/=/srv/source"}, got,
		"Aliases: the entries with a full path, by path (the default is no directory)")
}

func TestDir(t *testing.T) {
	for in, want := range map[string]string{
		"/pub/a.txt":       "pub",
		"pub/a.txt":        "pub",
		"a.txt":            "",
		"/a.txt":           "",
		"/":                "",
		"":                 "",
		"/a/b/c":           "a/b",
		"a/b/":             "a",
		"/pub//sub/./f":    "pub/sub",
		"pub/../x/f":       "x",
		"../../etc/passwd": "etc",
	} {
		assert.Equal(t, want, acl.Dir(in), "Dir(%q)", in)
	}
}

// FuzzPolicy builds a policy from arbitrary entry paths and checks the
// entry it picks for an arbitrary directory against the rule: the
// directory's own entry, else the nearest recursive ancestor's, else "*".
func FuzzPolicy(f *testing.F) {
	f.Add("*|/|pub/|pub/docs/", uint16(0b0110), "pub/docs/a")
	f.Add("/|a/b/|a/", uint16(0b001), "a/b/c")
	f.Add("x/|../y/", uint16(0), "x")
	f.Add("pub|/pub/|pub/", uint16(0b111), "/pub/./sub/../sub")
	f.Add("", uint16(0), "")
	f.Add("*|*", uint16(1), "..")
	f.Fuzz(func(t *testing.T, spec string, recursive uint16, dir string) {
		var perms []acl.Permission
		for i, p := range strings.Split(spec, "|") {
			perms = append(perms, acl.Permission{
				Path:       p,
				Recursive:  recursive&(1<<(i%16)) != 0,
				MaxDirSize: int64(i), // tells the entries apart
			})
		}
		pol, err := acl.NewPolicy(perms)
		if err != nil {
			for _, p := range perms {
				if _, ok := fuzzKey(p.Path); !ok {
					return // refused for a reason
				}
			}
			t.Fatalf("NewPolicy refused valid entries %q: %v", spec, err)
		}
		// The last entry of each key is the one kept.
		last := map[string]acl.Permission{}
		for _, p := range perms {
			k, ok := fuzzKey(p.Path)
			if !ok {
				t.Fatalf("NewPolicy accepted the invalid entry path %q", p.Path)
			}
			last[k] = p
		}

		e, ok := pol.Entry(dir)
		d := strings.Trim(path.Clean("/"+dir), "/")
		if !ok {
			_, hasDefault := last["*"]
			if hasDefault {
				t.Fatalf("no entry for %q although there is a \"*\" entry", dir)
			}
			if _, own := last[d]; own {
				t.Fatalf("no entry for %q although it has its own", dir)
			}
			return
		}
		k, _ := fuzzKey(e.Path)
		want, exists := last[k]
		if !exists || want.MaxDirSize != e.MaxDirSize {
			t.Fatalf("Entry(%q) = %+v, which is not the kept entry for its path", dir, e)
		}
		// Nothing more specific may exist.
		if own, has := last[d]; has && own.MaxDirSize != e.MaxDirSize {
			t.Fatalf("Entry(%q) = %q, but the directory has its own entry", dir, e.Path)
		}
		switch {
		case k == d:
		case k == "*":
			for a := range ancestors(d) {
				if p, has := last[a]; has && p.Recursive {
					t.Fatalf("Entry(%q) = \"*\", but ancestor %q applies to subfolders", dir, p.Path)
				}
			}
		default:
			if !e.Recursive {
				t.Fatalf("Entry(%q) = %q, an ancestor entry that does not apply to subfolders", dir, e.Path)
			}
			found := false
			for a := range ancestors(d) {
				if a == k {
					found = true
					break
				}
				if p, has := last[a]; has && p.Recursive {
					t.Fatalf("Entry(%q) = %q, but %q is a nearer recursive ancestor", dir, e.Path, p.Path)
				}
			}
			if !found {
				t.Fatalf("Entry(%q) = %q, which is not an ancestor", dir, e.Path)
			}
		}
	})
}

// fuzzKey is the directory an entry path names, as the documentation of
// Permission.Path describes it.
func fuzzKey(p string) (string, bool) {
	switch p {
	case "*":
		return "*", true
	case "", "/":
		return "", true
	}
	s := strings.Trim(p, "/")
	if s == "" {
		return "", true
	}
	for _, el := range strings.Split(s, "/") {
		if el == "" || el == "." || el == ".." {
			return "", false
		}
	}
	return s, true
}

// ancestors yields the proper ancestors of a clean directory, nearest
// first, ending with the home "".
func ancestors(d string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for d != "" {
			i := strings.LastIndexByte(d, '/')
			if i < 0 {
				d = ""
			} else {
				d = d[:i]
			}
			if !yield(d) {
				return
			}
		}
	}
}
