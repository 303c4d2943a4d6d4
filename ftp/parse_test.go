package ftp

import (
	"io/fs"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		line      string
		verb, arg string
		err       error
	}{
		{line: "USER anonymous", verb: "USER", arg: "anonymous"},
		{line: "retr file.txt", verb: "RETR", arg: "file.txt"},
		{line: "NOOP", verb: "NOOP"},
		{line: "NOOP ", verb: "NOOP"},
		{line: "CWD  a b ", verb: "CWD", arg: " a b "}, // RFC 2640 section 3.1
		{line: "STOR \tx", verb: "STOR", arg: "\tx"},
		{line: "OPTS UTF8 ON", verb: "OPTS", arg: "UTF8 ON"},
		{line: "MkD 日本語", verb: "MKD", arg: "日本語"},
		{line: "ABCDEFGH x", verb: "ABCDEFGH", arg: "x"},
		{line: "", err: errEmptyCommand},
		{line: " NOOP", err: errBadVerb},
		{line: "ABCDEFGHI x", err: errBadVerb},
		{line: "CWD\tdir", err: errBadVerb},
		{line: "US3R x", err: errBadVerb},
		{line: "ÜSER x", err: errBadVerb},
		{line: "NOOP\r", err: errBadVerb},
		{line: "RETR a\x00b", err: errBadCommand},
		{line: "\x00", err: errBadCommand},
	}
	for _, tt := range tests {
		verb, arg, err := parseCommand(tt.line)
		if tt.err != nil {
			assert.ErrorIs(t, err, tt.err, "parseCommand(%q) error", tt.line)
			continue
		}
		require.NoError(t, err, "parseCommand(%q)", tt.line)
		assert.Equal(t, tt.verb, verb, "verb of %q", tt.line)
		assert.Equal(t, tt.arg, arg, "argument of %q", tt.line)
	}
}

func TestParseCommandAllocs(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() { _, _, _ = parseCommand("RETR some/file.txt") })
	assert.Zero(t, allocs, "an upper-case command line should parse without allocating")
}

func TestParseHostPort(t *testing.T) {
	tests := []struct {
		arg  string
		want string
		err  bool
	}{
		{arg: "127,0,0,1,4,1", want: "127.0.0.1:1025"},
		{arg: "192,168,1,2,255,255", want: "192.168.1.2:65535"},
		{arg: "127,0,0,1,0,0", want: "127.0.0.1:0"},
		{arg: " 10 , 0,0 ,1, 0 ,21 ", want: "10.0.0.1:21"},
		{arg: "010,000,0,1,0,21", want: "10.0.0.1:21"},
		{arg: "300,1,1,1,1,1", err: true},
		{arg: "1,1,1,1,1,256", err: true},
		{arg: "1,1,1,1,1", err: true},
		{arg: "1,1,1,1,1,1,1", err: true},
		{arg: "1,1,1,1,1,", err: true},
		{arg: "1,1,1,1,,1", err: true},
		{arg: "-1,1,1,1,1,1", err: true},
		{arg: "a,1,1,1,1,1", err: true},
		{arg: "(1,1,1,1,1,1)", err: true},
		{arg: "1.1.1.1,1,1", err: true},
		{arg: "", err: true},
	}
	for _, tt := range tests {
		ap, err := parseHostPort(tt.arg)
		if tt.err {
			assert.ErrorIs(t, err, errSyntax, "parseHostPort(%q) should fail", tt.arg)
			continue
		}
		require.NoError(t, err, "parseHostPort(%q)", tt.arg)
		assert.Equal(t, tt.want, ap.String(), "parseHostPort(%q)", tt.arg)
	}
}

func TestFormatHostPort(t *testing.T) {
	tests := []struct {
		ap   string
		want string
	}{
		{"127.0.0.1:1025", "127,0,0,1,4,1"},
		{"255.255.255.255:65535", "255,255,255,255,255,255"},
		{"0.0.0.0:0", "0,0,0,0,0,0"},
		{"[::ffff:10.1.2.3]:21", "10,1,2,3,0,21"},
		{"[::1]:258", "0,0,0,0,1,2"},
	}
	for _, tt := range tests {
		got := formatHostPort(netip.MustParseAddrPort(tt.ap))
		assert.Equal(t, tt.want, got, "formatHostPort(%s)", tt.ap)
		if tt.ap != "[::1]:258" {
			back, err := parseHostPort(got)
			require.NoError(t, err, "parseHostPort(%q)", got)
			assert.Equal(t, netip.MustParseAddrPort(tt.ap).Port(), back.Port(), "round trip of %s", tt.ap)
		}
	}
}

func TestParseEPRT(t *testing.T) {
	tests := []struct {
		arg  string
		want string
		err  error
	}{
		{arg: "|1|132.235.1.2|6275|", want: "132.235.1.2:6275"},
		{arg: "|2|1080::8:800:200C:417A|5282|", want: "[1080::8:800:200c:417a]:5282"},
		{arg: "|2|::1|5282|", want: "[::1]:5282"},
		{arg: "|2|::ffff:10.0.0.1|21|", want: "10.0.0.1:21"},
		{arg: "!1!10.0.0.1!65535!", want: "10.0.0.1:65535"},
		{arg: "~1~10.0.0.1~1~", want: "10.0.0.1:1"},
		{arg: "|3|10.0.0.1|21|", err: errUnsupportedProtocol},
		{arg: "|3|junk|x|", err: errUnsupportedProtocol},
		{arg: "|1|::1|21|", err: errSyntax},
		{arg: "|2|10.0.0.1|21|", err: errSyntax},
		{arg: "|2|fe80::1%eth0|21|", err: errSyntax},
		{arg: "|1|010.0.0.1|21|", err: errSyntax},
		{arg: "|1|10.0.0.1|0|", err: errSyntax},
		{arg: "|1|10.0.0.1|65536|", err: errSyntax},
		{arg: "|1|10.0.0.1|+21|", err: errSyntax},
		{arg: "|1|10.0.0.1||", err: errSyntax},
		{arg: "|1|10.0.0.1|", err: errSyntax},
		{arg: "|1|10.0.0.1|21", err: errSyntax},
		{arg: "|1|10.0.0.1|21|x", err: errSyntax},
		{arg: "|1!10.0.0.1!21!", err: errSyntax},
		{arg: "||10.0.0.1|21|", err: errSyntax},
		{arg: "|x|10.0.0.1|21|", err: errSyntax},
		{arg: " |1|10.0.0.1|21|", err: errSyntax},
		{arg: "\x7f1\x7f10.0.0.1\x7f21\x7f", err: errSyntax},
		{arg: "", err: errSyntax},
	}
	for _, tt := range tests {
		ap, err := parseEPRT(tt.arg)
		if tt.err != nil {
			assert.ErrorIs(t, err, tt.err, "parseEPRT(%q)", tt.arg)
			continue
		}
		require.NoError(t, err, "parseEPRT(%q)", tt.arg)
		assert.Equal(t, tt.want, ap.String(), "parseEPRT(%q)", tt.arg)
	}
}

func TestParseEPSV(t *testing.T) {
	tests := []struct {
		arg   string
		proto int
		all   bool
		err   error
	}{
		{arg: ""},
		{arg: "1", proto: 1},
		{arg: "2", proto: 2},
		{arg: " 2 ", proto: 2},
		{arg: "02", proto: 2},
		{arg: "ALL", all: true},
		{arg: "all", all: true},
		{arg: "aLl", all: true},
		{arg: "3", err: errUnsupportedProtocol},
		{arg: "0", err: errUnsupportedProtocol},
		{arg: "99999999999999999999", err: errUnsupportedProtocol},
		{arg: "ALLX", err: errSyntax},
		{arg: "-1", err: errSyntax},
		{arg: "1 2", err: errSyntax},
		{arg: "|||", err: errSyntax},
	}
	for _, tt := range tests {
		proto, all, err := parseEPSV(tt.arg)
		if tt.err != nil {
			assert.ErrorIs(t, err, tt.err, "parseEPSV(%q)", tt.arg)
			continue
		}
		require.NoError(t, err, "parseEPSV(%q)", tt.arg)
		assert.Equal(t, tt.proto, proto, "protocol of %q", tt.arg)
		assert.Equal(t, tt.all, all, "ALL of %q", tt.arg)
	}
}

func TestParseType(t *testing.T) {
	tests := []struct {
		arg  string
		want transferType
		err  error
	}{
		{arg: "A", want: typeASCII},
		{arg: "a", want: typeASCII},
		{arg: "A N", want: typeASCII},
		{arg: "a n", want: typeASCII},
		{arg: "A  N ", want: typeASCII},
		{arg: "I", want: typeImage},
		{arg: "i", want: typeImage},
		{arg: "L 8", want: typeImage},
		{arg: "l 8", want: typeImage},
		{arg: "L8", want: typeImage},
		{arg: "A T", err: errNotImplementedParam},
		{arg: "A C", err: errNotImplementedParam},
		{arg: "E", err: errNotImplementedParam},
		{arg: "E N", err: errNotImplementedParam},
		{arg: "L 7", err: errNotImplementedParam},
		{arg: "L 36", err: errNotImplementedParam},
		{arg: "", err: errSyntax},
		{arg: "X", err: errSyntax},
		{arg: "AN", err: errSyntax},
		{arg: "A X", err: errSyntax},
		{arg: "A NN", err: errSyntax},
		{arg: "I N", err: errSyntax},
		{arg: "L", err: errSyntax},
		{arg: "L 0", err: errSyntax},
		{arg: "L 256", err: errSyntax},
		{arg: "L x", err: errSyntax},
		{arg: "ASCII", err: errSyntax},
		{arg: "BINARY", err: errSyntax},
	}
	for _, tt := range tests {
		got, err := parseType(tt.arg)
		if tt.err != nil {
			assert.ErrorIs(t, err, tt.err, "parseType(%q)", tt.arg)
			continue
		}
		require.NoError(t, err, "parseType(%q)", tt.arg)
		assert.Equal(t, tt.want, got, "parseType(%q)", tt.arg)
	}
	assert.Equal(t, "ASCII", typeASCII.String())
	assert.Equal(t, "Image", typeImage.String())
	assert.Equal(t, "transferType(7)", transferType(7).String())
}

func TestParseModeStru(t *testing.T) {
	tests := []struct {
		parse func(string) error
		arg   string
		err   error
	}{
		{parseMode, "S", nil},
		{parseMode, "s", nil},
		{parseMode, " S ", nil},
		{parseMode, "B", errNotImplementedParam},
		{parseMode, "C", errNotImplementedParam},
		{parseMode, "Z", errSyntax},
		{parseMode, "F", errSyntax},
		{parseMode, "", errSyntax},
		{parseMode, "SS", errSyntax},
		{parseStru, "F", nil},
		{parseStru, "f", nil},
		{parseStru, "R", errNotImplementedParam},
		{parseStru, "p", errNotImplementedParam},
		{parseStru, "S", errSyntax},
		{parseStru, "", errSyntax},
		{parseStru, "F R", errSyntax},
	}
	for i, tt := range tests {
		err := tt.parse(tt.arg)
		if tt.err == nil {
			assert.NoError(t, err, "case %d: %q", i, tt.arg)
		} else {
			assert.ErrorIs(t, err, tt.err, "case %d: %q", i, tt.arg)
		}
	}
}

func TestParseRest(t *testing.T) {
	tests := []struct {
		arg  string
		want int64
		err  bool
	}{
		{arg: "0", want: 0},
		{arg: "1024", want: 1024},
		{arg: " 1024 ", want: 1024},
		{arg: "007", want: 7},
		{arg: "9223372036854775807", want: math.MaxInt64},
		{arg: "9223372036854775808", err: true},
		{arg: "99999999999999999999", err: true},
		{arg: "", err: true},
		{arg: "-1", err: true},
		{arg: "+1", err: true},
		{arg: "1k", err: true},
		{arg: "1 2", err: true},
	}
	for _, tt := range tests {
		got, err := parseRest(tt.arg)
		if tt.err {
			assert.ErrorIs(t, err, errSyntax, "parseRest(%q)", tt.arg)
			continue
		}
		require.NoError(t, err, "parseRest(%q)", tt.arg)
		assert.Equal(t, tt.want, got, "parseRest(%q)", tt.arg)
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		s    string
		want time.Time
		err  bool
	}{
		{s: "20020717210715", want: time.Date(2002, 7, 17, 21, 7, 15, 0, time.UTC)},
		{s: "19980615100045.014", want: time.Date(1998, 6, 15, 10, 0, 45, 14e6, time.UTC)},
		{s: "19980615100045.5", want: time.Date(1998, 6, 15, 10, 0, 45, 5e8, time.UTC)},
		{s: "19980615100045.1234567891234", want: time.Date(1998, 6, 15, 10, 0, 45, 123456789, time.UTC)},
		{s: "20240229000000", want: time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{s: "20000229235959", want: time.Date(2000, 2, 29, 23, 59, 59, 0, time.UTC)},
		{s: "10000101000000", want: time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{s: "99991231235959", want: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)},
		{s: "20161231235960", want: time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC)}, // leap second
		{s: "20230229000000", err: true},
		{s: "19000229000000", err: true},
		{s: "20020431000000", err: true},
		{s: "20021301000000", err: true},
		{s: "20020001000000", err: true},
		{s: "20020100000000", err: true},
		{s: "20020101240000", err: true},
		{s: "20020101006000", err: true},
		{s: "20020101000061", err: true},
		{s: "09990101000000", err: true},
		{s: "2002071721071", err: true},
		{s: "20020717210715.", err: true},
		{s: "20020717210715.x", err: true},
		{s: "20020717210715,5", err: true},
		{s: "20020717210715 ", err: true},
		{s: "2002-07-17T21:0", err: true},
		{s: "", err: true},
	}
	for _, tt := range tests {
		got, err := parseTime(tt.s)
		if tt.err {
			assert.ErrorIs(t, err, errSyntax, "parseTime(%q)", tt.s)
			continue
		}
		require.NoError(t, err, "parseTime(%q)", tt.s)
		assert.True(t, tt.want.Equal(got), "parseTime(%q) = %v, want %v", tt.s, got, tt.want)
		assert.Equal(t, time.UTC, got.Location(), "parseTime(%q) should be UTC", tt.s)
	}
}

func TestParseMFMT(t *testing.T) {
	tests := []struct {
		arg  string
		when time.Time
		path string
		err  bool
	}{
		{arg: "20020717210715 Fred.txt", when: time.Date(2002, 7, 17, 21, 7, 15, 0, time.UTC), path: "Fred.txt"},
		{arg: "20020717210715 my file .txt ", when: time.Date(2002, 7, 17, 21, 7, 15, 0, time.UTC), path: "my file .txt "},
		{arg: "20020717210715.25  lead", when: time.Date(2002, 7, 17, 21, 7, 15, 25e7, time.UTC), path: " lead"},
		{arg: "20020717210715 日本語/ファイル", when: time.Date(2002, 7, 17, 21, 7, 15, 0, time.UTC), path: "日本語/ファイル"},
		{arg: "20020717210715", err: true},
		{arg: "20020717210715 ", err: true},
		{arg: " 20020717210715 a", err: true},
		{arg: "20230229000000 a", err: true},
		{arg: "", err: true},
	}
	for _, tt := range tests {
		when, p, err := parseMFMT(tt.arg)
		if tt.err {
			assert.ErrorIs(t, err, errSyntax, "parseMFMT(%q)", tt.arg)
			continue
		}
		require.NoError(t, err, "parseMFMT(%q)", tt.arg)
		assert.True(t, tt.when.Equal(when), "time of %q: %v", tt.arg, when)
		assert.Equal(t, tt.path, p, "path of %q", tt.arg)
	}
}

func TestParseListArgs(t *testing.T) {
	tests := []struct {
		arg, flags, name string
	}{
		{"", "", ""},
		{"-la /dir", "la", "/dir"},
		{"-a", "a", ""},
		{"-l", "l", ""},
		{"-la", "la", ""},
		{"-l -a dir", "la", "dir"},
		{"-l  -a   dir name ", "la", "dir name "},
		{"dir name", "", "dir name"},
		{" lead", "", " lead"},
		{"-", "", "-"},
		{"-my-file.txt", "", "-my-file.txt"},
		{"-l -my-file", "l", "-my-file"},
		{"-1", "1", ""},
		{"-- -la", "", "-la"},
		{"-l -- -a", "l", "-a"},
		{"-l ", "l", ""},
		{"日本語", "", "日本語"},
	}
	for _, tt := range tests {
		flags, name := parseListArgs(tt.arg)
		assert.Equal(t, tt.flags, flags, "flags of %q", tt.arg)
		assert.Equal(t, tt.name, name, "name of %q", tt.arg)
	}
}

func TestResolvePath(t *testing.T) {
	long := strings.Repeat("x", 255)
	tests := []struct {
		cwd, arg   string
		virt, name string
		err        bool
	}{
		{cwd: "/", arg: "", virt: "/", name: "."},
		{cwd: "/a/b", arg: "", virt: "/a/b", name: "a/b"},
		{cwd: "/a", arg: "../../..", virt: "/", name: "."},
		{cwd: "/", arg: "a//b/./c/", virt: "/a/b/c", name: "a/b/c"},
		{cwd: "/a", arg: "b", virt: "/a/b", name: "a/b"},
		{cwd: "/a", arg: "/b", virt: "/b", name: "b"},
		{cwd: "/a", arg: "/", virt: "/", name: "."},
		{cwd: "/a", arg: ".", virt: "/a", name: "a"},
		{cwd: "/a/b", arg: "..", virt: "/a", name: "a"},
		{cwd: "/a", arg: "/../../etc/passwd", virt: "/etc/passwd", name: "etc/passwd"},
		{cwd: "/a", arg: "..\\..\\x", virt: "/a/..\\..\\x", name: "a/..\\..\\x"},
		{cwd: "/", arg: " my file ", virt: "/ my file ", name: " my file "},
		{cwd: "/日本語", arg: "ファイル.txt", virt: "/日本語/ファイル.txt", name: "日本語/ファイル.txt"},
		{cwd: "/", arg: "~", virt: "/~", name: "~"},
		{cwd: "/", arg: "...", virt: "/...", name: "..."},
		{cwd: "", arg: "a", virt: "/a", name: "a"},
		{cwd: "rel", arg: "a", virt: "/rel/a", name: "rel/a"},
		{cwd: "/", arg: long, virt: "/" + long, name: long},
		{cwd: "/", arg: long + "x", err: true},
		{cwd: "/", arg: long + "x/..", virt: "/", name: "."},
		{cwd: "/", arg: strings.Repeat("a/", 2049), err: true},
		{cwd: "/" + strings.Repeat("abc/", 600) + "abc", arg: strings.Repeat("abc/", 500) + "abc", err: true},
		{cwd: "/", arg: "a\x00b", err: true},
		{cwd: "/", arg: "a\rb", err: true},
		{cwd: "/", arg: "a\nb", err: true},
		{cwd: "/", arg: "\xff\xfe", err: true},
		{cwd: "/\xff", arg: "a", err: true},
	}
	for _, tt := range tests {
		virt, name, err := resolvePath(tt.cwd, tt.arg)
		if tt.err {
			assert.ErrorIs(t, err, errBadPath, "resolvePath(%q, %q)", tt.cwd, tt.arg)
			continue
		}
		require.NoError(t, err, "resolvePath(%q, %q)", tt.cwd, tt.arg)
		assert.Equal(t, tt.virt, virt, "virtual path of (%q, %q)", tt.cwd, tt.arg)
		assert.Equal(t, tt.name, name, "vfs name of (%q, %q)", tt.cwd, tt.arg)
		assert.True(t, fs.ValidPath(name), "vfs name %q should be fs.ValidPath", name)
	}
	// Exactly 4096 bytes is allowed.
	arg := strings.Repeat("abc/", 1023) + "abc"
	virt, _, err := resolvePath("/", arg)
	require.NoError(t, err, "a 4096-byte path should resolve")
	assert.Len(t, virt, 4096)
}

func TestQuotePath(t *testing.T) {
	tests := []struct{ p, want string }{
		{"/", `"/"`},
		{"/usr/tDM", `"/usr/tDM"`},
		{`a"b`, `"a""b"`},
		{`"`, `""""`},
		{`/a "quoted" dir`, `"/a ""quoted"" dir"`},
		{"/日本語", `"/日本語"`},
		{"a\rb", "\"a\r\x00b\""},
		{"a\nb", "\"a\x00b\""},
		{"a\r\nb", "\"a\r\x00\x00b\""},
		{"", `""`},
	}
	for _, tt := range tests {
		got := quotePath(tt.p)
		assert.Equal(t, tt.want, got, "quotePath(%q)", tt.p)
		assert.NotContains(t, strings.ReplaceAll(got, "\r\x00", ""), "\r", "quotePath(%q) must not hold a bare CR", tt.p)
		assert.NotContains(t, got, "\n", "quotePath(%q) must not hold an LF", tt.p)
	}
}

func TestParseHashAlgo(t *testing.T) {
	tests := []struct {
		s    string
		want hashAlgo
		name string
		sum  string // of "abc"
	}{
		{"SHA-256", hashSHA256, "SHA-256", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"sha-256", hashSHA256, "SHA-256", ""},
		{"SHA-512", hashSHA512, "SHA-512", "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"},
		{"Sha-1", hashSHA1, "SHA-1", "a9993e364706816aba3e25717850c26c9cd0d89d"},
		{"MD5", hashMD5, "MD5", "900150983cd24fb0d6963f7d28e17f72"},
		{"crc32", hashCRC32, "CRC32", "352441c2"},
	}
	for _, tt := range tests {
		a, err := parseHashAlgo(tt.s)
		require.NoError(t, err, "parseHashAlgo(%q)", tt.s)
		assert.Equal(t, tt.want, a, "parseHashAlgo(%q)", tt.s)
		assert.Equal(t, tt.name, a.String(), "canonical name of %q", tt.s)
		if tt.sum != "" {
			h := a.new()
			require.NotNil(t, h, "%s.new()", a)
			h.Write([]byte("abc"))
			assert.Equal(t, tt.sum, lowerHex(h.Sum(nil)), "%s of abc", a)
		}
	}
	for _, s := range []string{"", "SHA256", "SHA-384", "CRC-37", " MD5"} {
		_, err := parseHashAlgo(s)
		assert.ErrorIs(t, err, errUnsupportedHash, "parseHashAlgo(%q)", s)
	}
	var zero hashAlgo
	assert.Equal(t, hashSHA256, zero, "the zero hashAlgo should be SHA-256")
	assert.Nil(t, hashAlgo(200).new(), "an invalid hashAlgo has no hash")
	assert.Equal(t, "hashAlgo(200)", hashAlgo(200).String())
}

func lowerHex(b []byte) string {
	const digits = "0123456789abcdef"
	s := make([]byte, 0, 2*len(b))
	for _, c := range b {
		s = append(s, digits[c>>4], digits[c&15])
	}
	return string(s)
}

func TestParseMLSTOpts(t *testing.T) {
	tests := []struct {
		arg  string
		want factSet
		str  string
		feat string
	}{
		{"type;size;modify;perm;unique;", defaultFacts, "type;size;modify;perm;unique;", "type*;size*;modify*;perm*;unique*;"},
		{"Type;UNIX.mode;Perm;", factType | factPerm, "type;perm;", "type*;size;modify;perm*;unique;"},
		{"lang;type;charset;create;", factType, "type;", "type*;size;modify;perm;unique;"},
		{"size;frogs;", factSize, "size;", "type;size*;modify;perm;unique;"},
		{"unique;modify", factUnique | factModify, "modify;unique;", "type;size;modify*;perm;unique*;"},
		{"UNIQUE;;TYPE;", factUnique | factType, "type;unique;", "type*;size;modify;perm;unique*;"},
		{"", 0, "", "type;size;modify;perm;unique;"},
		{"unique type;", 0, "", "type;size;modify;perm;unique;"},
	}
	for _, tt := range tests {
		got := parseMLSTOpts(tt.arg)
		assert.Equal(t, tt.want, got, "parseMLSTOpts(%q)", tt.arg)
		assert.Equal(t, tt.str, got.String(), "String of %q", tt.arg)
		assert.Equal(t, tt.feat, got.feat(), "feat of %q", tt.arg)
	}
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"USER anonymous", "retr  a b", "", " x", "CWD\tx", "A\x00", "ÜSER"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		verb, arg, err := parseCommand(line)
		if err != nil {
			return
		}
		if verb == "" || len(verb) > maxVerbLen {
			t.Fatalf("parseCommand(%q): verb %q has a bad length", line, verb)
		}
		for i := 0; i < len(verb); i++ {
			if verb[i] < 'A' || verb[i] > 'Z' {
				t.Fatalf("parseCommand(%q): verb %q is not upper-case letters", line, verb)
			}
		}
		if !strings.EqualFold(line, verb) && !strings.EqualFold(line, verb+" "+arg) {
			t.Fatalf("parseCommand(%q) = %q, %q: does not rebuild the line", line, verb, arg)
		}
	})
}

func FuzzParseHostPort(f *testing.F) {
	for _, s := range []string{"127,0,0,1,4,1", " 1 , 2,3,4,5,6", "300,1,1,1,1,1", "1,1,1,1,1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		ap, err := parseHostPort(arg)
		if err != nil {
			return
		}
		if !ap.Addr().Is4() {
			t.Fatalf("parseHostPort(%q) = %v: not IPv4", arg, ap)
		}
		back, err := parseHostPort(formatHostPort(ap))
		if err != nil || back != ap {
			t.Fatalf("parseHostPort(%q) = %v does not round-trip: %v, %v", arg, ap, back, err)
		}
	})
}

func FuzzParseEPRT(f *testing.F) {
	for _, s := range []string{"|1|132.235.1.2|6275|", "|2|::1|5282|", "|2|::ffff:1.2.3.4|1|", "|3|x|1|", "!1!1.2.3.4!0!"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		ap, err := parseEPRT(arg)
		if err != nil {
			if err != errSyntax && err != errUnsupportedProtocol {
				t.Fatalf("parseEPRT(%q): unexpected error %v", arg, err)
			}
			return
		}
		if !ap.IsValid() || ap.Port() == 0 || ap.Addr().Zone() != "" || ap.Addr().Is4In6() {
			t.Fatalf("parseEPRT(%q) = %v: invalid result", arg, ap)
		}
	})
}

func FuzzParseEPSV(f *testing.F) {
	for _, s := range []string{"", "1", "2", "ALL", "all", "3", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		proto, all, err := parseEPSV(arg)
		if err != nil {
			return
		}
		if proto != 0 && proto != 1 && proto != 2 || all && proto != 0 {
			t.Fatalf("parseEPSV(%q) = %d, %v", arg, proto, all)
		}
	})
}

func FuzzResolvePath(f *testing.F) {
	for _, s := range [][2]string{{"/", ""}, {"/a", "../../.."}, {"/", "a//b/./c/"}, {"/x", "/.."}, {"/", "日本語/..\\x"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, cwd, arg string) {
		virt, name, err := resolvePath(cwd, arg)
		if err != nil {
			return
		}
		if !strings.HasPrefix(virt, "/") {
			t.Fatalf("resolvePath(%q, %q) = %q: not absolute", cwd, arg, virt)
		}
		if !fs.ValidPath(name) {
			t.Fatalf("resolvePath(%q, %q) name %q is not fs.ValidPath", cwd, arg, name)
		}
		for _, elem := range strings.Split(virt, "/") {
			if elem == ".." || elem == "." {
				t.Fatalf("resolvePath(%q, %q) = %q has a %q element", cwd, arg, virt, elem)
			}
		}
		if want := "/" + name; name == "." && virt != "/" || name != "." && virt != want {
			t.Fatalf("resolvePath(%q, %q) = %q, %q: virt and name disagree", cwd, arg, virt, name)
		}
		if len(virt) > pathMaxTotal || strings.ContainsAny(virt, "\x00\r\n") {
			t.Fatalf("resolvePath(%q, %q) = %q: over the limits", cwd, arg, virt)
		}
		// Resolving again from the result is a no-op.
		if v2, n2, err := resolvePath(virt, ""); err != nil || v2 != virt || n2 != name {
			t.Fatalf("resolvePath(%q, \"\") = %q, %q, %v; want %q, %q", virt, v2, n2, err, virt, name)
		}
	})
}
