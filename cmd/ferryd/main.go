// Command ferryd is the Ferry FTP daemon.
//
// With a configuration file it serves the sites the file describes (see
// docs/configuration.md and ferryd.example.toml):
//
//	ferryd -config ferryd.toml
//
// SIGHUP reads the file again and puts it in force without dropping
// sessions (a file with errors is refused and the running configuration
// stays); SIGUSR1 logs the connected sessions; SIGINT and SIGTERM shut
// down gracefully.
//
// Without a configuration file it serves a directory (the current one by
// default) read-only to anonymous users on 127.0.0.1:2121:
//
//	go run ./cmd/ferryd
//
// Flags:
//
//	-config FILE        serve the sites of FILE; the flags below do not apply
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
//	-debug              log every command and reply (never a password)
//
// Explicit FTPS (AUTH TLS) is always offered; without a certificate the
// daemon makes a self-signed one at start and prints its fingerprint.
//
// Commands:
//
//	ferryd check -config FILE   check FILE and print what it would serve
//	ferryd sync -config FILE -item NAME | -group NAME | -list
//	                            run synchronisation items now
//	ferryd passwd               print the hash of a password, for the file
//	ferryd skey ...             one-time passwords; see docs/skey.md
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
	"strings"
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
		case "sync":
			return runSync(args[1:], stdout, stderr)
		case "check":
			return runCheck(args[1:], stdout, stderr)
		case "passwd":
			return runPasswd(args[1:], stdin, stdout, stderr)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, args, stdout, stderr); err != nil {
		printError(stderr, err)
		return 1
	}
	return 0
}

// printError prints err, a configuration's errors one per line as
// file:line: key: message.
func printError(w io.Writer, err error) {
	var ce configErrors
	if errors.As(err, &ce) {
		for _, e := range ce {
			fmt.Fprintln(w, e.Error())
		}
		return
	}
	fmt.Fprintln(w, "ferryd:", err)
}

// userFlag collects -user NAME:PASSWORD.
type userFlag []account

type account struct{ name, password string }

func (u *userFlag) String() string { return fmt.Sprint(len(*u), " users") }

func (u *userFlag) Set(v string) error {
	name, pass, ok := strings.Cut(v, ":")
	if !ok || name == "" || pass == "" {
		return errors.New("want NAME:PASSWORD")
	}
	*u = append(*u, account{name, pass})
	return nil
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("ferryd", flag.ContinueOnError)
	fl.SetOutput(stderr)
	configFile := fl.String("config", "", "serve the sites of this TOML `file` (see docs/configuration.md)")
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
	if fl.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (commands: check, passwd, skey, sync)", fl.Arg(0))
	}
	if *configFile != "" {
		var others []string
		fl.Visit(func(f *flag.Flag) {
			if f.Name != "config" && f.Name != "debug" {
				others = append(others, "-"+f.Name)
			}
		})
		if len(others) > 0 {
			return fmt.Errorf("%s: the configuration file replaces these flags", strings.Join(others, " "))
		}
		d, err := newDaemon(*configFile, stdout, stderr, *debug)
		if err != nil {
			return err
		}
		return d.run(ctx)
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
