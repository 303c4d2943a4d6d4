package quota

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// memStore is a Store in memory that reports each save on saved.
type memStore struct {
	mu      sync.Mutex
	data    map[string]Counters
	saves   int
	loadErr error
	saved   chan struct{} // nil: no reports
}

func (s *memStore) Load(context.Context) (map[string]Counters, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loadErr != nil {
		return nil, s.loadErr
	}
	return maps.Clone(s.data), nil
}

func (s *memStore) Save(_ context.Context, all map[string]Counters) error {
	s.mu.Lock()
	s.data = maps.Clone(all)
	s.saves++
	ch := s.saved
	s.mu.Unlock()
	if ch != nil {
		ch <- struct{}{}
	}
	return nil
}

func (s *memStore) snapshot() (map[string]Counters, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.data), s.saves
}

func TestRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "quota.json")
	clk := newClock(t, "2026-03-14T15:09:26Z")
	limits := Limits{DownloadAmount: 1000}

	m := &Manager{Store: NewFileStore(path), Period: Monthly, Now: clk.Now}
	require.NoError(t, m.Load(context.Background()), "Load of a missing file")
	u := m.User("alice", limits)
	move(t, u, Download, 1000)
	move(t, u, Upload, 300)
	move(t, m.User("bob", Limits{}), Upload, 5)
	m.User("carol", Limits{}) // nothing moved: not stored
	require.NoError(t, m.Flush(context.Background()), "Flush")

	b, err := os.ReadFile(path)
	require.NoError(t, err, "the state file exists")
	assert.JSONEq(t, `{"version": 1, "users": {
		"alice": {"period_start": "2026-03-01T00:00:00Z", "downloaded": 1000, "uploaded": 300},
		"bob": {"period_start": "2026-03-01T00:00:00Z", "downloaded": 0, "uploaded": 5}
	}}`, string(b), "the state file's content")
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err, "ReadDir")
	assert.Len(t, entries, 1, "no temporary file left behind")

	// A new daemon.
	m2 := &Manager{Store: NewFileStore(path), Period: Monthly, Now: clk.Now}
	require.NoError(t, m2.Load(context.Background()), "Load")
	u2 := m2.User("alice", limits)
	st := u2.Status()
	assert.Equal(t, int64(1000), st.Downloaded, "downloads survive a restart")
	assert.Equal(t, int64(300), st.Uploaded, "uploads survive a restart")
	_, err = u2.Begin(Download, 1)
	assert.ErrorIs(t, err, ErrAmountExceeded, "the limit still binds after a restart")
	assert.Equal(t, int64(5), m2.User("bob", Limits{}).Status().Uploaded, "other users too")

	// Restarted in the next month: the stored month is over.
	clk.set(t, "2026-04-02T00:00:00Z")
	m3 := &Manager{Store: NewFileStore(path), Period: Monthly, Now: clk.Now}
	require.NoError(t, m3.Load(context.Background()), "Load")
	assert.Equal(t, int64(0), m3.User("alice", limits).Status().Downloaded, "a new month starts from 0")
}

func TestReset(t *testing.T) {
	path := filepath.Join(t.TempDir(), "quota.json")
	m := &Manager{Store: NewFileStore(path)}
	require.NoError(t, m.Load(context.Background()), "Load")
	u := m.User("alice", Limits{UploadAmount: 10})
	move(t, u, Upload, 10)
	move(t, m.User("bob", Limits{}), Download, 3)
	require.NoError(t, m.Flush(context.Background()), "Flush")
	_, err := u.Begin(Upload, -1)
	require.ErrorIs(t, err, ErrAmountExceeded, "used up before the reset")

	require.NoError(t, m.Reset("alice"), "Reset")
	_, err = u.Begin(Upload, -1)
	assert.NoError(t, err, "uploads allowed again after the reset")
	assert.Equal(t, int64(0), u.Status().Uploaded, "counter reset")
	assert.NoError(t, m.Reset("nobody"), "resetting an unknown user is no error")

	stored, err := NewFileStore(path).Load(context.Background())
	require.NoError(t, err, "Load the file")
	assert.NotContains(t, stored, "alice", "the reset is saved at once: the entry is gone")
	assert.Equal(t, int64(3), stored["bob"].Downloaded, "other entries stay")

	// A reset before Load still removes the stored entry.
	m2 := &Manager{Store: NewFileStore(path)}
	require.NoError(t, m2.Reset("bob"), "Reset before Load")
	stored, err = NewFileStore(path).Load(context.Background())
	require.NoError(t, err, "Load the file")
	assert.Empty(t, stored, "bob's entry removed")

	// Without a store, Reset resets memory only.
	m3 := &Manager{}
	v := m3.User("x", Limits{})
	move(t, v, Download, 5)
	assert.NoError(t, m3.Reset("x"), "Reset without a store")
	assert.Equal(t, int64(0), v.Status().Downloaded, "reset in memory")
}

func TestLoadMerges(t *testing.T) {
	clk := newClock(t, "2026-03-14T15:09:26Z")
	ps := mustTime(t, "2026-03-01T00:00:00Z")
	store := &memStore{data: map[string]Counters{
		"alice": {PeriodStart: ps, Downloaded: 100, Uploaded: 10},
		"bob":   {PeriodStart: mustTime(t, "2026-02-01T00:00:00Z"), Downloaded: 100},
		"carol": {PeriodStart: ps, Uploaded: 1},
	}}
	m := &Manager{Store: store, Period: Monthly, Now: clk.Now}
	// Bytes counted before Load are not lost.
	move(t, m.User("alice", Limits{}), Download, 5)
	move(t, m.User("bob", Limits{}), Download, 7)
	require.NoError(t, m.Load(context.Background()), "Load")
	assert.Equal(t, int64(105), m.User("alice", Limits{}).Status().Downloaded, "same period: added")
	assert.Equal(t, int64(10), m.User("alice", Limits{}).Status().Uploaded, "same period: added")
	assert.Equal(t, int64(7), m.User("bob", Limits{}).Status().Downloaded, "stored period is over: memory wins")
	assert.Equal(t, int64(1), m.User("carol", Limits{}).Status().Uploaded, "only stored")

	require.NoError(t, m.Load(context.Background()), "a second Load")
	assert.Equal(t, int64(105), m.User("alice", Limits{}).Status().Downloaded, "a second Load does nothing")
}

func TestMerge(t *testing.T) {
	a := mustTime(t, "2026-03-01T00:00:00Z")
	b := mustTime(t, "2026-03-05T00:00:00Z")
	tests := []struct {
		name        string
		p           Period
		mem, stored Counters
		want        Counters
	}{
		{"memory empty", Monthly, Counters{PeriodStart: b}, Counters{PeriodStart: a, Uploaded: 1}, Counters{PeriodStart: a, Uploaded: 1}},
		{"stored empty", Monthly, Counters{PeriodStart: a, Uploaded: 1}, Counters{}, Counters{PeriodStart: a, Uploaded: 1}},
		{"same period", Monthly, Counters{PeriodStart: a, Uploaded: 1}, Counters{PeriodStart: a, Uploaded: 2, Downloaded: 3}, Counters{PeriodStart: a, Uploaded: 3, Downloaded: 3}},
		{"stored newer", Daily, Counters{PeriodStart: a, Uploaded: 1}, Counters{PeriodStart: b, Uploaded: 2}, Counters{PeriodStart: b, Uploaded: 2}},
		{"memory newer", Daily, Counters{PeriodStart: b, Uploaded: 1}, Counters{PeriodStart: a, Uploaded: 2}, Counters{PeriodStart: b, Uploaded: 1}},
		{"cumulative: sums from the earliest", None, Counters{PeriodStart: b, Uploaded: 1}, Counters{PeriodStart: a, Uploaded: 2}, Counters{PeriodStart: a, Uploaded: 3}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, merge(tt.p, tt.mem, tt.stored), tt.name)
	}
}

func TestDamagedStoreIsNotOverwritten(t *testing.T) {
	path := filepath.Join(t.TempDir(), "quota.json")
	const damaged = `{"version": 1, "users": {"alice": {"downl`
	require.NoError(t, os.WriteFile(path, []byte(damaged), 0o600), "write a damaged file")
	m := &Manager{Store: NewFileStore(path), Logger: slog.New(slog.DiscardHandler)}
	err := m.Load(context.Background())
	require.Error(t, err, "Load of a damaged file fails")

	move(t, m.User("bob", Limits{}), Upload, 5)
	assert.Error(t, m.Flush(context.Background()), "Flush fails rather than replace the damaged file")
	b, err := os.ReadFile(path)
	require.NoError(t, err, "ReadFile")
	assert.Equal(t, damaged, string(b), "the damaged file is kept for the administrator")

	require.NoError(t, os.WriteFile(path, []byte(`{"version": 2, "users": {}}`), 0o600), "write a future version")
	_, err = NewFileStore(path).Load(context.Background())
	assert.Error(t, err, "an unknown version is refused")
}

func TestFileStore(t *testing.T) {
	dir := t.TempDir()
	s := NewFileStore(filepath.Join(dir, "q.json"))
	got, err := s.Load(context.Background())
	require.NoError(t, err, "a missing file is no error")
	assert.Empty(t, got, "a missing file is empty")

	ps := mustTime(t, "2026-03-16T00:00:00Z")
	want := map[string]Counters{"é ü": {PeriodStart: ps, Downloaded: 1 << 50, Uploaded: 2}, "z": {Uploaded: 1}}
	require.NoError(t, s.Save(context.Background(), want), "Save")
	got, err = s.Load(context.Background())
	require.NoError(t, err, "Load")
	assert.Equal(t, want, got, "what was saved is loaded")

	b, err := os.ReadFile(filepath.Join(dir, "q.json"))
	require.NoError(t, err, "ReadFile")
	var raw map[string]any
	require.NoError(t, json.Unmarshal(b, &raw), "the file is JSON")
	assert.NotContains(t, string(b), "0001-01-01", "a zero period start is left out")
	fi, err := os.Stat(filepath.Join(dir, "q.json"))
	require.NoError(t, err, "Stat")
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "the file is private")

	require.NoError(t, s.Save(context.Background(), nil), "Save nothing")
	got, err = s.Load(context.Background())
	require.NoError(t, err, "Load")
	assert.Empty(t, got, "empty")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, s.Save(ctx, want), context.Canceled, "Save honours ctx")
	_, err = s.Load(ctx)
	assert.ErrorIs(t, err, context.Canceled, "Load honours ctx")

	bad := NewFileStore(filepath.Join(dir, "missing", "q.json"))
	assert.Error(t, bad.Save(context.Background(), want), "Save into a missing directory fails")
}

func TestEndSavesDebounced(t *testing.T) {
	store := &memStore{saved: make(chan struct{}, 10)}
	m := &Manager{Store: store}
	u := m.User("alice", Limits{})
	waitSave := func(why string) {
		t.Helper()
		select {
		case <-store.saved:
		case <-time.After(10 * time.Second):
			t.Fatalf("no save within 10 s: %s", why)
		}
	}

	tr, err := u.Begin(Upload, -1)
	require.NoError(t, err, "Begin")
	require.NoError(t, tr.Add(10), "Add")
	tr.End()
	waitSave("the first End saves at once")
	data, saves := store.snapshot()
	assert.Equal(t, 1, saves, "one save")
	assert.Equal(t, int64(10), data["alice"].Uploaded, "saved counters")

	// Within the second after a save, End schedules a save but does not
	// write; Flush writes at once and cancels the scheduled one.
	tr2, err := u.Begin(Upload, -1)
	require.NoError(t, err, "Begin")
	require.NoError(t, tr2.Add(5), "Add")
	tr2.End()
	tr2.End() // idempotent
	tr.End()  // already ended
	require.NoError(t, m.Flush(context.Background()), "Flush")
	waitSave("Flush saves")
	data, saves = store.snapshot()
	assert.Equal(t, 2, saves, "the debounced save was replaced by Flush's")
	assert.Equal(t, int64(15), data["alice"].Uploaded, "saved counters")
	require.NoError(t, m.Flush(context.Background()), "Flush with nothing new")
	_, saves = store.snapshot()
	assert.Equal(t, 2, saves, "nothing new, nothing written")
	select {
	case <-store.saved:
		t.Fatal("a save after Flush")
	default:
	}

	// A later End saves by itself, after the debounce.
	tr3, err := u.Begin(Upload, -1)
	require.NoError(t, err, "Begin")
	require.NoError(t, tr3.Add(1), "Add")
	tr3.End()
	waitSave("a debounced save")
	data, _ = store.snapshot()
	assert.Equal(t, int64(16), data["alice"].Uploaded, "saved counters")
}

func TestBackgroundSaveError(t *testing.T) {
	store := &failStore{err: errors.New("disk on fire"), saved: make(chan struct{}, 1)}
	m := &Manager{Store: store, Logger: slog.New(slog.DiscardHandler)}
	tr, err := m.User("a", Limits{}).Begin(Upload, -1)
	require.NoError(t, err, "Begin")
	require.NoError(t, tr.Add(1), "Add")
	tr.End()
	select {
	case <-store.saved:
	case <-time.After(10 * time.Second):
		t.Fatal("no save attempt")
	}
	store.mu.Lock()
	store.err = nil
	store.mu.Unlock()
	assert.NoError(t, m.Flush(context.Background()), "the failed save is retried by Flush")
	store.mu.Lock()
	defer store.mu.Unlock()
	assert.Equal(t, 2, store.saves, "a failed save leaves the counters to save")
}

type failStore struct {
	mu    sync.Mutex
	err   error
	saves int
	saved chan struct{}
}

func (s *failStore) Load(context.Context) (map[string]Counters, error) { return nil, nil }
func (s *failStore) Save(context.Context, map[string]Counters) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saves++
	if s.saves == 1 {
		s.saved <- struct{}{}
	}
	return s.err
}
