package skey_test

import (
	"bufio"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/skey"
)

// vector is one row of RFC 2289 Appendix C, from
// testdata/rfc2289-vectors.tsv.
type vector struct {
	section, passphrase, seed string
	alg                       skey.Algorithm
	count                     int
	hex, words, hexNormalized string
}

func readVectors(t *testing.T) []vector {
	t.Helper()
	f, err := os.Open("testdata/rfc2289-vectors.tsv")
	require.NoError(t, err, "the RFC 2289 vectors must be in testdata")
	defer f.Close()
	var vs []vector
	sc := bufio.NewScanner(f)
	require.True(t, sc.Scan(), "the vectors file needs a header")
	require.Equal(t, "section\talgorithm\tpass_phrase\tseed\tcount\thex\tsix_words\thex_normalized", sc.Text(), "header")
	for sc.Scan() {
		col := strings.Split(sc.Text(), "\t")
		require.Len(t, col, 8, "columns of %q", sc.Text())
		alg, err := skey.ParseAlgorithm(strings.ToLower(col[1]))
		require.NoError(t, err, "algorithm of %q", sc.Text())
		count, err := strconv.Atoi(col[4])
		require.NoError(t, err, "count of %q", sc.Text())
		vs = append(vs, vector{col[0], col[2], col[3], alg, count, col[5], col[6], col[7]})
	}
	require.NoError(t, sc.Err())
	require.Len(t, vs, 28, "27 rows of encodings and 1 parity row")
	return vs
}

func (v vector) name() string {
	return v.alg.String() + "/" + v.seed + "/" + strconv.Itoa(v.count)
}

func TestComputeVectors(t *testing.T) {
	for _, v := range readVectors(t) {
		t.Run(v.name(), func(t *testing.T) {
			o, err := skey.Compute(v.alg, v.passphrase, v.seed, v.count)
			require.NoError(t, err)
			assert.Equal(t, v.hexNormalized, o.String(), "hexadecimal value")
			assert.Equal(t, v.words, o.Words(), "six words")
			assert.True(t, strings.EqualFold(v.hex, o.Hex()) || v.hex == o.String(),
				"Hex() %q should print as the RFC does, %q", o.Hex(), v.hex)

			fromWords, err := skey.DecodeWords(v.words)
			require.NoError(t, err, "decoding the RFC's words")
			assert.Equal(t, o, fromWords, "words decode to the value")
			fromHex, err := skey.DecodeHex(v.hex)
			require.NoError(t, err, "decoding the RFC's hex")
			assert.Equal(t, o, fromHex, "hex decodes to the value")

			next, err := skey.Compute(v.alg, v.passphrase, v.seed, v.count+1)
			require.NoError(t, err)
			assert.Equal(t, next, v.alg.Next(o), "hashing once gives the password for count+1")

			if v.count >= 1 {
				w, err := skey.Response(v.alg, v.passphrase, v.seed, v.count, false)
				require.NoError(t, err)
				assert.Equal(t, v.words, w, "Response in words")
				h, err := skey.Response(v.alg, v.passphrase, v.seed, v.count, true)
				require.NoError(t, err)
				assert.Equal(t, o.Hex(), h, "Response in hex")

				// A server holding the password for count+1 accepts the
				// RFC's words and the RFC's hex for count.
				for _, resp := range []string{v.words, v.hex} {
					st := skey.State{Alg: v.alg, Seed: v.seed, Seq: v.count, Last: next}
					require.NoError(t, st.Verify(resp), "Verify(%q)", resp)
					assert.Equal(t, v.count-1, st.Seq, "sequence after Verify")
					assert.Equal(t, o, st.Last, "Last after Verify")
				}
			}
		})
	}
}

// TestRFC2243Appendix checks the reference responses of RFC 2243 to the
// challenge "otp-md5 499 ke1234 ext".
func TestRFC2243Appendix(t *testing.T) {
	c, err := skey.ParseChallenge("otp-md5 499 ke1234 ext")
	require.NoError(t, err)
	o, err := skey.Compute(c.Alg, "This is a test.", c.Seed, c.Seq)
	require.NoError(t, err)
	assert.Equal(t, "5bf075d9959d036f", o.String())
	assert.Equal(t, "BOND FOGY DRAB NE RISE MART", o.Words())
	for _, resp := range []string{"5bf0 75d9 959d 036f", "BOND FOGY DRAB NE RISE MART", "hex:5Bf0 75d9 959d 036f", "word:BOND FOGY DRAB NE RISE MART"} {
		got, err := skey.Decode(resp)
		if assert.NoError(t, err, "Decode(%q)", resp) {
			assert.Equal(t, o, got, "Decode(%q)", resp)
		}
	}
}

func TestComputeErrors(t *testing.T) {
	const pass = "A_Valid_Pass_Phrase"
	tests := []struct {
		name  string
		alg   skey.Algorithm
		seed  string
		count int
		want  error
	}{
		// RFC 2289 Appendix C, "Seed Values".
		{"seed not alphanumeric", skey.MD5, "Length_Okay", 99, skey.ErrSeed},
		{"seed of 17", skey.MD5, "LengthOfSeventeen", 99, skey.ErrSeed},
		{"seed with space", skey.MD5, "A Seed", 99, skey.ErrSeed},
		{"empty seed", skey.MD5, "", 99, skey.ErrSeed},
		{"seed with tab", skey.MD5, "a\tb", 99, skey.ErrSeed},
		{"non-ASCII seed", skey.MD5, "séed", 99, skey.ErrSeed},
		{"negative count", skey.MD5, "AValidSeed", -1, skey.ErrSequence},
		{"count over MaxSeq", skey.MD5, "AValidSeed", skey.MaxSeq + 1, skey.ErrSequence},
		{"zero algorithm", 0, "AValidSeed", 99, skey.ErrAlgorithm},
		{"unknown algorithm", skey.SHA1 + 1, "AValidSeed", 99, skey.ErrAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := skey.Compute(tt.alg, pass, tt.seed, tt.count)
			assert.ErrorIs(t, err, tt.want, "Compute")
			_, err = skey.Response(tt.alg, pass, tt.seed, tt.count, false)
			assert.ErrorIs(t, err, tt.want, "Response")
		})
	}
}

func TestComputeBounds(t *testing.T) {
	_, err := skey.Compute(skey.SHA1, "A_Valid_Pass_Phrase", "sixteencharseed1", skey.MaxSeq)
	assert.NoError(t, err, "count MaxSeq and a 16-character seed are allowed")
	a, err := skey.Compute(skey.MD5, "This is a test.", "TeSt", 5)
	require.NoError(t, err)
	b, err := skey.Compute(skey.MD5, "This is a test.", "test", 5)
	require.NoError(t, err)
	assert.Equal(t, a, b, "the seed is case insensitive")
}

func TestPassphraseRules(t *testing.T) {
	long := strings.Repeat("1234567890", 6) + "1234" // 64, Appendix C: only a warning
	tests := []struct {
		name, pass, seed string
		want             error // from Response and NewState; Compute accepts all
	}{
		{"too short (Appendix C)", "Too_short", "iamvalid", skey.ErrPassphrase},
		{"empty", "", "iamvalid", skey.ErrPassphrase},
		{"ten runes, more bytes", "ééééééééé!", "iamvalid", nil},
		{"nine runes, more bytes", "éééééééé!", "iamvalid", skey.ErrPassphrase},
		{"exactly ten", "0123456789", "iamvalid", nil},
		{"longer than 63", long, "iamvalid", nil},
		{"same as the seed", "SameAsSeed", "sameasseed", skey.ErrPassphrase},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := skey.Compute(skey.MD5, tt.pass, tt.seed, 99)
			assert.NoError(t, err, "Compute does not judge pass phrases")
			_, err = skey.Response(skey.MD5, tt.pass, tt.seed, 99, false)
			assertErrorIs(t, err, tt.want, "Response")
			_, err = skey.NewState(skey.MD5, tt.pass, tt.seed, 99)
			assertErrorIs(t, err, tt.want, "NewState")
		})
	}
}

func assertErrorIs(t *testing.T, err, want error, what string) {
	t.Helper()
	if want == nil {
		assert.NoError(t, err, what)
	} else {
		assert.ErrorIs(t, err, want, what)
	}
}

func TestResponse(t *testing.T) {
	_, err := skey.Response(skey.MD5, "This is a test.", "TeSt", 0, false)
	assert.ErrorIs(t, err, skey.ErrSequence, "generators refuse sequence numbers below 1")
	h, err := skey.Response(skey.MD5, "This is a test.", "TeSt", 1, true)
	require.NoError(t, err)
	assert.Equal(t, "7965 E054 36F5 029F", h, "Appendix C format")
}

func TestAlgorithm(t *testing.T) {
	for _, tt := range []struct {
		alg  skey.Algorithm
		name string
	}{{skey.MD4, "md4"}, {skey.MD5, "md5"}, {skey.SHA1, "sha1"}} {
		assert.Equal(t, tt.name, tt.alg.String())
		got, err := skey.ParseAlgorithm(tt.name)
		require.NoError(t, err, "ParseAlgorithm(%q)", tt.name)
		assert.Equal(t, tt.alg, got, "ParseAlgorithm(%q)", tt.name)
		text, err := tt.alg.MarshalText()
		require.NoError(t, err)
		assert.Equal(t, tt.name, string(text), "MarshalText")
		var back skey.Algorithm
		require.NoError(t, back.UnmarshalText(text))
		assert.Equal(t, tt.alg, back, "UnmarshalText")
	}
	for _, bad := range []string{"", "MD5", "Md5", "sha", "sha256", "md5 "} {
		_, err := skey.ParseAlgorithm(bad)
		assert.ErrorIs(t, err, skey.ErrAlgorithm, "ParseAlgorithm(%q): identifiers are case sensitive", bad)
	}
	assert.Equal(t, "Algorithm(0)", skey.Algorithm(0).String(), "zero Algorithm")
	_, err := skey.Algorithm(0).MarshalText()
	assert.ErrorIs(t, err, skey.ErrAlgorithm, "zero Algorithm does not marshal")
	var a skey.Algorithm
	assert.ErrorIs(t, a.UnmarshalText([]byte("md6")), skey.ErrAlgorithm)
	assert.Equal(t, skey.OTP{}, skey.Algorithm(0).Next(skey.OTP{1}), "Next of the zero Algorithm")
}

func TestStateJSON(t *testing.T) {
	st, err := skey.NewState(skey.SHA1, "This is a test.", "TeSt", 100)
	require.NoError(t, err)
	b, err := json.Marshal(st)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"Alg":"sha1"`, "the algorithm is stored by name")
	assert.Contains(t, string(b), `"Last":"`+st.Last.String()+`"`, "the password is stored in hex")
	var back skey.State
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, st, back, "State survives JSON")
	assert.Error(t, json.Unmarshal([]byte(`{"Last":"not hex"}`), &back), "bad Last is refused")
}
