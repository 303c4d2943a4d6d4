package main

import (
	"errors"
	"math"
	"path/filepath"
	"strings"

	"github.com/ferryftp/ferry/acl"
	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/quota"
)

// policy checks the users, groups and aliases of a site and builds its
// acl.Site.
func (v *validator) policy(s *siteSpec) {
	sc, e := s.raw, v.errs
	start := len(e.errs)
	s.admins = map[string]bool{}
	s.otpUsers = map[string]bool{}
	s.limits = map[string]quota.Limits{}
	s.groupOf = map[string]string{}
	hasAccounts := sc.Accounts != ""

	users := map[string]*userConfig{}
	for _, uc := range sc.Users {
		if uc.Name != "" && users[strings.ToLower(uc.Name)] == nil {
			users[strings.ToLower(uc.Name)] = uc
		}
	}

	// Groups, in order: the first system group that admits an account
	// is its group.
	groups := map[string]*position{}
	groupOpts := map[string]acl.Options{}
	groupPerms := map[string][]*permConfig{}
	memberOf := map[string]*groupConfig{}
	var aclGroups []acl.Group
	for _, gc := range sc.Groups {
		if !uniqueName(e, groups, &gc.position, "group", gc.Name) {
			continue
		}
		key := strings.ToLower(gc.Name)
		if err := checkVars(gc.Home); err != nil {
			gc.errorf(e, "home", "%v", err)
		} else {
			v.inSite(s, &gc.position, "home", gc.Home)
		}
		if gc.System && !hasAccounts {
			gc.errorf(e, "system", "needs the site's accounts file (key accounts)")
		}
		if len(gc.RestrictTo) > 0 && !gc.System {
			gc.errorf(e, "restrict_to", "applies to system groups only (system = true)")
		}
		for _, r := range gc.RestrictTo {
			if strings.ContainsFunc(r, isBlankOrControl) || strings.ContainsAny(r, "/\\") || strings.Count(r, "@") > 1 {
				gc.errorf(e, "restrict_to", "%q is neither a domain nor an e-mail address", r)
			}
		}
		seen := map[string]bool{}
		for _, m := range gc.Members {
			mk := strings.ToLower(m)
			switch {
			case users[mk] == nil:
				gc.errorf(e, "members", "no user %q in this site", m)
			case seen[mk]:
				gc.errorf(e, "members", "%q is listed twice", m)
			case memberOf[mk] != nil:
				gc.errorf(e, "members", "user %q is already a member of group %q; a user belongs to one group", m, memberOf[mk].Name)
			default:
				memberOf[mk] = gc
			}
			seen[mk] = true
		}
		perms, _ := v.permissions(s, gc.Permissions)
		opts := v.options(&gc.Options)
		groupOpts[key] = opts
		groupPerms[key] = gc.Permissions
		aclGroups = append(aclGroups, acl.Group{
			Name: gc.Name, Description: gc.Description, Home: gc.Home,
			System: gc.System, RestrictTo: strings.Join(gc.RestrictTo, ";"),
			Permissions: perms, Options: opts,
		})
	}

	var aclUsers []acl.User
	defined := map[string]*position{}
	for _, uc := range sc.Users {
		if strings.ContainsFunc(uc.Name, isBlankOrControl) {
			uc.errorf(e, "name", "%q has blanks or control characters", uc.Name)
			continue
		}
		if !uniqueName(e, defined, &uc.position, "user", uc.Name) {
			continue
		}
		key := strings.ToLower(uc.Name)
		t, err := acl.ParseUserType(uc.Type)
		if err != nil {
			uc.errorf(e, "type", "%q is not local, system or anonymous", uc.Type)
			continue
		}
		switch t {
		case acl.Local:
			switch {
			case !uc.has("password"):
				uc.errorf(e, "password", "missing: local users log in with a password hash from ferryd passwd")
			case !acl.ValidHash(uc.Password):
				uc.errorf(e, "password", "not a password hash; make one with ferryd passwd (passwords are never stored in clear)")
			}
		case acl.System:
			acct := cmp(uc.Account, uc.Name)
			switch {
			case uc.has("password"):
				uc.errorf(e, "password", "system users log in with their account's password; remove this key")
			case !hasAccounts:
				uc.errorf(e, "type", "system users need the site's accounts file (key accounts)")
			case s.accounts != nil && !s.accounts.has(acct):
				k := "account"
				if uc.Account == "" {
					k = "name"
				}
				uc.errorf(e, k, "no account %q in %s", acct, sc.Accounts)
			}
		case acl.Anonymous:
			if !isAnonymousUser(uc.Name) {
				uc.errorf(e, "name", "%q: the anonymous user is named anonymous or ftp", uc.Name)
			}
			if uc.has("password") {
				uc.errorf(e, "password", "anonymous users log in with any password; remove this key")
			}
			if uc.Admin {
				uc.errorf(e, "admin", "anonymous users never have administrator rights")
			}
			if uc.RequireOTP != nil && *uc.RequireOTP {
				uc.errorf(e, "require_otp", "anonymous users log in without a password")
			}
		}
		if uc.has("account") && t != acl.System {
			uc.errorf(e, "account", "only system users have an account")
		}
		if uc.AllowAnonymousDelete && t != acl.Anonymous {
			uc.errorf(e, "allow_anonymous_delete", "applies to the anonymous user only")
		}
		group := uc.Group
		if group != "" && groups[strings.ToLower(group)] == nil {
			uc.errorf(e, "group", "group %q does not exist", group)
			group = ""
		}
		if g := memberOf[key]; g != nil {
			if group != "" && !strings.EqualFold(group, g.Name) {
				uc.errorf(e, "group", "user %q is also a member of group %q (line %d); a user belongs to one group", uc.Name, g.Name, g.lineOf("members"))
			}
			group = g.Name
		}
		if err := checkVars(uc.Home); err != nil {
			uc.errorf(e, "home", "%v", err)
		} else {
			v.inSite(s, &uc.position, "home", uc.Home)
		}
		if uc.RequireOTP != nil {
			if *uc.RequireOTP && s.otpState == "" {
				uc.errorf(e, "require_otp", "needs the site's otp_state")
			}
			s.otpUsers[key] = *uc.RequireOTP
		}
		perms, pcs := v.permissions(s, uc.Permissions)
		opts := v.options(&uc.Options)
		if t == acl.Anonymous && !uc.AllowAnonymousDelete {
			// Delete rights for everyone on the Internet are more
			// often a slip than a wish: they must be confirmed.
			check := func(pcs []*permConfig, whose string) {
				for _, pc := range pcs {
					r, err := acl.ParseRights(strings.Join(pc.Rights, ","))
					if err == nil && r&(acl.Delete|acl.Rmdir) != 0 {
						pc.errorf(e, "rights", "gives anonymous users %s rights%s; to mean it, set allow_anonymous_delete = true on user %q", r&(acl.Delete|acl.Rmdir), whose, uc.Name)
					}
				}
			}
			check(pcs, "")
			if group != "" {
				check(groupPerms[strings.ToLower(group)], " (through group "+group+")")
			}
		}
		if uc.Admin && t != acl.Anonymous {
			s.admins[key] = true
		}
		if t == acl.Anonymous && isAnonymousUser(key) {
			s.anonymous = true
		}
		s.groupOf[key] = group
		s.limits[uc.Name] = ftp.QuotaLimits(groupOpts[strings.ToLower(group)].Merge(opts))
		aclUsers = append(aclUsers, acl.User{
			Name: uc.Name, DisplayName: uc.DisplayName, Type: t, Password: uc.Password,
			Account: uc.Account, Group: group, Home: uc.Home, Permissions: perms, Options: opts,
		})
	}

	var aliases []acl.Alias
	seenAlias := map[string]*aliasConfig{}
	for _, ac := range sc.Aliases {
		p := strings.Trim(ac.Path, "/")
		switch {
		case !ac.has("path") || ac.Path == "":
			ac.errorf(e, "path", "missing: the virtual path, such as \"/shared\"")
			continue
		case p == "":
			ac.errorf(e, "path", "the root cannot be an alias")
			continue
		case hasDotElement(p):
			ac.errorf(e, "path", "%q: empty, \".\" or \"..\" element", ac.Path)
			continue
		case seenAlias[p] != nil:
			ac.errorf(e, "path", "alias %q is already defined on line %d", ac.Path, seenAlias[p].lineOf("path"))
			continue
		}
		seenAlias[p] = ac
		if err := checkVars(ac.Path); err != nil {
			ac.errorf(e, "path", "%v", err)
		}
		if ac.Target == "" {
			ac.errorf(e, "target", "missing: the real directory")
		} else if err := checkVars(ac.Target); err != nil {
			ac.errorf(e, "target", "%v", err)
		} else {
			v.inSite(s, &ac.position, "target", ac.Target)
		}
		aliases = append(aliases, acl.Alias{Path: ac.Path, Target: ac.Target})
	}

	s.aclConfig = acl.SiteConfig{Home: s.home, Users: aclUsers, Groups: aclGroups, Aliases: aliases}
	if s.accounts != nil {
		s.aclConfig.System = s.accounts
	}
	if len(e.errs) > start || s.home == "" || (hasAccounts && s.accounts == nil) {
		return
	}
	site, err := acl.NewSite(s.aclConfig)
	if err != nil {
		for _, msg := range strings.Split(err.Error(), "\n") {
			sc.errorf(e, "", "%s", strings.TrimPrefix(msg, "acl: "))
		}
		return
	}
	s.site = site
}

// inSite checks a directory taken from the site's home: package acl
// joins a relative one to the home before expanding the home's path
// variables, so with a home that has path variables it must be absolute.
func (v *validator) inSite(s *siteSpec, p *position, key, dir string) {
	if dir != "" && !filepath.IsAbs(dir) && strings.Contains(s.raw.Home, "$$") {
		p.errorf(v.errs, key, "%q is relative to the site's home, which has path variables; give an absolute path", dir)
	}
}

// permissions checks path permission entries; it returns the valid ones
// and their tables.
func (v *validator) permissions(s *siteSpec, list []*permConfig) ([]acl.Permission, []*permConfig) {
	e := v.errs
	var out []acl.Permission
	var pcs []*permConfig
	seen := map[string]*permConfig{}
	for _, pc := range list {
		if !pc.has("path") || pc.Path == "" {
			pc.errorf(e, "path", "missing: a directory such as \"pub/\", \"/\" for the home or \"*\" for every other directory")
			continue
		}
		key := pc.Path
		switch key {
		case "*":
		case "/":
			key = ""
		default:
			key = strings.Trim(key, "/")
			if hasDotElement(key) {
				pc.errorf(e, "path", "%q: empty, \".\" or \"..\" element", pc.Path)
				continue
			}
		}
		if prev := seen[key]; prev != nil {
			pc.errorf(e, "path", "%q is already given on line %d", pc.Path, prev.lineOf("path"))
			continue
		}
		seen[key] = pc
		ok := true
		if err := checkVars(pc.Path); err != nil {
			pc.errorf(e, "path", "%v", err)
			ok = false
		}
		if pc.FullPath != "" {
			switch {
			case key == "*" || key == "":
				pc.errorf(e, "full_path", "%q cannot be an alias; give a directory such as \"shared/\"", pc.Path)
				ok = false
			case checkVars(pc.FullPath) != nil:
				pc.errorf(e, "full_path", "%v", checkVars(pc.FullPath))
				ok = false
			default:
				v.inSite(s, &pc.position, "full_path", pc.FullPath)
			}
		}
		var r acl.Right
		if !pc.has("rights") {
			pc.errorf(e, "rights", "missing: rights such as \"get,access,list\", \"all\" or \"none\"")
			ok = false
		} else {
			var err error
			if r, err = acl.ParseRights(strings.Join(pc.Rights, ",")); err != nil {
				pc.errorf(e, "rights", "%s", strings.TrimPrefix(err.Error(), "acl: "))
				ok = false
			}
		}
		if !ok {
			continue
		}
		out = append(out, acl.Permission{
			Path: pc.Path, FullPath: pc.FullPath, Recursive: pc.Recursive,
			Rights: r, MaxDirSize: int64(pc.MaxDirSize),
		})
		pcs = append(pcs, pc)
	}
	return out, pcs
}

func hasDotElement(p string) bool {
	for _, el := range strings.Split(p, "/") {
		if el == "" || el == "." || el == ".." {
			return true
		}
	}
	return false
}

// options converts [.options]; keys left out stay nil, inherited.
func (v *validator) options(oc *optionsConfig) acl.Options {
	var o acl.Options
	// Conversions of nil stay nil: a key left out is inherited.
	o.DownloadRate = (*int64)(oc.DownloadRate)
	o.UploadRate = (*int64)(oc.UploadRate)
	o.DownloadAmount = (*int64)(oc.DownloadAmount)
	o.UploadAmount = (*int64)(oc.UploadAmount)
	o.RatioCredit = (*int64)(oc.RatioCredit)
	if oc.Ratio != nil {
		if r := *oc.Ratio; r < 0 || math.IsNaN(r) || math.IsInf(r, 0) {
			oc.errorf(v.errs, "ratio", "%v: want 0 (no ratio) or a positive number of bytes to upload per byte downloaded", r)
		} else {
			o.Ratio = oc.Ratio
		}
	}
	return o
}

var errNoSite = errors.New("site no longer configured")
