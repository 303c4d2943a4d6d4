package skey

import (
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// OTP is a 64-bit one-time password, in the byte order of RFC 2289
// Appendix A: the first byte is the first pair of hexadecimal digits and
// holds the most significant bits of the six-word encoding. The zero OTP is
// a valid value like any other.
type OTP [8]byte

// String returns o as sixteen lower-case hexadecimal digits without
// spaces, "9e876134d90499dd", the form [OTP.MarshalText] writes.
func (o OTP) String() string {
	const digits = "0123456789abcdef"
	var b [16]byte
	for i, c := range o {
		b[2*i], b[2*i+1] = digits[c>>4], digits[c&0x0f]
	}
	return string(b[:])
}

// Hex returns o as a generator presents it in hexadecimal: upper-case
// digits in four groups of four, "9E87 6134 D904 99DD" (RFC 2289
// Appendix C).
func (o OTP) Hex() string {
	const digits = "0123456789ABCDEF"
	var b [19]byte
	j := 0
	for i, c := range o {
		if i > 0 && i%2 == 0 {
			b[j] = ' '
			j++
		}
		b[j], b[j+1] = digits[c>>4], digits[c&0x0f]
		j += 2
	}
	return string(b[:])
}

// Words returns o in the six-word format of RFC 2289 section 6: the 64
// bits and a 2-bit checksum cut into six 11-bit indexes into the standard
// dictionary, as upper-case words separated by single spaces.
func (o OTP) Words() string {
	idx := o.indexes()
	var b strings.Builder
	b.Grow(6 * 5)
	for i, n := range idx {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(dictionary[n])
	}
	return b.String()
}

// MarshalText implements [encoding.TextMarshaler] with the form of
// [OTP.String].
func (o OTP) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText implements [encoding.TextUnmarshaler] with [DecodeHex].
func (o *OTP) UnmarshalText(text []byte) error {
	v, err := DecodeHex(string(text))
	if err != nil {
		return err
	}
	*o = v
	return nil
}

// checksum returns the low two bits of the sum of the 32 two-bit pairs of
// v (RFC 2289 section 6, "Form of Output").
func checksum(v uint64) uint64 {
	var sum uint64
	for ; v != 0; v >>= 2 {
		sum += v & 3
	}
	return sum & 3
}

// indexes returns the six 11-bit dictionary indexes of o: the 64 bits,
// most significant first, followed by the checksum.
func (o OTP) indexes() [6]uint16 {
	v := binary.BigEndian.Uint64(o[:])
	var idx [6]uint16
	for i := range 5 {
		idx[i] = uint16(v>>(53-11*i)) & 0x7ff
	}
	idx[5] = uint16(v&0x1ff)<<2 | uint16(checksum(v))
	return idx
}

// maxResponse bounds the length of a response that the decoders look at.
// Six words need 29 bytes and hexadecimal at most 31 with single spaces;
// the rest is room for "arbitrary amounts of whitespace" (RFC 2243
// section 2.2, which also says to "limit the length of the input
// reasonably").
const maxResponse = 512

// Decode returns the one-time password in a response, in any of the forms
// that RFC 2289 section 6 requires a server to accept:
//
//   - six words of the standard dictionary, in any case, separated by any
//     amount of white space: "oust coat foal  mug  beak  tote";
//   - sixteen hexadecimal digits in any case, with white space anywhere
//     between them: "e5cc a1b8 7c13 096b", "47 9 A68 28 4C 9D 0 1BC".
//
// The explicitly typed forms of RFC 2243 section 3, "hex:..." and
// "word:...", are accepted as well; other extended responses are refused
// with [ErrMalformed].
//
// A string that is valid both ways is returned as words, as section 6
// orders; [State.Verify] tries both readings.
//
// The errors are [ErrMalformed], [ErrUnknownWord] and [ErrChecksum]. When
// neither reading works the error is about the six-word reading, unless s
// is not six tokens and holds only hexadecimal digits and white space.
// Input longer than 512 bytes is refused as malformed.
func Decode(s string) (OTP, error) {
	words, hex, err := decode(s, true, true)
	switch {
	case words.ok:
		return words.otp, nil
	case hex.ok:
		return hex.otp, nil
	}
	return OTP{}, err
}

// DecodeWords is [Decode] for the six-word format only. It also accepts
// the "word:" prefix of RFC 2243.
func DecodeWords(s string) (OTP, error) {
	words, _, err := decode(s, true, false)
	return words.otp, err
}

// DecodeHex is [Decode] for the hexadecimal format only. It also accepts
// the "hex:" prefix of RFC 2243.
func DecodeHex(s string) (OTP, error) {
	_, hex, err := decode(s, false, true)
	return hex.otp, err
}

// reading is one interpretation of a response.
type reading struct {
	otp OTP
	ok  bool
}

// decode reads s as six words if tryWords and as hexadecimal if tryHex,
// both unless an RFC 2243 "word:" or "hex:" prefix says which. If no
// reading succeeds, err says why, preferring the word error when s has
// six tokens or any character that is not a hexadecimal digit.
func decode(s string, tryWords, tryHex bool) (words, hex reading, err error) {
	if len(s) > maxResponse {
		return words, hex, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, maxResponse)
	}
	if typ, rest, ok := strings.Cut(s, ":"); ok {
		// Plain responses never contain a colon. The type is compared
		// without regard to case (RFC 2243 section 2.2).
		switch typ = strings.Trim(typ, spaces); {
		case strings.EqualFold(typ, "word") && tryWords:
			tryHex = false
		case strings.EqualFold(typ, "hex") && tryHex:
			tryWords = false
		default:
			return words, hex, fmt.Errorf("%w: unsupported extended response type", ErrMalformed)
		}
		s = rest
	}
	var werr, herr error
	if tryWords {
		words.otp, werr = decodeWords(s)
		words.ok = werr == nil
	}
	if tryHex {
		hex.otp, herr = decodeHex(s)
		hex.ok = herr == nil
	}
	switch {
	case words.ok || hex.ok:
		return words, hex, nil
	case !tryWords:
		return words, hex, herr
	case !tryHex:
		return words, hex, werr
	case errors.Is(werr, ErrMalformed) && hexLike(s):
		// Not six tokens, and only digits and spaces: say what is wrong
		// with it as hexadecimal.
		return words, hex, herr
	}
	return words, hex, werr
}

// spaces is the white space that separates words and hexadecimal digits.
const spaces = " \t\r\n\v\f"

func isSpace(c byte) bool { return strings.IndexByte(spaces, c) >= 0 }

// hexLike reports whether s holds hexadecimal digits and white space only.
func hexLike(s string) bool {
	for i := 0; i < len(s); i++ {
		if _, ok := hexDigit(s[i]); !ok && !isSpace(s[i]) {
			return false
		}
	}
	return true
}

// decodeWords reads six words of the standard dictionary.
func decodeWords(s string) (OTP, error) {
	var tok [6]string
	switch n := fields(s, tok[:]); {
	case n > len(tok):
		return OTP{}, fmt.Errorf("%w: more than six words", ErrMalformed)
	case n < len(tok):
		return OTP{}, fmt.Errorf("%w: fewer than six words", ErrMalformed)
	}
	var idx [6]uint16
	for i, w := range tok {
		k, ok := lookup(w)
		if !ok {
			return OTP{}, ErrUnknownWord
		}
		idx[i] = k
	}
	var v uint64
	for _, k := range idx[:5] {
		v = v<<11 | uint64(k)
	}
	v = v<<9 | uint64(idx[5]>>2)
	if checksum(v) != uint64(idx[5]&3) {
		return OTP{}, ErrChecksum
	}
	var o OTP
	binary.BigEndian.PutUint64(o[:], v)
	return o, nil
}

// fields stores the white-space-separated tokens of s in dst and returns
// their number, counting at most one past len(dst).
func fields(s string, dst []string) int {
	n := 0
	for i := 0; i < len(s) && n <= len(dst); {
		if isSpace(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && !isSpace(s[j]) {
			j++
		}
		if n < len(dst) {
			dst[n] = s[i:j]
		}
		n++
		i = j
	}
	return n
}

// decodeHex reads sixteen hexadecimal digits, ignoring white space.
func decodeHex(s string) (OTP, error) {
	var o OTP
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isSpace(c) {
			continue
		}
		d, ok := hexDigit(c)
		if !ok {
			return OTP{}, fmt.Errorf("%w: not a hexadecimal digit", ErrMalformed)
		}
		if n == 2*len(o) {
			return OTP{}, fmt.Errorf("%w: more than 16 hexadecimal digits", ErrMalformed)
		}
		o[n/2] |= d << (4 * (1 - n%2))
		n++
	}
	if n < 2*len(o) {
		return OTP{}, fmt.Errorf("%w: fewer than 16 hexadecimal digits", ErrMalformed)
	}
	return o, nil
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// The standard dictionary of RFC 2289 Appendix D (the same as RFC 1760's),
// one upper-case word a line, index 0 first.
//
//go:embed words.txt
var wordsTxt string

// dictionary maps an 11-bit index to its word; wordIndex is the reverse.
var dictionary, wordIndex = loadDictionary(wordsTxt)

func loadDictionary(txt string) ([2048]string, map[string]uint16) {
	var dict [2048]string
	index := make(map[string]uint16, len(dict))
	lines := strings.Split(strings.TrimSuffix(txt, "\n"), "\n")
	if len(lines) != len(dict) {
		panic(fmt.Sprintf("skey: words.txt has %d words, want %d", len(lines), len(dict)))
	}
	for i, w := range lines {
		if _, dup := index[w]; dup || len(w) < 1 || len(w) > 4 || strings.ToUpper(w) != w {
			panic(fmt.Sprintf("skey: words.txt line %d: bad word %q", i+1, w))
		}
		dict[i] = w
		index[w] = uint16(i)
	}
	return dict, index
}

// lookup returns the index of word, compared without regard to ASCII
// case. Only ASCII letters can match: the words of the dictionary are
// ASCII, and Unicode case mapping would let "ıt" pass for "IT".
func lookup(word string) (uint16, bool) {
	if len(word) > 4 {
		return 0, false
	}
	var b [4]byte
	for i := 0; i < len(word); i++ {
		b[i] = upperASCII(word[i])
	}
	k, ok := wordIndex[string(b[:len(word)])]
	return k, ok
}
