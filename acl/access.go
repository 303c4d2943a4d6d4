package acl

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Pattern matches client addresses. It is one of: an exact address
// ("127.0.0.1", "::1"), a CIDR prefix ("10.0.0.0/8", "2001:db8::/32"), or
// an IPv4 pattern with a "*" wildcard or a "lo-hi" range per octet
// ("192.168.*.*", "192-193.*.*.*"). A lone "*" matches every address.
type Pattern struct {
	text   string
	any    bool
	prefix netip.Prefix // exact addresses are /32 or /128
	octets [4][2]uint8  // per-octet ranges, when wild
	wild   bool
}

// Prefixes returns the network prefixes the pattern covers, at most max of
// them: "*" is 0.0.0.0/0 and ::/0, a range of octets the fewest prefixes
// that cover it.
func (p Pattern) Prefixes(max int) ([]netip.Prefix, error) {
	switch {
	case p.any:
		return []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}, nil
	case !p.wild:
		return []netip.Prefix{p.prefix}, nil
	}
	var out []netip.Prefix
	var walk func(i int, prefix [4]byte) error
	walk = func(i int, prefix [4]byte) error {
		// From the first octet that is not exact, the rest must be
		// whole for a range to be a run of prefixes; otherwise each
		// value of the octet is taken in turn.
		rest := true
		for _, o := range p.octets[i+1:] {
			rest = rest && o == [2]uint8{0, 255}
		}
		lo, hi := int(p.octets[i][0]), int(p.octets[i][1])
		if i == 3 || rest {
			for _, r := range rangePrefixes(prefix, i, lo, hi) {
				out = append(out, r)
				if len(out) > max {
					return fmt.Errorf("acl: %q covers too many networks; use CIDR prefixes", p.text)
				}
			}
			return nil
		}
		for n := lo; n <= hi; n++ {
			prefix[i] = byte(n)
			if err := walk(i+1, prefix); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(0, [4]byte{}); err != nil {
		return nil, err
	}
	return out, nil
}

// rangePrefixes covers octet i from lo to hi (with prefix's octets before
// i, any value after) with the fewest prefixes.
func rangePrefixes(prefix [4]byte, i, lo, hi int) []netip.Prefix {
	var out []netip.Prefix
	for lo <= hi {
		size := 1
		for lo%(size*2) == 0 && lo+size*2-1 <= hi && size < 256 {
			size *= 2
		}
		p := prefix
		p[i] = byte(lo)
		for j := i + 1; j < 4; j++ {
			p[j] = 0
		}
		bits := i*8 + 8
		for s := size; s > 1; s /= 2 {
			bits--
		}
		out = append(out, netip.PrefixFrom(netip.AddrFrom4(p), bits))
		lo += size
	}
	return out
}

// ParsePattern parses one pattern.
func ParsePattern(s string) (Pattern, error) {
	s = strings.TrimSpace(s)
	p := Pattern{text: s}
	switch {
	case s == "":
		return p, errors.New("acl: empty IP pattern")
	case s == "*":
		p.any = true
		return p, nil
	case strings.Contains(s, "/"):
		pr, err := netip.ParsePrefix(s)
		if err != nil {
			return p, fmt.Errorf("acl: IP pattern %q: not a CIDR prefix", s)
		}
		// Addresses are matched unmapped, so an IPv4-mapped prefix
		// ("::ffff:10.0.0.0/104") becomes the IPv4 prefix it stands for.
		if pr.Addr().Is4In6() && pr.Bits() >= 96 {
			pr = netip.PrefixFrom(pr.Addr().Unmap(), pr.Bits()-96)
		}
		p.prefix = pr.Masked()
		return p, nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		a = a.Unmap()
		p.prefix = netip.PrefixFrom(a, a.BitLen())
		return p, nil
	}
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return p, fmt.Errorf("acl: IP pattern %q: want an address, a CIDR prefix or four octets with * or lo-hi", s)
	}
	p.wild = true
	for i, part := range parts {
		lo, hi, err := parseOctetRange(part)
		if err != nil {
			return p, fmt.Errorf("acl: IP pattern %q: octet %d: %v", s, i+1, err)
		}
		p.octets[i] = [2]uint8{lo, hi}
	}
	return p, nil
}

func parseOctetRange(s string) (lo, hi uint8, err error) {
	if s == "*" {
		return 0, 255, nil
	}
	a, b, isRange := strings.Cut(s, "-")
	l, err := parseOctet(a)
	if err != nil {
		return 0, 0, err
	}
	if !isRange {
		return l, l, nil
	}
	h, err := parseOctet(b)
	if err != nil {
		return 0, 0, err
	}
	if h < l {
		return 0, 0, fmt.Errorf("range %s is backwards", s)
	}
	return l, h, nil
}

func parseOctet(s string) (uint8, error) {
	if s == "" || len(s) > 3 {
		return 0, fmt.Errorf("%q is not a number from 0 to 255", s)
	}
	n, err := strconv.ParseUint(s, 10, 8)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number from 0 to 255", s)
	}
	return uint8(n), nil
}

// Match reports whether addr matches the pattern. IPv4-mapped IPv6
// addresses match as IPv4, and an IPv6 zone ("fe80::1%eth0") is ignored.
func (p Pattern) Match(addr netip.Addr) bool {
	addr = addr.Unmap().WithZone("")
	switch {
	case p.any:
		return true
	case p.wild:
		if !addr.Is4() {
			return false
		}
		b := addr.As4()
		for i, r := range p.octets {
			if b[i] < r[0] || b[i] > r[1] {
				return false
			}
		}
		return true
	}
	return p.prefix.Contains(addr)
}

func (p Pattern) String() string { return p.text }

// AccessRule grants or denies the addresses matching any of its patterns.
type AccessRule struct {
	Grant    bool
	Patterns []Pattern
}

// ParseAccessRule parses a ";"-separated list of patterns
// ("192.168.*.*;127.0.0.1;192-193.*.*.*").
func ParseAccessRule(grant bool, patterns string) (AccessRule, error) {
	r := AccessRule{Grant: grant}
	var errs []error
	for _, s := range strings.Split(patterns, ";") {
		if strings.TrimSpace(s) == "" {
			continue
		}
		p, err := ParsePattern(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r.Patterns = append(r.Patterns, p)
	}
	if len(r.Patterns) == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("acl: access rule %q has no pattern", patterns))
	}
	return r, errors.Join(errs...)
}

// Match reports whether addr matches one of the rule's patterns.
func (r AccessRule) Match(addr netip.Addr) bool {
	for _, p := range r.Patterns {
		if p.Match(addr) {
			return true
		}
	}
	return false
}

// AccessList is an ordered list of rules: the first rule that matches a
// client decides. A client no rule matches is allowed, so a list that
// should admit only some networks ends with a rule denying "*". The zero
// value allows everyone. It is immutable and safe for concurrent use.
type AccessList struct {
	Rules []AccessRule
}

// Allow reports whether addr may connect.
func (l *AccessList) Allow(addr netip.Addr) bool {
	if l == nil {
		return true
	}
	for _, r := range l.Rules {
		if r.Match(addr) {
			return r.Grant
		}
	}
	return true
}
