package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/ferryftp/ferry/acl"
	"github.com/ferryftp/ferry/ftp"
	ferrysync "github.com/ferryftp/ferry/sync"
)

const checkUsage = `usage: ferryd check -config FILE
  check FILE as ferryd -config would, and print what it would serve;
  exit status 1 with every error found, as FILE:LINE: KEY: MESSAGE
`

// runCheck is "ferryd check": it returns the exit code.
func runCheck(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("ferryd check", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	file := fl.String("config", "", "configuration `file`")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, checkUsage)
			return 0
		}
		fmt.Fprintln(stderr, "ferryd check:", err)
		fmt.Fprint(stderr, checkUsage)
		return 2
	}
	if *file == "" && fl.NArg() == 1 {
		*file = fl.Arg(0)
	} else if *file == "" || fl.NArg() > 0 {
		fmt.Fprint(stderr, checkUsage)
		return 2
	}
	cfg, err := loadConfig(*file)
	if err != nil {
		printError(stderr, err)
		return 1
	}
	printSummary(stdout, cfg)
	return 0
}

// printSummary prints what cfg serves.
func printSummary(w io.Writer, cfg *config) {
	fmt.Fprintf(w, "%s: ok, %d site(s), %d sync item(s)\n", cfg.file, len(cfg.sites), len(cfg.sync.items))
	line := func(label, format string, args ...any) {
		fmt.Fprintf(w, "  %-9s %s\n", label, fmt.Sprintf(format, args...))
	}
	for _, s := range cfg.sites {
		fmt.Fprintf(w, "site %s", s.name)
		if s.description != "" {
			fmt.Fprintf(w, ": %s", s.description)
		}
		fmt.Fprintln(w)
		var listen []string
		for _, key := range []string{s.listen, s.implicitListen} {
			if ep := cfg.byKey[key]; ep != nil {
				how := "default site"
				if ep.def != s {
					how = "by HOST"
				}
				listen = append(listen, fmt.Sprintf("%s (%s)", ep.url(), how))
			}
		}
		line("listen", "%s", strings.Join(listen, ", "))
		if len(s.hosts) > 0 {
			line("hosts", "%s", strings.Join(s.hosts, ", "))
		}
		line("home", "%s", s.home)
		if s.welcome != "" {
			line("welcome", "%q", s.welcome)
		}
		line("tls", "%s", tlsSummary(s))
		if p := s.server; p.passive != (ftp.PortRange{}) || p.passiveAddr.IsValid() || p.localNets != "" {
			var parts []string
			if p.passive != (ftp.PortRange{}) {
				parts = append(parts, fmt.Sprintf("ports %d-%d", p.passive.First, p.passive.Last))
			}
			if p.passiveAddr.IsValid() {
				parts = append(parts, "address "+p.passiveAddr.String())
			}
			if p.localNets != "" {
				parts = append(parts, "local networks "+p.localNets)
			}
			line("passive", "%s", strings.Join(parts, ", "))
		}
		line("limits", "max users %s, max per IP %s, quota period %s", limitText(s.maxUsers), limitText(s.maxPerIP), s.quotaPeriod)
		if s.otpState != "" {
			req := "when the user has a sequence"
			if s.requireOTP {
				req = "required"
			}
			line("otp", "%s (%s)", s.otpState, req)
		}
		if s.accounts != nil {
			line("accounts", "%s (%d accounts)", s.accounts.path, len(s.accounts.set))
		}
		if s.log != nil {
			keep := "kept"
			if s.log.retention > 0 {
				keep = fmt.Sprintf("kept %d days", s.log.retention)
			}
			line("log", "W3C %s, %s", s.log.pattern, keep)
		}
		var users []string
		for _, u := range s.aclConfig.Users {
			desc := []string{u.Type.String()}
			if u.Group != "" {
				desc = append(desc, "group "+u.Group)
			}
			if s.admins[strings.ToLower(u.Name)] {
				desc = append(desc, "admin")
			}
			if v, ok := s.otpUsers[strings.ToLower(u.Name)]; ok && v {
				desc = append(desc, "otp")
			}
			users = append(users, fmt.Sprintf("%s (%s)", u.Name, strings.Join(desc, ", ")))
		}
		line("users", "%s", listOrNone(users))
		var groups []string
		for _, g := range s.aclConfig.Groups {
			var desc []string
			if g.System {
				r := "every account"
				if g.RestrictTo != "" {
					r = g.RestrictTo
				}
				desc = append(desc, "system: "+r)
			}
			var members []string
			for _, u := range s.aclConfig.Users {
				if strings.EqualFold(u.Group, g.Name) {
					members = append(members, u.Name)
				}
			}
			if len(members) > 0 {
				desc = append(desc, "members "+strings.Join(members, " "))
			}
			if len(desc) == 0 {
				desc = append(desc, "no members")
			}
			groups = append(groups, fmt.Sprintf("%s (%s)", g.Name, strings.Join(desc, "; ")))
		}
		line("groups", "%s", listOrNone(groups))
		if s.access != nil {
			var rules []string
			for _, r := range s.access.Rules {
				var pats []string
				for _, p := range r.Patterns {
					pats = append(pats, p.String())
				}
				rules = append(rules, fmt.Sprintf("%s %s", grantText(r), strings.Join(pats, ";")))
			}
			line("access", "%s", strings.Join(rules, ", then "))
		}
		if len(s.aclConfig.Aliases) > 0 {
			var aliases []string
			for _, a := range s.aclConfig.Aliases {
				aliases = append(aliases, a.Path+" -> "+a.Target)
			}
			line("aliases", "%s", strings.Join(aliases, ", "))
		}
	}
	for _, it := range cfg.sync.items {
		i := it.item
		fmt.Fprintf(w, "sync %s: %s, %s -> %s, %s", i.Name, modeName(i.Mode), locationText(i.Source), locationText(i.Dest), scheduleText(it.sched))
		if !it.enabled {
			fmt.Fprint(w, " (disabled)")
		}
		fmt.Fprintln(w)
	}
	for _, g := range cfg.sync.groups {
		fmt.Fprintf(w, "sync group %s: %s\n", g.name, listOrNone(g.items))
	}
}

// locationText describes a sync location: a directory, or an FTP URL
// without the password.
func locationText(l ferrysync.Location) string {
	switch l := l.(type) {
	case ferrysync.LocalLocation:
		return l.Dir
	case ferrysync.FTPLocation:
		scheme := "ftp"
		if l.TLS != nil {
			scheme = "ftpes"
		}
		dir := l.Dir
		if !strings.HasPrefix(dir, "/") {
			dir = "~/" + dir
		}
		return scheme + "://" + l.User + "@" + l.Addr + path.Clean("/"+dir)
	}
	return fmt.Sprint(l)
}

// modeName is the configuration's name of a sync mode.
func modeName(m ferrysync.Mode) string {
	for name, mode := range syncModes {
		if mode == m {
			return name
		}
	}
	return m.String()
}

func scheduleText(s ferrysync.Schedule) string {
	if s.IsZero() {
		return "on demand"
	}
	return s.String()
}

func tlsSummary(s *siteSpec) string {
	var parts []string
	if s.cert != nil {
		parts = append(parts, "certificate "+s.cert.CertFile)
	} else {
		parts = append(parts, "generated self-signed certificate")
	}
	switch {
	case s.server.requireDataTLS:
		parts = append(parts, "required for logins and transfers")
	case s.server.requireTLS:
		parts = append(parts, "required for logins")
	default:
		parts = append(parts, "optional")
	}
	if s.server.exemptAnonymous && s.server.requireTLS {
		parts = append(parts, "not for anonymous users")
	}
	if s.server.clientCA != "" {
		parts = append(parts, "client certificates from "+s.server.clientCA)
	}
	return strings.Join(parts, ", ")
}

func grantText(r acl.AccessRule) string {
	if r.Grant {
		return "grant"
	}
	return "deny"
}

func limitText(n int) string {
	if n == 0 {
		return "unlimited"
	}
	return fmt.Sprint(n)
}

func listOrNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}

const passwdUsage = `usage: ferryd passwd
  read a password (from the terminal without echo, asked twice; or the
  first line of standard input) and print its hash for a local user's or
  an account's password key
`

// runPasswd is "ferryd passwd".
func runPasswd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		if args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
			fmt.Fprint(stdout, passwdUsage)
			return 0
		}
		fmt.Fprint(stderr, passwdUsage)
		return 2
	}
	pass, err := readPassword(stdin, stderr)
	if err == nil && pass == "" {
		err = errors.New("empty password")
	}
	if err != nil {
		fmt.Fprintln(stderr, "ferryd passwd:", err)
		return 1
	}
	h, err := acl.HashPassword(pass)
	if err != nil {
		fmt.Fprintln(stderr, "ferryd passwd:", err)
		return 1
	}
	fmt.Fprintln(stdout, h)
	return 0
}

// readPassword reads the password to hash; see readSecret.
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	pass, err := readSecret(stdin, stderr, "Password", true)
	if err != nil && pass == "" {
		return "", errors.New("no password on standard input")
	}
	return pass, err
}
