package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	gosync "sync"
	"time"
)

// ErrRunning is the result of a run asked for while the same item runs:
// runs of one item never overlap.
var ErrRunning = errors.New("sync: the item is already running")

// ErrUnknown is returned by [Scheduler.RunNow] for a name that is neither
// an item nor a group.
var ErrUnknown = errors.New("sync: no such item or group")

// Result is the outcome of one item's run.
type Result struct {
	Item    string
	Summary Summary
	Err     error
}

// Scheduler runs items on their schedules and on demand. Runs of one item
// never overlap: a run due while the item is still running is skipped
// (and logged), and [Scheduler.RunNow] reports [ErrRunning] for it.
// Different items run at the same time.
//
// Each run writes its progress and summary to the item's LogFile, opened
// for appending, and to Output; the Logger gets one line per run.
type Scheduler struct {
	// Logger gets the start and summary of each run and the skipped
	// ones; nil means slog.Default().
	Logger *slog.Logger
	// Output, when set, also gets every run's log lines ("ferryd sync"
	// sets it to the terminal). Lines of runs that happen at once do
	// not mix within a line.
	Output io.Writer

	// run runs one item: Run, or a stand-in in tests.
	run func(ctx context.Context, item Item, log io.Writer) (Summary, error)

	items  map[string]*schedItem
	names  []string            // item names, in the order given
	groups map[string][]string // group -> item names

	outMu gosync.Mutex // keeps lines of Output whole
}

type schedItem struct {
	item Item
	mu   gosync.Mutex // held while the item runs
}

// NewScheduler checks the items and groups: names unique (an item and a
// group may not share one either), each item valid, each group naming
// known items.
func NewScheduler(items []Item, groups []Group) (*Scheduler, error) {
	s := &Scheduler{run: Run, items: map[string]*schedItem{}, groups: map[string][]string{}}
	for _, it := range items {
		if err := it.Validate(); err != nil {
			return nil, err
		}
		if _, dup := s.items[it.Name]; dup {
			return nil, fmt.Errorf("sync: two items named %q", it.Name)
		}
		s.items[it.Name] = &schedItem{item: it}
		s.names = append(s.names, it.Name)
	}
	for _, g := range groups {
		switch _, isItem := s.items[g.Name]; {
		case g.Name == "":
			return nil, errors.New("sync: group without a name")
		case isItem:
			return nil, fmt.Errorf("sync: %q is the name of an item and of a group", g.Name)
		}
		if _, dup := s.groups[g.Name]; dup {
			return nil, fmt.Errorf("sync: two groups named %q", g.Name)
		}
		for _, n := range g.Items {
			if _, ok := s.items[n]; !ok {
				return nil, fmt.Errorf("sync: group %s: no item %q", g.Name, n)
			}
		}
		s.groups[g.Name] = append([]string(nil), g.Items...)
	}
	return s, nil
}

func (s *Scheduler) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// Items returns the item names, in the order given to NewScheduler.
func (s *Scheduler) Items() []string { return append([]string(nil), s.names...) }

// Groups returns the group names, sorted.
func (s *Scheduler) Groups() []string {
	var g []string
	for n := range s.groups {
		g = append(g, n)
	}
	sort.Strings(g)
	return g
}

// Next returns when the item runs next after t, the zero time for an
// unknown or unscheduled item.
func (s *Scheduler) Next(item string, t time.Time) time.Time {
	si, ok := s.items[item]
	if !ok {
		return time.Time{}
	}
	return si.item.Schedule.Next(t)
}

// Serve runs every scheduled item on its schedule until ctx ends, then
// waits for the runs in progress, which the end of ctx stops. It returns
// ctx's error.
func (s *Scheduler) Serve(ctx context.Context) error {
	var wg gosync.WaitGroup
	for _, name := range s.names {
		si := s.items[name]
		if si.item.Schedule.IsZero() {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.loop(ctx, si)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// loop runs one item at each time of its schedule. A run that ends after
// the next time due skips it: the next run is the first time after now.
func (s *Scheduler) loop(ctx context.Context, si *schedItem) {
	sched := si.item.Schedule
	for {
		next := sched.Next(time.Now())
		if next.IsZero() {
			return
		}
		s.logger().Debug("sync: next run", "item", si.item.Name, "at", next)
		// Wake at least hourly and look at the clock again, so a clock
		// that jumps (a suspended machine, a corrected time) delays a
		// run by an hour at most.
		for wait := time.Until(next); wait > 0; wait = time.Until(next) {
			t := time.NewTimer(min(wait, time.Hour))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		s.runItem(ctx, si)
	}
}

// RunNow runs the item, or every item of the group at once, and waits for
// them ("sync now"). An item already running is not started again: its
// Result carries ErrRunning.
func (s *Scheduler) RunNow(ctx context.Context, name string) ([]Result, error) {
	if si, ok := s.items[name]; ok {
		return []Result{s.runItem(ctx, si)}, nil
	}
	members, ok := s.groups[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknown, name)
	}
	results := make([]Result, len(members))
	var wg gosync.WaitGroup
	for i, n := range members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = s.runItem(ctx, s.items[n])
		}()
	}
	wg.Wait()
	return results, nil
}

// runItem runs si unless it is running already.
func (s *Scheduler) runItem(ctx context.Context, si *schedItem) Result {
	name := si.item.Name
	if !si.mu.TryLock() {
		s.logger().Warn("sync: run skipped: the previous run is still going", "item", name)
		return Result{Item: name, Err: ErrRunning}
	}
	defer si.mu.Unlock()
	var ws []io.Writer
	if p := si.item.LogFile; p != "" {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			s.logger().Error("sync: log file", "item", name, "err", err)
		} else if f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err != nil {
			s.logger().Error("sync: log file", "item", name, "err", err)
		} else {
			defer f.Close()
			ws = append(ws, f)
		}
	}
	if s.Output != nil {
		ws = append(ws, lockedWriter{&s.outMu, s.Output})
	}
	s.logger().Info("sync: run started", "item", name)
	sum, err := s.run(ctx, si.item, io.MultiWriter(ws...))
	attrs := []any{"item", name, "files", sum.Files, "bytes", sum.Bytes, "deleted", sum.Deleted,
		"errors", sum.Errors, "duration", sum.Duration.Round(time.Millisecond)}
	switch {
	case err != nil:
		s.logger().Error("sync: run failed", append(attrs, "err", err)...)
	case sum.Skipped != "":
		s.logger().Info("sync: run skipped", "item", name, "why", sum.Skipped)
	default:
		s.logger().Info("sync: run done", attrs...)
	}
	return Result{Item: name, Summary: sum, Err: err}
}

type lockedWriter struct {
	mu *gosync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
