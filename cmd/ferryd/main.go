// Command ferryd is the Ferry FTP daemon.
//
// Without a configuration file it serves a directory (the current one by
// default) read-only to anonymous users on 127.0.0.1:2121:
//
//	go run ./cmd/ferryd
//
// Flags:
//
//	-listen ADDR        address to listen on (default 127.0.0.1:2121)
//	-root DIR           directory to serve (default .)
//	-user NAME:PASSWORD a read-write account (repeatable)
//	-otp-state FILE     one-time passwords (RFC 2289) for the users in FILE; see docs/skey.md
//	-require-otp        refuse password logins of all users but anonymous
//	-tls-cert FILE      TLS certificate chain, PEM, reloaded when it changes
//	-tls-key FILE       its private key, PEM
//	-implicit-listen ADDR
//	                    also serve implicit FTPS (TLS before the greeting)
//	-tls-required       refuse logins and transfers without TLS
//	-tls-client-ca FILE require client certificates issued by these CAs
//
// Explicit FTPS (AUTH TLS) is always offered; without -tls-cert the
// certificate is a self-signed one made at start, whose fingerprint is
// printed.
//
// SIGINT and SIGTERM shut the server down gracefully.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ferryftp/ferry/ftp"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "skey":
			return runSkey(args[1:], stdin, stdout, stderr)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, args, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "ferryd:", err)
		return 1
	}
	return 0
}

// userFlag collects -user NAME:PASSWORD.
type userFlag []account

type account struct{ name, password string }

func (u *userFlag) String() string { return fmt.Sprint(len(*u), " users") }

func (u *userFlag) Set(v string) error {
	name, pass, ok := cutColon(v)
	if !ok || name == "" || pass == "" {
		return errors.New("want NAME:PASSWORD")
	}
	*u = append(*u, account{name, pass})
	return nil
}

func cutColon(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("ferryd", flag.ContinueOnError)
	fl.SetOutput(stderr)
	listen := fl.String("listen", "127.0.0.1:2121", "`address` to listen on")
	root := fl.String("root", ".", "`directory` to serve")
	var users userFlag
	fl.Var(&users, "user", "read-write account `NAME:PASSWORD` (repeatable)")
	debug := fl.Bool("debug", false, "log every command and reply")
	otp := addOTPFlags(fl)
	var tlsOpts tlsOptions
	tlsOpts.register(fl)
	if err := fl.Parse(args); err != nil {
		return err
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	auth, closeFS, err := newFlagAuth(*root, users)
	if err != nil {
		return err
	}
	defer closeFS()
	if auth, err = otp.wrap(auth, users, logger); err != nil {
		return err
	}
	srv := &ftp.Server{Auth: auth, Logger: logger, Trace: *debug}
	implicit, err := setupTLS(srv, &tlsOpts, *listen, stdout)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		if implicit != nil {
			implicit.Close()
		}
		return err
	}
	mode := "read-only to anonymous users"
	if len(users) > 0 {
		mode += fmt.Sprintf(", read-write to %d account(s)", len(users))
	}
	fmt.Fprintf(stdout, "ferryd: serving %s %s on ftp://%s\n", *root, mode, l.Addr())

	errc := make(chan error, 2)
	serving := 1
	go func() { errc <- srv.Serve(l) }()
	if implicit != nil {
		serving++
		fmt.Fprintf(stdout, "ferryd: implicit FTPS on ftps://%s\n", implicit.Addr())
		go func() { errc <- srv.ServeTLS(implicit, "", "") }()
	}
	var serveErr error
	select {
	case serveErr = <-errc:
		serving--
	case <-ctx.Done():
	}
	fmt.Fprintln(stdout, "ferryd: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	for ; serving > 0; serving-- {
		if err := <-errc; serveErr == nil {
			serveErr = err
		}
	}
	if errors.Is(serveErr, ftp.ErrServerClosed) {
		return nil
	}
	return serveErr
}
