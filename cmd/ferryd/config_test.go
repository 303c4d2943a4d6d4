package main

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/acl"
	"github.com/ferryftp/ferry/quota"
	ferrysync "github.com/ferryftp/ferry/sync"
)

// testHash returns a password hash that is cheap to check: one PBKDF2
// iteration keeps the tests fast.
func testHash(t testing.TB, password string) string {
	t.Helper()
	h, err := acl.HashPasswordIter(password, 1)
	require.NoError(t, err)
	return h
}

var (
	hashOnce sync.Once
	pwHash   string // of "pw"
)

func pw(t testing.TB) string {
	hashOnce.Do(func() { pwHash = testHash(t, "pw") })
	return pwHash
}

// errorLines parses text as f.toml in dir and returns its errors, one a
// line.
func errorLines(t *testing.T, dir, text string) []string {
	t.Helper()
	_, err := parseConfig("f.toml", dir, []byte(text))
	if err == nil {
		return nil
	}
	var ce configErrors
	require.True(t, errors.As(err, &ce), "a configErrors, not %T: %v", err, err)
	return strings.Split(ce.Error(), "\n")
}

// The example in the repository loads, passes every check and serves
// what its comments say.
func TestExampleConfig(t *testing.T) {
	cfg, err := loadConfig(filepath.Join("..", "..", "ferryd.example.toml"))
	require.NoError(t, err, "ferryd.example.toml must stay valid")
	require.Len(t, cfg.sites, 2)
	main, intranet := cfg.sites[0], cfg.sites[1]
	assert.Equal(t, "main", main.name)
	assert.Equal(t, "127.0.0.1:2121", main.listen)
	assert.Equal(t, main.listen, intranet.listen, "the intranet shares the address")
	assert.Equal(t, []string{"intranet.localhost"}, intranet.hosts)
	require.Len(t, cfg.endpoints, 1)
	ep := cfg.endpoints[0]
	assert.Same(t, main, ep.def, "main is the default site of the address")
	assert.Same(t, intranet, ep.byHost["intranet.localhost"])
	assert.NotNil(t, main.site, "the acl site is built")
	assert.True(t, main.admins["alice"], "alice is an administrator")
	assert.Equal(t, "staff", main.groupOf["alice"])
	assert.Equal(t, quota.Monthly, main.quotaPeriod)
	assert.Equal(t, int64(0), main.limits["alice"].DownloadRate, "alice's own 0 overrides the group's rate")
	assert.Equal(t, int64(1e6), main.limits["alice"].UploadRate, "the group's upload rate applies to alice")
	assert.NotNil(t, main.log, "W3C logging is on")
	assert.Equal(t, 30, main.log.retention)
	assert.Equal(t, filepath.Join(cfg.dir, "srv", "main"), main.home, "relative paths are from the file's directory")
	assert.True(t, main.access.Allow(netip.MustParseAddr("127.0.0.1")))
	assert.False(t, main.access.Allow(netip.MustParseAddr("192.0.2.7")), "the deny rule applies")
	require.Len(t, cfg.sync.items, 1)
	assert.Equal(t, ferrysync.Clone, cfg.sync.items[0].item.Mode)
	assert.Equal(t, "at 01:00, mon,tue,wed,thu,fri,sat", cfg.sync.items[0].item.Schedule.String())
	assert.Equal(t, []string{"main-backup"}, cfg.sync.groups[0].items)
}

// Broken files: every problem is reported at once, as file:line: key:
// message, in the order of the file.
func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		toml string
		want []string
	}{{
		name: "syntax",
		toml: "[[site]\nname = \"a\"\n",
		want: []string{"f.toml:1: expected ']]' to close array table name"},
	}, {
		name: "no site",
		toml: "[daemon]\n",
		want: []string{"f.toml: site: no [[site]] configured"},
	}, {
		name: "unknown keys and wrong types",
		toml: `[[site]]
name = "a"
home = "h"
prot = 21
port = "21"
welcome = 42

[site.tls]
requre = true

[daemon]
shutdown_timeout = 30
`,
		want: []string{
			"f.toml:4: site.prot: unknown key (did you mean port?)",
			"f.toml:5: site.port: want an integer, not a string",
			"f.toml:6: site.welcome: want a string, not an integer",
			"f.toml:9: site.tls.requre: unknown key (did you mean require?)",
			`f.toml:12: daemon.shutdown_timeout: want a duration such as "30s", not an integer`,
		},
	}, {
		name: "impossible values",
		toml: `[[site]]
name = "a b"

[[site]]
name = "b"
home = "h"
port = 70000
max_per_ip = -2

[site.passive]
ports = "50100-50000"
address = "::1"

[site.tls]
implicit_port = 70000
`,
		want: []string{
			`f.toml:2: site.name: "a b": use letters, digits, '.', '-' and '_' only`,
			"f.toml:7: site.port: 70000 is not a port number (0 to 65535)",
			"f.toml:8: site.max_per_ip: -2 is negative",
			`f.toml:11: site.passive.ports: "50100-50000": want 1 <= first <= last <= 65535`,
			`f.toml:12: site.passive.address: "::1" is not an IPv4 address (PASV announces IPv4 only; EPSV announces no address)`,
			"f.toml:15: site.tls.implicit_port: 70000 is not a port number (1 to 65535)",
		},
	}, {
		name: "address patterns",
		toml: `[[site]]
name = "a"
home = "h"
address = "localhost"

[site.passive]
local_networks = ["10.0.0.0/8", "1.2.3.4/33"]

[[site.access]]
action = "deny"
ip = "10.0.0.300;192.168.*"

[[site.access]]
action = "permit"
ip = "*"
`,
		want: []string{
			`f.toml:4: site.address: "localhost" is not an IP address (or "*" for all)`,
			`f.toml:7: site.passive.local_networks: IP pattern "1.2.3.4/33": not a CIDR prefix`,
			`f.toml:11: site.access.ip: IP pattern "10.0.0.300": octet 4: "300" is not a number from 0 to 255`,
			`f.toml:11: site.access.ip: IP pattern "192.168.*": want an address, a CIDR prefix or four octets with * or lo-hi`,
			`f.toml:14: site.access.action: "permit" is not grant or deny`,
		},
	}, {
		name: "groups",
		toml: `[[site]]
name = "a"
home = "h"

[[site.user]]
name = "alice"
password = "` + pw(t) + `"
group = "staff"

[[site.user]]
name = "bob"
password = "` + pw(t) + `"
group = "nobody"

[[site.group]]
name = "staff"
members = ["bob"]

[[site.group]]
name = "admins"
members = ["bob", "carol"]
`,
		want: []string{
			`f.toml:13: site.user.group: group "nobody" does not exist`,
			`f.toml:21: site.group.members: user "bob" is already a member of group "staff"; a user belongs to one group`,
			`f.toml:21: site.group.members: no user "carol" in this site`,
		},
	}, {
		name: "user in two groups",
		toml: `[[site]]
name = "a"
home = "h"

[[site.user]]
name = "alice"
password = "` + pw(t) + `"
group = "staff"

[[site.group]]
name = "staff"

[[site.group]]
name = "admins"
members = ["alice"]
`,
		want: []string{
			`f.toml:8: site.user.group: user "alice" is also a member of group "admins" (line 15); a user belongs to one group`,
		},
	}, {
		name: "anonymous rights",
		toml: `[[site]]
name = "a"
home = "h"

[[site.user]]
name = "anonymous"
type = "anonymous"
group = "guests"
admin = true

  [[site.user.permission]]
  path = "incoming/"
  rights = "put,delete"

[[site.group]]
name = "guests"

  [[site.group.permission]]
  path = "*"
  rights = "all"
`,
		want: []string{
			"f.toml:9: site.user.admin: anonymous users never have administrator rights",
			`f.toml:13: site.user.permission.rights: gives anonymous users delete rights; to mean it, set allow_anonymous_delete = true on user "anonymous"`,
			`f.toml:20: site.group.permission.rights: gives anonymous users delete,rmdir rights (through group guests); to mean it, set allow_anonymous_delete = true on user "anonymous"`,
		},
	}, {
		name: "passwords and types",
		toml: `[[site]]
name = "a"
home = "h"

[[site.user]]
name = "alice"
password = "secret"

[[site.user]]
name = "bob"

[[site.user]]
name = "carol"
type = "system"

[[site.user]]
name = "dave"
type = "admin"

[[site.user]]
name = "Alice"
password = "` + pw(t) + `"
`,
		want: []string{
			"f.toml:7: site.user.password: not a password hash; make one with ferryd passwd (passwords are never stored in clear)",
			"f.toml:9: site.user.password: missing: local users log in with a password hash from ferryd passwd",
			"f.toml:14: site.user.type: system users need the site's accounts file (key accounts)",
			`f.toml:18: site.user.type: "admin" is not local, system or anonymous`,
			`f.toml:21: site.user.name: user "Alice" is already defined on line 6`,
		},
	}, {
		name: "sites sharing an address",
		toml: `[[site]]
name = "a"
home = "h"
address = "127.0.0.1"
hosts = ["a.test"]

[[site]]
name = "b"
home = "h"
address = "127.0.0.1"
hosts = ["A.test", "b.test"]

[site.tls]
require = true

[[site]]
name = "c"
home = "h"
address = "127.0.0.1"
port = 21

[site.passive]
ports = "50000-50010"

[[site]]
name = "d"
home = "h"
address = "127.0.0.1"

[[site]]
name = "e"
home = "h"
port = 21
`,
		want: []string{
			`f.toml:11: site.hosts: host "a.test" is also a host of site "a" on 127.0.0.1:21`,
			`f.toml:14: site.tls.require: differs from site "a", which shares 127.0.0.1:21: sites on one address share this setting`,
			`f.toml:23: site.passive.ports: differs from site "a", which shares 127.0.0.1:21: sites on one address share this setting`,
			`f.toml:25: site.port: sites "c" and "d" both serve 127.0.0.1:21 without hosts; give one of them hosts (RFC 7151 HOST names)`,
			`f.toml:30: site.address: *:21 overlaps 127.0.0.1:21 (site "a"): an address for all interfaces and a specific one cannot share a port`,
		},
	}, {
		name: "files and path variables",
		toml: `[[site]]
name = "a"
home = "h/$$user$$"
accounts = "missing-accounts.toml"
require_otp = true

[site.tls]
cert = "missing.pem"
key = "missing.key"
[[site]]
name = "b"
home = "h"
port = 2100
otp_state = "missing-otp.json"

[site.tls]
key = "k.pem"

[site.log]
w3c = true
path = 'logs/"yyyymmxx".log'

[[site.alias]]
path = "/"
target = "x"

[[site.alias]]
path = "/shared"
target = "../shared"

[[site]]
name = "c"
home = "h/$$username$$"
port = 2101

[[site.user]]
name = "u"
password = "` + pw(t) + `"
home = "sub"
`,
		want: []string{
			"f.toml:3: site.home: unknown path variable $$user$$",
			"f.toml:4: site.accounts: cannot open: no such file or directory",
			"f.toml:5: site.require_otp: needs otp_state, the file of the users' one-time passwords",
			"f.toml:8: site.tls.cert: cannot open: no such file or directory",
			"f.toml:14: site.otp_state: cannot open: no such file or directory (create it with ferryd skey init)",
			"f.toml:17: site.tls.key: needs cert, the certificate chain",
			`f.toml:21: site.log.path: logs/"yyyymmxx".log: unknown time variable at "yyyymmxx" (want yyyy, yy, mm, dd or hh)`,
			"f.toml:24: site.alias.path: the root cannot be an alias",
			`f.toml:39: site.user.home: "sub" is relative to the site's home, which has path variables; give an absolute path`,
		},
	}, {
		name: "sizes and options",
		toml: `[[site]]
name = "a"
home = "h"

[[site.group]]
name = "g"

  [[site.group.permission]]
  path = "pub/"
  rights = "get,fly"
  max_dir_size = 500

  [[site.group.permission]]
  path = "/pub"

  [site.group.options]
  download_rate = "fast"
  upload_rate = 100
  ratio = -1
`,
		want: []string{
			`f.toml:10: site.group.permission.rights: unknown right "fly" (want get, access, list, put, rename, append, mkdir, delete, rmdir)`,
			`f.toml:11: site.group.permission.max_dir_size: 500 what? Write a size with a unit, such as "500MB" (KB, MB, GB: powers of 1000; KiB, MiB, GiB: of 1024; B: bytes), or 0 for unlimited`,
			`f.toml:14: site.group.permission.path: "/pub" is already given on line 9`,
			`f.toml:17: site.group.options.download_rate: "fast" is not a size such as "100KB/s" (KB, MB, GB: powers of 1000; KiB, MiB, GiB: of 1024; B: bytes)`,
			`f.toml:18: site.group.options.upload_rate: 100 what? Write a size with a unit, such as "100KB/s" (KB, MB, GB: powers of 1000; KiB, MiB, GiB: of 1024; B: bytes), or 0 for unlimited`,
			"f.toml:19: site.group.options.ratio: -1: want 0 (no ratio) or a positive number of bytes to upload per byte downloaded",
		},
	}, {
		name: "synchronisation",
		toml: `[[site]]
name = "a"
home = "h"

[[sync.group]]
name = "nightly"

[[sync.item]]
name = "x"
mode = "mirror"
groups = ["nightly", "weekly"]
ignore = ["\\.db$", "("]

  [sync.item.source]
  type = "local"
  directory = "src"
  file_check = "mounted.txt=("

  [sync.item.destination]
  type = "ftp"
  server = "backup.example.com:99999"
  directory = "/backup"

  [sync.item.schedule]
  days = ["mon", "funday"]
  at = "25:00"
  every = "10s"

[[sync.item]]
name = "y"
mode = "two-way"
`,
		want: []string{
			`f.toml:10: sync.item.mode: "mirror" is not one-way-simple, one-way-clone or two-way`,
			`f.toml:11: sync.item.groups: sync group "weekly" is not defined ([[sync.group]])`,
			"f.toml:12: sync.item.ignore: \"(\": missing closing ): `(`",
			"f.toml:17: sync.item.source.file_check: \"(\": missing closing ): `(`",
			`f.toml:21: sync.item.destination.server: "backup.example.com:99999" is not host or host:port`,
			`f.toml:25: sync.item.schedule.days: "funday" is not a day of the week (mon, tue, ... sun, a range such as mon-fri, weekdays or daily)`,
			`f.toml:26: sync.item.schedule.at: "25:00" is not a time of day such as "01:30"`,
			"f.toml:27: sync.item.schedule.every: 10s: want one minute to one day (runs at midnight and every so often after)",
			`f.toml:29: sync.item.source: missing: [sync.item.source] with type = "ftp" or "local"`,
			`f.toml:29: sync.item.destination: missing: [sync.item.destination] with type = "ftp" or "local"`,
		},
	}, {
		name: "missing and repeated names",
		toml: `[[site]]
name = "a"
home = "h"

[[site.group]]
name = "staff"

[[site.group]]
name = "Staff"

[[site.group]]
description = "no name"

[[site.user]]
password = "x"

[[site]]
name = "A"
home = "h"

[[sync.group]]
name = "n"

[[sync.group]]
name = "N"

[[sync.item]]
name = "n"

[[sync.item]]
name = "y"

[[sync.item]]
name = "Y"
`,
		want: []string{
			`f.toml:9: site.group.name: group "Staff" is already defined on line 6`,
			`f.toml:11: site.group.name: missing`,
			`f.toml:14: site.user.name: missing`,
			`f.toml:18: site.name: site "A" is already defined on line 2`,
			`f.toml:25: sync.group.name: sync group "N" is already defined on line 22`,
			`f.toml:28: sync.item.name: "n" is also the name of a sync group`,
			`f.toml:30: sync.item.mode: missing: one-way-simple, one-way-clone or two-way`,
			`f.toml:30: sync.item.source: missing: [sync.item.source] with type = "ftp" or "local"`,
			`f.toml:30: sync.item.destination: missing: [sync.item.destination] with type = "ftp" or "local"`,
			`f.toml:34: sync.item.name: sync item "Y" is already defined on line 31`,
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, errorLines(t, dir, tc.toml))
		})
	}
}

// The accounts file is checked with the configuration; its errors name
// it and its lines.
func TestAccountsFileErrors(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "accounts.toml"), []byte(`[[account]]
email = "john@example.com"
password = "`+pw(t)+`"

[[account]]
email = "JOHN@example.com"
password = "x"

[[account]]
email = "nobody"
mailbox = "m"
`), 0o600))
	got := errorLines(t, dir, `[[site]]
name = "a"
home = "h"
accounts = "accounts.toml"

[[site.user]]
name = "john"
type = "system"
account = "john@example.com"
`)
	assert.Equal(t, []string{
		`accounts.toml:6: account.email: account "JOHN@example.com" defined twice`,
		`accounts.toml:10: account.email: "nobody" is not an e-mail address`,
		`accounts.toml:11: account.mailbox: unknown key`,
	}, got)
}

// Confirmed anonymous delete rights, system users and groups, one-time
// passwords: a valid file with everything.
func TestConfigValid(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "accounts.toml"), []byte(`[[account]]
email = "john@example.com"
password = "`+pw(t)+`"
home = "mail/john"
`), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "otp.json"), []byte("{}"), 0o600))
	cfg, err := parseConfig("f.toml", dir, []byte(`[[site]]
name = "a"
home = "h"
accounts = "accounts.toml"
otp_state = "otp.json"
require_otp = true
quota_state = ""

[site.passive]
local_networks = "192.168.*.*;10-11.*.*.*"

[[site.user]]
name = "ftp"
type = "anonymous"
allow_anonymous_delete = true

  [[site.user.permission]]
  path = "*"
  rights = ["get", "access", "list", "delete"]
  recursive = true

[[site.user]]
name = "petersch"
type = "system"
account = "john@example.com"
require_otp = false

[[site.group]]
name = "mail"
system = true
restrict_to = "example.com;frank@other.org"
home = "$$homedir$$"
`))
	require.NoError(t, err)
	s := cfg.sites[0]
	assert.Equal(t, "", s.quotaState, `quota_state = "" keeps the counters in memory`)
	assert.Equal(t, map[string]bool{"petersch": false}, s.otpUsers)
	assert.Equal(t, "192.168.0.0/16;10.0.0.0/7", s.server.localNets)
	assert.True(t, s.accounts.has("JOHN@example.com"), "accounts compare without case")
	assert.Equal(t, filepath.Join(dir, "mail", "john"), s.accounts.lookup("john@example.com").home, "homes are from the accounts file's directory")
}

func TestPatternPrefixes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"10.0.0.0/8", "10.0.0.0/8"},
		// Clients are matched unmapped, as the access rules match them.
		{"::ffff:10.0.0.0/104", "10.0.0.0/8"},
		{"192.168.1.7", "192.168.1.7/32"},
		{"::1", "::1/128"},
		{"192.168.*.*", "192.168.0.0/16"},
		{"192-193.*.*.*", "192.0.0.0/7"},
		{"10.1-3.*.*", "10.1.0.0/16 10.2.0.0/15"},
		{"10.*.0.1", ""}, // 256 prefixes; checked by length below
		{"*", "0.0.0.0/0 ::/0"},
	} {
		got, err := patternPrefixes(tc.in)
		require.NoError(t, err, tc.in)
		if tc.in == "10.*.0.1" {
			assert.Len(t, got, 256, "one address per value of the second octet")
			continue
		}
		var s []string
		for _, p := range got {
			s = append(s, p.String())
		}
		assert.Equal(t, tc.want, strings.Join(s, " "), tc.in)
	}
	_, err := patternPrefixes("*.*.*.1")
	assert.Error(t, err, "65536 prefixes are too many")
}

func TestByteSizes(t *testing.T) {
	for _, tc := range []struct {
		in   *tnode
		rate bool
		want int64
		ok   bool
	}{
		{&tnode{kind: tInteger}, false, 0, true},
		{&tnode{kind: tString, str: "0"}, false, 0, true},
		{&tnode{kind: tString, str: "100B"}, false, 100, true},
		{&tnode{kind: tString, str: "1.5 KiB"}, false, 1536, true},
		{&tnode{kind: tString, str: "500MB"}, false, 500e6, true},
		{&tnode{kind: tString, str: "2gb"}, false, 2e9, true},
		{&tnode{kind: tString, str: "1MiB/s"}, true, 1 << 20, true},
		{&tnode{kind: tString, str: "1MiB/s"}, false, 0, false},
		{&tnode{kind: tString, str: "-1MB"}, false, 0, false},
		{&tnode{kind: tString, str: "MB"}, false, 0, false},
		{&tnode{kind: tInteger, i: 5}, false, 0, false},
		{&tnode{kind: tFloat, f: 1}, false, 0, false},
	} {
		var got int64
		var err error
		if tc.rate {
			var r byteRate
			err = r.decodeTOML(tc.in)
			got = int64(r)
		} else {
			var s byteSize
			err = s.decodeTOML(tc.in)
			got = int64(s)
		}
		if tc.ok {
			assert.NoError(t, err, "%+v", tc.in)
			assert.Equal(t, tc.want, got, "%+v", tc.in)
		} else {
			assert.Error(t, err, "%+v", tc.in)
		}
	}
}

func TestCheckLogPattern(t *testing.T) {
	for _, tc := range []struct {
		in    string
		dated bool
		ok    bool
	}{
		{`logs/"yyyymmdd".log`, true, true},
		{`ex"yymmdd".log`, true, true},
		{`"yyyy-mm".log`, true, true},
		{`"mmdd".log`, false, true},
		{`access.log`, false, true},
		{`"yyyy"/x.log`, false, false},
		{`"yyyy.log`, false, false},
		{`logs/`, false, false},
	} {
		dated, err := checkLogPattern(tc.in)
		assert.Equal(t, tc.ok, err == nil, "%s: %v", tc.in, err)
		assert.Equal(t, tc.dated, dated, tc.in)
	}
}

func TestCheckHostName(t *testing.T) {
	for in, want := range map[string]string{
		"FTP.Example.com.": "ftp.example.com",
		"xn--bcher-kva.de": "xn--bcher-kva.de",
		"192.0.2.1":        "192.0.2.1",
		"[2001:db8::1]":    "[2001:db8::1]",
	} {
		got, err := checkHostName(in)
		assert.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "a..b", "-a.b", "bücher.de", "2001:db8::1", "[192.0.2.1]", "a_b.c"} {
		_, err := checkHostName(in)
		assert.Error(t, err, in)
	}
}
