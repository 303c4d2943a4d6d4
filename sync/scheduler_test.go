package sync

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testItem(name string, s Schedule) Item {
	return Item{Name: name, Source: LocalLocation{Dir: "/src/" + name}, Dest: LocalLocation{Dir: "/dst/" + name}, Schedule: s}
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestSchedulerRunsOnSchedule: in a bubble of fake time, an item runs at
// the times of its schedule; a run longer than the interval makes the
// runs due meanwhile be skipped, never overlap.
func TestSchedulerRunsOnSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now().UTC()
		require.Equal(t, 0, start.Minute(), "the bubble starts on the hour")
		s, err := NewScheduler([]Item{
			testItem("slow", Schedule{Every: 10 * time.Minute, Location: time.UTC}),
			testItem("daily", Schedule{Times: []time.Duration{90 * time.Minute}, Location: time.UTC}),
			testItem("manual", Schedule{}),
		}, nil)
		require.NoError(t, err, "NewScheduler")
		s.Logger = quietLogger()
		var mu gosync.Mutex
		starts := map[string][]time.Duration{}
		running := map[string]int{}
		s.run = func(ctx context.Context, it Item, log io.Writer) (Summary, error) {
			mu.Lock()
			starts[it.Name] = append(starts[it.Name], time.Since(start))
			running[it.Name]++
			overlap := running[it.Name] > 1
			mu.Unlock()
			assert.False(t, overlap, "two runs of %s at once", it.Name)
			if it.Name == "slow" {
				time.Sleep(25 * time.Minute) // the run takes 25 minutes of fake time
			}
			mu.Lock()
			running[it.Name]--
			mu.Unlock()
			return Summary{Item: it.Name}, nil
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Serve(ctx) }()
		time.Sleep(2 * time.Hour)
		cancel()
		assert.ErrorIs(t, <-done, context.Canceled, "Serve ends with its context")
		m := time.Minute
		assert.Equal(t, []time.Duration{10 * m, 40 * m, 70 * m, 100 * m}, starts["slow"],
			"every 10 minutes, the ones due during a 25-minute run skipped")
		assert.Equal(t, []time.Duration{90 * m}, starts["daily"], "once at 01:30")
		assert.Empty(t, starts["manual"], "an unscheduled item only runs on demand")
	})
}

// TestSchedulerRunNow: "sync now" for an item and a group; an item that is
// running is not started twice.
func TestSchedulerRunNow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := NewScheduler([]Item{testItem("a", Schedule{}), testItem("b", Schedule{}), testItem("c", Schedule{})},
			[]Group{{Name: "ab", Items: []string{"a", "b"}}})
		require.NoError(t, err, "NewScheduler")
		s.Logger = quietLogger()
		release := make(chan struct{})
		var mu gosync.Mutex
		ran := map[string]int{}
		s.run = func(ctx context.Context, it Item, log io.Writer) (Summary, error) {
			mu.Lock()
			ran[it.Name]++
			mu.Unlock()
			if it.Name == "a" {
				<-release
			}
			return Summary{Item: it.Name, Files: 1}, nil
		}
		ctx := context.Background()
		groupDone := make(chan []Result, 1)
		go func() {
			res, err := s.RunNow(ctx, "ab")
			assert.NoError(t, err, "RunNow of a group")
			groupDone <- res
		}()
		synctest.Wait() // a is running, blocked; b is done
		res, err := s.RunNow(ctx, "a")
		require.NoError(t, err, "RunNow a")
		require.Len(t, res, 1, "one result")
		assert.ErrorIs(t, res[0].Err, ErrRunning, "a is still running: not started twice")
		res, err = s.RunNow(ctx, "c")
		require.NoError(t, err, "RunNow c")
		assert.Equal(t, []Result{{Item: "c", Summary: Summary{Item: "c", Files: 1}}}, res, "c runs meanwhile")
		close(release)
		group := <-groupDone
		require.Len(t, group, 2, "a result per member")
		assert.Equal(t, "a", group[0].Item, "results in the group's order")
		assert.NoError(t, group[0].Err, "a ran")
		assert.NoError(t, group[1].Err, "b ran")
		assert.Equal(t, map[string]int{"a": 1, "b": 1, "c": 1}, ran, "each item ran once")

		_, err = s.RunNow(ctx, "nothing")
		assert.ErrorIs(t, err, ErrUnknown, "an unknown name")
	})
}

func TestNewSchedulerErrors(t *testing.T) {
	a, b := testItem("a", Schedule{}), testItem("b", Schedule{})
	for name, tc := range map[string]struct {
		items  []Item
		groups []Group
	}{
		"two items of one name":    {[]Item{a, a}, nil},
		"a group named as an item": {[]Item{a}, []Group{{Name: "a", Items: []string{"a"}}}},
		"two groups of one name":   {[]Item{a, b}, []Group{{Name: "g"}, {Name: "g"}}},
		"a group of unknown items": {[]Item{a}, []Group{{Name: "g", Items: []string{"zz"}}}},
		"a group without a name":   {[]Item{a}, []Group{{Items: []string{"a"}}}},
		"an invalid item":          {[]Item{{Name: "x"}}, nil},
	} {
		_, err := NewScheduler(tc.items, tc.groups)
		assert.Error(t, err, "%s is refused", name)
	}
	s, err := NewScheduler([]Item{a, b}, []Group{{Name: "z", Items: []string{"b"}}, {Name: "g", Items: []string{"a"}}})
	require.NoError(t, err, "valid items and groups")
	assert.Equal(t, []string{"a", "b"}, s.Items(), "items in order")
	assert.Equal(t, []string{"g", "z"}, s.Groups(), "groups sorted")
	assert.True(t, s.Next("a", time.Now()).IsZero(), "an unscheduled item has no next run")
}

// TestSchedulerLogFile: each run appends its progress and summary to the
// item's log file, and to Output.
func TestSchedulerLogFile(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(src, "f.txt"), []byte("hello"), 0o644), "seed")
	logPath := filepath.Join(t.TempDir(), "logs", "item.log")
	it := Item{Name: "logged", Source: LocalLocation{Dir: src}, Dest: LocalLocation{Dir: dst}, LogFile: logPath}
	s, err := NewScheduler([]Item{it}, nil)
	require.NoError(t, err, "NewScheduler")
	s.Logger = quietLogger()
	var out strings.Builder
	s.Output = &out
	for range 2 {
		res, err := s.RunNow(context.Background(), "logged")
		require.NoError(t, err, "RunNow")
		require.NoError(t, res[0].Err, "the run")
	}
	b, err := os.ReadFile(logPath)
	require.NoError(t, err, "the log file exists")
	log := string(b)
	assert.Contains(t, log, "logged: copy source -> dest f.txt (5 B, new)", "progress in the log file")
	assert.Equal(t, 2, strings.Count(log, "logged: summary: "), "a summary line per run")
	assert.Contains(t, log, "summary: 1 files copied (5 B), 0 folders created, 0 deleted, 0 conflicts, 0 errors in ", "the first summary")
	assert.Contains(t, log, "summary: 0 files copied (0 B)", "the second summary")
	assert.Equal(t, log, out.String(), "Output gets the same lines")
}

// TestSchedulerRunError: a failed run is reported in its Result.
func TestSchedulerRunError(t *testing.T) {
	s, err := NewScheduler([]Item{testItem("x", Schedule{})}, nil)
	require.NoError(t, err, "NewScheduler")
	s.Logger = quietLogger()
	boom := errors.New("boom")
	s.run = func(context.Context, Item, io.Writer) (Summary, error) { return Summary{Errors: 1}, boom }
	res, err := s.RunNow(context.Background(), "x")
	require.NoError(t, err, "RunNow")
	assert.ErrorIs(t, res[0].Err, boom, "the run's error")
}
