package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryftp/ferry/acl"
)

func TestCheckCommand(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ferryd.toml")
	require.NoError(t, os.WriteFile(path, []byte(`
[[site]]
name = "files"
description = "Public files"
home = "files"
address = "127.0.0.1"
port = 2121
welcome = "Hello"

[site.tls]
implicit_port = 9990

[[site.user]]
name = "alice"
password = "`+pw(t)+`"
group = "staff"
admin = true

[[site.group]]
name = "staff"

[[site]]
name = "intranet"
home = "intranet"
address = "127.0.0.1"
port = 2121
hosts = ["intranet.example.com"]

[[site.access]]
action = "deny"
ip = "10.*.*.*"

[[sync.item]]
name = "backup"
mode = "one-way-clone"
  [sync.item.source]
  type = "local"
  directory = "files"
  [sync.item.destination]
  type = "ftp"
  server = "backup.example.com"
  username = "mirror"
  directory = "/files"
  [sync.item.schedule]
  days = "mon;wed"
  at = "01:30"
`), 0o600))
	code, out, errOut := runCLI("", "check", "-config", path)
	require.Equal(t, 0, code, "ferryd check: %s", errOut)
	want := strings.ReplaceAll(`DIR/ferryd.toml: ok, 2 site(s), 1 sync item(s)
site files: Public files
  listen    ftp://127.0.0.1:2121 (default site), ftps://127.0.0.1:9990 (default site)
  home      DIR/files
  welcome   "Hello"
  tls       generated self-signed certificate, optional
  limits    max users unlimited, max per IP unlimited, quota period none
  users     alice (local, group staff, admin)
  groups    staff (members alice)
site intranet
  listen    ftp://127.0.0.1:2121 (by HOST)
  hosts     intranet.example.com
  home      DIR/intranet
  tls       generated self-signed certificate, optional
  limits    max users unlimited, max per IP unlimited, quota period none
  users     none
  groups    none
  access    deny 10.*.*.*
sync backup: one-way-clone, DIR/files -> ftp://mirror@backup.example.com:21/files, at 01:30, mon,wed
`, "DIR", dir)
	assert.Equal(t, want, out, "the summary of what would be served")

	require.NoError(t, os.WriteFile(path, []byte("[[site]]\nname = \"x\"\nport = -1\n"), 0o600))
	code, out, errOut = runCLI("", "check", "-config", path)
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	assert.Equal(t, path+":1: site.home: missing\n"+path+":3: site.port: -1 is not a port number (0 to 65535)\n", errOut, "every error at once")

	code, _, _ = runCLI("", "check")
	assert.Equal(t, 2, code, "a usage error")
}

func TestPasswdCommand(t *testing.T) {
	code, out, errOut := runCLI("s3cret pass\n", "passwd")
	require.Equal(t, 0, code, "ferryd passwd: %s", errOut)
	hash := strings.TrimSpace(out)
	assert.True(t, strings.HasPrefix(hash, "pbkdf2-sha256$600000$"), "the default work factor: %s", hash)
	ok, err := acl.CheckPassword(hash, "s3cret pass")
	require.NoError(t, err)
	assert.True(t, ok, "the hash verifies the password, without the line end")

	code, out, errOut = runCLI("", "passwd")
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "no password on standard input")
	code, _, errOut = runCLI("\n", "passwd")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "empty password")
}

// "ferryd sync" runs the items of the configuration file.
func TestSyncCommandWithConfig(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "src"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "src", "f.txt"), []byte("data"), 0o644))
	path := filepath.Join(dir, "ferryd.toml")
	require.NoError(t, os.WriteFile(path, []byte(`
[daemon]
state_dir = "state"

[[site]]
name = "a"
home = "h"

[[sync.group]]
name = "nightly"

[[sync.item]]
name = "backup"
mode = "one-way-simple"
groups = ["nightly"]
  [sync.item.source]
  type = "local"
  directory = "src"
  [sync.item.destination]
  type = "local"
  directory = "dst"
`), 0o600))
	code, _, errOut := runCLI("", "sync", "-config", path, "-group", "nightly")
	require.Equal(t, 0, code, "ferryd sync: %s", errOut)
	b, err := os.ReadFile(filepath.Join(dir, "dst", "f.txt"))
	require.NoError(t, err, "the item ran")
	assert.Equal(t, "data", string(b))

	require.NoError(t, os.WriteFile(path, []byte("[[site]]\nname = \"a\"\n"), 0o600))
	code, _, errOut = runCLI("", "sync", "-config", path, "-list")
	assert.Equal(t, 1, code)
	assert.Equal(t, path+":1: site.home: missing\n", errOut, "the file's errors")
}
