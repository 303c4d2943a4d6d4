// Package quota enforces an FTP site's limits: per-user speed limits,
// transfer amounts per period, upload/download ratios, maximum directory
// sizes, connection limits and failed-login throttling. It knows nothing of
// the FTP protocol; the engine calls it around logins and transfers and
// turns its errors into replies.
//
// Its types follow golang.org/x/time/rate: small concrete types whose zero
// values work, a context on every call that may block, and explicit-time
// variants (or an injected clock) for tests.
//
// # Users and transfers
//
// A [Manager] holds one [User] per user name, shared by all of that user's
// sessions: four parallel sessions of one user share one speed budget and
// one set of counters. [Manager.User] also updates the limits on a reload
// without losing counters or limiter state. Each transfer goes
//
//	t, err := u.Begin(quota.Download, size) // refused up front at a limit
//	if err != nil { ... }                   // 550/552 with err's text
//	defer t.End()
//	n, err := t.Copy(ctx, conn, file)       // paced, counted, stopped at a limit
//
// [Transfer.Copy] keeps the zero-copy path (sendfile, splice) when the
// direction is not rate limited; a caller with its own loop uses
// [Transfer.Limited], [Transfer.Burst], [Transfer.WaitN],
// [Transfer.Remaining], [Transfer.Add] and [Transfer.Err] the same way.
//
// # Speed limits
//
// Each user has one rate.Limiter per direction, its burst a tenth of a
// second's worth of the rate (at least 32 KiB, or a quarter second's worth
// if smaller; at most 1 MiB). A limited transfer moves Burst bytes at a
// time and waits for each chunk before moving it. While a user's sessions
// keep the limiter busy, the bytes they move together by time T after a
// start are between rate*T and rate*T + burst: within 2.5% of the limit
// over 10 seconds, however many sessions share it.
//
// # Amounts and periods
//
// Counters count the bytes moved in each direction in the current period:
// [None] (cumulative until reset), [Daily], [Weekly] (ISO weeks, from
// Monday) or [Monthly], calendar periods in UTC. A new period starts the
// counters again from 0; this is checked whenever they are used, on the
// Manager's clock, so nothing runs at midnight. Bytes are counted as they
// move, so an aborted, timed-out or dropped transfer counts exactly what
// it moved.
//
// At the limit: [User.Begin] refuses a transfer whose direction is used up
// with an error wrapping [ErrAmountExceeded] that says which limit and
// when it resets ("download limit of 1048576 bytes per month reached
// (resets 2026-04-01 00:00 UTC)"). A transfer under way stops when the
// limit is reached; a transfer that ends exactly on it completes.
// Sessions of one user that race for the last bytes may overshoot by at
// most a chunk each; [Transfer.Add] then reports the error.
//
// # Ratio
//
// With a ratio R, a user must upload R bytes for each byte downloaded,
// after a starting credit: the balance is credit + uploaded/R -
// downloaded, over the same counters as the amounts (so with a period the
// balance starts again each period; with None it is lifetime). A download
// larger than the balance is refused up front with an error wrapping
// [ErrRatio] that says the balance and the file's size; a download of
// unknown size is refused once the balance is 0; a download under way
// stops when the balance reaches 0. Uploads raise the balance of the
// user's downloads under way at once.
//
// # Persistence and reset
//
// With a [Store] (a [FileStore] in production) the counters survive
// restarts: call [Manager.Load] at start and [Manager.Flush] at shutdown;
// [Transfer.End] saves in the background at most once a second. Only
// users with non-zero counters are stored.
//
// An administrator resets a user's counters with [Manager.Reset], which
// saves at once; or, with the daemon stopped, by deleting the user's entry
// from the state file, or the whole file to reset everyone. A file edited
// while the daemon runs is overwritten by its next save.
//
// # Directory sizes
//
// [DirSizes] enforces a path permission entry's maximum directory size.
// The tree is scanned once, the first time; uploads reserve their bytes
// as they arrive ([DirSizes.Reserve], or the [DirSizes.Writer] wrapper),
// deletes and overwrites release theirs, so concurrent uploads into one
// tree cannot together exceed it and the tree is never walked per write.
// An upload that would exceed the size gets an error wrapping
// [ErrDirFull] (552).
//
// # Connections and logins
//
// [ConnLimiter] counts connections in all and per client address;
// [LoginThrottle] delays answers to failed logins, doubling per failure,
// and bans an address after repeated failures. All errors meant for
// clients name no server path.
package quota
