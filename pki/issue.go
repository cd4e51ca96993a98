package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Usage says what a certificate is for.
type Usage int

const (
	// Client authenticates to etcd and nothing else.
	Client Usage = iota
	// Server serves etcd and the join server. It may authenticate as a client too: etcd's gRPC
	// gateway dials its own server with the server certificate.
	Server
)

// Request says what a certificate names: who (CommonName) and, for a server, where.
type Request struct {
	CommonName string
	Usage      Usage
	IPs        []net.IP
	DNSNames   []string
}

// renewBefore is how long before its end Ensure replaces a certificate.
const renewBefore = 30 * 24 * time.Hour

// Sign issues a certificate for pub that says what req asks, valid from now for
// LeafLifetime, and returns it PEM-encoded followed by the CA certificate.
func (ca *CA) Sign(pub crypto.PublicKey, req Request, now time.Time) ([]byte, error) {
	if req.CommonName == "" {
		return nil, fmt.Errorf("sign certificate: no common name")
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: req.CommonName},
		NotBefore:   now.Add(-clockSkew),
		NotAfter:    now.Add(LeafLifetime),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		IPAddresses: req.IPs,
		DNSNames:    req.DNSNames,
	}
	if req.Usage == Server {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	var err error
	if tmpl.SerialNumber, err = serial(); err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.key)
	if err != nil {
		return nil, fmt.Errorf("sign certificate for %s: %w", req.CommonName, err)
	}
	return append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), ca.CertPEM...), nil
}

// SignCSR issues a certificate for the key of a PEM certificate request, once the request's
// signature proves its sender holds that key. The names come from req alone: the CA, not the
// requester, decides who the certificate says it is.
func (ca *CA) SignCSR(csrPEM []byte, req Request, now time.Time) ([]byte, error) {
	block, _ := pem.Decode(csrPEM)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, fmt.Errorf("read certificate request: not a PEM CERTIFICATE REQUEST")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("read certificate request: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("check certificate request: %w", err)
	}
	return ca.Sign(csr.PublicKey, req, now)
}

// Issue makes a new key and a certificate for it: the certificate chain and the key, PEM.
func (ca *CA) Issue(req Request, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := NewKey()
	if err != nil {
		return nil, nil, err
	}
	if certPEM, err = ca.Sign(key.Public(), req, now); err != nil {
		return nil, nil, err
	}
	if keyPEM, err = EncodeKey(key); err != nil {
		return nil, nil, err
	}
	return certPEM, keyPEM, nil
}

// Ensure keeps the pair certFile, keyFile in dir when it is signed by ca, names what req asks
// and stays valid for 30 days more; else it issues a new pair there, the key readable by its
// owner only. It reports whether it issued one.
func (ca *CA) Ensure(dir, certFile, keyFile string, req Request, now time.Time) (bool, error) {
	certPath, keyPath := filepath.Join(dir, certFile), filepath.Join(dir, keyFile)
	if ca.valid(certPath, keyPath, req, now.Add(renewBefore)) {
		return false, nil
	}
	certPEM, keyPEM, err := ca.Issue(req, now)
	if err != nil {
		return false, err
	}
	// A reader between the two renames sees a key that does not match; Ensure runs before the
	// servers and clients that read the pair start.
	if err := writeFile(keyPath, keyPEM, 0o600); err != nil {
		return false, err
	}
	return true, writeFile(certPath, certPEM, 0o644)
}

// valid reports whether the pair at certPath, keyPath is signed by ca, matches, names what req
// asks and is valid at t.
func (ca *CA) valid(certPath, keyPath string, req Request, t time.Time) bool {
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return false
	}
	leaf := pair.Leaf
	usage := x509.ExtKeyUsageClientAuth
	if req.Usage == Server {
		usage = x509.ExtKeyUsageServerAuth
	}
	_, err = leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), CurrentTime: t, KeyUsages: []x509.ExtKeyUsage{usage}})
	return err == nil && leaf.Subject.CommonName == req.CommonName &&
		slices.EqualFunc(leaf.IPAddresses, req.IPs, net.IP.Equal) && slices.Equal(leaf.DNSNames, req.DNSNames)
}

// NewKey generates a P-256 key.
func NewKey() (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return key, nil
}

// CSR is a PEM certificate request signed by key; it names nothing, the CA decides that.
func CSR(key crypto.Signer) ([]byte, error) {
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		return nil, fmt.Errorf("create certificate request: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}

// EncodeKey is key as a PEM PKCS #8 block.
func EncodeKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

func decodeKey(b []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("not a PEM PRIVATE KEY")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("a %T cannot sign", k)
	}
	return s, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}

// ParseCerts reads every certificate of a PEM bundle, at least one.
func ParseCerts(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse certificate: %w", err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM certificate")
	}
	return out, nil
}

// WriteClient keeps the identity a host got at join in dir: the CA, its certificate and its
// key (readable by its owner only).
func WriteClient(dir string, caPEM, certPEM, keyPEM []byte) error {
	if err := writeFile(filepath.Join(dir, CACert), caPEM, 0o644); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, ClientKey), keyPEM, 0o600); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, ClientCert), certPEM, 0o644)
}

// WriteNodeServing keeps the serving certificate a worker got at join, for the key of its
// client certificate, as the pair NodeServingCert, NodeServingKey in dir.
func WriteNodeServing(dir string, certPEM, keyPEM []byte) error {
	if err := writeFile(filepath.Join(dir, NodeServingKey), keyPEM, 0o600); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, NodeServingCert), certPEM, 0o644)
}

// HasClient reports whether dir holds a client pair.
func HasClient(dir string) bool {
	_, errC := os.Stat(filepath.Join(dir, ClientCert))
	_, errK := os.Stat(filepath.Join(dir, ClientKey))
	return errC == nil && errK == nil
}
