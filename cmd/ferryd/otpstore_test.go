package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/skey"
)

const testPass = "This is a test." // RFC 2289 Appendix C

func newTestState(t *testing.T, seed string, seq int) skey.State {
	t.Helper()
	st, err := skey.NewState(skey.MD5, testPass, seed, seq)
	require.NoError(t, err, "NewState")
	return st
}

func TestOTPFileRoundTrip(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "otp.json")
	f := &otpFile{path: path}
	alice := newTestState(t, "ke1234", 500)
	bob := newTestState(t, "TeSt", 10)
	require.NoError(t, f.StoreOTP(ctx, "alice", alice), "store alice, creating the file")
	require.NoError(t, f.StoreOTP(ctx, "bob", bob), "store bob")

	g := &otpFile{path: path} // as another process would
	got, err := g.LoadOTP(ctx, "alice")
	require.NoError(t, err)
	assert.Equal(t, alice, got, "alice read back")
	got, err = g.LoadOTP(ctx, "bob")
	require.NoError(t, err)
	assert.Equal(t, bob, got, "bob read back")
	_, err = g.LoadOTP(ctx, "carol")
	assert.ErrorIs(t, err, fs.ErrNotExist, "a user without state")

	fi, err := os.Stat(path)
	require.NoError(t, err)
	if runtime.GOOS != "windows" {
		assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "the file allows guessing the pass phrase: owner only")
	}
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var raw map[string]map[string]any
	require.NoError(t, json.Unmarshal(b, &raw), "the file is JSON")
	assert.Equal(t, map[string]any{"alg": "md5", "seed": "ke1234", "seq": 499.0, "last": alice.Last.String()},
		raw["alice"], "documented format")
}

func TestOTPFileMissingOrBroken(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()

	_, err := (&otpFile{path: filepath.Join(dir, "none.json")}).LoadOTP(ctx, "alice")
	require.Error(t, err, "a missing file")
	assert.NotErrorIs(t, err, fs.ErrNotExist, "a missing file must not read as \"no state\" (that allows passwords)")

	bad := filepath.Join(dir, "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"alice": {"alg": "md5", "seed": `), 0o600))
	_, err = (&otpFile{path: bad}).LoadOTP(ctx, "alice")
	require.Error(t, err, "a truncated file")
	assert.NotErrorIs(t, err, fs.ErrNotExist)
	assert.Error(t, (&otpFile{path: bad}).StoreOTP(ctx, "bob", newTestState(t, "ab0001", 5)),
		"a broken file is not overwritten")

	// One bad entry refuses its user only.
	mixed := filepath.Join(dir, "mixed.json")
	good := recordOf(newTestState(t, "ke1234", 10))
	b, err := json.Marshal(map[string]any{
		"alice":   good,
		"mallory": map[string]any{"alg": "md2", "seed": "ab0001", "seq": 5, "last": good.Last},
		"trudy":   map[string]any{"alg": "md5", "seed": "ab0001", "seq": 5, "last": "not hex"},
	})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(mixed, b, 0o600))
	_, err = (&otpFile{path: mixed}).LoadOTP(ctx, "alice")
	assert.NoError(t, err, "a good entry beside bad ones")
	for _, u := range []string{"mallory", "trudy"} {
		_, err = (&otpFile{path: mixed}).LoadOTP(ctx, u)
		require.Error(t, err, "bad entry of %s", u)
		assert.NotErrorIs(t, err, fs.ErrNotExist, "a bad entry is not \"no state\"")
	}

	empty := filepath.Join(dir, "empty.json")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	_, err = (&otpFile{path: empty}).LoadOTP(ctx, "alice")
	assert.ErrorIs(t, err, fs.ErrNotExist, "an empty file has no users")
}

func TestOTPFileAtomicReplace(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "otp.json")
	f := &otpFile{path: path}
	require.NoError(t, f.StoreOTP(ctx, "alice", newTestState(t, "ke1234", 500)))
	before, err := os.ReadFile(path)
	require.NoError(t, err)

	// A reader that opened the file before a write keeps a whole old
	// version: the write makes a new file and renames it.
	old, err := os.Open(path)
	require.NoError(t, err)
	defer old.Close()
	oldInfo, err := old.Stat()
	require.NoError(t, err)

	require.NoError(t, f.StoreOTP(ctx, "alice", newTestState(t, "ke1234", 400)))
	newInfo, err := os.Stat(path)
	require.NoError(t, err)
	assert.False(t, os.SameFile(oldInfo, newInfo), "the file is replaced, not rewritten in place")
	got, err := io.ReadAll(old)
	require.NoError(t, err)
	assert.Equal(t, before, got, "the old version stays whole for its readers")

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file left behind")
}

// A crash between creating the temporary file and the rename leaves the
// temporary file; it is never read and does not disturb later writes.
func TestOTPFileLeftoverTemp(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "otp.json")
	f := &otpFile{path: path}
	alice := newTestState(t, "ke1234", 500)
	require.NoError(t, f.StoreOTP(ctx, "alice", alice))
	leftover := filepath.Join(dir, ".otp.json.123456.tmp")
	require.NoError(t, os.WriteFile(leftover, []byte(`{"alice": {"alg": "md5", "se`), 0o600))

	got, err := f.LoadOTP(ctx, "alice")
	require.NoError(t, err, "the state file is read, not the temporary one")
	assert.Equal(t, alice, got)
	require.NoError(t, f.StoreOTP(ctx, "bob", newTestState(t, "ab0001", 5)), "writes go on")
	_, err = (&otpFile{path: path}).LoadOTP(ctx, "bob")
	assert.NoError(t, err)
	_, err = os.Stat(leftover)
	assert.NoError(t, err, "another writer's temporary file is not removed")
}

func TestOTPFileConcurrentUpdates(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "otp.json")
	f := &otpFile{path: path}
	const n = 16
	states := make([]skey.State, n)
	for i := range states {
		states[i] = newTestState(t, fmt.Sprintf("ab%04d", i), 20)
	}
	var wg sync.WaitGroup
	for i, st := range states {
		wg.Go(func() {
			user := fmt.Sprint("user", i)
			assert.NoError(t, f.StoreOTP(ctx, user, st), "store %s", user)
			_, err := f.LoadOTP(ctx, user)
			assert.NoError(t, err, "load %s", user)
		})
	}
	wg.Wait()
	recs, err := (&otpFile{path: path}).records()
	require.NoError(t, err)
	assert.Len(t, recs, n, "no update lost")
}

// A write by another process between this one's read and its rename is
// detected: nothing is written and the update starts again.
func TestOTPFileDetectsOtherWriter(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "otp.json")
	mine := &otpFile{path: path}
	other := &otpFile{path: path}
	require.NoError(t, mine.StoreOTP(ctx, "alice", newTestState(t, "ke1234", 500)))

	_, fi, err := mine.read()
	require.NoError(t, err)
	require.NoError(t, other.StoreOTP(ctx, "bob", newTestState(t, "ab0001", 5)))
	done, err := mine.replace([]byte("{}\n"), fi)
	require.NoError(t, err)
	assert.False(t, done, "a file changed since it was read is not replaced")
	_, err = mine.LoadOTP(ctx, "bob")
	assert.NoError(t, err, "the other writer's user is still there")

	// Through update, the change is applied to the other's version.
	calls := 0
	require.NoError(t, mine.update(ctx, func(recs map[string]otpRecord) error {
		calls++
		if calls == 1 {
			require.NoError(t, other.StoreOTP(ctx, "carol", newTestState(t, "cd0001", 5)))
		}
		recs["dave"] = recordOf(newTestState(t, "de0001", 5))
		return nil
	}))
	assert.Equal(t, 2, calls, "the update was done again")
	recs, err := mine.records()
	require.NoError(t, err)
	assert.Len(t, recs, 4, "alice, bob, carol and dave")
}

// If another writer brings back an older state of a user this process
// advanced, the newer state wins, so a spent password stays spent.
func TestOTPFileRollback(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "otp.json")
	f := &otpFile{path: path}
	orig := newTestState(t, "ke1234", 100)
	require.NoError(t, (&otpFile{path: path}).StoreOTP(ctx, "alice", orig))
	stale, err := os.ReadFile(path)
	require.NoError(t, err)

	st, err := f.LoadOTP(ctx, "alice")
	require.NoError(t, err)
	r, err := skey.Response(skey.MD5, testPass, "ke1234", 99, false)
	require.NoError(t, err)
	require.NoError(t, st.Verify(r))
	require.NoError(t, f.StoreOTP(ctx, "alice", st), "the daemon spends the password for 99")

	require.NoError(t, os.WriteFile(path, stale, 0o600), "a stale writer brings back the old file")
	got, err := f.LoadOTP(ctx, "alice")
	require.NoError(t, err)
	assert.Equal(t, st, got, "the state stored last is used")
	assert.Error(t, got.Verify(r), "the spent password stays spent")
	again, err := (&otpFile{path: path}).LoadOTP(ctx, "alice")
	require.NoError(t, err)
	assert.Equal(t, st, again, "and the file is repaired")

	// A real re-initialisation (new seed) is not mistaken for one.
	reinit := newTestState(t, "ke1235", 100)
	require.NoError(t, (&otpFile{path: path}).StoreOTP(ctx, "alice", reinit))
	got, err = f.LoadOTP(ctx, "alice")
	require.NoError(t, err)
	assert.Equal(t, reinit, got, "a new sequence replaces the old")
}

// The file store under the authenticator: many sessions presenting the
// same response at once are accepted once, and the file says so.
func TestOTPFileWithAuthenticator(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "otp.json")
	store := &otpFile{path: path}
	require.NoError(t, store.StoreOTP(ctx, "alice", newTestState(t, "ke1234", 100)))
	a := &ftp.OTPAuthenticator{
		Store: store,
		Lookup: func(_ context.Context, li *ftp.LoginInfo) (*ftp.User, error) {
			return &ftp.User{Name: li.User}, nil
		},
		PendingTimeout: -1,
	}
	r, err := skey.Response(skey.MD5, testPass, "ke1234", 99, false)
	require.NoError(t, err)
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if _, err := a.Login(ctx, &ftp.LoginInfo{User: "alice", Password: r}); err == nil {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), ok.Load(), "accepted exactly once")
	st, err := (&otpFile{path: path}).LoadOTP(ctx, "alice")
	require.NoError(t, err)
	assert.Equal(t, 98, st.Seq, "stored once")
	assert.ErrorIs(t, st.Verify(r), skey.ErrMismatch, "and spent")
}
