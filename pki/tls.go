package pki

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
)

// ClientTLS is the TLS configuration of a client of the cluster from PEM files: it trusts
// caFile alone and presents the pair certFile, keyFile.
func ClientTLS(caFile, certFile, keyFile string) (*tls.Config, error) {
	pool, err := CAPool(caFile)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if certFile == "" && keyFile == "" {
		return cfg, nil
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("read client certificate: %w", err)
	}
	cfg.Certificates = []tls.Certificate{pair}
	return cfg, nil
}

// CAPool is the pool of the CA certificates in the PEM file caFile.
func CAPool(caFile string) (*x509.CertPool, error) {
	b, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("read CA %s: no PEM certificate", caFile)
	}
	return pool, nil
}

// DirClientTLS is ClientTLS from dir's ca.crt, client.crt and client.key.
func DirClientTLS(dir string) (*tls.Config, error) {
	return ClientTLS(filepath.Join(dir, CACert), filepath.Join(dir, ClientCert), filepath.Join(dir, ClientKey))
}

// ServerCertificate loads dir's server pair, its chain included.
func ServerCertificate(dir string) (tls.Certificate, error) {
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, ServerCert), filepath.Join(dir, ServerKey))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("read server certificate: %w", err)
	}
	return pair, nil
}
