package e2e

import (
	"strings"
	"testing"

	"github.com/seosgw/seosgw/gateway/testkit"
)

// TestDemo runs `seosgw demo` as `make demo` does: it must finish, say so,
// and leave nothing behind.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	out, code := testkit.Run(t, "demo")
	if code != 0 {
		t.Fatalf("demo failed (exit %d):\n%s", code, out)
	}
	for _, want := range []string{"DS_WAIT_REGISTRATION", "identical to what A sent", "registered by B as Б-", "Done:"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "The demo's files") {
		t.Error("a successful demo should clean up its work folder")
	}
}
