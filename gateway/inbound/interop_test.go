package inbound

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/gateway/pki"
	"github.com/seosgw/seosgw/gateway/seos"
	"github.com/seosgw/seosgw/gateway/testkit"
	"github.com/seosgw/seosgw/integration/extools"
)

// A request built and signed by the .NET peer is accepted, and the node's
// reply verifies in the .NET peer and is valid for xmllint and XmlSchemaSet
// on the reference schemas.
func TestDotnetPeerInterop(t *testing.T) {
	w := newWorld(t, options{})
	dir := t.TempDir()
	certPath, keyPath, err := w.a.id.WriteFiles(dir, "a")
	if err != nil {
		t.Fatal(err)
	}
	pfx := filepath.Join(dir, "a.pfx")
	extools.PKCS12(t, certPath, keyPath, pfx, "test")
	schemaDir, entry := testkit.Schemas(t)
	for _, hash := range []string{"sha1", "sha256"} {
		t.Run(hash, func(t *testing.T) {
			m := registration(w.a.entity, w.b.entity, seos.NewGUID())
			unsigned, _ := m.Marshal()
			in := filepath.Join(dir, "unsigned.xml")
			os.WriteFile(in, unsigned, 0o644)
			r := extools.Peer(t, "sign", in, pfx, "test", hash)
			if !r.OK() {
				t.Fatalf(".NET sign: %s", r.Stdout)
			}
			reply, raw := w.submit(w.a.id, []byte(r.Stdout))
			if reply.Body.StatusResponse == nil || reply.Body.StatusResponse.Status != seos.StatusWaitRegistration {
				t.Fatalf(".NET-signed request not accepted: %+v", reply.Body)
			}
			out := filepath.Join(dir, "reply-"+hash+".xml")
			os.WriteFile(out, raw, 0o644)
			v := extools.Peer(t, "verify", out)
			if !v.OK() || pki.NormalizeSerial(strings.TrimPrefix(strings.TrimSpace(v.Stdout), "OK ")) != pki.SerialHex(w.b.id.Cert) {
				t.Errorf(".NET does not verify our reply: %s", v.Stdout)
			}
			if ok, msg := extools.XMLLint(t, entry, out); !ok {
				t.Errorf("xmllint: %s", msg)
			}
			if x := extools.Peer(t, "xsd", out, schemaDir); !x.OK() {
				t.Errorf("XmlSchemaSet: %s", x.Stdout)
			}
		})
	}
}
