package ftp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	tIAC  = "\xff"
	tWILL = "\xfb"
	tWONT = "\xfc"
	tDO   = "\xfd"
	tDONT = "\xfe"
)

// Two-byte Telnet commands of RFC 854.
var (
	tIP  = string([]byte{telnetIAC, telnetIP})
	tDM  = string([]byte{telnetIAC, telnetDM})
	tNOP = string([]byte{telnetIAC, telnetNOP})
	tAYT = string([]byte{telnetIAC, telnetAYT})
	tSB  = string([]byte{telnetIAC, telnetSB})
	tSE  = string([]byte{telnetIAC, telnetSE})
)

// chunkedReaders wrap a stream the ways TCP may cut it.
var chunkedReaders = []struct {
	name string
	wrap func(io.Reader) io.Reader
}{
	{"whole", func(r io.Reader) io.Reader { return r }},
	{"one byte", iotest.OneByteReader},
	{"half", iotest.HalfReader},
	{"data+EOF", iotest.DataErrReader},
}

// readLinesLog reads every line of r with a lineReader of the given limit
// and returns a log of lines, errors and replies in the order they
// happened.
func readLinesLog(r io.Reader, limit int) []string {
	var log []string
	lr := newLineReader(r, limit, func(p []byte) error {
		log = append(log, fmt.Sprintf("reply %q", p))
		return nil
	})
	for range 1000 {
		line, err := lr.ReadLine()
		switch {
		case err == io.EOF:
			return append(log, "EOF")
		case err != nil:
			log = append(log, "error "+err.Error())
			if !errors.Is(err, errLineTooLong) {
				return log
			}
		default:
			log = append(log, fmt.Sprintf("line %q", line))
		}
	}
	return append(log, "too many calls")
}

func lineLog(ls ...string) []string {
	log := make([]string, 0, len(ls)+1)
	for _, l := range ls {
		if strings.HasPrefix(l, "reply ") || strings.HasPrefix(l, "error ") {
			log = append(log, l)
		} else {
			log = append(log, fmt.Sprintf("line %q", l))
		}
	}
	return append(log, "EOF")
}

func TestLineReader(t *testing.T) {
	tooLong := "error " + errLineTooLong.Error()
	tests := []struct {
		name  string
		in    string
		limit int
		want  []string
	}{
		{"CRLF", "USER anonymous\r\n", 100, lineLog("USER anonymous")},
		{"bare LF", "USER a\nPASS b\n", 100, lineLog("USER a", "PASS b")},
		{"pipelined", "USER a\r\nPASS b\r\nNOOP\r\n", 100, lineLog("USER a", "PASS b", "NOOP")},
		{"empty lineLog", "\r\n\n", 100, lineLog("", "")},
		{"unterminated last line dropped", "NOOP\r\nQUIT", 100, lineLog("NOOP")},
		{"empty stream", "", 100, lineLog()},
		{"CR kept inside", "A\rB\r\n", 100, lineLog("A\rB")},
		{"double CR", "A\r\r\n", 100, lineLog("A\r")},
		{"NUL kept", "A\x00B\r\n", 100, lineLog("A\x00B")},
		{"UTF-8", "CWD 日本語\r\n", 100, lineLog("CWD 日本語")},
		{"IAC IP IAC DM ABOR", tIP + tDM + "ABOR\r\n", 100, lineLog("ABOR")},
		{"Synch with DM lost as urgent data", tIP + tIAC + "ABOR\r\n", 100, lineLog("ABOR")},
		{"lone IAC before CRLF", "NOOP" + tIAC + "\r\n", 100, lineLog("NOOP")},
		{"lone IAC before LF", "NOOP" + tIAC + "\n", 100, lineLog("NOOP")},
		{"IAC NOP AYT dropped", "NO" + tNOP + "OP" + tAYT + "\r\n", 100, lineLog("NOOP")},
		{"IAC IAC", "SITE " + tIAC + tIAC + "x\r\n", 100, lineLog("SITE \xffx")},
		{"WILL refused", tIAC + tWILL + "\x18NOOP\r\n", 100, lineLog(`reply "\xff\xfe\x18"`, "NOOP")},
		{"DO refused", tIAC + tDO + "\x01NOOP\r\n", 100, lineLog(`reply "\xff\xfc\x01"`, "NOOP")},
		{"WONT DONT dropped", tIAC + tWONT + "\x01" + tIAC + tDONT + "\x01NOOP\r\n", 100, lineLog("NOOP")},
		{"option 10 is not LF", tIAC + tWILL + "\nNO" + tIAC + tDO + "\rOP\r\n", 100,
			lineLog(`reply "\xff\xfe\n"`, `reply "\xff\xfc\r"`, "NOOP")},
		{"option 255", tIAC + tDO + tIAC + "NOOP\r\n", 100, lineLog(`reply "\xff\xfc\xff"`, "NOOP")},
		{"replies in stream order", "A\r\n" + tIAC + tWILL + "\x03B\r\n", 100,
			lineLog("A", `reply "\xff\xfe\x03"`, "B")},
		{"subnegotiation dropped", "NO" + tSB + "\x18\x01\r\n" + tIAC + tIAC + "x" + tSE + "OP\r\n", 100, lineLog("NOOP")},
		{"IAC between CR and LF", "NOOP\r" + tNOP + "\n", 100, lineLog("NOOP")},
		{"CR NUL LF in a path", "STOR a\r\x00\nb\r\n", 100, lineLog("STOR a\r\nb")},
		{"CR NUL CRLF", "X\r\x00\r\n", 100, lineLog("X\r")},
		{"CR NUL NUL", "X\r\x00\x00\r\n", 100, lineLog("X\r\x00")},
		{"exactly the limit", "0123456789\r\n", 10, lineLog("0123456789")},
		{"exactly the limit, bare LF", "0123456789\n", 10, lineLog("0123456789")},
		{"one over the limit", "0123456789A\r\nNOOP\r\n", 10, lineLog(tooLong, "NOOP")},
		{"CR over the limit", "0123456789\r\rNOOP\r\n", 10, lineLog(tooLong)},
		{"CR NUL over the limit", "0123456789\r\x00\nNOOP\r\nQUIT\r\n", 10, lineLog(tooLong, "QUIT")},
		{"far over the limit", strings.Repeat("x", 10000) + "\r\nNOOP\r\n", 10, lineLog(tooLong, "NOOP")},
		{"over the limit then Telnet", strings.Repeat("x", 20) + tIAC + tWILL + "\x01y\r\nNOOP\r\n", 10,
			lineLog(tooLong, `reply "\xff\xfe\x01"`, "NOOP")},
		{"IAC IAC counts once", strings.Repeat(tIAC+tIAC, 10) + "\r\n", 10, lineLog(strings.Repeat("\xff", 10))},
		{"NOP storm", strings.Repeat(tNOP, 100) + "NOOP\r\nQUIT\r\n", 10, lineLog(tooLong, "QUIT")},
		{"endless subnegotiation", tSB + strings.Repeat("x\r\n", 100), 10, lineLog(tooLong)},
		{"limit below 1", "\r\nA\r\n", 0, lineLog("", "A")},
	}
	for _, tt := range tests {
		for _, k := range chunkedReaders {
			t.Run(tt.name+"/"+k.name, func(t *testing.T) {
				got := readLinesLog(k.wrap(strings.NewReader(tt.in)), tt.limit)
				assert.Equal(t, tt.want, got, "lines, errors and replies of %q", tt.in)
			})
		}
	}
}

func TestLineReaderBuffered(t *testing.T) {
	lr := newLineReader(strings.NewReader("USER a\r\nPASS b\r\n"), 100, nil)
	line, err := lr.ReadLine()
	require.NoError(t, err)
	assert.Equal(t, "USER a", line)
	assert.Equal(t, len("PASS b\r\n"), lr.Buffered(), "the pipelined PASS should be buffered")
	line, err = lr.ReadLine()
	require.NoError(t, err)
	assert.Equal(t, "PASS b", line)
	assert.Zero(t, lr.Buffered(), "nothing should be left after the last line")
	_, err = lr.ReadLine()
	assert.ErrorIs(t, err, io.EOF)
	_, err = lr.ReadLine()
	assert.ErrorIs(t, err, io.EOF, "EOF should repeat")
}

// erringReader returns its data in parts with an error between them.
type erringReader struct {
	parts []string
	err   error
}

func (r *erringReader) Read(p []byte) (int, error) {
	if len(r.parts) == 0 {
		return 0, io.EOF
	}
	s := r.parts[0]
	r.parts = r.parts[1:]
	if s == "" {
		return 0, r.err
	}
	return copy(p, s), nil
}

func TestLineReaderErrorKeepsPartialLine(t *testing.T) {
	timeout := errors.New("i/o timeout")
	r := &erringReader{parts: []string{"RE", tIAC, "", tDO + "\x05TR a\r", "", "\nNOOP\r\n"}, err: timeout}
	var replies [][]byte
	lr := newLineReader(r, 100, func(p []byte) error { replies = append(replies, p); return nil })
	_, err := lr.ReadLine()
	assert.ErrorIs(t, err, timeout, "the first read error should be returned")
	_, err = lr.ReadLine()
	assert.ErrorIs(t, err, timeout, "the second read error should be returned")
	line, err := lr.ReadLine()
	require.NoError(t, err)
	assert.Equal(t, "RETR a", line, "the line should survive the errors, mid-IAC and mid-CRLF")
	assert.Equal(t, [][]byte{{0xff, 0xfc, 0x05}}, replies)
	line, err = lr.ReadLine()
	require.NoError(t, err)
	assert.Equal(t, "NOOP", line)
}

func TestLineReaderReplyError(t *testing.T) {
	broken := errors.New("broken pipe")
	lr := newLineReader(strings.NewReader(tIAC+tWILL+"\x01NOOP\r\n"), 100, func([]byte) error { return broken })
	_, err := lr.ReadLine()
	assert.ErrorIs(t, err, broken, "a failed Telnet reply should end ReadLine")
	line, err := lr.ReadLine()
	require.NoError(t, err)
	assert.Equal(t, "NOOP", line, "reading can go on after the failed reply")
}

func TestLineReaderAllocs(t *testing.T) {
	in := strings.Repeat("RETR some/file.txt\r\n", 2000)
	lr := newLineReader(strings.NewReader(in), 512, nil)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := lr.ReadLine(); err != nil {
			t.Fatal(err)
		}
	})
	assert.LessOrEqual(t, allocs, 1.0, "a line should cost at most its string")
}

func FuzzLineReader(f *testing.F) {
	f.Add([]byte("USER a\r\nPASS b\nNOOP"), 8)
	f.Add([]byte(tIP+tDM+"ABOR\r\n"), 10)
	f.Add([]byte(tIAC+tWILL+"\n"+tIAC+tDO+tIAC+tIAC+tIAC+"\r\n"), 3)
	f.Add([]byte("a\r\x00\nb\r\x00\r\n0123456789\r\n"), 4)
	f.Add([]byte(tSB+"\x01"+tIAC+tIAC+"\n"+tSE+"x\n"), 1)
	f.Fuzz(func(t *testing.T, in []byte, limit int) {
		limit = 1 + (limit&0x7fffffff)%64
		var want []string
		for i, k := range chunkedReaders {
			var log []string
			lr := newLineReader(k.wrap(bytes.NewReader(in)), limit, func(p []byte) error {
				log = append(log, fmt.Sprintf("reply %q", p))
				return nil
			})
			for range len(in) + 2 {
				line, err := lr.ReadLine()
				if err != nil && !errors.Is(err, errLineTooLong) {
					if err != io.EOF {
						t.Fatalf("%s: unexpected error %v", k.name, err)
					}
					break
				}
				if len(line) > limit {
					t.Fatalf("%s: line of %d bytes over the limit %d", k.name, len(line), limit)
				}
				log = append(log, fmt.Sprintf("line %q %v", line, err))
			}
			if i == 0 {
				want = log
			} else if !slices.Equal(want, log) {
				t.Fatalf("%s reads give\n%q\nwhole reads give\n%q", k.name, log, want)
			}
		}
	})
}
