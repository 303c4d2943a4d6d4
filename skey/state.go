package skey

import (
	"crypto/subtle"
	"fmt"
)

// State is what a server stores for one user (RFC 2289 section 7): the
// parameters of the sequence and the one-time password accepted last.
// It holds no secret; the pass phrase never reaches the server.
//
// Seq is the sequence number of the next challenge, which is also the
// number of logins left: Last is the password for Seq+1, and a response is
// accepted if hashing it once gives Last. After a success Seq is one lower
// and Last is the response, so the same response never works twice.
//
// The zero State is exhausted: it accepts no response.
//
// State is a value: copying it copies the whole record, and [State.Verify]
// changes only the State it is called on. The caller keeps the stored copy
// and the sequence rules; see the package documentation, "Concurrency".
//
// [NewState] creates a State from a pass phrase. A State can also be
// written as a literal from a password a generator computed on the user's
// side, which is how RFC 2289 section 8 lets a user re-initialise without
// sending the pass phrase: for a generator's password P for sequence
// number N, State{Alg: alg, Seed: seed, Seq: N - 1, Last: P}. Check such a
// State with [State.Validate], and require a new seed (or new pass
// phrase) each time, as section 8 does.
type State struct {
	Alg  Algorithm // hash function of the sequence
	Seed string    // seed of the sequence, as the challenge shows it
	Seq  int       // sequence number of the next challenge; 0 when exhausted
	Last OTP       // last accepted one-time password, the one for Seq+1
}

// NewState starts a sequence of seq one-time passwords: it stores the
// password for seq, so that the first challenge asks for seq-1 (RFC 2243
// section 4.2 does the same with its "new-params").
//
// The pass phrase must have at least [MinPassphrase] characters and differ
// from the seed ([ErrPassphrase]); the seed must be valid ([ErrSeed]); seq
// must be in 2..[MaxSeq] ([ErrSequence]), because a challenge's sequence
// number is at least 1.
func NewState(alg Algorithm, passphrase, seed string, seq int) (State, error) {
	if !alg.valid() {
		return State{}, ErrAlgorithm
	}
	if err := checkSeed(seed); err != nil {
		return State{}, err
	}
	if err := checkPassphrase(passphrase, seed); err != nil {
		return State{}, err
	}
	if seq < 2 || seq > MaxSeq {
		return State{}, fmt.Errorf("%w: %d not in 2..%d", ErrSequence, seq, MaxSeq)
	}
	last, err := Compute(alg, passphrase, seed, seq)
	if err != nil {
		return State{}, err
	}
	return State{Alg: alg, Seed: seed, Seq: seq - 1, Last: last}, nil
}

// Challenge returns the challenge the server sends next. For an exhausted
// State its sequence number is 0, which generators refuse to answer: the
// server should not offer OTP at all then.
func (s State) Challenge() Challenge {
	return Challenge{Alg: s.Alg, Seq: s.Seq, Seed: s.Seed}
}

// Validate reports whether s could have come from [NewState] or
// [State.Verify]: a known algorithm, a valid seed and Seq in 0..MaxSeq-1.
func (s State) Validate() error {
	if !s.Alg.valid() {
		return ErrAlgorithm
	}
	if err := checkSeed(s.Seed); err != nil {
		return err
	}
	if s.Seq < 0 || s.Seq >= MaxSeq {
		return fmt.Errorf("%w: %d not in 0..%d", ErrSequence, s.Seq, MaxSeq-1)
	}
	return nil
}

// Verify checks a response to s.Challenge() (RFC 2289 section 7). It
// decodes the response as [Decode] does, hashes it once and compares the
// result with s.Last in constant time. A response that reads both as six
// words and as hexadecimal is accepted if either reading matches, as
// section 6 requires.
//
// On success Verify sets s.Last to the response and lowers s.Seq by one;
// the caller must store the new State before it answers the client. When
// s.Seq falls below [LowSeq], the server should tell the user to
// re-initialise soon.
//
// On failure s is unchanged and the error is [ErrExhausted] if s.Seq is
// below 1, [ErrAlgorithm] for an invalid s.Alg, a decoding error
// ([ErrMalformed], [ErrUnknownWord], [ErrChecksum]) or [ErrMismatch].
func (s *State) Verify(response string) error {
	if s.Seq < 1 {
		return ErrExhausted
	}
	if !s.Alg.valid() {
		return ErrAlgorithm
	}
	words, hex, err := decode(response, true, true)
	if err != nil {
		return err
	}
	// Both readings are hashed and compared whenever both exist, so the
	// time taken does not depend on which one matched.
	wordsOK := words.ok && s.match(words.otp)
	hexOK := hex.ok && s.match(hex.otp)
	switch {
	case wordsOK:
		s.Last = words.otp
	case hexOK:
		s.Last = hex.otp
	default:
		return ErrMismatch
	}
	s.Seq--
	return nil
}

// match reports whether o hashes once to s.Last, in constant time.
func (s *State) match(o OTP) bool {
	next := s.Alg.Next(o)
	return subtle.ConstantTimeCompare(next[:], s.Last[:]) == 1
}
