package quota

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Counters are the bytes a user moved in the current period.
type Counters struct {
	// PeriodStart is when the current period began: the calendar start
	// (UTC) of the day, week or month, or for [None] the time the first
	// byte was counted after the last reset (zero before that).
	PeriodStart time.Time `json:"period_start,omitzero"`
	Downloaded  int64     `json:"downloaded"`
	Uploaded    int64     `json:"uploaded"`
}

func (c *Counters) count(d Direction) *int64 {
	if d == Upload {
		return &c.Uploaded
	}
	return &c.Downloaded
}

func (c Counters) zero() bool { return c.Downloaded == 0 && c.Uploaded == 0 }

// Store keeps users' counters across restarts. Load returns every saved
// user by name (an empty map when nothing was saved yet); Save replaces
// everything saved with all. A [Manager] calls them one at a time.
type Store interface {
	Load(ctx context.Context) (map[string]Counters, error)
	Save(ctx context.Context, all map[string]Counters) error
}

// FileStore is a [Store] in one JSON file:
//
//	{
//	  "version": 1,
//	  "users": {
//	    "alice": {"period_start": "2026-03-01T00:00:00Z", "downloaded": 1048576, "uploaded": 0}
//	  }
//	}
//
// A missing file is an empty store. Save writes a temporary file in the
// same directory, syncs it, renames it over the file and syncs the
// directory, so a crash leaves either the old or the new content, never a
// mix. To reset users while the daemon is stopped, delete their entries,
// or the whole file.
type FileStore struct {
	path string
	mu   sync.Mutex // serialises Save
}

var _ Store = (*FileStore)(nil)

// NewFileStore returns a store kept in the file at path. The file is
// created by the first Save; its directory must exist.
func NewFileStore(path string) *FileStore { return &FileStore{path: path} }

// fileVersion is the format version FileStore writes and reads.
const fileVersion = 1

type fileContent struct {
	Version int                 `json:"version"`
	Users   map[string]Counters `json:"users"`
}

// Load reads the file; a missing file is an empty store.
func (f *FileStore) Load(ctx context.Context) (map[string]Counters, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]Counters{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("quota: reading counters: %w", err)
	}
	var c fileContent
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("quota: reading counters from %s: %w", f.path, err)
	}
	if c.Version != fileVersion {
		return nil, fmt.Errorf("quota: counters file %s has version %d, want %d", f.path, c.Version, fileVersion)
	}
	if c.Users == nil {
		c.Users = map[string]Counters{}
	}
	return c.Users, nil
}

// Save replaces the file's content with all, atomically.
func (f *FileStore) Save(ctx context.Context, all map[string]Counters) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	if all == nil {
		all = map[string]Counters{}
	}
	b, err := json.MarshalIndent(fileContent{Version: fileVersion, Users: all}, "", "  ")
	if err != nil {
		return fmt.Errorf("quota: encoding counters: %w", err)
	}
	b = append(b, '\n')

	f.mu.Lock()
	defer f.mu.Unlock()
	dir, base := filepath.Split(f.path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("quota: saving counters: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(b); err != nil {
		return fmt.Errorf("quota: saving counters: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("quota: saving counters: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("quota: saving counters: %w", err)
	}
	if err = os.Rename(tmp.Name(), f.path); err != nil {
		return fmt.Errorf("quota: saving counters: %w", err)
	}
	// The rename is durable only once the directory is synced.
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("quota: saving counters: %w", err)
	}
	defer d.Close()
	if err = d.Sync(); err != nil {
		return fmt.Errorf("quota: saving counters: %w", err)
	}
	return nil
}
