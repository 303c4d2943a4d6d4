package ftp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// EntryType is the kind of a directory entry seen by the [Client].
type EntryType uint8

const (
	EntryFile  EntryType = iota // a regular file
	EntryDir                    // a directory
	EntryLink                   // a symbolic link whose target type the listing does not say
	EntryOther                  // a device, pipe, socket or anything else
)

func (t EntryType) String() string {
	switch t {
	case EntryFile:
		return "file"
	case EntryDir:
		return "dir"
	case EntryLink:
		return "link"
	case EntryOther:
		return "other"
	}
	return "EntryType(" + strconv.Itoa(int(t)) + ")"
}

// Entry is one entry of a directory listing, as [Client.List] returns it.
type Entry struct {
	Name string    // the name in its directory, never "", ".", ".." or containing "/"
	Type EntryType // file, directory, link or other
	Size int64     // in bytes, for files; -1 when the listing does not say
	// ModTime is the modification time, in UTC. The zero time means the
	// listing did not give one.
	ModTime time.Time
	// Precision is the granularity of ModTime: 0 when the listing gives
	// whole seconds or better (MLSD, RFC 3659 section 2.3), a minute for
	// an `ls -l` line with "HH:MM", a day for one with a year only.
	// [Client.ModTime] (MDTM) gives the exact time of such an entry.
	Precision time.Duration
	// Target is the target of a symbolic link when a LIST line shows it
	// ("name -> target").
	Target string
}

// ErrListFormat reports a listing line the client cannot parse. Listing
// never skips such a line silently: a caller that mirrors a directory
// must not take a file it could not read for a file that is not there.
var ErrListFormat = errors.New("ftp: unrecognised listing line")

// parseMLSxLine parses one MLSD line, or the entry of an MLST reply,
// without its line end: "fact=value;fact=value; name" (RFC 3659 section
// 7.2). Fact names are case-insensitive (section 7.1). The pathname is
// everything after the first SP, verbatim; section 7.2 puts exactly one SP
// between the facts and the name, so leading spaces belong to the name.
//
// It returns the entry and kind, the type fact in lower case: "file",
// "dir", "cdir", "pdir" (section 7.5.1) or the server's own, such as
// "os.unix=symlink" (section 7.5.1.4). An entry without a type fact is
// taken as a file. Sizes come from "size", or "sizd" for directories;
// times from "modify" in UTC (sections 7.5.3, 2.3). A UNIX.mode fact is
// not needed and is ignored, as are unknown facts (section 7.1).
func parseMLSxLine(line string) (e Entry, kind string, err error) {
	facts, name, ok := strings.Cut(line, " ")
	if !ok || name == "" {
		return Entry{}, "", ErrListFormat
	}
	size, sizd := int64(-1), int64(-1)
	kind = "file"
	for facts != "" {
		var fact string
		fact, facts, _ = strings.Cut(facts, ";")
		if fact == "" {
			continue
		}
		key, val, ok := strings.Cut(fact, "=")
		if !ok || key == "" {
			return Entry{}, "", ErrListFormat
		}
		switch strings.ToLower(key) {
		case "type":
			kind = strings.ToLower(val)
		case "size":
			if size, err = parseRest(val); err != nil {
				return Entry{}, "", ErrListFormat
			}
		case "sizd":
			// The size of a directory's own storage; section 7.5.7
			// leaves it to the server, so a bad one is ignored.
			if n, err := parseRest(val); err == nil {
				sizd = n
			}
		case "modify":
			if e.ModTime, err = parseTime(val); err != nil {
				return Entry{}, "", ErrListFormat
			}
		}
	}
	e.Size = size
	switch {
	case kind == "file":
		e.Type = EntryFile
	case kind == "dir" || kind == "cdir" || kind == "pdir":
		e.Type = EntryDir
		if e.Size < 0 {
			e.Size = max(sizd, 0)
		}
	case kind == "os.unix=symlink" || strings.HasPrefix(kind, "os.unix=slink"):
		e.Type = EntryLink
		if _, target, ok := strings.Cut(kind, ":"); ok {
			e.Target = target
		}
	default:
		e.Type = EntryOther
	}
	if kind != "cdir" && kind != "pdir" && !validEntryName(name) {
		return Entry{}, "", ErrListFormat
	}
	e.Name = name
	return e, kind, nil
}

// validEntryName reports whether a name from a listing can be used as one
// element of a path: not empty, not "." or "..", no "/" (a listing that
// named "../x" must not send a mirror outside its directory), no NUL, CR
// or LF.
func validEntryName(name string) bool {
	return name != "" && name != "." && name != ".." &&
		!strings.ContainsAny(name, "/\x00\r\n")
}

// monthNames are the month abbreviations of ls -l in the C locale.
var monthNames = [...]string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}

func parseMonth(s string) (time.Month, bool) {
	if len(s) != 3 {
		return 0, false
	}
	for i, m := range monthNames {
		if strings.EqualFold(s, m) {
			return time.Month(i + 1), true
		}
	}
	return 0, false
}

// parseListLine parses one LIST line without its line end. RFC 959
// section 4.1.3 leaves the format to the server; two families cover the
// servers in use:
//
//   - Unix `ls -l`, as vsftpd, ProFTPD, Pure-FTPd and Ferry send:
//     "drwxr-xr-x 2 owner group 4096 Nov 25 13:40 name". The group may be
//     missing, the mode may end in "+" or "." (ACLs, SELinux), devices
//     show "major, minor" for a size. The date is "Mon DD HH:MM" (within
//     six months of now: the year is the one that puts it no later than a
//     day after now) or "Mon DD YYYY". A link shows "name -> target".
//   - DOS, as IIS sends: "11-25-26  01:40PM  <DIR>  name" or with a size
//     instead of <DIR>; years of two or four digits (two-digit years
//     below 70 are 20xx), 12-hour times with AM/PM or 24-hour times.
//
// Times are taken as UTC: a LIST line does not say its zone, and the
// caller who needs exact times asks MDTM (RFC 3659 section 3), which is
// UTC. It returns ok false, and no error, for lines that carry no entry:
// "total N" and empty lines.
func parseListLine(line string, now time.Time) (e Entry, ok bool, err error) {
	if strings.TrimSpace(line) == "" {
		return Entry{}, false, nil
	}
	if f := strings.Fields(line); len(f) == 2 && strings.EqualFold(f[0], "total") && isDigits(f[1]) {
		return Entry{}, false, nil
	}
	if c := line[0]; c >= '0' && c <= '9' {
		e, err = parseDOSLine(line)
	} else {
		e, err = parseUnixLine(line, now)
	}
	if err != nil {
		return Entry{}, false, err
	}
	if e.Name == "." || e.Name == ".." {
		return Entry{}, false, nil
	}
	if !validEntryName(e.Name) {
		return Entry{}, false, ErrListFormat
	}
	return e, true, nil
}

// listField is one space-separated word of a line and where it ends.
type listField struct {
	s   string
	end int // index in the line just past the word
}

// nextListField returns the word of line that starts at or after i, skipping
// spaces.
func nextListField(line string, i int) (listField, bool) {
	for i < len(line) && line[i] == ' ' {
		i++
	}
	if i >= len(line) {
		return listField{}, false
	}
	j := i
	for j < len(line) && line[j] != ' ' {
		j++
	}
	return listField{line[i:j], j}, true
}

func parseUnixLine(line string, now time.Time) (Entry, error) {
	mode, ok := nextListField(line, 0)
	if !ok || len(mode.s) < 10 {
		return Entry{}, ErrListFormat
	}
	var e Entry
	switch mode.s[0] {
	case '-':
		e.Type = EntryFile
	case 'd':
		e.Type = EntryDir
	case 'l':
		e.Type = EntryLink
	case 'b', 'c', 'p', 's', 'D', '?':
		e.Type = EntryOther
	default:
		return Entry{}, ErrListFormat
	}
	for _, c := range mode.s[1:10] {
		if !strings.ContainsRune("rwxsStTl-", c) {
			return Entry{}, ErrListFormat
		}
	}
	// Collect the words up to the date: link count, owner, maybe group,
	// size. The date is the first "Mon DD time-or-year" after at least
	// two of them, the last word before it the size.
	var words [8]listField
	n := 0
	pos := mode.end
	for {
		f, ok := nextListField(line, pos)
		if !ok || n == len(words) {
			return Entry{}, ErrListFormat
		}
		if month, isMonth := parseMonth(f.s); isMonth && n >= 2 {
			if t, prec, end, ok := parseUnixDate(line, f.end, month, now); ok {
				size, ok := parseListSize(words[n-1].s)
				switch {
				case e.Type == EntryOther:
					size = -1 // a device shows "major, minor"
				case !ok:
					return Entry{}, ErrListFormat
				}
				e.Size, e.ModTime, e.Precision = size, t, prec
				if end >= len(line) || line[end] != ' ' || end+1 >= len(line) {
					return Entry{}, ErrListFormat
				}
				e.Name = line[end+1:]
				break
			}
		}
		words[n] = f
		n++
		pos = f.end
	}
	if e.Type == EntryLink {
		if name, target, ok := strings.Cut(e.Name, " -> "); ok {
			e.Name, e.Target = name, target
		}
	}
	if e.Type == EntryDir {
		e.Size = max(e.Size, 0)
	}
	return e, nil
}

// parseListSize parses the size word of an ls -l line. A device's
// "major," is not a size.
func parseListSize(s string) (int64, bool) {
	n, err := parseRest(s)
	return n, err == nil
}

// parseUnixDate parses "DD HH:MM" or "DD YYYY" after the month word that
// ends at i. It returns the time, its precision and where the date ends.
func parseUnixDate(line string, i int, month time.Month, now time.Time) (time.Time, time.Duration, int, bool) {
	day, ok := nextListField(line, i)
	if !ok {
		return time.Time{}, 0, 0, false
	}
	d, rest, ok := parseSmallUint(day.s, 31)
	if !ok || rest != "" || d == 0 {
		return time.Time{}, 0, 0, false
	}
	ty, ok := nextListField(line, day.end)
	if !ok {
		return time.Time{}, 0, 0, false
	}
	if h, m, ok := parseClock(ty.s); ok {
		now = now.UTC()
		year := now.Year()
		t := time.Date(year, month, int(d), h, m, 0, 0, time.UTC)
		// ls shows HH:MM for the six months up to now: a date more
		// than a day ahead (time zones) is last year's.
		if t.After(now.Add(24 * time.Hour)) {
			t = time.Date(year-1, month, int(d), h, m, 0, 0, time.UTC)
		}
		if t.Day() != int(d) {
			return time.Time{}, 0, 0, false
		}
		return t, time.Minute, ty.end, true
	}
	if len(ty.s) == 4 && isDigits(ty.s) {
		y, _ := strconv.Atoi(ty.s)
		t := time.Date(y, month, int(d), 0, 0, 0, 0, time.UTC)
		if t.Day() != int(d) {
			return time.Time{}, 0, 0, false
		}
		return t, 24 * time.Hour, ty.end, true
	}
	return time.Time{}, 0, 0, false
}

// parseClock parses "HH:MM" (or "H:MM"), 24-hour.
func parseClock(s string) (h, m int, ok bool) {
	hs, ms, found := strings.Cut(s, ":")
	if !found || len(ms) != 2 || len(hs) < 1 || len(hs) > 2 {
		return 0, 0, false
	}
	hh, rest, ok1 := parseSmallUint(hs, 23)
	mm, rest2, ok2 := parseSmallUint(ms, 59)
	if !ok1 || !ok2 || rest != "" || rest2 != "" {
		return 0, 0, false
	}
	return int(hh), int(mm), true
}

// parseDOSLine parses the IIS/DOS form "MM-DD-YY  hh:mmAM  <DIR>|size
// name".
func parseDOSLine(line string) (Entry, error) {
	date, ok := nextListField(line, 0)
	if !ok {
		return Entry{}, ErrListFormat
	}
	clock, ok := nextListField(line, date.end)
	if !ok {
		return Entry{}, ErrListFormat
	}
	kind, ok := nextListField(line, clock.end)
	if !ok {
		return Entry{}, ErrListFormat
	}
	t, ok := parseDOSDate(date.s, clock.s)
	if !ok {
		return Entry{}, ErrListFormat
	}
	e := Entry{ModTime: t, Precision: time.Minute}
	if strings.EqualFold(kind.s, "<DIR>") {
		e.Type = EntryDir
	} else {
		n, err := parseRest(kind.s)
		if err != nil {
			return Entry{}, ErrListFormat
		}
		e.Type, e.Size = EntryFile, n
	}
	// The name follows the spaces that pad the size column.
	i := kind.end
	for i < len(line) && line[i] == ' ' {
		i++
	}
	if i >= len(line) {
		return Entry{}, ErrListFormat
	}
	e.Name = line[i:]
	return e, nil
}

// parseDOSDate parses "MM-DD-YY" or "MM-DD-YYYY" and "hh:mmAM", "hh:mmPM"
// or "HH:MM".
func parseDOSDate(date, clock string) (time.Time, bool) {
	parts := strings.Split(date, "-")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	mo, r1, ok1 := parseSmallUint(parts[0], 12)
	d, r2, ok2 := parseSmallUint(parts[1], 31)
	if !ok1 || !ok2 || r1 != "" || r2 != "" || mo == 0 || d == 0 || !isDigits(parts[2]) {
		return time.Time{}, false
	}
	var year int
	switch len(parts[2]) {
	case 2:
		year, _ = strconv.Atoi(parts[2])
		// POSIX strptime's %y rule.
		if year < 70 {
			year += 2000
		} else {
			year += 1900
		}
	case 4:
		year, _ = strconv.Atoi(parts[2])
	default:
		return time.Time{}, false
	}
	suffix := ""
	if n := len(clock); n > 2 {
		switch strings.ToUpper(clock[n-2:]) {
		case "AM", "PM":
			suffix = strings.ToUpper(clock[n-2:])
			clock = clock[:n-2]
		}
	}
	h, m, ok := parseClock(clock)
	if !ok {
		return time.Time{}, false
	}
	if suffix != "" {
		if h < 1 || h > 12 {
			return time.Time{}, false
		}
		h %= 12
		if suffix == "PM" {
			h += 12
		}
	}
	t := time.Date(year, time.Month(mo), int(d), h, m, 0, 0, time.UTC)
	if t.Day() != int(d) {
		return time.Time{}, false
	}
	return t, true
}

// parseFeatures parses the text of a 211 reply to FEAT (RFC 2389 section
// 3.2): one feature per line after the first, each starting with a
// space, the last line a closing message. Feature names are upper-cased;
// the map holds each feature's parameters ("type*;size*;" for MLST), ""
// when it has none.
func parseFeatures(text string) map[string]string {
	feats := make(map[string]string)
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if i == 0 || i == len(lines)-1 && !strings.HasPrefix(l, " ") {
			continue
		}
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		name, params, _ := strings.Cut(l, " ")
		feats[strings.ToUpper(name)] = strings.TrimSpace(params)
	}
	return feats
}

// parseEPSVReply returns the port of a 229 reply text "Entering Extended
// Passive Mode (|||6446|)" (RFC 2428 section 3). The delimiter is the
// character after "(", any of ASCII 33 to 126; the address fields must be
// empty.
func parseEPSVReply(text string) (uint16, error) {
	i := strings.IndexByte(text, '(')
	j := strings.LastIndexByte(text, ')')
	if i < 0 || j < i+6 {
		return 0, errSyntax
	}
	s := text[i+1 : j]
	d := s[0]
	if d < 33 || d > 126 || len(s) < 5 || s[1] != d || s[2] != d || s[len(s)-1] != d {
		return 0, errSyntax
	}
	n, rest, ok := parseSmallUint(s[3:len(s)-1], 65535)
	if !ok || rest != "" || n == 0 {
		return 0, errSyntax
	}
	return uint16(n), nil
}

// parsePASVReply returns the address of a 227 reply text "Entering
// Passive Mode (h1,h2,h3,h4,p1,p2)" (RFC 959 section 4.1.2). RFC 1123
// section 4.1.2.6 warns that some servers leave the parentheses out, so
// the numbers are taken from the first digit after the code's text.
func parsePASVReply(text string) (host string, port uint16, err error) {
	s := text
	if i := strings.IndexByte(s, '('); i >= 0 {
		s = s[i+1:]
		if j := strings.IndexByte(s, ')'); j >= 0 {
			s = s[:j]
		}
	} else {
		i := strings.IndexAny(s, "0123456789")
		if i < 0 {
			return "", 0, errSyntax
		}
		s = strings.TrimRight(s[i:], ". ")
	}
	ap, err := parseHostPort(s)
	if err != nil || ap.Port() == 0 {
		return "", 0, errSyntax
	}
	return ap.Addr().String(), ap.Port(), nil
}

// parse257 returns the pathname of a 257 reply (RFC 959 Appendix II):
// the text between the first '"' and the '"' that closes it, with every
// doubled '"' inside made single. It is the inverse of quotePath.
func parse257(text string) (string, error) {
	i := strings.IndexByte(text, '"')
	if i < 0 {
		return "", errSyntax
	}
	var b strings.Builder
	for j := i + 1; j < len(text); j++ {
		c := text[j]
		if c != '"' {
			b.WriteByte(c)
			continue
		}
		if j+1 < len(text) && text[j+1] == '"' {
			b.WriteByte('"')
			j++
			continue
		}
		return b.String(), nil
	}
	return "", errSyntax
}

// List returns the entries of dir, "" for the current directory, without
// "." and "..". It uses MLSD when the server announced MLST in FEAT (RFC
// 3659 section 7.8), and LIST otherwise, parsed as parseListLine says. A
// line it cannot parse fails the listing with [ErrListFormat].
func (c *Client) List(ctx context.Context, dir string) ([]Entry, error) {
	var entries []Entry
	err := c.ListFunc(ctx, dir, func(e Entry) error {
		entries = append(entries, e)
		return nil
	})
	return entries, err
}

// ListFunc is [Client.List] streamed: fn gets each entry as it is read,
// and an error from fn stops the listing and is returned. fn must not
// call the Client.
func (c *Client) ListFunc(ctx context.Context, dir string, fn func(Entry) error) error {
	if strings.ContainsAny(dir, "\r\n\x00") {
		return errBadPath
	}
	release, err := c.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	feats, err := c.features(ctx)
	if err != nil {
		return err
	}
	_, mlsd := feats["MLST"]
	cmd := "LIST"
	if mlsd {
		cmd = "MLSD"
	}
	if dir != "" {
		if !mlsd && dir[0] == '-' {
			// LIST takes ls flags; "./-x" is a name.
			dir = "./" + dir
		}
		cmd += " " + dir
	}
	t, err := c.openTransfer(ctx, cmd, 0)
	if err != nil {
		return err
	}
	now := time.Now()
	lr := newLineReader(&deadlineReader{t: t, ctx: ctx}, maxListLine, nil)
	var lerr error
	for {
		line, err := lr.ReadLine()
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, errLineTooLong) {
				err = ErrListFormat
			} else if ctx.Err() != nil {
				err = ctx.Err()
			}
			lerr = err
			break
		}
		var e Entry
		ok := true
		if mlsd {
			var kind string
			e, kind, err = parseMLSxLine(line)
			ok = kind != "cdir" && kind != "pdir"
		} else {
			e, ok, err = parseListLine(line, now)
		}
		if err != nil {
			lerr = fmt.Errorf("%w: %q", err, clipReply(line))
			break
		}
		if !ok {
			continue
		}
		if err := fn(e); err != nil {
			lerr = err
			break
		}
	}
	return t.finish(ctx, lerr)
}

// deadlineReader reads a transfer's data connection, refreshing its
// deadline before each read.
type deadlineReader struct {
	t   *transferConn
	ctx context.Context
}

func (r *deadlineReader) Read(p []byte) (int, error) {
	r.t.dc.SetReadDeadline(r.t.c.deadline(r.ctx))
	return r.t.dc.Read(p)
}

// Stat returns the entry of name. With MLST in FEAT it sends MLST (RFC
// 3659 section 7); otherwise it asks SIZE and MDTM for a file, and tries
// CWD for a directory, going back with CWD to the directory PWD named
// before. The entry's Name is the last element of name.
func (c *Client) Stat(ctx context.Context, name string) (Entry, error) {
	if name == "" || strings.ContainsAny(name, "\r\n\x00") {
		return Entry{}, errBadPath
	}
	release, err := c.acquire(ctx)
	if err != nil {
		return Entry{}, err
	}
	defer release()
	feats, err := c.features(ctx)
	if err != nil {
		return Entry{}, err
	}
	if _, ok := feats["MLST"]; ok {
		text, err := c.expectText(ctx, "MLST "+name, StatusFileActionOK)
		if err != nil {
			return Entry{}, err
		}
		e, err := parseMLSTReply(text)
		if err != nil {
			return Entry{}, fmt.Errorf("%w: %q", err, clipReply(text))
		}
		e.Name = lastElem(name)
		return e, nil
	}
	sizeText, serr := c.expectText(ctx, "SIZE "+name, StatusFile)
	if serr == nil {
		size, err := parseRest(strings.TrimSpace(sizeText))
		if err != nil {
			return Entry{}, fmt.Errorf("ftp: malformed SIZE reply %q", clipReply(sizeText))
		}
		e := Entry{Name: lastElem(name), Type: EntryFile, Size: size}
		if _, ok := feats["MDTM"]; ok {
			text, err := c.expectText(ctx, "MDTM "+name, StatusFile)
			if err != nil {
				return Entry{}, err
			}
			if e.ModTime, err = parseTime(strings.TrimSpace(text)); err != nil {
				return Entry{}, fmt.Errorf("ftp: malformed MDTM reply %q", clipReply(text))
			}
		}
		return e, nil
	}
	var fe *Error
	if !errors.As(serr, &fe) {
		return Entry{}, serr
	}
	text, err := c.expectText(ctx, "PWD", StatusPathCreated)
	if err != nil {
		return Entry{}, err
	}
	cwd, err := parse257(text)
	if err != nil || strings.ContainsAny(cwd, "\r\n\x00") {
		return Entry{}, serr
	}
	if c.expect(ctx, "CWD "+name, StatusFileActionOK, StatusOK) != nil {
		return Entry{}, serr
	}
	if err := c.expect(ctx, "CWD "+cwd, StatusFileActionOK, StatusOK); err != nil {
		return Entry{}, err
	}
	return Entry{Name: lastElem(name), Type: EntryDir}, nil
}

// parseMLSTReply parses the text of a 250 reply to MLST (RFC 3659 section
// 7.2): a first line, the entry line that starts with one SP, and a last
// line. The entry's pathname may be a whole path; Name is left empty.
func parseMLSTReply(text string) (Entry, error) {
	for _, l := range strings.Split(text, "\n") {
		if !strings.HasPrefix(l, " ") {
			continue
		}
		facts, _, ok := strings.Cut(l[1:], " ")
		if !ok {
			return Entry{}, ErrListFormat
		}
		e, _, err := parseMLSxLine(facts + " x")
		e.Name = ""
		return e, err
	}
	return Entry{}, ErrListFormat
}

func lastElem(p string) string {
	p = strings.TrimRight(p, "/")
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		p = p[i+1:]
	}
	if p == "" {
		return "/"
	}
	return p
}
