package ftp

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// errLineTooLong is returned by lineReader.ReadLine for a control line
// longer than its limit. The caller answers 500 and closes the connection.
var errLineTooLong = errors.New("ftp: command line too long")

// Telnet command codes (RFC 854, "TELNET COMMAND STRUCTURE").
const (
	telnetSE   = 240 // end of subnegotiation
	telnetNOP  = 241
	telnetDM   = 242 // data mark, the Synch signal
	telnetIP   = 244 // interrupt process
	telnetAYT  = 246 // are you there
	telnetSB   = 250 // subnegotiation begins
	telnetWILL = 251
	telnetWONT = 252
	telnetDO   = 253
	telnetDONT = 254
	telnetIAC  = 255 // interpret as command
)

// telnetState is where the lineReader is inside a Telnet command.
type telnetState uint8

const (
	telnetData   telnetState = iota // ordinary data
	telnetCmd                       // after IAC
	telnetOpt                       // after IAC WILL/WONT/DO/DONT, the option is next
	telnetSub                       // inside IAC SB ... IAC SE
	telnetSubIAC                    // after IAC inside a subnegotiation
)

// lineReader reads the lines of an FTP control connection: Telnet NVT
// text (RFC 959 section 4.1.2 and RFC 854) ending in CRLF (RFC 959
// section 5.3). It returns lines without their end and never holds more
// than the bufio buffer plus one line of at most max bytes.
//
//   - A line ends at LF; the CR before it is removed. A bare LF is taken
//     as an end of line, as clients send it.
//   - A line may arrive in many Reads and many lines in one Read (RFC 1123
//     section 4.1.2.10); Telnet state carries over between Reads, even in
//     the middle of an IAC sequence.
//   - IAC IAC is one 0xFF data byte. IAC WILL x is refused with IAC DONT x
//     and IAC DO x with IAC WONT x, sent through reply; IAC WONT x and
//     IAC DONT x are dropped, as RFC 854 asks, so no negotiation can loop.
//     IAC SB ... IAC SE and every other two-byte command (IP, DM, AYT,
//     NOP, ...) are dropped, so "IAC IP IAC DM ABOR" (RFC 959 section
//     4.1.3) reads as "ABOR".
//   - An IAC followed by a byte below 0x80, which is no Telnet command, is
//     dropped and the byte kept as data. That is the Synch of RFC 959
//     section 4.1.3 when DM is sent as TCP urgent data and the socket
//     drops the urgent byte: "IAC IP IAC" then "ABOR" still reads "ABOR".
//   - CR NUL is a data CR (RFC 854, RFC 2640 section 3.1) and an LF right
//     after it is data, not an end of line, so "STOR a<CR><NUL><LF>b<CRLF>"
//     is one command naming "a<CR><LF>b" (which resolvePath then refuses).
//     Any other NUL is data; parseCommand refuses it.
type lineReader struct {
	br    *bufio.Reader
	max   int
	reply func([]byte) error

	line    []byte      // data bytes of the line being read
	state   telnetState // Telnet state, carried across Reads
	verb    byte        // WILL, WONT, DO or DONT, in state telnetOpt
	crLit   bool        // the last data byte is a CR received as such
	crNul   bool        // the last data byte is a CR received as CR NUL
	raw     int         // bytes consumed for the line, Telnet included
	discard bool        // the rest of an overlong line is being skipped
}

// newLineReader returns a lineReader reading from r that refuses lines
// longer than limit bytes, CRLF not counted (limit < 1 is taken as 1).
// reply, which may be nil, sends Telnet refusals back to the client; it is
// called from ReadLine with a fresh slice, and an error it returns is
// returned by ReadLine.
func newLineReader(r io.Reader, limit int, reply func([]byte) error) *lineReader {
	limit = min(max(limit, 1), 1<<30)
	size := min(limit+2, 4096)
	return &lineReader{br: bufio.NewReaderSize(r, size), max: limit, reply: reply}
}

// rawLimit bounds the raw bytes of a line, Telnet commands included, so a
// client cannot stream an endless subnegotiation or WILL storm as one
// line: twice max allows a line made only of IAC IAC pairs.
func (lr *lineReader) rawLimit() int { return 2*lr.max + 64 }

// ReadLine returns the next line without its CRLF. It returns io.EOF at
// the end of the stream; an unterminated last line is dropped. For a line
// over the limit it returns errLineTooLong as soon as the limit is passed,
// and a later call skips the rest of that line and goes on with the next
// one. Other read errors are returned as they are, keeping the partial
// line, so a call after a timeout carries on where the last one stopped.
// Where the reads split the stream never changes the lines, errors and
// replies.
func (lr *lineReader) ReadLine() (string, error) {
	for {
		if lr.br.Buffered() == 0 {
			if _, err := lr.br.Peek(1); err != nil {
				if err == io.EOF {
					lr.reset()
					lr.state, lr.discard = telnetData, false
				}
				return "", err
			}
		}
		buf, _ := lr.br.Peek(lr.br.Buffered())
		n, done, err := lr.scan(buf)
		lr.br.Discard(n)
		switch {
		case err != nil:
			return "", err
		case done && lr.discard:
			lr.discard = false
			lr.reset()
		case done:
			line := lr.line
			if lr.crLit {
				line = line[:len(line)-1]
			}
			s := string(line)
			lr.reset()
			return s, nil
		}
	}
}

// Buffered returns the number of bytes read from the connection and not
// yet returned: non-zero when the client has pipelined another command
// (or sent Telnet commands that will be dropped).
func (lr *lineReader) Buffered() int { return lr.br.Buffered() + len(lr.line) }

func (lr *lineReader) reset() {
	lr.line = lr.line[:0]
	lr.crLit, lr.crNul = false, false
	lr.raw = 0
}

// overflow starts skipping the current line and returns errLineTooLong.
// crLit and crNul stay: they still decide which LF ends the line.
func (lr *lineReader) overflow() error {
	lr.line = lr.line[:0]
	lr.raw = 0
	lr.discard = true
	return errLineTooLong
}

// count adds k consumed bytes to the raw count of the line.
func (lr *lineReader) count(k int) error {
	lr.raw += k
	if !lr.discard && lr.raw > lr.rawLimit() {
		return lr.overflow()
	}
	return nil
}

// addData appends data bytes to the line, checking the limit. A CR one
// past the limit is allowed for now: it may be the CR of the CRLF.
func (lr *lineReader) addData(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	lr.crNul = false
	lr.crLit = p[len(p)-1] == '\r'
	if lr.discard {
		return nil
	}
	n := len(lr.line) + len(p)
	if n > lr.max && !(n == lr.max+1 && lr.crLit) {
		return lr.overflow()
	}
	lr.line = append(lr.line, p...)
	return nil
}

// scan consumes bytes of buf until the end of a line (done), an error or
// the end of buf, and returns how many it consumed.
func (lr *lineReader) scan(buf []byte) (n int, done bool, err error) {
	for n < len(buf) {
		if lr.state == telnetData {
			// Fast path: take the run of data up to the next LF, IAC or NUL.
			seg := buf[n:]
			if i := bytes.IndexByte(seg, '\n'); i >= 0 {
				seg = seg[:i]
			}
			if i := bytes.IndexByte(seg, telnetIAC); i >= 0 {
				seg = seg[:i]
			}
			if i := bytes.IndexByte(seg, 0); i >= 0 {
				seg = seg[:i]
			}
			n += len(seg)
			if err := lr.addData(seg); err != nil {
				return n, false, err
			}
			if err := lr.count(len(seg)); err != nil {
				return n, false, err
			}
			if n == len(buf) {
				return n, false, nil
			}
		}
		c := buf[n]
		if lr.state == telnetCmd && c < 0x80 {
			// A lone IAC, no Telnet command: the DM after it went as TCP
			// urgent data and the socket dropped it. c is data.
			lr.state = telnetData
			continue
		}
		n++
		if lr.state == telnetData && c == '\n' && !lr.crNul {
			return n, true, nil
		}
		if err := lr.count(1); err != nil {
			return n, false, err
		}
		if err := lr.step(c); err != nil {
			return n, false, err
		}
		if lr.state == telnetSub {
			// Skip the subnegotiation up to its next IAC in one go.
			i := bytes.IndexByte(buf[n:], telnetIAC)
			if i < 0 {
				i = len(buf) - n
			}
			n += i
			if err := lr.count(i); err != nil {
				return n, false, err
			}
		}
	}
	return n, false, nil
}

// step handles one byte that is not plain data: the byte that ended a data
// run, or one inside a Telnet command.
func (lr *lineReader) step(c byte) error {
	switch lr.state {
	case telnetData:
		switch {
		case c == telnetIAC:
			lr.state = telnetCmd
		case c == 0 && lr.crLit:
			// CR NUL: keep the CR as data, drop the NUL. The CR may be
			// the one byte past the limit that addData let in.
			lr.crLit, lr.crNul = false, true
			if !lr.discard && len(lr.line) > lr.max {
				return lr.overflow()
			}
		default: // NUL, or LF after CR NUL
			return lr.addData([]byte{c})
		}
	case telnetCmd:
		lr.state = telnetData
		switch {
		case c == telnetIAC:
			return lr.addData([]byte{c})
		case c >= telnetWILL: // WILL, WONT, DO, DONT
			lr.verb, lr.state = c, telnetOpt
		case c == telnetSB:
			lr.state = telnetSub
		}
	case telnetOpt:
		lr.state = telnetData
		var ans byte
		switch lr.verb {
		case telnetWILL:
			ans = telnetDONT
		case telnetDO:
			ans = telnetWONT
		}
		if ans != 0 && lr.reply != nil {
			return lr.reply([]byte{telnetIAC, ans, c})
		}
	case telnetSub:
		if c == telnetIAC {
			lr.state = telnetSubIAC
		}
	case telnetSubIAC:
		lr.state = telnetSub
		if c == telnetSE {
			lr.state = telnetData
		}
	}
	return nil
}
