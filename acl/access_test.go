package acl_test

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/acl"
)

func TestParsePattern(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		match   []string
		noMatch []string
	}{
		{"127.0.0.1", []string{"127.0.0.1", "::ffff:127.0.0.1"}, []string{"127.0.0.2", "::1"}},
		{" 10.0.0.1 ", []string{"10.0.0.1"}, []string{"10.0.0.10"}},
		{"::1", []string{"::1"}, []string{"127.0.0.1", "::2"}},
		{"2001:db8::42", []string{"2001:db8::42", "2001:DB8:0::42"}, []string{"2001:db8::43"}},
		{"::ffff:10.0.0.1", []string{"10.0.0.1", "::ffff:10.0.0.1"}, []string{"10.0.0.2"}},
		{"10.0.0.0/8", []string{"10.0.0.0", "10.255.255.255", "::ffff:10.1.2.3"}, []string{"11.0.0.0", "9.255.255.255", "::a00:1"}},
		{"192.168.1.77/24", []string{"192.168.1.0", "192.168.1.255"}, []string{"192.168.2.1"}},
		{"0.0.0.0/0", []string{"1.2.3.4", "255.255.255.255"}, []string{"::1"}},
		{"2001:db8::/32", []string{"2001:db8::1", "2001:db8:ffff::"}, []string{"2001:db9::1", "10.0.0.1"}},
		{"::/0", []string{"::1", "fe80::1"}, []string{"127.0.0.1"}},
		{"::ffff:10.0.0.0/104", []string{"10.0.0.1", "10.255.0.0", "::ffff:10.9.9.9"}, []string{"11.0.0.1"}},
		{"fe80::/10", []string{"fe80::1", "fe80::1%eth0"}, []string{"fec0::1"}},
		{"*", []string{"1.2.3.4", "::1", "::ffff:1.2.3.4", "255.255.255.255"}, nil},
		{"192.168.*.*", []string{"192.168.0.0", "192.168.255.255", "::ffff:192.168.7.8"}, []string{"192.169.0.1", "10.168.1.1", "::1"}},
		{"*.*.*.*", []string{"0.0.0.0", "8.8.8.8"}, []string{"::1"}},
		{"192-193.*.*.*", []string{"192.0.0.1", "193.255.255.255"}, []string{"191.255.255.255", "194.0.0.0"}},
		{"10.1-5.*.7", []string{"10.1.0.7", "10.5.255.7", "10.3.3.7"}, []string{"10.6.0.7", "10.0.0.7", "10.3.3.8"}},
		{"0-255.0-255.0-255.0-255", []string{"0.0.0.0", "255.255.255.255"}, []string{"::"}},
		{"10.0.0.7-7", []string{"10.0.0.7"}, []string{"10.0.0.8"}},
		{"010.001.0.1", []string{"10.1.0.1"}, []string{"8.1.0.1"}}, // leading zeros are decimal
	} {
		p, err := acl.ParsePattern(tc.pattern)
		require.NoError(t, err, "ParsePattern(%q)", tc.pattern)
		for _, a := range tc.match {
			assert.True(t, p.Match(netip.MustParseAddr(a)), "%q should match %s", tc.pattern, a)
		}
		for _, a := range tc.noMatch {
			assert.False(t, p.Match(netip.MustParseAddr(a)), "%q should not match %s", tc.pattern, a)
		}
		if tc.pattern != "*" {
			assert.False(t, p.Match(netip.Addr{}), "%q should not match the zero address", tc.pattern)
		}
	}
}

func TestParsePatternInvalid(t *testing.T) {
	for _, s := range []string{
		"", " ", "300.*.*.*", "1.2.3", "1.2.3.4.5", "5-2.*.*.*", "a.b.c.d", "1.2.3.4/33", "::1/129",
		"1.2.3.-", "1.2.3.4-", "-1.2.3.4", "1.2.*.256", "1..2.3", "1.2.3.4/", "10.0.0.0/8/8",
		"*.*.*", "**.*.*.*", "1-2-3.*.*.*", "+1.2.3.4", "1.2.3.0x1", "1.2.3.1000", "fe80::1%eth0/64",
		"*/8", "1.2.3.4 5",
	} {
		_, err := acl.ParsePattern(s)
		assert.Error(t, err, "ParsePattern(%q) should fail", s)
	}
}

func TestParseAccessRule(t *testing.T) {
	r, err := acl.ParseAccessRule(true, "192.168.*.*;127.0.0.1;192-193.*.*.*")
	require.NoError(t, err, "the manual's example rule")
	assert.True(t, r.Grant, "a grant rule")
	require.Len(t, r.Patterns, 3, "three patterns")
	assert.Equal(t, "127.0.0.1", r.Patterns[1].String(), "patterns keep their text and order")
	for _, a := range []string{"192.168.3.4", "127.0.0.1", "193.1.1.1"} {
		assert.True(t, r.Match(netip.MustParseAddr(a)), "the rule should match %s", a)
	}
	for _, a := range []string{"127.0.0.2", "194.1.1.1", "::1"} {
		assert.False(t, r.Match(netip.MustParseAddr(a)), "the rule should not match %s", a)
	}

	r, err = acl.ParseAccessRule(false, " 10.0.0.0/8 ; ;::1; ")
	require.NoError(t, err, "spaces and empty items are ignored")
	assert.False(t, r.Grant, "a deny rule")
	assert.Len(t, r.Patterns, 2, "two patterns")

	for _, s := range []string{"", ";", " ; ; "} {
		_, err = acl.ParseAccessRule(true, s)
		assert.Error(t, err, "ParseAccessRule(%q) has no pattern", s)
	}
	_, err = acl.ParseAccessRule(true, "1.2.3.4;300.*.*.*;1.2.3;5.6.7.8")
	require.Error(t, err, "bad patterns among good ones")
	assert.Contains(t, err.Error(), "300.*.*.*", "the first bad pattern is reported")
	assert.Contains(t, err.Error(), `"1.2.3"`, "the second bad pattern is reported")
}

func TestAccessList(t *testing.T) {
	rule := func(grant bool, s string) acl.AccessRule {
		r, err := acl.ParseAccessRule(grant, s)
		require.NoError(t, err, "ParseAccessRule(%q)", s)
		return r
	}
	l := &acl.AccessList{Rules: []acl.AccessRule{
		rule(true, "192.168.1.10"),
		rule(false, "192.168.*.*"),
		rule(true, "10.0.0.0/8;::1"),
		rule(false, "*"),
	}}
	for addr, want := range map[string]bool{
		"192.168.1.10":        true,  // the first rule decides, before the deny
		"::ffff:192.168.1.10": true,  // mapped: the same client
		"192.168.1.11":        false, // second rule
		"10.1.2.3":            true,
		"::1":                 true,
		"8.8.8.8":             false, // the final deny
		"2001:db8::1":         false,
	} {
		assert.Equal(t, want, l.Allow(netip.MustParseAddr(addr)), "Allow(%s)", addr)
	}

	// Without a final deny, clients no rule matches are allowed.
	l = &acl.AccessList{Rules: []acl.AccessRule{rule(false, "192-193.*.*.*")}}
	assert.False(t, l.Allow(netip.MustParseAddr("192.0.2.1")), "a denied range")
	assert.True(t, l.Allow(netip.MustParseAddr("198.51.100.1")), "no rule matches: allowed")

	var nilList *acl.AccessList
	assert.True(t, nilList.Allow(netip.MustParseAddr("127.0.0.1")), "a nil list allows everyone")
	assert.True(t, new(acl.AccessList).Allow(netip.MustParseAddr("::1")), "the zero list allows everyone")
}

// FuzzParsePattern checks that no text makes ParsePattern or Match panic,
// and that a pattern's String parses back to a pattern that matches the
// same addresses.
func FuzzParsePattern(f *testing.F) {
	for _, s := range []string{
		"127.0.0.1", "::1", "10.0.0.0/8", "2001:db8::/32", "*", "192.168.*.*", "192-193.*.*.*",
		"10.1-5.*.7", "300.*.*.*", "1.2.3", "5-2.*.*.*", "", "a.b.c.d", "1.2.3.4/33",
		"::ffff:10.0.0.0/104", "fe80::1%eth0", " 1.2.3.4 ",
	} {
		f.Add(s, []byte{192, 168, 1, 2})
	}
	f.Add("2001:db8::/32", []byte{0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	probes := []netip.Addr{
		netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("127.0.0.1"),
		netip.MustParseAddr("192.168.1.2"), netip.MustParseAddr("255.255.255.255"),
		netip.MustParseAddr("::1"), netip.MustParseAddr("::ffff:10.1.2.3"),
		netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("fe80::1%lo"), {},
	}
	f.Fuzz(func(t *testing.T, s string, probe []byte) {
		p, err := acl.ParsePattern(s)
		if err != nil {
			return
		}
		addrs := probes
		if a, ok := netip.AddrFromSlice(probe); ok {
			addrs = append(addrs[:len(addrs):len(addrs)], a)
		}
		q, err := acl.ParsePattern(p.String())
		if err != nil {
			t.Fatalf("ParsePattern(%q) succeeded but its String %q does not parse: %v", s, p.String(), err)
		}
		for _, a := range addrs {
			if p.Match(a) != q.Match(a) {
				t.Fatalf("%q and its String %q disagree on %v", s, p.String(), a)
			}
			if p.Match(a) != p.Match(a.Unmap()) {
				t.Fatalf("%q matches %v and its unmapped form differently", s, a)
			}
		}
	})
}
