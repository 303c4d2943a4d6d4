package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	ferrysync "github.com/ferryftp/ferry/sync"
)

// withSyncItems makes loadSyncItems return items and groups for the test.
func withSyncItems(t *testing.T, items []ferrysync.Item, groups []ferrysync.Group) {
	old := loadSyncItems
	loadSyncItems = func(string) ([]ferrysync.Item, []ferrysync.Group, error) { return items, groups, nil }
	t.Cleanup(func() { loadSyncItems = old })
}

func runSyncCmd(args ...string) (code int, stdout, stderr string) {
	var out, errOut strings.Builder
	code = runSync(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestSyncCommand(t *testing.T) {
	src, dst1, dst2 := t.TempDir(), t.TempDir(), t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(src, "f.txt"), []byte("data"), 0o644), "seed")
	logFile := filepath.Join(t.TempDir(), "one.log")
	items := []ferrysync.Item{
		{Name: "One", Source: ferrysync.LocalLocation{Dir: src}, Dest: ferrysync.LocalLocation{Dir: dst1}, LogFile: logFile},
		{Name: "two", Source: ferrysync.LocalLocation{Dir: src}, Dest: ferrysync.LocalLocation{Dir: dst2}, Mode: ferrysync.Clone},
	}
	withSyncItems(t, items, []ferrysync.Group{{Name: "both", Items: []string{"One", "two"}}})

	code, out, errOut := runSyncCmd("-config", "x.toml", "-item", "one", "-dry-run")
	assert.Equal(t, 0, code, "dry run: %s", errOut)
	assert.Contains(t, out, "copy    source -> dest  f.txt (4 B, new)", "the plan is printed")
	assert.NoFileExists(t, filepath.Join(dst1, "f.txt"), "a dry run copies nothing")

	code, out, errOut = runSyncCmd("-config", "x.toml", "-group", "both")
	assert.Equal(t, 0, code, "group run: %s", errOut)
	assert.Contains(t, out, "One: summary: 1 files copied", "progress of the first item")
	assert.Contains(t, out, "two: summary: 1 files copied", "progress of the second item")
	assert.FileExists(t, filepath.Join(dst1, "f.txt"), "copied by One")
	assert.FileExists(t, filepath.Join(dst2, "f.txt"), "copied by two")
	b, err := os.ReadFile(logFile)
	require.NoError(t, err, "the item's log file")
	assert.Contains(t, string(b), "One: summary:", "the run is in the item's log")

	code, out, _ = runSyncCmd("-config", "x.toml", "-list")
	assert.Equal(t, 0, code, "list")
	assert.Contains(t, out, "item One (one-way)", "items listed")
	assert.Contains(t, out, "group both: One, two", "groups listed")

	code, _, errOut = runSyncCmd("-config", "x.toml", "-item", "nothing")
	assert.Equal(t, 1, code, "unknown item")
	assert.Contains(t, errOut, `no sync item "nothing"`, "the error names it")
	for _, args := range [][]string{{}, {"-item", "One", "-group", "both"}, {"-item", "One", "extra"}, {"-bogus"}} {
		code, _, _ = runSyncCmd(args...)
		assert.Equal(t, 2, code, "usage error for %q", args)
	}
	code, out, _ = runSyncCmd("-h")
	assert.Equal(t, 0, code, "help")
	assert.Contains(t, out, "usage: ferryd sync", "usage printed")

	// A failing run gives status 1.
	require.NoError(t, os.RemoveAll(src), "remove the source")
	code, _, errOut = runSyncCmd("-config", "x.toml", "-item", "two")
	assert.Equal(t, 1, code, "a failed run")
	assert.Contains(t, errOut, "two:", "the error names the item")

	loadSyncItems = func(string) ([]ferrysync.Item, []ferrysync.Group, error) { return nil, nil, errors.New("bad file") }
	code, _, errOut = runSyncCmd("-config", "x.toml", "-item", "two")
	assert.Equal(t, 1, code, "a configuration that does not load")
	assert.Contains(t, errOut, "bad file", "the loading error is printed")
}
