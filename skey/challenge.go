package skey

import (
	"fmt"
	"strconv"
	"strings"
)

// Challenge is an OTP challenge, "otp-md5 499 ke1234" (RFC 2289 section
// 6): the parameters a generator needs to compute the one-time password a
// server expects next. The zero Challenge is invalid.
type Challenge struct {
	Alg  Algorithm // hash function
	Seq  int       // sequence number: the count to pass to Compute
	Seed string    // seed, sent as is; generators lower-case it
}

// String returns the challenge as "otp-<algorithm> <sequence> <seed>",
// single-spaced.
//
// RFC 2289 section 6 requires a challenge to be terminated by a space or
// a new line. String adds neither, because the text around it does: an
// FTP server sends it inside its reply to USER, as in
// "331 otp-md5 499 ke1234 required for alice.", or at the end of the line.
//
// String never adds the "ext" of RFC 2243: a server that announces it must
// also accept the init-hex and init-word re-initialisation responses,
// which this package does not implement.
func (c Challenge) String() string {
	return "otp-" + c.Alg.String() + " " + strconv.Itoa(c.Seq) + " " + c.Seed
}

// ParseChallenge parses a challenge that begins s, after optional white
// space. The three tokens are separated by spaces and tabs; "otp-" and the
// algorithm identifier are case sensitive (RFC 2289 section 6). Anything
// after the seed and white space is ignored: the end of the line, an RFC
// 2243 capability list ("otp-md5 499 ke1234 ext"), or the rest of a
// server's reply.
//
// The algorithm must be known, the sequence number a decimal number in
// 0..[MaxSeq] and the seed valid; errors wrap both [ErrChallenge] and the
// specific [ErrAlgorithm], [ErrSequence] or [ErrSeed]. A challenge with
// sequence number 0 parses, but [Response] refuses to answer it.
func ParseChallenge(s string) (Challenge, error) {
	s = strings.TrimLeft(s, spaces)
	rest, ok := strings.CutPrefix(s, "otp-")
	if !ok {
		return Challenge{}, fmt.Errorf("%w: does not start with \"otp-\"", ErrChallenge)
	}
	algTok, rest := token(rest)
	seqTok, rest := token(rest)
	seedTok, _ := token(rest)
	if seedTok == "" {
		return Challenge{}, fmt.Errorf("%w: want three tokens separated by spaces or tabs", ErrChallenge)
	}
	alg, err := ParseAlgorithm(algTok)
	if err != nil {
		return Challenge{}, fmt.Errorf("%w: %w", ErrChallenge, err)
	}
	seq, err := parseSeq(seqTok)
	if err != nil {
		return Challenge{}, fmt.Errorf("%w: %w", ErrChallenge, err)
	}
	if err := checkSeed(seedTok); err != nil {
		return Challenge{}, fmt.Errorf("%w: %w", ErrChallenge, err)
	}
	return Challenge{Alg: alg, Seq: seq, Seed: seedTok}, nil
}

// FindChallenge returns the first challenge in text, such as a server's
// reply "331 Response to otp-md5 499 ke1234 required for alice.". A
// challenge must begin text or follow white space. If there is none, the
// error is [ErrChallenge] or, when an "otp-" was found, what
// [ParseChallenge] said about the last one.
func FindChallenge(text string) (Challenge, error) {
	err := fmt.Errorf("%w: no \"otp-\" found", ErrChallenge)
	for i := 0; ; {
		j := strings.Index(text[i:], "otp-")
		if j < 0 {
			return Challenge{}, err
		}
		i += j
		if i == 0 || isSpace(text[i-1]) {
			var c Challenge
			if c, err = ParseChallenge(text[i:]); err == nil {
				return c, nil
			}
		}
		i += len("otp-")
	}
}

// token returns the token that begins s and what follows it, with the
// spaces and tabs between them removed. The token ends at any white space.
func token(s string) (tok, rest string) {
	i := 0
	for i < len(s) && !isSpace(s[i]) {
		i++
	}
	return s[:i], strings.TrimLeft(s[i:], " \t")
}

// parseSeq parses a sequence number: decimal digits only, no sign, at most
// MaxSeq.
func parseSeq(s string) (int, error) {
	if s == "" {
		return 0, fmt.Errorf("%w: empty sequence number", ErrSequence)
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: sequence number is not a decimal number", ErrSequence)
		}
		n = 10*n + int(c-'0')
		if n > MaxSeq {
			return 0, fmt.Errorf("%w: sequence number above %d", ErrSequence, MaxSeq)
		}
	}
	return n, nil
}
