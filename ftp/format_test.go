package ftp

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeFileInfo is an fs.FileInfo with every field settable.
type fakeFileInfo struct {
	name    string
	size    int64
	mode    fs.FileMode
	modTime time.Time
	sys     any
}

func (fi fakeFileInfo) Name() string       { return fi.name }
func (fi fakeFileInfo) Size() int64        { return fi.size }
func (fi fakeFileInfo) Mode() fs.FileMode  { return fi.mode }
func (fi fakeFileInfo) ModTime() time.Time { return fi.modTime }
func (fi fakeFileInfo) IsDir() bool        { return fi.mode.IsDir() }
func (fi fakeFileInfo) Sys() any           { return fi.sys }

// fakeStat has the fields of syscall.Stat_t that uniqueID reads, with the
// int32 device number of darwin and openbsd.
type fakeStat struct {
	Dev  int32
	Mode uint16
	Ino  uint64
}

func TestAppendFileMode(t *testing.T) {
	tests := []struct {
		mode fs.FileMode
		want string
	}{
		{0o644, "-rw-r--r--"},
		{fs.ModeDir | 0o755, "drwxr-xr-x"},
		{fs.ModeSymlink | 0o777, "lrwxrwxrwx"},
		{0, "----------"},
		{0o755 | fs.ModeSetuid, "-rwsr-xr-x"},
		{0o644 | fs.ModeSetuid, "-rwSr--r--"},
		{0o755 | fs.ModeSetgid, "-rwxr-sr-x"},
		{0o745 | fs.ModeSetgid, "-rwxr-Sr-x"},
		{fs.ModeDir | fs.ModeSticky | 0o777, "drwxrwxrwt"},
		{fs.ModeDir | fs.ModeSticky | 0o776, "drwxrwxrwT"},
		{fs.ModeNamedPipe | 0o644, "prw-r--r--"},
		{fs.ModeSocket | 0o755, "srwxr-xr-x"},
		{fs.ModeDevice | fs.ModeCharDevice | 0o666, "crw-rw-rw-"},
		{fs.ModeDevice | 0o660, "brw-rw----"},
		{fs.ModeIrregular, "?---------"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, string(appendFileMode(nil, tt.mode)), "mode %v", tt.mode)
	}
}

func TestAppendListLine(t *testing.T) {
	now := time.Date(2026, 11, 25, 13, 40, 30, 0, time.UTC)
	paris := time.FixedZone("CET", 3600)
	tests := []struct {
		name string
		fi   fakeFileInfo
		want string
	}{
		{"recent directory",
			fakeFileInfo{name: "name", size: 4096, mode: fs.ModeDir | 0o755, modTime: now.Add(-30 * time.Second)},
			"drwxr-xr-x 1 ftp ftp          4096 Nov 25 13:40 name\r\n"},
		{"file six months old",
			fakeFileInfo{name: "old.txt", size: 123, mode: 0o644, modTime: now.Add(-sixMonths - time.Second)},
			"-rw-r--r-- 1 ftp ftp           123 May 26  2026 old.txt\r\n"},
		{"file just under six months old",
			fakeFileInfo{name: "new.txt", size: 0, mode: 0o600, modTime: now.Add(-sixMonths + time.Minute)},
			"-rw------- 1 ftp ftp             0 May 26 22:46 new.txt\r\n"},
		{"single-digit day",
			fakeFileInfo{name: "a", size: 1, mode: 0o644, modTime: time.Date(2026, 11, 2, 9, 5, 0, 0, time.UTC)},
			"-rw-r--r-- 1 ftp ftp             1 Nov  2 09:05 a\r\n"},
		{"old single-digit day",
			fakeFileInfo{name: "a", size: 1, mode: 0o644, modTime: time.Date(1999, 1, 2, 9, 5, 0, 0, time.UTC)},
			"-rw-r--r-- 1 ftp ftp             1 Jan  2  1999 a\r\n"},
		{"future shows the year",
			fakeFileInfo{name: "f", size: 1, mode: 0o644, modTime: now.Add(time.Hour)},
			"-rw-r--r-- 1 ftp ftp             1 Nov 25  2026 f\r\n"},
		{"now is recent",
			fakeFileInfo{name: "f", size: 1, mode: 0o644, modTime: now},
			"-rw-r--r-- 1 ftp ftp             1 Nov 25 13:40 f\r\n"},
		{"times in UTC",
			fakeFileInfo{name: "f", size: 1, mode: 0o644, modTime: time.Date(2026, 11, 25, 0, 30, 0, 0, paris)},
			"-rw-r--r-- 1 ftp ftp             1 Nov 24 23:30 f\r\n"},
		{"symlink shows only its name",
			fakeFileInfo{name: "link", size: 7, mode: fs.ModeSymlink | 0o777, modTime: now},
			"lrwxrwxrwx 1 ftp ftp             7 Nov 25 13:40 link\r\n"},
		{"huge size widens the column",
			fakeFileInfo{name: "big", size: 12345678901234567, mode: 0o644, modTime: now},
			"-rw-r--r-- 1 ftp ftp 12345678901234567 Nov 25 13:40 big\r\n"},
		{"negative size",
			fakeFileInfo{name: "neg", size: -5, mode: 0o644, modTime: now},
			"-rw-r--r-- 1 ftp ftp             0 Nov 25 13:40 neg\r\n"},
		{"spaces and UTF-8",
			fakeFileInfo{name: " 日本語 file ", size: 9, mode: 0o644, modTime: now},
			"-rw-r--r-- 1 ftp ftp             9 Nov 25 13:40  日本語 file \r\n"},
		{"CR and LF masked",
			fakeFileInfo{name: "a\r\nb", size: 9, mode: 0o644, modTime: now},
			"-rw-r--r-- 1 ftp ftp             9 Nov 25 13:40 a??b\r\n"},
	}
	for _, tt := range tests {
		got := string(appendListLine([]byte("prefix|"), tt.fi, now))
		assert.Equal(t, "prefix|"+tt.want, got, tt.name)
	}
}

func TestAppendNameLine(t *testing.T) {
	assert.Equal(t, "a|name\r\n", string(appendNameLine([]byte("a|"), "name")))
	assert.Equal(t, " my file \r\n", string(appendNameLine(nil, " my file ")))
	assert.Equal(t, "x?y?\r\n", string(appendNameLine(nil, "x\ny\r")), "CR and LF must not break the line")
}

func TestAppendFacts(t *testing.T) {
	mod := time.Date(2026, 11, 25, 13, 40, 0, 0, time.UTC)
	file := fakeFileInfo{name: "f", size: 123, mode: 0o644, modTime: mod, sys: &fakeStat{Dev: 0x803, Ino: 0x1a}}
	dir := fakeFileInfo{name: "d", size: 4096, mode: fs.ModeDir | 0o755, modTime: mod.Add(50 * time.Millisecond), sys: fakeStat{Dev: 1, Ino: 2}}
	tests := []struct {
		name       string
		fi         fakeFileInfo
		entry, typ string
		perm       string
		facts      factSet
		want       string
	}{
		{"file, all facts", file, "name", "", "adfrw", defaultFacts,
			"type=file;size=123;modify=20261125134000;perm=adfrw;unique=803g1a; name"},
		{"explicit type", file, "name", "file", "r", factType | factPerm,
			"type=file;perm=r; name"},
		{"directory has no size", dir, "d", "", "flcdmpe", defaultFacts,
			"type=dir;modify=20261125134000;perm=flcdmpe;unique=1g2; d"},
		{"cdir", dir, "/a/d", "cdir", "el", factType, "type=cdir; /a/d"},
		{"pdir", dir, "..", "pdir", "el", factType | factModify, "type=pdir;modify=20261125134000; .."},
		{"no facts", file, " spaced name ", "", "", 0, "  spaced name "},
		{"empty perm", file, "x", "", "", factPerm, "perm=; x"},
		{"zero time has no modify", fakeFileInfo{name: "z", size: 1}, "z", "", "r", factModify | factSize, "size=1; z"},
		{"negative int32 device", fakeFileInfo{name: "n", sys: fakeStat{Dev: -2, Ino: 255}}, "n", "", "", factUnique,
			"unique=fffffffegff; n"},
		{"UTF-8 name", file, "日本語", "", "", factSize, "size=123; 日本語"},
		{"CR LF masked", file, "a\r\nb", "", "", 0, " a??b"},
	}
	for _, tt := range tests {
		got := string(appendFacts([]byte("|"), tt.fi, tt.entry, tt.typ, tt.perm, tt.facts))
		assert.Equal(t, "|"+tt.want, got, tt.name)
	}
}

func TestUniqueID(t *testing.T) {
	mod := time.Date(2026, 11, 25, 13, 40, 0, 0, time.UTC)
	a := fakeFileInfo{name: "a", size: 1, modTime: mod}
	assert.Equal(t, uniqueID(a), uniqueID(a), "the fallback should be stable")
	assert.NotContains(t, uniqueID(a), "g", "the fallback must not look like dev g ino")
	assert.Regexp(t, `^[0-9a-f]+$`, uniqueID(a), "the unique fact is a token of hex digits")
	for _, b := range []fakeFileInfo{
		{name: "b", size: 1, modTime: mod},
		{name: "a", size: 2, modTime: mod},
		{name: "a", size: 1, modTime: mod.Add(time.Nanosecond)},
	} {
		assert.NotEqual(t, uniqueID(a), uniqueID(b), "different files should differ: %+v", b)
	}
	assert.Equal(t, "7g9", uniqueID(fakeFileInfo{sys: fakeStat{Dev: 7, Ino: 9}}))
	assert.NotContains(t, uniqueID(fakeFileInfo{sys: struct{ Dev string }{}}), "g", "a struct without integer Dev and Ino falls back")
	assert.NotContains(t, uniqueID(fakeFileInfo{sys: (*fakeStat)(nil)}), "g", "a nil pointer falls back")
	assert.NotContains(t, uniqueID(fakeFileInfo{sys: 42}), "g", "a non-struct falls back")

	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		return
	}
	dir := t.TempDir()
	one, two := filepath.Join(dir, "one"), filepath.Join(dir, "two")
	require.NoError(t, os.WriteFile(one, []byte("x"), 0o644))
	require.NoError(t, os.WriteFile(two, []byte("x"), 0o644))
	link := filepath.Join(dir, "link")
	require.NoError(t, os.Link(one, link))
	fiOne, err := os.Stat(one)
	require.NoError(t, err)
	fiTwo, err := os.Stat(two)
	require.NoError(t, err)
	fiLink, err := os.Stat(link)
	require.NoError(t, err)
	assert.Contains(t, uniqueID(fiOne), "g", "an OS file should use device and inode")
	assert.Equal(t, uniqueID(fiOne), uniqueID(fiLink), "two names of one file share the unique fact")
	assert.NotEqual(t, uniqueID(fiOne), uniqueID(fiTwo), "two files differ")
}

func TestUniqueIDAllocs(t *testing.T) {
	var fi fs.FileInfo = fakeFileInfo{name: "a", size: 1, sys: &fakeStat{Dev: 1, Ino: 2}}
	b := make([]byte, 0, 128)
	uniqueID(fi) // fill the type cache
	allocs := testing.AllocsPerRun(100, func() { b = appendFacts(b[:0], fi, "a", "", "r", defaultFacts) })
	assert.Zero(t, allocs, "an MLSD entry should not allocate")
}

func TestFormatTime(t *testing.T) {
	tests := []struct {
		t    time.Time
		want string
	}{
		{time.Date(2002, 7, 17, 21, 7, 15, 0, time.UTC), "20020717210715"},
		{time.Date(1998, 6, 15, 10, 0, 45, 14e6, time.UTC), "19980615100045"},
		{time.Date(1998, 6, 15, 10, 0, 45, 999999999, time.UTC), "19980615100045"},
		{time.Date(1998, 6, 15, 10, 0, 45, 999999, time.UTC), "19980615100045"},
		{time.Date(2026, 1, 1, 0, 30, 0, 0, time.FixedZone("X", 3600)), "20251231233000"},
	}
	for _, tt := range tests {
		got := formatTime(tt.t)
		assert.Equal(t, tt.want, got, "formatTime(%v)", tt.t)
		back, err := parseTime(got)
		require.NoError(t, err, "parseTime(%q)", got)
		assert.True(t, tt.t.Truncate(time.Second).Equal(back), "round trip of %v gave %v", tt.t, back)
	}
}

// wantASCII is the reference conversion: LF not after CR becomes CRLF.
func wantASCII(in string) string {
	var b strings.Builder
	for i := 0; i < len(in); i++ {
		if in[i] == '\n' && (i == 0 || in[i-1] != '\r') {
			b.WriteByte('\r')
		}
		b.WriteByte(in[i])
	}
	return b.String()
}

var asciiCases = []struct {
	name      string
	in        string // local form
	wire      string // asciiWriter output
	wireBack  string // asciiReader output of wire
	readInput string // asciiReader of in
}{
	{"empty", "", "", "", ""},
	{"no line ends", "abc", "abc", "abc", "abc"},
	{"bare LF", "a\nb\n", "a\r\nb\r\n", "a\nb\n", "a\nb\n"},
	{"leading LF", "\n\na", "\r\n\r\na", "\n\na", "\n\na"},
	{"CRLF kept", "a\r\nb", "a\r\nb", "a\nb", "a\nb"},
	{"lone CR", "a\rb", "a\rb", "a\rb", "a\rb"},
	{"trailing CR", "a\r", "a\r", "a\r", "a\r"},
	{"CR CR LF", "a\r\r\n", "a\r\r\n", "a\r\n", "a\r\n"},
	{"LF CR", "\n\r", "\r\n\r", "\n\r", "\n\r"},
	{"mixed", "x\r\ny\nz\r", "x\r\ny\r\nz\r", "x\ny\nz\r", "x\ny\nz\r"},
	{"binary", "\x00\xff\n\r\x00", "\x00\xff\r\n\r\x00", "\x00\xff\n\r\x00", "\x00\xff\n\r\x00"},
}

func TestASCIIWriter(t *testing.T) {
	for _, tt := range asciiCases {
		for _, chunk := range []int{1, 2, 3, 1 << 20} {
			var out bytes.Buffer
			w := newASCIIWriter(&out)
			for in := []byte(tt.in); len(in) > 0; {
				k := min(chunk, len(in))
				n, err := w.Write(in[:k])
				require.NoError(t, err)
				require.Equal(t, k, n, "Write should report the input bytes it took")
				in = in[k:]
			}
			assert.Equal(t, tt.wire, out.String(), "%s, written %d bytes at a time", tt.name, chunk)
		}
	}
}

func TestASCIIWriterLarge(t *testing.T) {
	in := strings.Repeat("line of text\n", 10000) + strings.Repeat("\r\n", 20000) + strings.Repeat("\n", 40000)
	var out bytes.Buffer
	n, err := newASCIIWriter(&out).Write([]byte(in))
	require.NoError(t, err)
	assert.Equal(t, len(in), n)
	assert.Equal(t, wantASCII(in), out.String(), "a write over many chunks")
}

// fullAfterWriter takes limit bytes and then fails.
type fullAfterWriter struct {
	bytes.Buffer
	limit int
}

var errDiskFull = errors.New("disk full")

func (w *fullAfterWriter) Write(p []byte) (int, error) {
	room := w.limit - w.Len()
	if len(p) <= room {
		return w.Buffer.Write(p)
	}
	w.Buffer.Write(p[:room])
	return room, errDiskFull
}

func TestASCIIWriterShortWrite(t *testing.T) {
	in := "ab\ncd\r\nef\n"
	wire := wantASCII(in)
	for limit := range len(wire) {
		lw := &fullAfterWriter{limit: limit}
		w := newASCIIWriter(lw)
		n, err := w.Write([]byte(in))
		require.ErrorIs(t, err, errDiskFull, "limit %d", limit)
		assert.LessOrEqual(t, len(wantASCII(in[:n])), limit+1, "limit %d: n=%d claims more than was written", limit, n)
		// Writing the rest to an unlimited writer completes the stream.
		lw.limit = 1 << 20
		m, err := w.Write([]byte(in[n:]))
		require.NoError(t, err)
		assert.Equal(t, len(in)-n, m)
		assert.Equal(t, wire, lw.String(), "limit %d: the stream should resume without loss or doubling", limit)
	}
}

func TestASCIIReader(t *testing.T) {
	for _, tt := range asciiCases {
		for _, k := range chunkedReaders {
			got, err := io.ReadAll(newASCIIReader(k.wrap(strings.NewReader(tt.wire))))
			require.NoError(t, err)
			assert.Equal(t, tt.wireBack, string(got), "%s read %s", tt.name, k.name)
			got, err = io.ReadAll(newASCIIReader(k.wrap(strings.NewReader(tt.in))))
			require.NoError(t, err)
			assert.Equal(t, tt.readInput, string(got), "%s read %s", tt.name, k.name)
		}
	}
}

func TestASCIIReaderSmallBuffers(t *testing.T) {
	in := "a\r\nb\r\r\nc\rd\r"
	for _, size := range []int{1, 2, 3} {
		r := newASCIIReader(iotest.OneByteReader(strings.NewReader(in)))
		var out []byte
		buf := make([]byte, size)
		for {
			n, err := r.Read(buf)
			out = append(out, buf[:n]...)
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
		}
		assert.Equal(t, "a\nb\r\nc\rd\r", string(out), "reads of %d bytes", size)
	}
}

func TestASCIIReaderError(t *testing.T) {
	boom := errors.New("connection reset")
	r := newASCIIReader(io.MultiReader(strings.NewReader("a\r"), iotest.ErrReader(boom)))
	got, err := io.ReadAll(r)
	assert.ErrorIs(t, err, boom, "the read error should come through")
	assert.Equal(t, "a", string(got), "the CR whose successor is unknown is held back")
	assert.NoError(t, iotest.TestReader(newASCIIReader(strings.NewReader("x\r\ny")), []byte("x\ny")))
}

func FuzzASCIIRoundTrip(f *testing.F) {
	for _, tt := range asciiCases {
		f.Add([]byte(tt.in), uint8(1))
	}
	f.Add([]byte("\r\r\n\n\r"), uint8(3))
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		k := int(chunk%16) + 1
		var wire bytes.Buffer
		w := newASCIIWriter(&wire)
		for p := in; len(p) > 0; p = p[min(k, len(p)):] {
			if n, err := w.Write(p[:min(k, len(p))]); err != nil || n != min(k, len(p)) {
				t.Fatalf("Write = %d, %v", n, err)
			}
		}
		if got := wire.String(); got != wantASCII(string(in)) {
			t.Fatalf("writer in chunks of %d gave %q, want %q", k, got, wantASCII(string(in)))
		}
		for i := 0; i < wire.Len(); i++ {
			if wire.Bytes()[i] == '\n' && (i == 0 || wire.Bytes()[i-1] != '\r') {
				t.Fatalf("bare LF on the wire at %d: %q", i, wire.String())
			}
		}
		want := bytes.ReplaceAll(in, []byte("\r\n"), []byte("\n"))
		for _, rk := range chunkedReaders {
			back, err := io.ReadAll(newASCIIReader(rk.wrap(bytes.NewReader(wire.Bytes()))))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(back, want) {
				t.Fatalf("%s round trip of %q gave %q, want %q", rk.name, in, back, want)
			}
		}
	})
}
