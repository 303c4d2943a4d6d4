package ftp

import (
	"bufio"
	"bytes"
	"io"
	"io/fs"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
)

// sixMonths is the age past which ls prints a year instead of a time: half
// an average Gregorian year, as GNU ls uses.
const sixMonths = 31556952 * time.Second / 2

// appendListLine appends to b one LIST line for fi, ending in CRLF, in the
// `ls -l` form that servers such as vsftpd send and clients parse (RFC 959
// section 4.1.3 leaves the format open):
//
//	drwxr-xr-x 1 ftp ftp          4096 Nov 25 13:40 name
//
// The link count is 1, owner and group are "ftp", the size is
// right-aligned in 13 columns. The date, in UTC, is "Jan _2 15:04" for a
// time in the six months up to now and "Jan _2  2006" otherwise, future
// times included. A symbolic link shows only its name, no " -> target".
// A CR or LF in the name is written as '?' (see appendNameLine).
func appendListLine(b []byte, fi fs.FileInfo, now time.Time) []byte {
	b = appendFileMode(b, fi.Mode())
	b = append(b, " 1 ftp ftp "...)
	size := fi.Size()
	if size < 0 {
		size = 0
	}
	var num [20]byte
	digits := strconv.AppendInt(num[:0], size, 10)
	for i := len(digits); i < 13; i++ {
		b = append(b, ' ')
	}
	b = append(b, digits...)
	b = append(b, ' ')
	t := fi.ModTime()
	if !t.After(now) && t.After(now.Add(-sixMonths)) {
		b = t.UTC().AppendFormat(b, "Jan _2 15:04")
	} else {
		b = t.UTC().AppendFormat(b, "Jan _2  2006")
	}
	b = append(b, ' ')
	b = appendListName(b, fi.Name())
	return append(b, '\r', '\n')
}

// appendFileMode appends the ten-character mode of ls -l: the type letter
// and the rwx bits with setuid, setgid and sticky shown as s, S, t, T.
func appendFileMode(b []byte, m fs.FileMode) []byte {
	var typ byte
	switch {
	case m&fs.ModeDir != 0:
		typ = 'd'
	case m&fs.ModeSymlink != 0:
		typ = 'l'
	case m&fs.ModeNamedPipe != 0:
		typ = 'p'
	case m&fs.ModeSocket != 0:
		typ = 's'
	case m&fs.ModeCharDevice != 0:
		typ = 'c'
	case m&fs.ModeDevice != 0:
		typ = 'b'
	case m&fs.ModeIrregular != 0:
		typ = '?'
	default:
		typ = '-'
	}
	const rwx = "rwxrwxrwx"
	var s [10]byte
	s[0] = typ
	for i := range 9 {
		if m&(1<<(8-i)) != 0 {
			s[i+1] = rwx[i]
		} else {
			s[i+1] = '-'
		}
	}
	special := func(i int, set bool, on, off byte) {
		if set {
			if s[i] == 'x' {
				s[i] = on
			} else {
				s[i] = off
			}
		}
	}
	special(3, m&fs.ModeSetuid != 0, 's', 'S')
	special(6, m&fs.ModeSetgid != 0, 's', 'S')
	special(9, m&fs.ModeSticky != 0, 't', 'T')
	return append(b, s[:]...)
}

// appendNameLine appends the NLST line "name\r\n" (RFC 959 section 4.1.3).
//
// LIST, NLST and MLSD entries are delimited by CRLF, so a CR or LF in a
// name a backend returns would end the entry early and let the rest pose
// as another entry. Such bytes are written as '?', as GNU ls -q does;
// resolvePath refuses them, so those files cannot be named by a client
// anyway.
func appendNameLine(b []byte, name string) []byte {
	b = appendListName(b, name)
	return append(b, '\r', '\n')
}

func appendListName(b []byte, name string) []byte {
	if !strings.ContainsAny(name, "\r\n") {
		return append(b, name...)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '\r' || c == '\n' {
			c = '?'
		}
		b = append(b, c)
	}
	return b
}

// appendFacts appends an MLSx entry of RFC 3659 section 7.2 without its
// line end: the facts of the set, each "name=value;", one SP, and the
// name. MLSD adds CRLF; MLST sends it after one SP in its 250 reply.
//
//	type=file;size=123;modify=20261125134000;perm=adfrw;unique=803g1a; name
//
// Facts come in the order type, size, modify, perm, unique:
//   - type is typ ("file", "dir", "cdir", "pdir"; section 7.5.1), or
//     "dir" or "file" from fi when typ is "";
//   - size (section 7.5.7) only for entries that are not directories;
//   - modify (section 7.5.3) as formatTime, left out when the time has no
//     time-val (a year outside 1000 to 9999, such as the zero time);
//   - perm (section 7.5.5) is perm as computed by the caller, possibly "";
//   - unique (section 7.5.2) is uniqueID(fi).
//
// With no facts the entry is " name", as section 7.9 requires. A CR or LF
// in the name is written as '?' (see appendNameLine).
func appendFacts(b []byte, fi fs.FileInfo, name, typ, perm string, facts factSet) []byte {
	if facts&factType != 0 {
		if typ == "" {
			typ = "file"
			if fi.IsDir() {
				typ = "dir"
			}
		}
		b = append(b, "type="...)
		b = append(b, typ...)
		b = append(b, ';')
	}
	if facts&factSize != 0 && !fi.IsDir() {
		b = append(b, "size="...)
		b = strconv.AppendInt(b, max(fi.Size(), 0), 10)
		b = append(b, ';')
	}
	if facts&factModify != 0 {
		if t := fi.ModTime().UTC(); t.Year() >= 1000 && t.Year() <= 9999 {
			b = append(b, "modify="...)
			b = appendTimeVal(b, t)
			b = append(b, ';')
		}
	}
	if facts&factPerm != 0 {
		b = append(b, "perm="...)
		b = append(b, perm...)
		b = append(b, ';')
	}
	if facts&factUnique != 0 {
		b = append(b, "unique="...)
		b = appendUniqueID(b, fi)
		b = append(b, ';')
	}
	b = append(b, ' ')
	return appendListName(b, name)
}

// uniqueID returns the value of the unique fact (RFC 3659 section 7.5.2)
// for fi. When fi.Sys() is a *syscall.Stat_t, or any struct or pointer to
// a struct with integer fields Dev and Ino, it is "<dev>g<ino>" in
// lower-case hexadecimal: the same for every name of one file. Otherwise
// it is the hexadecimal FNV-1a hash of the name, modification time and
// size: stable while the file does not change, and never containing 'g',
// so the two forms cannot collide.
//
// Reflection, not a type assertion on *syscall.Stat_t, keeps this file
// building on every GOOS (Windows has no Stat_t); the field lookup is
// cached per type.
func uniqueID(fi fs.FileInfo) string {
	var buf [40]byte
	return string(appendUniqueID(buf[:0], fi))
}

func appendUniqueID(b []byte, fi fs.FileInfo) []byte {
	if dev, ino, ok := devIno(fi.Sys()); ok {
		b = strconv.AppendUint(b, dev, 16)
		b = append(b, 'g')
		return strconv.AppendUint(b, ino, 16)
	}
	// FNV-1a, 64 bits, written out to hash without allocating.
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	add := func(c byte) { h = (h ^ uint64(c)) * prime }
	name := fi.Name()
	for i := 0; i < len(name); i++ {
		add(name[i])
	}
	t := fi.ModTime()
	for _, x := range [...]uint64{uint64(t.Unix()), uint64(t.Nanosecond()), uint64(fi.Size())} {
		for i := range 8 {
			add(byte(x >> (8 * i)))
		}
	}
	return strconv.AppendUint(b, h, 16)
}

// statFields caches, per reflect.Type of a struct, the field indices of
// Dev and Ino, or -1 when the type has no usable pair.
var statFields sync.Map // reflect.Type -> [2]int

func devIno(sys any) (dev, ino uint64, ok bool) {
	if sys == nil {
		return 0, 0, false
	}
	v := reflect.ValueOf(sys)
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return 0, 0, false
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return 0, 0, false
	}
	t := v.Type()
	var idx [2]int
	if c, found := statFields.Load(t); found {
		idx = c.([2]int)
	} else {
		idx = [2]int{-1, -1}
		for i := range t.NumField() {
			f := t.Field(i)
			if !isIntKind(f.Type.Kind()) {
				continue
			}
			switch f.Name {
			case "Dev":
				idx[0] = i
			case "Ino":
				idx[1] = i
			}
		}
		statFields.Store(t, idx)
	}
	if idx[0] < 0 || idx[1] < 0 {
		return 0, 0, false
	}
	return uintOf(v.Field(idx[0])), uintOf(v.Field(idx[1])), true
}

func isIntKind(k reflect.Kind) bool {
	return reflect.Int <= k && k <= reflect.Uint64
}

// uintOf returns an integer field as an unsigned number of its own width,
// so a negative int32 device number prints as 8 hex digits, not 16.
func uintOf(v reflect.Value) uint64 {
	if v.CanUint() {
		return v.Uint()
	}
	bits := v.Type().Bits()
	return uint64(v.Int()) & (1<<bits - 1)
}

// formatTime formats t as a time-val "YYYYMMDDHHMMSS" in UTC (RFC 3659
// sections 2.3 and 3.1), adding ".sss" only when the milliseconds are not
// zero: section 2.3 forbids precision that is not there. The result is
// only a valid time-val for years 1000 to 9999; callers check the zero
// time.
func formatTime(t time.Time) string {
	var buf [len("20060102150405.000") + 8]byte
	return string(appendTimeVal(buf[:0], t))
}

// appendTimeVal appends t as the time-val of RFC 3659 section 2.3, always
// whole seconds: the fraction is optional, and several client libraries
// cannot parse it.
func appendTimeVal(b []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(b, "20060102150405")
}

// asciiWriter is the sending side of TYPE A (RFC 959 section 3.1.1.1):
// every LF not already preceded by a CR becomes CRLF. A CRLF split across
// two Writes is seen as one.
type asciiWriter struct {
	w   io.Writer
	cr  bool   // the last byte written was CR
	buf []byte // converted output, reused between Writes
}

// asciiChunk bounds the input converted per underlying Write.
const asciiChunk = 16 << 10

// newASCIIWriter returns a writer that converts bare LF to CRLF on the way
// to w. It does not buffer across Writes: each Write is passed on at once,
// as one underlying Write per 16 KiB of input.
func newASCIIWriter(w io.Writer) io.Writer {
	return &asciiWriter{w: w}
}

func (a *asciiWriter) Write(p []byte) (n int, err error) {
	for len(p) > 0 {
		chunk := p[:min(len(p), asciiChunk)]
		out := a.buf[:0]
		cr := a.cr
		for rest := chunk; len(rest) > 0; {
			i := bytes.IndexByte(rest, '\n')
			if i < 0 {
				out = append(out, rest...)
				break
			}
			if (i > 0 && rest[i-1] != '\r') || (i == 0 && !cr) {
				out = append(out, rest[:i]...)
				out = append(out, '\r', '\n')
			} else {
				out = append(out, rest[:i+1]...)
			}
			cr = false
			rest = rest[i+1:]
		}
		a.buf = out
		m, err := a.w.Write(out)
		if m < len(out) && err == nil {
			err = io.ErrShortWrite
		}
		if err != nil {
			return n + a.consumed(chunk, m), err
		}
		a.cr = chunk[len(chunk)-1] == '\r'
		n += len(chunk)
		p = p[len(chunk):]
	}
	return n, nil
}

// consumed returns how many bytes of chunk produced the first m bytes of
// its conversion, and sets the CR state to match, after a short write.
func (a *asciiWriter) consumed(chunk []byte, m int) int {
	out := 0
	for i, c := range chunk {
		w := 1
		if c == '\n' && !a.cr {
			w = 2
		}
		if out+w > m {
			if w == 2 && out < m {
				// The CR of an expanded LF went out alone: the LF,
				// written again, must not get a second CR.
				a.cr = true
			}
			return i
		}
		out += w
		a.cr = c == '\r'
	}
	return len(chunk)
}

// asciiReader is the receiving side of TYPE A: CRLF becomes LF; a CR not
// followed by LF is kept, also when the two arrive in separate Reads.
type asciiReader struct {
	br *bufio.Reader
}

// newASCIIReader returns a reader that converts CRLF to LF on the way in
// from r, for STOR and APPE in TYPE A (RFC 959 section 3.1.1.1). A Read
// returns what is buffered rather than wait for more, except to learn
// whether a CR is followed by LF.
func newASCIIReader(r io.Reader) io.Reader {
	return &asciiReader{br: bufio.NewReaderSize(r, 32<<10)}
}

func (a *asciiReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if a.br.Buffered() == 0 {
			if n > 0 {
				break
			}
			if _, err := a.br.Peek(1); err != nil {
				return 0, err
			}
		}
		buf, _ := a.br.Peek(a.br.Buffered())
		i := bytes.IndexByte(buf, '\r')
		if i != 0 {
			if i < 0 {
				i = len(buf)
			}
			m := copy(p[n:], buf[:i])
			a.br.Discard(m)
			n += m
			continue
		}
		// buf starts with CR: its fate depends on the next byte.
		if len(buf) < 2 && n > 0 {
			break
		}
		next, err := a.br.Peek(2)
		switch {
		case len(next) == 2 && next[1] == '\n':
			p[n] = '\n'
			a.br.Discard(2)
		case len(next) == 2 || err == io.EOF:
			p[n] = '\r'
			a.br.Discard(1)
		default:
			return n, err
		}
		n++
	}
	return n, nil
}
