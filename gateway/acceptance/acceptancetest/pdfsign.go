package acceptancetest

import (
	"crypto"
	"crypto/x509"
	"path/filepath"
	"testing"
	"time"

	"github.com/digitorus/pdfsign/sign"
)

// SignPDF signs the PDF at in with signer (an approval signature,
// adbe.pkcs7.detached with SHA-256, the chain embedded) using
// github.com/digitorus/pdfsign, and returns the signed file's bytes.
func SignPDF(t testing.TB, p *PKI, signer *Cert, in string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "signed.pdf")
	err := sign.SignFile(in, out, sign.SignData{
		Signature: sign.SignDataSignature{
			CertType: sign.ApprovalSignature,
			Info:     sign.SignDataSignatureInfo{Name: signer.Cert.Subject.CommonName, Reason: "test", Date: time.Now()},
		},
		Signer:            signer.Key,
		DigestAlgorithm:   crypto.SHA256,
		Certificate:       signer.Cert,
		CertificateChains: [][]*x509.Certificate{{signer.Cert, p.Issuing.Cert, p.Root.Cert}},
	})
	if err != nil {
		t.Fatalf("pdfsign: %v", err)
	}
	return Read(t, out)
}
