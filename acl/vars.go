package acl

import (
	"fmt"
	"strings"
)

// Vars are the values of the path variables of one login.
type Vars struct {
	Username  string // $$username$$
	Groupname string // $$groupname$$
	Homedir   string // $$homedir$$, the system account's folder
	Email     string // $$email$$
	Domain    string // $$domain$$
}

// Expand substitutes the path variables in s. A substituted value may not
// introduce a path separator, a ".." or a "." element, or a NUL: a user
// named "../x" can never reach outside the tree. $$homedir$$ is the
// exception for separators, since it is a directory configured by the
// embedding application; it must still be free of ".." elements. An
// unknown $$name$$ is an error.
func (v Vars) Expand(s string) (string, error) {
	if !strings.Contains(s, "$$") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "$$")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		rest := s[i+2:]
		j := strings.Index(rest, "$$")
		if j < 0 {
			return "", fmt.Errorf("acl: unterminated path variable in %q", s)
		}
		name := strings.ToLower(rest[:j])
		var val string
		switch name {
		case "username":
			val = v.Username
		case "groupname":
			val = v.Groupname
		case "email":
			val = v.Email
		case "domain":
			val = v.Domain
		case "homedir":
			if err := checkDirValue(v.Homedir); err != nil {
				return "", err
			}
			b.WriteString(v.Homedir)
			s = rest[j+2:]
			continue
		default:
			return "", fmt.Errorf("acl: unknown path variable $$%s$$", rest[:j])
		}
		if err := checkValue(name, val); err != nil {
			return "", err
		}
		b.WriteString(val)
		s = rest[j+2:]
	}
}

func checkValue(name, val string) error {
	if val == "" || val == "." || val == ".." || strings.ContainsAny(val, "/\\\x00") {
		return fmt.Errorf("acl: $$%s$$ = %q cannot be used in a path", name, val)
	}
	return nil
}

func checkDirValue(val string) error {
	if val == "" || strings.Contains(val, "\x00") {
		return fmt.Errorf("acl: $$homedir$$ is empty or invalid")
	}
	for _, el := range strings.FieldsFunc(val, func(r rune) bool { return r == '/' || r == '\\' }) {
		if el == ".." {
			return fmt.Errorf("acl: $$homedir$$ = %q has a \"..\" element", val)
		}
	}
	return nil
}

func (v Vars) expandPerms(in []Permission) ([]Permission, error) {
	out := make([]Permission, len(in))
	for i, p := range in {
		var err error
		if p.Path, err = v.Expand(p.Path); err != nil {
			return nil, err
		}
		if p.FullPath, err = v.Expand(p.FullPath); err != nil {
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}
