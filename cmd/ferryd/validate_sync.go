package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	ferrysync "github.com/ferryftp/ferry/sync"
)

// syncSpec is [sync], checked and converted to the items and groups of
// package sync.
type syncSpec struct {
	items  []*syncItemSpec
	groups []*syncGroupSpec
}

type syncItemSpec struct {
	item    ferrysync.Item // Schedule is zero when the item is disabled
	enabled bool
	groups  []string
	sched   ferrysync.Schedule // as configured, disabled or not
}

type syncGroupSpec struct {
	name, description string
	items             []string
}

// "ferryd sync" reads the items of the configuration file, checked as for
// serving.
func init() {
	loadSyncItems = func(path string) ([]ferrysync.Item, []ferrysync.Group, error) {
		cfg, err := loadConfig(path)
		if err != nil {
			return nil, nil, err
		}
		items, groups := cfg.sync.schedulerInput()
		return items, groups, nil
	}
}

// syncModes are the modes of the product's dialog, and package sync's.
var syncModes = map[string]ferrysync.Mode{
	"one-way-simple": ferrysync.OneWay,
	"one-way-clone":  ferrysync.Clone,
	"two-way":        ferrysync.TwoWay,
}

// schedulerInput returns what sync.NewScheduler takes.
func (s *syncSpec) schedulerInput() ([]ferrysync.Item, []ferrysync.Group) {
	var items []ferrysync.Item
	for _, it := range s.items {
		items = append(items, it.item)
	}
	var groups []ferrysync.Group
	for _, g := range s.groups {
		groups = append(groups, ferrysync.Group{Name: g.name, Description: g.description, Items: g.items})
	}
	return items, groups
}

// fingerprint is a text that changes when anything of s that the
// scheduler uses changes.
func (s *syncSpec) fingerprint() string {
	var b strings.Builder
	for _, it := range s.items {
		i := it.item
		fmt.Fprintf(&b, "%q %q %v %v %v %v %q %v %v %q\n", i.Name, i.Description, i.Source, i.Dest, i.Mode,
			i.Recursive, i.LogFile, i.NoopInterval, i.AllowEmptySourceDelete, i.JournalPath)
		fmt.Fprintf(&b, " %v %v %v %v\n", i.Schedule.Days, i.Schedule.Every, i.Schedule.Times, i.Schedule.Location)
		for _, re := range i.Ignore {
			fmt.Fprintf(&b, " ignore %q\n", re)
		}
		if fc := i.FileCheck; fc != nil {
			fmt.Fprintf(&b, " check %v %q %v\n", fc.Side, fc.Path, fc.Content)
		}
		for _, l := range []ferrysync.Location{i.Source, i.Dest} {
			if f, ok := l.(ferrysync.FTPLocation); ok {
				// The password and TLS settings are not in String.
				fmt.Fprintf(&b, " ftp %q %v %p %v\n", f.Password, f.TLS != nil, tlsRoots(f.TLS), f.Timeout)
			}
		}
	}
	for _, g := range s.groups {
		fmt.Fprintf(&b, "group %q %q\n", g.name, g.items)
	}
	return b.String()
}

func tlsRoots(c *tls.Config) *x509.CertPool {
	if c == nil {
		return nil
	}
	return c.RootCAs
}

func (v *validator) syncItems(sc *syncConfig) *syncSpec {
	e := v.errs
	spec := &syncSpec{}
	groups := map[string]*syncGroupSpec{}
	groupNames := map[string]*position{}
	for _, gc := range sc.Groups {
		if !uniqueName(e, groupNames, &gc.position, "sync group", gc.Name) {
			continue
		}
		g := &syncGroupSpec{name: gc.Name, description: gc.Description}
		groups[strings.ToLower(gc.Name)] = g
		spec.groups = append(spec.groups, g)
	}
	names := map[string]*position{}
	for _, ic := range sc.Items {
		switch {
		case strings.ContainsFunc(ic.Name, isBlankOrControl) || strings.ContainsAny(ic.Name, `/\`):
			ic.errorf(e, "name", "%q has blanks, slashes or control characters", ic.Name)
			continue
		case groups[strings.ToLower(ic.Name)] != nil:
			ic.errorf(e, "name", "%q is also the name of a sync group", ic.Name)
			continue
		case !uniqueName(e, names, &ic.position, "sync item", ic.Name):
			continue
		}
		if it := v.syncItem(ic, groups); it != nil {
			spec.items = append(spec.items, it)
		}
	}
	return spec
}

func (v *validator) syncItem(ic *syncItemConfig, groups map[string]*syncGroupSpec) *syncItemSpec {
	e := v.errs
	start := len(e.errs)
	it := &syncItemSpec{enabled: ic.Enabled == nil || *ic.Enabled}
	item := &it.item
	item.Name, item.Description = ic.Name, ic.Description
	item.Recursive = ic.Recursive == nil || *ic.Recursive
	item.NoopInterval = time.Duration(ic.Noop)
	item.AllowEmptySourceDelete = ic.AllowEmptySourceDelete
	if ic.Log != "" {
		item.LogFile = v.path(ic.Log)
	}
	names := []string{"one-way-simple", "one-way-clone", "two-way"}
	mode, ok := syncModes[strings.ToLower(ic.Mode)]
	switch {
	case !ic.has("mode"):
		ic.errorf(e, "mode", "missing: %s", orList(names))
	case !ok:
		ic.errorf(e, "mode", "%q is not %s", ic.Mode, orList(names))
	}
	item.Mode = mode
	// Every item keeps a journal: two-way needs it, and it lets the
	// other modes compare with what the last copy left on a destination
	// that cannot set modification times.
	item.JournalPath = filepath.Join(v.cfg.daemon.stateDir, "sync", ic.Name+".journal")
	if ic.Journal != "" {
		item.JournalPath = v.path(ic.Journal)
	}
	for _, g := range ic.Groups {
		gs := groups[strings.ToLower(g)]
		if gs == nil {
			ic.errorf(e, "groups", "sync group %q is not defined ([[sync.group]])", g)
			continue
		}
		it.groups = append(it.groups, gs.name)
		gs.items = append(gs.items, ic.Name)
	}
	for _, pat := range ic.Ignore {
		re, err := regexp.Compile(pat)
		if err != nil {
			ic.errorf(e, "ignore", "%q: %v", pat, regexpError(err))
			continue
		}
		item.Ignore = append(item.Ignore, re)
	}
	item.Source = v.syncEndpoint(item, ferrysync.Source, &ic.Source, ic, "source")
	item.Dest = v.syncEndpoint(item, ferrysync.Dest, &ic.Destination, ic, "destination")
	if item.Source != nil && item.Dest != nil && item.Source.String() == item.Dest.String() {
		ic.Destination.errorf(e, "directory", "the destination is the source")
	}
	it.sched = v.schedule(&ic.Schedule)
	if it.enabled {
		item.Schedule = it.sched
	}
	if len(e.errs) > start {
		return nil
	}
	if err := item.Validate(); err != nil {
		ic.errorf(e, "", "%s", strings.TrimPrefix(err.Error(), "sync: "))
		return nil
	}
	return it
}

// orList is "a, b or c".
func orList(list []string) string {
	if len(list) < 2 {
		return strings.Join(list, "")
	}
	return strings.Join(list[:len(list)-1], ", ") + " or " + list[len(list)-1]
}

func (v *validator) syncEndpoint(item *ferrysync.Item, side ferrysync.Side, ec *syncEndpointConfig, ic *syncItemConfig, which string) ferrysync.Location {
	e := v.errs
	if !ic.has(which) {
		ic.errorf(e, which, "missing: [sync.item.%s] with type = \"ftp\" or \"local\"", which)
		return nil
	}
	var loc ferrysync.Location
	switch strings.ToLower(ec.Type) {
	case "ftp":
		f := ferrysync.FTPLocation{User: cmp(ec.Username, "anonymous"), Password: ec.Password,
			Dir: ec.Directory, Timeout: ec.Timeout.orDefault(0)}
		host := ""
		if ec.Server == "" {
			ec.errorf(e, "server", "missing: the FTP server, host or host:port")
		} else {
			h, port, err := net.SplitHostPort(ec.Server)
			if err != nil {
				h, port = ec.Server, "21"
			}
			n, perr := strconv.Atoi(port)
			if h == "" || strings.ContainsFunc(h, isBlankOrControl) || perr != nil || n < 1 || n > 65535 {
				ec.errorf(e, "server", "%q is not host or host:port", ec.Server)
			}
			host = strings.Trim(h, "[]")
			f.Addr = net.JoinHostPort(host, port)
		}
		switch t := strings.ToLower(ec.TLS); t {
		case "", "none":
		case "explicit":
			f.TLS = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		default:
			ec.errorf(e, "tls", "%q is not none or explicit", ec.TLS)
		}
		if ec.TLSCA != "" {
			pemData, err := os.ReadFile(v.path(ec.TLSCA))
			switch {
			case f.TLS == nil:
				ec.errorf(e, "tls_ca", "applies with tls = \"explicit\" only")
			case err != nil:
				ec.errorf(e, "tls_ca", "%v", unwrapPathError(err))
			default:
				f.TLS.RootCAs = x509.NewCertPool()
				if !f.TLS.RootCAs.AppendCertsFromPEM(pemData) {
					ec.errorf(e, "tls_ca", "no PEM certificate in %s", ec.TLSCA)
				}
			}
		}
		loc = f
	case "local":
		for _, k := range []string{"server", "username", "password", "tls", "tls_ca", "timeout"} {
			if ec.has(k) {
				ec.errorf(e, k, "applies to type = \"ftp\" only")
			}
		}
		if ec.Directory == "" {
			ec.errorf(e, "directory", "missing: the local directory")
		} else {
			loc = ferrysync.LocalLocation{Dir: v.path(ec.Directory)}
		}
	default:
		if !ec.has("type") {
			ec.errorf(e, "type", "missing: ftp or local")
		} else {
			ec.errorf(e, "type", "%q is not ftp or local", ec.Type)
		}
	}
	if ec.FileCheck != "" {
		if item.FileCheck != nil {
			ec.errorf(e, "file_check", "the source has a file check already; an item has one")
			return loc
		}
		// The product's form, path=[regex]: the regular expression is
		// optional.
		fc, err := ferrysync.ParseFileCheck(ec.FileCheck)
		if err != nil {
			msg := strings.TrimPrefix(err.Error(), "sync: ")
			if _, re, ok := strings.Cut(ec.FileCheck, "="); ok {
				if _, rerr := regexp.Compile(re); rerr != nil {
					msg = fmt.Sprintf("%q: %s", re, regexpError(rerr))
				}
			}
			ec.errorf(e, "file_check", "%s", msg)
			return loc
		}
		fc.Side = side
		item.FileCheck = fc
	}
	return loc
}

// regexpError drops the "error parsing regexp: " that every error of
// package regexp starts with.
func regexpError(err error) string {
	return strings.TrimPrefix(err.Error(), "error parsing regexp: ")
}

func (v *validator) schedule(sc *scheduleConfig) ferrysync.Schedule {
	e := v.errs
	var s ferrysync.Schedule
	var days []string
	for _, d := range sc.Days {
		switch strings.ToLower(strings.TrimSpace(d)) {
		case "daily":
			d = "*"
		case "weekdays":
			d = "mon-fri"
		case "weekends":
			d = "sat-sun"
		}
		if _, err := ferrysync.ParseWeekdays(d); err != nil {
			sc.errorf(e, "days", "%q is not a day of the week (mon, tue, ... sun, a range such as mon-fri, weekdays or daily)", d)
			continue
		}
		days = append(days, d)
	}
	if len(days) > 0 {
		s.Days, _ = ferrysync.ParseWeekdays(strings.Join(days, ","))
	}
	for _, a := range sc.At {
		t, err := ferrysync.ParseTimeOfDay(a)
		if err != nil {
			sc.errorf(e, "at", "%q is not a time of day such as \"01:30\"", a)
			continue
		}
		s.Times = append(s.Times, t)
	}
	if sc.Every != nil {
		s.Every = time.Duration(*sc.Every)
		if s.Every < time.Minute || s.Every > 24*time.Hour {
			sc.errorf(e, "every", "%v: want one minute to one day (runs at midnight and every so often after)", s.Every)
		}
	}
	if sc.TimeZone != "" {
		loc, err := time.LoadLocation(sc.TimeZone)
		if err != nil {
			sc.errorf(e, "time_zone", "%q is not a time zone such as \"Europe/Prague\"", sc.TimeZone)
		}
		s.Location = loc
	}
	if len(sc.Days) > 0 && len(sc.At) == 0 && sc.Every == nil {
		sc.errorf(e, "days", "needs at (times of day) or every (a frequency)")
	}
	return s
}
