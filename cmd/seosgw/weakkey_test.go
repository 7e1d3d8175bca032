package main

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/testkit"
)

// A node whose own transport key is RSA under tls.min_rsa_bits refuses to
// start (and preflight says the same), naming the fields and the fix.
func TestServeRefusesOurWeakKey(t *testing.T) {
	dir := t.TempDir()
	k, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ca := testkit.NewPKI(t, "test DAEU CA", nil)
	id := ca.Issue(t, "node.obmen.local", pki.WithKey(k))
	cert, key := testkit.Files(t, dir, id, "node")
	caFile := ca.CAFile(t, dir)
	os.WriteFile(filepath.Join(dir, "ais-token"), []byte("token-1234567890\n"), 0o600)
	cfg := filepath.Join(dir, "seosgw.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`participant: {guid: "{11111111-2222-4333-8444-555555555555}", eik: "000695089", name: "Министерство"}
tls: {cert: %q, key: %q, ca: %q}
register: {url: "https://127.0.0.1:1/service/"}
database: {path: gw.db}
ais: {listen: %q, token_file: ais-token}
network: {mode: internet}
`, cert, key, caFile, testkit.FreeAddr(t))), 0o600)
	for _, verb := range []string{"serve", "preflight"} {
		code, out, errOut := cli(t, nil, verb, "--config", cfg)
		if code == 0 || !strings.Contains(out+errOut, "tls.cert / tls.key: our transport certificate's RSA key of 1024 bits is under the 2048-bit floor (tls.min_rsa_bits)") {
			t.Errorf("%s with a 1024-bit key: exit %d\n%s%s", verb, code, out, errOut)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "gw.db")); err == nil {
		t.Error("serve created its database before refusing")
	}
}
