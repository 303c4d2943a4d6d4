package w3c

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ErrPattern reports a file name pattern that cannot be used.
var ErrPattern = errors.New("w3c: bad file name pattern")

// unit is a time variable of a pattern, or none for literal text.
type unit int

const (
	literal unit = iota
	year4        // yyyy
	year2        // yy: 2000 to 2099
	month        // mm
	day          // dd
	hour         // hh
)

// variables in the order they are tried at each position: yyyy before yy.
var variables = []struct {
	name string
	u    unit
}{
	{"yyyy", year4}, {"yy", year2}, {"mm", month}, {"dd", day}, {"hh", hour},
}

type part struct {
	u   unit
	lit string // the text of a literal part
}

// pattern is a parsed file name pattern: a directory and a base name whose
// quoted parts hold time variables, as in logs/ftp/"yyyymmdd".log. Names
// are expanded in UTC, the time zone of the log lines.
type pattern struct {
	dir   string
	parts []part
	// smallest is the finest variable present (hour < day < month < year),
	// literal when the name has none: the file never rotates.
	smallest unit
	// dated reports that a name tells its period: a year and every unit
	// down to the smallest (yyyymmdd, not mmdd or yyyyhh, whose names
	// repeat). Only such names can be aged for retention.
	dated bool
	re    *regexp.Regexp // matches the base names the pattern produces
}

// parsePattern parses s; a relative pattern is taken below dir.
func parsePattern(s, dir string) (*pattern, error) {
	if s == "" {
		return nil, fmt.Errorf("%w: empty", ErrPattern)
	}
	d, base := filepath.Split(s)
	if strings.ContainsRune(d, '"') {
		return nil, fmt.Errorf("%w: %s: time variables are allowed in the file name only", ErrPattern, s)
	}
	if base == "" {
		return nil, fmt.Errorf("%w: %s: no file name", ErrPattern, s)
	}
	if !filepath.IsAbs(d) && dir != "" {
		d = filepath.Join(dir, d)
	}
	if d == "" {
		d = "."
	}
	p := &pattern{dir: filepath.Clean(d)}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			p.parts = append(p.parts, part{lit: lit.String()})
			lit.Reset()
		}
	}
	quoted := false
	for i := 0; i < len(base); {
		c := base[i]
		if c == '"' {
			quoted = !quoted
			i++
			continue
		}
		if !quoted {
			lit.WriteByte(c)
			i++
			continue
		}
		if isLetter(c) {
			found := false
			for _, v := range variables {
				if len(base)-i >= len(v.name) && strings.EqualFold(base[i:i+len(v.name)], v.name) {
					flush()
					p.parts = append(p.parts, part{u: v.u})
					i += len(v.name)
					found = true
					break
				}
			}
			if !found {
				return nil, fmt.Errorf("%w: %s: unknown time variable at %q (want yyyy, yy, mm, dd or hh)", ErrPattern, s, base[i:])
			}
			continue
		}
		lit.WriteByte(c)
		i++
	}
	if quoted {
		return nil, fmt.Errorf("%w: %s: unterminated quote", ErrPattern, s)
	}
	flush()
	if len(p.parts) == 0 {
		return nil, fmt.Errorf("%w: %s: no file name", ErrPattern, s)
	}

	var has [hour + 1]bool
	var re strings.Builder
	re.WriteString("^")
	for _, pt := range p.parts {
		switch pt.u {
		case literal:
			re.WriteString(regexp.QuoteMeta(pt.lit))
		case year4:
			re.WriteString(`([0-9]{4})`)
		default:
			re.WriteString(`([0-9]{2})`)
		}
		has[pt.u] = true
		if pt.u != literal && (p.smallest == literal || pt.u > p.smallest) {
			p.smallest = pt.u
		}
	}
	re.WriteString("$")
	p.re = regexp.MustCompile(re.String())
	if p.smallest == year4 || p.smallest == year2 {
		p.smallest = year4 // both mean yearly
	}
	p.dated = (has[year4] || has[year2]) &&
		(p.smallest < month || has[month]) &&
		(p.smallest < day || has[day])
	return p, nil
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// rotates reports whether the name changes with time.
func (p *pattern) rotates() bool { return p.smallest != literal }

// base is the file name for t, without the directory.
func (p *pattern) base(t time.Time) string {
	t = t.UTC()
	var b []byte
	for _, pt := range p.parts {
		switch pt.u {
		case literal:
			b = append(b, pt.lit...)
		case year4:
			b = appendPadded(b, t.Year(), 4)
		case year2:
			b = appendPadded(b, t.Year()%100, 2)
		case month:
			b = appendPadded(b, int(t.Month()), 2)
		case day:
			b = appendPadded(b, t.Day(), 2)
		case hour:
			b = appendPadded(b, t.Hour(), 2)
		}
	}
	return string(b)
}

// name is the path of the file for t.
func (p *pattern) name(t time.Time) string { return filepath.Join(p.dir, p.base(t)) }

// period is the interval [start, end) that shares t's file name: the
// hour, day, month or year of t in UTC. A pattern without variables has
// one endless period.
func (p *pattern) period(t time.Time) (start, end time.Time) {
	t = t.UTC()
	y, m, d := t.Date()
	switch p.smallest {
	case hour:
		start = t.Truncate(time.Hour)
		return start, start.Add(time.Hour)
	case day:
		start = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 0, 1)
	case month:
		start = time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 1, 0)
	case year4:
		start = time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(1, 0, 0)
	}
	return time.Time{}, farFuture
}

var farFuture = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// parse returns the period start of a base name the pattern produces, and
// false for any other name: a name is the pattern's only if expanding the
// pattern with the time read from it gives the name back (so 20261341.log
// is not a file of "yyyymmdd".log).
func (p *pattern) parse(base string) (time.Time, bool) {
	if !p.dated {
		return time.Time{}, false
	}
	m := p.re.FindStringSubmatch(base)
	if m == nil {
		return time.Time{}, false
	}
	y, mo, d, h := 0, 1, 1, 0
	g := 1
	for _, pt := range p.parts {
		if pt.u == literal {
			continue
		}
		n, err := strconv.Atoi(m[g])
		g++
		if err != nil {
			return time.Time{}, false
		}
		switch pt.u {
		case year4:
			y = n
		case year2:
			y = 2000 + n
		case month:
			mo = n
		case day:
			d = n
		case hour:
			h = n
		}
	}
	t := time.Date(y, time.Month(mo), d, h, 0, 0, 0, time.UTC)
	if p.base(t) != base {
		return time.Time{}, false
	}
	return t, true
}

// appendPadded appends n (not negative) in decimal, zero-padded to width,
// without allocating.
func appendPadded(b []byte, n, width int) []byte {
	if n < 0 {
		return strconv.AppendInt(b, int64(n), 10)
	}
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	for len(tmp)-i < width {
		i--
		tmp[i] = '0'
	}
	return append(b, tmp[i:]...)
}
