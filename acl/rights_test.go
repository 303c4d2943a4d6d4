package acl_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/acl"
)

var allRights = []struct {
	r    acl.Right
	name string
}{
	{acl.Get, "get"}, {acl.Access, "access"}, {acl.List, "list"},
	{acl.Put, "put"}, {acl.Rename, "rename"}, {acl.Append, "append"}, {acl.Mkdir, "mkdir"},
	{acl.Delete, "delete"}, {acl.Rmdir, "rmdir"},
}

func TestRightString(t *testing.T) {
	for _, tc := range allRights {
		assert.Equal(t, tc.name, tc.r.String(), "String of a single right")
	}
	for _, tc := range []struct {
		r    acl.Right
		want string
	}{
		{acl.None, "none"},
		{acl.ReadOnly, "get,access,list"},
		{acl.All, "get,access,list,put,rename,append,mkdir,delete,rmdir"},
		{acl.Put | acl.Get, "get,put"}, // always in the dialog's order
		{acl.Rmdir | 1<<12, "rmdir,0x1000"},
		{1 << 15, "0x8000"},
	} {
		assert.Equal(t, tc.want, tc.r.String(), "String of %#x", uint16(tc.r))
	}
}

func TestRightRoundTrip(t *testing.T) {
	// Every combination of the nine rights survives String and
	// ParseRights, and the text form of encoding.TextMarshaler.
	for r := acl.None; r <= acl.All; r++ {
		got, err := acl.ParseRights(r.String())
		require.NoError(t, err, "ParseRights(%q)", r.String())
		assert.Equal(t, r, got, "ParseRights(String()) of %#x", uint16(r))

		text, err := r.MarshalText()
		require.NoError(t, err, "MarshalText")
		var back acl.Right
		require.NoError(t, back.UnmarshalText(text), "UnmarshalText(%q)", text)
		assert.Equal(t, r, back, "UnmarshalText(MarshalText()) of %#x", uint16(r))
	}
}

func TestParseRights(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want acl.Right
	}{
		{"", acl.None},
		{"none", acl.None},
		{"all", acl.All},
		{"ALL", acl.All},
		{"readonly", acl.ReadOnly},
		{"read", acl.ReadOnly},
		{"Get, List", acl.Get | acl.List},
		{"get;put mkdir", acl.Get | acl.Put | acl.Mkdir},
		{"get,,get,", acl.Get},
		{"readonly,delete", acl.ReadOnly | acl.Delete},
		{"none,rmdir", acl.Rmdir},
	} {
		got, err := acl.ParseRights(tc.in)
		require.NoError(t, err, "ParseRights(%q)", tc.in)
		assert.Equal(t, tc.want, got, "ParseRights(%q)", tc.in)
	}
	for _, in := range []string{"write", "get,foo", "0x1000", "get-list", "*"} {
		got, err := acl.ParseRights(in)
		assert.Error(t, err, "ParseRights(%q) should fail", in)
		assert.Equal(t, acl.None, got, "a failed ParseRights(%q) returns no right", in)
	}

	r := acl.Get
	assert.Error(t, r.UnmarshalText([]byte("bogus")), "UnmarshalText of an unknown right")
	assert.Equal(t, acl.Get, r, "a failed UnmarshalText leaves the value alone")
}
