package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/skey"
)

// runCLI runs "ferryd ARGS" with stdin and returns the exit code and
// both outputs.
func runCLI(stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// The vectors of RFC 2289 Appendix C, through the command line.
func TestSkeyKeyVectors(t *testing.T) {
	for _, tc := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"This is a test.\n", []string{"1", "TeSt"}, "EASE OIL FUM CURE AWRY AVIS"},
		{"This is a test.", []string{"-hex", "1", "TeSt"}, "7965 E054 36F5 029F"},
		{"This is a test.\r\n", []string{"99", "TeSt"}, "BAIL TUFT BITS GANG CHEF THY"},
		{"AbCdEfGhIjK\n", []string{"-alg", "md4", "1", "alpha1"}, "CHEW GRIM WU HANG BUCK SAID"},
		{"OTP's are good\nignored\n", []string{"-alg", "sha1", "99", "correct"}, "AURA ALOE HURL WING BERG WAIT"},
		{"OTP's are good\n", []string{"otp-sha1", "99", "correct"}, "AURA ALOE HURL WING BERG WAIT"},
		{"OTP's are good\n", []string{"-hex", "otp-sha1 99 correct"}, "4F29 6A74 FE15 67EC"},
	} {
		code, out, errOut := runCLI(tc.stdin, append([]string{"skey", "key"}, tc.args...)...)
		assert.Equal(t, 0, code, "ferryd skey key %v: %s", tc.args, errOut)
		assert.Equal(t, tc.want+"\n", out, "ferryd skey key %v", tc.args)
	}
}

func TestSkeyKeyErrors(t *testing.T) {
	for _, tc := range []struct {
		stdin string
		args  []string
		code  int
	}{
		{"This is a test.\n", nil, 2},
		{"This is a test.\n", []string{"1"}, 2},
		{"This is a test.\n", []string{"x", "TeSt"}, 2},
		{"This is a test.\n", []string{"-alg", "md2", "1", "TeSt"}, 2},
		{"This is a test.\n", []string{"-alg", "md4", "otp-md5", "1", "TeSt"}, 2},
		{"This is a test.\n", []string{"otp-md5", "x", "TeSt"}, 2},
		{"This is a test.\n", []string{"0", "TeSt"}, 1},  // RFC 2243 section 4.3
		{"This is a test.\n", []string{"1", "Te St"}, 1}, // RFC 2289 section 6
		{"short\n", []string{"1", "TeSt"}, 1},
		{"", []string{"1", "TeSt"}, 1},
	} {
		code, out, errOut := runCLI(tc.stdin, append([]string{"skey", "key"}, tc.args...)...)
		assert.Equal(t, tc.code, code, "ferryd skey key %v: %s", tc.args, errOut)
		assert.Empty(t, out, "nothing on stdout for %v", tc.args)
		assert.NotEmpty(t, errOut, "a message for %v", tc.args)
	}
	code, _, errOut := runCLI("This is a test.\n", "skey", "key", "5", "TeSt")
	assert.Equal(t, 0, code)
	assert.Contains(t, errOut, "low", "a low sequence number is warned about (RFC 2243 section 4.3)")
	code, _, _ = runCLI("", "skey", "frobnicate")
	assert.Equal(t, 2, code, "unknown subcommand")
	code, out, _ := runCLI("", "skey", "help")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "ferryd skey init", "help lists the subcommands")
}

var seedRE = regexp.MustCompile(`^[a-z]{2}[0-9]{4}$`)

func TestSkeyInit(t *testing.T) {
	state := filepath.Join(t.TempDir(), "otp.json")
	code, out, errOut := runCLI("correct horse battery\n", "skey", "init", "-state", state, "alice")
	require.Equal(t, 0, code, errOut)
	c, err := skey.ParseChallenge(out)
	require.NoError(t, err, "init prints the first challenge: %q", out)
	assert.Equal(t, skey.MD5, c.Alg, "md5 by default")
	assert.Equal(t, 498, c.Seq, "-seq 499 by default: the first challenge asks for 498")
	assert.Regexp(t, seedRE, c.Seed, "random seed")

	ctx := context.Background()
	st, err := (&otpFile{path: state}).LoadOTP(ctx, "alice")
	require.NoError(t, err, "state written")
	r, err := skey.Response(c.Alg, "correct horse battery", c.Seed, c.Seq, false)
	require.NoError(t, err)
	assert.NoError(t, st.Verify(r), "the state accepts the response to the printed challenge")

	code, out, errOut = runCLI("another pass phrase\n", "skey", "init", "-state", state, "-alg", "sha1", "-seq", "10", "-seed", "Ab0001", "bob")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "otp-sha1 9 Ab0001\n", out)
	code, _, errOut = runCLI("yet another phrase\n", "skey", "init", "-state", state, "-seed", "AB0001", "bob")
	assert.Equal(t, 1, code, "re-initialising with the same seed is refused (RFC 2289 section 8)")
	assert.Contains(t, errOut, "section 8")
	code, _, errOut = runCLI("yet another phrase\n", "skey", "init", "-state", state, "-seed", "ab0002", "bob")
	assert.Equal(t, 0, code, "a new seed re-initialises: %s", errOut)

	recs, err := (&otpFile{path: state}).records()
	require.NoError(t, err)
	assert.Len(t, recs, 2, "alice kept, bob replaced")

	for _, tc := range []struct {
		stdin string
		args  []string
		code  int
	}{
		{"correct horse battery\n", []string{"alice"}, 2},                                  // no -state
		{"correct horse battery\n", []string{"-state", state}, 2},                          // no user
		{"short\n", []string{"-state", state, "carol"}, 1},                                 // pass phrase too short
		{"ab0003ab0003\n", []string{"-state", state, "-seed", "ab0003ab0003", "carol"}, 1}, // pass phrase = seed
		{"correct horse battery\n", []string{"-state", state, "-seq", "1", "carol"}, 1},
		{"correct horse battery\n", []string{"-state", state, "-seed", "a-1", "carol"}, 1},
		{"correct horse battery\n", []string{"-state", state, "anonymous"}, 1},
		{"correct horse battery\n", []string{"-state", state, "FTP"}, 1},
		{"correct horse battery\n", []string{"-state", state, "a b"}, 1},
		{"", []string{"-state", state, "carol"}, 1},
		{"", []string{"-state", state, "-response", "INCH SEA ANNE LONG AHEM TOUR", "carol"}, 2}, // no -seed
	} {
		code, _, errOut := runCLI(tc.stdin, append([]string{"skey", "init"}, tc.args...)...)
		assert.Equal(t, tc.code, code, "ferryd skey init %v: %s", tc.args, errOut)
	}
	recs, err = (&otpFile{path: state}).records()
	require.NoError(t, err)
	assert.Len(t, recs, 2, "refused inits write nothing")
}

// RFC 2289 section 8: a user initialises from a one-time password made on
// their own machine, so the pass phrase never reaches the server.
func TestSkeyInitFromResponse(t *testing.T) {
	state := filepath.Join(t.TempDir(), "otp.json")
	code, words, errOut := runCLI("my own secret phrase\n", "skey", "key", "100", "xy0001")
	require.Equal(t, 0, code, errOut)
	code, out, errOut := runCLI("", "skey", "init", "-state", state, "-seq", "100", "-seed", "xy0001",
		"-response", strings.TrimSpace(words), "carol")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "otp-md5 99 xy0001\n", out)

	st, err := (&otpFile{path: state}).LoadOTP(context.Background(), "carol")
	require.NoError(t, err)
	_, next, _ := runCLI("my own secret phrase\n", "skey", "key", "-hex", "99", "xy0001")
	assert.NoError(t, st.Verify(next), "the next password of the user's sequence is accepted")

	code, _, _ = runCLI("", "skey", "init", "-state", state, "-seq", "100", "-seed", "xy0002", "-response", "NOT SIX WORDS", "dave")
	assert.Equal(t, 1, code, "a malformed response is refused")
}

func TestSkeyShow(t *testing.T) {
	ctx := context.Background()
	state := filepath.Join(t.TempDir(), "otp.json")
	f := &otpFile{path: state}
	require.NoError(t, f.StoreOTP(ctx, "zoe", newTestState(t, "zz0001", 500)))
	require.NoError(t, f.StoreOTP(ctx, "alice", newTestState(t, "ke1234", 5)))
	require.NoError(t, f.StoreOTP(ctx, "bob", skey.State{Alg: skey.SHA1, Seed: "bb0001"}))
	require.NoError(t, f.update(ctx, func(recs map[string]otpRecord) error {
		recs["mallory"] = otpRecord{Alg: "md2", Seed: "bad seed", Seq: 3}
		return nil
	}))

	code, out, errOut := runCLI("", "skey", "show", "-state", state)
	require.Equal(t, 0, code, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 5, "a header and four users:\n%s", out)
	assert.Equal(t, []string{"USER", "ALG", "SEED", "LEFT", "STATUS"}, strings.Fields(lines[0]))
	assert.Equal(t, []string{"alice", "md5", "ke1234", "4", "low"}, strings.Fields(lines[1]), "sorted by user")
	assert.Equal(t, []string{"bob", "sha1", "bb0001", "0", "exhausted"}, strings.Fields(lines[2]))
	assert.Equal(t, []string{"mallory", "md2", "bad", "seed", "3", "invalid"}, strings.Fields(lines[3]))
	assert.Equal(t, []string{"zoe", "md5", "zz0001", "499", "ok"}, strings.Fields(lines[4]))

	code, out, _ = runCLI("", "skey", "show", "-state", state, "zoe")
	require.Equal(t, 0, code)
	assert.Len(t, strings.Split(strings.TrimSpace(out), "\n"), 2, "one user")
	code, _, _ = runCLI("", "skey", "show", "-state", state, "nobody")
	assert.Equal(t, 1, code, "unknown user")
	code, _, _ = runCLI("", "skey", "show", "-state", filepath.Join(t.TempDir(), "none"))
	assert.Equal(t, 1, code, "missing file")
	code, _, _ = runCLI("", "skey", "show")
	assert.Equal(t, 2, code, "no -state")
}

func TestRandomSeed(t *testing.T) {
	seen := make(map[string]bool)
	for range 200 {
		s := randomSeed()
		require.Regexp(t, seedRE, s)
		_, err := skey.Compute(skey.MD5, "", s, 0)
		require.NoError(t, err, "valid seed per RFC 2289 section 6")
		seen[s] = true
	}
	assert.Greater(t, len(seen), 190, "seeds vary")
}

func TestOTPFlags(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	next := ftp.AuthenticatorFunc(func(context.Context, *ftp.LoginInfo) (*ftp.User, error) { return nil, nil })

	a, err := (&otpFlags{}).wrap(next, nil, logger)
	require.NoError(t, err)
	assert.NotNil(t, a, "no flags: the authenticator as is")
	_, err = (&otpFlags{require: true}).wrap(next, nil, logger)
	assert.Error(t, err, "-require-otp without -otp-state")
	_, err = (&otpFlags{state: filepath.Join(t.TempDir(), "none.json")}).wrap(next, nil, logger)
	assert.Error(t, err, "a missing state file stops the daemon rather than allowing passwords")

	state := filepath.Join(t.TempDir(), "otp.json")
	require.NoError(t, os.WriteFile(state, []byte("{}"), 0o600))
	a, err = (&otpFlags{state: state, require: true}).wrap(next, nil, logger)
	require.NoError(t, err)
	oa, ok := a.(*ftp.OTPAuthenticator)
	require.True(t, ok, "wrapped in ftp.OTPAuthenticator")
	assert.True(t, oa.Required("alice"), "-require-otp covers named users")
	assert.False(t, oa.Required("anonymous"), "but not anonymous")
	assert.False(t, oa.Required("FTP"), "nor ftp")
}

// otpDaemon runs "ferryd" with args until the test ends and returns the
// address it serves plain FTP on.
func otpDaemon(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var logs lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, append([]string{"-listen", "127.0.0.1:0"}, args...), pw, &logs)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err, "ferryd stops cleanly")
		case <-time.After(10 * time.Second):
			t.Error("ferryd did not stop")
		}
		if t.Failed() {
			t.Logf("ferryd log:\n%s", logs.String())
		}
	})
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
			}
		}
		io.Copy(io.Discard, pr)
	}()
	urlRE := regexp.MustCompile(`\bftp://(\S+)`)
	deadline := time.After(10 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("ferryd exited: %v\n%s", <-done, logs.String())
			}
			if m := urlRE.FindStringSubmatch(line); m != nil {
				go func() {
					for range lines {
					}
				}()
				return m[1]
			}
		case <-deadline:
			t.Fatal("ferryd did not announce its address")
		}
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// ftplibProxy is a Python ftplib session driven line by line: each line
// of standard input is sent with FTP.sendcmd (NLST with FTP.nlst) and the
// reply, or the error ftplib raised, is printed on one line.
const ftplibProxy = `
import ftplib, sys
host, port = sys.argv[1].rsplit(':', 1)
ftp = ftplib.FTP()
ftp.connect(host, int(port), timeout=10)
for line in sys.stdin:
    cmd = line.rstrip('\r\n')
    try:
        if cmd == 'NLST':
            print('NLST ' + ' '.join(sorted(ftp.nlst())), flush=True)
        else:
            print(ftp.sendcmd(cmd).replace('\n', ' | '), flush=True)
    except ftplib.all_errors as e:
        print(str(e).replace('\n', ' | '), flush=True)
`

type ftplibSession struct {
	t   *testing.T
	in  io.WriteCloser
	out *bufio.Reader
}

func newFtplibSession(t *testing.T, python, addr string) *ftplibSession {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	cmd := exec.CommandContext(ctx, python, "-c", ftplibProxy, addr)
	in, err := cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var errOut lockedBuffer
	cmd.Stderr = &errOut
	require.NoError(t, cmd.Start(), "start python3")
	t.Cleanup(func() {
		in.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("python3: %v\n%s", err, errOut.String())
		}
		cancel()
	})
	return &ftplibSession{t: t, in: in, out: bufio.NewReader(out)}
}

// cmd sends line and returns ftplib's answer.
func (s *ftplibSession) cmd(line string) string {
	s.t.Helper()
	_, err := fmt.Fprintln(s.in, line)
	require.NoError(s.t, err, "write to python3")
	reply, err := s.out.ReadString('\n')
	require.NoError(s.t, err, "read from python3 (after %q)", line)
	return strings.TrimRight(reply, "\r\n")
}

// cliResponse answers the challenge in a 331 text with "ferryd skey key".
func cliResponse(t *testing.T, passphrase, text string) string {
	t.Helper()
	c, err := skey.FindChallenge(text)
	require.NoError(t, err, "challenge in %q", text)
	code, out, errOut := runCLI(passphrase+"\n", "skey", "key", c.String())
	require.Equal(t, 0, code, "ferryd skey key %s: %s", c, errOut)
	return strings.TrimSpace(out)
}

// End to end: the daemon as "ferryd -otp-state FILE -require-otp" runs it,
// Python's ftplib as the client, and "ferryd skey" as the generator.
func TestOTPLoginWithFtplib(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed; CI installs it")
	}
	const pass = "correct horse battery"
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	require.NoError(t, os.Mkdir(root, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "hello.txt"), []byte("hello"), 0o644))
	state := filepath.Join(dir, "otp.json")
	code, first, errOut := runCLI(pass+"\n", "skey", "init", "-state", state, "-seed", "fe1234", "-seq", "100", "alice")
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "otp-md5 99 fe1234\n", first)

	addr := otpDaemon(t, "-root", root, "-user", "alice:password1", "-user", "bob:password2",
		"-otp-state", state, "-require-otp")

	s := newFtplibSession(t, python, addr)
	text := s.cmd("USER alice")
	require.Equal(t, "331 Response to otp-md5 99 fe1234 required for alice.", text, "ftplib gets the challenge from USER")
	used := cliResponse(t, pass, text)
	assert.Regexp(t, `^230 `, s.cmd("PASS "+used), "the generator's response logs in")
	assert.Equal(t, "NLST hello.txt", s.cmd("NLST"), "alice's view of -root")

	s = newFtplibSession(t, python, addr)
	text = s.cmd("USER alice")
	assert.Equal(t, "331 Response to otp-md5 98 fe1234 required for alice.", text, "the next challenge")
	assert.Equal(t, "530 Login incorrect.", s.cmd("PASS "+used), "a replayed response is refused")

	s = newFtplibSession(t, python, addr)
	text = s.cmd("USER alice")
	wrong := cliResponse(t, "not the pass phrase", text)
	assert.Equal(t, "530 Login incorrect.", s.cmd("PASS "+wrong), "wrong words are refused")

	s = newFtplibSession(t, python, addr)
	text = s.cmd("USER bob")
	assert.Regexp(t, `^331 Response to otp-md5 [0-9]+ [a-z]{2}[0-9]{4} required for bob\.$`, text,
		"-require-otp: a user without state gets a challenge too")
	assert.Equal(t, "530 Login incorrect.", s.cmd("PASS password2"), "and cannot use the password")

	s = newFtplibSession(t, python, addr)
	assert.Regexp(t, `^331 `, s.cmd("USER anonymous"))
	assert.Regexp(t, `^230 `, s.cmd("PASS guest@"), "anonymous is not required to use OTP")

	code, out, errOut := runCLI("", "skey", "show", "-state", state, "alice")
	require.Equal(t, 0, code, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2, out)
	assert.Equal(t, []string{"alice", "md5", "fe1234", "98", "ok"}, strings.Fields(lines[1]), "the daemon stored one login")
}
