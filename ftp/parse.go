package ftp

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"hash"
	"hash/crc32"
	"math"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Errors of the pure parsers in this file. They carry no client text, so a
// handler may map them to replies with errors.Is and never echo input.
var (
	// errEmptyCommand: the control line was empty.
	errEmptyCommand = errors.New("ftp: empty command line")
	// errBadVerb: the command code is not 1 to maxVerbLen ASCII letters.
	errBadVerb = errors.New("ftp: malformed command verb")
	// errBadCommand: the control line holds a NUL byte.
	errBadCommand = errors.New("ftp: NUL byte in command line")
	// errSyntax: an argument does not follow its grammar (answered 501).
	errSyntax = errors.New("ftp: syntax error in argument")
	// errUnsupportedProtocol: an EPRT or EPSV network protocol other than
	// 1 (IPv4) and 2 (IPv6); RFC 2428 section 2 answers 522 "(1,2)".
	errUnsupportedProtocol = errors.New("ftp: unsupported network protocol")
	// errNotImplementedParam: a valid RFC 959 parameter that this server
	// does not implement (answered 504).
	errNotImplementedParam = errors.New("ftp: command not implemented for that parameter")
	// errBadPath: a pathname with a NUL, CR or LF byte, invalid UTF-8, or
	// over the length limits.
	errBadPath = errors.New("ftp: invalid pathname")
	// errUnsupportedHash: a hash algorithm name this server does not know.
	errUnsupportedHash = errors.New("ftp: unsupported hash algorithm")
)

// maxVerbLen is the longest command code parseCommand accepts. RFC 959
// section 5.3 says "four or fewer alphabetic characters"; extensions use
// longer ones in the wild, so up to eight are taken.
const maxVerbLen = 8

// Path limits enforced by resolvePath, the usual NAME_MAX and PATH_MAX.
const (
	pathMaxElem  = 255
	pathMaxTotal = 4096
)

// parseCommand splits one control line, its CRLF already removed, into an
// upper-cased verb and its argument (RFC 959 section 5.3).
//
// The verb ends at the first SP; everything after that one SP is the
// argument, verbatim. RFC 2640 section 3.1 requires exactly one SP and
// makes any further SP part of the pathname, so "RETR  a" has the argument
// " a". A verb followed by a tab is not split: the tab makes the verb
// invalid. A line that starts with SP has an empty verb.
//
// Errors: errEmptyCommand for "", errBadCommand for a NUL byte anywhere,
// errBadVerb for a verb that is empty, longer than maxVerbLen or holds
// anything but ASCII letters. An upper-case verb is returned without
// allocating.
func parseCommand(line string) (verb, arg string, err error) {
	if line == "" {
		return "", "", errEmptyCommand
	}
	if strings.IndexByte(line, 0) >= 0 {
		return "", "", errBadCommand
	}
	verb = line
	if i := strings.IndexByte(line, ' '); i >= 0 {
		verb, arg = line[:i], line[i+1:]
	}
	if verb == "" || len(verb) > maxVerbLen {
		return "", "", errBadVerb
	}
	lower := false
	for i := 0; i < len(verb); i++ {
		switch c := verb[i]; {
		case 'A' <= c && c <= 'Z':
		case 'a' <= c && c <= 'z':
			lower = true
		default:
			return "", "", errBadVerb
		}
	}
	if lower {
		verb = strings.ToUpper(verb)
	}
	return verb, arg, nil
}

// parseHostPort parses the PORT argument "h1,h2,h3,h4,p1,p2" (RFC 959
// sections 4.1.2 and 5.3.2) into an IPv4 address and port. Each number is
// decimal 0 to 255; spaces around the numbers are tolerated. Port 0 is
// returned as is: refusing low ports is the caller's policy.
func parseHostPort(arg string) (netip.AddrPort, error) {
	var f [6]byte
	s := arg
	for i := range f {
		s = trimLeftSP(s)
		n, rest, ok := parseSmallUint(s, 255)
		if !ok {
			return netip.AddrPort{}, errSyntax
		}
		f[i] = byte(n)
		s = trimLeftSP(rest)
		if i < len(f)-1 {
			if s == "" || s[0] != ',' {
				return netip.AddrPort{}, errSyntax
			}
			s = s[1:]
		}
	}
	if s != "" {
		return netip.AddrPort{}, errSyntax
	}
	addr := netip.AddrFrom4([4]byte{f[0], f[1], f[2], f[3]})
	return netip.AddrPortFrom(addr, uint16(f[4])<<8|uint16(f[5])), nil
}

// formatHostPort formats ap as "h1,h2,h3,h4,p1,p2", the part inside the
// parentheses of "227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)." (RFC 959
// section 4.2). An IPv4-mapped IPv6 address is unmapped; any other
// non-IPv4 address is written as 0,0,0,0, so the reply always keeps its
// syntax (PASV has no IPv6 form; RFC 2428 section 1 leaves that to EPSV).
func formatHostPort(ap netip.AddrPort) string {
	var ip [4]byte
	if a := ap.Addr().Unmap(); a.Is4() {
		ip = a.As4()
	}
	p := ap.Port()
	var buf [len("255,255,255,255,255,255")]byte
	b := buf[:0]
	for _, x := range ip {
		b = strconv.AppendUint(b, uint64(x), 10)
		b = append(b, ',')
	}
	b = strconv.AppendUint(b, uint64(p>>8), 10)
	b = append(b, ',')
	b = strconv.AppendUint(b, uint64(p&0xff), 10)
	return string(b)
}

// parseEPRT parses the EPRT argument <d><net-prt><d><net-addr><d><tcp-port><d>
// of RFC 2428 section 2. The delimiter is any ASCII character 33 to 126.
// net-prt 1 takes a dotted-decimal IPv4 address, 2 an IPv6 address
// (RFC 4291 text form, no zone); an IPv4-mapped IPv6 address is returned
// unmapped, as the IPv4 host it names. The port is decimal 1 to 65535.
//
// A well-formed argument with another protocol number gives
// errUnsupportedProtocol (the caller answers 522 "(1,2)"); anything else
// malformed gives errSyntax.
func parseEPRT(arg string) (netip.AddrPort, error) {
	if arg == "" || arg[0] < 33 || arg[0] > 126 {
		return netip.AddrPort{}, errSyntax
	}
	d := arg[0]
	rest := arg[1:]
	proto, rest, ok1 := cutByte(rest, d)
	host, rest, ok2 := cutByte(rest, d)
	port, rest, ok3 := cutByte(rest, d)
	if !ok1 || !ok2 || !ok3 || rest != "" {
		return netip.AddrPort{}, errSyntax
	}
	var v6 bool
	switch proto {
	case "1":
	case "2":
		v6 = true
	default:
		if isDigits(proto) {
			return netip.AddrPort{}, errUnsupportedProtocol
		}
		return netip.AddrPort{}, errSyntax
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || addr.Zone() != "" || addr.Is4() == v6 {
		return netip.AddrPort{}, errSyntax
	}
	n, tail, ok := parseSmallUint(port, math.MaxUint16)
	if !ok || tail != "" || n == 0 {
		return netip.AddrPort{}, errSyntax
	}
	return netip.AddrPortFrom(addr.Unmap(), uint16(n)), nil
}

// parseEPSV parses the optional EPSV argument of RFC 2428 section 3:
// "" gives (0, false), "1" or "2" the protocol, "ALL" in any case
// (0, true). Any other decimal number is errUnsupportedProtocol (522),
// anything else errSyntax. Surrounding spaces are ignored.
func parseEPSV(arg string) (proto int, all bool, err error) {
	s := trimSP(arg)
	switch {
	case s == "":
		return 0, false, nil
	case strings.EqualFold(s, "ALL"):
		return 0, true, nil
	case !isDigits(s):
		return 0, false, errSyntax
	}
	switch strings.TrimLeft(s, "0") {
	case "1":
		return 1, false, nil
	case "2":
		return 2, false, nil
	}
	return 0, false, errUnsupportedProtocol
}

// transferType is the representation type set by TYPE (RFC 959 section
// 3.1.1). The zero value is ASCII, the default of RFC 959 section 5.1.
type transferType uint8

const (
	typeASCII transferType = iota // TYPE A N, RFC 959 section 3.1.1.1
	typeImage                     // TYPE I or L 8, sections 3.1.1.3 and 3.1.1.4
)

func (t transferType) String() string {
	switch t {
	case typeASCII:
		return "ASCII"
	case typeImage:
		return "Image"
	}
	return "transferType(" + strconv.Itoa(int(t)) + ")"
}

// parseType parses the TYPE argument, case-insensitive (RFC 959 sections
// 4.1.2 and 5.3.2): "A", "A N" give typeASCII; "I", "L 8" and the common
// "L8" give typeImage (RFC 1123 section 4.1.2.1: L 8 is image on 8-bit
// hosts). The other forms of the grammar ("A T", "A C", "E ...", "L n"
// with n 1 to 255 other than 8) give errNotImplementedParam (504);
// everything else errSyntax (501).
func parseType(arg string) (transferType, error) {
	s := trimSP(arg)
	if s == "" {
		return 0, errSyntax
	}
	code, rest := upperASCII(s[0]), s[1:]
	param := trimLeftSP(rest)
	if param != "" && param == rest && code != 'L' {
		return 0, errSyntax // "AN": the form code needs its SP
	}
	switch code {
	case 'A', 'E':
		var form byte
		switch len(param) {
		case 0:
			form = 'N'
		case 1:
			form = upperASCII(param[0])
		}
		switch {
		case form != 'N' && form != 'T' && form != 'C':
			return 0, errSyntax
		case code == 'A' && form == 'N':
			return typeASCII, nil
		}
		return 0, errNotImplementedParam
	case 'I':
		if param == "" {
			return typeImage, nil
		}
	case 'L':
		n, tail, ok := parseSmallUint(param, 255)
		switch {
		case !ok || tail != "" || n == 0:
		case n == 8:
			return typeImage, nil
		default:
			return 0, errNotImplementedParam
		}
	}
	return 0, errSyntax
}

// parseMode parses the MODE argument (RFC 959 section 4.1.2): "S" (stream)
// is accepted, "B" and "C" give errNotImplementedParam, anything else
// errSyntax. Case-insensitive.
func parseMode(arg string) error {
	return parseLetter(arg, 'S', "BC")
}

// parseStru parses the STRU argument (RFC 959 section 4.1.2): "F" (file)
// is accepted, "R" and "P" give errNotImplementedParam, anything else
// errSyntax. Case-insensitive.
func parseStru(arg string) error {
	return parseLetter(arg, 'F', "RP")
}

func parseLetter(arg string, ok byte, known string) error {
	s := trimSP(arg)
	if len(s) != 1 {
		return errSyntax
	}
	switch c := upperASCII(s[0]); {
	case c == ok:
		return nil
	case strings.IndexByte(known, c) >= 0:
		return errNotImplementedParam
	}
	return errSyntax
}

// parseRest parses the REST marker as a decimal byte offset from 0 to
// math.MaxInt64 (RFC 3659 section 5.3: rest = "Rest" SP 1*DIGIT). Signs,
// other characters and overflow give errSyntax.
func parseRest(arg string) (int64, error) {
	s := trimSP(arg)
	if s == "" {
		return 0, errSyntax
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, errSyntax
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, errSyntax
		}
		n = n*10 + d
	}
	return n, nil
}

// parseTime parses a time-val "YYYYMMDDHHMMSS[.sss]" of RFC 3659 section
// 2.3, in UTC. It checks the ranges of that section (year 1000 to 9999,
// second 0 to 60) and that the day exists in its month, since MFMT must
// answer 501 for February 29 of a common year (draft-somers-ftp-mfxx
// section 3.2). The fraction may have any number of digits; nanoseconds
// are kept. A leap second (60) is normalised by time.Date into the next
// minute.
func parseTime(s string) (time.Time, error) {
	if len(s) < 14 || !isDigits(s[:14]) {
		return time.Time{}, errSyntax
	}
	num := func(i, j int) int {
		n := 0
		for _, c := range []byte(s[i:j]) {
			n = n*10 + int(c-'0')
		}
		return n
	}
	year, month, day := num(0, 4), num(4, 6), num(6, 8)
	hour, minute, sec := num(8, 10), num(10, 12), num(12, 14)
	nsec := 0
	if frac := s[14:]; frac != "" {
		if frac[0] != '.' || len(frac) < 2 || !isDigits(frac[1:]) {
			return time.Time{}, errSyntax
		}
		for i := 1; i <= 9; i++ {
			nsec *= 10
			if i < len(frac) {
				nsec += int(frac[i] - '0')
			}
		}
	}
	if year < 1000 || month < 1 || month > 12 || day < 1 ||
		day > daysIn(time.Month(month), year) ||
		hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, errSyntax
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), nil
}

func daysIn(m time.Month, year int) int {
	switch m {
	case time.February:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// parseMFMT parses the MFMT argument "time-val SP pathname"
// (draft-somers-ftp-mfxx section 3.1). The pathname is everything after
// the one SP, verbatim, and must not be empty.
func parseMFMT(arg string) (time.Time, string, error) {
	tv, name, ok := strings.Cut(arg, " ")
	if !ok || name == "" {
		return time.Time{}, "", errSyntax
	}
	t, err := parseTime(tv)
	if err != nil {
		return time.Time{}, "", err
	}
	return t, name, nil
}

// parseListArgs splits a LIST or NLST argument into ls-style flags and a
// pathname. RFC 959 section 4.1.3 knows only a pathname, but clients send
// "LIST -la" and "LIST -al dir" because servers have long passed the
// argument to ls. Leading words of "-" and letters or digits are flags,
// concatenated without their dashes ("-l -a dir" gives "la"); a "--" word
// ends the flags. The rest, after the spaces that follow the flags, is the
// pathname, verbatim. A word such as "-" or "-my-file" is a name, not
// flags. A name made only of a dash and letters ("-la") cannot be listed
// by name; the same holds for every server that accepts flags.
func parseListArgs(arg string) (flags, name string) {
	s := arg
	words := 0
	for s != "" && s[0] == '-' {
		word, rest, _ := strings.Cut(s, " ")
		if word == "--" {
			s = trimLeftSP(rest)
			break
		}
		if len(word) < 2 || !isFlagWord(word[1:]) {
			break
		}
		if words == 0 {
			flags = word[1:]
		} else {
			flags += word[1:]
		}
		words++
		s = trimLeftSP(rest)
	}
	if s == arg {
		return "", arg // no flags: keep leading spaces of a pathname
	}
	return flags, s
}

func isFlagWord(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// resolvePath resolves the client pathname arg against the current
// virtual directory cwd (absolute and clean, "/" for the root). It returns
// the new virtual path, absolute and clean, and the same path as a vfs
// name in io/fs form: "." for the root, "a/b" otherwise, always
// fs.ValidPath. An empty arg names cwd.
//
// ".." never climbs above the root, as under chroot; the root is the
// top of the virtual file system (RFC 3659 section 6.2 paths). A
// backslash is an ordinary character.
//
// Errors: errBadPath for a NUL byte, invalid UTF-8 (RFC 2640 section 3.1
// requires UTF-8), an element over 255 bytes or a path over 4096 bytes.
// A CR or LF byte is refused too. RFC 2640 section 3.1 allows both in
// pathnames, but LIST, NLST and MLSD delimit entries with CRLF, so such a
// name could forge listing lines; no client needs one.
func resolvePath(cwd, arg string) (virt, name string, err error) {
	if len(arg) > pathMaxTotal {
		return "", "", errBadPath
	}
	var p string
	switch {
	case arg == "":
		p = cwd
	case arg[0] == '/':
		p = arg
	default:
		p = cwd + "/" + arg
	}
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	if strings.ContainsAny(p, "\x00\r\n") || !utf8.ValidString(p) {
		return "", "", errBadPath
	}
	virt = path.Clean(p)
	if len(virt) > pathMaxTotal {
		return "", "", errBadPath
	}
	for rest := virt[1:]; rest != ""; {
		elem, tail, _ := strings.Cut(rest, "/")
		if len(elem) > pathMaxElem {
			return "", "", errBadPath
		}
		rest = tail
	}
	if virt == "/" {
		return "/", ".", nil
	}
	return virt, virt[1:], nil
}

// quotePath returns p in double quotes, as in the 257 reply of RFC 959
// Appendix II, with every embedded '"' doubled: `a"b` gives `"a""b"`.
// A CR becomes CR NUL, the Telnet form of a bare CR that RFC 2640 section
// 3.1 prescribes for pathnames. An LF becomes NUL: there is no way to send
// a bare LF that no client takes for an end of line, and the reply writer
// must never split a reply. resolvePath refuses CR and LF, so these
// replacements only guard against names from elsewhere.
func quotePath(p string) string {
	if strings.IndexAny(p, "\"\r\n") < 0 {
		return `"` + p + `"`
	}
	b := make([]byte, 0, len(p)+8)
	b = append(b, '"')
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '"':
			b = append(b, '"', '"')
		case '\r':
			b = append(b, '\r', 0)
		case '\n':
			b = append(b, 0)
		default:
			b = append(b, c)
		}
	}
	b = append(b, '"')
	return string(b)
}

// hashAlgo is a hash algorithm of the HASH command
// (draft-bryan-ftpext-hash-02 section 3). The zero value is SHA-256, a
// default no weaker than SHA-1 as section 5 asks.
type hashAlgo uint8

const (
	hashSHA256 hashAlgo = iota
	hashSHA512
	hashSHA1
	hashMD5
	hashCRC32
)

// hashNames are the canonical names, the IANA "Hash Function Textual
// Names" in upper case (section 3.1); CRC32 is not registered but widely
// used by clients.
var hashNames = [...]string{
	hashSHA256: "SHA-256",
	hashSHA512: "SHA-512",
	hashSHA1:   "SHA-1",
	hashMD5:    "MD5",
	hashCRC32:  "CRC32",
}

func (a hashAlgo) String() string {
	if int(a) < len(hashNames) {
		return hashNames[a]
	}
	return "hashAlgo(" + strconv.Itoa(int(a)) + ")"
}

// parseHashAlgo parses a hash name as given to OPTS HASH (section 3.2),
// case-insensitive (section 3.1). Unknown names give errUnsupportedHash
// (answered 501).
func parseHashAlgo(s string) (hashAlgo, error) {
	for a, name := range hashNames {
		if strings.EqualFold(s, name) {
			return hashAlgo(a), nil
		}
	}
	return 0, errUnsupportedHash
}

// new returns a new hash.Hash for a, or nil for a value that is not one
// of the hashAlgo constants. CRC32 is the IEEE polynomial.
func (a hashAlgo) new() hash.Hash {
	switch a {
	case hashSHA256:
		return sha256.New()
	case hashSHA512:
		return sha512.New()
	case hashSHA1:
		return sha1.New()
	case hashMD5:
		return md5.New()
	case hashCRC32:
		return crc32.NewIEEE()
	}
	return nil
}

// factSet is a set of the MLST facts this server supports (RFC 3659
// section 7.5), one bit per fact.
type factSet uint8

const (
	factType factSet = 1 << iota
	factSize
	factModify
	factPerm
	factUnique

	// defaultFacts are the facts sent before any OPTS MLST: all of them.
	defaultFacts = factType | factSize | factModify | factPerm | factUnique
)

// factNames lists the supported facts in the order of the FEAT example of
// RFC 3659 section 7.8.1, which is also the order of MLSx entries.
var factNames = [...]struct {
	f    factSet
	name string
}{
	{factType, "type"},
	{factSize, "size"},
	{factModify, "modify"},
	{factPerm, "perm"},
	{factUnique, "unique"},
}

// parseMLSTOpts parses the fact list of "OPTS MLST type;size;modify;"
// (RFC 3659 section 7.9), the argument after "MLST". Fact names are
// case-insensitive; unknown facts are ignored, as section 7.9.2 shows; an
// empty list selects no facts. The final ";" may be missing.
//
// Section 7.9.2 answers 501 to a list with a space ("unique type;"); this
// function cannot report that, and ignores the malformed element instead.
func parseMLSTOpts(arg string) factSet {
	var set factSet
	for s := arg; s != ""; {
		var name string
		name, s, _ = strings.Cut(s, ";")
		for _, f := range factNames {
			if strings.EqualFold(name, f.name) {
				set |= f.f
			}
		}
	}
	return set
}

// String returns the enabled facts as "type;size;" in RFC 3659 order, the
// list of the "200 MLST OPTS type;size;" reply (section 7.9.1). It is ""
// for the empty set.
func (f factSet) String() string {
	var buf [48]byte
	b := buf[:0]
	for _, n := range factNames {
		if f&n.f != 0 {
			b = append(b, n.name...)
			b = append(b, ';')
		}
	}
	return string(b)
}

// feat returns the factlist of the FEAT line "MLST type*;size*;..." (RFC
// 3659 section 7.8): every supported fact, the enabled ones marked "*".
func (f factSet) feat() string {
	var buf [48]byte
	b := buf[:0]
	for _, n := range factNames {
		b = append(b, n.name...)
		if f&n.f != 0 {
			b = append(b, '*')
		}
		b = append(b, ';')
	}
	return string(b)
}

// trimSP removes leading and trailing SP characters.
func trimSP(s string) string {
	s = trimLeftSP(s)
	for s != "" && s[len(s)-1] == ' ' {
		s = s[:len(s)-1]
	}
	return s
}

func trimLeftSP(s string) string {
	for s != "" && s[0] == ' ' {
		s = s[1:]
	}
	return s
}

func upperASCII(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

// isDigits reports whether s is one or more ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseSmallUint reads the leading decimal digits of s, at least one,
// whose value must not exceed limit. It returns the value and the rest.
func parseSmallUint(s string, limit uint32) (n uint32, rest string, ok bool) {
	i := 0
	for ; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
		n = n*10 + uint32(s[i]-'0')
		if n > limit {
			return 0, s, false
		}
	}
	return n, s[i:], i > 0
}

// cutByte is strings.Cut with a one-byte separator.
func cutByte(s string, sep byte) (before, after string, found bool) {
	if i := strings.IndexByte(s, sep); i >= 0 {
		return s[:i], s[i+1:], true
	}
	return s, "", false
}
