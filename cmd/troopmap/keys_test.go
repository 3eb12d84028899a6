package main

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Key changes made on the command line are in the store's audit trail, with
// the actor cli:USER, and keys history shows them newest first.
func TestKeysCommandsAreAudited(t *testing.T) {
	store := filepath.Join(t.TempDir(), "keys.gpkg")
	keys := func(user string, args ...string) (string, error) {
		var out, errOut bytes.Buffer
		env := func(k string) string {
			if k == "USER" {
				return user
			}
			return ""
		}
		err := run(context.Background(), append([]string{"keys"}, append(args, "--store", store)...), env, &out, &errOut)
		return out.String(), err
	}
	if _, err := keys("ops", "add", "--name", "alice", "--role", "analyst"); err != nil {
		t.Fatal(err)
	}
	if _, err := keys("", "add", "--name", "bob", "--role", "editor"); err != nil {
		t.Fatal(err)
	}
	if _, err := keys("sec", "revoke", "--name", "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := keys("sec", "revoke", "--name", "alice"); err == nil || !strings.Contains(err.Error(), "revoked already") {
		t.Fatalf("second revoke: %v", err)
	}
	if _, err := keys("ops", "add", "--name", "has space", "--role", "analyst"); err == nil || !strings.Contains(err.Error(), "name") {
		t.Fatalf("bad name: %v", err)
	}
	out, err := keys("", "history")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := []string{`^TIME\s+ACTOR\s+ACTION\s+KEY\s+ROLE$`, `\scli:sec\s+revoke\s+alice\s+analyst$`, `\scli\s+create\s+bob\s+editor$`, `\scli:ops\s+create\s+alice\s+analyst$`}
	if len(lines) != len(want) {
		t.Fatalf("keys history:\n%s", out)
	}
	for i, w := range want {
		if !regexp.MustCompile(w).MatchString(lines[i]) {
			t.Errorf("line %d %q does not match %s", i, lines[i], w)
		}
	}
	if out, _ := keys("", "history", "--name", "bob"); strings.Count(strings.TrimSpace(out), "\n") != 1 || !strings.Contains(out, "bob") {
		t.Errorf("keys history --name bob:\n%s", out)
	}
}
