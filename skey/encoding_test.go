package skey_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/skey"
)

// otp parses sixteen hex digits or fails the test.
func otp(t testing.TB, hex string) skey.OTP {
	t.Helper()
	o, err := skey.DecodeHex(hex)
	require.NoError(t, err, "test value %q", hex)
	return o
}

func TestDecode(t *testing.T) {
	const oust = "OUST COAT FOAL MUG BEAK TOTE"
	oustOTP, err := skey.DecodeWords(oust)
	require.NoError(t, err, "RFC 2289 section 6 example")
	tests := []struct {
		name, in string
		want     skey.OTP
	}{
		// RFC 2289 section 6, "Form of Output".
		{"hex compact", "3503785b369cda8b", otp(t, "3503785b369cda8b")},
		{"hex groups of four", "e5cc a1b8 7c13 096b", otp(t, "e5cca1b87c13096b")},
		{"hex pairs upper", "C7 48 90 F4 27 7B A1 CF", otp(t, "c74890f4277ba1cf")},
		{"hex uneven groups", "47 9 A68 28 4C 9D 0 1BC", otp(t, "479a68284c9d01bc")},
		{"words as generated", oust, oustOTP},
		{"words as typed", "oust coat foal  mug  beak  tote", oustOTP},
		{"words mixed case, tabs, line end", "\tOust cOAT\tfoal mug beak tote\r\n", oustOTP},
		// RFC 2243 section 3.
		{"hex: prefix", "hex:5Bf0 75d9 959d 036f", otp(t, "5bf075d9959d036f")},
		{"word: prefix", "word:BOND FOGY DRAB NE RISE MART", otp(t, "5bf075d9959d036f")},
		{"prefix in other case and spaced", " WORD :bond fogy drab ne rise mart", otp(t, "5bf075d9959d036f")},
		{"hex tab separated", "5bf0\t75d9\t959d\t036f", otp(t, "5bf075d9959d036f")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := skey.Decode(tt.in)
			require.NoError(t, err, "Decode(%q)", tt.in)
			assert.Equal(t, tt.want, got, "Decode(%q)", tt.in)
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     error
	}{
		// RFC 2289 Appendix C, "Parity Calculations" (the correct one is
		// FOWL KID MASH DEAD DUAL OAF).
		{"parity NUT", "FOWL KID MASH DEAD DUAL NUT", skey.ErrChecksum},
		{"parity O", "FOWL KID MASH DEAD DUAL O", skey.ErrChecksum},
		{"parity OAK", "FOWL KID MASH DEAD DUAL OAK", skey.ErrChecksum},
		{"unknown word", "FOWL KID MASH DEAD DUAL ZZZZ", skey.ErrUnknownWord},
		{"word too long", "FOWL KID MASH DEAD DUAL OAFS", skey.ErrUnknownWord},
		{"non-ASCII look-alike", "FOWL KID MASH DEAD DUAL OAſ", skey.ErrUnknownWord},
		{"five words", "FOWL KID MASH DEAD DUAL", skey.ErrMalformed},
		{"seven words", "FOWL KID MASH DEAD DUAL OAF OAF", skey.ErrMalformed},
		{"empty", "", skey.ErrMalformed},
		{"only spaces", " \t ", skey.ErrMalformed},
		{"15 hex digits", "85c4 3ee0 3857 765", skey.ErrMalformed},
		{"17 hex digits", "85c4 3ee0 3857 765b 0", skey.ErrMalformed},
		{"not hex", "85c4 3ee0 3857 765g", skey.ErrMalformed},
		{"0x prefix", "0x85c43ee03857765b", skey.ErrMalformed},
		{"too long", "85c43ee03857765b" + strings.Repeat(" ", 600), skey.ErrMalformed},
		{"init-hex unsupported", "init-hex:5bf0 75d9 959d 036f:md5 499 ke1235:3712 dcb4 aa53 16c1", skey.ErrMalformed},
		{"unknown type", "foo:5bf0 75d9 959d 036f", skey.ErrMalformed},
		{"hex: with words", "hex:BOND FOGY DRAB NE RISE MART", skey.ErrMalformed},
		{"word: with hex", "word:5bf0 75d9 959d 036f", skey.ErrMalformed},
		{"word: with bad parity", "word:FOWL KID MASH DEAD DUAL NUT", skey.ErrChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := skey.Decode(tt.in)
			assert.ErrorIs(t, err, tt.want, "Decode(%q)", tt.in)
			assert.Equal(t, skey.OTP{}, got, "a failed Decode returns the zero OTP")
			assert.NotContains(t, err.Error(), "FOWL", "errors never echo the response")
		})
	}
}

func TestDecodeWordsAndHexOnly(t *testing.T) {
	_, err := skey.DecodeWords("5bf0 75d9 959d 036f")
	assert.ErrorIs(t, err, skey.ErrMalformed, "DecodeWords refuses hex")
	_, err = skey.DecodeWords("hex:5bf0 75d9 959d 036f")
	assert.ErrorIs(t, err, skey.ErrMalformed, "DecodeWords refuses the hex: type")
	_, err = skey.DecodeHex("BOND FOGY DRAB NE RISE MART")
	assert.ErrorIs(t, err, skey.ErrMalformed, "DecodeHex refuses words")
	_, err = skey.DecodeHex("word:BOND FOGY DRAB NE RISE MART")
	assert.ErrorIs(t, err, skey.ErrMalformed, "DecodeHex refuses the word: type")
}

// TestDecodeAmbiguous uses the example of RFC 2243 section 3, a response
// that is both six dictionary words and sixteen hex digits.
func TestDecodeAmbiguous(t *testing.T) {
	const in = "ABE ACE ADA ADD BAD A"
	asHex, err := skey.DecodeHex(in)
	require.NoError(t, err)
	assert.Equal(t, otp(t, "abeaceadaaddbada"), asHex)
	asWords, err := skey.DecodeWords(in)
	require.NoError(t, err, "the words are valid too, checksum included")
	assert.Equal(t, otp(t, "0020080280605600"), asWords)
	got, err := skey.Decode(in)
	require.NoError(t, err)
	assert.Equal(t, asWords, got, "Decode prefers six words (RFC 2289 section 6)")
	got, err = skey.Decode("hex:" + in)
	require.NoError(t, err)
	assert.Equal(t, asHex, got, "the hex: type of RFC 2243 settles it")
}

func TestEncodingRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(2289, 1760))
	values := []skey.OTP{{}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}
	for range 2000 {
		var o skey.OTP
		for i := range o {
			o[i] = byte(r.Uint32())
		}
		values = append(values, o)
	}
	for _, o := range values {
		w := o.Words()
		assert.Len(t, strings.Fields(w), 6, "six words for %s", o)
		assert.Equal(t, strings.ToUpper(w), w, "upper case")
		assert.NotContains(t, w, "  ", "single spaces")
		back, err := skey.DecodeWords(w)
		if assert.NoError(t, err, "DecodeWords(%q)", w) {
			assert.Equal(t, o, back, "words round trip")
		}
		back, err = skey.DecodeWords(strings.ToLower(w))
		if assert.NoError(t, err, "lower case %q", w) {
			assert.Equal(t, o, back, "lower-case words round trip")
		}
		for _, h := range []string{o.Hex(), o.String(), strings.ToLower(o.Hex())} {
			back, err = skey.DecodeHex(h)
			if assert.NoError(t, err, "DecodeHex(%q)", h) {
				assert.Equal(t, o, back, "hex round trip")
			}
		}
		text, err := o.MarshalText()
		require.NoError(t, err)
		var fromText skey.OTP
		require.NoError(t, fromText.UnmarshalText(text))
		assert.Equal(t, o, fromText, "text round trip")
	}
}

func TestOTPFormats(t *testing.T) {
	o := otp(t, "9e876134d90499dd")
	assert.Equal(t, "9e876134d90499dd", o.String(), "String: compact lower case")
	assert.Equal(t, "9E87 6134 D904 99DD", o.Hex(), "Hex: RFC 2289 Appendix C")
	assert.Equal(t, "INCH SEA ANNE LONG AHEM TOUR", o.Words(), "Words")
	assert.Equal(t, "A A A A A A", skey.OTP{}.Words(), "zero OTP: index 0 six times, checksum 0")
	assert.Equal(t, "0000 0000 0000 0000", skey.OTP{}.Hex())
	var u skey.OTP
	assert.ErrorIs(t, u.UnmarshalText([]byte("0123")), skey.ErrMalformed)
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		"OUST COAT FOAL MUG BEAK TOTE", "oust coat foal  mug  beak  tote",
		"47 9 A68 28 4C 9D 0 1BC", "3503785b369cda8b", "ABE ACE ADA ADD BAD A",
		"FOWL KID MASH DEAD DUAL NUT", "hex:5Bf0 75d9 959d 036f", "word:BOND FOGY DRAB NE RISE MART",
		"init-hex:a:b:c", ":", "", "ıt ſo a a a a", "\xff\xfe",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := skey.Decode(s)
		if err != nil {
			if o != (skey.OTP{}) {
				t.Fatalf("Decode(%q) failed with %v but returned %v", s, err, o)
			}
			return
		}
		w, werr := skey.DecodeWords(s)
		h, herr := skey.DecodeHex(s)
		switch {
		case werr == nil && w != o:
			t.Fatalf("Decode(%q) = %v, DecodeWords = %v", s, o, w)
		case werr != nil && (herr != nil || h != o):
			t.Fatalf("Decode(%q) = %v, but DecodeWords: %v and DecodeHex = %v, %v", s, o, werr, h, herr)
		}
		if back, err := skey.DecodeWords(o.Words()); err != nil || back != o {
			t.Fatalf("Words of %v do not round trip: %v, %v", o, back, err)
		}
		if back, err := skey.DecodeHex(o.Hex()); err != nil || back != o {
			t.Fatalf("Hex of %v does not round trip: %v, %v", o, back, err)
		}
		var st skey.State
		st.Alg, st.Seq, st.Last = skey.MD5, 5, skey.MD5.Next(o)
		if err := st.Verify(s); err != nil || st.Seq != 4 || st.Last != o {
			t.Fatalf("Verify(%q) after Decode = %v: %v, state %+v", s, o, err, st)
		}
	})
}
