package ftp

import "github.com/ferryftp/ferry/acl"

// CWD, RFC 959 4.1.1.
func (c *conn) cmdCWD(arg string) error {
	virt, name, err := c.resolve(arg)
	if err != nil {
		return err
	}
	if err := c.allow(virt, acl.Access); err != nil {
		return err
	}
	fi, err := c.user.FS.Stat(c.ctx, name)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return errReply(StatusFileUnavailable, "Not a directory.")
	}
	c.cwd = virt
	return c.reply(StatusFileActionOK, "Directory changed to "+quotePath(virt)+".")
}

// CDUP, RFC 959 4.1.1. Section 5.4 lists 200 for it, Appendix II asks for
// the replies of CWD; it answers as CWD does (250).
func (c *conn) cmdCDUP(string) error { return c.cmdCWD("..") }

// PWD, RFC 959 4.1.3 and Appendix II: 257 with the quoted path.
func (c *conn) cmdPWD(string) error {
	return c.reply(StatusPathCreated, quotePath(c.cwd)+" is the current directory.")
}
