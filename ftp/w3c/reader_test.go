package w3c

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// logFile is a W3C extended log file read back independently of the
// writer, as an analyser reads it (WD-logfile-960323): directives, then
// entries whose fields are named by the #Fields directive before them.
type logFile struct {
	Directives []directive
	Entries    []entry
}

type directive struct{ Name, Value string }

// entry is one entry line: its values and the field names of the #Fields
// directive before it.
type entry struct {
	index  map[string]int
	values []string
}

// get returns a field, failing the test if the entry does not have it.
func (e entry) get(t testing.TB, field string) string {
	t.Helper()
	i, ok := e.index[field]
	require.True(t, ok, "entry %v has no field %q", e.values, field)
	return e.values[i]
}

// text returns a text field decoded: "-" is empty, %XX a byte.
func (e entry) text(t testing.TB, field string) string {
	t.Helper()
	v := e.get(t, field)
	if v == "-" {
		return ""
	}
	s, err := url.PathUnescape(v)
	require.NoError(t, err, "field %s = %q must be %%-escaped", field, v)
	return s
}

// directive returns the values of the directives called name, in order.
func (f *logFile) directive(name string) []string {
	var vs []string
	for _, d := range f.Directives {
		if d.Name == name {
			vs = append(vs, d.Value)
		}
	}
	return vs
}

// parseLog reads a file, checking the draft's rules: Version and Fields come
// before every entry, an entry has one value per field, no line holds a
// control character or a byte above 0x7F ("Entries must not contain any
// ASCII control characters"; lines are ASCII).
func parseLog(t testing.TB, path string) *logFile {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err, "read %s", path)
	return parseLogText(t, string(data))
}

func parseLogText(t testing.TB, text string) *logFile {
	t.Helper()
	f := &logFile{}
	scanLog(t, text, func(d *directive, e *entry) {
		if d != nil {
			f.Directives = append(f.Directives, *d)
		} else {
			f.Entries = append(f.Entries, *e)
		}
	})
	return f
}

// scanLog calls fn with each directive or entry of text in turn. It calls
// require only on failure: it reads files of 100,000 lines.
func scanLog(t testing.TB, text string, fn func(d *directive, e *entry)) {
	t.Helper()
	var index map[string]int
	version := false
	for n := 1; text != ""; n++ {
		line, rest, ok := strings.Cut(text, "\n")
		if !ok {
			require.Failf(t, "unterminated line", "line %d: %q has no end of line", n, line)
		}
		text = rest
		line = strings.TrimSuffix(line, "\r")
		for i := 0; i < len(line); i++ {
			if c := line[i]; c < 0x20 || c >= 0x7F {
				require.Failf(t, "bad byte", "line %d: byte %#x must not appear: %q", n, c, line)
			}
		}
		if strings.HasPrefix(line, "#") {
			name, value, ok := strings.Cut(line[1:], ":")
			require.True(t, ok, "line %d: a directive is #Name: value: %q", n, line)
			d := directive{Name: name, Value: strings.TrimPrefix(value, " ")}
			switch d.Name {
			case "Version":
				require.Equal(t, "1.0", d.Value, "line %d: #Version", n)
				version = true
			case "Fields":
				index = map[string]int{}
				for i, f := range strings.Fields(d.Value) {
					index[f] = i
				}
			}
			fn(&d, nil)
			continue
		}
		if !version || index == nil {
			require.Failf(t, "entry before directives", "line %d: an entry before #Version and #Fields: %q", n, line)
		}
		values := strings.Split(line, " ")
		if len(values) != len(index) {
			require.Failf(t, "field count", "line %d: %q has %d values for %d fields", n, line, len(values), len(index))
		}
		for i, v := range values {
			if v == "" {
				require.Failf(t, "empty field", "line %d: value %d is empty (two spaces): %q", n, i, line)
			}
		}
		fn(nil, &entry{index: index, values: values})
	}
}

// String shows a parsed file in failure messages.
func (f *logFile) String() string {
	var b strings.Builder
	for _, d := range f.Directives {
		fmt.Fprintf(&b, "#%s: %s\n", d.Name, d.Value)
	}
	for _, e := range f.Entries {
		fmt.Fprintln(&b, strings.Join(e.values, " "))
	}
	return b.String()
}
