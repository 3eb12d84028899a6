package main

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// TestImportDirection enforces the layering cmd → web → layers → geo: echo is
// imported only under web, geo imports nothing of this project, and the
// domain never imports transport or the program.
func TestImportDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", "troopmap/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	n := 0
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		n++
		under := func(root string) bool { return p.ImportPath == root || strings.HasPrefix(p.ImportPath, root+"/") }
		for _, imp := range p.Imports {
			if strings.HasPrefix(imp, "github.com/labstack/echo") && !under("troopmap/web") {
				t.Errorf("%s imports %s: echo belongs in web only", p.ImportPath, imp)
			}
			own := strings.HasPrefix(imp, "troopmap/") || imp == "troopmap"
			if under("troopmap/geo") && own && !strings.HasPrefix(imp, "troopmap/geo") {
				t.Errorf("%s imports %s: geo must import no other package of this project", p.ImportPath, imp)
			}
			if under("troopmap/layers") && (strings.HasPrefix(imp, "troopmap/web") || strings.HasPrefix(imp, "troopmap/cmd") || strings.HasPrefix(imp, "troopmap/data")) {
				t.Errorf("%s imports %s: layers sits below web, cmd and data", p.ImportPath, imp)
			}
			if under("troopmap/web") && strings.HasPrefix(imp, "troopmap/cmd") {
				t.Errorf("%s imports %s: nothing imports cmd", p.ImportPath, imp)
			}
			if !under("troopmap/web") && !under("troopmap/cmd") && strings.HasPrefix(imp, "troopmap/web") {
				t.Errorf("%s imports %s: only cmd may import web", p.ImportPath, imp)
			}
		}
	}
	if n < 5 {
		t.Fatalf("go list saw only %d packages", n)
	}
}
