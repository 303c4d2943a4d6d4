package w3c

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParsePattern(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 7, 9, 41, 0, 0, time.UTC)
	tests := []struct {
		pattern, dir string
		want         string // name at `at`
		rotates      bool
		period       time.Duration // 0 for monthly/yearly/never
		dated        bool
	}{
		{`logs/ftp/"yyyymmdd".log`, "", "logs/ftp/20260307.log", true, 24 * time.Hour, true},
		{`logs/ftp/"yyyymmdd".log`, "/var", "/var/logs/ftp/20260307.log", true, 24 * time.Hour, true},
		{`/abs/"yyyymmdd".log`, "/var", "/abs/20260307.log", true, 24 * time.Hour, true},
		{`ex"yymmdd".log`, "", "ex260307.log", true, 24 * time.Hour, true},
		{`"yyyy-mm-dd_hh".log`, "d", "d/2026-03-07_09.log", true, time.Hour, true},
		{`"YYYYMM".log`, "", "202603.log", true, 0, true},
		{`"yyyy"/x`, "", "", false, 0, false}, // quotes in the directory: error below
		{`access.log`, "d", "d/access.log", false, 0, false},
		{`access-yyyymmdd.log`, "", "access-yyyymmdd.log", false, 0, false},
		{`"mmdd".log`, "", "0307.log", true, 24 * time.Hour, false},
		{`"yyyyhh".log`, "", "202609.log", true, time.Hour, false},
		{`ftp-"yyyy".log`, "", "ftp-2026.log", true, 0, true},
	}
	for _, tt := range tests {
		p, err := parsePattern(tt.pattern, tt.dir)
		if tt.want == "" {
			assert.ErrorIs(t, err, ErrPattern, "%s", tt.pattern)
			continue
		}
		require.NoError(t, err, "%s", tt.pattern)
		assert.Equal(t, filepath.FromSlash(tt.want), p.name(at), "%s: name", tt.pattern)
		assert.Equal(t, tt.rotates, p.rotates(), "%s: rotates", tt.pattern)
		assert.Equal(t, tt.dated, p.dated, "%s: dated", tt.pattern)
		start, end := p.period(at)
		if tt.period != 0 {
			assert.Equal(t, tt.period, end.Sub(start), "%s: period", tt.pattern)
		}
		if tt.rotates {
			assert.False(t, at.Before(start), "%s: %v in [%v, %v)", tt.pattern, at, start, end)
			assert.True(t, at.Before(end), "%s: %v in [%v, %v)", tt.pattern, at, start, end)
			assert.Equal(t, p.name(at), p.name(start), "%s: the period start has the same name", tt.pattern)
			assert.NotEqual(t, p.name(at), p.name(end), "%s: the period end has the next name", tt.pattern)
		}
	}
}

func TestParsePatternErrors(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"",
		"logs/",
		`"yyyymmdd.log`,    // unterminated
		`"yyyymmddss".log`, // unknown variable
		`"y".log`,
		`"date".log`,
		`logs/"yyyy"/ftp.log`, // variables in the directory
		`""`,
	} {
		_, err := parsePattern(s, "")
		assert.True(t, errors.Is(err, ErrPattern), "%q must be refused with ErrPattern, got %v", s, err)
	}
}

func TestPatternMonthAndYearPeriods(t *testing.T) {
	t.Parallel()
	p, err := parsePattern(`"yyyymm".log`, "")
	require.NoError(t, err)
	start, end := p.period(time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC))
	assert.Equal(t, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), start, "month start")
	assert.Equal(t, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), end, "month end")

	p, err = parsePattern(`"yy".log`, "")
	require.NoError(t, err)
	start, end = p.period(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	assert.Equal(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), start, "year start")
	assert.Equal(t, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), end, "year end")

	p, err = parsePattern("plain.log", "")
	require.NoError(t, err)
	_, end = p.period(time.Now())
	assert.True(t, end.After(time.Now().AddDate(1000, 0, 0)), "a plain pattern never rotates")
}

func TestPatternParseName(t *testing.T) {
	t.Parallel()
	p, err := parsePattern(`ex"yyyymmdd".log`, "")
	require.NoError(t, err)
	tests := []struct {
		name string
		ok   bool
		want time.Time
	}{
		{"ex20261125.log", true, time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)},
		{"ex20260229.log", false, time.Time{}}, // no such day
		{"ex20261341.log", false, time.Time{}},
		{"ex20261125.log.gz", false, time.Time{}},
		{"ex2026112.log", false, time.Time{}},
		{"EX20261125.log", false, time.Time{}},
		{"ex２0261125.log", false, time.Time{}},
		{"notes.txt", false, time.Time{}},
	}
	for _, tt := range tests {
		got, ok := p.parse(tt.name)
		assert.Equal(t, tt.ok, ok, "%s is the pattern's", tt.name)
		if tt.ok {
			assert.Equal(t, tt.want, got, "%s: period start", tt.name)
		}
	}

	// Names that repeat cannot be dated.
	p, err = parsePattern(`"mmdd".log`, "")
	require.NoError(t, err)
	_, ok := p.parse("1125.log")
	assert.False(t, ok, "a name without the year is never aged")
}
