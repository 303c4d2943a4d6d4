package skey

import (
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMD4(t *testing.T) {
	// ramp returns n bytes 0, 1, 2, ... modulo 251.
	ramp := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i % 251)
		}
		return string(b)
	}
	tests := []struct {
		name, in, want string
	}{
		// RFC 1320 Appendix A.5, "MD4 test suite".
		{"empty", "", "31d6cfe0d16ae931b73c59d7e0c089c0"},
		{"a", "a", "bde52cb31de33e46245e05fbdbd6fb24"},
		{"abc", "abc", "a448017aaf21d8525fc10ae87aa6729d"},
		{"message digest", "message digest", "d9130a8164549fe818874806e1c7014b"},
		{"alphabet", "abcdefghijklmnopqrstuvwxyz", "d79e1c308aa5bbcdeea8ed63df412da9"},
		{"alphanumeric", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "043f8582f241db351ce627e153e7f0e4"},
		{"digits", "12345678901234567890123456789012345678901234567890123456789012345678901234567890", "e33b4ddc9c38f2199c3e7b164fcc0536"},
		// Lengths around the padding and block boundaries; digests from
		// OpenSSL's MD4 (legacy provider).
		{"ramp55", ramp(55), "cc8a7f2bd608e3eeecb7f121d13bea55"},
		{"ramp56", ramp(56), "b8e94b6408bbfa6ec9805bf21bc05cbd"},
		{"ramp63", ramp(63), "54ba4472fcd03e99cf28f90eed9f2ae0"},
		{"ramp64", ramp(64), "2de6578f0e7898fa17acd84b79685d3a"},
		{"ramp65", ramp(65), "3a4f2ca37eebdf6dc99a6155517b74fc"},
		{"ramp119", ramp(119), "9c1067170940ce8f8e4745d362675fab"},
		{"ramp120", ramp(120), "c5bb35660e3d0a286a96ea3aa4922b3c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum := md4Sum([]byte(tt.in))
			assert.Equal(t, tt.want, hex.EncodeToString(sum[:]), "MD4 of %d bytes", len(tt.in))
		})
	}
}

func TestDictionary(t *testing.T) {
	// Landmarks of RFC 2289 Appendix D: the 1-3 letter block ends at 570,
	// the 4-letter block runs from 571 to the end.
	for i, want := range map[int]string{0: "A", 1: "ABE", 570: "YOU", 571: "ABED", 2047: "YOKE"} {
		assert.Equal(t, want, dictionary[i], "word %d", i)
	}
	assert.Len(t, wordIndex, 2048, "every word is distinct")
	for i, w := range dictionary {
		k, ok := lookup(w)
		if assert.True(t, ok, "lookup of %q", w) {
			assert.Equal(t, uint16(i), k, "index of %q", w)
		}
		if i > 0 && i != 571 {
			assert.Less(t, dictionary[i-1], w, "each block of the dictionary is sorted")
		}
	}
	for _, w := range []string{"", "ıt", "ſo", "ABEDS", "A\x00", "ABE\xff"} {
		_, ok := lookup(w)
		assert.False(t, ok, "lookup of %q must fail", w)
	}
}

func TestLoadDictionaryRejectsBadLists(t *testing.T) {
	assert.Panics(t, func() { loadDictionary("A\nB\n") }, "too few words")
	two := wordsTxt[:len(wordsTxt)-len("YOKE\n")] + "A\n"
	assert.Panics(t, func() { loadDictionary(two) }, "duplicate word")
}
