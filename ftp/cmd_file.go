package ftp

import (
	"bufio"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"strconv"
	"time"

	"github.com/ferryftp/ferry/acl"
	"github.com/ferryftp/ferry/vfs"
)

// MKD, RFC 959 4.1.3 and Appendix II: 257 with the quoted new path.
func (c *conn) cmdMKD(arg string) error {
	virt, name, err := c.resolve(arg)
	if err != nil {
		return err
	}
	if name == "." {
		return errReply(StatusFileUnavailable, "File exists.")
	}
	if err := c.allowIn(virt, acl.Mkdir); err != nil {
		return err
	}
	if err := vfs.Mkdir(c.ctx, c.user.FS, name, 0o755); err != nil {
		return err
	}
	return c.reply(StatusPathCreated, quotePath(virt)+" directory created.")
}

// RMD, RFC 959 4.1.3.
// The right is Remove directory in the directory itself.
func (c *conn) cmdRMD(arg string) error {
	virt, name, err := c.resolve(arg)
	if err != nil {
		return err
	}
	if name == "." {
		return errReply(StatusFileUnavailable, "Can't remove the root directory.")
	}
	if err := c.allow(virt, acl.Rmdir); err != nil {
		return err
	}
	fi, err := c.user.FS.Stat(c.ctx, name)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return errReply(StatusFileUnavailable, "Not a directory.")
	}
	if err := vfs.Remove(c.ctx, c.user.FS, name); err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, vfs.ErrUnsupported) || errors.Is(err, fs.ErrPermission) {
			return err
		}
		c.log.Debug("rmd failed", "err", err)
		return errReply(StatusFileUnavailable, "Directory not empty or not removable.")
	}
	return c.reply(StatusFileActionOK, "Directory removed.")
}

// DELE, RFC 959 4.1.3.
func (c *conn) cmdDELE(arg string) error {
	virt, name, err := c.resolve(arg)
	if err != nil {
		return err
	}
	if err := c.allowIn(virt, acl.Delete); err != nil {
		return err
	}
	fi, err := c.user.FS.Stat(c.ctx, name)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err == nil && fi.IsDir() {
		return errReply(StatusFileUnavailable, "Is a directory; use RMD.")
	}
	if err := vfs.Remove(c.ctx, c.user.FS, name); err != nil {
		return err
	}
	if fi != nil {
		c.releaseDir(virt, fi.Size())
	}
	return c.reply(StatusFileActionOK, "File deleted.")
}

// RNFR, RFC 959 4.1.3.
// The right is Rename in the file's directory, or for a directory in the
// directory itself.
func (c *conn) cmdRNFR(arg string) error {
	virt, name, err := c.resolve(arg)
	if err != nil {
		return err
	}
	if name == "." {
		return errReply(StatusFileUnavailable, "Can't rename the root directory.")
	}
	fi, err := c.user.FS.Stat(c.ctx, name)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		if err := c.allow(virt, acl.Rename); err != nil {
			return err
		}
	} else if err := c.allowIn(virt, acl.Rename); err != nil {
		return err
	}
	c.renameFrom = name
	return c.reply(StatusFileActionPending, "File exists, ready for destination name.")
}

// RNTO, RFC 959 4.1.3: 503 unless right after RNFR.
func (c *conn) cmdRNTO(arg string) error {
	from := c.renameFrom
	c.renameFrom = ""
	if from == "" {
		return errReply(StatusBadSequence, "RNFR required first.")
	}
	virt, name, err := c.resolve(arg)
	if err != nil {
		return err
	}
	if name == "." {
		return errReply(StatusFileNameNotAllowed, "File name not allowed.")
	}
	want := acl.Rename
	fi, serr := c.user.FS.Stat(c.ctx, name)
	if serr != nil && !errors.Is(serr, fs.ErrNotExist) {
		// A name that cannot be examined (a link leading outside the
		// tree) is not replaced, as STOR and DELE refuse it.
		return serr
	}
	if serr == nil && !fi.IsDir() {
		// Replacing a file deletes it.
		want |= acl.Delete
	}
	if err := c.allowIn(virt, want); err != nil {
		return err
	}
	if serr == nil && fi.IsDir() {
		// A directory moved onto an empty one replaces it (rename(2)):
		// that removes the target, whose right is in itself, as for RMD.
		if err := c.allow(virt, acl.Rmdir); err != nil {
			return err
		}
	}
	moved, err := c.reserveMove("/"+from, virt)
	if err != nil {
		return err
	}
	if err := vfs.Rename(c.ctx, c.user.FS, from, name); err != nil {
		moved(false)
		return err
	}
	moved(true)
	return c.reply(StatusFileActionOK, "Rename successful.")
}

// statFile stats a plain file for SIZE, MDTM and HASH.
func (c *conn) statFile(arg string) (name string, fi fs.FileInfo, err error) {
	virt, name, err := c.resolve(arg)
	if err != nil {
		return "", nil, err
	}
	if err := c.allowIn(virt, acl.Get); err != nil {
		return "", nil, err
	}
	fi, err = c.user.FS.Stat(c.ctx, name)
	if err != nil {
		return "", nil, err
	}
	if !fi.Mode().IsRegular() {
		return "", nil, errReply(StatusFileUnavailable, "Not a plain file.")
	}
	return name, fi, nil
}

// maxASCIISizeScan bounds the file that SIZE scans in TYPE A.
const maxASCIISizeScan = 64 << 20

// SIZE, RFC 3659 section 4: the octets a RETR would send in the current
// TYPE.
func (c *conn) cmdSIZE(arg string) error {
	name, fi, err := c.statFile(arg)
	if err != nil {
		return err
	}
	size := fi.Size()
	if c.typ == typeASCII {
		if size > maxASCIISizeScan {
			return errReply(StatusFileUnavailable, "SIZE not available in ASCII mode for large files; use TYPE I.")
		}
		if size, err = c.asciiSize(name); err != nil {
			return err
		}
	}
	return c.reply(StatusFile, strconv.FormatInt(size, 10))
}

// asciiSize counts the bytes of the file as TYPE A sends it: every bare LF
// becomes CRLF.
func (c *conn) asciiSize(name string) (int64, error) {
	f, err := c.user.FS.Open(c.ctx, name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var n int64
	w := newASCIIWriter(writerFunc(func(p []byte) (int, error) { n += int64(len(p)); return len(p), nil }))
	if _, err := io.Copy(w, f); err != nil {
		return 0, err
	}
	return n, nil
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// MDTM, RFC 3659 section 3.
func (c *conn) cmdMDTM(arg string) error {
	_, fi, err := c.statFile(arg)
	if err != nil {
		return err
	}
	return c.reply(StatusFile, formatTime(fi.ModTime()))
}

// MFMT, draft-somers-ftp-mfxx section 3: "213 Modify=YYYYMMDDHHMMSS; path".
func (c *conn) cmdMFMT(arg string) error {
	t, p, err := parseMFMT(arg)
	if err != nil {
		return errReply(StatusParameterSyntaxError, "Syntax error: MFMT YYYYMMDDHHMMSS pathname.")
	}
	virt, name, err := c.resolve(p)
	if err != nil {
		return err
	}
	if err := c.allowIn(virt, acl.Put); err != nil {
		return err
	}
	if _, err := c.user.FS.Stat(c.ctx, name); err != nil {
		return err
	}
	if err := vfs.Chtimes(c.ctx, c.user.FS, name, time.Time{}, t); err != nil {
		return err
	}
	return c.reply(StatusFile, "Modify="+formatTime(t)+"; "+p)
}

// HASH, draft-bryan-ftpext-hash section 3: the digest is computed by
// streaming the file through the algorithm chosen with OPTS HASH.
func (c *conn) cmdHASH(arg string) error {
	name, fi, err := c.statFile(arg)
	if err != nil {
		return err
	}
	f, err := c.user.FS.Open(c.ctx, name)
	if err != nil {
		return err
	}
	defer f.Close()
	h := c.hash.new()
	if _, err := io.Copy(h, bufio.NewReaderSize(f, 64<<10)); err != nil {
		return err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	return c.reply(StatusFile, c.hash.String()+" 0-"+strconv.FormatInt(fi.Size(), 10)+" "+sum+" "+arg)
}
