package script

import (
	"errors"
	"strings"
	"testing"

	"github.com/lbdproject/lbd/internal/testutil"
)

func TestResolveUser(t *testing.T) {
	known := map[string]User{
		"alice":         {Name: "alice", UID: 1000, GID: 1000},
		"bob":           {Name: "bob", UID: 1001, GID: 1001},
		DefaultUserName: {Name: DefaultUserName, UID: 900, GID: 900},
	}
	lookup := func(exists ...string) func(string, string) (User, error) {
		return func(name, group string) (User, error) {
			for _, e := range exists {
				if e == name {
					u := known[name]
					if group != "" {
						u.GID = 42
					}
					return u, nil
				}
			}
			return User{}, errors.New("script user " + name + " does not exist")
		}
	}
	for _, tc := range []struct {
		name    string
		opts    UserOptions
		exists  []string
		want    User
		wantErr string
	}{
		{name: "own user wins", opts: UserOptions{User: "alice", GlobalUser: "bob"},
			exists: []string{"alice", "bob", DefaultUserName}, want: known["alice"]},
		{name: "own user and group", opts: UserOptions{User: "alice", Group: "wheel"},
			exists: []string{"alice"}, want: User{Name: "alice", UID: 1000, GID: 42}},
		{name: "global script_user", opts: UserOptions{GlobalUser: "bob"},
			exists: []string{"bob", DefaultUserName}, want: known["bob"]},
		{name: "keepalived_script when it exists", opts: UserOptions{},
			exists: []string{DefaultUserName}, want: known[DefaultUserName]},
		{name: "lbd itself otherwise", opts: UserOptions{}, want: Self()},
		{name: "script security needs a user", opts: UserOptions{ScriptSecurity: true},
			wantErr: "unable to set default user keepalived_script"},
		{name: "script security with keepalived_script", opts: UserOptions{ScriptSecurity: true},
			exists: []string{DefaultUserName}, want: known[DefaultUserName]},
		{name: "missing own user is an error", opts: UserOptions{User: "carol"},
			wantErr: "carol does not exist"},
		{name: "missing script_user is an error", opts: UserOptions{GlobalUser: "carol"},
			exists: []string{DefaultUserName}, wantErr: "script_user: script user carol"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Lookup = lookup(tc.exists...)
			got, err := ResolveUser(tc.opts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ResolveUser = %v, %v; want error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("ResolveUser = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLookupUserReal(t *testing.T) {
	u, err := LookupUser("nobody", "")
	if err != nil {
		testutil.Skip(t, "no nobody user here: "+err.Error())
	}
	if u.UID != 65534 {
		t.Errorf("nobody uid = %d, want 65534 (Debian)", u.UID)
	}
	if _, err := LookupUser("lbd-no-such-user-x", ""); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("unknown user: %v, want a does-not-exist error", err)
	}
	if _, err := LookupUser("nobody", "lbd-no-such-group-x"); err == nil || !strings.Contains(err.Error(), "group") {
		t.Errorf("unknown group: %v, want a group error", err)
	}
	if u, err := LookupUser("nobody", "root"); err != nil || u.GID != 0 {
		t.Errorf("nobody:root = %v, %v; want gid 0", u, err)
	}
}
