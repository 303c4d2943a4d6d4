package main

import (
	"context"
	"crypto/subtle"
	"errors"

	"github.com/ferryftp/ferry/ftp"
	"github.com/ferryftp/ferry/vfs"
	"github.com/ferryftp/ferry/vfs/osfs"
)

// newFlagAuth is the authenticator of a run without a configuration file:
// anonymous users read root; each -user account reads and writes it.
func newFlagAuth(root string, users []account) (ftp.Authenticator, func(), error) {
	rw, err := osfs.New(root)
	if err != nil {
		return nil, nil, err
	}
	ro := vfs.ReadOnly(rw)
	auth := ftp.AuthenticatorFunc(func(ctx context.Context, li *ftp.LoginInfo) (*ftp.User, error) {
		if isAnonymousUser(li.User) {
			return &ftp.User{Name: "anonymous", FS: ro}, nil
		}
		for _, u := range users {
			nameOK := subtle.ConstantTimeCompare([]byte(u.name), []byte(li.User)) == 1
			passOK := subtle.ConstantTimeCompare([]byte(u.password), []byte(li.Password)) == 1
			if nameOK && passOK {
				return &ftp.User{Name: u.name, FS: rw}, nil
			}
		}
		return nil, errors.New("unknown user or wrong password")
	})
	return auth, func() { rw.Close() }, nil
}
