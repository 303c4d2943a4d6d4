package skey_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/skey"
)

const testPass = "This is a test."

// newState starts a sequence of the RFC 2243 appendix: after it the
// challenge is "otp-md5 499 ke1234".
func newState(t *testing.T) skey.State {
	t.Helper()
	st, err := skey.NewState(skey.MD5, testPass, "ke1234", 500)
	require.NoError(t, err)
	return st
}

// respond computes the six-word response for seq.
func respond(t *testing.T, st skey.State, seq int) string {
	t.Helper()
	r, err := skey.Response(st.Alg, testPass, st.Seed, seq, false)
	require.NoError(t, err)
	return r
}

func TestNewState(t *testing.T) {
	st := newState(t)
	assert.Equal(t, 499, st.Seq, "the first challenge is one below the initial count")
	assert.Equal(t, "otp-md5 499 ke1234", st.Challenge().String())
	want, err := skey.Compute(skey.MD5, testPass, "ke1234", 500)
	require.NoError(t, err)
	assert.Equal(t, want, st.Last, "Last is the password for 500")
	assert.NoError(t, st.Validate())

	tests := []struct {
		name       string
		alg        skey.Algorithm
		pass, seed string
		seq        int
		want       error
	}{
		{"sequence 1", skey.MD5, testPass, "ke1234", 1, skey.ErrSequence},
		{"sequence 0", skey.MD5, testPass, "ke1234", 0, skey.ErrSequence},
		{"sequence over MaxSeq", skey.MD5, testPass, "ke1234", skey.MaxSeq + 1, skey.ErrSequence},
		{"short pass phrase", skey.MD5, "Too_short", "ke1234", 100, skey.ErrPassphrase},
		{"bad seed", skey.MD5, testPass, "ke 1234", 100, skey.ErrSeed},
		{"zero algorithm", 0, testPass, "ke1234", 100, skey.ErrAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := skey.NewState(tt.alg, tt.pass, tt.seed, tt.seq)
			assert.ErrorIs(t, err, tt.want)
			assert.Equal(t, skey.State{}, st, "a failed NewState returns the zero State")
		})
	}
	st, err = skey.NewState(skey.SHA1, testPass, "ke1234", skey.MaxSeq)
	require.NoError(t, err, "MaxSeq is allowed")
	assert.NoError(t, st.Validate(), "a new State is valid")
}

func TestVerifySequence(t *testing.T) {
	st := newState(t)
	// RFC 2243 appendix: the six-word response to otp-md5 499 ke1234.
	require.NoError(t, st.Verify("BOND FOGY DRAB NE RISE MART"), "the RFC's response")
	assert.Equal(t, 498, st.Seq, "the sequence advances")
	assert.Equal(t, "5bf075d9959d036f", st.Last.String(), "Last is the accepted response")
	assert.Equal(t, "otp-md5 498 ke1234", st.Challenge().String(), "the next challenge")

	for seq := 498; seq > 490; seq-- {
		require.NoError(t, st.Verify(respond(t, st, seq)), "response for %d", seq)
		assert.Equal(t, seq-1, st.Seq)
	}
}

func TestVerifyRefuses(t *testing.T) {
	st := newState(t)
	good := respond(t, st, 499)
	require.NoError(t, st.Verify(good))
	accepted := st

	tests := []struct {
		name, response string
		want           error
	}{
		{"replay", good, skey.ErrMismatch},
		{"replay in hex", "5bf0 75d9 959d 036f", skey.ErrMismatch},
		{"response for an older sequence number", respond(t, st, 499+1), skey.ErrMismatch},
		{"response for a later sequence number", respond(t, st, 497), skey.ErrMismatch},
		{"another pass phrase", mustResponse(t, skey.MD5, "Another pass phrase", "ke1234", 498), skey.ErrMismatch},
		{"another algorithm", mustResponse(t, skey.SHA1, testPass, "ke1234", 498), skey.ErrMismatch},
		{"bad checksum", "FOWL KID MASH DEAD DUAL NUT", skey.ErrChecksum},
		{"unknown word", "FOWL KID MASH DEAD DUAL ZZZZ", skey.ErrUnknownWord},
		{"five words", "FOWL KID MASH DEAD DUAL", skey.ErrMalformed},
		{"empty", "", skey.ErrMalformed},
		{"pass phrase instead", testPass, skey.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := accepted
			assert.ErrorIs(t, st.Verify(tt.response), tt.want, "Verify(%q)", tt.response)
			assert.Equal(t, accepted, st, "a refused response leaves the State unchanged")
		})
	}
}

func mustResponse(t *testing.T, alg skey.Algorithm, pass, seed string, seq int) string {
	t.Helper()
	r, err := skey.Response(alg, pass, seed, seq, false)
	require.NoError(t, err)
	return r
}

func TestVerifyForms(t *testing.T) {
	st := newState(t)
	words := respond(t, st, 499)
	hex, err := skey.Response(st.Alg, testPass, st.Seed, 499, true)
	require.NoError(t, err)
	forms := []string{
		words,
		strings.ToLower(words),
		"  " + strings.ReplaceAll(strings.ToLower(words), " ", " \t  ") + "\r\n",
		hex,
		strings.ToLower(hex),
		strings.ReplaceAll(hex, " ", ""),
		"5b f0 75 d9 95 9d 03 6f",
		"hex:" + hex,
		"word:" + words,
		"Word: " + strings.ToLower(words),
	}
	for _, resp := range forms {
		s := st // each form against a fresh copy
		if assert.NoError(t, s.Verify(resp), "Verify(%q)", resp) {
			assert.Equal(t, 498, s.Seq, "Verify(%q) advances", resp)
		}
	}
	assert.Equal(t, 499, st.Seq, "the copies did not change the original")
}

// TestVerifyAmbiguous checks that a response valid both as six words and
// as hex is accepted when either reading is the password (RFC 2289
// section 6).
func TestVerifyAmbiguous(t *testing.T) {
	const in = "ABE ACE ADA ADD BAD A"
	asWords, err := skey.DecodeWords(in)
	require.NoError(t, err)
	asHex, err := skey.DecodeHex(in)
	require.NoError(t, err)
	for _, want := range []skey.OTP{asWords, asHex} {
		st := skey.State{Alg: skey.SHA1, Seed: "x", Seq: 7, Last: skey.SHA1.Next(want)}
		require.NoError(t, st.Verify(in), "reading %s", want)
		assert.Equal(t, want, st.Last, "the matching reading is stored")
		assert.Equal(t, 6, st.Seq)
	}
}

func TestVerifyExhausted(t *testing.T) {
	st, err := skey.NewState(skey.SHA1, testPass, "ke1234", 12)
	require.NoError(t, err)
	require.Equal(t, 11, st.Seq)
	for seq := 11; seq >= 1; seq-- {
		require.NoError(t, st.Verify(respond(t, st, seq)), "response for %d", seq)
		assert.Equal(t, seq-1 < skey.LowSeq, st.Seq < skey.LowSeq, "low after %d", seq)
	}
	assert.Equal(t, 0, st.Seq, "all passwords used")
	assert.NoError(t, st.Validate(), "an exhausted State is still valid")
	assert.Equal(t, "otp-sha1 0 ke1234", st.Challenge().String())
	_, err = skey.Response(st.Alg, testPass, st.Seed, st.Seq, false)
	assert.ErrorIs(t, err, skey.ErrSequence, "no generator answers sequence 0")

	o, err := skey.Compute(st.Alg, testPass, st.Seed, 0)
	require.NoError(t, err)
	before := st
	assert.ErrorIs(t, st.Verify(o.Words()), skey.ErrExhausted, "even the right password for 0 is refused")
	assert.Equal(t, before, st, "unchanged")

	var zero skey.State
	assert.ErrorIs(t, zero.Verify("A A A A A A"), skey.ErrExhausted, "the zero State accepts nothing")
	bad := skey.State{Seq: 5}
	assert.ErrorIs(t, bad.Verify("A A A A A A"), skey.ErrAlgorithm, "a State without algorithm")
}

func TestValidate(t *testing.T) {
	ok := skey.State{Alg: skey.MD5, Seed: "ke1235", Seq: 498}
	assert.NoError(t, ok.Validate())
	tests := []struct {
		name string
		edit func(*skey.State)
		want error
	}{
		{"zero algorithm", func(s *skey.State) { s.Alg = 0 }, skey.ErrAlgorithm},
		{"empty seed", func(s *skey.State) { s.Seed = "" }, skey.ErrSeed},
		{"bad seed", func(s *skey.State) { s.Seed = "a-b" }, skey.ErrSeed},
		{"negative sequence", func(s *skey.State) { s.Seq = -1 }, skey.ErrSequence},
		{"sequence MaxSeq", func(s *skey.State) { s.Seq = skey.MaxSeq }, skey.ErrSequence},
	}
	for _, tt := range tests {
		s := ok
		tt.edit(&s)
		assert.ErrorIs(t, s.Validate(), tt.want, tt.name)
	}
}

// TestReinitialiseFromGenerator follows RFC 2289 section 8: the user sends
// the password for a new seed and count, computed on the user's side, and
// the server builds the State from it without the pass phrase.
func TestReinitialiseFromGenerator(t *testing.T) {
	p, err := skey.Compute(skey.MD5, testPass, "ke1235", 499)
	require.NoError(t, err)
	st := skey.State{Alg: skey.MD5, Seed: "ke1235", Seq: 499 - 1, Last: p}
	require.NoError(t, st.Validate())
	assert.NoError(t, st.Verify(mustResponse(t, skey.MD5, testPass, "ke1235", 498)))
}

// TestVerifySerialised shows the use the package documentation asks for:
// with load, Verify and store under one lock, a response presented by many
// sessions at once is accepted exactly once.
func TestVerifySerialised(t *testing.T) {
	var (
		mu     sync.Mutex
		stored = newState(t)
		resp   = respond(t, stored, 499)
		wins   int
		wg     sync.WaitGroup
	)
	for range 16 {
		wg.Go(func() {
			mu.Lock()
			defer mu.Unlock()
			st := stored
			if st.Verify(resp) == nil {
				stored = st
				wins++
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 1, wins, "exactly one session logs in")
	assert.Equal(t, 498, stored.Seq)
}
