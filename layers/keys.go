package layers

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"
)

// Role is what a key may do. Roles are data so that new ones (viewer,
// anonymous rules, rate limits) can be added without touching handlers.
type Role struct {
	Name string
	// Write: create, replace, update and retract reports.
	Write bool
	// Verify: set or change a report's verification state.
	Verify bool
	// Admin: manage keys and everything else.
	Admin bool
}

// Roles lists the roles a key can have, weakest first: each has every right
// of the ones before it (see Role.AtLeast). A viewer reads restricted and
// embargoed reports at full precision and writes nothing.
func Roles() []Role {
	return []Role{
		{Name: "viewer"},
		{Name: "analyst", Write: true},
		{Name: "editor", Write: true, Verify: true},
		{Name: "admin", Write: true, Verify: true, Admin: true},
	}
}

// RoleNamed returns the role with the given name.
func RoleNamed(name string) (Role, bool) {
	for _, r := range Roles() {
		if r.Name == name {
			return r, true
		}
	}
	return Role{}, false
}

// RoleNames lists the role names, for messages and flag help.
func RoleNames() []string {
	var out []string
	for _, r := range Roles() {
		out = append(out, r.Name)
	}
	return out
}

// Actor is who makes a change: a key's name and its role.
type Actor struct {
	Name string
	Role Role
}

// Key is a stored API key. Only a salted SHA-256 hash of the secret is kept;
// the secret itself is shown once, when the key is made.
type Key struct {
	ID      string // public part of the token, used to find the key
	Name    string // becomes created_by of the key's reports
	Role    string
	Salt    []byte
	Hash    []byte
	Created time.Time
	Revoked time.Time // zero while the key is valid
}

// KeyStore keeps API keys. AddKey fails with ECONFLICT when the name is
// taken; RevokeKey and KeyByID fail with ENOTFOUND for unknown keys.
type KeyStore interface {
	AddKey(ctx context.Context, k Key) error
	Keys(ctx context.Context) ([]Key, error)
	RevokeKey(ctx context.Context, name string, at time.Time) error
	KeyByID(ctx context.Context, id string) (Key, error)
}

const tokenPrefix = "tm_"

// NewKey makes a key for name and role, reading randomness from rnd
// (crypto/rand.Reader when nil). It returns the token to hand to the user
// once, and the Key to store.
func NewKey(name, role string, now time.Time, rnd io.Reader) (string, Key, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return "", Key{}, Errorf(EINVALID, "a key needs a name of 1 to 100 characters")
	}
	if _, ok := RoleNamed(role); !ok {
		return "", Key{}, Errorf(EINVALID, "role %q: want one of %s", role, strings.Join(RoleNames(), ", "))
	}
	buf := make([]byte, 8+32+16)
	if _, err := io.ReadFull(rnd, buf); err != nil {
		return "", Key{}, fmt.Errorf("new key: %w", err)
	}
	id, secret, salt := hex.EncodeToString(buf[:8]), hex.EncodeToString(buf[8:40]), buf[40:]
	k := Key{ID: id, Name: name, Role: role, Salt: salt, Hash: hashSecret(salt, secret), Created: now.UTC()}
	return tokenPrefix + id + "_" + secret, k, nil
}

func hashSecret(salt []byte, secret string) []byte {
	h := sha256.New()
	h.Write(salt)
	h.Write([]byte(secret))
	return h.Sum(nil)
}

// ParseToken splits a bearer token into its key id and secret.
func ParseToken(token string) (id, secret string, ok bool) {
	rest, ok := strings.CutPrefix(token, tokenPrefix)
	if !ok {
		return "", "", false
	}
	id, secret, ok = strings.Cut(rest, "_")
	return id, secret, ok && id != "" && secret != ""
}

// Matches reports, in constant time, whether secret is this key's secret.
func (k Key) Matches(secret string) bool {
	return subtle.ConstantTimeCompare(hashSecret(k.Salt, secret), k.Hash) == 1
}

// Authenticate finds the actor for a bearer token. Unknown, malformed and
// revoked keys all give the same EUNAUTHORIZED error.
func Authenticate(ctx context.Context, ks KeyStore, token string) (Actor, error) {
	deny := Errorf(EUNAUTHORIZED, "the API key is unknown or revoked; ask an operator for a key (troopmap keys add --name NAME --role analyst)")
	id, secret, ok := ParseToken(token)
	if !ok {
		return Actor{}, deny
	}
	k, err := ks.KeyByID(ctx, id)
	if ErrorCode(err) == ENOTFOUND {
		return Actor{}, deny
	} else if err != nil {
		return Actor{}, fmt.Errorf("authenticate: %w", err)
	}
	if !k.Matches(secret) || !k.Revoked.IsZero() {
		return Actor{}, deny
	}
	r, ok := RoleNamed(k.Role)
	if !ok {
		return Actor{}, deny
	}
	return Actor{Name: k.Name, Role: r}, nil
}
