package main

import (
	"sort"
	"strings"
	"testing"
)

// walk visits the command tree: every command path, groups included.
func walk(prefix []string, c command, visit func(path []string, c command)) {
	visit(prefix, c)
	names := make([]string, 0, len(c.verbs))
	for n := range c.verbs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		walk(append(append([]string{}, prefix...), n), c.verbs[n], visit)
	}
}

func root() command { return command{verbs: commands()} }

// Every command and verb answers -h and --help with its usage on stdout
// and exit 0, in one style: "usage: seosgw PATH ARGS", the summary, and
// the flags of a leaf or the verbs of a group.
func TestHelpEverywhere(t *testing.T) {
	n := 0
	walk(nil, root(), func(path []string, c command) {
		name := strings.TrimSpace("seosgw " + strings.Join(path, " "))
		for _, h := range []string{"-h", "--help"} {
			n++
			out, errOut, code := runCmd(t, append(append([]string{}, path...), h)...)
			if code != 0 || errOut != "" {
				t.Errorf("%s %s: exit %d, stderr %q", name, h, code, errOut)
			}
			if len(path) == 0 {
				continue // the root: checked below
			}
			if !strings.HasPrefix(out, "usage: "+name+" "+c.args+"\n\n"+sentence(c.summary)+".\n") {
				t.Errorf("%s %s: usage starts %q", name, h, strings.SplitN(out, "\n", 4))
			}
			switch {
			case c.verbs != nil && !strings.Contains(out, "\nverbs:\n"):
				t.Errorf("%s %s: a group's usage lists no verbs:\n%s", name, h, out)
			case c.verbs == nil && strings.Contains(c.args, "--") && !strings.Contains(out, "\nflags:\n"):
				t.Errorf("%s %s: a leaf's usage lists no flags:\n%s", name, h, out)
			}
		}
	})
	if n < 2*30 {
		t.Errorf("only %d help calls: is the walk broken?", n)
	}
	out, _, code := runCmd(t, "--help")
	if code != 0 || !strings.HasPrefix(out, "usage: seosgw COMMAND") || !strings.Contains(out, "backup") {
		t.Errorf("seosgw --help: exit %d\n%s", code, out)
	}
}

// Without a verb, or with an unknown one, a group prints its usage on
// stderr: exit 2.
func TestGroupsWithoutVerb(t *testing.T) {
	walk(nil, root(), func(path []string, c command) {
		if c.verbs == nil {
			return
		}
		name := strings.TrimSpace("seosgw " + strings.Join(path, " "))
		for _, args := range [][]string{path, append(append([]string{}, path...), "nonsense")} {
			out, errOut, code := runCmd(t, args...)
			if code != 2 || out != "" || !strings.Contains(errOut, "usage: "+name) {
				t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
			}
		}
	})
}

// Every verb that reads the node's configuration defaults to the one the
// package installs. The conformance harness has its own kind of file.
func TestOneDefaultConfig(t *testing.T) {
	ownConfig := map[string]bool{"conformance run": true, "conformance cases": true}
	n := 0
	walk(nil, root(), func(path []string, c command) {
		if c.verbs != nil {
			return
		}
		out, _, _ := runCmd(t, append(append([]string{}, path...), "-h")...)
		if !strings.Contains(out, "  -config ") || ownConfig[strings.Join(path, " ")] {
			return
		}
		n++
		if !strings.Contains(out, `(default "/etc/seosgw/seosgw.yaml")`) {
			t.Errorf("seosgw %s: --config without the default /etc/seosgw/seosgw.yaml:\n%s", strings.Join(path, " "), out)
		}
		if !strings.Contains(c.args, "[--config FILE]") {
			t.Errorf("seosgw %s: usage %q should show [--config FILE]", strings.Join(path, " "), c.args)
		}
	})
	if n < 12 {
		t.Errorf("only %d verbs take --config: is the walk broken?", n)
	}
}

// A flag that takes one of a fixed set refuses anything else before doing
// anything: exit 2, naming the choices.
func TestEnumFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"log", "list", "--direction", "sideways"}, `"sideways" is not one of in, out`},
		{[]string{"log", "list", "--type", "MSG_Nonsense"}, "is not one of MSG_DocumentRegistrationRequest"},
		{[]string{"register", "list", "--status", "active"}, "is not one of Active, Inactive, TemporarilyInactive, removed"},
		{[]string{"register", "serve", "--log-format", "xml"}, "is not one of json, text"},
		{[]string{"message", "sign", "--digest", "md5"}, "is not one of sha256, sha1"},
	} {
		out, errOut, code := runCmd(t, tc.args...)
		if code != 2 || out != "" || !strings.Contains(errOut, tc.says) || !strings.Contains(errOut, "usage: seosgw") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 saying %q", tc.args, code, out, errOut, tc.says)
		}
	}
}

func TestUsageMistakesExit2(t *testing.T) {
	for _, args := range [][]string{
		{"log", "list", "--nonsense"},
		{"log", "list", "extra"},
		{"log", "show"},
		{"serve", "extra"},
		{"backup"},
		{"restore", "a", "b"},
		{"migrate", "status", "extra"},
		{"version", "extra"},
		{"register", "show"},
		{"register", "admin", "list"},
	} {
		out, errOut, code := runCmd(t, args...)
		if code != 2 || out != "" || !strings.Contains(errOut, "usage: seosgw "+args[0]) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}

func TestVersion(t *testing.T) {
	out, _, code := runCmd(t, "version")
	if code != 0 || !strings.Contains(out, "version:    ") || !strings.Contains(out, "go:         go1.") {
		t.Errorf("version: exit %d\n%s", code, out)
	}
	again, _, _ := runCmd(t, "--version")
	if again != out {
		t.Errorf("--version differs from version:\n%s", again)
	}
	js, _, code := runCmd(t, "version", "--json")
	if code != 0 || !strings.Contains(js, `"goVersion":"go1.`) {
		t.Errorf("version --json: %s", js)
	}
}
