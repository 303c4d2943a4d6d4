package skey_test

import (
	"errors"
	"fmt"

	"github.com/ferryftp/ferry/skey"
)

// The first lines of the MD5 table of RFC 2289 Appendix C.
func ExampleCompute() {
	for _, count := range []int{0, 1, 99} {
		o, err := skey.Compute(skey.MD5, "This is a test.", "TeSt", count)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%2d  %s  %s\n", count, o.Hex(), o.Words())
	}
	// Output:
	//  0  9E87 6134 D904 99DD  INCH SEA ANNE LONG AHEM TOUR
	//  1  7965 E054 36F5 029F  EASE OIL FUM CURE AWRY AVIS
	// 99  50FE 1962 C496 5880  BAIL TUFT BITS GANG CHEF THY
}

// A generator answering a challenge, as a command-line tool would. The
// values are from the SHA1 table of RFC 2289 Appendix C.
func ExampleResponse() {
	c, err := skey.ParseChallenge("otp-sha1 99 correct")
	if err != nil {
		panic(err)
	}
	words, _ := skey.Response(c.Alg, "OTP's are good", c.Seed, c.Seq, false)
	hex, _ := skey.Response(c.Alg, "OTP's are good", c.Seed, c.Seq, true)
	fmt.Println(words)
	fmt.Println(hex)

	_, err = skey.Response(c.Alg, "Too_short", c.Seed, c.Seq, false)
	fmt.Println(errors.Is(err, skey.ErrPassphrase))
	// Output:
	// AURA ALOE HURL WING BERG WAIT
	// 4F29 6A74 FE15 67EC
	// true
}

// The forms of RFC 2289 section 6 that a server must accept.
func ExampleDecode() {
	for _, in := range []string{
		"3503785b369cda8b",
		"e5cc a1b8 7c13 096b",
		"C7 48 90 F4 27 7B A1 CF",
		"47 9 A68 28 4C 9D 0 1BC",
		"oust coat foal  mug  beak  tote",
		"FOWL KID MASH DEAD DUAL NUT",
	} {
		o, err := skey.Decode(in)
		fmt.Println(o, err)
	}
	// Output:
	// 3503785b369cda8b <nil>
	// e5cca1b87c13096b <nil>
	// c74890f4277ba1cf <nil>
	// 479a68284c9d01bc <nil>
	// c9ed0e0d950547dc <nil>
	// 0000000000000000 skey: six-word checksum mismatch
}

func ExampleParseChallenge() {
	c, err := skey.ParseChallenge("otp-md5 499 ke1234 ext")
	fmt.Println(c.Alg, c.Seq, c.Seed, err)
	// Output:
	// md5 499 ke1234 <nil>
}

func ExampleFindChallenge() {
	c, err := skey.FindChallenge("331 Response to otp-sha1 95 host1234 required for alice.")
	fmt.Println(c.Alg, c.Seq, c.Seed, err)
	fmt.Println(c)
	// Output:
	// sha1 95 host1234 <nil>
	// otp-sha1 95 host1234
}

// A server's side of a login: the stored State gives the challenge and
// checks the response. The values are those of the RFC 2243 appendix.
func ExampleState() {
	// Set up by an administrator, or from a user's generator.
	st, err := skey.NewState(skey.MD5, "This is a test.", "ke1234", 500)
	if err != nil {
		panic(err)
	}

	fmt.Printf("331 %s required for alice.\n", st.Challenge())
	err = st.Verify("bond fogy drab ne  rise mart") // the user's answer
	fmt.Println(err, st.Seq, st.Seq < skey.LowSeq)
	// ... store st before answering 230 ...

	err = st.Verify("5BF0 75D9 959D 036F") // the same password again, in hex
	fmt.Println(err)
	fmt.Println(st.Challenge())
	// Output:
	// 331 otp-md5 499 ke1234 required for alice.
	// <nil> 498 false
	// skey: one-time password does not match
	// otp-md5 498 ke1234
}
