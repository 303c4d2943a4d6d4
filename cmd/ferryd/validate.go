package main

import (
	"crypto/x509"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ferryftp/ferry/acl"
	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/quota"
)

// config is a configuration file, checked and converted into what the
// daemon serves. It is immutable once loaded.
type config struct {
	file string // as named on the command line
	dir  string // absolute directory of the file

	daemon    daemonSpec
	sites     []*siteSpec
	endpoints []*endpointSpec // in the order of the sites
	byKey     map[string]*endpointSpec
	sync      *syncSpec
}

// daemonSpec is [daemon].
type daemonSpec struct {
	level                                     slog.Level
	json, trace                               bool
	stateDir                                  string
	shutdownTimeout, idleTimeout, dataTimeout time.Duration
	handshakeTimeout                          time.Duration
	maxLoginFailures                          int
	allowForeignActive, allowPrivilegedActive bool
	throttle                                  *throttleSpec // nil: off
}

type throttleSpec struct {
	delay, maxDelay, banFor time.Duration
	banAfter                int
}

// serverSpec is what the sites of one address share: fields of the
// ftp.Server that serves it. It is comparable.
type serverSpec struct {
	requireTLS, requireDataTLS, exemptAnonymous, noSessionReuse, allowCCC bool
	clientCA                                                              string
	passive                                                               ftp.PortRange
	passiveAddr                                                           netip.Addr
	localNets                                                             string // canonical list
}

// differences names the keys whose values differ between a and b.
func (a serverSpec) differences(b serverSpec) []string {
	var keys []string
	add := func(differ bool, key string) {
		if differ {
			keys = append(keys, key)
		}
	}
	add(a.requireTLS != b.requireTLS, "tls.require")
	add(a.requireDataTLS != b.requireDataTLS, "tls.require_data")
	add(a.exemptAnonymous != b.exemptAnonymous, "tls.exempt_anonymous")
	add(a.noSessionReuse != b.noSessionReuse, "tls.no_session_reuse")
	add(a.allowCCC != b.allowCCC, "tls.allow_ccc")
	add(a.clientCA != b.clientCA, "tls.client_ca")
	add(a.passive != b.passive, "passive.ports")
	add(a.passiveAddr != b.passiveAddr, "passive.address")
	add(a.localNets != b.localNets, "passive.local_networks")
	return keys
}

// endpointSpec is one listening address and the sites it serves.
type endpointSpec struct {
	key      string // the address to listen on: "127.0.0.1:21", ":21"
	implicit bool   // implicit FTPS
	sites    []*siteSpec
	def      *siteSpec            // the site of clients without HOST; nil: none
	byHost   map[string]*siteSpec // by lower-case HOST name
	server   serverSpec
	localNet []netip.Prefix
	caPool   *x509.CertPool
}

func (e *endpointSpec) url() string {
	if e.implicit {
		return "ftps://" + showAddr(e.key)
	}
	return "ftp://" + showAddr(e.key)
}

// showAddr writes the wildcard address of a listen address as "*":
// "*:21" rather than ":21".
func showAddr(key string) string {
	if strings.HasPrefix(key, ":") {
		return "*" + key
	}
	return key
}

// siteSpec is one [[site]].
type siteSpec struct {
	raw                    *siteConfig
	name, description      string
	home                   string // absolute; may hold path variables
	listen, implicitListen string // endpoint keys; implicitListen "" for none
	hosts                  []string
	welcome                string
	maxUsers, maxPerIP     int
	requireOTP             bool
	otpState               string          // absolute, "" for none
	accounts               *systemAccounts // nil for none
	quotaPeriod            quota.Period
	quotaState             string // absolute, "" for memory only
	server                 serverSpec
	localNet               []netip.Prefix
	caPool                 *x509.CertPool
	cert                   *ftp.CertLoader // nil: the generated certificate
	log                    *logSpec        // nil: no access log

	aclConfig acl.SiteConfig
	site      *acl.Site
	access    *acl.AccessList         // nil: everyone
	admins    map[string]bool         // lower-case user names
	otpUsers  map[string]bool         // lower-case user name: require_otp as set
	limits    map[string]quota.Limits // configured users' merged options
	anonymous bool                    // a user "anonymous" or "ftp" of type anonymous
	groupOf   map[string]string       // lower-case user name: group
}

// logSpec is [site.log] when w3c is on. It is comparable.
type logSpec struct {
	pattern, dir string
	retention    int
}

// loadConfig reads and checks the file at path. Its error is a
// configErrors with every problem found.
func loadConfig(path string) (*config, error) {
	shown := path
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, configErrors{{File: shown, Msg: err.Error()}}
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		return nil, configErrors{{File: shown, Msg: unwrapPathError(err).Error()}}
	}
	return parseConfig(shown, filepath.Dir(abs), data)
}

// parseConfig checks data, the content of the file shown whose paths are
// relative to dir.
func parseConfig(shown, dir string, data []byte) (*config, error) {
	root, err := parseTOML(shown, trimBOM(data))
	if err != nil {
		return nil, err
	}
	var errs errList
	var fc fileConfig
	decodeInto(shown, root, &fc, &errs)
	v := &validator{errs: &errs, file: shown, cfg: &config{file: shown, dir: dir, byKey: map[string]*endpointSpec{}}}
	v.daemon(&fc.Daemon)
	if len(fc.Sites) == 0 && !fc.has("site") {
		errs.add(shown, 0, "site", "no [[site]] configured")
	}
	names := map[string]*position{}
	for _, sc := range fc.Sites {
		s := v.site(sc)
		if s == nil || !uniqueName(&errs, names, &sc.position, "site", s.name) {
			continue
		}
		v.cfg.sites = append(v.cfg.sites, s)
	}
	v.endpoints()
	v.cfg.sync = v.syncItems(&fc.Sync)
	if err := errs.err(); err != nil {
		return nil, err
	}
	return v.cfg, nil
}

type validator struct {
	errs *errList
	file string
	cfg  *config
}

// path makes a path of the file absolute, from the file's directory.
func (v *validator) path(p string) string {
	switch {
	case p == "":
		return ""
	case filepath.IsAbs(p):
		return filepath.Clean(p)
	}
	return filepath.Join(v.cfg.dir, p)
}

func (v *validator) daemon(dc *daemonConfig) {
	d := &v.cfg.daemon
	switch strings.ToLower(dc.LogLevel) {
	case "", "info":
		d.level = slog.LevelInfo
	case "debug":
		d.level = slog.LevelDebug
	case "warn", "warning":
		d.level = slog.LevelWarn
	case "error":
		d.level = slog.LevelError
	default:
		dc.errorf(v.errs, "log_level", "%q is not debug, info, warn or error", dc.LogLevel)
	}
	switch strings.ToLower(dc.LogFormat) {
	case "", "text":
	case "json":
		d.json = true
	default:
		dc.errorf(v.errs, "log_format", "%q is not text or json", dc.LogFormat)
	}
	d.trace = dc.Trace
	d.stateDir = v.path(cmp(dc.StateDir, "state"))
	d.shutdownTimeout = dc.ShutdownTimeout.orDefault(30 * time.Second)
	d.idleTimeout = dc.IdleTimeout.orDefault(0)
	d.dataTimeout = dc.DataTimeout.orDefault(0)
	d.handshakeTimeout = dc.TLSHandshakeTimeout.orDefault(0)
	if dc.MaxLoginFailures < 0 {
		dc.errorf(v.errs, "max_login_failures", "%d is negative", dc.MaxLoginFailures)
	}
	d.maxLoginFailures = dc.MaxLoginFailures
	d.allowForeignActive = dc.AllowForeignActive
	d.allowPrivilegedActive = dc.AllowPrivilegedActive
	t := &dc.LoginThrottle
	if t.BanAfter < 0 {
		t.errorf(v.errs, "ban_after", "%d is negative", t.BanAfter)
	}
	if t.Enabled == nil || *t.Enabled {
		d.throttle = &throttleSpec{
			delay:    t.Delay.orDefault(0),
			maxDelay: t.MaxDelay.orDefault(0),
			banAfter: t.BanAfter,
			banFor:   t.BanFor.orDefault(0),
		}
	}
}

// cmp returns s, or def when s is empty.
func cmp(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func validSiteName(s string) bool {
	if s == "" || s == "." || s == ".." {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// site checks one [[site]]; nil when it cannot be used at all.
func (v *validator) site(sc *siteConfig) *siteSpec {
	e := v.errs
	s := &siteSpec{raw: sc, name: sc.Name, description: sc.Description, welcome: sc.Welcome,
		maxUsers: sc.MaxUsers, maxPerIP: sc.MaxPerIP, requireOTP: sc.RequireOTP}
	switch {
	case !sc.has("name"):
		sc.errorf(e, "name", "missing")
		return nil
	case !validSiteName(sc.Name):
		sc.errorf(e, "name", "%q: use letters, digits, '.', '-' and '_' only", sc.Name)
		return nil
	}
	if !sc.has("home") {
		sc.errorf(e, "home", "missing")
	} else if sc.Home == "" {
		sc.errorf(e, "home", "empty")
	} else {
		s.home = v.path(sc.Home)
		if err := checkVars(sc.Home); err != nil {
			sc.errorf(e, "home", "%v", err)
		} else if !strings.Contains(sc.Home, "$$") {
			if fi, err := os.Stat(s.home); err == nil && !fi.IsDir() {
				sc.errorf(e, "home", "%s is not a directory", sc.Home)
			}
		}
	}

	// Address and ports.
	host := ""
	switch a := strings.TrimSpace(sc.Address); a {
	case "", "*":
	default:
		ip, err := netip.ParseAddr(strings.Trim(a, "[]"))
		if err != nil {
			sc.errorf(e, "address", "%q is not an IP address (or \"*\" for all)", sc.Address)
		} else {
			host = ip.String()
		}
	}
	port := 21
	if sc.Port != nil {
		port = *sc.Port
		if port < 0 || port > 65535 {
			sc.errorf(e, "port", "%d is not a port number (0 to 65535)", port)
		}
	}
	s.listen = net.JoinHostPort(host, strconv.Itoa(port))
	if ip := sc.TLS.ImplicitPort; ip != 0 {
		switch {
		case ip < 0 || ip > 65535:
			sc.TLS.errorf(e, "implicit_port", "%d is not a port number (1 to 65535)", ip)
		case ip == port:
			sc.TLS.errorf(e, "implicit_port", "%d is also the site's port", ip)
		default:
			s.implicitListen = net.JoinHostPort(host, strconv.Itoa(ip))
		}
	}

	seen := map[string]bool{}
	for _, h := range sc.Hosts {
		name, err := checkHostName(h)
		switch {
		case err != nil:
			sc.errorf(e, "hosts", "%q: %v", h, err)
		case seen[name]:
			sc.errorf(e, "hosts", "%q is listed twice", h)
		default:
			seen[name] = true
			s.hosts = append(s.hosts, name)
		}
	}
	if strings.ContainsFunc(strings.ReplaceAll(sc.Welcome, "\n", ""), func(r rune) bool { return r < ' ' || r == 0x7f }) {
		sc.errorf(e, "welcome", "control characters other than line breaks")
	}
	if sc.MaxUsers < 0 {
		sc.errorf(e, "max_users", "%d is negative", sc.MaxUsers)
	}
	if sc.MaxPerIP < 0 {
		sc.errorf(e, "max_per_ip", "%d is negative", sc.MaxPerIP)
	}

	// State files.
	if sc.OTPState != "" {
		s.otpState = v.path(sc.OTPState)
		if _, err := (&otpFile{path: s.otpState}).records(); err != nil {
			sc.errorf(e, "otp_state", "%v (create it with ferryd skey init)", unwrapPathError(err))
		}
	} else if sc.RequireOTP {
		sc.errorf(e, "require_otp", "needs otp_state, the file of the users' one-time passwords")
	}
	if sc.Accounts != "" {
		var err error
		if s.accounts, err = loadAccounts(v.path(sc.Accounts), sc.Accounts, e); err != nil {
			sc.errorf(e, "accounts", "%v", err)
		}
	}
	p, err := quota.ParsePeriod(sc.QuotaPeriod)
	if err != nil {
		sc.errorf(e, "quota_period", "%q is not none, daily, weekly or monthly", sc.QuotaPeriod)
	}
	s.quotaPeriod = p
	switch {
	case sc.QuotaState == nil:
		s.quotaState = filepath.Join(v.cfg.daemon.stateDir, s.name+".quota.json")
	case *sc.QuotaState != "":
		s.quotaState = v.path(*sc.QuotaState)
	}

	v.passive(s)
	v.tls(s)
	v.logging(s)
	v.accessRules(s)
	v.policy(s)
	return s
}

func (v *validator) passive(s *siteSpec) {
	pc, e := &s.raw.Passive, v.errs
	if pc.Ports != "" {
		lo, hi, ok := strings.Cut(pc.Ports, "-")
		a, err1 := strconv.Atoi(strings.TrimSpace(lo))
		b, err2 := strconv.Atoi(strings.TrimSpace(hi))
		switch {
		case !ok || err1 != nil || err2 != nil:
			pc.errorf(e, "ports", "%q is not a range such as \"50000-50100\"", pc.Ports)
		case a < 1 || b > 65535 || a > b:
			pc.errorf(e, "ports", "%q: want 1 <= first <= last <= 65535", pc.Ports)
		default:
			s.server.passive = ftp.PortRange{First: uint16(a), Last: uint16(b)}
		}
	}
	if pc.Address != "" {
		a, err := netip.ParseAddr(pc.Address)
		switch {
		case err != nil:
			pc.errorf(e, "address", "%q is not an IP address", pc.Address)
		case !a.Unmap().Is4():
			pc.errorf(e, "address", "%q is not an IPv4 address (PASV announces IPv4 only; EPSV announces no address)", pc.Address)
		default:
			s.server.passiveAddr = a.Unmap()
		}
	}
	for _, p := range pc.LocalNetworks {
		prefixes, err := patternPrefixes(p)
		if err != nil {
			pc.errorf(e, "local_networks", "%v", err)
			continue
		}
		s.localNet = append(s.localNet, prefixes...)
	}
	var canon []string
	for _, p := range s.localNet {
		canon = append(canon, p.String())
	}
	s.server.localNets = strings.Join(canon, ";")
}

func (v *validator) tls(s *siteSpec) {
	tc, e := &s.raw.TLS, v.errs
	s.server.requireTLS = tc.Require
	s.server.requireDataTLS = tc.RequireData
	s.server.exemptAnonymous = tc.ExemptAnonymous
	s.server.noSessionReuse = tc.NoSessionReuse
	s.server.allowCCC = tc.AllowCCC
	switch {
	case tc.Cert != "" && tc.Key != "":
		l, err := ftp.NewCertLoader(v.path(tc.Cert), v.path(tc.Key))
		if err != nil {
			tc.errorf(e, "cert", "%v", unwrapPathError(err))
		}
		s.cert = l
	case tc.Cert != "":
		tc.errorf(e, "cert", "needs key, the certificate's private key")
	case tc.Key != "":
		tc.errorf(e, "key", "needs cert, the certificate chain")
	}
	if tc.ClientCA != "" {
		s.server.clientCA = v.path(tc.ClientCA)
		pemData, err := os.ReadFile(s.server.clientCA)
		if err != nil {
			tc.errorf(e, "client_ca", "%v", unwrapPathError(err))
		} else {
			s.caPool = x509.NewCertPool()
			if !s.caPool.AppendCertsFromPEM(pemData) {
				tc.errorf(e, "client_ca", "no PEM certificate in %s", tc.ClientCA)
			}
		}
		// A client certificate means nothing if the login can skip TLS.
		s.server.requireTLS = true
	}
}

func (v *validator) logging(s *siteSpec) {
	lc, e := &s.raw.Log, v.errs
	if lc.RetentionDays < 0 {
		lc.errorf(e, "retention_days", "%d is negative", lc.RetentionDays)
	}
	if !lc.W3C {
		for _, k := range []string{"path", "retention_days"} {
			if lc.has(k) && !lc.has("w3c") {
				lc.errorf(e, k, "has no effect without w3c = true")
			}
		}
		return
	}
	pattern := lc.Path
	if pattern == "" {
		pattern = filepath.Join("logs", s.name, `"yyyymmdd".log`)
	}
	dated, err := checkLogPattern(pattern)
	if err != nil {
		lc.errorf(e, "path", "%v", err)
		return
	}
	if lc.RetentionDays > 0 && !dated {
		lc.errorf(e, "retention_days", "needs a path whose file names carry their date, such as \"yyyymmdd\"")
		return
	}
	s.log = &logSpec{pattern: pattern, dir: v.cfg.dir, retention: lc.RetentionDays}
}

func (v *validator) accessRules(s *siteSpec) {
	if len(s.raw.Access) == 0 {
		return
	}
	list := &acl.AccessList{}
	for _, ac := range s.raw.Access {
		var grant bool
		switch strings.ToLower(ac.Action) {
		case "grant", "allow":
			grant = true
		case "deny":
		default:
			if !ac.has("action") {
				ac.errorf(v.errs, "action", "missing (grant or deny)")
			} else {
				ac.errorf(v.errs, "action", "%q is not grant or deny", ac.Action)
			}
			continue
		}
		if len(ac.IP) == 0 {
			ac.errorf(v.errs, "ip", "missing: address patterns such as \"192.168.*.*;10.0.0.0/8\"")
			continue
		}
		var rule acl.AccessRule
		bad := false
		for _, p := range ac.IP {
			r, err := acl.ParseAccessRule(grant, p)
			if err != nil {
				ac.errorf(v.errs, "ip", "%s", strings.TrimPrefix(err.Error(), "acl: "))
				bad = true
				continue
			}
			rule.Grant = grant
			rule.Patterns = append(rule.Patterns, r.Patterns...)
		}
		if !bad {
			list.Rules = append(list.Rules, rule)
		}
	}
	s.access = list
}

// endpoints groups the sites by the addresses they listen on, and checks
// that the sites of one address can share it.
func (v *validator) endpoints() {
	e := v.errs
	reported := map[string]bool{}
	for _, s := range v.cfg.sites {
		for _, key := range []string{s.listen, s.implicitListen} {
			if key == "" {
				continue
			}
			implicit := key == s.implicitListen
			ep := v.cfg.byKey[key]
			if ep == nil {
				ep = &endpointSpec{key: key, implicit: implicit, byHost: map[string]*siteSpec{},
					server: s.server, localNet: s.localNet, caPool: s.caPool}
				v.cfg.byKey[key] = ep
				v.cfg.endpoints = append(v.cfg.endpoints, ep)
			}
			pos, k := &s.raw.position, "port"
			if implicit {
				pos, k = &s.raw.TLS.position, "implicit_port"
			}
			if ep.implicit != implicit {
				pos.errorf(e, k, "%s serves plain FTP for one site and implicit FTPS for another", showAddr(key))
				continue
			}
			if len(ep.sites) > 0 {
				for _, key := range s.server.differences(ep.server) {
					if reported[s.name+" "+key] {
						continue // on the address and on the implicit FTPS address
					}
					reported[s.name+" "+key] = true
					section, name, _ := strings.Cut(key, ".")
					kp := &s.raw.TLS.position
					if section == "passive" {
						kp = &s.raw.Passive.position
					}
					kp.errorf(e, name, "differs from site %q, which shares %s: sites on one address share this setting", ep.sites[0].name, showAddr(ep.key))
				}
			}
			ep.sites = append(ep.sites, s)
			if len(s.hosts) == 0 {
				if ep.def != nil {
					pos.errorf(e, k, "sites %q and %q both serve %s without hosts; give one of them hosts (RFC 7151 HOST names)", ep.def.name, s.name, showAddr(key))
				} else {
					ep.def = s
				}
			}
			for _, h := range s.hosts {
				if other := ep.byHost[h]; other != nil {
					s.raw.errorf(e, "hosts", "host %q is also a host of site %q on %s", h, other.name, showAddr(key))
					continue
				}
				ep.byHost[h] = s
			}
		}
	}
	// A wildcard address and a specific address on one port cannot both
	// be bound.
	for i, a := range v.cfg.endpoints {
		ah, ap, _ := net.SplitHostPort(a.key)
		for _, b := range v.cfg.endpoints[i+1:] {
			bh, bp, _ := net.SplitHostPort(b.key)
			if ap != bp || ap == "0" || ah == bh {
				continue
			}
			if isWildcard(ah) || isWildcard(bh) {
				s := b.sites[0]
				s.raw.errorf(e, "address", "%s overlaps %s (site %q): an address for all interfaces and a specific one cannot share a port", showAddr(b.key), showAddr(a.key), a.sites[0].name)
			}
		}
	}
}
