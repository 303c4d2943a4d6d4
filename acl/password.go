package acl

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultIterations is the PBKDF2-HMAC-SHA256 work factor of new password
// hashes (the OWASP recommendation of 2023).
const DefaultIterations = 600_000

const hashPrefix = "pbkdf2-sha256$"

// ErrBadHash is returned for a stored password hash that cannot be read.
var ErrBadHash = errors.New("acl: malformed password hash")

// HashPassword returns a salted, slow hash of password for a local user's
// Password field: "pbkdf2-sha256$<iterations>$<salt>$<key>", base64 without
// padding. The command `ferryd passwd` prints one.
func HashPassword(password string) (string, error) {
	return HashPasswordIter(password, DefaultIterations)
}

// HashPasswordIter is HashPassword with a chosen work factor, for tests.
func HashPasswordIter(password string, iterations int) (string, error) {
	if iterations < 1 {
		return "", errors.New("acl: iterations must be positive")
	}
	salt := make([]byte, 16)
	rand.Read(salt)
	key, err := pbkdf2.Key(sha256.New, password, salt, iterations, 32)
	if err != nil {
		return "", err
	}
	enc := base64.RawStdEncoding
	return hashPrefix + strconv.Itoa(iterations) + "$" + enc.EncodeToString(salt) + "$" + enc.EncodeToString(key), nil
}

// CheckPassword reports whether password matches the stored hash, in
// constant time. It costs the full key derivation every time.
func CheckPassword(stored, password string) (bool, error) {
	h, err := parseHash(stored)
	if err != nil {
		return false, err
	}
	got, err := pbkdf2.Key(sha256.New, password, h.salt, h.iter, len(h.key))
	if err != nil {
		return false, fmt.Errorf("acl: %w", err)
	}
	return subtle.ConstantTimeCompare(got, h.key) == 1, nil
}

// ValidHash reports whether stored has the form HashPassword writes. It
// only reads the hash: it does not pay for a key derivation.
func ValidHash(stored string) bool {
	_, err := parseHash(stored)
	return err == nil
}

// parsedHash is a stored hash taken apart.
type parsedHash struct {
	iter      int
	salt, key []byte
}

func parseHash(stored string) (parsedHash, error) {
	rest, ok := strings.CutPrefix(stored, hashPrefix)
	if !ok {
		return parsedHash{}, ErrBadHash
	}
	parts := strings.Split(rest, "$")
	if len(parts) != 3 {
		return parsedHash{}, ErrBadHash
	}
	iter, err := strconv.Atoi(parts[0])
	if err != nil || iter < 1 || iter > 100_000_000 {
		return parsedHash{}, ErrBadHash
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[1])
	key, err2 := enc.DecodeString(parts[2])
	if err1 != nil || err2 != nil || len(key) == 0 {
		return parsedHash{}, ErrBadHash
	}
	return parsedHash{iter: iter, salt: salt, key: key}, nil
}

// credCache remembers recently verified credentials so that a slow KDF does
// not cap the login rate of known users. It never holds a password: an
// entry is an HMAC of the user, the stored hash and the password under a
// key made at start, so a changed hash misses, and a wrong password still
// pays the full KDF.
type credCache struct {
	ttl time.Duration
	now func() time.Time
	// verify is the full check, CheckPassword; a test may count its
	// calls.
	verify func(stored, password string) (bool, error)

	mu  sync.Mutex
	key [32]byte
	m   map[string]credEntry // by user name
}

type credEntry struct {
	mac     [32]byte
	expires time.Time
}

const maxCacheEntries = 100_000

func newCredCache(ttl time.Duration) *credCache {
	c := &credCache{ttl: ttl, now: time.Now, verify: CheckPassword, m: make(map[string]credEntry)}
	rand.Read(c.key[:])
	return c
}

func (c *credCache) mac(user, stored, password string) [32]byte {
	h := hmac.New(sha256.New, c.key[:])
	h.Write([]byte(user))
	h.Write([]byte{0})
	h.Write([]byte(stored))
	h.Write([]byte{0})
	h.Write([]byte(password))
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// check verifies password against stored for user (a key that is the
// same for every spelling of the name), from the cache when it can.
func (c *credCache) check(user, stored, password string) (bool, error) {
	m := c.mac(user, stored, password)
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[user]
	c.mu.Unlock()
	if ok && now.Before(e.expires) && hmac.Equal(e.mac[:], m[:]) {
		return true, nil
	}
	good, err := c.verify(stored, password)
	if err != nil || !good {
		return good, err
	}
	c.mu.Lock()
	if len(c.m) >= maxCacheEntries {
		for k, v := range c.m {
			if !now.Before(v.expires) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= maxCacheEntries {
			clear(c.m)
		}
	}
	c.m[user] = credEntry{mac: m, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return true, nil
}

// forget drops the entry of user (changed or removed).
func (c *credCache) forget(user string) {
	c.mu.Lock()
	delete(c.m, user)
	c.mu.Unlock()
}
