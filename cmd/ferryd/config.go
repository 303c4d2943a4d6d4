package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// The file format of ferryd -config. docs/configuration.md describes every
// key; keep the two in step. Relative paths in the file are taken from the
// file's directory, except those that belong to a site's tree (user and
// group homes, permission full paths, alias targets), which are taken
// from the site's home as package acl does.

// fileConfig is the whole file.
type fileConfig struct {
	position
	Daemon daemonConfig  `toml:"daemon"`
	Sites  []*siteConfig `toml:"site"`
	Sync   syncConfig    `toml:"sync"`
}

// daemonConfig is [daemon]: settings of the process.
type daemonConfig struct {
	position
	LogLevel              string         `toml:"log_level"`  // debug, info, warn, error
	LogFormat             string         `toml:"log_format"` // text, json
	Trace                 bool           `toml:"trace"`
	StateDir              string         `toml:"state_dir"`
	ShutdownTimeout       *duration      `toml:"shutdown_timeout"`
	IdleTimeout           *duration      `toml:"idle_timeout"`
	DataTimeout           *duration      `toml:"data_timeout"`
	TLSHandshakeTimeout   *duration      `toml:"tls_handshake_timeout"`
	MaxLoginFailures      int            `toml:"max_login_failures"`
	AllowForeignActive    bool           `toml:"allow_foreign_active"`
	AllowPrivilegedActive bool           `toml:"allow_privileged_active"`
	LoginThrottle         throttleConfig `toml:"login_throttle"`
}

// throttleConfig is [daemon.login_throttle].
type throttleConfig struct {
	position
	Enabled  *bool     `toml:"enabled"`
	Delay    *duration `toml:"delay"`
	MaxDelay *duration `toml:"max_delay"`
	BanAfter int       `toml:"ban_after"`
	BanFor   *duration `toml:"ban_for"`
}

// siteConfig is one [[site]].
type siteConfig struct {
	position
	Name        string     `toml:"name"`
	Description string     `toml:"description"`
	Home        string     `toml:"home"`
	Address     string     `toml:"address"`
	Port        *int       `toml:"port"`
	Hosts       stringList `toml:"hosts"`
	Welcome     string     `toml:"welcome"`
	MaxUsers    int        `toml:"max_users"`
	MaxPerIP    int        `toml:"max_per_ip"`
	RequireOTP  bool       `toml:"require_otp"`
	OTPState    string     `toml:"otp_state"`
	Accounts    string     `toml:"accounts"`
	QuotaPeriod string     `toml:"quota_period"`
	QuotaState  *string    `toml:"quota_state"`

	Passive passiveConfig `toml:"passive"`
	TLS     tlsSection    `toml:"tls"`
	Log     logSection    `toml:"log"`

	Users   []*userConfig   `toml:"user"`
	Groups  []*groupConfig  `toml:"group"`
	Access  []*accessConfig `toml:"access"`
	Aliases []*aliasConfig  `toml:"alias"`
}

// passiveConfig is [site.passive].
type passiveConfig struct {
	position
	Ports         string     `toml:"ports"`
	Address       string     `toml:"address"`
	LocalNetworks stringList `toml:"local_networks"`
}

// tlsSection is [site.tls].
type tlsSection struct {
	position
	Cert            string `toml:"cert"`
	Key             string `toml:"key"`
	ClientCA        string `toml:"client_ca"`
	Require         bool   `toml:"require"`
	RequireData     bool   `toml:"require_data"`
	ExemptAnonymous bool   `toml:"exempt_anonymous"`
	NoSessionReuse  bool   `toml:"no_session_reuse"`
	AllowCCC        bool   `toml:"allow_ccc"`
	ImplicitPort    int    `toml:"implicit_port"`
}

// logSection is [site.log].
type logSection struct {
	position
	W3C           bool   `toml:"w3c"`
	Path          string `toml:"path"`
	RetentionDays int    `toml:"retention_days"`
}

// userConfig is one [[site.user]].
type userConfig struct {
	position
	Name                 string        `toml:"name"`
	DisplayName          string        `toml:"display_name"`
	Type                 string        `toml:"type"`
	Password             string        `toml:"password"`
	Account              string        `toml:"account"`
	Group                string        `toml:"group"`
	Home                 string        `toml:"home"`
	Admin                bool          `toml:"admin"`
	RequireOTP           *bool         `toml:"require_otp"`
	AllowAnonymousDelete bool          `toml:"allow_anonymous_delete"`
	Permissions          []*permConfig `toml:"permission"`
	Options              optionsConfig `toml:"options"`
}

// groupConfig is one [[site.group]].
type groupConfig struct {
	position
	Name        string        `toml:"name"`
	Description string        `toml:"description"`
	Home        string        `toml:"home"`
	System      bool          `toml:"system"`
	RestrictTo  stringList    `toml:"restrict_to"`
	Members     []string      `toml:"members"`
	Permissions []*permConfig `toml:"permission"`
	Options     optionsConfig `toml:"options"`
}

// permConfig is one [[site.user.permission]] or [[site.group.permission]].
type permConfig struct {
	position
	Path       string     `toml:"path"`
	FullPath   string     `toml:"full_path"`
	Recursive  bool       `toml:"recursive"`
	Rights     stringList `toml:"rights"`
	MaxDirSize byteSize   `toml:"max_dir_size"`
}

// optionsConfig is [site.user.options] or [site.group.options]. A key
// left out is inherited from the group; 0 is unlimited.
type optionsConfig struct {
	position
	DownloadRate   *byteRate `toml:"download_rate"`
	UploadRate     *byteRate `toml:"upload_rate"`
	DownloadAmount *byteSize `toml:"download_amount"`
	UploadAmount   *byteSize `toml:"upload_amount"`
	Ratio          *float64  `toml:"ratio"`
	RatioCredit    *byteSize `toml:"ratio_credit"`
}

// accessConfig is one [[site.access]] rule.
type accessConfig struct {
	position
	Action string     `toml:"action"` // grant, deny
	IP     stringList `toml:"ip"`
}

// aliasConfig is one [[site.alias]].
type aliasConfig struct {
	position
	Path   string `toml:"path"`
	Target string `toml:"target"`
}

// syncConfig is [sync].
type syncConfig struct {
	position
	Items  []*syncItemConfig  `toml:"item"`
	Groups []*syncGroupConfig `toml:"group"`
}

// syncItemConfig is one [[sync.item]].
type syncItemConfig struct {
	position
	Name                   string             `toml:"name"`
	Description            string             `toml:"description"`
	Log                    string             `toml:"log"`
	Mode                   string             `toml:"mode"`
	Recursive              *bool              `toml:"recursive"`
	Noop                   noopSetting        `toml:"noop"`
	Groups                 stringList         `toml:"groups"`
	Enabled                *bool              `toml:"enabled"`
	Ignore                 []string           `toml:"ignore"`
	Journal                string             `toml:"journal"`
	AllowEmptySourceDelete bool               `toml:"allow_empty_source_delete"`
	Source                 syncEndpointConfig `toml:"source"`
	Destination            syncEndpointConfig `toml:"destination"`
	Schedule               scheduleConfig     `toml:"schedule"`
}

// syncEndpointConfig is [sync.item.source] or [sync.item.destination].
type syncEndpointConfig struct {
	position
	Type      string    `toml:"type"` // ftp, local
	Directory string    `toml:"directory"`
	FileCheck string    `toml:"file_check"`
	Server    string    `toml:"server"`
	Username  string    `toml:"username"`
	Password  string    `toml:"password"`
	TLS       string    `toml:"tls"` // none, explicit
	TLSCA     string    `toml:"tls_ca"`
	Timeout   *duration `toml:"timeout"`
}

// noopSetting is the noop key of a sync item: false, true (every 30
// seconds) or a duration.
type noopSetting time.Duration

// defaultNoop is the NOOP interval of noop = true.
const defaultNoop = 30 * time.Second

func (n *noopSetting) decodeTOML(t *tnode) error {
	switch t.kind {
	case tBool:
		*n = 0
		if t.b {
			*n = noopSetting(defaultNoop)
		}
		return nil
	case tString:
		var d duration
		if err := d.decodeTOML(t); err != nil {
			return err
		}
		*n = noopSetting(d)
		return nil
	}
	return fmt.Errorf("want true, false or a duration such as \"30s\", not %s", t.kind)
}

// scheduleConfig is [sync.item.schedule].
type scheduleConfig struct {
	position
	Days     stringList `toml:"days"`
	At       stringList `toml:"at"`
	Every    *duration  `toml:"every"`
	TimeZone string     `toml:"time_zone"`
}

// syncGroupConfig is one [[sync.group]].
type syncGroupConfig struct {
	position
	Name        string `toml:"name"`
	Description string `toml:"description"`
}

// duration is a time.Duration written as a string: "30s", "5m", "1h30m".
type duration time.Duration

func (d *duration) decodeTOML(n *tnode) error {
	if n.kind != tString {
		return fmt.Errorf("want a duration such as \"30s\", not %s", n.kind)
	}
	v, err := time.ParseDuration(n.str)
	if err != nil {
		return fmt.Errorf("%q is not a duration such as \"30s\" or \"5m\"", n.str)
	}
	if v < 0 {
		return fmt.Errorf("%q is negative", n.str)
	}
	*d = duration(v)
	return nil
}

// orDefault is d, or def when d is nil.
func (d *duration) orDefault(def time.Duration) time.Duration {
	if d == nil {
		return def
	}
	return time.Duration(*d)
}

// byteSize is a number of bytes written with a unit: "500MB", "1.5 GiB",
// "100B", or 0. KB, MB, GB and TB are powers of 1000; KiB, MiB, GiB and
// TiB powers of 1024. A bare number other than 0 is refused, so that
// nobody writes 500 meaning megabytes and gets bytes.
type byteSize int64

func (s *byteSize) decodeTOML(n *tnode) error {
	v, err := parseBytes(n, "")
	*s = byteSize(v)
	return err
}

// byteRate is a byteSize per second; "/s" may follow the unit: "1MB/s".
type byteRate int64

func (r *byteRate) decodeTOML(n *tnode) error {
	v, err := parseBytes(n, "/s")
	*r = byteRate(v)
	return err
}

var byteUnits = []struct {
	name string
	mult float64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12}, {"b", 1},
}

func parseBytes(n *tnode, suffix string) (int64, error) {
	example := `"100MB"`
	if suffix != "" {
		example = `"100KB/s"`
	}
	switch n.kind {
	case tInteger:
		if n.i == 0 {
			return 0, nil
		}
		unit := "MB"
		if suffix != "" {
			unit = "KB/s"
		}
		return 0, fmt.Errorf("%d what? Write a size with a unit, such as \"%d%s\" (KB, MB, GB: powers of 1000; KiB, MiB, GiB: of 1024; B: bytes), or 0 for unlimited", n.i, n.i, unit)
	case tString:
	default:
		return 0, fmt.Errorf("want a size such as %s, not %s", example, n.kind)
	}
	s := strings.ToLower(strings.TrimSpace(n.str))
	if suffix != "" {
		s = strings.TrimSpace(strings.TrimSuffix(s, suffix))
	}
	if s == "0" {
		return 0, nil
	}
	for _, u := range byteUnits {
		num, ok := strings.CutSuffix(s, u.name)
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
			break
		}
		v := f * u.mult
		if v >= math.MaxInt64 {
			return 0, fmt.Errorf("%q is too large", n.str)
		}
		return int64(v), nil
	}
	return 0, fmt.Errorf("%q is not a size such as %s (KB, MB, GB: powers of 1000; KiB, MiB, GiB: of 1024; B: bytes)", n.str, example)
}
