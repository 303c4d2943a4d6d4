package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ferryftp/ferry/acl"
)

// systemAccounts is the daemon's [acl.SystemAccounts]: the accounts of the
// hosting application, kept in a TOML file that the application writes
// (a site's "accounts" key names it):
//
//	[[account]]
//	email    = "john@example.com"          # the login name
//	password = "pbkdf2-sha256$600000$..."  # from ferryd passwd
//	home     = "mail/example.com/john"     # $$homedir$$, from the file's directory
//	domain   = "example.com"               # $$domain$$; default: after the @
//
// The file is read when the configuration is loaded, and again at a login
// when its size or modification time changed, so accounts the application
// adds or removes take effect without a reload. A file that has become
// invalid is logged and the accounts read last stay in use.
type systemAccounts struct {
	path   string // absolute
	logger *slog.Logger

	mu    sync.Mutex
	stamp fileStamp
	set   map[string]*sysAccount // by lower-case e-mail
}

var (
	_ acl.SystemAccounts = (*systemAccounts)(nil)
	_ acl.SystemLookup   = (*systemAccounts)(nil)
)

type sysAccount struct {
	email, hash, home, domain string
}

type fileStamp struct {
	size int64
	mod  time.Time
}

func stampOf(path string) fileStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{size: -1}
	}
	return fileStamp{fi.Size(), fi.ModTime()}
}

// accountsFile is the file's format.
type accountsFile struct {
	position
	Accounts []*accountEntry `toml:"account"`
}

type accountEntry struct {
	position
	Email    string `toml:"email"`
	Password string `toml:"password"`
	Home     string `toml:"home"`
	Domain   string `toml:"domain"`
}

// loadAccounts reads the accounts file at path (absolute). It returns the
// error of reading it; problems of its content are reported to errs under
// the name shown.
func loadAccounts(path, shown string, errs *errList) (*systemAccounts, error) {
	stamp := stampOf(path)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, unwrapPathError(err)
	}
	set := parseAccounts(path, shown, data, errs)
	if set == nil {
		return nil, nil
	}
	return &systemAccounts{path: path, stamp: stamp, set: set}, nil
}

func parseAccounts(path, shown string, data []byte, errs *errList) map[string]*sysAccount {
	root, err := parseTOML(shown, trimBOM(data))
	if err != nil {
		var ce configErrors
		if errors.As(err, &ce) {
			errs.errs = append(errs.errs, ce...)
		}
		return nil
	}
	var f accountsFile
	n := len(errs.errs)
	decodeInto(shown, root, &f, errs)
	dir := filepath.Dir(path)
	set := map[string]*sysAccount{}
	for _, e := range f.Accounts {
		key := strings.ToLower(e.Email)
		switch {
		case !e.has("email") || e.Email == "":
			e.errorf(errs, "email", "missing")
			continue
		case strings.Count(e.Email, "@") != 1 || strings.HasPrefix(e.Email, "@") || strings.HasSuffix(e.Email, "@"):
			e.errorf(errs, "email", "%q is not an e-mail address", e.Email)
			continue
		case strings.ContainsFunc(e.Email, isBlankOrControl):
			e.errorf(errs, "email", "%q has blanks or control characters", e.Email)
			continue
		case set[key] != nil:
			e.errorf(errs, "email", "account %q defined twice", e.Email)
			continue
		}
		if !acl.ValidHash(e.Password) {
			e.errorf(errs, "password", "not a password hash; make one with ferryd passwd")
		}
		a := &sysAccount{email: e.Email, hash: e.Password, domain: e.Domain}
		if a.domain == "" {
			_, a.domain, _ = strings.Cut(e.Email, "@")
		}
		if e.Home != "" {
			a.home = e.Home
			if !filepath.IsAbs(a.home) {
				a.home = filepath.Join(dir, a.home)
			}
		}
		set[key] = a
	}
	if len(errs.errs) > n {
		return nil
	}
	return set
}

// refresh reads the file again if it changed.
func (s *systemAccounts) refresh() {
	st := stampOf(s.path)
	s.mu.Lock()
	defer s.mu.Unlock()
	if st == s.stamp {
		return
	}
	s.stamp = st
	var errs errList
	data, err := os.ReadFile(s.path)
	if err != nil {
		s.log().Error("accounts file unreadable; keeping the accounts read before", "file", s.path, "err", err)
		return
	}
	set := parseAccounts(s.path, s.path, data, &errs)
	if set == nil {
		s.log().Error("accounts file invalid; keeping the accounts read before", "file", s.path, "err", errs.err())
		return
	}
	s.set = set
	s.log().Info("accounts file read again", "file", s.path, "accounts", len(set))
}

func (s *systemAccounts) log() *slog.Logger {
	if s.logger != nil {
		return s.logger
	}
	return slog.Default()
}

func (s *systemAccounts) lookup(name string) *sysAccount {
	s.refresh()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.set[strings.ToLower(name)]
}

// has reports whether the account exists, without reading the file again.
func (s *systemAccounts) has(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.set[strings.ToLower(name)] != nil
}

var errNoAccount = errors.New("no such account or wrong password")

// Authenticate implements acl.SystemAccounts.
func (s *systemAccounts) Authenticate(ctx context.Context, name, password string) (*acl.SystemAccount, error) {
	a := s.lookup(name)
	if a == nil {
		return nil, errNoAccount
	}
	ok, err := acl.CheckPassword(a.hash, password)
	if err != nil || !ok {
		return nil, errNoAccount
	}
	return a.systemAccount(), nil
}

func (a *sysAccount) systemAccount() *acl.SystemAccount {
	return &acl.SystemAccount{Name: a.email, Email: a.email, Domain: a.domain, Home: a.home}
}

// Lookup implements acl.SystemLookup: an account without its password,
// for logins verified by a one-time password.
func (s *systemAccounts) Lookup(ctx context.Context, name string) (*acl.SystemAccount, error) {
	a := s.lookup(name)
	if a == nil {
		return nil, errNoAccount
	}
	return a.systemAccount(), nil
}

func isBlankOrControl(r rune) bool { return r <= ' ' || r == 0x7f }

// unwrapPathError drops the operation and path of an *os.PathError, which
// the caller already names.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("cannot %s: %w", pe.Op, pe.Err)
	}
	return err
}
