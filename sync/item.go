package sync

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Mode is how an item makes its two sides agree.
type Mode uint8

const (
	// OneWay copies new and changed files from the source to the
	// destination and deletes nothing.
	OneWay Mode = iota
	// Clone makes the destination an exact copy of the source: it also
	// deletes the files and folders the source does not have.
	Clone
	// TwoWay applies the changes of each side since the last run to the
	// other: creations, changes and deletions, told apart by a journal of
	// the last synchronised state. The first run merges.
	TwoWay
)

func (m Mode) String() string {
	switch m {
	case OneWay:
		return "one-way"
	case Clone:
		return "clone"
	case TwoWay:
		return "two-way"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// ParseMode parses "one-way" (or "simple"), "clone" and "two-way",
// case-insensitive.
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "one-way", "oneway", "simple":
		return OneWay, nil
	case "clone", "one-way-clone":
		return Clone, nil
	case "two-way", "twoway":
		return TwoWay, nil
	}
	return 0, fmt.Errorf("sync: unknown mode %q (want one-way, clone or two-way)", s)
}

// Side names one side of an item.
type Side uint8

const (
	Source Side = iota
	Dest
)

func (s Side) String() string {
	if s == Source {
		return "source"
	}
	return "dest"
}

func (s Side) other() Side { return 1 - s }

// FileCheck makes a run depend on a file: the run goes ahead only when
// Path exists on Side and, when Content is set, its first megabyte
// matches Content. Otherwise the run is skipped, which is not an error.
type FileCheck struct {
	Side    Side           // where Path is; the zero value is the source
	Path    string         // relative to the side's directory, "/"-separated
	Content *regexp.Regexp // nil: existence is enough
}

// maxCheckBytes is how much of a checked file Content is matched against.
const maxCheckBytes = 1 << 20

// ParseFileCheck parses the "path=[regex]" form: "ready.flag" (the file
// must exist) or "status.txt=^done$" (and its content must match).
func ParseFileCheck(s string) (*FileCheck, error) {
	p, re, hasRE := strings.Cut(s, "=")
	p = strings.Trim(strings.TrimSpace(p), "/")
	if p == "" || checkName(p) != nil {
		return nil, fmt.Errorf("sync: file check %q: want path=[regex] with a relative path", s)
	}
	fc := &FileCheck{Path: p}
	if hasRE && re != "" {
		rx, err := regexp.Compile(re)
		if err != nil {
			return nil, fmt.Errorf("sync: file check %q: %w", s, err)
		}
		fc.Content = rx
	}
	return fc, nil
}

// Item is one synchronisation: two locations, a mode and its options.
type Item struct {
	Name        string // unique among the items; used in logs
	Description string

	Source, Dest Location
	Mode         Mode
	// Recursive descends into folders. Without it only the files of the
	// top directories take part; folders are neither copied nor deleted.
	Recursive bool

	// Ignore lists patterns of entries to leave alone on both sides:
	// neither copied nor deleted. Each is matched against the entry's
	// name and against its path from the item's directory ("a/b.txt";
	// folders end in "/": "a/cache/"). One match ignores the entry, and
	// everything below a folder.
	Ignore []*regexp.Regexp

	// FileCheck, when set, runs the item only when the file is there
	// (and its content matches).
	FileCheck *FileCheck

	// NoopInterval, when positive, sends NOOP on each FTP control
	// connection that long after the last one, during transfers too, so
	// firewalls do not close them in long runs. Zero sends none.
	NoopInterval time.Duration

	// DryRun lists what a run would do and changes nothing.
	DryRun bool

	// JournalPath is the local file that keeps the state of the last
	// run. TwoWay needs it. With the other modes it is optional: it lets
	// a destination that cannot set modification times (an FTP server
	// without MFMT) be compared by what the last copy left there.
	JournalPath string

	// AllowEmptySourceDelete lets Clone empty the destination, and
	// TwoWay delete on one side everything the journal knew, when the
	// source (or the other side) lists nothing at all. Off, such a run
	// stops before deleting anything: an empty listing more often means
	// a failed mount or a wrong directory than a wish to delete all.
	AllowEmptySourceDelete bool

	// Schedule says when the [Scheduler] runs the item; the zero value
	// never does (only "sync now").
	Schedule Schedule

	// LogFile, when set, is where the [Scheduler] appends each run's
	// progress and summary.
	LogFile string
}

// Group names items that run together.
type Group struct {
	Name        string
	Description string
	Items       []string // item names
}

// Validate reports the first setting of it that cannot work.
func (it *Item) Validate() error {
	switch {
	case it.Name == "":
		return errors.New("sync: item without a name")
	case it.Source == nil:
		return fmt.Errorf("sync: item %s: no source", it.Name)
	case it.Dest == nil:
		return fmt.Errorf("sync: item %s: no destination", it.Name)
	case it.Mode > TwoWay:
		return fmt.Errorf("sync: item %s: unknown mode %v", it.Name, it.Mode)
	case it.Mode == TwoWay && it.JournalPath == "":
		return fmt.Errorf("sync: item %s: two-way needs a journal path", it.Name)
	case it.NoopInterval < 0:
		return fmt.Errorf("sync: item %s: negative NOOP interval", it.Name)
	case it.Source.String() == it.Dest.String():
		return fmt.Errorf("sync: item %s: source and destination are the same", it.Name)
	}
	for i, re := range it.Ignore {
		if re == nil {
			return fmt.Errorf("sync: item %s: ignore pattern %d is nil", it.Name, i)
		}
	}
	if fc := it.FileCheck; fc != nil && (fc.Side > Dest || checkName(fc.Path) != nil || fc.Path == ".") {
		return fmt.Errorf("sync: item %s: file check path %q", it.Name, fc.Path)
	}
	if err := it.Schedule.Validate(); err != nil {
		return fmt.Errorf("sync: item %s: %w", it.Name, err)
	}
	return nil
}

// ignored reports whether the entry at rel (its name is the last element)
// matches an Ignore pattern.
func (it *Item) ignored(rel string, dir bool) bool {
	if len(it.Ignore) == 0 {
		return false
	}
	name := rel
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		name = rel[i+1:]
	}
	p := rel
	if dir {
		p += "/"
	}
	for _, re := range it.Ignore {
		if re.MatchString(name) || re.MatchString(p) {
			return true
		}
	}
	return false
}

// Summary is the outcome of one run.
type Summary struct {
	Item     string
	Start    time.Time
	Duration time.Duration
	DryRun   bool
	// Skipped, when not empty, says why the run did nothing (the file
	// check was not met).
	Skipped string

	Planned   int   // actions in the plan
	Files     int   // files copied
	Bytes     int64 // bytes copied
	Dirs      int   // folders created
	Deleted   int   // files and folders deleted
	Conflicts int   // two-way conflicts resolved
	Errors    int   // actions that failed
}

// String is the summary line of the log: files, bytes, duration, errors.
func (s Summary) String() string {
	var b strings.Builder
	switch {
	case s.Skipped != "":
		fmt.Fprintf(&b, "skipped: %s", s.Skipped)
	case s.DryRun:
		fmt.Fprintf(&b, "dry run: %d actions planned, nothing changed", s.Planned)
	default:
		fmt.Fprintf(&b, "%d files copied (%s), %d folders created, %d deleted, %d conflicts, %d errors",
			s.Files, FormatBytes(s.Bytes), s.Dirs, s.Deleted, s.Conflicts, s.Errors)
	}
	fmt.Fprintf(&b, " in %s", s.Duration.Round(time.Millisecond))
	return b.String()
}

// FormatBytes formats n in binary units: "512 B", "1.5 KiB", "3.2 GiB".
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
