package ftp

import (
	"bufio"
	"context"
	"io"
	"io/fs"
	"net"
	"path"
	"strings"

	"github.com/ferryftp/ferry/acl"
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
	virt, name, fi, err := c.statListed(p)
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
		c.startTransfer(verbOf(format), virt, "Opening ASCII mode data connection for file list.", nil,
			func(ctx context.Context, t *transfer, dc net.Conn) error {
				bw := bufio.NewWriterSize(countWriter{dc, t}, 4096)
				c.writeEntry(bw, format, fi, path.Base(virt), prefix, virt, c.rights(path.Dir(virt)))
				if err := bw.Flush(); err != nil {
					return &dataError{err}
				}
				return nil
			}, nil)
		return nil
	}
	dr, err := c.openDir(virt, name)
	if err != nil {
		return err
	}
	c.startTransfer(verbOf(format), virt, "Opening ASCII mode data connection for file list.", nil,
		func(ctx context.Context, t *transfer, dc net.Conn) error {
			bw := bufio.NewWriterSize(countWriter{dc, t}, 32<<10)
			dirRights := acl.None
			if format == formatMLSD {
				dirRights = c.rights(virt)
				c.writeEntry(bw, formatMLSD|cdirFlag, fi, ".", "", virt, c.rights(path.Dir(virt)))
			}
			prefix := ""
			if format == formatNLST && p != "" {
				// NLST of another directory names the files by the
				// path given, as ls and most servers do.
				prefix = strings.TrimSuffix(p, "/") + "/"
			}
			err := c.streamDir(ctx, dr, all, func(e fs.FileInfo) {
				self := ""
				if format == formatMLSD && e.IsDir() {
					self = path.Join(virt, e.Name())
				}
				c.writeEntry(bw, format, e, e.Name(), prefix, self, dirRights)
			})
			if ferr := bw.Flush(); err == nil && ferr != nil {
				err = &dataError{ferr}
			}
			return err
		}, func() { dr.Close() })
	return nil
}

// openDir opens a directory for listing. With Access but without List
// the directory lists as empty, as the product's permissions define.
func (c *conn) openDir(virt, name string) (vfs.DirReader, error) {
	if !c.allows(virt, acl.List) {
		return emptyDir{}, nil
	}
	return c.user.FS.ReadDir(c.ctx, name)
}

// emptyDir is the listing of a directory the session may not list.
type emptyDir struct{}

func (emptyDir) ReadDir(int) ([]fs.DirEntry, error) { return nil, io.EOF }
func (emptyDir) Close() error                       { return nil }

// statListed resolves the path of a listing command (LIST, NLST, MLSD,
// MLST, STAT) and checks the right it needs: Access in a directory, List
// in the directory of a file.
func (c *conn) statListed(arg string) (virt, name string, fi fs.FileInfo, err error) {
	virt, name, err = c.resolve(arg)
	if err != nil {
		return "", "", nil, err
	}
	fi, err = c.user.FS.Stat(c.ctx, name)
	if err != nil {
		return "", "", nil, err
	}
	if fi.IsDir() {
		err = c.allow(virt, acl.Access)
	} else {
		err = c.allowIn(virt, acl.List)
	}
	if err != nil {
		return "", "", nil, err
	}
	return virt, name, fi, nil
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
// self is the entry's virtual path and dirRights the rights in its
// directory, for the MLSD perm fact.
func (c *conn) writeEntry(bw *bufio.Writer, format listFormat, fi fs.FileInfo, name, prefix, self string, dirRights acl.Right) {
	buf := bw.AvailableBuffer()
	switch format &^ cdirFlag {
	case formatLIST:
		buf = appendListLine(buf, fi, c.srv.now())
	case formatNLST:
		// The prefix and the name appended apart: no string per entry.
		buf = appendNameLine(appendListName(buf, prefix), fi.Name())
	case formatMLSD:
		typ := "file"
		if fi.IsDir() {
			typ = "dir"
		}
		if format&cdirFlag != 0 {
			typ = "cdir"
		}
		buf = appendFacts(buf, fi, name, typ, c.perm(fi, self, dirRights), c.facts)
		buf = append(buf, '\r', '\n')
	}
	bw.Write(buf)
}

// perm is the RFC 3659 7.5.5 "perm" fact of an object: what this session
// may do with it, from the rights of its path permissions and the abilities
// of the file system. self is the object's virtual path; dirRights are the
// rights in the directory that holds it (a file's rights).
func (c *conn) perm(fi fs.FileInfo, self string, dirRights acl.Right) string {
	if fi.IsDir() {
		return permTable[1][c.rights(self)&c.fsRights()]
	}
	return permTable[0][dirRights&c.fsRights()]
}

// rights returns the rights the session has in the virtual directory dir.
func (c *conn) rights(dir string) acl.Right {
	a := c.user.Authorizer
	if a == nil {
		return acl.All
	}
	rel := strings.Trim(dir, "/")
	if r, ok := a.(interface{ Rights(string) acl.Right }); ok {
		return r.Rights(rel)
	}
	var r acl.Right
	for bit := acl.Right(1); bit <= acl.Rmdir; bit <<= 1 {
		if a.Authorize(c.ctx, rel, bit) == nil {
			r |= bit
		}
	}
	return r
}

// fsRights are the rights the file system can honour at all.
func (c *conn) fsRights() acl.Right {
	r := acl.All
	fsys := c.user.FS
	if _, ok := fsys.(vfs.OpenFileFS); !ok {
		r &^= acl.Put | acl.Append
	}
	if _, ok := fsys.(vfs.RemoveFS); !ok {
		r &^= acl.Delete | acl.Rmdir
	}
	if _, ok := fsys.(vfs.RenameFS); !ok {
		r &^= acl.Rename
	}
	if _, ok := fsys.(vfs.MkdirFS); !ok {
		r &^= acl.Mkdir
	}
	return r
}

// permTable holds the perm fact of every set of rights: [0] for files,
// [1] for directories, so a listing line allocates nothing for it.
var permTable = func() (t [2][acl.All + 1]string) {
	for r := acl.Right(0); r <= acl.All; r++ {
		var f, d []byte
		// RFC 3659 7.5.5: files a d f r w; directories c d e f l m p.
		for _, m := range []struct {
			c byte
			r acl.Right
		}{{'a', acl.Append}, {'d', acl.Delete}, {'f', acl.Rename}, {'r', acl.Get}, {'w', acl.Put}} {
			if r&m.r != 0 {
				f = append(f, m.c)
			}
		}
		for _, m := range []struct {
			c byte
			r acl.Right
		}{{'c', acl.Put}, {'d', acl.Rmdir}, {'e', acl.Access}, {'f', acl.Rename}, {'l', acl.List}, {'m', acl.Mkdir}, {'p', acl.Delete}} {
			if r&m.r != 0 {
				d = append(d, m.c)
			}
		}
		t[0][r], t[1][r] = string(f), string(d)
	}
	return t
}()

// MLST, RFC 3659 section 7: the facts of one object over the control
// connection.
func (c *conn) cmdMLST(arg string) error {
	virt, _, fi, err := c.statListed(arg)
	if err != nil {
		return err
	}
	typ := "file"
	if fi.IsDir() {
		typ = "dir"
	}
	line := appendFacts(nil, fi, virt, typ, c.perm(fi, virt, c.rights(path.Dir(virt))), c.facts)
	return c.w.stream(StatusFileActionOK, "Listing "+virt, "End", func(emit func([]byte) error) error {
		return emit(line)
	})
}

// statPath is STAT with an argument, RFC 959 4.1.3: a LIST sent over the
// control connection, 213 for a file and 212 for a directory.
func (c *conn) statPath(arg string) error {
	flags, p := parseListArgs(arg)
	virt, name, fi, err := c.statListed(p)
	if err != nil {
		return err
	}
	now := c.srv.now()
	if !fi.IsDir() {
		return c.w.stream(StatusFile, "Status of "+virt+":", "End of status.", func(emit func([]byte) error) error {
			return emit(trimCRLF(appendListLine(nil, fi, now)))
		})
	}
	dr, err := c.openDir(virt, name)
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
