package ftp

import (
	"bufio"
	"context"
	"io"
	"io/fs"
	"net"
	"path"
	"strings"

	"github.com/ferryftp/ferry/vfs"
)

// listBatch is how many directory entries are read at a time: a listing
// streams, whatever the size of the directory.
const listBatch = 256

// listFormat is the form of one listing line.
type listFormat uint8

const (
	formatLIST listFormat = iota // ls -l
	formatNLST                   // names only
	formatMLSD                   // RFC 3659 facts
)

// LIST, RFC 959 4.1.3, in `ls -l` form. Flags such as -a and -l are
// accepted; -a shows names that begin with a dot.
func (c *conn) cmdLIST(arg string) error { return c.list(arg, formatLIST) }

// NLST, RFC 959 4.1.3: names only.
func (c *conn) cmdNLST(arg string) error { return c.list(arg, formatNLST) }

// MLSD, RFC 3659 section 7.
func (c *conn) cmdMLSD(arg string) error { return c.list(arg, formatMLSD) }

func (c *conn) list(arg string, format listFormat) error {
	flags, p := "", arg
	if format != formatMLSD {
		flags, p = parseListArgs(arg)
	}
	all := strings.Contains(flags, "a") || format == formatMLSD
	virt, name, err := c.resolve(p)
	if err != nil {
		return err
	}
	fi, err := c.user.FS.Stat(c.ctx, name)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		if format == formatMLSD {
			return errReply(StatusParameterSyntaxError, "Not a directory.")
		}
		// A single file: one line. NLST names it by the path given
		// (RFC 1123 4.1.2.7: usable in a following RETR).
		prefix := ""
		if i := strings.LastIndexByte(strings.TrimRight(p, "/"), '/'); i >= 0 {
			prefix = p[:i+1]
		}
		c.startTransfer(verbOf(format), virt, "Opening ASCII mode data connection for file list.",
			func(ctx context.Context, t *transfer, dc net.Conn) error {
				bw := bufio.NewWriterSize(countWriter{dc, t}, 4096)
				c.writeEntry(bw, format, fi, path.Base(virt), prefix)
				if err := bw.Flush(); err != nil {
					return &dataError{err}
				}
				return nil
			}, nil)
		return nil
	}
	dr, err := c.user.FS.ReadDir(c.ctx, name)
	if err != nil {
		return err
	}
	c.startTransfer(verbOf(format), virt, "Opening ASCII mode data connection for file list.",
		func(ctx context.Context, t *transfer, dc net.Conn) error {
			bw := bufio.NewWriterSize(countWriter{dc, t}, 32<<10)
			if format == formatMLSD {
				c.writeEntry(bw, formatMLSD|cdirFlag, fi, ".", "")
			}
			err := c.streamDir(ctx, dr, all, func(e fs.FileInfo) {
				prefix := ""
				if format == formatNLST && p != "" {
					// NLST of another directory names the files by
					// the path given, as ls and most servers do.
					prefix = strings.TrimSuffix(p, "/") + "/"
				}
				c.writeEntry(bw, format, e, e.Name(), prefix)
			})
			if ferr := bw.Flush(); err == nil && ferr != nil {
				err = &dataError{ferr}
			}
			return err
		}, func() { dr.Close() })
	return nil
}

// cdirFlag marks the "cdir" line of MLSD.
const cdirFlag listFormat = 0x80

func verbOf(f listFormat) string {
	switch f {
	case formatNLST:
		return "NLST"
	case formatMLSD:
		return "MLSD"
	}
	return "LIST"
}

// streamDir reads the directory in batches and calls fn for every entry
// to list. Entries that vanish while listed are skipped.
func (c *conn) streamDir(ctx context.Context, dr vfs.DirReader, all bool, fn func(fs.FileInfo)) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		entries, err := dr.ReadDir(listBatch)
		for _, e := range entries {
			if !all && strings.HasPrefix(e.Name(), ".") {
				continue
			}
			info, ierr := e.Info()
			if ierr != nil {
				continue
			}
			fn(info)
		}
		if err == io.EOF || (err == nil && len(entries) == 0) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// writeEntry writes one listing line; the bufio.Writer keeps the first
// write error, returned by Flush.
func (c *conn) writeEntry(bw *bufio.Writer, format listFormat, fi fs.FileInfo, name, prefix string) {
	buf := bw.AvailableBuffer()
	switch format &^ cdirFlag {
	case formatLIST:
		buf = appendListLine(buf, fi, c.srv.now())
	case formatNLST:
		buf = appendNameLine(buf, prefix+fi.Name())
	case formatMLSD:
		typ := "file"
		if fi.IsDir() {
			typ = "dir"
		}
		if format&cdirFlag != 0 {
			typ = "cdir"
		}
		buf = appendFacts(buf, fi, name, typ, c.perm(fi), c.facts)
		buf = append(buf, '\r', '\n')
	}
	bw.Write(buf)
}

// perm is the RFC 3659 7.5.5 "perm" fact: what this session may do with
// the object, from the abilities of its file system.
func (c *conn) perm(fi fs.FileInfo) string {
	fsys := c.user.FS
	_, canWrite := fsys.(vfs.OpenFileFS)
	_, canRemove := fsys.(vfs.RemoveFS)
	_, canRename := fsys.(vfs.RenameFS)
	_, canMkdir := fsys.(vfs.MkdirFS)
	var b []byte
	if fi.IsDir() {
		if canWrite {
			b = append(b, 'c')
		}
		if canRemove {
			b = append(b, 'd')
		}
		b = append(b, 'e')
		if canRename {
			b = append(b, 'f')
		}
		b = append(b, 'l')
		if canMkdir {
			b = append(b, 'm')
		}
		if canRemove {
			b = append(b, 'p')
		}
		return string(b)
	}
	if canWrite {
		b = append(b, 'a')
	}
	if canRemove {
		b = append(b, 'd')
	}
	if canRename {
		b = append(b, 'f')
	}
	b = append(b, 'r')
	if canWrite {
		b = append(b, 'w')
	}
	return string(b)
}

// MLST, RFC 3659 section 7: the facts of one object over the control
// connection.
func (c *conn) cmdMLST(arg string) error {
	virt, name, err := c.resolve(arg)
	if err != nil {
		return err
	}
	fi, err := c.user.FS.Stat(c.ctx, name)
	if err != nil {
		return err
	}
	typ := "file"
	if fi.IsDir() {
		typ = "dir"
	}
	line := appendFacts(nil, fi, virt, typ, c.perm(fi), c.facts)
	return c.w.stream(StatusFileActionOK, "Listing "+virt, "End", func(emit func([]byte) error) error {
		return emit(line)
	})
}

// statPath is STAT with an argument, RFC 959 4.1.3: a LIST sent over the
// control connection, 213 for a file and 212 for a directory.
func (c *conn) statPath(arg string) error {
	flags, p := parseListArgs(arg)
	virt, name, err := c.resolve(p)
	if err != nil {
		return err
	}
	fi, err := c.user.FS.Stat(c.ctx, name)
	if err != nil {
		return err
	}
	now := c.srv.now()
	if !fi.IsDir() {
		return c.w.stream(StatusFile, "Status of "+virt+":", "End of status.", func(emit func([]byte) error) error {
			return emit(trimCRLF(appendListLine(nil, fi, now)))
		})
	}
	dr, err := c.user.FS.ReadDir(c.ctx, name)
	if err != nil {
		return err
	}
	defer dr.Close()
	var buf []byte
	return c.w.stream(StatusDirectory, "Status of "+virt+":", "End of status.", func(emit func([]byte) error) error {
		var werr error
		err := c.streamDir(c.ctx, dr, strings.Contains(flags, "a"), func(e fs.FileInfo) {
			if werr == nil {
				buf = appendListLine(buf[:0], e, now)
				werr = emit(trimCRLF(buf))
			}
		})
		if werr != nil {
			return werr
		}
		if err != nil {
			c.log.Error("STAT listing failed", "err", err)
		}
		return nil
	})
}

func trimCRLF(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// countWriter counts the bytes of a listing for STAT.
type countWriter struct {
	w io.Writer
	t *transfer
}

func (cw countWriter) Write(p []byte) (int, error) {
	n, err := cw.w.Write(p)
	cw.t.bytes.Add(int64(n))
	if err != nil {
		err = &dataError{err}
	}
	return n, err
}
