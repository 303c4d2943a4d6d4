package sync

import (
	"testing"
	"time"
	_ "time/tzdata" // the DST cases need a zone whatever the machine has

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestScheduleNext(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err, "time zone")
	at := func(s string, loc *time.Location) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04:05", s, loc)
		require.NoError(t, err, "time %s", s)
		return tm
	}
	hm := func(h, m int) time.Duration { return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute }
	// 2026-11-25 is a Wednesday.
	cases := []struct {
		name  string
		s     Schedule
		after string
		want  string // "" for never
		loc   *time.Location
	}{
		{"every 15 minutes", Schedule{Every: 15 * time.Minute}, "2026-11-25 10:07:00", "2026-11-25 10:15:00", time.UTC},
		{"on the dot is strictly after", Schedule{Every: 15 * time.Minute}, "2026-11-25 10:15:00", "2026-11-25 10:30:00", time.UTC},
		{"every 2 hours wraps to midnight", Schedule{Every: 2 * time.Hour}, "2026-11-25 23:00:00", "2026-11-26 00:00:00", time.UTC},
		{"every 7 hours restarts each day", Schedule{Every: 7 * time.Hour}, "2026-11-25 21:30:00", "2026-11-26 00:00:00", time.UTC},
		{"times of day", Schedule{Times: []time.Duration{hm(18, 0), hm(6, 30)}}, "2026-11-25 07:00:00", "2026-11-25 18:00:00", time.UTC},
		{"times of day, next day", Schedule{Times: []time.Duration{hm(18, 0), hm(6, 30)}}, "2026-11-25 18:00:00", "2026-11-26 06:30:00", time.UTC},
		{"weekdays skip the weekend", Schedule{Days: Days(time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday), Times: []time.Duration{hm(9, 0)}},
			"2026-11-27 10:00:00", "2026-11-30 09:00:00", time.UTC},
		{"sunday only", Schedule{Days: Days(time.Sunday), Every: time.Hour}, "2026-11-25 10:00:00", "2026-11-29 00:00:00", time.UTC},
		{"same weekday next week", Schedule{Days: Days(time.Wednesday), Times: []time.Duration{hm(8, 0)}}, "2026-11-25 09:00:00", "2026-12-02 08:00:00", time.UTC},
		{"every and times together", Schedule{Every: 6 * time.Hour, Times: []time.Duration{hm(7, 45)}}, "2026-11-25 06:10:00", "2026-11-25 07:45:00", time.UTC},
		{"in a zone", Schedule{Times: []time.Duration{hm(9, 0)}, Location: ny}, "2026-11-25 13:00:00", "2026-11-25 14:00:00", time.UTC},
		{"spring forward: a skipped time runs an hour later", Schedule{Times: []time.Duration{hm(2, 30)}, Location: ny},
			"2026-03-08 00:00:00", "2026-03-08 03:30:00", ny},
		{"spring forward: every hour skips 02:00", Schedule{Every: time.Hour, Location: ny}, "2026-03-08 01:30:00", "2026-03-08 03:00:00", ny},
		{"fall back: every hour", Schedule{Every: time.Hour, Location: ny}, "2026-11-01 00:30:00", "2026-11-01 01:00:00", ny},
		{"zero schedule never runs", Schedule{}, "2026-11-25 10:00:00", "", time.UTC},
		{"invalid schedule never runs", Schedule{Every: time.Second}, "2026-11-25 10:00:00", "", time.UTC},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.s.Next(at(tc.after, tc.loc))
			if tc.want == "" {
				assert.True(t, got.IsZero(), "never runs, got %v", got)
				return
			}
			assert.Equal(t, at(tc.want, tc.loc).UTC(), got.UTC(), "next run after %s", tc.after)
		})
	}
}

func TestScheduleNextIsStrictlyLater(t *testing.T) {
	s := Schedule{Every: 5 * time.Minute, Times: []time.Duration{13*time.Hour + 2*time.Minute}, Days: Days(time.Monday, time.Thursday)}
	tm := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for range 3000 {
		next := s.Next(tm)
		require.True(t, next.After(tm), "Next(%v) = %v is after", tm, next)
		require.True(t, s.Days.Has(next.Weekday()), "Next(%v) = %v is on a scheduled day", tm, next)
		tm = next
	}
}

func TestParseWeekdays(t *testing.T) {
	for in, want := range map[string]Weekdays{
		"":                   EveryDay,
		"*":                  EveryDay,
		"mon":                Days(time.Monday),
		"Monday, Friday":     Days(time.Monday, time.Friday),
		"mon-fri":            Days(time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday),
		"fri-mon":            Days(time.Friday, time.Saturday, time.Sunday, time.Monday),
		"sat sun":            Days(time.Saturday, time.Sunday),
		"tues;THU":           Days(time.Tuesday, time.Thursday),
		"sun-sat":            EveryDay,
		"wednesday-thursday": Days(time.Wednesday, time.Thursday),
	} {
		got, err := ParseWeekdays(in)
		require.NoError(t, err, "ParseWeekdays(%q)", in)
		assert.Equal(t, want, got, "ParseWeekdays(%q)", in)
	}
	for _, bad := range []string{"mo", "funday", "mon-", "monx", "1"} {
		_, err := ParseWeekdays(bad)
		assert.Error(t, err, "ParseWeekdays(%q)", bad)
	}
	assert.Equal(t, "mon,fri", Days(time.Monday, time.Friday).String(), "String")
	assert.Equal(t, "every day", Weekdays(0).String(), "zero is every day")
}

func TestParseTimeOfDay(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"00:00":    0,
		"7:05":     7*time.Hour + 5*time.Minute,
		"13:40":    13*time.Hour + 40*time.Minute,
		"23:59:59": 24*time.Hour - time.Second,
	} {
		got, err := ParseTimeOfDay(in)
		require.NoError(t, err, "ParseTimeOfDay(%q)", in)
		assert.Equal(t, want, got, "ParseTimeOfDay(%q)", in)
	}
	for _, bad := range []string{"", "24:00", "12:60", "12", "12:5", "1:2:3:4", "-1:00", "ab:cd", "123:00"} {
		_, err := ParseTimeOfDay(bad)
		assert.Error(t, err, "ParseTimeOfDay(%q)", bad)
	}
}

func TestScheduleValidateAndString(t *testing.T) {
	assert.NoError(t, Schedule{}.Validate(), "the zero schedule is valid")
	assert.Error(t, Schedule{Every: 30 * time.Second}.Validate(), "under a minute")
	assert.Error(t, Schedule{Every: 25 * time.Hour}.Validate(), "over a day")
	assert.Error(t, Schedule{Times: []time.Duration{24 * time.Hour}}.Validate(), "time of day 24:00")
	assert.Equal(t, "every 15m0s and at 06:30, mon,fri",
		Schedule{Every: 15 * time.Minute, Times: []time.Duration{6*time.Hour + 30*time.Minute}, Days: Days(time.Monday, time.Friday)}.String(), "String")
	assert.Equal(t, "never", Schedule{}.String(), "the zero schedule")
}
