package ftp

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"net"
	"path"
	"strconv"

	"github.com/ferryftp/ferry/acl"
	"github.com/ferryftp/ferry/quota"
	"github.com/ferryftp/ferry/vfs"
)

// RETR, RFC 959 4.1.3; with REST, RFC 3659 section 5.
func (c *conn) cmdRETR(arg string) error {
	virt, name, err := c.resolve(arg)
	if err != nil {
		return err
	}
	if err := c.allowIn(virt, acl.Get); err != nil {
		return err
	}
	f, err := c.user.FS.Open(c.ctx, name)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	if fi.IsDir() {
		f.Close()
		return errReply(StatusFileUnavailable, "Not a plain file.")
	}
	offset := c.rest
	if offset > 0 {
		if offset > fi.Size() {
			f.Close()
			c.rest = 0
			return errReply(StatusFileUnavailable, "Restart offset beyond end of file.")
		}
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			f.Close()
			return err
		}
	}
	q, err := c.beginQuota(quota.Download, fi.Size()-offset)
	if err != nil {
		f.Close()
		return err
	}
	ascii := c.typ == typeASCII
	opening := "Opening " + c.typ.modeName() + " mode data connection for " + path.Base(virt) +
		" (" + strconv.FormatInt(fi.Size()-offset, 10) + " bytes)."
	if c.quickRETR(virt, f, fi.Size()-offset, opening, q) {
		return nil
	}
	c.startTransfer("RETR", virt, opening, q, func(ctx context.Context, t *transfer, dc net.Conn) error {
		if ascii {
			bw := bufio.NewWriterSize(dc, 64<<10)
			if err := copyBuffered(ctx, t, newASCIIWriter(bw), f, false); err != nil {
				return err
			}
			if err := bw.Flush(); err != nil {
				return &dataError{err}
			}
			return nil
		}
		if _, plain := dc.(*net.TCPConn); plain {
			// The fast path: *net.TCPConn and the file as the
			// backend returned it, so an *os.File meets sendfile.
			return copyChunks(ctx, t, dc, f)
		}
		return copyBuffered(ctx, t, dc, f, false)
	}, func() { f.Close() })
	return nil
}

// STOR, RFC 959 4.1.3.
func (c *conn) cmdSTOR(arg string) error { return c.store(arg, false) }

// APPE, RFC 959 4.1.3.
func (c *conn) cmdAPPE(arg string) error { return c.store(arg, true) }

func (c *conn) store(arg string, appendMode bool) error {
	virt, name, err := c.resolve(arg)
	if err != nil {
		return err
	}
	if name == "." {
		return errReply(StatusFileNameNotAllowed, "File name not allowed.")
	}
	offset := c.rest
	flag := vfs.O_WRONLY | vfs.O_CREATE
	switch {
	case offset > 0:
		// REST then STOR or APPE: write from the offset on (RFC 3659
		// section 5.5).
	case appendMode:
		flag |= vfs.O_APPEND
	default:
		flag |= vfs.O_TRUNC
	}
	fi, err := c.user.FS.Stat(c.ctx, name)
	switch {
	case err == nil && fi.IsDir():
		return errReply(StatusFileUnavailable, "Is a directory.")
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return err
	case offset > 0 && (err != nil || offset > fi.Size()):
		// Checked before the open, which would create the file (RFC
		// 3659 section 5.3: the error comes with the transfer command).
		c.rest = 0
		return errReply(StatusFileUnavailable, "Restart offset beyond end of file.")
	}
	exists := err == nil
	if err := c.allowIn(virt, storeRights(exists, appendMode, offset)); err != nil {
		return err
	}
	var oldSize int64
	if exists {
		oldSize = fi.Size()
	}
	q, err := c.beginQuota(quota.Upload, -1)
	if err != nil {
		return err
	}
	started := false
	defer func() {
		if !started {
			q.End() // refused before the transfer
		}
	}()
	// Before the open: the tree is measured with an overwritten file's
	// old content, which release then gives back.
	wrap, release, err := c.limitWriter(path.Dir(virt))
	if err != nil {
		return err
	}
	f, err := vfs.OpenFile(c.ctx, c.user.FS, name, flag, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if !started {
			f.Close()
		}
	}()
	fw, ok := f.(io.Writer)
	if !ok {
		return errReply(StatusFileUnavailable, "File not writable.")
	}
	w := wrap(fw)
	switch {
	case flag&vfs.O_TRUNC != 0:
		release(oldSize) // the old content is gone
	case offset > 0:
		release(oldSize - offset) // truncated at the restart marker below
	}
	if offset > 0 {
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			return err
		}
		// RFC 3659 section 5.3: with a restart marker, APPE MUST act
		// identically to STOR.
		if tr, ok := f.(interface{ Truncate(int64) error }); ok {
			if err := tr.Truncate(offset); err != nil {
				return err
			}
		}
	}
	verb := "STOR"
	if appendMode {
		verb = "APPE"
	}
	opening := "Opening " + c.typ.modeName() + " mode data connection for " + path.Base(virt) + "."
	started = true // the transfer ends the quota and closes the file
	c.startTransfer(verb, virt, opening, q, c.receive(w, c.typ == typeASCII), func() {
		if err := f.Close(); err != nil {
			c.log.Error("closing uploaded file", "path", virt, "err", err)
		}
	})
	return nil
}

// storeRights are the rights an upload needs in its directory: Put for a
// new file or a resumed one (REST), Put and Delete to overwrite a file,
// Append to append to one (and Put too when APPE creates it).
func storeRights(exists, appendMode bool, offset int64) acl.Right {
	switch {
	case appendMode && offset == 0 && exists:
		return acl.Append
	case appendMode && offset == 0:
		return acl.Append | acl.Put
	case exists && offset == 0:
		return acl.Put | acl.Delete
	}
	return acl.Put
}

// receive returns the transfer body of STOR, STOU and APPE.
func (c *conn) receive(w io.Writer, ascii bool) xferFunc {
	return func(ctx context.Context, t *transfer, dc net.Conn) error {
		if ascii {
			return copyBuffered(ctx, t, w, newASCIIReader(dc), true)
		}
		if _, plain := dc.(*net.TCPConn); plain {
			// An *os.File reading from a *net.TCPConn splices.
			err := copyChunks(ctx, t, w, dc)
			if err != nil && isDataError(err) {
				return &dataError{err}
			}
			return err
		}
		return copyBuffered(ctx, t, w, dc, true)
	}
}

// STOU, RFC 959 4.1.3, with the reply of RFC 1123 section 4.1.2.9:
// "150 FILE: pppp".
func (c *conn) cmdSTOU(arg string) error {
	// RFC 959 4.1.3: the file is created in the current directory, or
	// in the directory the argument names, or next to the file it names.
	virt, dir, err := c.resolve(arg)
	if err != nil {
		return err
	}
	base := "ftp"
	if arg != "" {
		if fi, err := c.user.FS.Stat(c.ctx, dir); err != nil || !fi.IsDir() {
			dir, base = path.Dir(dir), path.Base(virt)
		}
	}
	if err := c.allow(path.Join("/", dir), acl.Put); err != nil {
		return err
	}
	// The limits refuse before the file is created.
	wrap, _, err := c.limitWriter(path.Join("/", dir))
	if err != nil {
		return err
	}
	q, err := c.beginQuota(quota.Upload, -1)
	if err != nil {
		return err
	}
	started := false
	defer func() {
		if !started {
			q.End() // refused before the transfer
		}
	}()
	var f vfs.File
	var name string
	for range 10 {
		var rnd [4]byte
		rand.Read(rnd[:])
		name = path.Join(dir, base+"."+hex.EncodeToString(rnd[:]))
		var err error
		f, err = vfs.OpenFile(c.ctx, c.user.FS, name, vfs.O_WRONLY|vfs.O_CREATE|vfs.O_EXCL, 0o644)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) {
			return err
		}
		f = nil
	}
	if f == nil {
		return errReply(StatusFileNameNotAllowed, "Could not create a unique file name.")
	}
	w, ok := f.(io.Writer)
	if !ok {
		f.Close()
		return errReply(StatusFileUnavailable, "File not writable.")
	}
	c.rest = 0
	// RFC 1123 4.1.2.9: the reply names the file so that the client can
	// use the name: relative in the current directory, absolute elsewhere.
	virt = "/" + name
	shown := path.Base(name)
	if path.Dir(virt) != c.cwd {
		shown = virt
	}
	started = true // the transfer ends the quota
	c.startTransfer("STOU", virt, "FILE: "+shown, q, c.receive(wrap(w), c.typ == typeASCII), func() { f.Close() })
	return nil
}

// ALLO, RFC 959 4.1.3: no storage needs reserving here.
func (c *conn) cmdALLO(string) error {
	return c.reply(StatusSuperfluous, "ALLO command ignored.")
}

// REST, RFC 3659 section 5 (stream mode).
func (c *conn) cmdREST(arg string) error {
	n, err := parseRest(arg)
	if err != nil {
		return errReply(StatusParameterSyntaxError, "Invalid restart position.")
	}
	c.rest = n
	return c.replyf(StatusFileActionPending, "Restarting at %d. Send STORE or RETRIEVE.", n)
}

// ABOR, RFC 959 4.1.3: 426 for the transfer, then 226.
func (c *conn) cmdABOR(string) error {
	c.xferMu.Lock()
	t := c.xfer
	c.xferMu.Unlock()
	if t == nil {
		c.closeData()
		return c.reply(StatusClosingDataConnection, "No transfer to abort.")
	}
	t.abort()
	<-t.done
	c.closeData() // a transfer that ended just before leaves a spare listener
	return c.reply(StatusClosingDataConnection, "ABOR command successful.")
}
