// Package skey implements the one-time password system of RFC 2289 (OTP,
// the successor of Bellcore's S/KEY, RFC 1760): computing passwords,
// encoding them as six words or hexadecimal, formatting and parsing
// challenges, and verifying responses on a server.
//
// It is made of pure functions and small values; it does no I/O and keeps
// no global state, so the FTP engine and the command-line generator share
// it.
//
// # What is implemented
//
//   - The hash functions MD4, MD5 and SHA1, each folded to 64 bits (RFC
//     2289 section 5 and Appendix A): [Algorithm], [Compute]. MD4 is
//     written out in this package from RFC 1320, as the standard library
//     has none.
//   - The generation rules of section 6: the seed lower-cased and put
//     before the pass phrase, 1 to 16 alphanumeric characters; a pass
//     phrase of at least 10 characters when a sequence is created
//     ([NewState]) or a response generated ([Response]).
//   - The output forms of section 6: six words from the standard
//     dictionary of Appendix D with the 2-bit checksum ([OTP.Words]) and
//     hexadecimal ([OTP.Hex]). [Decode] accepts either, in any case and
//     with any white space, and the explicit "word:" and "hex:" responses
//     of RFC 2243 section 3.
//   - The challenge syntax of section 6, "otp-md5 499 ke1234":
//     [Challenge], [ParseChallenge], [FindChallenge].
//   - Verification by the server, section 7: [State] and [State.Verify].
//
// The test vectors of Appendix C, and those of the RFC 2243 appendix, are
// the package's tests.
//
// # Not implemented
//
//   - The alternative dictionaries of Appendix B (a server "SHOULD"
//     accept them). Only the standard dictionary is decoded.
//   - The re-initialisation responses "init-hex" and "init-word" of RFC
//     2243 section 4. Because a server that announces "ext" in its
//     challenge must accept them, [Challenge.String] never announces it.
//     Section 8 of RFC 2289 is served instead by building a [State] from
//     a password computed on the user's side (see [State]).
//
// # Security
//
// OTP protects against replay of a password seen on the wire, nothing
// more (section 10): it does not hide the session and does not resist an
// active attacker. MD4 is broken; prefer MD5 (which every implementation
// must support) or SHA1.
//
// A server must defend against the race attack of section 9: an
// eavesdropper who has seen five of six words can guess the last and race
// the user. The usual defence, which this package leaves to the caller, is
// to allow one authentication in progress per user at a time, from the
// challenge to the response, with a timeout.
//
// Errors never contain the response, the pass phrase or any part of
// them, so they can be logged: a mistyped response may still be five
// sixths of a valid password.
//
// # Concurrency
//
// All functions are safe for concurrent use. A [State] is a plain value
// and has no lock: the caller must serialise "load the State, Verify,
// store the new State" for each user, under a mutex or with a
// compare-and-swap in its store, so that two sessions presenting the same
// response accept it exactly once.
package skey
