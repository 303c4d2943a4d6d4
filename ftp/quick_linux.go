package ftp

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"github.com/ferryftp/ferry/quota"
)

// quickMax is the largest download quickRETR takes: it fits the smallest
// send buffer Linux gives a TCP socket by default (net.ipv4.tcp_wmem), so
// the whole file is normally handed to the kernel in one call. A variable
// for tests only.
var quickMax int64 = 16 << 10

// quickRETR is the fast path of a small download, the common case of a
// client fetching many small files: the client connected to the passive
// port before sending RETR, as clients do, the file is a small *os.File
// sent in TYPE I over plain TCP, and no speed limit applies. It sends the
// file from the command loop itself, without a transfer goroutine and
// without the Go network poller: the connection waiting in the listener's
// queue is accepted with a raw accept4, the file goes out with one
// sendfile under TCP_CORK, so that the data and the FIN leave in one
// segment when they fit, and the socket is closed. Only then are the
// preliminary and the final reply written, together: "150" and "226" in
// one write, which the client reads at once (RFC 959 section 5.4 orders
// the replies on the control connection; the data connection's bytes are
// already waiting in the client's socket when it reads "150").
//
// Nothing here can block: the accept and the socket are non-blocking, and
// a file reads from the page cache or the disk as SIZE and MDTM do. When
// the client's receive window cannot take the file at once, the 150 goes
// out first and the rest of the transfer continues in the ordinary way,
// with the transfer goroutine, ABOR, STAT and the data watchdog.
//
// It returns false, having done nothing, when the fast path does not
// apply; the caller then takes the ordinary one.
func (c *conn) quickRETR(virt string, f any, n int64, opening string, q *quota.Transfer) bool {
	if n > quickMax || c.protP || c.typ == typeASCII {
		return false
	}
	p, ok := c.data.(*passiveData)
	if !ok {
		return false
	}
	tl, ok := p.l.(*net.TCPListener)
	if !ok {
		return false
	}
	file, ok := f.(*os.File)
	if !ok {
		return false
	}
	if q != nil && (q.Limited() || (q.Remaining() >= 0 && q.Remaining() < n)) {
		return false
	}
	fd, ok := quickAccept(tl, p.client, p.log)
	if !ok {
		return false
	}
	// From here on, the transfer is this function's.
	start := time.Now()
	c.data = nil
	c.rest = 0
	c.xferStarted = true
	sent, err := quickSend(fd, file)
	if errors.Is(err, syscall.EAGAIN) {
		c.quickContinue(virt, file, fd, sent, p, opening, q)
		return true
	}
	syscall.Close(fd)
	var code int
	var msg string
	if err != nil {
		c.log.Debug("data connection lost", "verb", "RETR", "err", err)
		p.close()
		code, msg = StatusTransferAborted, "Data connection lost; transfer aborted."
	} else {
		c.log.Debug("transfer complete", "verb", "RETR", "path", virt, "bytes", sent)
		code, msg = StatusClosingDataConnection, "Transfer complete."
		c.keepSpare(p)
	}
	if q != nil {
		q.Add(sent) // within Remaining, checked above
		q.End()
	}
	file.Close()
	c.replies(StatusFileStatusOK, opening, code, msg)
	c.logAccess("RETR", virt, code, sent, 0, start)
	return true
}

// quickAccept accepts the connection waiting in l's queue, if there is one
// from the control client's address, as a raw non-blocking socket.
// Connections from other addresses are closed (see passiveData.open).
func quickAccept(l *net.TCPListener, client netip.Addr, log func(string, ...any)) (fd int, ok bool) {
	rc, err := l.SyscallConn()
	if err != nil {
		return -1, false
	}
	rc.Control(func(lfd uintptr) {
		for range 8 {
			nfd, sa, err := syscall.Accept4(int(lfd), syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
			if err != nil {
				return // EAGAIN: nobody waiting yet
			}
			// The zone of a link-local address is not in the
			// socket address; the address is what counts.
			if from := sockaddrAddr(sa); from != client.WithZone("") {
				log("foreign data connection refused", "from", from.String())
				syscall.Close(nfd)
				continue
			}
			fd, ok = nfd, true
			return
		}
	})
	return fd, ok
}

func sockaddrAddr(sa syscall.Sockaddr) netip.Addr {
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		return netip.AddrFrom4(sa.Addr)
	case *syscall.SockaddrInet6:
		return netip.AddrFrom16(sa.Addr).Unmap()
	}
	return netip.Addr{}
}

// quickSend corks the socket and sends file from its offset to its end.
// It stops with syscall.EAGAIN when the socket cannot take more now.
func quickSend(fd int, file *os.File) (int64, error) {
	if err := syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_CORK, 1); err != nil {
		return 0, err
	}
	rc, err := file.SyscallConn()
	if err != nil {
		return 0, err
	}
	var sent int64
	var serr error
	err = rc.Control(func(ffd uintptr) {
		for {
			n, err := syscall.Sendfile(fd, int(ffd), nil, 1<<20)
			if n > 0 {
				sent += int64(n)
			}
			switch {
			case errors.Is(err, syscall.EINTR):
				continue
			case err != nil:
				serr = err
				return
			case n == 0:
				return // the end of the file
			}
		}
	})
	if err != nil {
		return sent, err
	}
	return sent, serr
}

// quickContinue finishes a quickRETR whose client could not take the file
// at once: the socket becomes an ordinary connection and the rest of the
// file goes the ordinary way, after the 150.
func (c *conn) quickContinue(virt string, file *os.File, fd int, sent int64, p *passiveData, opening string, q *quota.Transfer) {
	p.close()
	f := os.NewFile(uintptr(fd), "data")
	nc, err := net.FileConn(f)
	f.Close()
	c.data = &openedData{nc: nc, err: err}
	c.startTransfer("RETR", virt, opening, q, func(ctx context.Context, t *transfer, dc net.Conn) error {
		t.bytes.Add(sent)
		if err := t.account(sent); err != nil {
			return err
		}
		return copyChunks(ctx, t, dc, file)
	}, func() { file.Close() })
}
