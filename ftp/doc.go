// Package ftp is an FTP server engine written from the RFCs up, with the
// shape of net/http: a [Server] whose zero value works, Serve,
// ListenAndServe, ListenAndServeTLS, Shutdown and Close.
//
// The engine parses commands, keeps the per-connection state, writes
// replies, opens data connections and streams listings. Everything else it
// delegates: logins to an [Authenticator], files to a [vfs.FS], the right
// to act on a path to an [Authorizer] (see package acl), and limits to
// package quota.
//
//	srv := &ftp.Server{
//		Addr: "127.0.0.1:2121",
//		Auth: ftp.AuthenticatorFunc(func(ctx context.Context, li *ftp.LoginInfo) (*ftp.User, error) {
//			if li.User == "alice" && li.Password == "secret" {
//				return &ftp.User{Name: "alice", FS: fsys}, nil
//			}
//			return nil, errors.New("no")
//		}),
//	}
//	log.Fatal(srv.ListenAndServe())
//
// # Standards
//
// RFC 959 with the corrections of RFC 1123 section 4.1; RFC 2389 (FEAT,
// OPTS); RFC 2428 (EPRT, EPSV, EPSV ALL; IPv4 and IPv6); RFC 3659 (SIZE,
// MDTM, MLST, MLSD, REST STREAM, TVFS); RFC 2640 (UTF-8 path names);
// RFC 2228 and RFC 4217 (AUTH TLS, PBSZ, PROT, CCC; implicit FTPS);
// RFC 2577's protections; draft-somers-ftp-mfxx (MFMT) and
// draft-bryan-ftpext-hash (HASH with SHA-256, SHA-512, SHA-1, MD5, CRC32);
// RFC 7151 (HOST) for several sites on one address ([HostResolver]).
//
// Verbs in the command table that answer 502: SMNT (RFC 959), and ADAT,
// MIC, CONF and ENC (RFC 2228, which TLS makes unnecessary). TYPE E and
// TYPE A T/C, MODE B/C and STRU R/P answer 504. LANG (RFC 2640) and the
// RANG command of the HASH draft are not implemented.
//
// Each command and transfer can be logged through an [AccessLogger] (see
// package ftp/w3c), and [Server.Sessions] lists the connected sessions.
//
// The package also holds an FTP client, [Dial] and [Client], built on the
// same parsers: MLSD or LIST in Unix and DOS forms, EPSV with a PASV
// fallback, REST, MDTM/MFMT and explicit TLS. Package sync mirrors with it.
//
// # Security
//
// Paths are virtual: the engine cleans them against the session's
// directory, ".." never climbs above the user's root, and the backend
// (vfs/osfs) is confined with os.Root, so no symbolic link reaches outside
// either. PORT and EPRT may only name the control client's own address and
// a port of 1024 or more (RFC 2577); a passive data connection from any
// other address than the control client's is closed, and a reused passive
// port drops what connected to it before it was announced again. Under PROT P a data
// connection must resume the control connection's TLS session. TLS 1.2 is
// the minimum. Command lines are bounded (MaxLineLength); failed logins are
// delayed and end the session after MaxLoginFailures; PASS arguments never
// reach the logs. Replies never carry a server path or a Go error: errors
// the engine does not recognise are logged and answered with a generic
// 451.
//
// # Concurrency
//
// One goroutine reads and answers each control connection. A transfer runs
// in a goroutine of its own, so ABOR, STAT and NOOP are answered while it
// runs; other commands wait for it, which keeps pipelined commands in
// order. All replies go through one writer with its own lock. The Server's
// fields must not change once it serves; plug-ins must be safe for
// concurrent use.
package ftp
