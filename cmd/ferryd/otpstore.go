package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/skey"
)

// otpFile is the daemon's [ftp.OTPStore]: a JSON object that maps user
// names to their one-time-password state,
//
//	{
//	  "alice": {"alg": "md5", "seed": "ke1234", "seq": 498, "last": "9e876134d90499dd"}
//	}
//
// "seq" is the sequence number of the next challenge, which is also the
// number of logins left, and "last" the one-time password accepted last
// (skey.State). The file holds no pass phrase, but "last" and "seed" allow
// an offline guessing attack on it, so the file is written with mode
// 0600.
//
// The file is read on every call, so "ferryd skey init" takes effect
// without a restart. Every write replaces it atomically: a temporary file
// in the same directory is written, synced and renamed over it, and the
// directory is synced, so after a crash the file is either the old or the
// new one, and a one-time password accepted once stays spent. A temporary
// file a crash leaves behind is never read.
//
// Writers in this process are serialised by a mutex. Another process
// writing at the same time (ferryd skey init while the daemon serves) is
// detected by checking, just before the rename, that the file is the one
// that was read; the write is then done again on the new file. A write
// could still slip in between that check and the rename; if it brought
// back an older state of a user the daemon had advanced, the next load
// notices it (the stored password is then one the daemon's own last write
// hashes to) and restores the daemon's state, so a spent password is not
// accepted again.
type otpFile struct {
	path   string
	logger *slog.Logger // nil: slog.Default()

	mu      sync.Mutex            // serialises reads and writes in this process
	written map[string]skey.State // guarded by mu: the state last stored here for each user
}

var _ ftp.OTPStore = (*otpFile)(nil)

// otpRecord is one user's entry in the file. The algorithm and the
// password are kept as text so that one bad entry spoils only its user,
// not the whole file.
type otpRecord struct {
	Alg  string `json:"alg"`
	Seed string `json:"seed"`
	Seq  int    `json:"seq"`
	Last string `json:"last"`
}

// state converts r and checks it with skey.State.Validate.
func (r otpRecord) state() (skey.State, error) {
	alg, err := skey.ParseAlgorithm(r.Alg)
	if err != nil {
		return skey.State{}, err
	}
	last, err := skey.DecodeHex(r.Last)
	if err != nil {
		return skey.State{}, err
	}
	st := skey.State{Alg: alg, Seed: r.Seed, Seq: r.Seq, Last: last}
	return st, st.Validate()
}

func recordOf(s skey.State) otpRecord {
	return otpRecord{Alg: s.Alg.String(), Seed: s.Seed, Seq: s.Seq, Last: s.Last.String()}
}

// errNoOTPFile reports a state file that has disappeared. It deliberately
// does not wrap fs.ErrNotExist, which would mean "this user has no
// one-time passwords" and let every user in with a password.
var errNoOTPFile = errors.New("one-time-password state file is missing")

func (f *otpFile) log() *slog.Logger {
	if f.logger != nil {
		return f.logger
	}
	return slog.Default()
}

// read returns the users of the file and the file's FileInfo, for the
// check before a write. A missing file gives an error wrapping
// fs.ErrNotExist.
func (f *otpFile) read() (map[string]otpRecord, os.FileInfo, error) {
	fh, err := os.Open(f.path)
	if err != nil {
		return nil, nil, err
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return nil, nil, err
	}
	b, err := io.ReadAll(fh)
	if err != nil {
		return nil, nil, err
	}
	users := make(map[string]otpRecord)
	// An empty file is a file without users, which is what an
	// administrator who creates it by hand means.
	if len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, &users); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", f.path, err)
		}
	}
	return users, fi, nil
}

// records returns the entries of the file.
func (f *otpFile) records() (map[string]otpRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	recs, _, err := f.read()
	return recs, err
}

// LoadOTP implements [ftp.OTPStore].
func (f *otpFile) LoadOTP(ctx context.Context, user string) (skey.State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	recs, _, err := f.read()
	if errors.Is(err, fs.ErrNotExist) {
		return skey.State{}, fmt.Errorf("%s: %w", f.path, errNoOTPFile)
	}
	if err != nil {
		return skey.State{}, err
	}
	rec, ok := recs[user]
	if !ok {
		return skey.State{}, fmt.Errorf("no one-time passwords for %q: %w", user, fs.ErrNotExist)
	}
	st, err := rec.state()
	if err != nil {
		return skey.State{}, fmt.Errorf("%s: user %q: %w", f.path, user, err)
	}
	if mine, ok := f.written[user]; ok && rolledBack(st, mine) {
		f.log().Warn("otp: state file went back to an older state of a user; restoring the newer one",
			"user", user, "file_seq", st.Seq, "seq", mine.Seq)
		if err := f.updateLocked(ctx, func(recs map[string]otpRecord) error {
			recs[user] = recordOf(mine)
			return nil
		}); err != nil {
			return skey.State{}, err
		}
		st = mine
	}
	return st, nil
}

// rolledBack reports whether file is an older point of the sequence that
// mine continues: same algorithm and seed, a higher sequence number, and
// a stored password that mine's hashes to (RFC 2289 section 7).
func rolledBack(file, mine skey.State) bool {
	if file.Alg != mine.Alg || file.Seed != mine.Seed || file.Seq <= mine.Seq {
		return false
	}
	o := mine.Last
	for range file.Seq - mine.Seq {
		o = mine.Alg.Next(o)
	}
	return o == file.Last
}

// StoreOTP implements [ftp.OTPStore]: it returns once the new state is
// on disk.
func (f *otpFile) StoreOTP(ctx context.Context, user string, s skey.State) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	err := f.updateLocked(ctx, func(recs map[string]otpRecord) error {
		recs[user] = recordOf(s)
		return nil
	})
	if err != nil {
		return err
	}
	if f.written == nil {
		f.written = make(map[string]skey.State)
	}
	f.written[user] = s
	return nil
}

// update applies fn to the users of the file and writes the result. A
// missing file starts empty and is created.
func (f *otpFile) update(ctx context.Context, fn func(map[string]otpRecord) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.updateLocked(ctx, fn)
}

func (f *otpFile) updateLocked(ctx context.Context, fn func(map[string]otpRecord) error) error {
	const attempts = 5
	for range attempts {
		if err := ctx.Err(); err != nil {
			return err
		}
		recs, fi, err := f.read()
		switch {
		case errors.Is(err, fs.ErrNotExist):
			recs = make(map[string]otpRecord)
		case err != nil:
			return err
		}
		if err := fn(recs); err != nil {
			return err
		}
		b, err := json.MarshalIndent(recs, "", "  ")
		if err != nil {
			return err
		}
		done, err := f.replace(append(b, '\n'), fi)
		if err != nil || done {
			return err
		}
		// Another process replaced the file since it was read: read its
		// version and apply fn again.
	}
	return fmt.Errorf("%s: changed by another process during %d attempts to write it", f.path, attempts)
}

// replace writes b to a temporary file beside the state file and renames
// it over the state file, if that is still the file described by old (nil:
// no file). It reports false, having written nothing, if the file
// changed.
func (f *otpFile) replace(b []byte, old os.FileInfo) (done bool, err error) {
	dir, base := filepath.Split(f.path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".*.tmp") // mode 0600
	if err != nil {
		return false, err
	}
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		return false, err
	}
	if _, err := tmp.Write(b); err != nil {
		return false, err
	}
	if err := tmp.Sync(); err != nil {
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	cur, err := os.Stat(f.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if old != nil {
			return false, nil
		}
	case err != nil:
		return false, err
	case old == nil || !os.SameFile(old, cur) || old.Size() != cur.Size() || !old.ModTime().Equal(cur.ModTime()):
		return false, nil
	}
	if err := os.Rename(tmp.Name(), f.path); err != nil {
		return false, err
	}
	done = true
	return true, syncDir(dir)
}

// syncDir makes a rename in dir durable. Windows cannot sync a directory
// and does not need to.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
