package pki

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
)

// Identity is a certificate with its private key: a participant's transport identity
// (TLS client and server, message signer) or an authority's.
type Identity struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	// Chain holds the intermediate certificates sent after Cert in a TLS handshake,
	// nearest first. It is empty for certificates issued straight by a root, as DAEU's
	// are: peers hold the root already.
	Chain []*x509.Certificate
}

// TLSCertificate returns the identity for tls.Config.Certificates.
func (id *Identity) TLSCertificate() tls.Certificate {
	der := make([][]byte, 0, 1+len(id.Chain))
	der = append(der, id.Cert.Raw)
	for _, c := range id.Chain {
		der = append(der, c.Raw)
	}
	return tls.Certificate{Certificate: der, PrivateKey: id.Key, Leaf: id.Cert}
}

// CertPEM returns the certificate followed by its chain, PEM-encoded.
func (id *Identity) CertPEM() []byte {
	var out []byte
	for _, c := range append([]*x509.Certificate{id.Cert}, id.Chain...) {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// KeyPEM returns the private key as an unencrypted PEM "PRIVATE KEY" (PKCS#8). It
// fails only for keys that cannot leave their signer, such as a hardware token's.
func (id *Identity) KeyPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(id.Key)
	if err != nil {
		return nil, fmt.Errorf("encode private key of %q as PKCS#8: %w", id.Cert.Subject.CommonName, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// WriteFiles writes <dir>/<base>.pem (mode 0644) and <dir>/<base>-key.pem (mode 0600).
// Each file is replaced atomically, so a node reading them never sees half a file,
// and an existing key file gets mode 0600 even if it had a wider one.
func (id *Identity) WriteFiles(dir, base string) (certPath, keyPath string, err error) {
	keyPEM, err := id.KeyPEM()
	if err != nil {
		return "", "", err
	}
	certPath = filepath.Join(dir, base+".pem")
	keyPath = filepath.Join(dir, base+"-key.pem")
	if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return "", "", err
	}
	if err := writeFileAtomic(certPath, id.CertPEM(), 0o644); err != nil {
		return "", "", err
	}
	return certPath, keyPath, nil
}

func writeFileAtomic(path string, data []byte, perm os.FileMode) (err error) {
	// CreateTemp makes the file 0600, so key bytes are never readable by others,
	// even for the moment before Chmod.
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
