package quota

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clock is a settable clock for Manager.Now and LoginThrottle.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t testing.TB, s string) *clock {
	t.Helper()
	c := &clock{}
	c.set(t, s)
	return c
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t testing.TB, s string) {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err, "parse time %q", s)
	c.mu.Lock()
	c.t = v
	c.mu.Unlock()
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err, "parse time %q", s)
	return v
}

func TestPeriodStartNext(t *testing.T) {
	tests := []struct {
		p           Period
		at          string
		start, next string
	}{
		{Daily, "2026-03-14T15:09:26Z", "2026-03-14T00:00:00Z", "2026-03-15T00:00:00Z"},
		{Daily, "2026-03-14T00:00:00Z", "2026-03-14T00:00:00Z", "2026-03-15T00:00:00Z"},
		{Daily, "2026-03-14T23:59:59Z", "2026-03-14T00:00:00Z", "2026-03-15T00:00:00Z"},
		{Daily, "2025-12-31T12:00:00Z", "2025-12-31T00:00:00Z", "2026-01-01T00:00:00Z"},
		// A local time is taken in UTC: 01:00+02:00 is 23:00 UTC the day before.
		{Daily, "2026-03-14T01:00:00+02:00", "2026-03-13T00:00:00Z", "2026-03-14T00:00:00Z"},
		// ISO weeks start on Monday. 2026-03-16 is a Monday.
		{Weekly, "2026-03-16T00:00:00Z", "2026-03-16T00:00:00Z", "2026-03-23T00:00:00Z"},
		{Weekly, "2026-03-18T10:00:00Z", "2026-03-16T00:00:00Z", "2026-03-23T00:00:00Z"},
		{Weekly, "2026-03-22T23:59:59Z", "2026-03-16T00:00:00Z", "2026-03-23T00:00:00Z"}, // Sunday
		{Weekly, "2026-03-01T08:00:00Z", "2026-02-23T00:00:00Z", "2026-03-02T00:00:00Z"}, // across months
		{Weekly, "2026-01-01T08:00:00Z", "2025-12-29T00:00:00Z", "2026-01-05T00:00:00Z"}, // across years
		{Monthly, "2026-03-14T15:09:26Z", "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"},
		{Monthly, "2026-01-31T23:59:59Z", "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"},
		{Monthly, "2024-02-29T12:00:00Z", "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"}, // leap year
		{Monthly, "2025-12-15T00:00:00Z", "2025-12-01T00:00:00Z", "2026-01-01T00:00:00Z"},
		{None, "2026-03-14T15:09:26Z", "", ""},
	}
	for _, tt := range tests {
		at := mustTime(t, tt.at)
		var start, next time.Time
		if tt.start != "" {
			start, next = mustTime(t, tt.start), mustTime(t, tt.next)
		}
		assert.True(t, tt.p.Start(at).Equal(start), "%v.Start(%s) = %v, want %v", tt.p, tt.at, tt.p.Start(at), start)
		assert.True(t, tt.p.Next(at).Equal(next), "%v.Next(%s) = %v, want %v", tt.p, tt.at, tt.p.Next(at), next)
		if tt.p != None {
			assert.Equal(t, time.UTC, tt.p.Start(at).Location(), "%v.Start(%s) is in UTC", tt.p, tt.at)
		}
	}
}

func TestParsePeriod(t *testing.T) {
	tests := []struct {
		in   string
		want Period
		ok   bool
	}{
		{"", None, true},
		{"none", None, true},
		{"daily", Daily, true},
		{"Day", Daily, true},
		{"WEEKLY", Weekly, true},
		{"week", Weekly, true},
		{" monthly ", Monthly, true},
		{"month", Monthly, true},
		{"yearly", None, false},
		{"1", None, false},
	}
	for _, tt := range tests {
		p, err := ParsePeriod(tt.in)
		if !tt.ok {
			assert.Error(t, err, "ParsePeriod(%q) should fail", tt.in)
			continue
		}
		if assert.NoError(t, err, "ParsePeriod(%q)", tt.in) {
			assert.Equal(t, tt.want, p, "ParsePeriod(%q)", tt.in)
		}
	}
	for _, p := range []Period{None, Daily, Weekly, Monthly} {
		back, err := ParsePeriod(p.String())
		assert.NoError(t, err, "ParsePeriod(%v.String())", p)
		assert.Equal(t, p, back, "String and ParsePeriod round trip")
	}
	assert.Equal(t, "Period(9)", Period(9).String(), "String of an unknown period")
}

func TestPeriodText(t *testing.T) {
	var v struct{ P Period }
	require.NoError(t, json.Unmarshal([]byte(`{"P":"weekly"}`), &v), "unmarshal a period")
	assert.Equal(t, Weekly, v.P, "UnmarshalText")
	b, err := json.Marshal(struct{ P Period }{Monthly})
	require.NoError(t, err, "marshal a period")
	assert.JSONEq(t, `{"P":"monthly"}`, string(b), "MarshalText")
	assert.Error(t, json.Unmarshal([]byte(`{"P":"hourly"}`), &v), "an unknown period is refused")
	_, err = json.Marshal(struct{ P Period }{Period(7)})
	assert.Error(t, err, "an invalid period is not marshalled")
}

func TestDirectionString(t *testing.T) {
	assert.Equal(t, "download", Download.String(), "Download")
	assert.Equal(t, "upload", Upload.String(), "Upload")
	assert.Equal(t, "Direction(5)", Direction(5).String(), "unknown direction")
}

func TestBurstFor(t *testing.T) {
	tests := []struct {
		rate int64
		want int
	}{
		{1, 1},                // tiny rates: at least one byte
		{4, 1},                // a quarter second's worth
		{1000, 250},           // a quarter second's worth, under 32 KiB
		{100 << 10, 25 << 10}, // 100 KiB/s: 25 KiB (a quarter second)
		{128 << 10, 32 << 10}, // 128 KiB/s: 32 KiB
		{200 << 10, 32 << 10}, // 200 KiB/s: floor of 32 KiB
		{1 << 20, 104857},     // 1 MiB/s: a tenth
		{10 << 20, 1 << 20},   // 10 MiB/s: a tenth, 1 MiB
		{1 << 30, 1 << 20},    // 1 GiB/s: capped at 1 MiB
	}
	for _, tt := range tests {
		b := burstFor(tt.rate)
		assert.Equal(t, tt.want, b, "burstFor(%d)", tt.rate)
		// The initial burst stays within 2.5% of 10 s of traffic.
		assert.LessOrEqual(t, float64(b), 0.025*10*float64(tt.rate)+1, "burst of %d B/s is small enough for 5%% accuracy", tt.rate)
	}
}

// TestNilTransferEnd: End on the nil Transfer of a user without a quota
// does nothing, so callers end every transfer the same way.
func TestNilTransferEnd(t *testing.T) {
	var tr *Transfer
	assert.NotPanics(t, tr.End, "End on a nil Transfer")
}
