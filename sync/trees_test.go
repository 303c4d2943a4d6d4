package sync_test

import (
	"bytes"
	"context"
	"errors"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/ftp/ftptest"
	"github.com/ferryftp/ferry/internal/e2etest"
	ferrysync "github.com/ferryftp/ferry/sync"
)

// base is the time the test trees start from.
var base = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

// dateOf is the time write gives the file p: base plus a whole number of
// seconds that depends on p.
func dateOf(p string) time.Time {
	h := fnv.New32a()
	h.Write([]byte(p))
	return base.Add(time.Duration(h.Sum32()%100000) * time.Second)
}

// place is one side of an item in a test: a location and the host
// directory behind it, where the test reads and writes files directly.
type place struct {
	kind string // "local", "ferry" or "pure-ftpd"
	loc  ferrysync.Location
	dir  string
}

// localPlace is a new local directory.
func localPlace(t testing.TB) place {
	dir := t.TempDir()
	return place{kind: "local", loc: ferrysync.LocalLocation{Dir: dir}, dir: dir}
}

// ferryServer is one Ferry server over a host directory, shared by the
// places of a test.
type ferryServer struct{ srv *e2etest.Server }

func newFerry(t testing.TB) *ferryServer { return &ferryServer{e2etest.NewServer(t)} }

// place is the directory sub of the server, created empty.
func (f *ferryServer) place(t testing.TB, sub string) place {
	dir := filepath.Join(f.srv.Dir, sub)
	require.NoError(t, os.MkdirAll(dir, 0o777), "mkdir %s", dir)
	return place{kind: "ferry", dir: dir, loc: ferrysync.FTPLocation{
		Addr: f.srv.Addr, User: ftptest.User, Password: ftptest.Password, Dir: "/" + sub, Timeout: 20 * time.Second,
	}}
}

// tree describes files: path -> content. A path ending in "/" is an empty
// folder.
type tree map[string]string

// write creates the files of tr under dir, each dated by its path (see
// dateOf), so a path has the same time in every tree. Folders and files are opened to all, so a server running
// as another user can change them.
func write(t testing.TB, dir string, tr tree) {
	t.Helper()
	for _, p := range sortedKeys(tr) {
		full := filepath.Join(dir, filepath.FromSlash(strings.TrimSuffix(p, "/")))
		if strings.HasSuffix(p, "/") {
			require.NoError(t, os.MkdirAll(full, 0o777), "mkdir %s", p)
			continue
		}
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o777), "mkdir for %s", p)
		require.NoError(t, os.WriteFile(full, []byte(tr[p]), 0o666), "write %s", p)
		at := dateOf(p)
		require.NoError(t, os.Chtimes(full, at, at), "date %s", p)
	}
	openUp(t, dir)
}

// writeAt writes one file with the given content and time.
func writeAt(t testing.TB, dir, p, content string, at time.Time) {
	t.Helper()
	full := filepath.Join(dir, filepath.FromSlash(p))
	require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o777), "mkdir for %s", p)
	require.NoError(t, os.WriteFile(full, []byte(content), 0o666), "write %s", p)
	require.NoError(t, os.Chtimes(full, at, at), "date %s", p)
	openUp(t, dir)
}

// openUp gives everyone write access under dir, whatever the umask, and
// keeps the times.
func openUp(t testing.TB, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			os.Chmod(p, 0o777)
		} else if d.Type().IsRegular() {
			os.Chmod(p, 0o666)
		}
		return nil
	})
}

func sortedKeys(tr tree) []string {
	keys := make([]string, 0, len(tr))
	for k := range tr {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

// read returns the tree under dir: files with their content, empty
// folders with a trailing "/".
func read(t testing.TB, dir string) tree {
	t.Helper()
	tr := tree{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		if d.IsDir() {
			ents, err := os.ReadDir(p)
			if err != nil {
				return err
			}
			if len(ents) == 0 {
				tr[rel+"/"] = ""
			}
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		tr[rel] = string(b)
		return nil
	})
	require.NoError(t, err, "reading %s", dir)
	return tr
}

// mtime is the modification time of a file under dir.
func mtime(t testing.TB, dir, p string) time.Time {
	t.Helper()
	fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(p)))
	require.NoError(t, err, "stat %s", p)
	return fi.ModTime().UTC()
}

// runItem runs it and returns the summary, the error and the log.
func runItem(t testing.TB, it ferrysync.Item) (ferrysync.Summary, error, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var log bytes.Buffer
	sum, err := ferrysync.Run(ctx, it, &log)
	return sum, err, log.String()
}

// mustRun runs it and fails the test on an error.
func mustRun(t testing.TB, it ferrysync.Item) (ferrysync.Summary, string) {
	t.Helper()
	sum, err, log := runItem(t, it)
	require.NoError(t, err, "run %s\n%s", it.Name, log)
	return sum, log
}

// noTemps checks that no temporary file is left under dir.
func noTemps(t testing.TB, dir string) {
	t.Helper()
	for p := range read(t, dir) {
		assert.NotContains(t, p, ".ferrysync-", "temporary file %s left in %s", p, dir)
	}
}

// temps returns the temporary files under dir.
func temps(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	for p := range read(t, dir) {
		if strings.Contains(p, ".ferrysync-") {
			out = append(out, p)
		}
	}
	return out
}

// wrapLoc wraps a location's endpoints with wrap.
type wrapLoc struct {
	ferrysync.Location
	wrap func(ferrysync.Endpoint) ferrysync.Endpoint
}

func (w wrapLoc) Open(ctx context.Context, create bool) (ferrysync.Endpoint, error) {
	ep, err := w.Location.Open(ctx, create)
	if err != nil {
		return nil, err
	}
	return w.wrap(ep), nil
}

// cancelAfter is an endpoint whose writes cancel a context once they have
// read limit bytes: the run is stopped in the middle of a copy.
type cancelAfter struct {
	ferrysync.Endpoint
	cancel context.CancelFunc
	limit  int64
}

func (c *cancelAfter) Write(ctx context.Context, name string, off int64, r io.Reader) (int64, error) {
	return c.Endpoint.Write(ctx, name, off, &cancelReader{r: r, c: c})
}

type cancelReader struct {
	r io.Reader
	c *cancelAfter
	n int64
}

func (r *cancelReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.n += int64(n)
	if r.n >= r.c.limit {
		r.c.cancel()
	}
	return n, err
}

// failList is an endpoint whose listing of one directory fails.
type failList struct {
	ferrysync.Endpoint
	dir string
}

func (f *failList) List(ctx context.Context, dir string) ([]ferrysync.Entry, error) {
	if dir == f.dir {
		return nil, errors.New("listing failed on purpose")
	}
	return f.Endpoint.List(ctx, dir)
}
