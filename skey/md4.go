package skey

import (
	"encoding/binary"
	"math/bits"
)

// md4Sum returns the MD4 digest of data (RFC 1320).
//
// The standard library has no MD4 and golang.org/x/crypto/md4 would be a
// whole module for forty lines, so the algorithm is written out here from
// RFC 1320 section 3. It serves only the OTP "md4" algorithm of RFC 2289;
// MD4 is broken as a collision-resistant hash and must not be used for
// anything else.
func md4Sum(data []byte) [16]byte {
	// Section 3.3: initialise the MD buffer.
	a, b, c, d := uint32(0x67452301), uint32(0xefcdab89), uint32(0x98badcfe), uint32(0x10325476)

	// Sections 3.1 and 3.2: pad with a 1 bit, zeros up to 56 mod 64 bytes,
	// then the message length in bits as 64 bits, low-order word first.
	n := len(data)
	padded := make([]byte, (n+8)/64*64+64)
	copy(padded, data)
	padded[n] = 0x80
	binary.LittleEndian.PutUint64(padded[len(padded)-8:], uint64(n)<<3)

	// Section 3.4: process each 16-word block.
	var x [16]uint32
	for block := padded; len(block) > 0; block = block[64:] {
		for i := range x {
			x[i] = binary.LittleEndian.Uint32(block[4*i:])
		}
		aa, bb, cc, dd := a, b, c, d

		// Round 1: F(X,Y,Z) = XY v not(X) Z.
		f := func(a, b, c, d uint32, k int, s int) uint32 {
			return bits.RotateLeft32(a+(b&c|^b&d)+x[k], s)
		}
		for _, k := range [4]int{0, 4, 8, 12} {
			a = f(a, b, c, d, k, 3)
			d = f(d, a, b, c, k+1, 7)
			c = f(c, d, a, b, k+2, 11)
			b = f(b, c, d, a, k+3, 19)
		}

		// Round 2: G(X,Y,Z) = XY v XZ v YZ, plus 0x5A827999.
		g := func(a, b, c, d uint32, k int, s int) uint32 {
			return bits.RotateLeft32(a+(b&c|b&d|c&d)+x[k]+0x5a827999, s)
		}
		for _, k := range [4]int{0, 1, 2, 3} {
			a = g(a, b, c, d, k, 3)
			d = g(d, a, b, c, k+4, 5)
			c = g(c, d, a, b, k+8, 9)
			b = g(b, c, d, a, k+12, 13)
		}

		// Round 3: H(X,Y,Z) = X xor Y xor Z, plus 0x6ED9EBA1.
		h := func(a, b, c, d uint32, k int, s int) uint32 {
			return bits.RotateLeft32(a+(b^c^d)+x[k]+0x6ed9eba1, s)
		}
		for _, k := range [4]int{0, 2, 1, 3} {
			a = h(a, b, c, d, k, 3)
			d = h(d, a, b, c, k+8, 9)
			c = h(c, d, a, b, k+4, 11)
			b = h(b, c, d, a, k+12, 15)
		}

		a += aa
		b += bb
		c += cc
		d += dd
	}

	// Section 3.5: the digest is A, B, C, D, each low-order byte first.
	var sum [16]byte
	binary.LittleEndian.PutUint32(sum[0:], a)
	binary.LittleEndian.PutUint32(sum[4:], b)
	binary.LittleEndian.PutUint32(sum[8:], c)
	binary.LittleEndian.PutUint32(sum[12:], d)
	return sum
}
