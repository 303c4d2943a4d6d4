package w3c

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/ferryftp/ferry/ftp"
)

// Fields is the #Fields directive of every file: the entry's fields in the
// order they are written. cs-host, the virtual host, is an extension.
const Fields = "date time c-ip cs-username s-ip s-port cs-method cs-uri-stem sc-status sc-bytes cs-bytes time-taken cs-host"

// Version is the format version of the #Version directive.
const Version = "1.0"

// appendLine appends the entry as one line, LF-terminated (WD-logfile-960323
// "Format": lines end with LF or CRLF). Fields are separated by one space and
// never contain one: every text field goes through appendEscaped, and an
// empty field is "-".
func appendLine(b []byte, e *ftp.LogEntry) []byte {
	t := e.Time.UTC()
	b = appendDate(b, t)
	b = append(b, ' ')
	b = appendTime(b, t)
	b = append(b, ' ')
	b = appendAddr(b, e.Remote)
	b = append(b, ' ')
	b = appendEscaped(b, e.User)
	b = append(b, ' ')
	b = appendAddr(b, e.Local)
	b = append(b, ' ')
	if e.Local.IsValid() {
		b = strconv.AppendUint(b, uint64(e.Local.Port()), 10)
	} else {
		b = append(b, '-')
	}
	b = append(b, ' ')
	b = appendEscaped(b, e.Method)
	b = append(b, ' ')
	if strings.EqualFold(e.Method, "PASS") {
		// The engine blanks the password already; the file must not
		// depend on it.
		b = append(b, '-')
	} else {
		b = appendEscaped(b, e.URI)
	}
	b = append(b, ' ')
	if e.Status > 0 {
		b = strconv.AppendInt(b, int64(e.Status), 10)
	} else {
		b = append(b, '-')
	}
	b = append(b, ' ')
	b = strconv.AppendInt(b, max(e.Sent, 0), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, max(e.Received, 0), 10)
	b = append(b, ' ')
	b = appendSeconds(b, e.Duration)
	b = append(b, ' ')
	b = appendEscaped(b, e.Host)
	return append(b, '\n')
}

// appendDate writes the <date> of the draft's grammar: YYYY-MM-DD, in UTC
// (WD-logfile-960323: "All dates are specified in GMT").
func appendDate(b []byte, t time.Time) []byte {
	y, m, d := t.Date()
	b = appendPadded(b, y, 4)
	b = append(b, '-')
	b = appendPadded(b, int(m), 2)
	b = append(b, '-')
	return appendPadded(b, d, 2)
}

// appendTime writes the <time>: HH:MM:SS, 24-hour clock, UTC.
func appendTime(b []byte, t time.Time) []byte {
	h, m, s := t.Clock()
	b = appendPadded(b, h, 2)
	b = append(b, ':')
	b = appendPadded(b, m, 2)
	b = append(b, ':')
	return appendPadded(b, s, 2)
}

// appendSeconds writes time-taken as a <fixed> number of seconds with
// millisecond precision: 0.250, 12.000.
func appendSeconds(b []byte, d time.Duration) []byte {
	ms := max(d, 0).Round(time.Millisecond).Milliseconds()
	b = strconv.AppendInt(b, ms/1000, 10)
	b = append(b, '.')
	return appendPadded(b, int(ms%1000), 3)
}

// appendAddr writes the address alone (the port has its own field); an
// IPv4-mapped IPv6 address is written as IPv4, an IPv6 zone escaped as in
// RFC 6874 (fe80::1%25eth0).
func appendAddr(b []byte, ap netip.AddrPort) []byte {
	if !ap.IsValid() {
		return append(b, '-')
	}
	a := ap.Addr().Unmap()
	if a.Zone() == "" {
		return a.AppendTo(b) // digits, dots, colons and hex letters only
	}
	return appendEscaped(b, a.String())
}

// appendEscaped writes s as one field: the empty string as "-", and every
// byte outside a safe set as %XX, as a URI escapes it (RFC 3986 section
// 2.1, the draft's <uri> type). The safe set is RFC 3986's unreserved
// characters and the sub-delimiters, ':', '@' and '/', less '+' (some log
// readers take it for a space); so a field never holds a space, a control
// character, a quote, '%', '?', '#' or a byte above 0x7F, and the line
// splits on spaces. UTF-8 names are escaped byte by byte, as a browser turns
// an IRI into a URI (RFC 3987 section 3.1). A lone "-" is written %2D, so
// that it is not read as an empty field.
func appendEscaped(b []byte, s string) []byte {
	switch s {
	case "":
		return append(b, '-')
	case "-":
		return append(b, "%2D"...)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if safe[c] {
			b = append(b, c)
			continue
		}
		b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
	}
	return b
}

const hexDigits = "0123456789ABCDEF"

var safe = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "-._~!$&'()*,;=:@/" {
		t[c] = true
	}
	return t
}()
