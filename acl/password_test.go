package acl

import (
	"context"
	"encoding/base64"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testIterations keeps the key derivation cheap in tests.
const testIterations = 1000

func mustHash(t testing.TB, password string) string {
	t.Helper()
	h, err := HashPasswordIter(password, testIterations)
	require.NoError(t, err, "HashPasswordIter")
	return h
}

func TestHashPassword(t *testing.T) {
	for _, pw := range []string{"secret", "", "pässwörd ✓", strings.Repeat("x", 1000), "a\x00b"} {
		h := mustHash(t, pw)
		assert.True(t, strings.HasPrefix(h, "pbkdf2-sha256$1000$"), "hash form: %q", h)
		assert.True(t, ValidHash(h), "a fresh hash is valid")
		ok, err := CheckPassword(h, pw)
		require.NoError(t, err, "CheckPassword of a fresh hash")
		assert.True(t, ok, "the right password %q matches", pw)
		ok, err = CheckPassword(h, pw+"x")
		require.NoError(t, err, "CheckPassword with a wrong password is no error")
		assert.False(t, ok, "a wrong password does not match")
		assert.NotEqual(t, h, mustHash(t, pw), "two hashes of one password differ by their salt")
	}
	_, err := HashPasswordIter("x", 0)
	assert.Error(t, err, "zero iterations")
	_, err = HashPasswordIter("x", -5)
	assert.Error(t, err, "negative iterations")

	h, err := HashPassword("default")
	require.NoError(t, err, "HashPassword")
	assert.True(t, strings.HasPrefix(h, "pbkdf2-sha256$600000$"), "HashPassword uses DefaultIterations: %q", h)
}

func TestCheckPasswordMalformed(t *testing.T) {
	enc := base64.RawStdEncoding
	salt, key := enc.EncodeToString([]byte("0123456789abcdef")), enc.EncodeToString(make([]byte, 32))
	good := "pbkdf2-sha256$1000$" + salt + "$" + key
	require.True(t, ValidHash(good), "the reference hash is well formed")
	for _, bad := range []string{
		"",
		"secret",
		"pbkdf2-sha256$",
		"pbkdf2-sha256$1000$" + salt,
		"pbkdf2-sha256$1000$" + salt + "$" + key + "$x",
		"pbkdf2-sha1$1000$" + salt + "$" + key,
		"PBKDF2-SHA256$1000$" + salt + "$" + key,
		"pbkdf2-sha256$abc$" + salt + "$" + key,
		"pbkdf2-sha256$0$" + salt + "$" + key,
		"pbkdf2-sha256$-1$" + salt + "$" + key,
		"pbkdf2-sha256$100000001$" + salt + "$" + key,
		"pbkdf2-sha256$1000$!!$" + key,
		"pbkdf2-sha256$1000$" + salt + "$",
		"pbkdf2-sha256$1000$" + salt + "$" + key + "==",
		" " + good,
	} {
		ok, err := CheckPassword(bad, "")
		assert.ErrorIs(t, err, ErrBadHash, "CheckPassword(%q)", bad)
		assert.False(t, ok, "a malformed hash matches nothing: %q", bad)
		assert.False(t, ValidHash(bad), "ValidHash(%q)", bad)
	}
}

// TestValidHashIsCheap: ValidHash reads the hash and does not derive a key,
// so a site with many users starts at once. A derivation of 100,000,000
// iterations would take the better part of a minute.
func TestValidHashIsCheap(t *testing.T) {
	enc := base64.RawStdEncoding
	h := "pbkdf2-sha256$100000000$" + enc.EncodeToString([]byte("salt")) + "$" + enc.EncodeToString(make([]byte, 32))
	done := make(chan bool, 1)
	go func() { done <- ValidHash(h) }()
	select {
	case ok := <-done:
		assert.True(t, ok, "a well-formed hash with the largest work factor is valid")
	case <-time.After(10 * time.Second):
		t.Fatal("ValidHash derived the key instead of only reading the hash")
	}
}

// countVerify makes the key derivations of c observable.
func countVerify(c *credCache) *atomic.Int64 {
	var n atomic.Int64
	verify := c.verify
	c.verify = func(stored, password string) (bool, error) {
		n.Add(1)
		return verify(stored, password)
	}
	return &n
}

func newCacheSite(t testing.TB, hash string) *Site {
	t.Helper()
	s, err := NewSite(SiteConfig{
		Home:  t.TempDir(),
		Users: []User{{Name: "Bob", Password: hash}},
	})
	require.NoError(t, err, "NewSite")
	require.NotNil(t, s.cache, "the credential cache is on by default")
	return s
}

func TestCredentialCache(t *testing.T) {
	ctx := t.Context()
	s := newCacheSite(t, mustHash(t, "right"))
	kdf := countVerify(s.cache)
	login := func(name, pw string) error {
		_, err := s.Login(ctx, name, pw)
		return err
	}

	require.NoError(t, login("Bob", "right"), "first login")
	assert.Equal(t, int64(1), kdf.Load(), "the first login derives the key")
	require.NoError(t, login("Bob", "right"), "second login")
	require.NoError(t, login("bob", "right"), "a login with another spelling of the name")
	assert.Equal(t, int64(1), kdf.Load(), "later logins with the right password come from the cache")

	for i := range 3 {
		assert.ErrorIs(t, login("Bob", "wrong"), ErrLogin, "a wrong password")
		assert.Equal(t, int64(2+i), kdf.Load(), "a wrong password always pays the full derivation")
	}
	require.NoError(t, login("Bob", "right"), "a wrong password does not evict the right one")
	assert.Equal(t, int64(4), kdf.Load(), "the right password is still cached")

	s.Forget("BOB")
	require.NoError(t, login("Bob", "right"), "login after Forget")
	assert.Equal(t, int64(5), kdf.Load(), "Forget (in any spelling) drops the remembered password")
	require.NoError(t, login("Bob", "right"), "login after Forget, again")
	assert.Equal(t, int64(5), kdf.Load(), "and the next login is cached again")

	s.Forget("nobody") // harmless
}

func TestCredentialCacheChangedHash(t *testing.T) {
	c := newCredCache(time.Minute)
	kdf := countVerify(c)
	old, changed := mustHash(t, "old"), mustHash(t, "new")

	ok, err := c.check("bob", old, "old")
	require.NoError(t, err, "check")
	require.True(t, ok, "the old password against the old hash")
	ok, _ = c.check("bob", old, "old")
	require.True(t, ok, "cached")
	require.Equal(t, int64(1), kdf.Load(), "one derivation so far")

	// The user's password changed: the old one no longer works, even
	// though it was remembered, and the new one is verified in full.
	ok, err = c.check("bob", changed, "old")
	require.NoError(t, err, "check against the new hash")
	assert.False(t, ok, "the old password against the changed hash")
	assert.Equal(t, int64(2), kdf.Load(), "a changed hash misses the cache")
	ok, _ = c.check("bob", changed, "new")
	assert.True(t, ok, "the new password against the new hash")
	assert.Equal(t, int64(3), kdf.Load(), "the new password is verified in full once")
	ok, _ = c.check("bob", changed, "new")
	assert.True(t, ok, "the new password, cached")
	assert.Equal(t, int64(3), kdf.Load(), "and then cached")

	// The entry belongs to its user: another user with the same hash
	// and password is verified on its own.
	ok, _ = c.check("alice", changed, "new")
	assert.True(t, ok, "another user")
	assert.Equal(t, int64(4), kdf.Load(), "entries are per user")

	// A malformed hash is an error, never a cache hit.
	_, err = c.check("bob", "garbage", "new")
	assert.ErrorIs(t, err, ErrBadHash, "a malformed hash")
}

func TestCredentialCacheExpires(t *testing.T) {
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newCredCache(time.Minute)
	c.now = func() time.Time { return now }
	kdf := countVerify(c)
	h := mustHash(t, "pw")
	check := func() {
		ok, err := c.check("u", h, "pw")
		require.NoError(t, err, "check")
		require.True(t, ok, "right password")
	}
	check()
	now = now.Add(59 * time.Second)
	check()
	assert.Equal(t, int64(1), kdf.Load(), "within the TTL the cache answers")
	now = now.Add(2 * time.Second)
	check()
	assert.Equal(t, int64(2), kdf.Load(), "after the TTL the key is derived again")
}

func TestCredentialCacheDisabled(t *testing.T) {
	s, err := NewSite(SiteConfig{
		Home:     t.TempDir(),
		Users:    []User{{Name: "bob", Password: mustHash(t, "pw")}},
		CacheTTL: -1,
	})
	require.NoError(t, err, "NewSite")
	assert.Nil(t, s.cache, "a negative CacheTTL disables the cache")
	for range 2 {
		_, err = s.Login(t.Context(), "bob", "pw")
		assert.NoError(t, err, "login without a cache")
	}
	_, err = s.Login(t.Context(), "bob", "nope")
	assert.ErrorIs(t, err, ErrLogin, "wrong password without a cache")
	s.Forget("bob") // harmless without a cache
}

func TestCredentialCacheConcurrent(t *testing.T) {
	s := newCacheSite(t, mustHash(t, "pw"))
	kdf := countVerify(s.cache)
	ctx := t.Context()
	_, err := s.Login(ctx, "bob", "pw")
	require.NoError(t, err, "the login that fills the cache")
	errs := make(chan error, 64)
	for i := range cap(errs) {
		go func() {
			pw := "pw"
			if i%4 == 0 {
				pw = "bad"
			}
			_, err := s.Login(ctx, "bob", pw)
			if pw == "bad" {
				if !errors.Is(err, ErrLogin) {
					errs <- errors.New("a wrong password was accepted")
					return
				}
				err = nil
			}
			errs <- err
		}()
	}
	for range cap(errs) {
		assert.NoError(t, <-errs, "concurrent logins")
	}
	assert.Equal(t, int64(1+16), kdf.Load(),
		"each of the 16 wrong passwords pays the derivation, the right ones come from the cache")
}

// BenchmarkLoginCached measures logins of a local user whose password
// hash has the default work factor, once it is remembered: 8 goroutines
// on a 2-core machine.
func BenchmarkLoginCached(b *testing.B) {
	h, err := HashPassword("secret")
	require.NoError(b, err, "HashPassword")
	s := newCacheSite(b, h)
	ctx := context.Background()
	_, err = s.Login(ctx, "bob", "secret")
	require.NoError(b, err, "first login")
	b.SetParallelism(max(1, 8/runtimeProcs()))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Login(ctx, "bob", "secret"); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
