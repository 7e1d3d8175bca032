package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/gateway/testkit"
)

// writeConfig writes a node's configuration file.
func writeConfig(t testing.TB, path string, fields map[string]string) {
	t.Helper()
	tmpl := `participant: {guid: "%GUID%", eik: "%EIK%", name: "%NAME%"}
tls: {cert: "%CERT%", key: "%KEY%", ca: "%CA%"}
endpoint: {listen: "%LISTEN%", path: /seos/endpoint, clock_skew: 10m%ENDPOINT%}
register: {url: "%REGISTER%", refresh: %REFRESH%, full_sync: 1h, stale_after: 1h, timeout: 5s, test_participant: "%TEST%"}
database: {path: "%DB%"}
ops: {listen: "%OPS%"}
ais: {listen: "%AIS%", token_file: "%TOKEN%", spool: {dir: "%SPOOL%", scan_every: 200ms}}
outbound: {retry_first: %RETRY%, retries: %RETRIES%, poll: 1s%OUTBOUND%}
log: {level: debug, format: json}
%ACCEPTANCE%
%MAIL%
%CONSOLE%
`
	if fields["AIS"] == "" {
		fields["AIS"] = testkit.FreeAddr(t)
	}
	if fields["TOKEN"] == "" {
		fields["TOKEN"] = path + ".token"
	}
	if _, err := os.Stat(fields["TOKEN"]); err != nil {
		if err := os.WriteFile(fields["TOKEN"], []byte("test-token-"+filepath.Base(path)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if fields["RETRY"] == "" {
		fields["RETRY"] = "1s"
	}
	if fields["RETRIES"] == "" {
		fields["RETRIES"] = "10"
	}
	if fields["REFRESH"] == "" {
		fields["REFRESH"] = "2s"
	}
	for k, v := range fields {
		tmpl = strings.ReplaceAll(tmpl, "%"+k+"%", v)
	}
	tmpl = strings.ReplaceAll(tmpl, "%TEST%", "")
	tmpl = strings.ReplaceAll(tmpl, "%SPOOL%", "")
	tmpl = strings.ReplaceAll(tmpl, "%OUTBOUND%", "")
	tmpl = strings.ReplaceAll(tmpl, "%ENDPOINT%", "")
	tmpl = strings.ReplaceAll(tmpl, "%ACCEPTANCE%", "")
	tmpl = strings.ReplaceAll(tmpl, "%MAIL%", "")
	tmpl = strings.ReplaceAll(tmpl, "%CONSOLE%", "")
	if err := os.WriteFile(path, []byte(tmpl), 0o644); err != nil {
		t.Fatal(err)
	}
}
