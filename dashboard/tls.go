package dashboard

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// certCheckInterval is how often, at most, a handshake looks whether the files changed.
const certCheckInterval = time.Second

// CertFiles serves the certificate pair kept in two PEM files, and reads them again when
// either changes: cert-manager and Kubernetes' dynamic serving certificates replace them in
// place, and the dashboard keeps serving without a restart.
type CertFiles struct {
	certFile, keyFile string
	log               *slog.Logger
	now               func() time.Time

	mu sync.Mutex
	// pair is what handshakes get: the last pair that loaded.
	pair *tls.Certificate
	// certPEM and keyPEM are the files' contents when last read, loaded or not.
	certPEM, keyPEM []byte
	checked         time.Time
	// readErr is the last failure to read the files, logged once.
	readErr string
}

// LoadCertFiles reads the pair of certFile (the leaf first, then any intermediates) and
// keyFile; log says when a later change is taken or refused, now is the clock.
func LoadCertFiles(certFile, keyFile string, log *slog.Logger, now func() time.Time) (*CertFiles, error) {
	c := &CertFiles{certFile: certFile, keyFile: keyFile, log: log, now: now}
	certPEM, keyPEM, err := c.read()
	if err != nil {
		return nil, err
	}
	if c.pair, err = c.load(certPEM, keyPEM); err != nil {
		return nil, err
	}
	c.certPEM, c.keyPEM, c.checked = certPEM, keyPEM, now()
	return c, nil
}

// read returns the files' contents, naming the one that fails.
func (c *CertFiles) read() (certPEM, keyPEM []byte, err error) {
	if certPEM, err = os.ReadFile(c.certFile); err != nil {
		return nil, nil, fmt.Errorf("read the TLS certificate: %w", err)
	}
	if keyPEM, err = os.ReadFile(c.keyFile); err != nil {
		return nil, nil, fmt.Errorf("read the TLS key: %w", err)
	}
	return certPEM, keyPEM, nil
}

func (c *CertFiles) load(certPEM, keyPEM []byte) (*tls.Certificate, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load the TLS pair %s, %s: %w", c.certFile, c.keyFile, err)
	}
	return &pair, nil
}

// GetCertificate is tls.Config's: the current pair, loaded again when a file changed since the
// last look (at most once a second). The files' contents tell a change, not their mtime and
// size, which a rewrite within one tick of the kernel's clock can keep. A pair that fails to
// load is logged once and the previous one kept until the files change again, so a rotation
// that writes the certificate and then the key is taken once both are written.
func (c *CertFiles) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if now.Sub(c.checked) < certCheckInterval {
		return c.pair, nil
	}
	c.checked = now
	certPEM, keyPEM, err := c.read()
	if err != nil {
		// A file missing for a moment (replaced by a rename) or for good: the same content
		// back later needs no reload.
		if err.Error() != c.readErr {
			c.readErr = err.Error()
			c.log.Warn("cannot read the dashboard's TLS certificate: still serving the previous one", "error", err)
		}
		return c.pair, nil
	}
	c.readErr = ""
	if bytes.Equal(certPEM, c.certPEM) && bytes.Equal(keyPEM, c.keyPEM) {
		return c.pair, nil
	}
	c.certPEM, c.keyPEM = certPEM, keyPEM
	pair, err := c.load(certPEM, keyPEM)
	if err != nil {
		c.log.Warn("the dashboard's TLS certificate changed but does not load: still serving the previous one", "error", err)
		return c.pair, nil
	}
	c.pair = pair
	c.log.Info("reloaded the dashboard's TLS certificate", "file", c.certFile,
		"serial", pair.Leaf.SerialNumber.String(), "not_after", pair.Leaf.NotAfter.UTC().Format(time.RFC3339))
	return c.pair, nil
}

// TLSConfig is a server's TLS with the files' pair, TLS 1.2 at least.
func (c *CertFiles) TLSConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.GetCertificate}
}
