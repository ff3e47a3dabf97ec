package notify

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// Signer holds the key cairn signs SNS messages with and the self-signed certificate that
// receivers verify them against, served at SigningCertURL.
type Signer struct {
	Key     *rsa.PrivateKey
	Cert    *x509.Certificate
	CertPEM []byte
	// CertName is the file name the certificate is served under, in SNS's form
	// SimpleNotificationService-<hash>.pem.
	CertName string
}

// LoadSigner reads the signing key and certificate from dir, creating them on first use.
func LoadSigner(dir string) (*Signer, error) {
	keyPath, certPath := filepath.Join(dir, "signing-key.pem"), filepath.Join(dir, "signing-cert.pem")
	keyPEM, kerr := os.ReadFile(keyPath)
	certPEM, cerr := os.ReadFile(certPath)
	if errors.Is(kerr, os.ErrNotExist) && errors.Is(cerr, os.ErrNotExist) {
		return createSigner(dir, keyPath, certPath)
	}
	if kerr != nil {
		return nil, fmt.Errorf("read SNS signing key: %w", kerr)
	}
	if cerr != nil {
		return nil, fmt.Errorf("read SNS signing certificate: %w", cerr)
	}
	kb, _ := pem.Decode(keyPEM)
	cb, _ := pem.Decode(certPEM)
	if kb == nil || cb == nil {
		return nil, fmt.Errorf("SNS signing key or certificate in %s is not PEM", dir)
	}
	key, err := x509.ParsePKCS1PrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", keyPath, err)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", certPath, err)
	}
	return newSigner(key, cert, certPEM), nil
}

func createSigner(dir, keyPath, certPath string) (*Signer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate SNS signing key: %w", err)
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "cairn Simple Notification Service", Organization: []string{"cairn"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(20, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create SNS signing certificate: %w", err)
	}
	cert, _ := x509.ParseCertificate(der)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	// The certificate is written last: a crash in between leaves a key without a certificate,
	// which LoadSigner reports instead of silently replacing the key.
	if err := writeFileSync(keyPath, keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := writeFileSync(certPath, certPEM, 0o644); err != nil {
		return nil, err
	}
	return newSigner(key, cert, certPEM), nil
}

func newSigner(key *rsa.PrivateKey, cert *x509.Certificate, certPEM []byte) *Signer {
	sum := sha256.Sum256(cert.Raw)
	return &Signer{Key: key, Cert: cert, CertPEM: certPEM, CertName: "SimpleNotificationService-" + hex.EncodeToString(sum[:16]) + ".pem"}
}

func writeFileSync(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return f.Close()
}
