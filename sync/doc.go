// Package sync mirrors directories between FTP servers and local disks,
// once ([Run]) or on schedules ([Scheduler]).
//
// An [Item] joins two locations, a source and a destination, each a local
// directory ([LocalLocation]) or a directory on an FTP server
// ([FTPLocation], over [ftp.Client]), in any combination, and a [Mode]:
//
//   - OneWay copies new and changed files to the destination and deletes
//     nothing;
//   - Clone makes the destination an exact copy, deleting the files and
//     folders the source does not have;
//   - TwoWay carries the changes of each side since the last run to the
//     other, deletions included. A journal of the last synchronised state
//     tells a file created on one side from one deleted on the other; the
//     first run, with no journal, merges the two sides and deletes
//     nothing.
//
// Files differ when their sizes differ or their modification times differ
// by more than a second (FTP gives times in whole seconds, RFC 3659
// section 2.3). A copy sets the destination's time to the source's (MFMT
// on FTP servers); where that is not possible the journal records the
// time the copy got.
//
// # Conflicts
//
// A file changed on both sides since the last two-way run (or different on
// both at the first) is a conflict. The newer version wins; the source's
// when the times are equal. The other version is not lost: it is renamed
// to "name.conflict-<side>-<time>" ([ConflictName]; side is "source" or
// "dest", time its modification time in UTC) and copied to the other side
// too, so both sides end with both files. A file on one side where the
// other has a folder is resolved the same way: the file is renamed. A
// deletion on one side and a change on the other keep the changed file.
//
// # Safety
//
// A file is never written in place. It is written under a temporary name
// in its directory (".ferrysync-<hash>-name"), dated, and renamed over the
// target, so an interrupted run leaves the old file whole. The temporary
// name depends on the source version, so the next run resumes that part
// with REST (or a seek) rather than start again, and removes the parts of
// versions that no longer exist. Temporary files are never copied.
//
// A run whose source listing fails stops before it changes anything; a
// subfolder that cannot be listed is left alone and counted as an error.
// Clone refuses to empty the destination when the source's top directory
// is empty, and TwoWay refuses to delete everything the journal knew on
// one side when the other lists nothing, unless AllowEmptySourceDelete is
// set: an empty listing is more often an unmounted disk or a wrong
// directory than a wish to delete everything ([ErrEmptySource]).
//
// A dry run plans and writes the plan to the log, and changes nothing.
//
// # Concurrency
//
// A run works on one file at a time. The [Scheduler] runs different items
// at once, never two runs of one item; with a JournalPath, a lock file
// beside the journal keeps two processes apart too.
package sync
