package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
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

// The files of a pki directory. A pair's .crt holds the leaf and then the CA, so that a server
// sends the chain a joining host needs to check the CA against its token.
const (
	CACert     = "ca.crt"
	CAKey      = "ca.key"
	ServerCert = "server.crt"
	ServerKey  = "server.key"
	// ClientCert and ClientKey are the identity this data dir's commands present to etcd:
	// "admin" on the first host, "node:<name>" on a host that joined.
	ClientCert = "client.crt"
	ClientKey  = "client.key"
	// NodeServingCert and NodeServingKey are what the host's agent serves its logs with:
	// "node:<name>", for the node's addresses.
	NodeServingCert = "node-serving.crt"
	NodeServingKey  = "node-serving.key"
)

// Lifetimes, as kubeadm has them: the CA ten years, the certificates it issues one.
const (
	CALifetime   = 10 * 365 * 24 * time.Hour
	LeafLifetime = 365 * 24 * time.Hour
	// clockSkew backdates every certificate, so a host whose clock is a little behind accepts it.
	clockSkew = time.Hour
)

// CA is the cluster's certificate authority.
type CA struct {
	Cert *x509.Certificate
	// CertPEM is Cert as written to ca.crt.
	CertPEM []byte
	key     crypto.Signer
}

// ErrNoCA means the directory holds no CA.
var ErrNoCA = errors.New("no cluster CA")

// LoadOrCreateCA loads the CA kept in dir, or creates one there (ca.key readable by its owner
// only).
func LoadOrCreateCA(dir string, now time.Time) (*CA, error) {
	ca, err := LoadCA(dir)
	if !errors.Is(err, ErrNoCA) {
		return ca, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "gitfleet-ca"},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(CALifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	if tmpl.SerialNumber, err = serial(); err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	keyPEM, err := EncodeKey(key)
	if err != nil {
		return nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	// The key first: a ca.crt without its key would load as "no CA key" on every start.
	if err := writeFile(filepath.Join(dir, CAKey), keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := writeFile(filepath.Join(dir, CACert), certPEM, 0o644); err != nil {
		return nil, err
	}
	return LoadCA(dir)
}

// LoadCA loads the CA kept in dir; it fails with ErrNoCA when there is none.
func LoadCA(dir string) (*CA, error) {
	cert, certPEM, err := LoadCACert(dir)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, CAKey))
	if err != nil {
		return nil, fmt.Errorf("read CA key: %w", err)
	}
	key, err := decodeKey(b)
	if err != nil {
		return nil, fmt.Errorf("read CA key %s: %w", filepath.Join(dir, CAKey), err)
	}
	if !publicKeysEqual(key.Public(), cert.PublicKey) {
		return nil, fmt.Errorf("read CA: %s does not match %s", CAKey, CACert)
	}
	return &CA{Cert: cert, CertPEM: certPEM, key: key}, nil
}

// LoadCACert loads the CA certificate kept in dir, without its key, as a host that joined has
// it; it fails with ErrNoCA when there is none.
func LoadCACert(dir string) (*x509.Certificate, []byte, error) {
	file := filepath.Join(dir, CACert)
	b, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		return nil, nil, fmt.Errorf("read %s: %w", file, ErrNoCA)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read CA certificate: %w", err)
	}
	certs, err := ParseCerts(b)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", file, err)
	}
	return certs[0], b, nil
}

// Hash is the CA's pin, as kubeadm's --discovery-token-ca-cert-hash: "sha256:" and the hex
// SHA-256 of the certificate's SubjectPublicKeyInfo.
func Hash(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Pool is a certificate pool holding the CA alone.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// serial is a random 128-bit certificate serial number.
func serial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("generate serial number: %w", err)
	}
	return n, nil
}

// writeFile replaces path, created with perm, so a reader never sees half a file.
func writeFile(path string, b []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// WriteFile keeps the mode of a tmp file left by a crash; the mode must be perm.
	if err := os.Chmod(tmp, perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// KeyPEM is the CA's private key, PEM: what a control-plane host that joins gets, so that it
// can serve joins and issue its own certificates, as kubeadm's --upload-certs hands it over.
func (ca *CA) KeyPEM() ([]byte, error) { return EncodeKey(ca.key) }

// WriteCA keeps a CA received at a control-plane join in dir, after checking that the key
// matches the certificate, and loads it.
func WriteCA(dir string, certPEM, keyPEM []byte) (*CA, error) {
	certs, err := ParseCerts(certPEM)
	if err != nil {
		return nil, fmt.Errorf("read CA certificate: %w", err)
	}
	key, err := decodeKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("read CA key: %w", err)
	}
	if !certs[0].IsCA || !publicKeysEqual(key.Public(), certs[0].PublicKey) {
		return nil, fmt.Errorf("write CA: the key does not match the CA certificate")
	}
	if err := writeFile(filepath.Join(dir, CAKey), keyPEM, 0o600); err != nil {
		return nil, err
	}
	if err := writeFile(filepath.Join(dir, CACert), certPEM, 0o644); err != nil {
		return nil, err
	}
	return LoadCA(dir)
}
