package ftp

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// listNow is the clock of the LIST tests: ls shows "HH:MM" for dates in
// the six months up to it.
var listNow = time.Date(2026, time.November, 25, 14, 0, 0, 0, time.UTC)

func utc(y int, mo time.Month, d, h, mi, s int) time.Time {
	return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
}

func TestParseListLine(t *testing.T) {
	cases := []struct {
		name, line string
		want       Entry
		skip       bool // a line without an entry
	}{
		{"ferry file, time form", "-rw-r--r-- 1 ftp ftp           123 Nov 25 13:40 a.txt",
			Entry{Name: "a.txt", Type: EntryFile, Size: 123, ModTime: utc(2026, 11, 25, 13, 40, 0), Precision: time.Minute}, false},
		{"directory, year form", "drwxr-xr-x 1 ftp ftp          4096 Jan  2  2020 docs",
			Entry{Name: "docs", Type: EntryDir, Size: 4096, ModTime: utc(2020, 1, 2, 0, 0, 0), Precision: 24 * time.Hour}, false},
		{"pure-ftpd columns", "-rw-r--r--    1 65534      nogroup             5 Jan  1  2020 b c.txt",
			Entry{Name: "b c.txt", Type: EntryFile, Size: 5, ModTime: utc(2020, 1, 1, 0, 0, 0), Precision: 24 * time.Hour}, false},
		{"time form of last year", "-rw-r--r-- 1 u g 7 Dec 24 10:00 old",
			Entry{Name: "old", Type: EntryFile, Size: 7, ModTime: utc(2025, 12, 24, 10, 0, 0), Precision: time.Minute}, false},
		{"tomorrow in another zone is this year", "-rw-r--r-- 1 u g 7 Nov 26 01:00 tz",
			Entry{Name: "tz", Type: EntryFile, Size: 7, ModTime: utc(2026, 11, 26, 1, 0, 0), Precision: time.Minute}, false},
		{"no group column", "-rw-r--r-- 1 owner 42 Mar 3 2021 x",
			Entry{Name: "x", Type: EntryFile, Size: 42, ModTime: utc(2021, 3, 3, 0, 0, 0), Precision: 24 * time.Hour}, false},
		{"owner named like a month", "-rw-r--r-- 1 jan feb 42 Mar 3 2021 y",
			Entry{Name: "y", Type: EntryFile, Size: 42, ModTime: utc(2021, 3, 3, 0, 0, 0), Precision: 24 * time.Hour}, false},
		{"ACL marker", "-rw-r--r--+ 1 u g 1 Mar 3 2021 acl",
			Entry{Name: "acl", Type: EntryFile, Size: 1, ModTime: utc(2021, 3, 3, 0, 0, 0), Precision: 24 * time.Hour}, false},
		{"symbolic link", "lrwxrwxrwx 1 u g 7 Nov 20 09:05 link -> target dir/f",
			Entry{Name: "link", Type: EntryLink, Size: 7, ModTime: utc(2026, 11, 20, 9, 5, 0), Precision: time.Minute, Target: "target dir/f"}, false},
		{"device", "crw-rw-rw- 1 root root 1, 3 Nov 20 09:05 null",
			Entry{Name: "null", Type: EntryOther, Size: -1, ModTime: utc(2026, 11, 20, 9, 5, 0), Precision: time.Minute}, false},
		{"leading space in name kept", "-rw-r--r-- 1 u g 1 Mar 3 2021  spaced",
			Entry{Name: " spaced", Type: EntryFile, Size: 1, ModTime: utc(2021, 3, 3, 0, 0, 0), Precision: 24 * time.Hour}, false},
		{"UTF-8 name", "-rw-r--r-- 1 u g 3 Mar 3 2021 café ☕",
			Entry{Name: "café ☕", Type: EntryFile, Size: 3, ModTime: utc(2021, 3, 3, 0, 0, 0), Precision: 24 * time.Hour}, false},
		{"DOS directory", "11-25-26  01:40PM       <DIR>          Reports 2026",
			Entry{Name: "Reports 2026", Type: EntryDir, ModTime: utc(2026, 11, 25, 13, 40, 0), Precision: time.Minute}, false},
		{"DOS file", "02-29-24  12:05AM              1234 leap.bin",
			Entry{Name: "leap.bin", Type: EntryFile, Size: 1234, ModTime: utc(2024, 2, 29, 0, 5, 0), Precision: time.Minute}, false},
		{"DOS four-digit year, 24-hour", "12-31-1999  23:59                 9 y2k.txt",
			Entry{Name: "y2k.txt", Type: EntryFile, Size: 9, ModTime: utc(1999, 12, 31, 23, 59, 0), Precision: time.Minute}, false},
		{"DOS two-digit year of the last century", "01-01-85  12:00PM                 1 old.txt",
			Entry{Name: "old.txt", Type: EntryFile, Size: 1, ModTime: utc(1985, 1, 1, 12, 0, 0), Precision: time.Minute}, false},
		{"total line", "total 12", Entry{}, true},
		{"empty line", "", Entry{}, true},
		{"dot", "drwxr-xr-x 2 u g 4096 Nov 25 13:40 .", Entry{}, true},
		{"dot dot", "drwxr-xr-x 2 u g 4096 Nov 25 13:40 ..", Entry{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, ok, err := parseListLine(tc.line, listNow)
			require.NoError(t, err, "line %q parses", tc.line)
			if tc.skip {
				assert.False(t, ok, "line %q carries no entry", tc.line)
				return
			}
			require.True(t, ok, "line %q carries an entry", tc.line)
			assert.Equal(t, tc.want, e, "entry of %q", tc.line)
		})
	}
}

func TestParseListLineErrors(t *testing.T) {
	for _, line := range []string{
		"garbage",
		"-rw-r--r-- 1 u g 12 Nov 25 13:40",             // no name
		"-rw-r--r-- 1 u g twelve Nov 25 13:40 x",       // size not a number
		"-rw-r--r-- 1 u g 12 Feb 30 2021 x",            // no such day
		"-rw-r--r-- 1 u g 12 Nov 25 25:40 x",           // no such hour
		"-rw-r--r-- 1 u g 12 Nov 25 13:40 a/../../etc", // a path, not a name
		"xrw-r--r-- 1 u g 12 Nov 25 13:40 x",           // unknown type
		"13-25-26  01:40PM  <DIR>  x",                  // month 13
		"11-25-26  13:40PM  <DIR>  x",                  // 13 PM
		"11-25-26  01:40PM  -5  x",                     // negative size
		"11-25-26  01:40PM  <DIR>",                     // no name
		"+i8388621.29609,m824255902,/,\tdev",           // EPLF is not supported
	} {
		_, ok, err := parseListLine(line, listNow)
		assert.ErrorIs(t, err, ErrListFormat, "line %q is refused", line)
		assert.False(t, ok, "line %q gives no entry", line)
	}
}

func TestParseMLSxLine(t *testing.T) {
	cases := []struct {
		line string
		want Entry
		kind string
	}{
		{"type=file;size=123;modify=20261125134000;perm=adfrw;unique=803g1a; a.txt",
			Entry{Name: "a.txt", Type: EntryFile, Size: 123, ModTime: utc(2026, 11, 25, 13, 40, 0)}, "file"},
		{"Type=DIR;Modify=20200102030405.123; docs",
			Entry{Name: "docs", Type: EntryDir, Size: 0, ModTime: time.Date(2020, 1, 2, 3, 4, 5, 123e6, time.UTC)}, "dir"},
		{"type=cdir;sizd=4096;modify=20261125142521;UNIX.mode=0777; .",
			Entry{Name: ".", Type: EntryDir, Size: 4096, ModTime: utc(2026, 11, 25, 14, 25, 21)}, "cdir"},
		{"type=pdir;modify=20261125142521; ..",
			Entry{Name: "..", Type: EntryDir, ModTime: utc(2026, 11, 25, 14, 25, 21)}, "pdir"},
		{"type=OS.unix=slink:/etc/x;size=6; ln",
			Entry{Name: "ln", Type: EntryLink, Size: 6, Target: "/etc/x"}, "os.unix=slink:/etc/x"},
		{"type=OS.unix=symlink; ln2", Entry{Name: "ln2", Type: EntryLink, Size: -1}, "os.unix=symlink"},
		{"type=OS.unix=chr-1/3; null", Entry{Name: "null", Type: EntryOther, Size: -1}, "os.unix=chr-1/3"},
		{"size=5; no type", Entry{Name: "no type", Type: EntryFile, Size: 5}, "file"},
		{" bare name", Entry{Name: "bare name", Type: EntryFile, Size: -1}, "file"},
		{"type=file;size=1;  two spaces", Entry{Name: " two spaces", Type: EntryFile, Size: 1}, "file"},
		{"type=file;x.unknown=1;size=0; zero", Entry{Name: "zero", Type: EntryFile, Size: 0}, "file"},
	}
	for _, tc := range cases {
		e, kind, err := parseMLSxLine(tc.line)
		require.NoError(t, err, "line %q parses", tc.line)
		assert.Equal(t, tc.want, e, "entry of %q", tc.line)
		assert.Equal(t, tc.kind, kind, "kind of %q", tc.line)
	}
	for _, line := range []string{
		"type=file;size=1;",                  // no SP, no name
		"type=file;size=x; a",                // bad size
		"type=file;modify=2026; a",           // bad time
		"type=file;=1; a",                    // fact without a name
		"type=file;size=1; ../x",             // a path
		"type=file;size=1; a/b",              // a path
		"type=dir; ..",                       // ".." must be pdir
		"type=file;size=-1; a",               // negative size
		"type=file;modify=20210229000000; a", // no such day
	} {
		_, _, err := parseMLSxLine(line)
		assert.ErrorIs(t, err, ErrListFormat, "line %q is refused", line)
	}
}

func TestParseFeatures(t *testing.T) {
	text := "Extensions supported:\n UTF8\n MLST type*;size*;modify*;\n REST STREAM\n mfmt\nEnd."
	assert.Equal(t, map[string]string{
		"UTF8": "", "MLST": "type*;size*;modify*;", "REST": "STREAM", "MFMT": "",
	}, parseFeatures(text), "features of a RFC 2389 section 3.2 reply")
	assert.Empty(t, parseFeatures("No features"), "a one-line reply has none")
}

func TestParsePassiveReplies(t *testing.T) {
	port, err := parseEPSVReply("Entering Extended Passive Mode (|||6446|)")
	require.NoError(t, err, "RFC 2428 section 3 example")
	assert.Equal(t, uint16(6446), port, "EPSV port")
	port, err = parseEPSVReply("ok (!!!2121!)")
	require.NoError(t, err, "any delimiter")
	assert.Equal(t, uint16(2121), port, "EPSV port with !")
	for _, bad := range []string{"", "(|||0|)", "(|||70000|)", "(||1|21|)", "(|||21)", "no parens |||21|"} {
		_, err := parseEPSVReply(bad)
		assert.Error(t, err, "EPSV reply %q is refused", bad)
	}

	host, port, err := parsePASVReply("Entering Passive Mode (127,0,0,1,4,1).")
	require.NoError(t, err, "RFC 959 form")
	assert.Equal(t, "127.0.0.1", host, "PASV host")
	assert.Equal(t, uint16(1025), port, "PASV port")
	host, port, err = parsePASVReply("Entering Passive Mode 10,1,2,3,200,10")
	require.NoError(t, err, "without parentheses (RFC 1123 section 4.1.2.6)")
	assert.Equal(t, "10.1.2.3", host, "PASV host")
	assert.Equal(t, uint16(200*256+10), port, "PASV port")
	for _, bad := range []string{"", "(1,2,3,4,5)", "(1,2,3,4,0,0)", "(256,0,0,1,1,1)"} {
		_, _, err := parsePASVReply(bad)
		assert.Error(t, err, "PASV reply %q is refused", bad)
	}
}

func TestParse257(t *testing.T) {
	for _, p := range []string{"/", "/a b", `/say "hi"`, `""`, "/ünï"} {
		got, err := parse257(quotePath(p) + " is the current directory.")
		require.NoError(t, err, "257 reply for %q", p)
		assert.Equal(t, p, got, "parse257 inverts quotePath")
	}
	_, err := parse257("no quotes")
	assert.Error(t, err, "a 257 reply without a quoted path")
	_, err = parse257(`"unterminated`)
	assert.Error(t, err, "a 257 reply with an open quote")
}

func TestReplyCode(t *testing.T) {
	for line, want := range map[string][3]int{
		"220 ready":  {220, 0, 1},
		"211-start":  {211, 1, 1},
		"226":        {226, 0, 1},
		"999 x":      {0, 0, 0},
		"20 short":   {0, 0, 0},
		"2x0 letter": {0, 0, 0},
		"220_x":      {0, 0, 0},
	} {
		code, multi, ok := replyCode(line)
		assert.Equal(t, want[0], code, "code of %q", line)
		assert.Equal(t, want[1] == 1, multi, "multi-line %q", line)
		assert.Equal(t, want[2] == 1, ok, "valid %q", line)
	}
}

// checkEntry holds for every entry a parser returns.
func checkEntry(t *testing.T, line string, e Entry) {
	if !validEntryName(e.Name) {
		t.Fatalf("line %q gives the unusable name %q", line, e.Name)
	}
	if e.Type > EntryOther {
		t.Fatalf("line %q gives type %v", line, e.Type)
	}
	if e.Size < -1 {
		t.Fatalf("line %q gives size %d", line, e.Size)
	}
	if !e.ModTime.IsZero() && e.ModTime.Location() != time.UTC {
		t.Fatalf("line %q gives a time outside UTC", line)
	}
}

func FuzzParseListLine(f *testing.F) {
	for _, s := range []string{
		"-rw-r--r-- 1 ftp ftp           123 Nov 25 13:40 a.txt",
		"drwxr-xr-x 1 ftp ftp          4096 Jan  2  2020 docs",
		"lrwxrwxrwx 1 u g 7 Nov 20 09:05 link -> target",
		"crw-rw-rw- 1 root root 1, 3 Nov 20 09:05 null",
		"11-25-26  01:40PM       <DIR>          Reports",
		"02-29-24  12:05AM              1234 leap.bin",
		"total 12",
		"-rw-r--r-- 1 jan feb 42 Mar 3 2021 y",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		e, ok, err := parseListLine(line, listNow)
		if err != nil || !ok {
			if ok {
				t.Fatalf("line %q: ok with error %v", line, err)
			}
			return
		}
		checkEntry(t, line, e)
		if !strings.Contains(line, e.Name) {
			t.Fatalf("line %q: name %q is not in the line", line, e.Name)
		}
	})
}

func FuzzParseMLSxLine(f *testing.F) {
	for _, s := range []string{
		"type=file;size=123;modify=20261125134000;perm=adfrw;unique=803g1a; a.txt",
		"type=cdir;sizd=4096;modify=20261125142521;UNIX.mode=0777; .",
		"type=OS.unix=slink:/etc/x;size=6; ln",
		" bare",
		"Type=DIR;Modify=20200102030405.123; docs",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		e, kind, err := parseMLSxLine(line)
		if err != nil {
			return
		}
		if kind == "cdir" || kind == "pdir" {
			return // the directory itself, skipped by List
		}
		checkEntry(t, line, e)
		if !strings.HasSuffix(line, " "+e.Name) {
			t.Fatalf("line %q: name %q is not its end", line, e.Name)
		}
	})
}
