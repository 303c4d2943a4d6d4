package sync_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/internal/e2etest"
	ferrysync "github.com/ferryftp/ferry/sync"
)

// pairs are the four combinations of local directories and Ferry's
// server, as source and destination.
var pairs = []struct {
	name string
	make func(t *testing.T) (src, dst place)
}{
	{"local-local", func(t *testing.T) (place, place) { return localPlace(t), localPlace(t) }},
	{"local-ftp", func(t *testing.T) (place, place) { return localPlace(t), newFerry(t).place(t, "dst") }},
	{"ftp-local", func(t *testing.T) (place, place) { return newFerry(t).place(t, "src"), localPlace(t) }},
	{"ftp-ftp", func(t *testing.T) (place, place) {
		f := newFerry(t)
		return f.place(t, "src"), f.place(t, "dst")
	}},
}

// forPairs runs fn for every pair, in parallel.
func forPairs(t *testing.T, fn func(t *testing.T, src, dst place)) {
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			src, dst := p.make(t)
			fn(t, src, dst)
		})
	}
}

func item(name string, mode ferrysync.Mode, src, dst place) ferrysync.Item {
	return ferrysync.Item{Name: name, Source: src.loc, Dest: dst.loc, Mode: mode, Recursive: true}
}

var (
	sourceTree = tree{"a.txt": "new a", "sub/b.txt": "b", "sub/deep/c.txt": "c", "empty/": "", "spaced name ü.txt": "utf-8"}
	destTree   = tree{"a.txt": "old", "old.txt": "keep me", "extra/x.txt": "x"}
)

func TestOneWay(t *testing.T) {
	t.Parallel()
	forPairs(t, scenarioOneWay)
}

// scenarioOneWay: new and changed files are copied with their times,
// nothing is deleted, and a second run has nothing to do.
func scenarioOneWay(t *testing.T, src, dst place) {
	write(t, src.dir, sourceTree)
	write(t, dst.dir, destTree)
	it := item("oneway", ferrysync.OneWay, src, dst)
	sum, log := mustRun(t, it)
	want := tree{"a.txt": "new a", "sub/b.txt": "b", "sub/deep/c.txt": "c", "empty/": "", "spaced name ü.txt": "utf-8",
		"old.txt": "keep me", "extra/x.txt": "x"}
	assert.Equal(t, want, read(t, dst.dir), "destination after a one-way run\n%s", log)
	assert.Equal(t, 4, sum.Files, "files copied")
	assert.Equal(t, 3, sum.Dirs, "folders created: sub, sub/deep, empty")
	assert.Equal(t, 0, sum.Deleted, "nothing deleted")
	assert.Equal(t, int64(len("new a")+2+len("utf-8")), sum.Bytes, "bytes copied")
	for _, p := range []string{"a.txt", "sub/deep/c.txt"} {
		assert.Equal(t, mtime(t, src.dir, p), mtime(t, dst.dir, p), "time of %s copied", p)
	}
	assert.Contains(t, log, "summary: 4 files copied", "the log ends with a summary")
	noTemps(t, dst.dir)

	sum, log = mustRun(t, it)
	assert.Equal(t, 0, sum.Planned, "a second run has nothing to do\n%s", log)

	// A change of size, then a change of time alone.
	writeAt(t, src.dir, "sub/b.txt", "bigger b", dateOf("sub/b.txt"))
	writeAt(t, src.dir, "a.txt", "new a", dateOf("a.txt").Add(time.Hour))
	sum, log = mustRun(t, it)
	assert.Equal(t, 2, sum.Files, "the changed files are copied\n%s", log)
	assert.Contains(t, log, "size differs", "the log says why")
	assert.Contains(t, log, "time differs", "the log says why")
	assert.Equal(t, "bigger b", read(t, dst.dir)["sub/b.txt"], "changed content")
	assert.Equal(t, dateOf("a.txt").Add(time.Hour), mtime(t, dst.dir, "a.txt"), "changed time")
}

func TestClone(t *testing.T) {
	t.Parallel()
	forPairs(t, scenarioClone)
}

// scenarioClone: the destination becomes an exact copy.
func scenarioClone(t *testing.T, src, dst place) {
	write(t, src.dir, sourceTree)
	write(t, dst.dir, destTree)
	// A file where the source has a folder, and the other way round.
	writeAt(t, dst.dir, "sub", "a file in the way", base)
	require.NoError(t, os.Remove(filepath.Join(src.dir, "empty")), "setup")
	writeAt(t, src.dir, "empty", "now a file", base)
	write(t, dst.dir, tree{"empty/inside.txt": "i"})
	it := item("clone", ferrysync.Clone, src, dst)
	sum, log := mustRun(t, it)
	assert.Equal(t, read(t, src.dir), read(t, dst.dir), "destination equals the source\n%s", log)
	assert.Equal(t, 6, sum.Deleted, "deleted: old.txt, extra/x.txt, extra/, the file sub, empty/inside.txt, empty/\n%s", log)
	noTemps(t, dst.dir)
	sum, log = mustRun(t, it)
	assert.Equal(t, 0, sum.Planned, "a second clone has nothing to do\n%s", log)
}

func TestTwoWay(t *testing.T) {
	t.Parallel()
	forPairs(t, scenarioTwoWay)
}

// scenarioTwoWay: the first run merges; later runs carry creations,
// changes and deletions of each side to the other.
func scenarioTwoWay(t *testing.T, src, dst place) {
	write(t, src.dir, tree{"same.txt": "same", "src-only.txt": "1", "dir/a.txt": "a", "gone-src.txt": "g1"})
	write(t, dst.dir, tree{"same.txt": "same", "dst-only.txt": "2", "dir/b.txt": "b", "gone-dst.txt": "g2"})
	it := item("twoway", ferrysync.TwoWay, src, dst)
	it.JournalPath = filepath.Join(t.TempDir(), "journal.json")
	sum, log := mustRun(t, it)
	merged := tree{"same.txt": "same", "src-only.txt": "1", "dir/a.txt": "a", "gone-src.txt": "g1",
		"dst-only.txt": "2", "dir/b.txt": "b", "gone-dst.txt": "g2"}
	assert.Equal(t, merged, read(t, src.dir), "source after the merge\n%s", log)
	assert.Equal(t, merged, read(t, dst.dir), "destination after the merge\n%s", log)
	assert.Equal(t, 0, sum.Deleted, "a merge deletes nothing")
	assert.Equal(t, 0, sum.Conflicts, "no conflict")
	sum, log = mustRun(t, it)
	assert.Equal(t, 0, sum.Planned, "nothing to do after the merge\n%s", log)

	// Changes on each side.
	writeAt(t, src.dir, "src-only.txt", "changed on the source", base.Add(48*time.Hour))
	require.NoError(t, os.Remove(filepath.Join(src.dir, "gone-src.txt")), "delete on the source")
	require.NoError(t, os.Remove(filepath.Join(dst.dir, "gone-dst.txt")), "delete on the destination")
	require.NoError(t, os.RemoveAll(filepath.Join(src.dir, "dir")), "delete a folder on the source")
	writeAt(t, dst.dir, "dir/new.txt", "new in the deleted folder", base)
	writeAt(t, dst.dir, "fresh/f.txt", "a new folder", base)
	sum, log = mustRun(t, it)
	want := tree{"same.txt": "same", "src-only.txt": "changed on the source", "dst-only.txt": "2",
		"dir/new.txt": "new in the deleted folder", "fresh/f.txt": "a new folder"}
	assert.Equal(t, want, read(t, src.dir), "source after the changes\n%s", log)
	assert.Equal(t, want, read(t, dst.dir), "destination after the changes\n%s", log)
	assert.Equal(t, 4, sum.Deleted, "deleted: gone-src, gone-dst, dir/a, dir/b\n%s", log)
	noTemps(t, src.dir)
	noTemps(t, dst.dir)
	sum, log = mustRun(t, it)
	assert.Equal(t, 0, sum.Planned, "nothing to do after the changes\n%s", log)
}

// TestTwoWayConflicts: a file changed on both sides keeps both versions;
// a deletion loses to a change; a file against a folder keeps both.
func TestTwoWayConflicts(t *testing.T) {
	t.Parallel()
	f := newFerry(t)
	src, dst := localPlace(t), f.place(t, "dst")
	write(t, src.dir, tree{"x.txt": "base", "y.txt": "base y"})
	write(t, dst.dir, tree{"x.txt": "base", "y.txt": "base y"})
	it := item("conflicts", ferrysync.TwoWay, src, dst)
	it.JournalPath = filepath.Join(t.TempDir(), "journal.json")
	mustRun(t, it)

	srcTime, dstTime := base.Add(72*time.Hour), base.Add(71*time.Hour)
	writeAt(t, src.dir, "x.txt", "source version", srcTime)
	writeAt(t, dst.dir, "x.txt", "dest version!", dstTime)
	require.NoError(t, os.Remove(filepath.Join(src.dir, "y.txt")), "delete y on the source")
	writeAt(t, dst.dir, "y.txt", "y changed on the dest", dstTime)
	// New on both sides at once: a file here, a folder there.
	writeAt(t, src.dir, "k", "file k", srcTime)
	writeAt(t, dst.dir, "k/inside.txt", "in folder k", dstTime)

	sum, log := mustRun(t, it)
	kept := ferrysync.ConflictName("x.txt", ferrysync.Dest, dstTime)
	keptK := ferrysync.ConflictName("k", ferrysync.Source, srcTime)
	assert.Equal(t, "x.txt.conflict-dest-20240509T060809Z", kept, "conflict name")
	want := tree{"x.txt": "source version", kept: "dest version!", "y.txt": "y changed on the dest",
		"k/inside.txt": "in folder k", keptK: "file k"}
	assert.Equal(t, want, read(t, src.dir), "source: both versions\n%s", log)
	assert.Equal(t, want, read(t, dst.dir), "destination: both versions\n%s", log)
	assert.Equal(t, 2, sum.Conflicts, "two conflicts\n%s", log)
	assert.Equal(t, srcTime, mtime(t, dst.dir, "x.txt"), "the winner keeps its time")
	assert.Equal(t, dstTime, mtime(t, src.dir, kept), "the kept version keeps its time")
	sum, log = mustRun(t, it)
	assert.Equal(t, 0, sum.Planned, "settled after the conflict\n%s", log)
}

func TestInterruptedRun(t *testing.T) {
	t.Parallel()
	forPairs(t, scenarioInterrupted)
}

// scenarioInterrupted stops a run in the middle of a copy: the destination
// keeps its old file, and the next run resumes the part and completes.
func scenarioInterrupted(t *testing.T, src, dst place) {
	payload := e2etest.Pattern(12 << 20)
	writeAt(t, src.dir, "big.bin", string(payload), base.Add(time.Hour))
	writeAt(t, dst.dir, "big.bin", "the old good file", base)
	it := item("interrupted", ferrysync.OneWay, src, dst)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cut := it
	cut.Dest = wrapLoc{dst.loc, func(ep ferrysync.Endpoint) ferrysync.Endpoint {
		return &cancelAfter{Endpoint: ep, cancel: cancel, limit: 1 << 20}
	}}
	var log strings.Builder
	_, err := ferrysync.Run(ctx, cut, &log)
	require.ErrorIs(t, err, context.Canceled, "the run stops with its context\n%s", log.String())
	assert.Equal(t, "the old good file", read(t, dst.dir)["big.bin"], "the old file is untouched\n%s", log.String())
	parts := temps(t, dst.dir)
	require.Len(t, parts, 1, "one partial temporary file")
	fi, err := os.Stat(filepath.Join(dst.dir, parts[0]))
	require.NoError(t, err, "stat the part")

	sum, log2 := mustRun(t, it)
	assert.Equal(t, string(payload), read(t, dst.dir)["big.bin"], "the rerun completes the file")
	if fi.Size() > 0 {
		assert.Contains(t, log2, "resuming at", "the part is resumed")
		assert.Equal(t, int64(len(payload))-fi.Size(), sum.Bytes, "only the rest is copied")
	}
	noTemps(t, dst.dir)
}

// TestStaleTemporaryFiles: parts of versions that no longer exist are
// removed, and temporary files are never copied.
func TestStaleTemporaryFiles(t *testing.T) {
	t.Parallel()
	src, dst := localPlace(t), localPlace(t)
	write(t, src.dir, tree{"a.txt": "a", ".ferrysync-0123abcd-b.txt": "a part on the source", "sub/x.txt": "x"})
	write(t, dst.dir, tree{"sub/.ferrysync-deadbeef-old.txt": "stale", ".ferrysync-01234567-a.txt": "stale too"})
	sum, log := mustRun(t, item("stale", ferrysync.OneWay, src, dst))
	assert.Equal(t, tree{"a.txt": "a", "sub/x.txt": "x"}, read(t, dst.dir), "stale parts removed, source part not copied\n%s", log)
	assert.Equal(t, 2, sum.Files, "two files copied")
	assert.Equal(t, 0, sum.Deleted, "cleaning is not counted as deleting")
	assert.Contains(t, log, "left by an interrupted run", "the cleaning is logged")
}

// TestIgnoreAndFileCheck: ignored entries are neither copied nor deleted;
// the file check decides whether the run happens at all.
func TestIgnoreAndFileCheck(t *testing.T) {
	t.Parallel()
	src, dst := localPlace(t), newFerry(t).place(t, "dst")
	write(t, src.dir, tree{"keep.txt": "k", "a.tmp": "t", "cache/x.bin": "x", "sub/.DS_Store": "d", "sub/ok.txt": "ok"})
	write(t, dst.dir, tree{"b.tmp": "dest temp", "cache/y": "y", "gone.txt": "g"})
	it := item("ignore", ferrysync.Clone, src, dst)
	it.Ignore = []*regexp.Regexp{regexp.MustCompile(`\.tmp$`), regexp.MustCompile(`^cache/$`), regexp.MustCompile(`^\.DS_Store$`)}
	fc, err := ferrysync.ParseFileCheck("ready.flag=^go$")
	require.NoError(t, err, "ParseFileCheck")
	it.FileCheck = fc

	before := read(t, dst.dir)
	sum, log := mustRun(t, it)
	assert.Contains(t, sum.Skipped, "not found", "no ready.flag: skipped\n%s", log)
	assert.Equal(t, before, read(t, dst.dir), "a skipped run changes nothing")

	writeAt(t, src.dir, "ready.flag", "wait", base)
	sum, log = mustRun(t, it)
	assert.Contains(t, sum.Skipped, "does not match", "content does not match: skipped\n%s", log)
	assert.Equal(t, before, read(t, dst.dir), "a skipped run changes nothing")

	writeAt(t, src.dir, "ready.flag", "go", base)
	sum, log = mustRun(t, it)
	assert.Empty(t, sum.Skipped, "the check passes")
	assert.Equal(t, tree{"keep.txt": "k", "sub/ok.txt": "ok", "ready.flag": "go", "b.tmp": "dest temp", "cache/y": "y"},
		read(t, dst.dir), "ignored entries stay as they are\n%s", log)

	// The check on the destination side, existence only.
	it.FileCheck = &ferrysync.FileCheck{Side: ferrysync.Dest, Path: "nowhere/flag"}
	sum, _ = mustRun(t, it)
	assert.Contains(t, sum.Skipped, "not found on the dest", "checked on the destination")
}

// TestCloneSafety: a clone deletes nothing when the source's listing
// failed or came back empty.
func TestCloneSafety(t *testing.T) {
	t.Parallel()
	f := newFerry(t)
	t.Run("empty source", func(t *testing.T) {
		src, dst := localPlace(t), f.place(t, "empty-dst")
		write(t, dst.dir, destTree)
		it := item("empty", ferrysync.Clone, src, dst)
		_, err, log := runItem(t, it)
		assert.ErrorIs(t, err, ferrysync.ErrEmptySource, "refused\n%s", log)
		assert.Equal(t, destTree, read(t, dst.dir), "nothing deleted")
		it.AllowEmptySourceDelete = true
		mustRun(t, it)
		assert.Empty(t, read(t, dst.dir), "emptied when allowed")
	})
	t.Run("missing source directory", func(t *testing.T) {
		src, dst := f.place(t, "present"), localPlace(t)
		write(t, dst.dir, destTree)
		loc := src.loc.(ferrysync.FTPLocation)
		loc.Dir = "/no/such/dir"
		src.loc = loc
		_, err, log := runItem(t, item("missing", ferrysync.Clone, src, dst))
		assert.Error(t, err, "a source that does not exist fails the run\n%s", log)
		assert.Equal(t, destTree, read(t, dst.dir), "nothing deleted")
	})
	t.Run("failed subfolder listing", func(t *testing.T) {
		src, dst := localPlace(t), localPlace(t)
		write(t, src.dir, tree{"sub/a.txt": "a", "top.txt": "t"})
		write(t, dst.dir, tree{"sub/extra.txt": "e", "extra.txt": "e"})
		it := item("sublist", ferrysync.Clone, src, dst)
		it.Source = wrapLoc{src.loc, func(ep ferrysync.Endpoint) ferrysync.Endpoint { return &failList{ep, "sub"} }}
		sum, err, log := runItem(t, it)
		assert.ErrorIs(t, err, ferrysync.ErrIncomplete, "the run reports the error\n%s", log)
		assert.Equal(t, 1, sum.Errors, "one error")
		assert.Equal(t, tree{"sub/extra.txt": "e", "top.txt": "t"}, read(t, dst.dir), "nothing deleted below the failed folder")
	})
	t.Run("two-way side emptied", func(t *testing.T) {
		src, dst := localPlace(t), localPlace(t)
		write(t, src.dir, tree{"a.txt": "a", "b.txt": "b"})
		it := item("twoempty", ferrysync.TwoWay, src, dst)
		it.JournalPath = filepath.Join(t.TempDir(), "j.json")
		mustRun(t, it)
		require.NoError(t, os.Remove(filepath.Join(dst.dir, "a.txt")), "setup")
		require.NoError(t, os.Remove(filepath.Join(dst.dir, "b.txt")), "setup")
		_, err, log := runItem(t, it)
		assert.ErrorIs(t, err, ferrysync.ErrEmptySource, "refused\n%s", log)
		assert.Equal(t, tree{"a.txt": "a", "b.txt": "b"}, read(t, src.dir), "nothing deleted on the source")
	})
}

// TestDryRun: the plan is written and nothing changes.
func TestDryRun(t *testing.T) {
	t.Parallel()
	f := newFerry(t)
	src, dst := localPlace(t), f.place(t, "dst")
	write(t, src.dir, sourceTree)
	write(t, dst.dir, destTree)
	it := item("dry", ferrysync.Clone, src, dst)
	it.DryRun = true
	it.JournalPath = filepath.Join(t.TempDir(), "j.json")
	sum, log := mustRun(t, it)
	assert.True(t, sum.DryRun, "a dry run")
	assert.Equal(t, destTree, read(t, dst.dir), "nothing changed\n%s", log)
	assert.Contains(t, log, "plan for dry (clone)", "the plan is printed")
	assert.Contains(t, log, "copy    source -> dest  sub/deep/c.txt (1 B, new)", "copies planned")
	assert.Contains(t, log, "delete  dest  old.txt (not on the source)", "deletions planned")
	assert.Contains(t, log, "dry run: 10 actions planned", "the summary says so")
	assert.NoFileExists(t, it.JournalPath, "no journal written")

	plan, err := ferrysync.PlanRun(context.Background(), it)
	require.NoError(t, err, "PlanRun")
	require.Len(t, plan.Actions, 10, "the plan as a value")
	var del []string
	for _, a := range plan.Actions {
		if a.Op == ferrysync.OpRemove {
			assert.Equal(t, ferrysync.Dest, a.Side, "deletions on the destination")
			del = append(del, a.Path)
		}
	}
	assert.Equal(t, []string{"extra/x.txt", "extra", "old.txt"}, del, "deletions, a folder after its content")
	assert.Equal(t, destTree, read(t, dst.dir), "PlanRun changes nothing")

	// A destination that does not exist yet is not created.
	loc := dst.loc.(ferrysync.FTPLocation)
	loc.Dir = "/not/yet"
	it.Dest = loc
	sum, log = mustRun(t, it)
	assert.Equal(t, 7, sum.Planned, "everything to copy\n%s", log)
	assert.NoDirExists(t, filepath.Join(f.srv.Dir, "not"), "not created")
}

// TestRunErrors: settings that cannot work fail before anything is done.
func TestRunErrors(t *testing.T) {
	t.Parallel()
	src, dst := localPlace(t), localPlace(t)
	for name, it := range map[string]ferrysync.Item{
		"no name":          {Source: src.loc, Dest: dst.loc},
		"no journal":       {Name: "x", Source: src.loc, Dest: dst.loc, Mode: ferrysync.TwoWay},
		"same location":    {Name: "x", Source: src.loc, Dest: src.loc},
		"bad schedule":     {Name: "x", Source: src.loc, Dest: dst.loc, Schedule: ferrysync.Schedule{Every: time.Second}},
		"bad check":        {Name: "x", Source: src.loc, Dest: dst.loc, FileCheck: &ferrysync.FileCheck{Path: "../x"}},
		"missing location": {Name: "x", Source: src.loc},
	} {
		_, err, _ := runItem(t, it)
		assert.Error(t, err, "%s is refused", name)
	}
	_, err := ferrysync.ParseFileCheck("=x")
	assert.Error(t, err, "a file check without a path")
	_, err = ferrysync.ParseFileCheck("a=(")
	assert.Error(t, err, "a file check with a bad regex")
}

// TestConcurrentRunsOfOneItem: a second process-level run of an item with
// a journal is refused while the first holds the lock.
func TestConcurrentRunsOfOneItem(t *testing.T) {
	t.Parallel()
	src, dst := localPlace(t), localPlace(t)
	payload := e2etest.Pattern(1 << 20)
	writeAt(t, src.dir, "a.bin", string(payload), base)
	it := item("locked", ferrysync.TwoWay, src, dst)
	it.JournalPath = filepath.Join(t.TempDir(), "j.json")

	entered, release := make(chan struct{}), make(chan struct{})
	first := it
	first.Dest = wrapLoc{dst.loc, func(ep ferrysync.Endpoint) ferrysync.Endpoint {
		return &gateWrite{Endpoint: ep, entered: entered, release: release}
	}}
	done := make(chan error, 1)
	go func() {
		_, err := ferrysync.Run(context.Background(), first, nil)
		done <- err
	}()
	<-entered
	_, err, _ := runItem(t, it)
	assert.Error(t, err, "a second run is refused while the first runs")
	assert.Contains(t, errString(err), "lock", "the refusal names the lock")
	close(release)
	require.NoError(t, <-done, "the first run completes")
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// gateWrite blocks the first write until release is closed.
type gateWrite struct {
	ferrysync.Endpoint
	entered, release chan struct{}
	once             bool
}

func (g *gateWrite) Write(ctx context.Context, name string, off int64, r io.Reader) (int64, error) {
	if !g.once {
		g.once = true
		close(g.entered)
		<-g.release
	}
	return g.Endpoint.Write(ctx, name, off, r)
}

// noopSpy is a log handler that sees the FTP client's commands and
// closes sent when a NOOP goes out.
type noopSpy struct {
	sent chan struct{}
	once *gosync.Once
}

func newNoopSpy() *noopSpy { return &noopSpy{sent: make(chan struct{}), once: new(gosync.Once)} }

func (s *noopSpy) Enabled(context.Context, slog.Level) bool { return true }
func (s *noopSpy) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "line" && a.Value.String() == "NOOP" {
			s.once.Do(func() { close(s.sent) })
		}
		return true
	})
	return nil
}
func (s *noopSpy) WithAttrs([]slog.Attr) slog.Handler { return s }
func (s *noopSpy) WithGroup(string) slog.Handler      { return s }

// gateRead holds a copy until a NOOP has gone out.
type gateRead struct {
	ferrysync.Endpoint
	open <-chan struct{}
}

func (g *gateRead) Write(ctx context.Context, name string, off int64, r io.Reader) (int64, error) {
	return g.Endpoint.Write(ctx, name, off, &waitReader{r: r, open: g.open})
}

// KeepAlive passes the no-op on: the wrapper must not hide it.
func (g *gateRead) KeepAlive(ctx context.Context) error {
	if ka, ok := g.Endpoint.(interface{ KeepAlive(context.Context) error }); ok {
		return ka.KeepAlive(ctx)
	}
	return nil
}

type waitReader struct {
	r    io.Reader
	open <-chan struct{}
}

func (w *waitReader) Read(p []byte) (int, error) {
	select {
	case <-w.open:
	case <-time.After(20 * time.Second):
		return 0, errors.New("no NOOP was sent during the copy")
	}
	return w.r.Read(p)
}

func TestNoop(t *testing.T) {
	t.Parallel()
	forPairs(t, func(t *testing.T, src, dst place) {
		if src.kind == "local" && dst.kind == "local" {
			t.Skip("no FTP connection to keep alive")
		}
		scenarioNoop(t, src, dst)
	})
}

// scenarioNoop: with NoopInterval set, NOOPs go out on the control
// connections while a copy is held in the middle of its transfer, and the
// session stays in step.
func scenarioNoop(t *testing.T, src, dst place) {
	payload := e2etest.Pattern(3 << 20)
	writeAt(t, src.dir, "n.bin", string(payload), base)
	writeAt(t, src.dir, "after.txt", "copied after", base)
	spy := newNoopSpy()
	logged := func(p place) place {
		if loc, ok := p.loc.(ferrysync.FTPLocation); ok {
			loc.Logger = slog.New(spy)
			p.loc = loc
		}
		return p
	}
	src, dst = logged(src), logged(dst)
	it := item("noop", ferrysync.OneWay, src, dst)
	it.NoopInterval = 5 * time.Millisecond
	gated := it
	gated.Dest = wrapLoc{dst.loc, func(ep ferrysync.Endpoint) ferrysync.Endpoint { return &gateRead{ep, spy.sent} }}
	sum, log := mustRun(t, gated)
	assert.Equal(t, 2, sum.Files, "both files copied\n%s", log)
	assert.Equal(t, tree{"n.bin": string(payload), "after.txt": "copied after"}, read(t, dst.dir), "content after NOOPs")
	sum, log = mustRun(t, it)
	assert.Equal(t, 0, sum.Planned, "in step afterwards\n%s", log)
}

// noTimes is a destination that cannot set modification times, as an FTP
// server without MFMT.
type noTimes struct{ ferrysync.Endpoint }

func (noTimes) SetModTime(context.Context, string, time.Time) error {
	return fmt.Errorf("no MFMT: %w", errors.ErrUnsupported)
}
func (noTimes) CanSetModTime(context.Context) bool { return false }

// TestDestinationWithoutTimes: where copies cannot take the source's time,
// the journal (or, without one, the copy being newer) keeps later runs
// from copying again.
func TestDestinationWithoutTimes(t *testing.T) {
	t.Parallel()
	wrap := func(p place) ferrysync.Location {
		return wrapLoc{p.loc, func(ep ferrysync.Endpoint) ferrysync.Endpoint { return noTimes{ep} }}
	}
	for _, tc := range []struct {
		name    string
		mode    ferrysync.Mode
		journal bool
	}{
		{"one-way with a journal", ferrysync.OneWay, true},
		{"one-way without a journal", ferrysync.OneWay, false},
		{"clone with a journal", ferrysync.Clone, true},
		{"two-way", ferrysync.TwoWay, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, dst := localPlace(t), localPlace(t)
			write(t, src.dir, tree{"a.txt": "a", "d/b.txt": "b"})
			it := item("notimes", tc.mode, src, dst)
			it.Dest = wrap(dst)
			if tc.journal {
				it.JournalPath = filepath.Join(t.TempDir(), "j.json")
			}
			sum, log := mustRun(t, it)
			assert.Equal(t, 2, sum.Files, "first run copies\n%s", log)
			assert.NotEqual(t, mtime(t, src.dir, "a.txt"), mtime(t, dst.dir, "a.txt"), "the copy has its own time")
			sum, log = mustRun(t, it)
			assert.Equal(t, 0, sum.Planned, "nothing to copy again\n%s", log)
			if tc.mode != ferrysync.TwoWay {
				writeAt(t, src.dir, "a.txt", "A", time.Now().Add(time.Hour))
				sum, log = mustRun(t, it)
				assert.Equal(t, 1, sum.Files, "a changed source file is copied\n%s", log)
				assert.Equal(t, "A", read(t, dst.dir)["a.txt"], "new content")
			}
		})
	}
}
