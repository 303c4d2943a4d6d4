package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"
)

// Op is what an [Action] does.
type Op uint8

const (
	OpMkdir   Op = iota // create a folder
	OpCopy              // copy a file from the other side, through a temporary name
	OpRemove            // delete a file or an empty folder
	OpRename            // move the losing version of a conflict aside
	OpCleanup           // delete a temporary file an interrupted run left
)

func (o Op) String() string {
	switch o {
	case OpMkdir:
		return "mkdir"
	case OpCopy:
		return "copy"
	case OpRemove:
		return "delete"
	case OpRename:
		return "rename"
	case OpCleanup:
		return "cleanup"
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// Action is one step of a [Plan].
type Action struct {
	Op   Op
	Side Side   // where the action writes; a copy reads the other side
	Path string // relative to the item's directories
	To   string // the new path of a rename
	// Entry is the file a copy copies (its size and time, on the other
	// side), or the entry a delete deletes.
	Entry  Entry
	Reason string // why, for the log: "new", "size differs", ...
}

func (a Action) String() string {
	switch a.Op {
	case OpCopy:
		return fmt.Sprintf("copy    %s -> %s  %s (%s, %s)", a.Side.other(), a.Side, a.Path, FormatBytes(a.Entry.Size), a.Reason)
	case OpRename:
		return fmt.Sprintf("rename  %s  %s -> %s (%s)", a.Side, a.Path, a.To, a.Reason)
	case OpMkdir:
		return fmt.Sprintf("mkdir   %s  %s/ (%s)", a.Side, a.Path, a.Reason)
	case OpRemove:
		p := a.Path
		if a.Entry.Kind == Dir && !a.Entry.Link {
			p += "/"
		}
		return fmt.Sprintf("delete  %s  %s (%s)", a.Side, p, a.Reason)
	case OpCleanup:
		return fmt.Sprintf("cleanup %s  %s (%s)", a.Side, a.Path, a.Reason)
	}
	return a.Op.String() + " " + a.Path
}

// Plan is what a run does, in order: folders are created before what goes
// in them and emptied before they are deleted.
type Plan struct {
	Item         string
	Mode         Mode
	Source, Dest string // the locations, as their String methods give them
	Actions      []Action
	// Skipped, when not empty, says why a run would do nothing: the
	// file check is not met.
	Skipped string

	next *journal // the journal once every action succeeds
}

// WriteTo prints the plan, one action a line.
func (p *Plan) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	if p.Skipped != "" {
		fmt.Fprintf(&b, "plan for %s (%s): %s -> %s, skipped: %s\n", p.Item, p.Mode, p.Source, p.Dest, p.Skipped)
	} else {
		fmt.Fprintf(&b, "plan for %s (%s): %s -> %s, %d actions\n", p.Item, p.Mode, p.Source, p.Dest, len(p.Actions))
	}
	for _, a := range p.Actions {
		b.WriteString("  ")
		b.WriteString(a.String())
		b.WriteByte('\n')
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// ErrEmptySource is returned when a run would delete on one side because
// the other side's top directory listed nothing (see
// Item.AllowEmptySourceDelete). Nothing is deleted.
var ErrEmptySource = errors.New("sync: refusing to delete: the other side lists nothing")

// planner walks both trees and decides the actions.
type planner struct {
	ctx      context.Context
	it       *Item
	eps      [2]Endpoint
	setTimes [2]bool
	old      *journal // the last run's; empty without one
	next     *journal // the new one, updated as entries are found in sync
	journal  bool     // the item keeps a journal
	log      *runLog
	errors   int
}

// dirInfo is what the decisions about one directory's entries share.
type dirInfo struct {
	taken map[string]bool // names on either side, and names planned
}

func (p *planner) fail(format string, args ...any) {
	p.errors++
	p.log.printf("error: "+format, args...)
}

func (p *planner) plan() (*Plan, error) {
	acts, _, err := p.walk(".", [2]bool{true, true}, false)
	if err != nil {
		return nil, err
	}
	return &Plan{
		Item: p.it.Name, Mode: p.it.Mode,
		Source: p.it.Source.String(), Dest: p.it.Dest.String(),
		Actions: acts, next: p.next,
	}, nil
}

// walk decides the actions for the directory dir, present on the sides
// has says. merge makes two-way ignore the journal below dir (a folder
// new on one side: nothing in it can have been deleted on the other). It
// returns the actions and whether each side's dir still holds anything
// once they are done. Errors other than fatal ones are logged and
// counted, and the directory's subtree is left alone.
func (p *planner) walk(dir string, has [2]bool, merge bool) ([]Action, [2]bool, error) {
	if err := p.ctx.Err(); err != nil {
		return nil, has, err
	}
	var lists [2]map[string]Entry
	var temps [2][]Entry
	di := &dirInfo{taken: map[string]bool{}}
	for side := range 2 {
		lists[side] = map[string]Entry{}
		if !has[side] {
			continue
		}
		es, err := p.eps[side].List(p.ctx, dir)
		if err != nil {
			if p.ctx.Err() != nil {
				return nil, has, p.ctx.Err()
			}
			if dir == "." {
				return nil, has, fmt.Errorf("sync: listing the %s: %w", Side(side), err)
			}
			p.fail("listing %s %s/: %v (left alone)", Side(side), dir, err)
			return nil, [2]bool{true, true}, nil
		}
		for _, e := range es {
			if !validEntryName(e.Name) {
				p.fail("%s %s: unusable name %q (left alone)", Side(side), dir, e.Name)
				continue
			}
			di.taken[e.Name] = true
			if isTempName(e.Name) {
				temps[side] = append(temps[side], e)
				continue
			}
			lists[side][e.Name] = e
		}
	}
	twoWay := p.it.Mode == TwoWay
	names := make(map[string]bool)
	for side := range 2 {
		for n := range lists[side] {
			names[n] = true
		}
	}
	if twoWay && !merge {
		for _, n := range p.old.children[dir] {
			names[n] = true
		}
	}
	if dir == "." {
		if err := p.checkEmpty(lists, names); err != nil {
			return nil, has, err
		}
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)

	var acts []Action
	var occ [2]bool
	for _, name := range sorted {
		rel := join(dir, name)
		s, sok := lists[Source][name]
		d, dok := lists[Dest][name]
		isDir := sok && s.Kind == Dir || dok && d.Kind == Dir
		if r := p.old.Entries[rel]; r != nil && r.Dir {
			isDir = true
		}
		if p.it.ignored(rel, isDir) {
			occ[Source] = occ[Source] || sok
			occ[Dest] = occ[Dest] || dok
			continue
		}
		var a []Action
		var rem [2]bool
		var err error
		if twoWay {
			a, rem, err = p.twoWay(di, rel, [2]Entry{s, d}, [2]bool{sok, dok}, merge)
		} else {
			a, rem, err = p.oneWay(di, rel, s, sok, d, dok)
		}
		if err != nil {
			return nil, has, err
		}
		acts = append(acts, a...)
		occ[Source] = occ[Source] || rem[Source]
		occ[Dest] = occ[Dest] || rem[Dest]
	}
	if !twoWay && p.journal {
		// Forget what the source no longer has.
		for _, n := range p.old.children[dir] {
			if _, ok := lists[Source][n]; !ok && !p.it.ignored(join(dir, n), false) {
				p.forget(join(dir, n))
			}
		}
	}
	// Temporary files: the one of a planned copy is resumed, the rest
	// are left over from runs that were stopped, and removed. Only the
	// sides this item writes are cleaned.
	wanted := map[string]bool{}
	for _, a := range acts {
		if a.Op == OpCopy && path.Dir(a.Path) == path.Clean(dir) {
			wanted[a.Side.String()+"\x00"+tempName(a.Path, a.Entry.Size, a.Entry.ModTime)] = true
		}
	}
	for side := range 2 {
		if Side(side) == Source && !twoWay {
			occ[Source] = occ[Source] || len(temps[side]) > 0
			continue
		}
		for _, t := range temps[side] {
			tp := join(dir, t.Name)
			if !wanted[Side(side).String()+"\x00"+tp] {
				acts = append(acts, Action{Op: OpCleanup, Side: Side(side), Path: tp, Entry: t, Reason: "left by an interrupted run"})
			}
		}
	}
	return acts, occ, nil
}

// validEntryName is the check of names that come from listings.
func validEntryName(n string) bool {
	return n != "" && n != "." && n != ".." && !strings.ContainsAny(n, "/\x00\r\n") && checkName(n) == nil
}

// checkEmpty refuses a run that would delete because a top directory
// listed nothing (ErrEmptySource).
func (p *planner) checkEmpty(lists [2]map[string]Entry, names map[string]bool) error {
	if p.it.AllowEmptySourceDelete {
		return nil
	}
	count := func(side Side) int {
		n := 0
		for name, e := range lists[side] {
			if !p.it.ignored(name, e.Kind == Dir) {
				n++
			}
		}
		return n
	}
	switch p.it.Mode {
	case Clone:
		if count(Source) == 0 && count(Dest) > 0 {
			return fmt.Errorf("%w: the source %s is empty and the destination is not (set AllowEmptySourceDelete to allow)", ErrEmptySource, p.it.Source)
		}
	case TwoWay:
		known := 0
		for _, n := range p.old.children["."] {
			if r := p.old.Entries[n]; r != nil && !p.it.ignored(n, r.Dir) {
				known++
			}
		}
		for _, side := range []Side{Source, Dest} {
			if known > 0 && count(side) == 0 && count(side.other()) > 0 {
				return fmt.Errorf("%w: the %s lists nothing where the journal knew %d entries (set AllowEmptySourceDelete to allow)", ErrEmptySource, side, known)
			}
		}
	}
	return nil
}

func (p *planner) forget(rel string) {
	if p.journal {
		delete(p.next.Entries, rel)
	}
}

func (p *planner) recordFile(rel string, s, d Entry) {
	if p.journal {
		p.next.Entries[rel] = &record{Src: stateOf(s), Dst: stateOf(d)}
	}
}

func (p *planner) recordDir(rel string) {
	if p.journal {
		p.next.Entries[rel] = &record{Dir: true}
	}
}

// sameTime compares times across sides: equal to the second, with one
// second of slack for servers that round rather than truncate, and the
// coarser precision of a listing that has no seconds.
func sameTime(a, b Entry) bool {
	tol := max(time.Second, a.Precision, b.Precision)
	d := a.ModTime.Truncate(time.Second).Sub(b.ModTime.Truncate(time.Second))
	return d <= tol && d >= -tol
}

// differs says why the destination file d is not a copy of the source
// file s, or "" when it is.
func (p *planner) differs(rel string, s, d Entry) string {
	if s.Size != d.Size {
		return "size differs"
	}
	if r := p.old.Entries[rel]; p.journal && r != nil && !r.Dir && r.Src == stateOf(s) && r.Dst == stateOf(d) {
		return "" // as the last copy left it
	}
	if sameTime(s, d) {
		return ""
	}
	if !p.setTimes[Dest] && !p.journal && !d.ModTime.Before(s.ModTime.Truncate(time.Second)) {
		// A destination that cannot take the source's time has the
		// time of the copy: newer than the source.
		return ""
	}
	return "time differs"
}

func copyAction(to Side, rel string, e Entry, reason string) Action {
	return Action{Op: OpCopy, Side: to, Path: rel, Entry: e, Reason: reason}
}

// oneWay decides for one name in OneWay and Clone modes.
func (p *planner) oneWay(di *dirInfo, rel string, s Entry, sok bool, d Entry, dok bool) ([]Action, [2]bool, error) {
	clone := p.it.Mode == Clone
	both := [2]bool{true, true}
	switch {
	case sok && s.Kind == Other:
		p.log.printf("skip %s: not a file or folder on the source", rel)
		return nil, [2]bool{true, dok}, nil
	case sok && s.Kind == Dir && !p.it.Recursive, !sok && dok && d.Kind == Dir && !p.it.Recursive:
		return nil, [2]bool{sok, dok}, nil
	case sok && s.Kind == File:
		switch {
		case !dok:
			return []Action{copyAction(Dest, rel, s, "new")}, both, nil
		case d.Kind == File:
			if why := p.differs(rel, s, d); why != "" {
				return []Action{copyAction(Dest, rel, s, why)}, both, nil
			}
			p.recordFile(rel, s, d)
			return nil, both, nil
		case d.Kind == Dir && clone:
			acts, left := p.removeTree(Dest, rel, d, "a file on the source")
			if left {
				p.fail("%s: a folder on the destination that cannot be emptied, a file on the source", rel)
				return acts, both, nil
			}
			return append(acts, copyAction(Dest, rel, s, "new")), both, nil
		}
		p.fail("%s: a %s on the destination, a file on the source (left alone)", rel, d.Kind)
		return nil, both, nil
	case sok && s.Kind == Dir:
		switch {
		case !dok:
			child, _, err := p.walk(rel, [2]bool{true, false}, false)
			return append([]Action{{Op: OpMkdir, Side: Dest, Path: rel, Reason: "new"}}, child...), both, err
		case d.Kind == Dir:
			p.recordDir(rel)
			child, _, err := p.walk(rel, both, false)
			return child, both, err
		case d.Kind == File && clone:
			acts := []Action{{Op: OpRemove, Side: Dest, Path: rel, Entry: d, Reason: "a folder on the source"},
				{Op: OpMkdir, Side: Dest, Path: rel, Reason: "new"}}
			child, _, err := p.walk(rel, [2]bool{true, false}, false)
			return append(acts, child...), both, err
		}
		p.fail("%s: a %s on the destination, a folder on the source (left alone)", rel, d.Kind)
		return nil, both, nil
	case !sok && dok && clone && (d.Kind != Other || d.Link):
		// A link goes even when it leads nowhere usable: removing it
		// never touches what it points to.
		acts, left := p.removeTree(Dest, rel, d, "not on the source")
		return acts, [2]bool{false, left}, nil
	}
	return nil, [2]bool{sok, dok}, nil
}

// removeTree plans the removal of e at rel on side, its content first.
// left reports that something in it stays (ignored or not removable), and
// then the folder itself stays too.
func (p *planner) removeTree(side Side, rel string, e Entry, reason string) (acts []Action, left bool) {
	if e.Link || e.Kind == File {
		return []Action{{Op: OpRemove, Side: side, Path: rel, Entry: e, Reason: reason}}, false
	}
	if e.Kind != Dir {
		return nil, true
	}
	es, err := p.eps[side].List(p.ctx, rel)
	if err != nil {
		p.fail("listing %s %s/: %v (not deleted)", side, rel, err)
		return nil, true
	}
	sort.Slice(es, func(i, j int) bool { return es[i].Name < es[j].Name })
	for _, c := range es {
		crel := join(rel, c.Name)
		if !validEntryName(c.Name) || p.it.ignored(crel, c.Kind == Dir) {
			left = true
			continue
		}
		a, l := p.removeTree(side, crel, c, reason)
		acts = append(acts, a...)
		left = left || l
	}
	if !left {
		acts = append(acts, Action{Op: OpRemove, Side: side, Path: rel, Entry: e, Reason: reason})
	}
	return acts, left
}

// twoWay decides for one name in TwoWay mode. e and ok are the entries on
// each side; the journal's record tells what changed since the last run.
func (p *planner) twoWay(di *dirInfo, rel string, e [2]Entry, ok [2]bool, merge bool) ([]Action, [2]bool, error) {
	var j *record
	if !merge {
		j = p.old.Entries[rel]
	}
	for side := range 2 {
		if ok[side] && e[side].Kind == Other {
			p.log.printf("skip %s: not a file or folder on the %s", rel, Side(side))
			return nil, ok, nil
		}
		if ok[side] && e[side].Kind == Dir && !p.it.Recursive {
			return nil, ok, nil
		}
	}
	if j != nil && j.Dir && !p.it.Recursive {
		return nil, ok, nil
	}
	if j == nil {
		switch {
		case ok[Source] && !ok[Dest]:
			return p.propagate(Source, rel, e[Source], "new")
		case ok[Dest] && !ok[Source]:
			return p.propagate(Dest, rel, e[Dest], "new")
		case ok[Source] && ok[Dest]:
			return p.both(di, rel, e, merge)
		}
		return nil, ok, nil
	}
	changed := func(side Side) bool {
		if !ok[side] {
			return true
		}
		x := e[side]
		if j.Dir {
			return x.Kind != Dir
		}
		return x.Kind != File || stateOf(x) != j.side(side)
	}
	sc, dc := changed(Source), changed(Dest)
	switch {
	case !ok[Source] && !ok[Dest]:
		p.forget(rel)
		return nil, ok, nil
	case !sc && !dc:
		return p.both(di, rel, e, false)
	case sc != dc:
		from := Source
		if dc {
			from = Dest
		}
		to := from.other()
		if !ok[from] {
			return p.deleteOn(to, rel, e[to])
		}
		if e[from].Kind != e[to].Kind {
			return p.kindConflict(di, rel, e)
		}
		return p.propagate(from, rel, e[from], "changed on the "+from.String())
	case !ok[Source]:
		return p.propagate(Dest, rel, e[Dest], "changed on the dest, deleted on the source")
	case !ok[Dest]:
		return p.propagate(Source, rel, e[Source], "changed on the source, deleted on the dest")
	}
	return p.both(di, rel, e, false)
}

// propagate copies x, present on from, to the other side: a file, or a
// folder and everything in it.
func (p *planner) propagate(from Side, rel string, x Entry, reason string) ([]Action, [2]bool, error) {
	to := from.other()
	both := [2]bool{true, true}
	if x.Kind == File {
		return []Action{copyAction(to, rel, x, reason)}, both, nil
	}
	var has [2]bool
	has[from] = true
	child, _, err := p.walk(rel, has, true)
	return append([]Action{{Op: OpMkdir, Side: to, Path: rel, Reason: reason}}, child...), both, err
}

// deleteOn propagates a deletion: x, still on side, was deleted on the
// other side. A folder's content goes first; whatever in it changed since
// the last run is copied back to the other side instead, and the folder
// then stays on both.
func (p *planner) deleteOn(side Side, rel string, x Entry) ([]Action, [2]bool, error) {
	reason := "deleted on the " + side.other().String()
	if x.Kind == File || x.Link {
		return []Action{{Op: OpRemove, Side: side, Path: rel, Entry: x, Reason: reason}}, [2]bool{}, nil
	}
	var has [2]bool
	has[side] = true
	child, occ, err := p.walk(rel, has, false)
	if err != nil {
		return nil, has, err
	}
	writesOther := false
	for _, a := range child {
		if a.Side != side && (a.Op == OpCopy || a.Op == OpMkdir) {
			writesOther = true
		}
	}
	if writesOther || occ[side] {
		return append([]Action{{Op: OpMkdir, Side: side.other(), Path: rel, Reason: "holds changes made since the deletion"}}, child...), [2]bool{true, true}, nil
	}
	return append(child, Action{Op: OpRemove, Side: side, Path: rel, Entry: x, Reason: reason}), [2]bool{}, nil
}

// both decides for an entry present on both sides.
func (p *planner) both(di *dirInfo, rel string, e [2]Entry, merge bool) ([]Action, [2]bool, error) {
	s, d := e[Source], e[Dest]
	all := [2]bool{true, true}
	switch {
	case s.Kind == File && d.Kind == File:
		if s.Size == d.Size && sameTime(s, d) {
			p.recordFile(rel, s, d)
			return nil, all, nil
		}
		if r := p.old.Entries[rel]; !merge && r != nil && !r.Dir && r.Src == stateOf(s) && r.Dst == stateOf(d) {
			p.recordFile(rel, s, d)
			return nil, all, nil
		}
		return p.conflict(di, rel, e), all, nil
	case s.Kind == Dir && d.Kind == Dir:
		p.recordDir(rel)
		child, _, err := p.walk(rel, all, merge)
		return child, all, err
	}
	return p.kindConflict(di, rel, e)
}

// ConflictName is the name under which the losing version of a two-way
// conflict is kept, on both sides: "name.conflict-<side>-<time>", the time
// being the losing version's modification time in UTC, as in
// "report.txt.conflict-dest-20261125T134000Z".
func ConflictName(rel string, loser Side, t time.Time) string {
	return rel + ".conflict-" + loser.String() + "-" + t.UTC().Format("20060102T150405Z")
}

func (p *planner) conflictName(di *dirInfo, rel string, loser Side, t time.Time) string {
	base := ConflictName(rel, loser, t)
	name := base
	for i := 2; di.taken[path.Base(name)]; i++ {
		name = fmt.Sprintf("%s-%d", base, i)
	}
	di.taken[path.Base(name)] = true
	return name
}

// conflict resolves files changed on both sides: the newer version wins
// (the source's when the times are equal) and the other is renamed to
// ConflictName, then each side gets what it lacks, so both end up with
// both versions.
func (p *planner) conflict(di *dirInfo, rel string, e [2]Entry) []Action {
	win := Source
	if e[Dest].ModTime.Truncate(time.Second).After(e[Source].ModTime.Truncate(time.Second)) {
		win = Dest
	}
	lose := win.other()
	cname := p.conflictName(di, rel, lose, e[lose].ModTime)
	kept := e[lose]
	kept.Name = path.Base(cname)
	return []Action{
		{Op: OpRename, Side: lose, Path: rel, To: cname, Entry: e[lose],
			Reason: "conflict: changed on both sides, the " + win.String() + " version is newer"},
		copyAction(lose, rel, e[win], "conflict winner"),
		copyAction(win, cname, kept, "conflict: the "+lose.String()+" version, kept"),
	}
}

// kindConflict resolves a file on one side and a folder on the other: the
// file is renamed to ConflictName and copied across, the folder is merged
// into the other side.
func (p *planner) kindConflict(di *dirInfo, rel string, e [2]Entry) ([]Action, [2]bool, error) {
	fside := Source
	if e[Dest].Kind == File {
		fside = Dest
	}
	dside := fside.other()
	cname := p.conflictName(di, rel, fside, e[fside].ModTime)
	kept := e[fside]
	kept.Name = path.Base(cname)
	acts := []Action{
		{Op: OpRename, Side: fside, Path: rel, To: cname, Entry: e[fside],
			Reason: "conflict: a file on the " + fside.String() + ", a folder on the " + dside.String()},
		copyAction(dside, cname, kept, "conflict: the file, kept"),
		{Op: OpMkdir, Side: fside, Path: rel, Reason: "conflict: the folder"},
	}
	var has [2]bool
	has[dside] = true
	child, _, err := p.walk(rel, has, true)
	return append(acts, child...), [2]bool{true, true}, err
}
