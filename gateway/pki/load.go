package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
)

// ErrKeyMismatch means a private key does not belong to the certificate it was given with.
var ErrKeyMismatch = errors.New("private key does not match the certificate")

// LoadCertificates reads a PEM bundle of one or more certificates, such as the DAEU
// CA file. Anything else in the file is an error, so a key or a CRL passed by mistake
// is reported rather than ignored.
func LoadCertificates(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load certificates: %w", err)
	}
	return parseCertificates(path, data, false)
}

// CertPool returns a pool holding certs.
func CertPool(certs []*x509.Certificate) *x509.CertPool {
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool
}

// LoadIdentity reads a transport certificate (PEM, optionally followed by its
// intermediates) and its unencrypted private key: PKCS#8 "PRIVATE KEY", PKCS#1
// "RSA PRIVATE KEY" or SEC 1 "EC PRIVATE KEY". Both may be in one file. The certificate
// whose public key matches the key becomes Cert, wherever it stands in the file; the
// others become Chain. A key that matches none fails with ErrKeyMismatch.
func LoadIdentity(certPath, keyPath string) (*Identity, error) {
	certData, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("load certificate: %w", err)
	}
	certs, err := parseCertificates(certPath, certData, true)
	if err != nil {
		return nil, err
	}
	keyData, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("load private key: %w", err)
	}
	key, err := parsePrivateKey(keyPath, keyData)
	if err != nil {
		return nil, err
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok {
		return nil, fmt.Errorf("%s: unsupported public key type %T", keyPath, key.Public())
	}
	for i, c := range certs {
		if pub.Equal(c.PublicKey) {
			chain := append(append([]*x509.Certificate{}, certs[:i]...), certs[i+1:]...)
			return &Identity{Cert: c, Key: key, Chain: chain}, nil
		}
	}
	return nil, fmt.Errorf("%w: the key in %s does not belong to the certificate in %s (subject %q, serial %s); pass the key that was generated with this certificate's request",
		ErrKeyMismatch, keyPath, certPath, certs[0].Subject.String(), SerialHex(certs[0]))
}

// parseCertificates decodes the CERTIFICATE blocks of a PEM file. keysAllowed lets a
// combined certificate+key file through.
func parseCertificates(path string, data []byte, keysAllowed bool) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		switch {
		case block.Type == "CERTIFICATE":
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%s: certificate #%d: %w", path, len(certs)+1, err)
			}
			certs = append(certs, c)
		case keysAllowed && isKeyBlock(block.Type):
		default:
			return nil, fmt.Errorf("%s: holds a PEM %q block where only CERTIFICATE blocks belong; pass a file of certificates", path, block.Type)
		}
	}
	if len(certs) == 0 {
		return nil, notPEM(path, data, "CERTIFICATE")
	}
	return certs, nil
}

func isKeyBlock(typ string) bool {
	return strings.HasSuffix(typ, "PRIVATE KEY") || typ == "EC PARAMETERS"
}

// parsePrivateKey decodes the one private key of a PEM file.
func parsePrivateKey(path string, data []byte) (crypto.Signer, error) {
	var key any
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type == "CERTIFICATE" || block.Type == "EC PARAMETERS" {
			continue // a combined file, or `openssl ecparam -genkey` output
		}
		if !isKeyBlock(block.Type) {
			return nil, fmt.Errorf("%s: holds a PEM %q block where a private key belongs; pass the key file", path, block.Type)
		}
		if block.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
			return nil, fmt.Errorf("%s: the private key is encrypted; seosgw needs it unencrypted and protected by file mode 0600: openssl pkey -in %s -out <new file>", path, path)
		}
		if key != nil {
			return nil, fmt.Errorf("%s: holds more than one private key; keep only the transport certificate's key", path)
		}
		var err error
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		default:
			return nil, fmt.Errorf("%s: unsupported PEM %q block; convert the key to PKCS#8: openssl pkey -in %s -out <new file>", path, block.Type, path)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s block: %w", path, block.Type, err)
		}
	}
	switch k := key.(type) {
	case nil:
		return nil, notPEM(path, data, "PRIVATE KEY")
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	default:
		return nil, fmt.Errorf("%s: unsupported private key type %T; SEOS transport keys are RSA", path, key)
	}
}

// notPEM explains a file without the expected PEM block, with the conversion that
// fixes the usual cases: a DER file, or a PKCS#12 bundle as handed out on Windows.
func notPEM(path string, data []byte, want string) error {
	if len(strings.TrimSpace(string(data))) == 0 {
		return fmt.Errorf("%s: the file is empty", path)
	}
	if !strings.Contains(string(data), "-----BEGIN ") && data[0] == 0x30 { // binary ASN.1
		if _, err := x509.ParseCertificate(data); err == nil {
			return fmt.Errorf("%s: holds a DER certificate, not PEM; convert it: openssl x509 -inform der -in %s -out <new file>", path, path)
		}
		return fmt.Errorf("%s: is binary, not PEM; a PKCS#12 (.pfx/.p12) bundle splits with: openssl pkcs12 -in %s -nokeys -out cert.pem; openssl pkcs12 -in %s -nocerts -nodes -out key.pem (a DER key converts with: openssl pkey -inform der -in %s -out key.pem)",
			path, path, path, path)
	}
	return fmt.Errorf("%s: holds no PEM %s block", path, want)
}
