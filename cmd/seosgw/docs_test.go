package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The operations guide is what an administrator follows alone: it has the
// sections the issue asked for, the README links it, and every seosgw
// command and verb it shows exists.
func TestOperationsGuide(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "configs", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	guide := string(b)
	for _, section := range []string{"Install", "Configure", "First start", "Joining SEOS", "Monitoring", "Backup and restore",
		"Upgrade and rollback", "Certificate renewal", "Resend and cancel", "Troubleshooting by symptom"} {
		if !regexp.MustCompile(`(?m)^## \d+\. ` + regexp.QuoteMeta(section)).MatchString(guide) {
			t.Errorf("configs/README.md has no section %q", section)
		}
	}
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "(configs/README.md)") {
		t.Error("README.md does not link configs/README.md")
	}
	// The commands shown: code blocks and `spans`, where seosgw stands in
	// command position.
	var code []string
	for _, line := range strings.Split(guide, "\n") {
		if strings.HasPrefix(line, "    ") {
			code = append(code, strings.TrimSpace(line))
		}
	}
	for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(guide, -1) {
		code = append(code, m[1])
	}
	invocation := regexp.MustCompile(`(?:^|[;&|(]\s*)seosgw ([a-z][a-z-]*)(?: ([a-z][a-z-|]*))?`)
	cmds := commands()
	n := 0
	for _, frag := range code {
		for _, m := range invocation.FindAllStringSubmatch(frag, -1) {
			n++
			c, ok := cmds[m[1]]
			if !ok {
				t.Errorf("the guide shows %q: no command %q", strings.TrimSpace(m[0]), m[1])
				continue
			}
			if c.verbs == nil || m[2] == "" {
				continue
			}
			for _, v := range strings.Split(m[2], "|") {
				if _, ok := c.verbs[v]; !ok {
					t.Errorf("the guide shows %q: %s has no verb %q", strings.TrimSpace(m[0]), m[1], v)
				}
			}
		}
	}
	if n < 20 {
		t.Errorf("only %d seosgw commands found in the guide: is the pattern broken?", n)
	}
}
