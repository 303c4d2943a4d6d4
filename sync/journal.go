package sync

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// journalVersion is the format of journal files.
const journalVersion = 1

// state is what the journal remembers of a file on one side: its size
// and modification time in whole seconds.
type state struct {
	Size  int64 `json:"size"`
	MTime int64 `json:"mtime"` // Unix seconds
}

func stateOf(e Entry) state {
	return state{Size: e.Size, MTime: e.ModTime.Unix()}
}

// record is the journal's entry for one path: present on both sides at
// the end of the last run, as a folder or as a file with each side's state.
type record struct {
	Dir bool  `json:"dir,omitempty"`
	Src state `json:"src"`
	Dst state `json:"dst"`
}

func (r *record) side(s Side) state {
	if s == Source {
		return r.Src
	}
	return r.Dst
}

func (r *record) setSide(s Side, st state) {
	if s == Source {
		r.Src = st
	} else {
		r.Dst = st
	}
}

// journal is the state of the last run of an item. Its file is JSON:
//
//	{"version":1,"source":"local:/data","dest":"ftp://u@host:21/backup",
//	 "entries":{"a":{"dir":true},"a/b.txt":{"src":{"size":3,"mtime":1764078000},"dst":{...}}}}
//
// Source and Dest name the locations it belongs to: a journal of other
// locations is not used, so a changed configuration merges instead of
// taking every file for deleted.
type journal struct {
	Version int                `json:"version"`
	Source  string             `json:"source"`
	Dest    string             `json:"dest"`
	Saved   time.Time          `json:"saved"`
	Entries map[string]*record `json:"entries"`

	children map[string][]string // directory -> names, built on load
}

func newJournal(src, dst string) *journal {
	return &journal{Version: journalVersion, Source: src, Dest: dst, Entries: map[string]*record{}}
}

// errJournal reports a journal file that cannot be used. A run stops
// rather than guess: without its journal a two-way run would merge and
// bring back what was deleted.
var errJournal = errors.New("sync: unusable journal")

// loadJournal reads the journal at p. A missing file is an empty journal;
// one for other locations is replaced by an empty one, with fresh true.
func loadJournal(p, src, dst string) (j *journal, fresh bool, err error) {
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return newJournal(src, dst), true, nil
	}
	if err != nil {
		return nil, false, err
	}
	j = new(journal)
	if err := json.Unmarshal(b, j); err != nil {
		return nil, false, fmt.Errorf("%w %s: %v (remove it to start with a merge)", errJournal, p, err)
	}
	if j.Version != journalVersion {
		return nil, false, fmt.Errorf("%w %s: version %d (remove it to start with a merge)", errJournal, p, j.Version)
	}
	if j.Source != src || j.Dest != dst {
		return newJournal(src, dst), true, nil
	}
	if j.Entries == nil {
		j.Entries = map[string]*record{}
	}
	for k, r := range j.Entries {
		if r == nil || checkName(k) != nil || k == "." {
			return nil, false, fmt.Errorf("%w %s: bad entry %q", errJournal, p, k)
		}
	}
	j.index()
	return j, false, nil
}

// index builds the children lists.
func (j *journal) index() {
	j.children = make(map[string][]string)
	for k := range j.Entries {
		dir, name := ".", k
		if i := strings.LastIndexByte(k, '/'); i >= 0 {
			dir, name = k[:i], k[i+1:]
		}
		j.children[dir] = append(j.children[dir], name)
	}
}

// clone copies the entries, sharing nothing that is changed later.
func (j *journal) clone() *journal {
	c := newJournal(j.Source, j.Dest)
	for k, r := range j.Entries {
		rc := *r
		c.Entries[k] = &rc
	}
	return c
}

// save writes the journal to p atomically: a temporary file in the same
// directory, synced, then renamed over p.
func (j *journal) save(p string) error {
	j.Saved = time.Now().UTC().Truncate(time.Second)
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(p)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
