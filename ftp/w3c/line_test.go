package w3c

import (
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/ftp"
)

func TestAppendEscaped(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", "-"},
		{"-", "%2D"},
		{"--", "--"},
		{"/pub/file.txt", "/pub/file.txt"},
		{"/pub/read me.txt", "/pub/read%20me.txt"},
		{`/a "quoted" name`, "/a%20%22quoted%22%20name"},
		{"/été/日本.txt", "/%C3%A9t%C3%A9/%E6%97%A5%E6%9C%AC.txt"},
		{"/100%", "/100%25"},
		{"/a+b?c#d", "/a%2Bb%3Fc%23d"},
		{"/tab\there\r\n", "/tab%09here%0D%0A"},
		{"\x00\x7f\xff", "%00%7F%FF"},
		{"~user/a-b_c.d!$&'()*,;=:@", "~user/a-b_c.d!$&'()*,;=:@"},
		{`back\slash`, "back%5Cslash"},
		{"<>[]{}|^`", "%3C%3E%5B%5D%7B%7D%7C%5E%60"},
	}
	for _, tt := range tests {
		got := string(appendEscaped(nil, tt.in))
		assert.Equal(t, tt.want, got, "escape %q", tt.in)
	}
}

// FuzzEscape checks that any text becomes one field of printable ASCII
// without spaces or quotes that decodes back to the text.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "-", "a b", `"`, "é", "%", "%2", "\x00", "+", "/x y/z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := string(appendEscaped(nil, s))
		require.NotEmpty(t, got, "a field is never empty")
		for i := 0; i < len(got); i++ {
			c := got[i]
			require.True(t, c > 0x20 && c < 0x7F && c != '"' && c != '+', "byte %#x in %q", c, got)
		}
		if s == "" {
			require.Equal(t, "-", got, "empty field")
			return
		}
		require.NotEqual(t, "-", got, "%q must not read as an empty field", s)
		back, err := url.PathUnescape(got)
		require.NoError(t, err, "%q must decode", got)
		require.Equal(t, s, back, "round trip of %q", s)
	})
}

func TestAppendSeconds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0.000"},
		{-time.Second, "0.000"},
		{time.Millisecond, "0.001"},
		{1499 * time.Microsecond, "0.001"},
		{1500 * time.Microsecond, "0.002"},
		{250 * time.Millisecond, "0.250"},
		{12 * time.Second, "12.000"},
		{3*time.Minute + 4*time.Second + 56*time.Millisecond, "184.056"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, string(appendSeconds(nil, tt.d)), "time-taken of %v", tt.d)
	}
}

// TestAppendLine checks one line byte for byte, then the edge cases of each
// field through the reader.
func TestAppendLine(t *testing.T) {
	t.Parallel()
	e := &ftp.LogEntry{
		Time:     time.Date(2026, 11, 25, 15, 30, 0, 999e6, time.FixedZone("CET", 3600)),
		Host:     "ftp.example.org",
		Remote:   netip.MustParseAddrPort("192.0.2.7:50123"),
		Local:    netip.MustParseAddrPort("192.0.2.1:21"),
		User:     "alice",
		Method:   "RETR",
		URI:      "/pub/read me.txt",
		Status:   226,
		Sent:     1048576,
		Duration: 412 * time.Millisecond,
	}
	got := string(appendLine(nil, e))
	// The time is UTC (WD-logfile-960323: "All times are specified in
	// GMT"), seconds truncated.
	assert.Equal(t, "2026-11-25 14:30:00 192.0.2.7 alice 192.0.2.1 21 RETR /pub/read%20me.txt 226 1048576 0 0.412 ftp.example.org\n", got, "line")

	tests := []struct {
		name  string
		e     ftp.LogEntry
		field string
		want  string // raw
	}{
		{"no user", ftp.LogEntry{Method: "USER"}, "cs-username", "-"},
		{"user with space", ftp.LogEntry{User: "a b"}, "cs-username", "a%20b"},
		{"PASS never shows its argument", ftp.LogEntry{Method: "PASS", URI: "secret"}, "cs-uri-stem", "-"},
		{"pass lower case", ftp.LogEntry{Method: "pass", URI: "secret"}, "cs-uri-stem", "-"},
		{"no host", ftp.LogEntry{}, "cs-host", "-"},
		{"no remote", ftp.LogEntry{}, "c-ip", "-"},
		{"no local port", ftp.LogEntry{}, "s-port", "-"},
		{"no status", ftp.LogEntry{}, "sc-status", "-"},
		{"IPv6", ftp.LogEntry{Remote: netip.MustParseAddrPort("[2001:db8::7]:1")}, "c-ip", "2001:db8::7"},
		{"IPv4-mapped", ftp.LogEntry{Remote: netip.MustParseAddrPort("[::ffff:192.0.2.7]:1")}, "c-ip", "192.0.2.7"},
		{"IPv6 zone", ftp.LogEntry{Local: netip.MustParseAddrPort("[fe80::1%eth0]:21")}, "s-ip", "fe80::1%25eth0"},
		{"odd verb", ftp.LogEntry{Method: "X Y\x01"}, "cs-method", "X%20Y%01"},
		{"host with space", ftp.LogEntry{Host: "a host"}, "cs-host", "a%20host"},
	}
	for _, tt := range tests {
		line := appendLine(nil, &tt.e)
		f := parseLogText(t, "#Version: 1.0\n#Fields: "+Fields+"\n"+string(line))
		require.Len(t, f.Entries, 1, "%s: one entry", tt.name)
		assert.Equal(t, tt.want, f.Entries[0].get(t, tt.field), "%s: %s", tt.name, tt.field)
	}
}

func TestAppendLineIsASCII(t *testing.T) {
	t.Parallel()
	e := &ftp.LogEntry{User: "ユーザー", URI: "/\"q\" \t\x00é", Host: "hôte", Method: "RETR"}
	line := string(appendLine(nil, e))
	assert.True(t, utf8.ValidString(line), "line is text")
	assert.Equal(t, 1, strings.Count(line, "\n"), "one line")
	for _, r := range line {
		assert.Less(t, r, rune(0x7F), "line %q must be ASCII", line)
	}
}

func BenchmarkAppendLine(b *testing.B) {
	e := &ftp.LogEntry{
		Time: time.Now(), Remote: netip.MustParseAddrPort("192.0.2.7:50123"), Local: netip.MustParseAddrPort("192.0.2.1:21"),
		User: "alice", Method: "RETR", URI: "/pub/read me.txt", Status: 226, Sent: 1048576, Duration: 412 * time.Millisecond,
	}
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = appendLine(buf[:0], e)
	}
}
