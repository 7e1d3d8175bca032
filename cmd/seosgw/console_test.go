package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/seosgw/seosgw/gateway/console"
)

func TestConsoleUsers(t *testing.T) {
	cfg, _ := nodeConfig(t, "a.obmen.local")
	b, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, append(b, []byte("console: {listen: \"127.0.0.1:7361\", users_file: console-users}\n")...), 0o600)
	users := filepath.Join(filepath.Dir(cfg), "console-users")

	code, out, stderr := cli(t, []byte("a long enough password\n"), "console", "user", "add", "--config", cfg, "--role", "operator", "ivan")
	if code != 0 || !strings.Contains(out, "added ivan (operator)") {
		t.Fatalf("add: %d %s %s", code, out, stderr)
	}
	if st, err := os.Stat(users); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("users file: %v %v", st, err)
	}
	u, err := console.ReadUsersFile(users)
	if err != nil {
		t.Fatal(err)
	}
	ivan, ok := u.Find("ivan")
	if !ok || ivan.Role != console.Operator || bcrypt.CompareHashAndPassword([]byte(ivan.Hash), []byte("a long enough password")) != nil {
		t.Fatalf("ivan: %+v", ivan)
	}
	if cost, _ := bcrypt.Cost([]byte(ivan.Hash)); cost != console.BcryptCost {
		t.Errorf("bcrypt cost %d", cost)
	}
	if code, _, _ := cli(t, nil, "console", "user", "add", "--config", cfg, "--role", "viewer", "--no-password", "maria@example.bg"); code != 0 {
		t.Fatal("certificate-only user")
	}
	if code, _, stderr := cli(t, []byte("short\n"), "console", "user", "add", "--config", cfg, "--role", "viewer", "petar"); code != 1 || !strings.Contains(stderr, "shorter than 12") {
		t.Errorf("short password: %d %s", code, stderr)
	}
	for _, args := range [][]string{{"--role", "admin", "x"}, {"x"}, {"--role", "viewer", "../x"}} {
		if code, _, _ := cli(t, nil, append([]string{"console", "user", "add", "--config", cfg}, args...)...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	code, out, _ = cli(t, nil, "console", "user", "list", "--config", cfg)
	if code != 0 || !strings.Contains(out, "ivan") || !strings.Contains(out, "maria@example.bg  viewer    certificate") {
		t.Fatalf("list: %d\n%s", code, out)
	}
	if code, _, _ := cli(t, nil, "console", "user", "remove", "--config", cfg, "ivan"); code != 0 {
		t.Fatal("remove")
	}
	if code, _, stderr := cli(t, nil, "console", "user", "remove", "--config", cfg, "ivan"); code != 1 || !strings.Contains(stderr, "no user") {
		t.Errorf("remove twice: %d %s", code, stderr)
	}
	if u, _ := console.ReadUsersFile(users); len(u.List()) != 1 {
		t.Errorf("after remove: %+v", u.List())
	}
}
