package script

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
)

// DefaultUserName is the user keepalived runs scripts as when it exists
// and neither the script nor global_defs names one.
const DefaultUserName = "keepalived_script"

// User is the identity a script runs as. keepalived sets the group, clears
// the supplementary groups to that one group, then sets the user
// (lib/notify.c set_script_env).
type User struct {
	Name string // for logs; may be empty
	UID  uint32
	GID  uint32
}

// String returns "name(uid:gid)".
func (u User) String() string {
	if u.Name == "" {
		return fmt.Sprintf("%d:%d", u.UID, u.GID)
	}
	return fmt.Sprintf("%s(%d:%d)", u.Name, u.UID, u.GID)
}

// Self is lbd's own effective user and group.
func Self() User {
	return User{UID: uint32(os.Geteuid()), GID: uint32(os.Getegid())}
}

// LookupUser resolves a user name and an optional group name (empty: the
// user's primary group), as keepalived's "user USER [GROUP]" and
// "script_user USER [GROUP]".
func LookupUser(name, group string) (User, error) {
	u, err := user.Lookup(name)
	if err != nil {
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return User{}, fmt.Errorf("script user %q does not exist", name)
		}
		return User{}, fmt.Errorf("resolve script user %q: %w", name, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return User{}, fmt.Errorf("script user %q: uid %q: %w", name, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return User{}, fmt.Errorf("script user %q: gid %q: %w", name, u.Gid, err)
	}
	out := User{Name: name, UID: uint32(uid), GID: uint32(gid)}
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			var unknown user.UnknownGroupError
			if errors.As(err, &unknown) {
				return User{}, fmt.Errorf("script group %q does not exist", group)
			}
			return User{}, fmt.Errorf("resolve script group %q: %w", group, err)
		}
		gid, err := strconv.ParseUint(g.Gid, 10, 32)
		if err != nil {
			return User{}, fmt.Errorf("script group %q: gid %q: %w", group, g.Gid, err)
		}
		out.GID = uint32(gid)
		out.Name = name + ":" + group
	}
	return out, nil
}

// UserOptions are the inputs of keepalived's choice of script user.
type UserOptions struct {
	// User and Group are the script's own "user USER [GROUP]" (vrrp_script)
	// or the words after a notify script's command.
	User, Group string
	// GlobalUser and GlobalGroup are global_defs' script_user.
	GlobalUser, GlobalGroup string
	// ScriptSecurity is enable_script_security.
	ScriptSecurity bool
	// Lookup resolves names; nil means LookupUser. Tests inject one.
	Lookup func(name, group string) (User, error)
}

// ResolveUser picks the user a script runs as, with keepalived's rule
// (lib/notify.c notify_script_init, get_default_script_user): the
// script's own user if given, else global_defs' script_user, else
// keepalived_script if that user exists, else lbd's own user. Under
// enable_script_security a missing keepalived_script user (with no
// script_user) is an error, and keepalived then disables every script
// without its own user: "unable to set default user keepalived_script".
func ResolveUser(opts UserOptions) (User, error) {
	lookup := opts.Lookup
	if lookup == nil {
		lookup = LookupUser
	}
	switch {
	case opts.User != "":
		return lookup(opts.User, opts.Group)
	case opts.GlobalUser != "":
		u, err := lookup(opts.GlobalUser, opts.GlobalGroup)
		if err != nil {
			return User{}, fmt.Errorf("script_user: %w", err)
		}
		return u, nil
	}
	u, err := lookup(DefaultUserName, "")
	if err == nil {
		return u, nil
	}
	if opts.ScriptSecurity {
		return User{}, fmt.Errorf("unable to set default user %s for script (enable_script_security is set and there is no script_user): %w", DefaultUserName, err)
	}
	return Self(), nil
}
