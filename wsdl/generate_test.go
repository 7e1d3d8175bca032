package wsdl_test

import (
	"bufio"
	"bytes"
	"fmt"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestGeneratedCodeIsUpToDate runs every //go:generate command of generate.go,
// exactly as written except that -o points into a temporary folder, and compares
// the result with the committed file.
func TestGeneratedCodeIsUpToDate(t *testing.T) {
	goBin, err := exec.LookPath("go") // go test puts its own go first in PATH
	if err != nil {
		t.Fatalf("the go command is needed to run gowsdl: %v", err)
	}
	directives := goGenerateLines(t, "generate.go")
	if len(directives) == 0 {
		t.Fatal("generate.go has no //go:generate lines")
	}
	tmp := t.TempDir()
	for _, line := range directives {
		args := strings.Fields(line)
		if strings.ContainsAny(line, "\"'`$") || len(args) < 3 || args[0] != "go" || args[1] != "run" {
			t.Fatalf("keep go:generate lines as plain `go run ...` without quotes or variables: %s", line)
		}
		i := slices.Index(args, "-o")
		if i < 0 || i+1 >= len(args) {
			t.Fatalf("go:generate line has no -o: %s", line)
		}
		committed := args[i+1]
		args[i+1] = filepath.Join(tmp, committed)

		cmd := exec.Command(goBin, args[1:]...)
		cmd.Dir = "." // go generate runs in the package folder; so do tests
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", line, err, out)
		}
		want := gofmt(t, args[i+1])
		got := gofmt(t, committed)
		if !bytes.Equal(got, want) {
			t.Errorf("wsdl/%s is not what gowsdl makes from the WSDL now: run go generate ./wsdl/... and commit the result\n%s",
				committed, firstDifference(got, want))
		}
	}
}

func goGenerateLines(t *testing.T, file string) []string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "//go:generate "); ok {
			out = append(out, strings.TrimSpace(rest))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func gofmt(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := format.Source(b)
	if err != nil {
		t.Fatalf("gofmt %s: %v", path, err)
	}
	return f
}

func firstDifference(committed, fresh []byte) string {
	c := strings.Split(string(committed), "\n")
	f := strings.Split(string(fresh), "\n")
	for i := 0; i < max(len(c), len(f)); i++ {
		var cl, fl string
		if i < len(c) {
			cl = c[i]
		}
		if i < len(f) {
			fl = f[i]
		}
		if cl != fl {
			return fmt.Sprintf("first difference at line %d:\n  committed: %s\n  generated: %s", i+1, cl, fl)
		}
	}
	return ""
}
