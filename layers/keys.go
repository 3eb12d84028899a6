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
	"unicode"
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

// KeyStore keeps API keys and the audit trail of their changes. AddKey
// fails with ECONFLICT when the name is taken; RevokeKey and KeyByID fail
// with ENOTFOUND for unknown keys. AddKey and RevokeKey record a KeyChange
// naming by, the actor who made the change, in the same transaction as the
// change itself: no change without its audit row. KeyChanges lists the
// changes of the named key, or of every key when name is empty, newest
// first.
type KeyStore interface {
	AddKey(ctx context.Context, k Key, by string) error
	Keys(ctx context.Context) ([]Key, error)
	RevokeKey(ctx context.Context, name string, at time.Time, by string) error
	KeyByID(ctx context.Context, id string) (Key, error)
	KeyChanges(ctx context.Context, name string) ([]KeyChange, error)
}

// Key change actions recorded in the audit trail.
const (
	KeyCreated = "create"
	KeyRevoked = "revoke"
)

// KeyChange is one audited change of an API key: who did what to which key,
// and when. It never holds the secret.
type KeyChange struct {
	Time   time.Time
	Actor  string // the name of the key that made the change, or "cli:USER"
	Action string // KeyCreated or KeyRevoked
	Key    string // the changed key's name
	Role   string // the changed key's role
}

const tokenPrefix = "tm_"

// NewKey makes a key for name and role, reading randomness from rnd
// (crypto/rand.Reader when nil). It returns the token to hand to the user
// once, and the Key to store.
func NewKey(name, role string, now time.Time, rnd io.Reader) (string, Key, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	if err := checkKeyName(name); err != nil {
		return "", Key{}, err
	}
	if _, ok := RoleNamed(role); !ok {
		msg := fmt.Sprintf("role %q: want one of %s", role, strings.Join(RoleNames(), ", "))
		return "", Key{}, &Error{Code: EINVALID, Message: msg, Details: []FieldError{{Pointer: "/role", Message: msg}}}
	}
	buf := make([]byte, 8+32+16)
	if _, err := io.ReadFull(rnd, buf); err != nil {
		return "", Key{}, fmt.Errorf("new key: %w", err)
	}
	id, secret, salt := hex.EncodeToString(buf[:8]), hex.EncodeToString(buf[8:40]), buf[40:]
	k := Key{ID: id, Name: name, Role: role, Salt: salt, Hash: hashSecret(salt, secret), Created: now.UTC()}
	return tokenPrefix + id + "_" + secret, k, nil
}

// checkKeyName accepts 1 to 100 letters, digits and the marks . _ - @: a
// key's name becomes created_by of its reports, appears in URLs
// (/admin/keys/NAME) and in the audit trail, so it must be plain.
func checkKeyName(name string) error {
	bad := ""
	switch {
	case name == "":
		bad = "a key needs a name"
	case len(name) > 100:
		bad = fmt.Sprintf("at most 100 characters, got %d", len(name))
	default:
		for _, r := range name {
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("._-@", r) {
				bad = fmt.Sprintf("%q may hold only letters, digits and . _ - @, not %q", name, r)
				break
			}
		}
	}
	if bad == "" {
		return nil
	}
	msg := "name: " + bad
	return &Error{Code: EINVALID, Message: msg, Details: []FieldError{{Pointer: "/name", Message: bad}}}
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

// CreateKey makes and stores a key for name and role on behalf of by, who
// must be an admin; the store records the change with by's name. It
// returns the token, to be shown once, and the stored key.
func CreateKey(ctx context.Context, ks KeyStore, by Actor, name, role string, now time.Time) (string, Key, error) {
	if err := Require(by, RoleAdmin, "managing API keys"); err != nil {
		return "", Key{}, err
	}
	token, k, err := NewKey(name, role, now, nil)
	if err != nil {
		return "", Key{}, err
	}
	if err := ks.AddKey(ctx, k, by.Name); err != nil {
		return "", Key{}, err
	}
	return token, k, nil
}

// RevokeKeyNamed revokes the named key on behalf of by, who must be an
// admin. An unknown name gives ENOTFOUND, a key revoked already ECONFLICT.
func RevokeKeyNamed(ctx context.Context, ks KeyStore, by Actor, name string, now time.Time) error {
	if err := Require(by, RoleAdmin, "managing API keys"); err != nil {
		return err
	}
	k, err := KeyNamed(ctx, ks, name)
	if err != nil {
		return err
	}
	if !k.Revoked.IsZero() {
		return Errorf(ECONFLICT, "key %q was revoked already, at %s", name, k.Revoked.UTC().Format(time.RFC3339))
	}
	return ks.RevokeKey(ctx, name, now, by.Name)
}

// KeyNamed finds a key, revoked or not, by name; ENOTFOUND when there is
// none.
func KeyNamed(ctx context.Context, ks KeyStore, name string) (Key, error) {
	keys, err := ks.Keys(ctx)
	if err != nil {
		return Key{}, err
	}
	for _, k := range keys {
		if k.Name == name {
			return k, nil
		}
	}
	return Key{}, Errorf(ENOTFOUND, "there is no key named %q", name)
}
