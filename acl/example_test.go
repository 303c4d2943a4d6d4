package acl_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/ferryftp/ferry/acl"
)

// The most specific entry decides: the directory's own entry, else the
// nearest ancestor's entry that applies to subfolders, else "*".
func ExamplePolicy() {
	p := acl.MustPolicy([]acl.Permission{
		{Path: "*", Rights: acl.None},
		{Path: "/", Rights: acl.ReadOnly},
		{Path: "pub/", Rights: acl.ReadOnly, Recursive: true},
		{Path: "pub/incoming/", Rights: acl.Put | acl.Access},
	})
	for _, dir := range []string{"", "pub", "pub/a/b", "pub/incoming", "pub/incoming/sub", "private"} {
		e, _ := p.Entry(dir)
		fmt.Printf("/%-17s %-14s %s\n", dir, e.Path, p.Rights(dir))
	}
	// Output:
	// /                  /              get,access,list
	// /pub               pub/           get,access,list
	// /pub/a/b           pub/           get,access,list
	// /pub/incoming      pub/incoming/  access,put
	// /pub/incoming/sub  pub/           get,access,list
	// /private           *              none
}

// A user's entries replace the group's entries of the same path; the
// group's other entries still apply.
func ExampleNewPolicy() {
	group := []acl.Permission{
		{Path: "/", Rights: acl.ReadOnly, Recursive: true},
		{Path: "upload/", Rights: acl.Put | acl.Access},
	}
	user := []acl.Permission{
		{Path: "upload/", Rights: acl.All},
	}
	p, err := acl.NewPolicy(group, user)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("/       ", p.Rights(""))
	fmt.Println("/upload ", p.Rights("upload"))
	fmt.Println("/docs   ", p.Rights("docs"))
	fmt.Println(p.Check("docs", acl.Delete))

	_, err = acl.NewPolicy([]acl.Permission{{Path: "../etc/"}})
	fmt.Println(err)
	// Output:
	// /        get,access,list
	// /upload  get,access,list,put,rename,append,mkdir,delete,rmdir
	// /docs    get,access,list
	// acl: permission denied: delete in /docs
	// acl: permission path "../etc/": empty, "." or ".." element
}

func ExampleParseRights() {
	r, err := acl.ParseRights("readonly, put, mkdir")
	fmt.Println(r, err)
	fmt.Println(r&acl.Delete != 0)
	_, err = acl.ParseRights("get,write")
	fmt.Println(err != nil)
	// Output:
	// get,access,list,put,mkdir <nil>
	// false
	// true
}

// The first rule that matches decides; a client no rule matches is
// allowed, so a list that admits only some networks ends with a deny of
// "*".
func ExampleAccessList() {
	office, _ := acl.ParseAccessRule(true, "192.168.*.*;127.0.0.1;192-193.*.*.*")
	rest, _ := acl.ParseAccessRule(false, "*")
	l := &acl.AccessList{Rules: []acl.AccessRule{office, rest}}
	for _, a := range []string{"192.168.10.20", "193.0.2.1", "::ffff:127.0.0.1", "198.51.100.7", "2001:db8::1"} {
		fmt.Println(a, l.Allow(netip.MustParseAddr(a)))
	}
	// Output:
	// 192.168.10.20 true
	// 193.0.2.1 true
	// ::ffff:127.0.0.1 true
	// 198.51.100.7 false
	// 2001:db8::1 false
}

func ExampleParsePattern() {
	for _, s := range []string{"10.1-5.*.7", "2001:db8::/32", "300.*.*.*"} {
		p, err := acl.ParsePattern(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(p, p.Match(netip.MustParseAddr("10.3.200.7")), p.Match(netip.MustParseAddr("2001:db8::1")))
	}
	// Output:
	// 10.1-5.*.7 true false
	// 2001:db8::/32 false true
	// acl: IP pattern "300.*.*.*": octet 1: "300" is not a number from 0 to 255
}

// A value that would bring a separator or ".." into a path is refused.
func ExampleVars_Expand() {
	v := acl.Vars{Username: "bob", Groupname: "staff", Domain: "example.com"}
	fmt.Println(v.Expand("users/$$domain$$/$$username$$"))
	v.Username = "../root"
	_, err := v.Expand("users/$$username$$")
	fmt.Println(err)
	// Output:
	// users/example.com/bob <nil>
	// acl: $$username$$ = "../root" cannot be used in a path
}

func ExampleSite_Login() {
	home, err := os.MkdirTemp("", "site")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(home)

	hash, _ := acl.HashPasswordIter("s3cret", 1000) // HashPassword in real use
	site, err := acl.NewSite(acl.SiteConfig{
		Home:   home,
		Groups: []acl.Group{{Name: "staff", Home: "staff/$$username$$"}},
		Users: []acl.User{
			{Name: "bob", Password: hash, Group: "staff"},
			{Name: "anonymous", Type: acl.Anonymous, Home: "pub"},
		},
		Aliases: []acl.Alias{{Path: "/shared", Target: "shared"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	for _, login := range [][2]string{{"bob", "s3cret"}, {"ftp", "guest@example.org"}, {"bob", "wrong"}} {
		s, err := site.Login(ctx, login[0], login[1])
		if err != nil {
			fmt.Println(login[0], "refused")
			continue
		}
		rel, _ := filepath.Rel(home, s.Home)
		fmt.Printf("%s %s home=%s email=%q mounts=%d\n", s.User, s.Type, filepath.ToSlash(rel), s.Email, len(s.Mounts))
	}
	// Output:
	// bob local home=staff/bob email="" mounts=1
	// anonymous anonymous home=pub email="guest@example.org" mounts=1
	// bob refused
}
