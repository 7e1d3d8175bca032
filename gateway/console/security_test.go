package console

import (
	"testing"
)

// localPath keeps a login's next on the console: browsers drop tabs and
// newlines inside a URL and read a backslash as a slash, so any of them
// could turn a path into another host.
func TestLocalPath(t *testing.T) {
	for _, tc := range []struct{ next, want string }{
		{"/outbox?state=failed", "/outbox?state=failed"},
		{"/log/7", "/log/7"},
		{"", "/"},
		{"outbox", "/"},
		{"//evil.example/", "/"},
		{"https://evil.example/", "/"},
		{"/\\evil.example", "/"},
		{"/\t/evil.example", "/"},
		{"/\r\n/evil.example", "/"},
		{"/\x00/evil.example", "/"},
		{"/\x7f", "/"},
		{"/a\\b", "/"},
		{"/\xff", "/"},
	} {
		if got := localPath(tc.next); got != tc.want {
			t.Errorf("localPath(%q) = %q; want %q", tc.next, got, tc.want)
		}
	}
}
