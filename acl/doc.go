// Package acl is the access policy of an FTP site: who may log in (local
// users with salted PBKDF2 password hashes, the embedding application's
// system accounts, anonymous users), which groups they belong to, what
// their home directory and aliases are, what they may do in each directory
// (nine rights per path permission entry), and which client addresses may
// connect at all.
//
// The package knows nothing of the FTP protocol: package ftp maps each
// command to the rights it needs and asks a [Policy]; see the table in the
// README.
//
// # Path permissions
//
// An entry names a directory relative to the user's home ("pub/", "/" for
// the home itself, "*" for any directory no entry covers). The most
// specific entry decides: the directory's own entry, else its nearest
// ancestor's entry that applies to subfolders, else "*". A user's entries
// replace the group's entries of the same path; the others are inherited.
//
// # Path variables
//
// $$username$$, $$groupname$$, $$homedir$$, $$email$$ and $$domain$$ may
// appear in home directories, permission paths and alias targets. A value
// that would bring a separator or a ".." into a path refuses the login.
package acl
