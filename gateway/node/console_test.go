package node

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/gateway/config"
)

// A console without its users file would have nobody to log in: the start
// stops and says how to add the first user.
func TestConsoleNeedsItsUsersFile(t *testing.T) {
	cfg := config.Defaults()
	cfg.Console.Listen = "127.0.0.1:7361"
	cfg.Console.UsersFile = filepath.Join(t.TempDir(), "console-users")
	err := (&Node{Config: cfg}).openConsole(nil)
	if err == nil || !strings.Contains(err.Error(), "console.users_file") || !strings.Contains(err.Error(), "seosgw console user add") {
		t.Fatalf("error %v", err)
	}
}
