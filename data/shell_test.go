package data

import (
	"os/exec"
	"testing"
)

func runShell(t *testing.T, cmd string) error {
	t.Helper()
	out, err := exec.Command("sh", "-c", cmd).CombinedOutput()
	if err != nil {
		t.Logf("%s\n%s", cmd, out)
	}
	return err
}
