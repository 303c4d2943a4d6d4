package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	ferrysync "github.com/ferryftp/ferry/sync"
)

// loadSyncItems reads the synchronisation items and groups of the
// configuration file at configPath.
var loadSyncItems = func(configPath string) ([]ferrysync.Item, []ferrysync.Group, error) {
	return nil, nil, errors.New("no configuration")
}

const syncUsage = `usage: ferryd sync -config FILE (-item NAME | -group NAME) [-dry-run]
       ferryd sync -config FILE -list
  run a synchronisation item, or every item of a group at once, now, and
  wait for it; its progress goes to the terminal and to the item's log.
  -dry-run prints what the run would do and changes nothing; -list prints
  the items, their groups and next scheduled runs.
  Exit status 0 when every run succeeded or was skipped by its file check,
  1 otherwise, 2 for bad usage.
`

// runSync is "ferryd sync": it returns the exit code.
func runSync(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("ferryd sync", flag.ContinueOnError)
	fl.SetOutput(io.Discard)
	file := fl.String("config", "", "configuration `file`")
	item := fl.String("item", "", "run the item `NAME`")
	group := fl.String("group", "", "run the items of the group `NAME`")
	dry := fl.Bool("dry-run", false, "print the plan, change nothing")
	list := fl.Bool("list", false, "list the items and groups")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, syncUsage)
			return 0
		}
		fmt.Fprintln(stderr, "ferryd sync:", err)
		fmt.Fprint(stderr, syncUsage)
		return 2
	}
	chosen := 0
	for _, set := range []bool{*item != "", *group != "", *list} {
		if set {
			chosen++
		}
	}
	if chosen != 1 || fl.NArg() > 0 {
		fmt.Fprint(stderr, syncUsage)
		return 2
	}
	items, groups, err := loadSyncItems(*file)
	if err != nil {
		printError(stderr, err)
		return 1
	}
	if *dry {
		items = append([]ferrysync.Item(nil), items...)
		for i := range items {
			items[i].DryRun = true
		}
	}
	sched, err := ferrysync.NewScheduler(items, groups)
	if err != nil {
		fmt.Fprintln(stderr, "ferryd sync:", err)
		return 1
	}
	if *list {
		listSync(stdout, sched, items, groups)
		return 0
	}
	name := *item
	if name == "" {
		name = *group
	}
	name, ok := findSyncName(sched, name, *group != "")
	if !ok {
		kind := "item"
		if *group != "" {
			kind = "group"
		}
		fmt.Fprintf(stderr, "ferryd sync: no sync %s %q\n", kind, name)
		return 1
	}
	sched.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sched.Output = stdout
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	results, err := sched.RunNow(ctx, name)
	if err != nil {
		fmt.Fprintln(stderr, "ferryd sync:", err)
		return 1
	}
	code := 0
	for _, r := range results {
		if r.Err != nil {
			fmt.Fprintf(stderr, "ferryd sync: %s: %v\n", r.Item, r.Err)
			code = 1
		}
	}
	return code
}

// findSyncName finds an item (or a group) by name, exactly or else
// ignoring case, as the configuration compares names.
func findSyncName(s *ferrysync.Scheduler, name string, group bool) (string, bool) {
	names := s.Items()
	if group {
		names = s.Groups()
	}
	for _, n := range names {
		if n == name {
			return n, true
		}
	}
	for _, n := range names {
		if strings.EqualFold(n, name) {
			return n, true
		}
	}
	return name, false
}

// listSync prints the items with their modes, locations and next runs, and
// the groups.
func listSync(w io.Writer, s *ferrysync.Scheduler, items []ferrysync.Item, groups []ferrysync.Group) {
	now := time.Now()
	for _, it := range items {
		fmt.Fprintf(w, "item %s (%s): %s -> %s\n", it.Name, it.Mode, it.Source, it.Dest)
		next := "on demand only"
		if t := s.Next(it.Name, now); !t.IsZero() {
			next = t.Format("2006-01-02 15:04 MST")
		}
		fmt.Fprintf(w, "  schedule  %s; next %s\n", it.Schedule, next)
	}
	for _, g := range groups {
		fmt.Fprintf(w, "group %s: %s\n", g.Name, strings.Join(g.Items, ", "))
	}
}
