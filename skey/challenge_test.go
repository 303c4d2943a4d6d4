package skey_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/skey"
)

func TestChallengeString(t *testing.T) {
	tests := []struct {
		c    skey.Challenge
		want string
	}{
		{skey.Challenge{Alg: skey.MD5, Seq: 487, Seed: "dog2"}, "otp-md5 487 dog2"},
		{skey.Challenge{Alg: skey.MD4, Seq: 1, Seed: "TeSt"}, "otp-md4 1 TeSt"},
		{skey.Challenge{Alg: skey.SHA1, Seq: 9999, Seed: "ke1234"}, "otp-sha1 9999 ke1234"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.c.String())
		back, err := skey.ParseChallenge(tt.c.String())
		require.NoError(t, err, "ParseChallenge(%q)", tt.want)
		assert.Equal(t, tt.c, back, "round trip of %q", tt.want)
	}
}

func TestParseChallenge(t *testing.T) {
	md5 := func(seq int, seed string) skey.Challenge {
		return skey.Challenge{Alg: skey.MD5, Seq: seq, Seed: seed}
	}
	tests := []struct {
		name, in string
		want     skey.Challenge
	}{
		{"RFC 2289 example", "otp-md5 487 dog2", md5(487, "dog2")},
		{"terminated by a space", "otp-md5 499 ke1234 ", md5(499, "ke1234")},
		{"terminated by a new line", "otp-md5 499 ke1234\r\n", md5(499, "ke1234")},
		{"RFC 2243 extended", "otp-md5 499 ke1234 ext", md5(499, "ke1234")},
		{"RFC 2243 extension set", "otp-md5 123 mi1234 ext,foo", md5(123, "mi1234")},
		{"tabs and runs of spaces", "otp-md5\t\t499   ke1234\t", md5(499, "ke1234")},
		{"leading white space", "  otp-md5 499 ke1234", md5(499, "ke1234")},
		{"seed case kept", "otp-md5 99 KE1234", md5(99, "KE1234")},
		{"in an FTP reply", "otp-md5 98 ab12 required for alice.", md5(98, "ab12")},
		{"leading zeros", "otp-md5 0099 ab12", md5(99, "ab12")},
		{"sequence 0 parses", "otp-md5 0 ab12", md5(0, "ab12")},
		{"sha1", "otp-sha1 95 host1234", skey.Challenge{Alg: skey.SHA1, Seq: 95, Seed: "host1234"}},
		{"md4", "otp-md4 95 host1234", skey.Challenge{Alg: skey.MD4, Seq: 95, Seed: "host1234"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := skey.ParseChallenge(tt.in)
			require.NoError(t, err, "ParseChallenge(%q)", tt.in)
			assert.Equal(t, tt.want, got, "ParseChallenge(%q)", tt.in)
		})
	}
}

func TestParseChallengeErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     error // besides ErrChallenge
	}{
		{"empty", "", nil},
		{"not a challenge", "331 Password required", nil},
		{"upper-case prefix", "OTP-md5 499 ke1234", nil},
		{"S/KEY syntax", "s/key 99 ke1234", nil},
		{"two tokens", "otp-md5 499", nil},
		{"new line inside", "otp-md5\n499 ke1234", nil},
		{"upper-case algorithm", "otp-MD5 499 ke1234", skey.ErrAlgorithm},
		{"unknown algorithm", "otp-sha256 499 ke1234", skey.ErrAlgorithm},
		{"no algorithm", "otp- 499 ke1234", skey.ErrAlgorithm},
		{"negative sequence", "otp-md5 -1 ke1234", skey.ErrSequence},
		{"signed sequence", "otp-md5 +1 ke1234", skey.ErrSequence},
		{"sequence over MaxSeq", "otp-md5 10000 ke1234", skey.ErrSequence},
		{"huge sequence", "otp-md5 99999999999999999999999 ke1234", skey.ErrSequence},
		{"hex sequence", "otp-md5 0x10 ke1234", skey.ErrSequence},
		{"seed not alphanumeric", "otp-md5 499 ke_1234", skey.ErrSeed},
		{"seed too long", "otp-md5 499 LengthOfSeventeen", skey.ErrSeed},
		{"non-ASCII seed", "otp-md5 499 kë1234", skey.ErrSeed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := skey.ParseChallenge(tt.in)
			assert.ErrorIs(t, err, skey.ErrChallenge, "ParseChallenge(%q)", tt.in)
			if tt.want != nil {
				assert.ErrorIs(t, err, tt.want, "ParseChallenge(%q)", tt.in)
			}
			assert.Equal(t, skey.Challenge{}, got, "a failed parse returns the zero Challenge")
		})
	}
}

func TestFindChallenge(t *testing.T) {
	tests := []struct {
		in   string
		want skey.Challenge
	}{
		{"331 Response to otp-md5 499 ke1234 required for alice.", skey.Challenge{Alg: skey.MD5, Seq: 499, Seed: "ke1234"}},
		{"331 otp-sha1 95 ab12 ext", skey.Challenge{Alg: skey.SHA1, Seq: 95, Seed: "ab12"}},
		{"otp-md4 5 x", skey.Challenge{Alg: skey.MD4, Seq: 5, Seed: "x"}},
		{"331 user xotp-md5 1 a, then otp-bad 1 a, then\totp-md5 7 b7", skey.Challenge{Alg: skey.MD5, Seq: 7, Seed: "b7"}},
	}
	for _, tt := range tests {
		got, err := skey.FindChallenge(tt.in)
		require.NoError(t, err, "FindChallenge(%q)", tt.in)
		assert.Equal(t, tt.want, got, "FindChallenge(%q)", tt.in)
	}
	_, err := skey.FindChallenge("331 Password required for alice.")
	assert.ErrorIs(t, err, skey.ErrChallenge, "no challenge")
	_, err = skey.FindChallenge("331 otp-md5 499 bad_seed required")
	assert.ErrorIs(t, err, skey.ErrSeed, "the reason of the last candidate")
	_, err = skey.FindChallenge("xotp-md5 499 ke1234")
	assert.ErrorIs(t, err, skey.ErrChallenge, "a challenge starts a token")
}

func FuzzParseChallenge(f *testing.F) {
	for _, s := range []string{
		"otp-md5 499 ke1234 ext", "otp-sha1\t95 Seed\r\n", "otp-md4 0 a", "otp-", "otp-md5 10000 x",
		"331 Response to otp-md5 499 ke1234 required for alice.", "otp-md5 499 ke_1234", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if c, err := skey.FindChallenge(s); err == nil && !strings.Contains(s, c.Seed) {
			t.Fatalf("FindChallenge(%q) = %+v, a seed not in the text", s, c)
		}
		c, err := skey.ParseChallenge(s)
		if err != nil {
			if c != (skey.Challenge{}) {
				t.Fatalf("ParseChallenge(%q) failed with %v but returned %+v", s, err, c)
			}
			return
		}
		if c.Seq < 0 || c.Seq > skey.MaxSeq || c.Seed == "" || len(c.Seed) > skey.MaxSeed {
			t.Fatalf("ParseChallenge(%q) = %+v, out of range", s, c)
		}
		back, err := skey.ParseChallenge(c.String())
		if err != nil || back != c {
			t.Fatalf("ParseChallenge(%q) = %+v does not round trip through %q: %+v, %v", s, c, c.String(), back, err)
		}
		if found, err := skey.FindChallenge(s); err != nil || found != c {
			t.Fatalf("FindChallenge(%q) = %+v, %v; ParseChallenge found %+v", s, found, err, c)
		}
	})
}
