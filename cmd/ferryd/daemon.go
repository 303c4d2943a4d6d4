package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/ftp/w3c"
	"github.com/ferryftp/ferry/quota"
	ferrysync "github.com/ferryftp/ferry/sync"
)

// daemon serves a configuration file: one ftp.Server per address to
// listen on (and per implicit FTPS address), each choosing the site of a
// connection by a HostResolver that reads the configuration in force.
// reload replaces that configuration without dropping sessions.
//
// What a reload changes: users, groups, permissions, options, aliases,
// system accounts, access rules, host names, greetings, connection
// limits, one-time-password settings, quota periods, access logs, TLS
// certificates, sites on addresses already served, log level, and the
// synchronisation items (a changed set restarts the scheduler). What needs
// a restart, and is logged as such: the addresses listened on, what the
// sites of one address share (TLS policy, client CAs, passive settings),
// the rest of [daemon], and the file of a site's quota counters.
type daemon struct {
	path   string
	stdout io.Writer
	level  *slog.LevelVar
	log    *slog.Logger
	debug  bool // -debug: debug level and trace, whatever the file says

	cur atomic.Pointer[served]

	mu      sync.Mutex            // serialises reloads; guards states
	states  map[string]*siteState // by site name; kept when a site goes
	started *config               // what the servers were made from

	eps   []*endpoint // fixed at start
	byKey map[string]*endpoint

	throttle *quota.LoginThrottle
	dirSizes quota.DirSizes

	notified chan struct{} // closed once run listens for signals

	// The scheduler of the synchronisation items, replaced when a reload
	// changes them; guarded by mu.
	sched      *ferrysync.Scheduler
	schedPrint string             // the fingerprint of its items
	schedStop  context.CancelFunc // ends its Serve and the runs in progress
	schedWG    sync.WaitGroup     // schedulers still stopping

	certOnce sync.Once
	selfCert tls.Certificate
	certErr  error
}

// served is the configuration in force.
type served struct {
	cfg   *config
	sites map[string]*siteRuntime
	eps   map[string]*epRuntime
}

type epRuntime struct {
	def    *siteRuntime // nil: clients must send HOST
	first  *siteRuntime
	byHost map[string]*siteRuntime
}

type endpoint struct {
	spec *endpointSpec
	srv  *ftp.Server
	ln   net.Listener
}

// newDaemon loads the configuration at path, prepares its sites and
// opens the listeners. Call run, or close on error paths.
func newDaemon(path string, stdout, stderr io.Writer, debug bool) (*daemon, error) {
	cfg, err := loadConfig(path)
	if err != nil {
		return nil, err
	}
	d := &daemon{path: path, stdout: stdout, level: new(slog.LevelVar), debug: debug,
		states: map[string]*siteState{}, byKey: map[string]*endpoint{}, started: cfg,
		notified: make(chan struct{})}
	d.setLevel(cfg)
	opts := &slog.HandlerOptions{Level: d.level}
	if cfg.daemon.json {
		d.log = slog.New(slog.NewJSONHandler(stderr, opts))
	} else {
		d.log = slog.New(slog.NewTextHandler(stderr, opts))
	}
	if t := cfg.daemon.throttle; t != nil {
		d.throttle = &quota.LoginThrottle{Delay: t.delay, MaxDelay: t.maxDelay, BanAfter: t.banAfter, BanFor: t.banFor}
	}
	// Listen first: a busy address is the likeliest failure, and
	// nothing has been written yet.
	for _, ep := range cfg.endpoints {
		l, err := net.Listen("tcp", ep.key)
		if err != nil {
			d.close()
			return nil, fmt.Errorf("site %s: %w", ep.sites[0].name, err)
		}
		e := &endpoint{spec: ep, ln: l, srv: d.newServer(cfg, ep, l.Addr().String())}
		d.eps = append(d.eps, e)
		d.byKey[ep.key] = e
	}
	rt, commit, err := d.prepare(cfg)
	if err != nil {
		d.close()
		return nil, err
	}
	commit()
	if err := d.setScheduler(cfg); err != nil {
		d.close()
		return nil, err
	}
	d.announce(rt)
	return d, nil
}

// setScheduler starts the scheduler of cfg's synchronisation items, and
// stops the one running, unless the items are the same. Runs in progress
// of a scheduler stopped by a reload are interrupted; package sync resumes
// them at the next run. d.mu is held, or d is not serving yet.
func (d *daemon) setScheduler(cfg *config) error {
	fp := cfg.sync.fingerprint()
	if d.sched != nil && fp == d.schedPrint {
		return nil
	}
	var sched *ferrysync.Scheduler
	if len(cfg.sync.items) > 0 {
		items, groups := cfg.sync.schedulerInput()
		var err error
		if sched, err = ferrysync.NewScheduler(items, groups); err != nil {
			return err
		}
		sched.Logger = d.log
	}
	if d.schedStop != nil {
		d.schedStop()
	}
	d.sched, d.schedPrint, d.schedStop = sched, fp, nil
	if sched == nil {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	d.schedStop = cancel
	d.schedWG.Go(func() { sched.Serve(ctx) })
	return nil
}

// stopScheduler stops the scheduler and waits for its runs to end.
func (d *daemon) stopScheduler() {
	d.mu.Lock()
	if d.schedStop != nil {
		d.schedStop()
	}
	d.mu.Unlock()
	d.schedWG.Wait()
}

func (d *daemon) setLevel(cfg *config) {
	if d.debug {
		d.level.Set(slog.LevelDebug)
	} else {
		d.level.Set(cfg.daemon.level)
	}
}

// announce prints what is served.
func (d *daemon) announce(rt *served) {
	fmt.Fprintf(d.stdout, "ferryd: configuration %s: %d site(s)\n", d.path, len(rt.cfg.sites))
	for _, e := range d.eps {
		for _, s := range e.spec.sites {
			how := "default site"
			if len(s.hosts) > 0 {
				how = "HOST " + strings.Join(s.hosts, ", ")
			}
			if e.spec.implicit {
				how += ", implicit FTPS"
			}
			scheme := "ftp"
			if e.spec.implicit {
				scheme = "ftps"
			}
			fmt.Fprintf(d.stdout, "ferryd: site %s on %s://%s (%s)\n", s.name, scheme, e.ln.Addr(), how)
		}
	}
	for _, s := range rt.cfg.sites {
		if s.cert == nil {
			if cert, err := d.generatedCert(); err == nil {
				fmt.Fprintf(d.stdout, "ferryd: TLS with a generated self-signed certificate for sites without tls.cert\n"+
					"ferryd:   SHA-256 fingerprint %s\n"+
					"ferryd:   public key pin (curl --pinnedpubkey) %s\n",
					certFingerprint(cert.Leaf), pubKeyPin(cert.Leaf))
			}
			break
		}
	}
}

// generatedCert is the self-signed certificate of sites without one,
// made once, for the addresses and host names of the configuration read
// at start.
func (d *daemon) generatedCert() (*tls.Certificate, error) {
	d.certOnce.Do(func() {
		var hosts []string
		for _, ep := range d.started.endpoints {
			hosts = append(hosts, ep.key)
		}
		for _, s := range d.started.sites {
			for _, h := range s.hosts {
				hosts = append(hosts, net.JoinHostPort(strings.Trim(h, "[]"), "0"))
			}
		}
		d.selfCert, d.certErr = selfSignedCert(hosts, time.Now())
	})
	return &d.selfCert, d.certErr
}

// newServer makes the server of one address, which listens on addr.
func (d *daemon) newServer(cfg *config, ep *endpointSpec, addr string) *ftp.Server {
	key := ep.key
	tc := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: d.certificate(key)}
	if ep.caPool != nil {
		tc.ClientCAs = ep.caPool
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	ds := cfg.daemon
	s := ep.server
	return &ftp.Server{
		Addr:                  key,
		Greeting:              "Ferry FTP server ready; send HOST to choose a site.",
		Hosts:                 ftp.HostResolverFunc(d.resolve(key)),
		TLSConfig:             tc,
		TLSHandshakeTimeout:   ds.handshakeTimeout,
		RequireTLS:            s.requireTLS,
		RequireDataTLS:        s.requireDataTLS,
		ExemptAnonymous:       s.exemptAnonymous,
		NoTLSSessionReuse:     s.noSessionReuse,
		AllowCCC:              s.allowCCC,
		PassivePorts:          s.passive,
		PassiveAddress:        s.passiveAddr,
		LocalNetworks:         ep.localNet,
		AllowForeignActive:    ds.allowForeignActive,
		AllowPrivilegedActive: ds.allowPrivilegedActive,
		IdleTimeout:           ds.idleTimeout,
		DataTimeout:           ds.dataTimeout,
		MaxLoginFailures:      ds.maxLoginFailures,
		LoginThrottle:         d.throttle,
		DirSizes:              &d.dirSizes,
		Logger:                d.log.With("listen", addr),
		Trace:                 ds.trace || d.debug,
	}
}

var errUnknownHost = errors.New("no site of that name on this address")

// resolve chooses the site of a connection to the address key.
func (d *daemon) resolve(key string) func(ctx context.Context, local netip.AddrPort, name string) (*ftp.VirtualHost, error) {
	return func(ctx context.Context, local netip.AddrPort, name string) (*ftp.VirtualHost, error) {
		ep := d.cur.Load().eps[key]
		if ep == nil {
			return nil, errUnknownHost
		}
		if name == "" {
			if ep.def == nil {
				return nil, errUnknownHost
			}
			return ep.def.def, nil
		}
		if s := ep.byHost[name]; s != nil {
			return s.named[name], nil
		}
		return nil, errUnknownHost
	}
}

// certificate chooses the certificate of a TLS handshake on key: the
// site the client names in SNI, else the address's default site.
func (d *daemon) certificate(key string) func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		var s *siteRuntime
		if ep := d.cur.Load().eps[key]; ep != nil {
			if hello.ServerName != "" {
				s = ep.byHost[strings.ToLower(hello.ServerName)]
			}
			if s == nil {
				s = ep.def
			}
			if s == nil {
				s = ep.first
			}
		}
		if s != nil && s.spec.cert != nil {
			return s.spec.cert.GetCertificate(hello)
		}
		return d.generatedCert()
	}
}

// prepare builds the runtime of cfg. Nothing is in force until commit is
// called; on error, whatever prepare made is undone.
func (d *daemon) prepare(cfg *config) (*served, func(), error) {
	ctx := context.Background()
	rt := &served{cfg: cfg, sites: map[string]*siteRuntime{}, eps: map[string]*epRuntime{}}
	newStates := map[string]*siteState{}
	newLogs := map[string]*w3c.Writer{}
	fail := func(err error) (*served, func(), error) {
		for _, w := range newLogs {
			w.Close(ctx)
		}
		return nil, nil, err
	}
	if err := os.MkdirAll(cfg.daemon.stateDir, 0o755); err != nil {
		return fail(fmt.Errorf("state_dir: %w", err))
	}
	for _, spec := range cfg.sites {
		for _, dir := range siteDirs(spec) {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fail(fmt.Errorf("site %s: %w", spec.name, err))
			}
		}
		st := d.states[spec.name]
		if st == nil {
			var err error
			if st, err = d.newSiteState(ctx, spec); err != nil {
				return fail(err)
			}
			newStates[spec.name] = st
		}
		if spec.log != nil && (st.logSpec == nil || *st.logSpec != *spec.log) {
			w, err := w3c.New(w3c.Config{
				Pattern: spec.log.pattern, Dir: spec.log.dir, RetentionDays: spec.log.retention,
				Software: "Ferry", Logger: d.log.With("site", spec.name),
			})
			if err != nil {
				return fail(fmt.Errorf("site %s: access log: %w", spec.name, err))
			}
			newLogs[spec.name] = w
		}
		if spec.accounts != nil {
			spec.accounts.logger = d.log.With("site", spec.name)
		}
		s := &siteRuntime{spec: spec, st: st, auth: ftp.NewSiteAuthenticator(spec.site), named: map[string]*ftp.VirtualHost{}}
		s.auth.Quota = st.quota
		vh := func(name string) *ftp.VirtualHost {
			v := &ftp.VirtualHost{Name: name, Greeting: spec.welcome, Auth: st.login, Conns: st.conns}
			if name != "" {
				v.Auth = st.hostLogin
			}
			if spec.log != nil {
				v.AccessLog = &st.accessLog
			}
			if spec.access != nil {
				v.ConnFilter = spec.access
			}
			return v
		}
		s.def = vh("")
		for _, h := range spec.hosts {
			s.named[h] = vh(h)
		}
		rt.sites[spec.name] = s
	}
	for _, ep := range cfg.endpoints {
		e := &epRuntime{byHost: map[string]*siteRuntime{}, first: rt.sites[ep.sites[0].name]}
		if ep.def != nil {
			e.def = rt.sites[ep.def.name]
		}
		for h, s := range ep.byHost {
			e.byHost[h] = rt.sites[s.name]
		}
		rt.eps[ep.key] = e
	}
	commit := func() {
		var oldLogs []*w3c.Writer
		for name, st := range newStates {
			d.states[name] = st
		}
		for _, s := range rt.sites {
			st, spec := s.st, s.spec
			st.conns.SetLimits(spec.maxUsers, spec.maxPerIP)
			st.hostConns.SetLimits(spec.maxUsers, spec.maxPerIP)
			st.quota.SetPeriod(spec.quotaPeriod)
			for name, l := range spec.limits {
				st.quota.User(name, l)
			}
			if f := st.otpStore.f.Load(); spec.otpState == "" {
				st.otpStore.f.Store(nil)
			} else if f == nil || f.path != spec.otpState {
				st.otpStore.f.Store(&otpFile{path: spec.otpState, logger: d.log.With("site", spec.name)})
			}
			if w, ok := newLogs[spec.name]; ok {
				if old := st.accessLog.w.Swap(w); old != nil {
					oldLogs = append(oldLogs, old)
				}
				st.logSpec = spec.log
			} else if spec.log == nil && st.logSpec != nil {
				if old := st.accessLog.w.Swap(nil); old != nil {
					oldLogs = append(oldLogs, old)
				}
				st.logSpec = nil
			}
		}
		d.cur.Store(rt)
		// Writers replaced: sessions of the old configuration may still
		// hold them for an instant; Close writes what was queued.
		for _, w := range oldLogs {
			cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			w.Close(cctx)
			cancel()
		}
	}
	return rt, commit, nil
}

// staticPrefix is the part of a directory before its first path
// variable, the part that can be made at start.
func staticPrefix(dir string) string {
	i := strings.Index(dir, "$$")
	if i < 0 {
		return dir
	}
	return filepath.Dir(dir[:i] + "x")
}

// siteDirs are the directories of a site made at start when missing: its
// home (up to the first path variable), and the alias targets and
// permission full paths that hold no path variable.
func siteDirs(spec *siteSpec) []string {
	dirs := []string{staticPrefix(spec.home)}
	if strings.Contains(spec.home, "$$") {
		return dirs // relative paths would depend on the user
	}
	add := func(p string) {
		if p == "" || strings.Contains(p, "$$") {
			return
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(spec.home, p)
		}
		dirs = append(dirs, p)
	}
	for _, a := range spec.aclConfig.Aliases {
		add(a.Target)
	}
	for _, u := range spec.aclConfig.Users {
		for _, p := range u.Permissions {
			add(p.FullPath)
		}
	}
	for _, g := range spec.aclConfig.Groups {
		for _, p := range g.Permissions {
			add(p.FullPath)
		}
	}
	return dirs
}

func mkdirFor(file string) error { return os.MkdirAll(filepath.Dir(file), 0o755) }

// reload reads the configuration file again and puts it in force. A file
// with errors changes nothing: the errors are returned (and logged).
func (d *daemon) reload() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	cfg, err := loadConfig(d.path)
	if err != nil {
		var ce configErrors
		if errors.As(err, &ce) {
			for _, e := range ce {
				d.log.Error("reload refused: configuration error", "err", e.Error())
			}
		} else {
			d.log.Error("reload refused", "err", err)
		}
		return err
	}
	rt, commit, err := d.prepare(cfg)
	if err != nil {
		d.log.Error("reload refused", "err", err)
		return err
	}
	d.warnRestart(cfg)
	commit()
	d.setLevel(cfg)
	if err := d.setScheduler(cfg); err != nil {
		// The items passed the checks of package sync already.
		d.log.Error("synchronisation not reloaded", "err", err)
	}
	users := 0
	for _, s := range rt.sites {
		users += len(s.spec.aclConfig.Users)
	}
	d.log.Info("configuration reloaded", "file", d.path, "sites", len(cfg.sites), "users", users)
	return nil
}

// warnRestart logs what cfg changes that only a restart applies.
func (d *daemon) warnRestart(cfg *config) {
	for _, ep := range cfg.endpoints {
		e := d.byKey[ep.key]
		if e == nil {
			var names []string
			for _, s := range ep.sites {
				names = append(names, s.name)
			}
			d.log.Warn("new address not served until a restart", "listen", ep.key, "sites", strings.Join(names, ","))
			continue
		}
		if diff := e.spec.server.differences(ep.server); len(diff) > 0 {
			d.log.Warn("settings of an address changed; they apply after a restart", "listen", ep.key, "keys", strings.Join(diff, ","))
		}
	}
	for _, e := range d.eps {
		if cfg.byKey[e.spec.key] == nil {
			d.log.Warn("address has no site any more; it stays open until a restart", "listen", e.spec.key)
		}
	}
	a, b := d.started.daemon, cfg.daemon
	a.level, b.level = 0, 0               // applied by the reload
	a.shutdownTimeout = b.shutdownTimeout // read at shutdown
	a.throttle, b.throttle = nil, nil     // compared below
	at, bt := d.started.daemon.throttle, cfg.daemon.throttle
	if a != b || (at == nil) != (bt == nil) || (at != nil && *at != *bt) {
		d.log.Warn("[daemon] settings other than log_level and shutdown_timeout apply after a restart")
	}
	for _, s := range cfg.sites {
		if st := d.states[s.name]; st != nil && st.quotaPath != s.quotaState {
			d.log.Warn("quota_state changed; it applies after a restart", "site", s.name)
		}
	}
}

// run serves until ctx ends, then shuts down gracefully. SIGHUP reloads
// the configuration; SIGUSR1 logs the sessions.
func (d *daemon) run(ctx context.Context) error {
	errc := make(chan error, len(d.eps))
	for _, e := range d.eps {
		go func() {
			if e.spec.implicit {
				errc <- e.srv.ServeTLS(e.ln, "", "")
			} else {
				errc <- e.srv.Serve(e.ln)
			}
		}()
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGHUP, syscall.SIGUSR1)
	defer signal.Stop(sig)
	close(d.notified)
	serving := len(d.eps)
	var serveErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case s := <-sig:
			if s == syscall.SIGUSR1 {
				d.logSessions()
			} else {
				d.reload()
			}
		case serveErr = <-errc:
			serving--
			break loop
		}
	}
	fmt.Fprintln(d.stdout, "ferryd: shutting down")
	d.stopScheduler()
	d.shutdown()
	for ; serving > 0; serving-- {
		if err := <-errc; serveErr == nil {
			serveErr = err
		}
	}
	d.closeStates()
	if errors.Is(serveErr, ftp.ErrServerClosed) {
		return nil
	}
	return serveErr
}

// shutdown stops every server: idle sessions get 421, transfers may
// finish until the shutdown timeout.
func (d *daemon) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), d.cur.Load().cfg.daemon.shutdownTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, e := range d.eps {
		wg.Go(func() {
			if err := e.srv.Shutdown(ctx); err != nil {
				e.srv.Close()
			}
		})
	}
	wg.Wait()
}

// close releases what newDaemon opened, for error paths before run.
func (d *daemon) close() {
	for _, e := range d.eps {
		e.ln.Close()
	}
	d.stopScheduler()
	d.closeStates()
}

// closeStates closes the access logs, once the servers have stopped, and
// saves the quota counters.
func (d *daemon) closeStates() {
	d.mu.Lock()
	defer d.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, st := range d.states {
		if w := st.accessLog.w.Swap(nil); w != nil {
			if err := w.Close(ctx); err != nil {
				d.log.Error("closing access log", "site", st.name, "err", err)
			}
		}
		if err := st.quota.Flush(ctx); err != nil {
			d.log.Error("saving quota counters", "site", st.name, "err", err)
		}
	}
}

// logSessions logs the connected sessions, for SIGUSR1.
func (d *daemon) logSessions() {
	rt := d.cur.Load()
	n := 0
	for _, e := range d.eps {
		ep := rt.eps[e.spec.key]
		for _, si := range e.srv.Sessions() {
			site := "-"
			if ep != nil {
				if s := ep.byHost[si.Host]; s != nil {
					site = s.spec.name
				} else if si.Host == "" && ep.def != nil {
					site = ep.def.spec.name
				}
			}
			user := si.User
			if user == "" {
				user = "-"
			}
			d.log.Info("session", "id", si.ID, "listen", e.spec.key, "site", site, "user", user,
				"remote", si.Remote.String(), "since", si.Since.UTC().Format(time.RFC3339),
				"transfer", si.Command, "bytes", si.Bytes, "rate", si.Rate)
			n++
		}
	}
	d.log.Info("sessions", "count", n)
}

// addr is the address the endpoint key listens on, for tests.
func (d *daemon) addr(key string) string {
	if e := d.byKey[key]; e != nil {
		return e.ln.Addr().String()
	}
	return ""
}
