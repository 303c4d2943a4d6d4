package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/skey"
)

const skeyUsage = `usage:
  ferryd skey key [-alg md4|md5|sha1] [-hex] COUNT SEED
  ferryd skey key [-hex] otp-ALG COUNT SEED
      print the one-time password for COUNT and SEED; the pass phrase is
      read from standard input
  ferryd skey init -state FILE [-alg md5] [-seq 499] [-seed SEED] [-response OTP] USER
      start a sequence of one-time passwords for USER in FILE and print
      the first challenge; the pass phrase is read from standard input, or
      -response gives the password for -seq that a generator computed
  ferryd skey show -state FILE [USER]
      list the users of FILE with their algorithm, seed and logins left
`

// errUsage makes runSkey print the usage and exit with status 2.
var errUsage = errors.New("usage")

// runSkey runs the "ferryd skey" subcommands and returns the exit code.
func runSkey(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, skeyUsage)
		return 2
	}
	var err error
	switch args[0] {
	case "key":
		err = skeyKey(args[1:], stdin, stdout, stderr)
	case "init":
		err = skeyInit(args[1:], stdin, stdout, stderr)
	case "show":
		err = skeyShow(args[1:], stdout)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, skeyUsage)
		return 0
	default:
		err = fmt.Errorf("%w: unknown subcommand %q", errUsage, args[0])
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, skeyUsage)
		return 0
	case errors.Is(err, errUsage):
		if msg := strings.TrimPrefix(err.Error(), errUsage.Error()); msg != "" {
			fmt.Fprintln(stderr, "ferryd skey"+msg)
		}
		fmt.Fprint(stderr, skeyUsage)
		return 2
	}
	fmt.Fprintln(stderr, "ferryd skey:", err)
	return 1
}

// newSkeyFlags returns a flag set whose errors are reported as usage
// errors.
func newSkeyFlags(name string) *flag.FlagSet {
	fl := flag.NewFlagSet("ferryd skey "+name, flag.ContinueOnError)
	// runSkey reports the errors and prints the usage itself.
	fl.SetOutput(io.Discard)
	return fl
}

func parseSkeyFlags(fl *flag.FlagSet, args []string) error {
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}

// algFlag is a flag.Value for an skey.Algorithm.
type algFlag struct {
	alg skey.Algorithm
	set bool
}

func (a *algFlag) String() string { return a.alg.String() }

func (a *algFlag) Set(s string) error {
	alg, err := skey.ParseAlgorithm(s)
	if err != nil {
		return errors.New("want md4, md5 or sha1")
	}
	a.alg, a.set = alg, true
	return nil
}

// skeyKey is "ferryd skey key", a generator like OPIE's opiekey: the
// one-time password for a challenge (RFC 2289 section 6).
func skeyKey(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fl := newSkeyFlags("key")
	alg := algFlag{alg: skey.MD5}
	fl.Var(&alg, "alg", "hash `algorithm`: md4, md5 or sha1")
	hex := fl.Bool("hex", false, "print hexadecimal instead of six words")
	if err := parseSkeyFlags(fl, args); err != nil {
		return err
	}
	var c skey.Challenge
	switch rest := strings.Join(fl.Args(), " "); {
	case strings.HasPrefix(rest, "otp-"):
		// A challenge pasted as is: "otp-md5 499 ke1234".
		var err error
		if c, err = skey.ParseChallenge(rest); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		if alg.set && alg.alg != c.Alg {
			return fmt.Errorf("%w: -alg %s contradicts the challenge's %s", errUsage, alg.alg, c.Alg)
		}
	case fl.NArg() == 2:
		n, err := strconv.Atoi(fl.Arg(0))
		if err != nil {
			return fmt.Errorf("%w: COUNT %q is not a number", errUsage, fl.Arg(0))
		}
		c = skey.Challenge{Alg: alg.alg, Seq: n, Seed: fl.Arg(1)}
	default:
		return fmt.Errorf("%w: want COUNT SEED", errUsage)
	}
	// Refuse what skey.Response would refuse before asking for the pass
	// phrase.
	if c.Seq < 1 || c.Seq > skey.MaxSeq {
		return fmt.Errorf("count %d not in 1..%d (RFC 2243 section 4.3)", c.Seq, skey.MaxSeq)
	}
	if _, err := skey.Compute(c.Alg, "", c.Seed, 0); err != nil {
		return err
	}
	pass, err := readSecret(stdin, stderr, "Pass phrase", false)
	if err != nil {
		return err
	}
	if len(pass) > skey.MaxPassphrase {
		fmt.Fprintf(stderr, "ferryd skey: warning: pass phrase longer than %d characters; some generators cannot use it\n", skey.MaxPassphrase)
	}
	r, err := skey.Response(c.Alg, pass, c.Seed, c.Seq, *hex)
	if err != nil {
		return err
	}
	if c.Seq < skey.LowSeq {
		fmt.Fprintf(stderr, "ferryd skey: warning: sequence number %d is low; initialise a new sequence soon\n", c.Seq)
	}
	fmt.Fprintln(stdout, r)
	return nil
}

// skeyInit is "ferryd skey init": it starts a sequence for a user.
func skeyInit(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fl := newSkeyFlags("init")
	state := fl.String("state", "", "state `file` (created if missing)")
	alg := algFlag{alg: skey.MD5}
	fl.Var(&alg, "alg", "hash `algorithm`: md4, md5 or sha1")
	seq := fl.Int("seq", 499, "sequence `number`: the first challenge asks for one less")
	seed := fl.String("seed", "", "`seed`, 1 to 16 letters and digits (default: random)")
	response := fl.String("response", "", "one-time password for -seq and -seed, six words or hexadecimal, instead of reading the pass phrase")
	if err := parseSkeyFlags(fl, args); err != nil {
		return err
	}
	if *state == "" {
		return fmt.Errorf("%w: -state FILE is required", errUsage)
	}
	if fl.NArg() != 1 {
		return fmt.Errorf("%w: want one USER", errUsage)
	}
	user := fl.Arg(0)
	if err := checkOTPUser(user); err != nil {
		return err
	}
	if *response != "" && *seed == "" {
		return fmt.Errorf("%w: -response needs the -seed it was computed with", errUsage)
	}
	if *seed == "" {
		*seed = randomSeed()
	}
	if _, err := skey.Compute(alg.alg, "", *seed, 0); err != nil {
		return err
	}
	var st skey.State
	if *response != "" {
		// RFC 2289 section 8: initialisation by the first one-time
		// password, so that the pass phrase never leaves the user.
		o, err := skey.Decode(*response)
		if err != nil {
			return err
		}
		if *seq < 2 {
			return fmt.Errorf("%w: -seq %d below 2", skey.ErrSequence, *seq)
		}
		st = skey.State{Alg: alg.alg, Seed: *seed, Seq: *seq - 1, Last: o}
		if err := st.Validate(); err != nil {
			return err
		}
	} else {
		pass, err := readSecret(stdin, stderr, "Pass phrase", true)
		if err != nil {
			return err
		}
		if st, err = skey.NewState(alg.alg, pass, *seed, *seq); err != nil {
			return err
		}
	}
	f := &otpFile{path: *state}
	err := f.update(context.Background(), func(recs map[string]otpRecord) error {
		// RFC 2289 section 8: a new sequence needs a new seed or a new
		// pass phrase. Only the seed can be checked. Seeds are compared
		// without case because generators lower-case them.
		if old, ok := recs[user]; ok && strings.EqualFold(old.Seed, st.Seed) {
			return fmt.Errorf("seed %q is the one %s has now; choose another (RFC 2289 section 8)", st.Seed, user)
		}
		recs[user] = recordOf(st)
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, st.Challenge())
	return nil
}

// checkOTPUser refuses names the daemon could never ask for a one-time
// password.
func checkOTPUser(user string) error {
	if isAnonymousUser(user) {
		return fmt.Errorf("%q is the anonymous user, which logs in without a password", user)
	}
	if user == "" || strings.ContainsFunc(user, isBlankOrControl) {
		return fmt.Errorf("user name %q has blanks or control characters", user)
	}
	return nil
}

func isAnonymousUser(user string) bool {
	return strings.EqualFold(user, "anonymous") || strings.EqualFold(user, "ftp")
}

// randomSeed returns a new seed of two lower-case letters and four digits,
// "ke1234", the form of the examples of RFC 2289 and of the seeds OPIE
// makes.
func randomSeed() string {
	var b [5]byte
	rand.Read(b[:])
	s := []byte{'a' + b[0]%26, 'a' + b[1]%26}
	n := (int(b[2])<<16 | int(b[3])<<8 | int(b[4])) % 10000
	return string(s) + fmt.Sprintf("%04d", n)
}

// skeyShow is "ferryd skey show": the users of a state file.
func skeyShow(args []string, stdout io.Writer) error {
	fl := newSkeyFlags("show")
	state := fl.String("state", "", "state `file`")
	if err := parseSkeyFlags(fl, args); err != nil {
		return err
	}
	if *state == "" {
		return fmt.Errorf("%w: -state FILE is required", errUsage)
	}
	if fl.NArg() > 1 {
		return fmt.Errorf("%w: want at most one USER", errUsage)
	}
	recs, err := (&otpFile{path: *state}).records()
	if err != nil {
		return err
	}
	names := slices.Sorted(maps.Keys(recs))
	if fl.NArg() == 1 {
		if _, ok := recs[fl.Arg(0)]; !ok {
			return fmt.Errorf("no user %q in %s", fl.Arg(0), *state)
		}
		names = []string{fl.Arg(0)}
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tALG\tSEED\tLEFT\tSTATUS")
	for _, u := range names {
		rec := recs[u]
		st, err := rec.state()
		status := "ok"
		switch {
		case err != nil:
			status = "invalid"
		case st.Seq < 1:
			status = "exhausted"
		case st.Seq < skey.LowSeq:
			status = "low"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", u, rec.Alg, rec.Seed, rec.Seq, status)
	}
	return tw.Flush()
}

// readSecret reads a pass phrase or password: the first line of stdin,
// without its line end. When stdin is a terminal it prompts on stderr with
// echo turned off (by stty, where there is one) and, if confirm is set,
// asks twice.
func readSecret(stdin io.Reader, stderr io.Writer, prompt string, confirm bool) (string, error) {
	r := bufio.NewReader(stdin)
	tty, ok := stdin.(*os.File)
	if !ok || !isTerminal(tty) {
		return readLine(r)
	}
	restore := noEcho(tty, stderr)
	defer restore()
	fmt.Fprint(stderr, prompt+": ")
	pass, err := readLine(r)
	fmt.Fprintln(stderr)
	if err != nil || !confirm {
		return pass, err
	}
	fmt.Fprint(stderr, "Again: ")
	again, err := readLine(r)
	fmt.Fprintln(stderr)
	if err != nil {
		return "", err
	}
	if again != pass {
		return "", fmt.Errorf("the %ss differ", strings.ToLower(prompt))
	}
	return pass, nil
}

func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil && (err != io.EOF || line == "") {
		if err == io.EOF {
			return "", errors.New("no pass phrase on standard input")
		}
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// noEcho turns the terminal's echo off and returns the function that
// turns it on again. An interrupt meanwhile turns it on before exiting.
func noEcho(tty *os.File, stderr io.Writer) (restore func()) {
	stty := func(arg string) error {
		cmd := exec.Command("stty", arg)
		cmd.Stdin = tty
		return cmd.Run()
	}
	if err := stty("-echo"); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			fmt.Fprintln(stderr, "ferryd skey: warning: no stty; the pass phrase will show as you type")
		}
		return func() {}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sig:
			stty("echo")
			fmt.Fprintln(stderr)
			os.Exit(130)
		case <-done:
		}
	}()
	return func() {
		signal.Stop(sig)
		close(done)
		stty("echo")
	}
}

// otpFlags are the daemon's one-time-password flags.
type otpFlags struct {
	state   string
	require bool
}

// addOTPFlags defines -otp-state and -require-otp on fl.
func addOTPFlags(fl *flag.FlagSet) *otpFlags {
	o := new(otpFlags)
	fl.StringVar(&o.state, "otp-state", "", "one-time-password state `file` (ferryd skey init): its users log in with one-time passwords")
	fl.BoolVar(&o.require, "require-otp", false, "refuse password logins of every user but anonymous (needs -otp-state)")
	return o
}

// wrap returns auth behind an ftp.OTPAuthenticator when -otp-state is
// set, auth itself otherwise. A user of the state file must also be a
// -user account: a verified one-time password gives that account's view,
// and the account's password is no longer accepted. Other users of the
// file are refused.
func (o *otpFlags) wrap(auth ftp.Authenticator, users []account, logger *slog.Logger) (ftp.Authenticator, error) {
	if o.state == "" {
		if o.require {
			return nil, errors.New("-require-otp needs -otp-state")
		}
		return auth, nil
	}
	store := &otpFile{path: o.state, logger: logger}
	// A missing or broken file is an error now rather than a silent
	// fall back to passwords at the first login.
	recs, err := store.records()
	if err != nil {
		return nil, fmt.Errorf("-otp-state: %w (create it with ferryd skey init)", err)
	}
	for u, rec := range recs {
		st, err := rec.state()
		switch {
		case !slices.ContainsFunc(users, func(a account) bool { return a.name == u }):
			logger.Warn("otp: user of the state file has no -user account and cannot log in", "user", u)
		case err != nil:
			logger.Warn("otp: invalid state; the user cannot log in", "user", u, "err", err)
		case st.Seq < 1:
			logger.Warn("otp: sequence exhausted; the user cannot log in", "user", u)
		}
	}
	logger.Info("otp: one-time passwords enabled", "file", o.state, "users", len(recs), "required", o.require)
	oa := &ftp.OTPAuthenticator{
		Store: store,
		Lookup: func(ctx context.Context, li *ftp.LoginInfo) (*ftp.User, error) {
			i := slices.IndexFunc(users, func(a account) bool { return a.name == li.User })
			if i < 0 {
				return nil, fmt.Errorf("one-time password of %q, who has no -user account", li.User)
			}
			acct := *li
			acct.Password = users[i].password
			return auth.Login(ctx, &acct)
		},
		Next:   auth,
		Logger: logger,
	}
	if o.require {
		oa.Required = func(user string) bool { return !isAnonymousUser(user) }
	}
	return oa, nil
}
