package ftp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
)

// passive opens a data connection: EPSV (RFC 2428 section 3), or PASV
// (RFC 959 section 4.1.2) when the server does not know EPSV. The
// connection goes to the control connection's peer whatever address a
// 227 reply names, so a server cannot direct the client to a third host
// (RFC 2577 section 3, and a NAT that rewrites nothing still works). The
// caller holds busy.
func (c *Client) passive(ctx context.Context) (net.Conn, error) {
	var port uint16
	if !c.noEPSV {
		code, text, err := c.cmd(ctx, "EPSV")
		if err != nil {
			return nil, err
		}
		switch code {
		case StatusExtendedPassiveMode:
			if port, err = parseEPSVReply(text); err != nil {
				return nil, fmt.Errorf("ftp: malformed EPSV reply %q", clipReply(text))
			}
		case StatusSyntaxError, StatusParameterSyntaxError, StatusNotImplemented, StatusProtocolNotSupported:
			c.noEPSV = true
		default:
			return nil, &Error{Code: code, Msg: text}
		}
	}
	if port == 0 {
		text, err := c.expectText(ctx, "PASV", StatusPassiveMode)
		if err != nil {
			return nil, err
		}
		if _, port, err = parsePASVReply(text); err != nil {
			return nil, fmt.Errorf("ftp: malformed PASV reply %q", clipReply(text))
		}
	}
	d := c.cfg.dialer
	if d == nil {
		d = &net.Dialer{Timeout: c.timeout()}
	}
	return d.DialContext(ctx, "tcp", net.JoinHostPort(c.host, strconv.Itoa(int(port))))
}

// transferConn is an open data transfer: the data connection after the
// 1xx reply, secured when PROT P is in force.
type transferConn struct {
	c       *Client
	dc      net.Conn
	stopCtx func() bool
}

// openTransfer opens a data connection and sends REST (when offset > 0,
// RFC 3659 section 5) and cmd, expecting 125 or 150. The caller holds
// busy until finish.
func (c *Client) openTransfer(ctx context.Context, cmd string, offset int64) (*transferConn, error) {
	dc, err := c.passive(ctx)
	if err != nil {
		return nil, err
	}
	t := &transferConn{c: c, dc: dc}
	t.stopCtx = context.AfterFunc(ctx, func() { dc.Close() })
	fail := func(err error) (*transferConn, error) {
		t.stopCtx()
		dc.Close()
		return nil, err
	}
	if offset > 0 {
		if err := c.expect(ctx, "REST "+strconv.FormatInt(offset, 10), StatusFileActionPending); err != nil {
			return fail(err)
		}
	}
	code, text, err := c.cmd(ctx, cmd)
	if err != nil {
		return fail(err)
	}
	if code != StatusFileStatusOK && code != StatusDataConnectionOpen {
		return fail(&Error{Code: code, Msg: text})
	}
	c.wmu.Lock()
	c.transferring, c.pendingNoops = true, 0
	c.wmu.Unlock()
	if c.prot {
		tc := tls.Client(dc, c.tlsConf)
		tc.SetDeadline(c.deadline(ctx))
		if err := tc.HandshakeContext(ctx); err != nil {
			t.finish(ctx, err)
			return nil, err
		}
		t.dc = tc
	}
	return t, nil
}

// copy moves the bytes of the transfer from src to dst in chunks,
// refreshing the data connection's deadline before each.
func (t *transferConn) copy(ctx context.Context, dst io.Writer, src io.Reader) (int64, error) {
	var n int64
	for {
		t.dc.SetDeadline(t.c.deadline(ctx))
		m, err := io.CopyN(dst, src, transferChunk)
		n += m
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return n, err
		}
	}
}

// finish closes the data connection and reads the transfer's final reply
// (226 or 250, RFC 959 section 4.2) and those of NOOPs sent meanwhile.
// A failed copy, xerr, is returned over the reply's error. When the copy
// failed the data connection is reset, so the server cannot take a
// partial upload for a whole one.
func (t *transferConn) finish(ctx context.Context, xerr error) error {
	c := t.c
	if xerr != nil {
		if tcp, ok := t.dc.(*net.TCPConn); ok {
			tcp.SetLinger(0)
		} else if tc, ok := t.dc.(*tls.Conn); ok {
			if tcp, ok := tc.NetConn().(*net.TCPConn); ok {
				tcp.SetLinger(0)
			}
		}
	}
	cerr := t.dc.Close()
	t.stopCtx()
	if xerr == nil && cerr != nil {
		xerr = cerr
	}
	c.wmu.Lock()
	c.transferring = false
	noops := c.pendingNoops > 0
	c.pendingNoops = 0
	c.wmu.Unlock()
	// Without NOOPs the next reply is the transfer's. With them, servers
	// differ: Ferry answers each NOOP at once with 200, others after the
	// transfer, or with 500 (Pure-FTPd, which takes no command during a
	// transfer and answers one 500 per read, not per line). So the
	// transfer's reply is the first that no NOOP gives (200, 500, 502),
	// and a PWD then resynchronises: everything before its 257 is
	// dropped.
	var final error
	for {
		code, text, err := c.readReply(ctx)
		if err != nil {
			return errors.Join(xerr, err)
		}
		if noops && (code == StatusOK || code == StatusSyntaxError || code == StatusNotImplemented) {
			continue
		}
		if code != StatusClosingDataConnection && code != StatusFileActionOK {
			final = &Error{Code: code, Msg: text}
		}
		break
	}
	if noops {
		if err := c.send(ctx, "PWD"); err != nil {
			return errors.Join(xerr, err)
		}
		for i := 0; ; i++ {
			code, _, err := c.readReply(ctx)
			if err != nil {
				return errors.Join(xerr, err)
			}
			if code != StatusOK && code != StatusSyntaxError && code != StatusNotImplemented {
				break // PWD's reply, 257 or whatever the server says
			}
			if i > 1000 {
				return errors.Join(xerr, c.fail(errors.New("ftp: replies out of step after NOOPs")))
			}
		}
	}
	if xerr != nil {
		return xerr
	}
	return final
}

// Retrieve downloads name into w: REST offset when offset > 0, then RETR
// (RFC 959 section 4.1.3, RFC 3659 section 5.3). It returns the bytes
// written to w. A context that ends stops the transfer and breaks the
// Client (see [Client]).
func (c *Client) Retrieve(ctx context.Context, name string, offset int64, w io.Writer) (int64, error) {
	if _, err := clientArg(name); err != nil {
		return 0, err
	}
	release, err := c.acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer release()
	t, err := c.openTransfer(ctx, "RETR "+name, offset)
	if err != nil {
		return 0, err
	}
	n, err := t.copy(ctx, w, t.dc)
	return n, t.finish(ctx, err)
}

// Store uploads r as name: REST offset when offset > 0, then STOR, so the
// server writes from that offset on (RFC 3659 section 5.4). It returns
// the bytes read from r. If reading r fails the data connection is reset
// and the error returned: the server then keeps at most a prefix of the
// file.
func (c *Client) Store(ctx context.Context, name string, offset int64, r io.Reader) (int64, error) {
	if _, err := clientArg(name); err != nil {
		return 0, err
	}
	release, err := c.acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer release()
	t, err := c.openTransfer(ctx, "STOR "+name, offset)
	if err != nil {
		return 0, err
	}
	n, err := t.copy(ctx, t.dc, r)
	return n, t.finish(ctx, err)
}
