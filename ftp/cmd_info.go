package ftp

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// SYST, RFC 959 4.1.3: the answer every client expects of a Unix-like
// listing.
func (c *conn) cmdSYST(string) error {
	return c.reply(StatusSystemType, "UNIX Type: L8")
}

// NOOP, RFC 959 4.1.3.
func (c *conn) cmdNOOP(string) error { return c.reply(StatusOK, "NOOP ok.") }

// TYPE, RFC 959 4.1.2: A, A N, I and L 8; other types 504.
func (c *conn) cmdTYPE(arg string) error {
	t, err := parseType(arg)
	switch {
	case errors.Is(err, errNotImplementedParam):
		return errReply(StatusParameterNotImpl, "Type not implemented.")
	case err != nil:
		return errReply(StatusParameterSyntaxError, "Syntax error in TYPE.")
	}
	c.typ = t
	return c.reply(StatusOK, "Type set to "+t.code()+".")
}

// MODE, RFC 959 4.1.2: stream only.
func (c *conn) cmdMODE(arg string) error {
	if err := parseMode(arg); err != nil {
		if errors.Is(err, errNotImplementedParam) {
			return errReply(StatusParameterNotImpl, "Only MODE S is implemented.")
		}
		return errReply(StatusParameterSyntaxError, "Syntax error in MODE.")
	}
	return c.reply(StatusOK, "Mode set to S.")
}

// STRU, RFC 959 4.1.2: file structure only.
func (c *conn) cmdSTRU(arg string) error {
	if err := parseStru(arg); err != nil {
		if errors.Is(err, errNotImplementedParam) {
			return errReply(StatusParameterNotImpl, "Only STRU F is implemented.")
		}
		return errReply(StatusParameterSyntaxError, "Syntax error in STRU.")
	}
	return c.reply(StatusOK, "Structure set to F.")
}

// STAT, RFC 959 4.1.3: progress during a transfer, server status without
// an argument, a listing over the control connection with one.
func (c *conn) cmdSTAT(arg string) error {
	c.xferMu.Lock()
	t := c.xfer
	c.xferMu.Unlock()
	if t != nil {
		el := time.Since(t.start).Round(time.Millisecond)
		return c.replyf(StatusFile, "Status: %s %s, %d bytes transferred in %s.", t.verb, quotePath(t.path), t.bytes.Load(), el)
	}
	if c.state != stateLoggedIn {
		return errReply(StatusNotLoggedIn, "Please login with USER and PASS.")
	}
	if arg == "" {
		return c.reply(StatusSystem, c.statusText())
	}
	return c.statPath(arg)
}

func (c *conn) statusText() string {
	var b strings.Builder
	b.WriteString("Ferry FTP server status:\n")
	fmt.Fprintf(&b, " Connected to %s\n", c.remote.Addr())
	fmt.Fprintf(&b, " Logged in as %s\n", c.user.Name)
	fmt.Fprintf(&b, " TYPE: %s, FORM: Nonprint; STRUcture: File; transfer MODE: Stream\n", c.typ)
	if c.tls != nil {
		b.WriteString(" Control connection is encrypted\n")
	}
	b.WriteString(" No data connection\n")
	b.WriteString("End of status.")
	return b.String()
}

// HELP, RFC 959 4.1.3: built from the command table.
func (c *conn) cmdHELP(arg string) error {
	if arg == "" {
		return c.reply(StatusHelp, helpText())
	}
	verb := strings.ToUpper(strings.TrimSpace(arg))
	if verb == "SITE" {
		return c.reply(StatusHelp, siteHelpText())
	}
	cmd, ok := commands[verb]
	if !ok {
		return errReply(StatusNotImplemented, "Unknown command "+verb+".")
	}
	if cmd.handler == nil {
		return c.reply(StatusHelp, "Syntax: "+strings.TrimSpace(verb+" "+cmd.help)+" (not implemented)")
	}
	return c.reply(StatusHelp, "Syntax: "+strings.TrimSpace(verb+" "+cmd.help))
}

// FEAT, RFC 2389 section 3: every extension the engine speaks.
func (c *conn) cmdFEAT(string) error {
	var b strings.Builder
	b.WriteString("Extensions supported:\n")
	for _, f := range c.features() {
		b.WriteString(" " + f + "\n")
	}
	b.WriteString("End")
	return c.reply(StatusSystem, b.String())
}

func (c *conn) features() []string {
	feats := []string{
		"EPRT",
		"EPSV",
		"HASH " + hashFeat(c.hash),
		"MDTM",
		"MFMT",
		"MLST " + c.facts.feat(),
		"REST STREAM",
		"SIZE",
		"TVFS",
		"UTF8",
	}
	feats = append(feats, c.tlsFeatures()...)
	if c.srv.Hosts != nil {
		feats = append(feats, "HOST") // RFC 7151 section 3.4
	}
	sort.Strings(feats)
	return feats
}

func hashFeat(cur hashAlgo) string {
	var parts []string
	for _, a := range []hashAlgo{hashSHA256, hashSHA512, hashSHA1, hashMD5, hashCRC32} {
		s := a.String()
		if a == cur {
			s += "*"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ";")
}

// OPTS, RFC 2389 section 4: UTF8 (RFC 2640), MLST (RFC 3659 7.9) and HASH.
func (c *conn) cmdOPTS(arg string) error {
	name, val, _ := strings.Cut(arg, " ")
	switch strings.ToUpper(name) {
	case "UTF8", "UTF-8":
		switch strings.ToUpper(strings.TrimSpace(val)) {
		case "ON", "":
			return c.reply(StatusOK, "UTF8 set to on.")
		case "OFF":
			// Names are always UTF-8 here (RFC 2640 section 3.2).
			return errReply(StatusParameterNotImpl, "UTF8 can't be turned off.")
		}
		return errReply(StatusParameterSyntaxError, "Syntax error in OPTS UTF8.")
	case "MLST":
		c.facts = parseMLSTOpts(strings.TrimSpace(val))
		return c.reply(StatusOK, strings.TrimSpace("MLST OPTS "+c.facts.String()))
	case "HASH":
		if val == "" {
			return c.reply(StatusOK, c.hash.String())
		}
		a, err := parseHashAlgo(strings.TrimSpace(val))
		if err != nil {
			return errReply(StatusParameterSyntaxError, "Unknown algorithm, current selection not changed.")
		}
		c.hash = a
		return c.reply(StatusOK, a.String())
	}
	return errReply(StatusParameterSyntaxError, "Option not understood.")
}

// siteCommand is one SITE subcommand.
type siteCommand struct {
	handler func(c *conn, arg string) error
	help    string
	login   bool
}

var siteCommands map[string]*siteCommand

func init() {
	siteCommands = map[string]*siteCommand{
		"HELP":  {handler: func(c *conn, _ string) error { return c.reply(StatusHelp, siteHelpText()) }, help: "HELP"},
		"QUOTA": {handler: (*conn).siteQuota, help: "QUOTA", login: true},
		"WHO":   {handler: (*conn).siteWho, help: "WHO", login: true},
	}
}

func siteHelpText() string {
	names := make([]string, 0, len(siteCommands))
	for n, sc := range siteCommands {
		names = append(names, " "+sc.help)
		_ = n
	}
	sort.Strings(names)
	return "SITE commands recognized:\n" + strings.Join(names, "\n") + "\nEnd of SITE help."
}

// SITE, RFC 959 4.1.3.
func (c *conn) cmdSITE(arg string) error {
	name, rest, _ := strings.Cut(arg, " ")
	sc, ok := siteCommands[strings.ToUpper(name)]
	if !ok {
		return errReply(StatusParameterNotImpl, "SITE "+strings.ToUpper(name)+" not understood.")
	}
	if sc.login && c.state != stateLoggedIn {
		return errReply(StatusNotLoggedIn, "Please login with USER and PASS.")
	}
	return sc.handler(c, strings.TrimSpace(rest))
}

// code is the TYPE letter of t, for the 200 reply.
func (t transferType) code() string {
	if t == typeImage {
		return "I"
	}
	return "A"
}

// modeName is the word of the 150 reply ("Opening BINARY mode ...").
func (t transferType) modeName() string {
	if t == typeImage {
		return "BINARY"
	}
	return "ASCII"
}
