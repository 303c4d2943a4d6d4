package ftp

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"path"
	"strings"

	"github.com/ferryftp/ferry/acl"
	"github.com/ferryftp/ferry/quota"
	"github.com/ferryftp/ferry/vfs"
)

// Limits (package quota) as the engine applies them:
//
//   - User.Quota, the user's shared state, is asked before every RETR,
//     STOR, STOU and APPE: a download refused up front answers 550, an
//     upload 552, with the reason. While bytes move, every chunk waits for
//     the user's rate limiter (shared by all the user's sessions) and is
//     counted; a transfer that reaches an amount or ratio limit stops
//     there: 552 for an upload, 451 for a download. An unlimited user keeps
//     the kernel copy.
//   - The maximum directory size of the path permission entry that decides
//     for an upload's directory is reserved as the bytes arrive, so
//     concurrent uploads cannot jointly exceed it (552). The size of the
//     tree is scanned once, then kept up to date by uploads, overwrites and
//     DELE.
//   - Server.MaxConnections and MaxConnectionsPerIP refuse a connection
//     beyond them with 421; Server.LoginThrottle delays failed logins per
//     address and bans an address that keeps failing (421 at connect).

// isQuotaError reports whether err is a limit of package quota, whose text
// is written for clients.
func isQuotaError(err error) bool {
	return errors.Is(err, quota.ErrAmountExceeded) || errors.Is(err, quota.ErrRatio) ||
		errors.Is(err, quota.ErrDirFull)
}

// quotaReply is the reply to a limit reached during a transfer: 552 for an
// upload (RFC 959: exceeded storage allocation), 451 for a download.
func quotaReply(err error, upload bool) *Error {
	code := StatusLocalError
	if upload {
		code = StatusExceededStorage
	}
	return &Error{Code: code, Msg: sentence(limitText(err)), Err: err}
}

// dirFullReply answers a full directory tree with 552 and passes other
// errors on.
func dirFullReply(err error) error {
	if errors.Is(err, quota.ErrDirFull) {
		return quotaReply(err, true)
	}
	return err
}

// limitText is the client-safe text of a quota error: the first error in
// the chain whose text does not carry the package prefix.
func limitText(err error) string {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if s := e.Error(); !strings.HasPrefix(s, "quota: ") {
			return s
		}
	}
	return "Limit reached"
}

func sentence(s string) string {
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// beginQuota asks the user's quota for a transfer of size bytes (-1 if
// unknown). Nil, nil when the user has no quota.
func (c *conn) beginQuota(dir quota.Direction, size int64) (*quota.Transfer, error) {
	if c.user.Quota == nil {
		return nil, nil
	}
	q, err := c.user.Quota.Begin(dir, size)
	if err != nil {
		c.log.Info("transfer refused by quota", "direction", dir.String(), "err", err)
		if dir == quota.Upload {
			return nil, quotaReply(err, true)
		}
		return nil, &Error{Code: StatusFileUnavailable, Msg: sentence(limitText(err)), Err: err}
	}
	return q, nil
}

// dirLimit finds the maximum directory size that applies to an upload into
// the virtual directory dir: the limit of the deciding permission entry,
// the key of its tree and a scan that sizes the tree once. limit is 0 when
// none applies.
func (c *conn) dirLimit(dir string) (key string, limit int64, scan func(context.Context) (int64, error)) {
	ea, ok := c.user.Authorizer.(interface {
		Entry(dir string) (acl.Permission, bool)
	})
	if !ok {
		return "", 0, nil
	}
	e, ok := ea.Entry(strings.Trim(dir, "/"))
	if !ok || e.MaxDirSize <= 0 {
		return "", 0, nil
	}
	root := "/" + strings.Trim(e.Path, "/")
	if e.Path == "*" {
		// The default entry limits each directory it covers on its own.
		root = path.Clean("/" + dir)
	}
	owner := c.user.Name
	if s := c.user.Session; s != nil {
		owner = s.Home
	}
	fsys := c.user.FS
	_, name, _ := resolvePath("/", root)
	scan = func(ctx context.Context) (int64, error) { return treeSize(ctx, fsys, name) }
	return owner + "\x00" + root, e.MaxDirSize, scan
}

// treeSize adds up the sizes of the files below name, streaming each
// directory.
func treeSize(ctx context.Context, fsys vfs.FS, name string) (int64, error) {
	dr, err := fsys.ReadDir(ctx, name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, nil
		}
		return 0, err
	}
	defer dr.Close()
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		entries, err := dr.ReadDir(listBatch)
		for _, e := range entries {
			child := e.Name()
			if name != "." {
				child = name + "/" + child
			}
			if e.IsDir() {
				n, err := treeSize(ctx, fsys, child)
				if err != nil {
					return 0, err
				}
				total += n
				continue
			}
			if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
				total += info.Size()
			}
		}
		if err == io.EOF || (err == nil && len(entries) == 0) {
			return total, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// dirSizes is the server's directory size tracker.
func (s *Server) dirSizes() *quota.DirSizes {
	if s.DirSizes != nil {
		return s.DirSizes
	}
	s.dirOnce.Do(func() { s.ownDirSizes = new(quota.DirSizes) })
	return s.ownDirSizes
}

// limitWriter prepares the maximum directory size, if any, of an upload
// into the virtual directory dir. It measures the tree the first time and
// refuses an upload into a tree already over its size (552). It must run
// before the file is opened: the measure must see a file that the upload
// overwrites as it was before O_TRUNC, since release gives its bytes back.
// wrap wraps the file so that bytes are reserved as they arrive.
func (c *conn) limitWriter(dir string) (wrap func(io.Writer) io.Writer, release func(n int64), err error) {
	key, limit, scan := c.dirLimit(dir)
	if limit <= 0 {
		return func(w io.Writer) io.Writer { return w }, func(int64) {}, nil
	}
	ds := c.srv.dirSizes()
	// Refuse up front a tree already over its size (RFC 959: 552).
	if err := ds.Reserve(c.ctx, key, limit, scan, 0); err != nil {
		return nil, nil, dirFullReply(err)
	}
	wrap = func(w io.Writer) io.Writer { return ds.Writer(c.ctx, key, limit, scan, w) }
	return wrap, func(n int64) { ds.Release(key, n) }, nil
}

// releaseDir gives back the bytes of a deleted file to its tree's limit.
func (c *conn) releaseDir(virt string, size int64) {
	key, limit, _ := c.dirLimit(path.Dir(virt))
	if limit > 0 {
		c.srv.dirSizes().Release(key, size) // nothing for an untracked tree
	}
}

// connLimiter counts connections for MaxConnections and
// MaxConnectionsPerIP.
func (s *Server) connLimiter() *quota.ConnLimiter {
	s.connOnce.Do(func() {
		s.connLimit = &quota.ConnLimiter{MaxTotal: s.MaxConnections, MaxPerIP: s.MaxConnectionsPerIP}
	})
	return s.connLimit
}

// SITE QUOTA: the user's limits, counters and ratio balance.
func (c *conn) siteQuota(string) error {
	if c.user.Quota == nil {
		return c.reply(StatusOK, "No limits apply to this account.")
	}
	return c.reply(StatusOK, "Quota of "+c.user.Name+":\n"+strings.TrimRight(c.user.Quota.Status().String(), "\n"))
}

// reserveMove keeps the maximum directory sizes right across a rename
// from one limited tree to another: a file's bytes are reserved in the
// target tree first (552 when they do not fit) and given back to the
// source tree once the rename is done; a directory makes both trees be
// measured again. done(false) undoes the reservation of a failed rename.
func (c *conn) reserveMove(fromVirt, toVirt string) (done func(ok bool), err error) {
	srcKey, srcLimit, _ := c.dirLimit(path.Dir(fromVirt))
	dstKey, dstLimit, scan := c.dirLimit(path.Dir(toVirt))
	if srcKey == dstKey || (srcLimit <= 0 && dstLimit <= 0) {
		return func(bool) {}, nil
	}
	_, name, _ := resolvePath("/", fromVirt)
	fi, err := c.user.FS.Stat(c.ctx, name)
	if err != nil {
		return nil, err
	}
	ds := c.srv.dirSizes()
	if fi.IsDir() {
		return func(ok bool) {
			if ok {
				ds.Forget(srcKey)
				ds.Forget(dstKey)
			}
		}, nil
	}
	size := fi.Size()
	if dstLimit > 0 {
		if err := ds.Reserve(c.ctx, dstKey, dstLimit, scan, size); err != nil {
			return nil, dirFullReply(err)
		}
	}
	return func(ok bool) {
		switch {
		case !ok && dstLimit > 0:
			ds.Release(dstKey, size)
		case ok && srcLimit > 0:
			ds.Release(srcKey, size) // nothing for an untracked tree
		}
	}, nil
}
