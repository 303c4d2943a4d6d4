package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	gosync "sync"
	"time"
)

// ErrIncomplete is returned by [Run] when some actions failed; the
// summary counts them and the log names them. What succeeded is kept and
// recorded, and the next run tries the rest again.
var ErrIncomplete = errors.New("sync: run incomplete")

// runLog writes timestamped lines to the item's log.
type runLog struct {
	mu   gosync.Mutex
	w    io.Writer
	item string
	now  func() time.Time
}

func (l *runLog) printf(format string, args ...any) {
	if l.w == nil {
		return
	}
	line := l.now().Format("2006-01-02 15:04:05") + " " + l.item + ": " + fmt.Sprintf(format, args...) + "\n"
	l.mu.Lock()
	io.WriteString(l.w, line)
	l.mu.Unlock()
}

// Run runs item once and writes its progress and summary to log (which
// may be nil). It opens both locations, checks the file check, plans, and
// then copies, creates and deletes as the plan says; with DryRun it writes
// the plan instead and changes nothing.
//
// The error is nil when everything succeeded or the file check skipped
// the run; [ErrIncomplete] when some actions failed; anything else when
// the run could not start or had to stop (a location that cannot be
// opened or listed, [ErrEmptySource], the end of ctx). A run that stops
// still records what it did in the journal.
func Run(ctx context.Context, item Item, log io.Writer) (Summary, error) {
	r := &runner{it: &item, log: &runLog{w: log, item: item.Name, now: time.Now}}
	sum, err := r.run(ctx)
	sum.Duration = time.Since(sum.Start)
	if err != nil && !errors.Is(err, ErrIncomplete) {
		r.log.printf("stopped: %v", err)
	}
	r.log.printf("summary: %s", sum)
	return sum, err
}

type runner struct {
	it       *Item
	log      *runLog
	eps      [2]Endpoint
	setTimes [2]bool
	next     *journal
	sum      Summary
	plan     *Plan // the plan of a dry run
}

// PlanRun returns the plan a run of item would follow now, and changes
// nothing: Run with DryRun, the plan returned rather than written. When
// the file check would skip the run, the plan is empty and says why in
// Skipped.
func PlanRun(ctx context.Context, item Item) (*Plan, error) {
	item.DryRun = true
	r := &runner{it: &item, log: &runLog{item: item.Name, now: time.Now}}
	sum, err := r.run(ctx)
	if err != nil {
		return nil, err
	}
	if r.plan == nil {
		r.plan = &Plan{Item: item.Name, Mode: item.Mode, Source: item.Source.String(), Dest: item.Dest.String(), Skipped: sum.Skipped}
	}
	return r.plan, nil
}

func (r *runner) run(ctx context.Context) (Summary, error) {
	it := r.it
	r.sum = Summary{Item: it.Name, Start: time.Now(), DryRun: it.DryRun}
	if err := it.Validate(); err != nil {
		return r.sum, err
	}
	if it.JournalPath != "" && !it.DryRun {
		unlock, err := lockFile(it.JournalPath + ".lock")
		if err != nil {
			return r.sum, fmt.Errorf("sync: item %s: %w", it.Name, err)
		}
		defer unlock()
	}
	mode := it.Mode.String()
	if it.DryRun {
		mode += ", dry run"
	}
	r.log.printf("start (%s): %s -> %s", mode, it.Source, it.Dest)

	for _, side := range []Side{Source, Dest} {
		loc := it.Source
		if side == Dest {
			loc = it.Dest
		}
		create := !it.DryRun && (side == Dest || it.Mode == TwoWay)
		ep, err := loc.Open(ctx, create)
		if err != nil && it.DryRun && errors.Is(err, fs.ErrNotExist) && (side == Dest || it.Mode == TwoWay) {
			r.log.printf("the %s does not exist yet", side)
			ep, err = emptyEndpoint{}, nil
		}
		if err != nil {
			return r.sum, fmt.Errorf("sync: opening the %s %s: %w", side, loc, err)
		}
		defer ep.Close()
		r.eps[side] = ep
		r.setTimes[side] = true
		if ts, ok := ep.(timeSetter); ok {
			r.setTimes[side] = ts.CanSetModTime(ctx)
		}
	}

	if it.NoopInterval > 0 {
		stop := r.keepAlive(ctx, it.NoopInterval)
		defer stop()
	}

	if fc := it.FileCheck; fc != nil {
		if why, err := r.fileCheck(ctx, fc); err != nil {
			return r.sum, err
		} else if why != "" {
			r.sum.Skipped = why
			return r.sum, nil
		}
	}

	old := newJournal(it.Source.String(), it.Dest.String())
	if it.JournalPath != "" {
		j, fresh, err := loadJournal(it.JournalPath, it.Source.String(), it.Dest.String())
		if err != nil {
			return r.sum, err
		}
		if fresh && it.Mode == TwoWay {
			r.log.printf("no journal for these locations: this run merges both sides")
		}
		old = j
	}
	p := &planner{ctx: ctx, it: it, eps: r.eps, setTimes: r.setTimes, old: old, next: old.clone(),
		journal: it.JournalPath != "", log: r.log}
	plan, err := p.plan()
	r.sum.Errors += p.errors
	if err != nil {
		return r.sum, err
	}
	r.sum.Planned = len(plan.Actions)
	if it.DryRun {
		r.plan = plan
		if r.log.w != nil {
			r.log.mu.Lock()
			plan.WriteTo(r.log.w)
			r.log.mu.Unlock()
		}
		return r.sum, nil
	}
	r.next = plan.next
	err = r.execute(ctx, plan)
	if it.JournalPath != "" {
		if jerr := r.next.save(it.JournalPath); jerr != nil {
			r.log.printf("error: saving the journal: %v", jerr)
			r.sum.Errors++
			err = errors.Join(err, jerr)
		}
	}
	if err == nil && r.sum.Errors > 0 {
		err = fmt.Errorf("%w: %d errors", ErrIncomplete, r.sum.Errors)
	}
	return r.sum, err
}

// fileCheck returns why the run is skipped, or "".
func (r *runner) fileCheck(ctx context.Context, fc *FileCheck) (string, error) {
	ep := r.eps[fc.Side]
	e, err := ep.Stat(ctx, fc.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("file check: %s not found on the %s", fc.Path, fc.Side), nil
	case err != nil:
		return "", fmt.Errorf("sync: file check %s: %w", fc.Path, err)
	case e.Kind != File:
		return fmt.Sprintf("file check: %s on the %s is not a file", fc.Path, fc.Side), nil
	case fc.Content == nil:
		return "", nil
	}
	rc, err := ep.Open(ctx, fc.Path, 0)
	if err != nil {
		return "", fmt.Errorf("sync: file check %s: %w", fc.Path, err)
	}
	b, err := io.ReadAll(io.LimitReader(rc, maxCheckBytes))
	if err == nil && e.Size <= maxCheckBytes {
		// Read to the end, so the transfer finishes normally.
		_, err = io.Copy(io.Discard, rc)
	}
	cerr := rc.Close()
	if e.Size > maxCheckBytes {
		cerr = nil // stopped early on purpose
	}
	if err = errors.Join(err, cerr); err != nil {
		return "", fmt.Errorf("sync: file check %s: %w", fc.Path, err)
	}
	if !fc.Content.Match(b) {
		return fmt.Sprintf("file check: %s on the %s does not match %s", fc.Path, fc.Side, fc.Content), nil
	}
	return "", nil
}

// keepAlive sends a no-op on each endpoint that has one every interval,
// until the returned function is called.
func (r *runner) keepAlive(ctx context.Context, interval time.Duration) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				for _, ep := range r.eps {
					if ka, ok := ep.(keepAliver); ok {
						if err := ka.KeepAlive(ctx); err != nil {
							r.log.printf("NOOP: %v", err)
						}
					}
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}

// execute runs the actions in order. An action that fails is logged and
// counted, and the run goes on; the end of ctx stops it.
func (r *runner) execute(ctx context.Context, plan *Plan) error {
	for _, a := range plan.Actions {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := r.do(ctx, a)
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			r.log.printf("interrupted: %s: %v", a, err)
			return ctx.Err()
		}
		r.sum.Errors++
		r.log.printf("error: %s: %v", a, err)
	}
	return nil
}

func (r *runner) do(ctx context.Context, a Action) error {
	ep := r.eps[a.Side]
	switch a.Op {
	case OpMkdir:
		r.log.printf("mkdir %s %s/ (%s)", a.Side, a.Path, a.Reason)
		if err := ep.Mkdir(ctx, a.Path); err != nil {
			if e, serr := ep.Stat(ctx, a.Path); serr != nil || e.Kind != Dir {
				return err
			}
		}
		r.sum.Dirs++
		if r.next != nil {
			r.next.Entries[a.Path] = &record{Dir: true}
		}
		return nil
	case OpRemove, OpCleanup:
		r.log.printf("%s %s %s (%s)", a.Op, a.Side, a.Path, a.Reason)
		dir := a.Entry.Kind == Dir && !a.Entry.Link
		if err := ep.Remove(ctx, a.Path, dir); err != nil {
			if _, serr := ep.Stat(ctx, a.Path); !errors.Is(serr, fs.ErrNotExist) {
				return err
			}
		}
		if a.Op == OpRemove {
			r.sum.Deleted++
			delete(r.next.Entries, a.Path)
		}
		return nil
	case OpRename:
		r.log.printf("rename %s %s -> %s (%s)", a.Side, a.Path, a.To, a.Reason)
		if err := ep.Rename(ctx, a.Path, a.To); err != nil {
			return err
		}
		r.sum.Conflicts++
		delete(r.next.Entries, a.Path)
		return nil
	case OpCopy:
		return r.copy(ctx, a)
	}
	return fmt.Errorf("sync: unknown action %v", a.Op)
}

// copy copies a.Entry from the other side to a.Side: into the temporary
// name, resuming a part an interrupted run left, then dated and renamed
// over the target.
func (r *runner) copy(ctx context.Context, a Action) error {
	from, to := a.Side.other(), a.Side
	src, dst := r.eps[from], r.eps[to]
	e := a.Entry
	tmp := tempName(a.Path, e.Size, e.ModTime)
	var off int64
	if st, err := dst.Stat(ctx, tmp); err == nil && st.Kind == File {
		if st.Size <= e.Size {
			off = st.Size
		} else if err := dst.Remove(ctx, tmp, false); err != nil {
			return err
		}
	}
	if off > 0 {
		r.log.printf("copy %s -> %s %s (%s, %s): resuming at %s", from, to, a.Path, FormatBytes(e.Size), a.Reason, FormatBytes(off))
	} else {
		r.log.printf("copy %s -> %s %s (%s, %s)", from, to, a.Path, FormatBytes(e.Size), a.Reason)
	}
	var n int64
	if off < e.Size || e.Size == 0 {
		var err error
		n, err = r.transfer(ctx, src, dst, a, tmp, off)
		if err != nil && off > 0 && n == 0 && ctx.Err() == nil {
			// A server that cannot resume (no REST STREAM): start
			// over.
			r.log.printf("  %s: cannot resume (%v); starting over", a.Path, err)
			off = 0
			n, err = r.transfer(ctx, src, dst, a, tmp, 0)
		}
		if err != nil {
			return err
		}
	}
	if got := off + n; got != e.Size {
		return fmt.Errorf("the file changed while it was copied (%d bytes, %d expected); it will be copied again", got, e.Size)
	}
	dated := false
	if r.setTimes[to] {
		switch err := dst.SetModTime(ctx, tmp, e.ModTime); {
		case err == nil:
			dated = true
		case errors.Is(err, errors.ErrUnsupported):
			r.setTimes[to] = false
			r.log.printf("the %s cannot set modification times; the journal records them", to)
		default:
			r.log.printf("warning: setting the time of %s: %v", a.Path, err)
		}
	}
	if err := dst.Rename(ctx, tmp, a.Path); err != nil {
		// A server that will not rename over a file: delete, then
		// rename. The old version is gone for that instant only.
		if st, serr := dst.Stat(ctx, a.Path); serr != nil || st.Kind != File {
			return err
		}
		if rerr := dst.Remove(ctx, a.Path, false); rerr != nil {
			return err
		}
		if err := dst.Rename(ctx, tmp, a.Path); err != nil {
			return err
		}
	}
	r.sum.Files++
	got := Entry{Kind: File, Size: e.Size, ModTime: e.ModTime}
	if !dated {
		st, err := dst.Stat(ctx, a.Path)
		if err != nil {
			return err
		}
		got = st
	}
	if r.next != nil {
		rec := &record{}
		rec.setSide(from, stateOf(e))
		rec.setSide(to, stateOf(got))
		r.next.Entries[a.Path] = rec
	}
	return nil
}

// transfer copies a.Entry from offset off on into tmp.
func (r *runner) transfer(ctx context.Context, src, dst Endpoint, a Action, tmp string, off int64) (int64, error) {
	e := a.Entry
	rc, err := src.Open(ctx, a.Path, off)
	if err != nil {
		return 0, err
	}
	var in io.Reader = rc
	if e.Size-off >= progressMin {
		in = &progressReader{r: rc, log: r.log, path: a.Path, done: off, total: e.Size, last: time.Now()}
	}
	n, err := dst.Write(ctx, tmp, off, in)
	r.sum.Bytes += n
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// progressMin is the size from which a copy logs its progress.
const progressMin = 64 << 20

// progressInterval is how often a long copy logs its progress.
const progressInterval = 10 * time.Second

type progressReader struct {
	r           io.Reader
	log         *runLog
	path        string
	done, total int64
	last        time.Time
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.done += int64(n)
	if now := time.Now(); now.Sub(p.last) >= progressInterval {
		p.last = now
		p.log.printf("  %s: %s of %s", p.path, FormatBytes(p.done), FormatBytes(p.total))
	}
	return n, err
}
