package sync

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTempName(t *testing.T) {
	at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	a := tempName("dir/file.txt", 10, at)
	assert.True(t, strings.HasPrefix(a, "dir/.ferrysync-"), "in the target's folder: %s", a)
	assert.True(t, strings.HasSuffix(a, "-file.txt"), "ends with the name: %s", a)
	assert.True(t, isTempName(a[len("dir/"):]), "recognised")
	assert.Equal(t, a, tempName("dir/file.txt", 10, at), "the same version gets the same name")
	assert.NotEqual(t, a, tempName("dir/file.txt", 11, at), "another size, another name")
	assert.NotEqual(t, a, tempName("dir/file.txt", 10, at.Add(time.Second)), "another time, another name")
	long := strings.Repeat("é", 200) // 400 bytes
	ln := tempName(long, 1, at)
	assert.LessOrEqual(t, len(ln), 255, "within NAME_MAX")
	assert.NoError(t, checkName(ln), "still valid UTF-8")
	for _, n := range []string{"file.txt", ".ferrysync-", ".ferrysync-0123456x-a", ".ferrysync-01234567a", ".ferrysync-ABCDEF01-a"} {
		assert.False(t, isTempName(n), "%q is not a temporary name", n)
	}
}

func TestSameTime(t *testing.T) {
	at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	e := func(d time.Duration, prec time.Duration) Entry { return Entry{ModTime: at.Add(d), Precision: prec} }
	assert.True(t, sameTime(e(0, 0), e(900*time.Millisecond, 0)), "the same second")
	assert.True(t, sameTime(e(0, 0), e(time.Second, 0)), "a rounded second")
	assert.False(t, sameTime(e(0, 0), e(2*time.Second, 0)), "two seconds apart")
	assert.True(t, sameTime(e(0, time.Minute), e(59*time.Second, 0)), "a listing in minutes")
}

func TestIgnored(t *testing.T) {
	it := &Item{Ignore: []*regexp.Regexp{regexp.MustCompile(`\.bak$`), regexp.MustCompile(`^cache/$`), regexp.MustCompile(`^Thumbs\.db$`)}}
	for rel, dir := range map[string]bool{"a.bak": false, "x/y.bak": false, "cache": true, "x/Thumbs.db": false} {
		assert.True(t, it.ignored(rel, dir), "%s is ignored", rel)
	}
	for rel, dir := range map[string]bool{"a.txt": false, "x/cache": true, "cache": false, "bak": false} {
		assert.False(t, it.ignored(rel, dir), "%s is not ignored", rel)
	}
}

func TestFormatBytesAndSummary(t *testing.T) {
	assert.Equal(t, "512 B", FormatBytes(512), "bytes")
	assert.Equal(t, "1.5 KiB", FormatBytes(1536), "KiB")
	assert.Equal(t, "1.0 GiB", FormatBytes(1<<30), "GiB")
	s := Summary{Files: 3, Bytes: 2048, Dirs: 1, Deleted: 2, Conflicts: 1, Errors: 4, Duration: 1500 * time.Millisecond}
	assert.Equal(t, "3 files copied (2.0 KiB), 1 folders created, 2 deleted, 1 conflicts, 4 errors in 1.5s", s.String(), "summary line")
	assert.Equal(t, "skipped: why in 0s", Summary{Skipped: "why"}.String(), "skipped")
	assert.Equal(t, "dry run: 7 actions planned, nothing changed in 0s", Summary{DryRun: true, Planned: 7}.String(), "dry run")
}

func TestParseMode(t *testing.T) {
	for in, want := range map[string]Mode{"one-way": OneWay, "Simple": OneWay, "clone": Clone, "TWO-WAY": TwoWay} {
		m, err := ParseMode(in)
		require.NoError(t, err, "ParseMode(%q)", in)
		assert.Equal(t, want, m, "ParseMode(%q)", in)
		again, err := ParseMode(m.String())
		require.NoError(t, err, "String parses back")
		assert.Equal(t, m, again, "round trip of %v", m)
	}
	_, err := ParseMode("mirror")
	assert.Error(t, err, "unknown mode")
}

func TestJournalFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "sub", "j.json")
	j, fresh, err := loadJournal(p, "a", "b")
	require.NoError(t, err, "a missing journal is empty")
	assert.True(t, fresh, "fresh")
	j.Entries["d"] = &record{Dir: true}
	j.Entries["d/f.txt"] = &record{Src: state{1, 2}, Dst: state{1, 3}}
	require.NoError(t, j.save(p), "save")
	ents, err := os.ReadDir(filepath.Dir(p))
	require.NoError(t, err, "read dir")
	assert.Len(t, ents, 1, "no temporary file left by save")

	j2, fresh, err := loadJournal(p, "a", "b")
	require.NoError(t, err, "load")
	assert.False(t, fresh, "not fresh")
	assert.Equal(t, j.Entries, j2.Entries, "entries round trip")
	assert.ElementsMatch(t, []string{"f.txt"}, j2.children["d"], "children indexed")

	_, fresh, err = loadJournal(p, "a", "other")
	require.NoError(t, err, "a journal of other locations")
	assert.True(t, fresh, "is replaced by an empty one")

	for name, content := range map[string]string{
		"not JSON":   "{",
		"version":    `{"version":9}`,
		"bad entry":  `{"version":1,"source":"a","dest":"b","entries":{"../x":{}}}`,
		"null entry": `{"version":1,"source":"a","dest":"b","entries":{"x":null}}`,
		"root entry": `{"version":1,"source":"a","dest":"b","entries":{".":{}}}`,
	} {
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644), "write")
		_, _, err := loadJournal(p, "a", "b")
		assert.ErrorIs(t, err, errJournal, "%s is refused", name)
	}
}
