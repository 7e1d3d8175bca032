package cms_test

import (
	"bytes"
	"crypto/sha256"
	"io"
	"strings"
	"testing"

	"github.com/seosgw/seosgw/gateway/acceptance/acceptancetest"
	"github.com/seosgw/seosgw/gateway/acceptance/cms"
)

func TestVerifyOpenSSLSignatures(t *testing.T) {
	p := acceptancetest.NewPKI(t)
	rsaSigner := p.Issue(t, acceptancetest.SignerSpec{Name: "Иван Петров", OrgID: "NTRBG-000695089"})
	ecSigner := p.Issue(t, acceptancetest.SignerSpec{Name: "Мария Иванова", EC: true})
	doc := []byte("%PDF-1.4\nписмо до ИАМА\n" + strings.Repeat("съдържание ", 5000))

	for _, tc := range []struct {
		name   string
		signer *acceptancetest.Cert
		opts   acceptancetest.CMSOptions
	}{
		{"detached", rsaSigner, acceptancetest.CMSOptions{}},
		{"attached", rsaSigner, acceptancetest.CMSOptions{Attached: true}},
		{"attached BER stream", rsaSigner, acceptancetest.CMSOptions{Attached: true, Stream: true}},
		{"no signed attributes", rsaSigner, acceptancetest.CMSOptions{NoAttrs: true}},
		{"RSA-PSS", rsaSigner, acceptancetest.CMSOptions{PSS: true}},
		{"SHA-1", rsaSigner, acceptancetest.CMSOptions{Digest: "sha1"}},
		{"SHA-512 ECDSA", ecSigner, acceptancetest.CMSOptions{Digest: "sha512"}},
		{"CAdES-BES", rsaSigner, acceptancetest.CMSOptions{Extra: []string{"-cades"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sig := acceptancetest.SignCMS(t, p, tc.signer, doc, tc.opts)
			kind, err := cms.ContentKind(bytes.NewReader(sig), int64(len(sig)))
			if err != nil || kind != cms.KindSignedData {
				t.Fatalf("kind %q %v", kind, err)
			}
			sd, err := cms.Parse(bytes.NewReader(sig), int64(len(sig)))
			if err != nil {
				t.Fatal(err)
			}
			if sd.Detached() == tc.opts.Attached {
				t.Fatalf("detached = %v", sd.Detached())
			}
			var content io.Reader
			if sd.Detached() {
				content = bytes.NewReader(doc)
			} else {
				got, _ := io.ReadAll(sd.Content())
				if !bytes.Equal(got, doc) {
					t.Fatalf("encapsulated content differs (%d bytes, want %d)", len(got), len(doc))
				}
				ra, n := sd.ContentReaderAt()
				part := make([]byte, 100)
				if _, err := ra.ReadAt(part, n-100); err != nil || !bytes.Equal(part, doc[len(doc)-100:]) {
					t.Fatalf("ReadAt over the content: %v", err)
				}
			}
			res, err := sd.Verify(content)
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != 1 || res[0].Err != nil {
				t.Fatalf("verify: %+v", res)
			}
			if !res[0].Cert.Equal(tc.signer.Cert) {
				t.Errorf("signer certificate %s", res[0].Cert.Subject)
			}
			if !tc.opts.NoAttrs && res[0].SigningTime.IsZero() {
				t.Error("no signing time")
			}
			if len(sd.Certificates) < 2 {
				t.Errorf("the chain travelled with %d certificates", len(sd.Certificates))
			}

			// The same signature over a changed document must fail.
			changed := bytes.Clone(doc)
			changed[len(changed)-1] ^= 1
			if sd.Detached() {
				res, _ = sd.Verify(bytes.NewReader(changed))
			} else {
				i := bytes.Index(sig, doc[len(doc)-50:])
				if i < 0 {
					t.Fatal("content not found in the signature")
				}
				bad := bytes.Clone(sig)
				bad[i+49] ^= 1
				sd2, err := cms.Parse(bytes.NewReader(bad), int64(len(bad)))
				if err != nil {
					t.Fatal(err)
				}
				res, _ = sd2.Verify(nil)
			}
			if res[0].Err == nil {
				t.Fatal("a changed document verified")
			}
		})
	}
}

func TestEnvelopedDataIsEncrypted(t *testing.T) {
	p := acceptancetest.NewPKI(t)
	r := p.Issue(t, acceptancetest.SignerSpec{Name: "Получател"})
	env := acceptancetest.EncryptCMS(t, r, []byte("тайно"))
	kind, err := cms.ContentKind(bytes.NewReader(env), int64(len(env)))
	if err != nil || kind != cms.KindEnvelopedData || !kind.Encrypted() {
		t.Fatalf("kind %q %v", kind, err)
	}
	if _, err := cms.Parse(bytes.NewReader(env), int64(len(env))); err == nil {
		t.Fatal("enveloped data parsed as signed")
	}
}

func TestMalformed(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":                  {},
		"not a sequence":         {0x04, 0x01, 0x00},
		"length past end":        {0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x06, 0x00},
		"indefinite without end": {0x30, 0x80, 0x06, 0x01, 0x2a},
		"deep nesting":           bytes.Repeat([]byte{0x30, 0x80}, 100),
	} {
		if _, err := cms.Parse(bytes.NewReader(b), int64(len(b))); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte{0x30, 0x80, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02, 0xa0, 0x80, 0, 0, 0, 0})
	f.Add([]byte{0x30, 0x03, 0x06, 0x01, 0x2a})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<16 {
			return
		}
		cms.ContentKind(bytes.NewReader(b), int64(len(b)))
		sd, err := cms.Parse(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		h := sha256.Sum256(b)
		if sd.Detached() {
			sd.Verify(bytes.NewReader(h[:]))
		} else {
			sd.Verify(nil)
		}
	})
}
