package sync

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Weekdays is a set of days of the week: bit i stands for time.Weekday(i).
type Weekdays uint8

// EveryDay holds the seven days.
const EveryDay Weekdays = 1<<7 - 1

// Days returns the set of the given days.
func Days(days ...time.Weekday) Weekdays {
	var w Weekdays
	for _, d := range days {
		w |= 1 << (d % 7)
	}
	return w
}

// Has reports whether d is in the set. The empty set has every day.
func (w Weekdays) Has(d time.Weekday) bool {
	return w == 0 || w&(1<<(d%7)) != 0
}

var dayNames = [...]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func (w Weekdays) String() string {
	if w == 0 || w&EveryDay == EveryDay {
		return "every day"
	}
	var parts []string
	for d := time.Sunday; d <= time.Saturday; d++ {
		if w&(1<<d) != 0 {
			parts = append(parts, dayNames[d])
		}
	}
	return strings.Join(parts, ",")
}

func parseDay(s string) (time.Weekday, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) < 3 {
		return 0, false
	}
	for i, n := range dayNames {
		if strings.HasPrefix(s, n) && strings.HasPrefix(time.Weekday(i).String(), strings.ToUpper(s[:1])+s[1:]) {
			return time.Weekday(i), true
		}
	}
	return 0, false
}

// ParseWeekdays parses a list of days separated by commas or spaces, each
// a day ("mon", "Monday") or a range ("mon-fri", "fri-mon" wraps round
// the week); "*" or "" is every day.
func ParseWeekdays(s string) (Weekdays, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "*" {
		return EveryDay, nil
	}
	var w Weekdays
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == ';' }) {
		from, to, isRange := strings.Cut(part, "-")
		a, ok1 := parseDay(from)
		b, ok2 := a, true
		if isRange {
			b, ok2 = parseDay(to)
		}
		if !ok1 || !ok2 {
			return 0, fmt.Errorf("sync: bad day %q in %q", part, s)
		}
		for d := a; ; d = (d + 1) % 7 {
			w |= 1 << d
			if d == b {
				break
			}
		}
	}
	return w, nil
}

// ParseTimeOfDay parses "HH:MM" or "HH:MM:SS", 24-hour, into the time
// since midnight.
func ParseTimeOfDay(s string) (time.Duration, error) {
	parts := strings.Split(strings.TrimSpace(s), ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, fmt.Errorf("sync: bad time of day %q (want HH:MM)", s)
	}
	limits := []int{23, 59, 59}
	units := []time.Duration{time.Hour, time.Minute, time.Second}
	var d time.Duration
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || len(p) > 2 || len(p) == 0 || n < 0 || n > limits[i] || (i > 0 && len(p) != 2) {
			return 0, fmt.Errorf("sync: bad time of day %q (want HH:MM)", s)
		}
		d += time.Duration(n) * units[i]
	}
	return d, nil
}

// Schedule says when an item runs: on Days, at every multiple of Every
// counted from midnight, and at each of Times. The zero Schedule never
// runs. Times are wall-clock times in Location: "every 6h" is 00:00,
// 06:00, 12:00 and 18:00 local time, whatever daylight saving does; a
// time that a clock change skips runs at the wall-clock time it becomes
// (02:30 on a spring-forward night is 03:30).
type Schedule struct {
	// Days are the days of the week it runs on; zero means every day.
	Days Weekdays
	// Every, when positive, runs the item at midnight and every Every
	// after it within the day: 15m gives 00:00, 00:15, ... 23:45. At
	// least a minute, at most a day.
	Every time.Duration
	// Times are times of day, as the time since midnight (see
	// ParseTimeOfDay).
	Times []time.Duration
	// Location is the time zone of the days and times; nil is time.Local.
	Location *time.Location
}

// IsZero reports whether the schedule never runs.
func (s Schedule) IsZero() bool { return s.Every <= 0 && len(s.Times) == 0 }

// Validate reports a setting that cannot work.
func (s Schedule) Validate() error {
	if s.Every < 0 || s.Every > 0 && (s.Every < time.Minute || s.Every > 24*time.Hour) {
		return fmt.Errorf("schedule: every %v: want one minute to one day", s.Every)
	}
	for _, t := range s.Times {
		if t < 0 || t >= 24*time.Hour {
			return fmt.Errorf("schedule: time of day %v: want 00:00 to 23:59:59", t)
		}
	}
	if s.Days&^EveryDay != 0 {
		return errors.New("schedule: bad day set")
	}
	return nil
}

func (s Schedule) String() string {
	if s.IsZero() {
		return "never"
	}
	var parts []string
	if s.Every > 0 {
		parts = append(parts, "every "+s.Every.String())
	}
	if len(s.Times) > 0 {
		var ts []string
		for _, t := range s.Times {
			ts = append(ts, fmt.Sprintf("%02d:%02d", int(t.Hours()), int(t.Minutes())%60))
		}
		parts = append(parts, "at "+strings.Join(ts, ","))
	}
	return strings.Join(parts, " and ") + ", " + s.Days.String()
}

// Next returns the first time strictly after after at which the schedule
// runs, or the zero time for a schedule that never runs.
func (s Schedule) Next(after time.Time) time.Time {
	if s.IsZero() || s.Validate() != nil {
		return time.Time{}
	}
	loc := s.Location
	if loc == nil {
		loc = time.Local
	}
	a := after.In(loc)
	y, m, d := a.Date()
	times := append([]time.Duration(nil), s.Times...)
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	// Eight days reach the same weekday again; one more covers a day
	// that a clock change made short.
	for i := 0; i <= 8; i++ {
		day := time.Date(y, m, d+i, 12, 0, 0, 0, loc) // noon exists every day
		if !s.Days.Has(day.Weekday()) {
			continue
		}
		var best time.Time
		consider := func(off time.Duration) bool {
			t := wallClock(day, off, loc)
			if !t.After(after) {
				return false
			}
			if best.IsZero() || t.Before(best) {
				best = t
			}
			return true
		}
		if s.Every > 0 {
			for off := time.Duration(0); off < 24*time.Hour; off += s.Every {
				if consider(off) {
					break
				}
			}
		}
		for _, t := range times {
			if consider(t) {
				break
			}
		}
		if !best.IsZero() {
			return best
		}
	}
	return time.Time{}
}

// wallClock is the time off after midnight of day's date on the wall
// clock of loc.
func wallClock(day time.Time, off time.Duration, loc *time.Location) time.Time {
	y, m, d := day.Date()
	h := int(off / time.Hour)
	mi := int(off % time.Hour / time.Minute)
	sec := int(off % time.Minute / time.Second)
	t := time.Date(y, m, d, h, mi, sec, 0, loc)
	if t.Hour() != h || t.Minute() != mi {
		// A time in the gap of a clock change: time.Date may give the
		// wall-clock time before the gap; move it past the gap, by the
		// change of offset.
		_, before := t.Zone()
		_, after := t.Add(3 * time.Hour).Zone()
		if after > before {
			t = t.Add(time.Duration(after-before) * time.Second)
		}
	}
	return t
}
