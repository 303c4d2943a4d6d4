package skey

import (
	"crypto/md5"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Errors returned by this package, some wrapped with a reason; test for
// them with [errors.Is]. No error text ever contains a response, a pass
// phrase or any part of one (see the package documentation, "Security").
var (
	// ErrAlgorithm reports an unknown or zero [Algorithm].
	ErrAlgorithm = errors.New("skey: unknown algorithm")
	// ErrSeed reports a seed that breaks RFC 2289 section 6, "Form of
	// Inputs": 1 to 16 characters, ASCII letters and digits only.
	ErrSeed = errors.New("skey: invalid seed")
	// ErrPassphrase reports a pass phrase refused when a sequence is
	// created or a response generated: shorter than [MinPassphrase]
	// characters, or equal to the seed.
	ErrPassphrase = errors.New("skey: invalid pass phrase")
	// ErrSequence reports a sequence number or count outside the range
	// that the called function accepts.
	ErrSequence = errors.New("skey: sequence number out of range")
	// ErrMalformed reports a response that is neither six words nor
	// sixteen hexadecimal digits.
	ErrMalformed = errors.New("skey: malformed one-time password")
	// ErrUnknownWord reports a six-word response with a word that is not
	// in the standard dictionary (RFC 2289 Appendix D).
	ErrUnknownWord = errors.New("skey: word not in dictionary")
	// ErrChecksum reports six dictionary words whose two checksum bits
	// are wrong (RFC 2289 section 6, "Form of Output").
	ErrChecksum = errors.New("skey: six-word checksum mismatch")
	// ErrChallenge reports a malformed challenge line.
	ErrChallenge = errors.New("skey: malformed challenge")
	// ErrMismatch reports a well-formed response that is not the one-time
	// password the [State] expects.
	ErrMismatch = errors.New("skey: one-time password does not match")
	// ErrExhausted reports a [State] whose sequence number is below 1
	// (all its passwords are used): it accepts nothing until it is
	// initialised again.
	ErrExhausted = errors.New("skey: sequence exhausted")
)

// Limits from RFC 2289 and RFC 2243.
const (
	// MinPassphrase is the shortest pass phrase, in characters, that
	// [NewState] and [Response] accept (RFC 2289 section 6: "MUST contain
	// at least 10 characters").
	MinPassphrase = 10
	// MaxPassphrase is the longest pass phrase every generator must
	// support (RFC 2289 section 6). Longer ones are accepted; a generator
	// may warn that other generators might not take them.
	MaxPassphrase = 63
	// MaxSeed is the longest seed, in characters (RFC 2289 section 6).
	MaxSeed = 16
	// MaxSeq is the largest sequence number and count this package
	// computes or accepts. RFC 2243 section 4.1 gives the sequence number
	// at most four digits; the bound also keeps a hostile challenge from
	// making a generator hash for minutes.
	MaxSeq = 9999
	// LowSeq is the sequence number below which a user should be warned
	// to initialise a new sequence (RFC 2243 section 4.3, generator
	// requirement 6). A server can check State.Seq < LowSeq after a
	// successful [State.Verify].
	LowSeq = 10
)

// Algorithm is one of the secure hash functions of RFC 2289 section 5.
// The zero Algorithm is invalid: the functions that compute with it return
// [ErrAlgorithm].
type Algorithm uint8

// The algorithms of RFC 2289. MD5 is the one every implementation must
// support; MD4 is broken and kept only for old sequences.
const (
	MD4 Algorithm = iota + 1
	MD5
	SHA1
)

var algNames = [...]string{MD4: "md4", MD5: "md5", SHA1: "sha1"}

// String returns the identifier used in challenges: "md4", "md5" or
// "sha1". An invalid Algorithm gives "Algorithm(N)".
func (a Algorithm) String() string {
	if !a.valid() {
		return "Algorithm(" + strconv.Itoa(int(a)) + ")"
	}
	return algNames[a]
}

func (a Algorithm) valid() bool { return a >= MD4 && a <= SHA1 }

// ParseAlgorithm returns the Algorithm named s. Identifiers are case
// sensitive and lower case, as RFC 2289 section 6 requires of challenges.
func ParseAlgorithm(s string) (Algorithm, error) {
	for a := MD4; a <= SHA1; a++ {
		if s == algNames[a] {
			return a, nil
		}
	}
	return 0, fmt.Errorf("%w %.20q", ErrAlgorithm, s)
}

// MarshalText implements [encoding.TextMarshaler]; it returns the
// identifier, or ErrAlgorithm for an invalid Algorithm.
func (a Algorithm) MarshalText() ([]byte, error) {
	if !a.valid() {
		return nil, ErrAlgorithm
	}
	return []byte(algNames[a]), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler] with [ParseAlgorithm].
func (a *Algorithm) UnmarshalText(text []byte) error {
	v, err := ParseAlgorithm(string(text))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// fold hashes b with a and folds the digest to 64 bits as RFC 2289
// Appendix A does.
func (a Algorithm) fold(b []byte) OTP {
	var o OTP
	switch a {
	case MD4, MD5:
		var sum [16]byte
		if a == MD4 {
			sum = md4Sum(b)
		} else {
			sum = md5.Sum(b)
		}
		for i := range o {
			o[i] = sum[i] ^ sum[i+8]
		}
	case SHA1:
		// SHA-1 produces five big-endian 32-bit words. Appendix A folds
		// the words, not the bytes, and then stores each word low byte
		// first, "analogous to the way MD4Final() and MD5Final() do".
		sum := sha1.Sum(b)
		var w [5]uint32
		for i := range w {
			w[i] = binary.BigEndian.Uint32(sum[4*i:])
		}
		w[0] ^= w[2]
		w[1] ^= w[3]
		w[0] ^= w[4]
		binary.LittleEndian.PutUint32(o[0:], w[0])
		binary.LittleEndian.PutUint32(o[4:], w[1])
	default:
		panic("skey: fold with invalid algorithm") // callers check first
	}
	return o
}

// Next returns the hash of o folded to 64 bits: the one-time password of
// the preceding sequence number. It is what a server compares with the
// password it accepted last (RFC 2289 section 7). The zero Algorithm
// returns the zero OTP.
func (a Algorithm) Next(o OTP) OTP {
	if !a.valid() {
		return OTP{}
	}
	return a.fold(o[:])
}

// Compute returns the one-time password for count: the lower-cased seed
// and the pass phrase, concatenated in that order, hashed and folded to
// 64 bits, then hashed and folded count more times (RFC 2289 section 6
// and Appendix A). Count 0 is the initial step itself.
//
// The seed must follow RFC 2289 section 6 ([ErrSeed]) and count must be in
// 0..[MaxSeq] ([ErrSequence]). The pass phrase is not checked: Compute is
// the bare function, for sequences made elsewhere; [NewState] and
// [Response] enforce [MinPassphrase].
func Compute(alg Algorithm, passphrase, seed string, count int) (OTP, error) {
	if !alg.valid() {
		return OTP{}, ErrAlgorithm
	}
	if err := checkSeed(seed); err != nil {
		return OTP{}, err
	}
	if count < 0 || count > MaxSeq {
		return OTP{}, fmt.Errorf("%w: count %d not in 0..%d", ErrSequence, count, MaxSeq)
	}
	buf := make([]byte, 0, len(seed)+len(passphrase))
	for i := 0; i < len(seed); i++ {
		buf = append(buf, lowerASCII(seed[i]))
	}
	buf = append(buf, passphrase...)
	o := alg.fold(buf)
	clear(buf) // it holds the pass phrase
	for range count {
		o = alg.fold(o[:])
	}
	return o, nil
}

// Response returns what a generator answers to the challenge
// "otp-<alg> <count> <seed>": the one-time password for count as six
// upper-case words separated by single spaces, or, if hex is true, as
// sixteen upper-case hexadecimal digits in groups of four, as RFC 2289
// Appendix C prints them ("9E87 6134 D904 99DD").
//
// Unlike [Compute], Response refuses a pass phrase shorter than
// [MinPassphrase] or equal to the seed ([ErrPassphrase]; RFC 2289
// section 6, RFC 2243 section 4.3) and a count below 1 ([ErrSequence]; RFC
// 2243 section 4.3: generators "MUST refuse to generate OTPs with a
// sequence number below one").
func Response(alg Algorithm, passphrase, seed string, count int, hex bool) (string, error) {
	if err := checkPassphrase(passphrase, seed); err != nil {
		return "", err
	}
	if count < 1 {
		return "", fmt.Errorf("%w: count %d below 1", ErrSequence, count)
	}
	o, err := Compute(alg, passphrase, seed, count)
	if err != nil {
		return "", err
	}
	if hex {
		return o.Hex(), nil
	}
	return o.Words(), nil
}

// checkSeed applies RFC 2289 section 6: one to 16 characters, no blanks,
// purely alphanumeric.
//
// The RFC says alphanumeric "MUST" and ISO-646 invariant characters only
// "SHOULD". This package takes ASCII letters and digits alone anyway: the
// seed is lower-cased by every generator before hashing, and only the
// ASCII case mapping is one that all generators agree on.
func checkSeed(seed string) error {
	if seed == "" || len(seed) > MaxSeed {
		return fmt.Errorf("%w: must be 1 to %d characters", ErrSeed, MaxSeed)
	}
	for i := 0; i < len(seed); i++ {
		switch c := seed[i]; {
		case c == ' ' || c == '\t':
			return fmt.Errorf("%w: must not contain blanks", ErrSeed)
		case !isAlnum(c):
			return fmt.Errorf("%w: must be purely alphanumeric", ErrSeed)
		}
	}
	return nil
}

// checkPassphrase applies RFC 2289 section 6 (at least 10 characters) and
// RFC 2243 section 4.3 (not the seed; a "SHOULD NOT" there, enforced here
// because it costs a legitimate user nothing).
func checkPassphrase(passphrase, seed string) error {
	if utf8.RuneCountInString(passphrase) < MinPassphrase {
		return fmt.Errorf("%w: shorter than %d characters", ErrPassphrase, MinPassphrase)
	}
	if equalFoldASCII(passphrase, seed) {
		return fmt.Errorf("%w: same as the seed", ErrPassphrase)
	}
	return nil
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func upperASCII(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}
