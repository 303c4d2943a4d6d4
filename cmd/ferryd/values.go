package main

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"

	"github.com/ferryftp/ferry/acl"
)

// The values of the file that need more than a type: host names, path
// variables, log file patterns, address patterns.

// checkHostName checks a HOST name of RFC 7151 section 3 and returns it
// in lower case: a domain name (A-labels for IDNs), or an IP literal,
// IPv6 in brackets.
func checkHostName(s string) (string, error) {
	s = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), "."))
	if s == "" || len(s) > 255 {
		return "", errors.New("not a host name")
	}
	if strings.HasPrefix(s, "[") {
		a, err := netip.ParseAddr(strings.TrimSuffix(s[1:], "]"))
		if err != nil || !a.Is6() || !strings.HasSuffix(s, "]") {
			return "", errors.New("not an IPv6 literal")
		}
		return s, nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Is6() {
			return "", errors.New("an IPv6 literal goes in brackets")
		}
		return s, nil
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", errors.New("not a host name")
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", errors.New("not a host name (letters, digits and '-'; IDNs in their xn-- form)")
			}
		}
	}
	return s, nil
}

// checkVars checks the path variables of s.
func checkVars(s string) error {
	vars := acl.Vars{Username: "u", Groupname: "g", Homedir: "/h", Email: "u@d", Domain: "d"}
	if _, err := vars.Expand(s); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "acl: "))
	}
	return nil
}

// checkLogPattern checks a W3C log file pattern as package w3c reads it:
// time variables (yyyy, yy, mm, dd, hh) in double quotes in the file
// name. It reports whether the names carry their date, which retention
// needs.
func checkLogPattern(p string) (dated bool, err error) {
	dir, base := filepath.Split(p)
	switch {
	case strings.Contains(dir, `"`):
		return false, fmt.Errorf("%s: time variables go in the file name only", p)
	case base == "":
		return false, fmt.Errorf("%s: no file name", p)
	case strings.Count(base, `"`)%2 != 0:
		return false, fmt.Errorf("%s: unterminated quote", p)
	}
	has := map[string]bool{}
	parts := strings.Split(base, `"`)
	for i := 1; i < len(parts); i += 2 {
		q := strings.ToLower(parts[i])
		for len(q) > 0 {
			matched := false
			for _, name := range []string{"yyyy", "yy", "mm", "dd", "hh"} {
				if strings.HasPrefix(q, name) {
					has[name], q, matched = true, q[len(name):], true
					break
				}
			}
			if matched {
				continue
			}
			if c := q[0]; c >= 'a' && c <= 'z' {
				return false, fmt.Errorf("%s: unknown time variable at %q (want yyyy, yy, mm, dd or hh)", p, parts[i])
			}
			q = q[1:]
		}
	}
	year := has["yyyy"] || has["yy"]
	switch {
	case has["hh"]:
		return year && has["mm"] && has["dd"], nil
	case has["dd"]:
		return year && has["mm"], nil
	}
	return year, nil
}

func isWildcard(host string) bool {
	if host == "" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsUnspecified()
}

// patternPrefixes converts an address pattern of the access rules' form
// (a "*" or a "lo-hi" range per octet, a CIDR prefix, an address) to the
// prefixes it covers, for ftp.Server.LocalNetworks.
func patternPrefixes(s string) ([]netip.Prefix, error) {
	p, err := acl.ParsePattern(s)
	if err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "acl: "))
	}
	prefixes, err := p.Prefixes(4096)
	if err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), "acl: "))
	}
	return prefixes, nil
}
