package ftp

import (
	"sort"
	"strings"
)

// cmdFlags say how dispatch treats a command.
type cmdFlags uint8

const (
	needLogin      cmdFlags = 1 << iota // 530 before login
	needArg                             // 501 without an argument
	duringTransfer                      // answered while a transfer runs (ABOR, STAT, NOOP)
	opensData                           // opens a data connection (RFC 4217 section 9 lists them)
)

// command is one row of the command table.
type command struct {
	handler func(c *conn, arg string) error // nil: 502, not implemented
	flags   cmdFlags
	help    string // argument syntax for HELP, e.g. "<sp> pathname"
}

// commands is the command table, the one source of truth for dispatch, HELP
// and FEAT. Every RFC 959 verb is here, implemented or 502.
var commands map[string]*command

func init() {
	commands = map[string]*command{
		// Access control, RFC 959 4.1.1.
		"USER": {handler: (*conn).cmdUSER, flags: needArg, help: "<sp> username"},
		"PASS": {handler: (*conn).cmdPASS, help: "<sp> password"},
		"ACCT": {handler: (*conn).cmdACCT, flags: needArg, help: "<sp> account"},
		"CWD":  {handler: (*conn).cmdCWD, flags: needLogin | needArg, help: "<sp> pathname"},
		"XCWD": {handler: (*conn).cmdCWD, flags: needLogin | needArg, help: "<sp> pathname"},
		"CDUP": {handler: (*conn).cmdCDUP, flags: needLogin},
		"XCUP": {handler: (*conn).cmdCDUP, flags: needLogin},
		"SMNT": {flags: needLogin | needArg, help: "<sp> pathname"},
		"REIN": {handler: (*conn).cmdREIN},
		"QUIT": {handler: (*conn).cmdQUIT},

		// Transfer parameters, RFC 959 4.1.2; RFC 2428.
		"PORT": {handler: (*conn).cmdPORT, flags: needLogin | needArg, help: "<sp> h1,h2,h3,h4,p1,p2"},
		"PASV": {handler: (*conn).cmdPASV, flags: needLogin},
		"EPRT": {handler: (*conn).cmdEPRT, flags: needLogin | needArg, help: "<sp> |proto|addr|port|"},
		"EPSV": {handler: (*conn).cmdEPSV, flags: needLogin, help: "[<sp> proto|ALL]"},
		"TYPE": {handler: (*conn).cmdTYPE, flags: needLogin | needArg, help: "<sp> A [N] | I | L 8"},
		"STRU": {handler: (*conn).cmdSTRU, flags: needLogin | needArg, help: "<sp> F"},
		"MODE": {handler: (*conn).cmdMODE, flags: needLogin | needArg, help: "<sp> S"},

		// Service commands, RFC 959 4.1.3.
		"RETR": {handler: (*conn).cmdRETR, flags: needLogin | opensData | needArg, help: "<sp> pathname"},
		"STOR": {handler: (*conn).cmdSTOR, flags: needLogin | opensData | needArg, help: "<sp> pathname"},
		"STOU": {handler: (*conn).cmdSTOU, flags: needLogin | opensData, help: "[<sp> pathname]"},
		"APPE": {handler: (*conn).cmdAPPE, flags: needLogin | opensData | needArg, help: "<sp> pathname"},
		"ALLO": {handler: (*conn).cmdALLO, flags: needLogin, help: "<sp> decimal-integer"},
		"REST": {handler: (*conn).cmdREST, flags: needLogin | needArg, help: "<sp> marker"},
		"RNFR": {handler: (*conn).cmdRNFR, flags: needLogin | needArg, help: "<sp> pathname"},
		"RNTO": {handler: (*conn).cmdRNTO, flags: needLogin | needArg, help: "<sp> pathname"},
		"ABOR": {handler: (*conn).cmdABOR, flags: duringTransfer},
		"DELE": {handler: (*conn).cmdDELE, flags: needLogin | needArg, help: "<sp> pathname"},
		"RMD":  {handler: (*conn).cmdRMD, flags: needLogin | needArg, help: "<sp> pathname"},
		"XRMD": {handler: (*conn).cmdRMD, flags: needLogin | needArg, help: "<sp> pathname"},
		"MKD":  {handler: (*conn).cmdMKD, flags: needLogin | needArg, help: "<sp> pathname"},
		"XMKD": {handler: (*conn).cmdMKD, flags: needLogin | needArg, help: "<sp> pathname"},
		"PWD":  {handler: (*conn).cmdPWD, flags: needLogin},
		"XPWD": {handler: (*conn).cmdPWD, flags: needLogin},
		"LIST": {handler: (*conn).cmdLIST, flags: needLogin | opensData, help: "[<sp> pathname]"},
		"NLST": {handler: (*conn).cmdNLST, flags: needLogin | opensData, help: "[<sp> pathname]"},
		"SITE": {handler: (*conn).cmdSITE, flags: needArg, help: "<sp> string"},
		"SYST": {handler: (*conn).cmdSYST},
		"STAT": {handler: (*conn).cmdSTAT, flags: duringTransfer, help: "[<sp> pathname]"},
		"HELP": {handler: (*conn).cmdHELP, help: "[<sp> string]"},
		"NOOP": {handler: (*conn).cmdNOOP, flags: duringTransfer},

		// RFC 2228, RFC 4217.
		"AUTH": {handler: (*conn).cmdAUTH, flags: needArg, help: "<sp> TLS"},
		"PBSZ": {handler: (*conn).cmdPBSZ, flags: needArg, help: "<sp> 0"},
		"PROT": {handler: (*conn).cmdPROT, flags: needArg, help: "<sp> C|P"},
		"CCC":  {handler: (*conn).cmdCCC},
		"ADAT": {flags: needArg, help: "<sp> base64data"},
		"MIC":  {flags: needArg, help: "<sp> base64data"},
		"CONF": {flags: needArg, help: "<sp> base64data"},
		"ENC":  {flags: needArg, help: "<sp> base64data"},

		// RFC 7151.
		"HOST": {handler: (*conn).cmdHOST, flags: needArg, help: "<sp> hostname"},

		// RFC 2389.
		"FEAT": {handler: (*conn).cmdFEAT},
		"OPTS": {handler: (*conn).cmdOPTS, flags: needArg, help: "<sp> command [<sp> options]"},

		// RFC 3659.
		"SIZE": {handler: (*conn).cmdSIZE, flags: needLogin | needArg, help: "<sp> pathname"},
		"MDTM": {handler: (*conn).cmdMDTM, flags: needLogin | needArg, help: "<sp> pathname"},
		"MLST": {handler: (*conn).cmdMLST, flags: needLogin, help: "[<sp> pathname]"},
		"MLSD": {handler: (*conn).cmdMLSD, flags: needLogin | opensData, help: "[<sp> pathname]"},

		// draft-somers-ftp-mfxx, draft-bryan-ftpext-hash.
		"MFMT": {handler: (*conn).cmdMFMT, flags: needLogin | needArg, help: "<sp> YYYYMMDDHHMMSS <sp> pathname"},
		"HASH": {handler: (*conn).cmdHASH, flags: needLogin | needArg, help: "<sp> pathname"},
	}
}

// helpText is the 214 reply to a bare HELP: every verb of the table, the
// unimplemented ones marked with "*" (RFC 959 4.1.3).
func helpText() string {
	verbs := make([]string, 0, len(commands))
	for v, cmd := range commands {
		if cmd.handler == nil {
			v += "*"
		}
		verbs = append(verbs, v)
	}
	sort.Strings(verbs)
	var b strings.Builder
	b.WriteString("The following commands are recognized (* = not implemented):\n")
	for i, v := range verbs {
		if i%8 == 0 {
			if i > 0 {
				b.WriteByte('\n')
			}
			b.WriteByte(' ')
		}
		b.WriteString(" ")
		b.WriteString(v)
		if i%8 != 7 && i != len(verbs)-1 {
			// Pad to the next column; no line ends in spaces.
			b.WriteString(strings.Repeat(" ", max(0, 5-len(v))))
		}
	}
	b.WriteString("\nDirect comments to the site administrator.\nHelp OK.")
	return b.String()
}
