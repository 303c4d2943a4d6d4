package ftp

import (
	"bufio"
	"context"
	"errors"
	"io/fs"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ferryftp/ferry/vfs"
)

// Reply codes, named after RFC 959 section 4.2 unless another document is
// cited.
const (
	StatusRestartMarker         = 110 // 4.2.1
	StatusServiceReadyIn        = 120
	StatusDataConnectionOpen    = 125
	StatusFileStatusOK          = 150
	StatusOK                    = 200
	StatusSuperfluous           = 202
	StatusSystem                = 211
	StatusDirectory             = 212
	StatusFile                  = 213
	StatusHelp                  = 214
	StatusSystemType            = 215
	StatusServiceReady          = 220
	StatusClosing               = 221
	StatusDataConnectionIdle    = 225
	StatusClosingDataConnection = 226
	StatusPassiveMode           = 227
	StatusExtendedPassiveMode   = 229 // RFC 2428 section 3
	StatusLoggedIn              = 230
	StatusAuthOK                = 234 // RFC 2228 section 4
	StatusFileActionOK          = 250
	StatusPathCreated           = 257
	StatusNeedPassword          = 331
	StatusNeedAccount           = 332
	StatusFileActionPending     = 350
	StatusServiceNotAvailable   = 421
	StatusCannotOpenData        = 425
	StatusTransferAborted       = 426
	StatusFileActionNotTaken    = 450
	StatusLocalError            = 451
	StatusInsufficientStorage   = 452
	StatusSyntaxError           = 500
	StatusParameterSyntaxError  = 501
	StatusNotImplemented        = 502
	StatusBadSequence           = 503
	StatusParameterNotImpl      = 504
	StatusProtocolNotSupported  = 522 // RFC 2428 section 2
	StatusNotLoggedIn           = 530
	StatusNeedAccountForStoring = 532
	StatusFileUnavailable       = 550
	StatusPageTypeUnknown       = 551
	StatusExceededStorage       = 552
	StatusFileNameNotAllowed    = 553
)

// Error is an error with an FTP reply. A handler, or a plug-in such as an
// [Authenticator], returns one to choose the exact reply; the engine sends
// Code and Msg as they are.
type Error struct {
	Code int
	Msg  string
	Err  error // the cause, for logs; never sent
}

func (e *Error) Error() string {
	if e.Err != nil {
		return strconv.Itoa(e.Code) + " " + e.Msg + ": " + e.Err.Error()
	}
	return strconv.Itoa(e.Code) + " " + e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf is a shorthand for an [*Error] without a cause.
func errReply(code int, msg string) *Error { return &Error{Code: code, Msg: msg} }

// ErrQuotaExceeded is returned by plug-ins to refuse a transfer for a limit;
// the engine answers 552.
var ErrQuotaExceeded = errors.New("ftp: quota exceeded")

// errorReply maps err to the reply a client may see. Anything it does not
// recognise is logged by the caller and becomes a generic 451: no file-system
// text, no server path and no Go error ever reaches a client.
func errorReply(err error) (code int, msg string, known bool) {
	var fe *Error
	switch {
	case errors.As(err, &fe):
		return fe.Code, fe.Msg, true
	case errors.Is(err, ErrQuotaExceeded):
		return StatusExceededStorage, "Quota exceeded.", true
	case errors.Is(err, fs.ErrNotExist):
		return StatusFileUnavailable, "No such file or directory.", true
	case errors.Is(err, fs.ErrPermission):
		return StatusFileUnavailable, "Permission denied.", true
	case errors.Is(err, fs.ErrExist):
		return StatusFileUnavailable, "File exists.", true
	case errors.Is(err, syscall.ENOTDIR):
		// A path through a file ("a.txt/b"): the file is unavailable,
		// not a local error.
		return StatusFileUnavailable, "Not a directory.", true
	case errors.Is(err, vfs.ErrUnsupported):
		return StatusNotImplemented, "Not supported by this file system.", true
	case errors.Is(err, fs.ErrInvalid), errors.Is(err, errBadPath):
		return StatusFileNameNotAllowed, "File name not allowed.", true
	case errors.Is(err, context.Canceled):
		return StatusTransferAborted, "Transfer aborted.", true
	}
	return StatusLocalError, "Requested action aborted: local error in processing.", false
}

// replyWriter is the one writer of the control connection. It owns the
// mutex, the write deadline and the multi-line format of RFC 959 section
// 4.2: "NNN-first line", continuation lines, "NNN last line".
type replyWriter struct {
	mu      sync.Mutex // guards everything below
	nc      net.Conn
	bw      *bufio.Writer
	timeout time.Duration
	err     error // sticky: after a failed write the connection is dead
	last    int   // the code of the last reply, for the access log
}

// lastCode returns the code of the last reply written.
func (w *replyWriter) lastCode() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

func newReplyWriter(nc net.Conn, timeout time.Duration) *replyWriter {
	return &replyWriter{nc: nc, bw: bufio.NewWriterSize(nc, 1024), timeout: timeout}
}

// setConn swaps the connection under the writer (AUTH TLS, CCC).
func (w *replyWriter) setConn(nc net.Conn) {
	w.mu.Lock()
	w.nc = nc
	w.bw.Reset(nc)
	w.mu.Unlock()
}

// reply writes one reply. text may hold several lines separated by "\n";
// it is then sent in the multi-line form. Continuation lines that begin
// with a digit are indented by one space so no client mistakes them for the
// last line.
func (w *replyWriter) reply(code int, text string) error {
	return w.write(code, appendReply(nil, code, text))
}

// replies writes two replies in one write: the preliminary and the final
// reply of a transfer that is already over (see quickRETR).
func (w *replyWriter) replies(code1 int, text1 string, code2 int, text2 string) error {
	b := appendReply(nil, code1, text1)
	return w.write(code2, appendReply(b, code2, text2))
}

// write writes formatted replies, the last of them with code.
func (w *replyWriter) write(code int, b []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	w.last = code
	return w.writeLocked(b)
}

func (w *replyWriter) writeLocked(b []byte) error {
	if w.timeout > 0 {
		w.nc.SetWriteDeadline(time.Now().Add(w.timeout))
	}
	if _, err := w.bw.Write(b); err != nil {
		w.err = err
		return err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = err
		return err
	}
	return nil
}

// writeRaw writes bytes as they are (Telnet negotiation answers).
func (w *replyWriter) writeRaw(b []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	return w.writeLocked(b)
}

func appendReply(b []byte, code int, text string) []byte {
	text = strings.TrimRight(text, "\r\n")
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		line = sanitizeReplyLine(strings.TrimSuffix(line, "\r"))
		switch {
		case i == len(lines)-1:
			b = strconv.AppendInt(b, int64(code), 10)
			b = append(b, ' ')
		case i == 0:
			b = strconv.AppendInt(b, int64(code), 10)
			b = append(b, '-')
		case len(line) > 0 && line[0] >= '0' && line[0] <= '9':
			b = append(b, ' ')
		}
		b = append(b, line...)
		b = append(b, '\r', '\n')
	}
	return b
}

// sanitizeReplyLine drops bare CRs and NULs; a reply line can then never
// end early or smuggle a second reply.
func sanitizeReplyLine(s string) string {
	if !strings.ContainsAny(s, "\r\x00") {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == 0 {
			return -1
		}
		return r
	}, s)
}

// stream writes a multi-line reply whose middle lines come from body, one
// at a time, so a long status listing is never built in memory. Lines
// passed to emit must not hold CR or LF; each is sent indented by one space.
func (w *replyWriter) stream(code int, first, last string, body func(emit func(line []byte) error) error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	w.last = code
	c := strconv.Itoa(code)
	if w.timeout > 0 {
		w.nc.SetWriteDeadline(time.Now().Add(w.timeout))
	}
	w.bw.WriteString(c + "-" + sanitizeReplyLine(first) + "\r\n")
	err := body(func(line []byte) error {
		w.bw.WriteByte(' ')
		w.bw.Write(line)
		_, err := w.bw.WriteString("\r\n")
		return err
	})
	w.bw.WriteString(c + " " + sanitizeReplyLine(last) + "\r\n")
	if ferr := w.bw.Flush(); ferr != nil {
		w.err = ferr
		return ferr
	}
	return err
}
