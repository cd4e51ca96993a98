package join

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/gitfleet/gitfleet/pki"
)

var (
	// ErrRefused means the server refused the token; the message says why.
	ErrRefused = errors.New("token refused")
	// ErrCAMismatch means the server's certificate does not chain to the CA the token pins.
	ErrCAMismatch = errors.New("server certificate is not signed by the CA this token pins (token is for another cluster?)")
)

// Credentials are what a host gets at join.
type Credentials struct {
	// CA is the cluster CA's certificate; Cert the host's certificate, then the CA (PEM).
	CA, Cert []byte
	// Key is the host's new private key (PEM); it never left the host.
	Key []byte
	// ServingCert is a worker's serving certificate for the same key, then the CA (PEM):
	// "node:<name>" for the addresses it asked for, which its agent serves logs with. A server
	// older than logs sends none.
	ServingCert   []byte
	EtcdEndpoints []string
	// CAKey and InitialCluster are a control-plane host's: the CA's private key (PEM) and
	// etcd's --initial-cluster for its new member.
	CAKey          []byte
	InitialCluster string
}

// permanent marks an error that a retry would meet again: a refusal, another cluster's server,
// a malformed request.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// Permanent reports whether err, from Join, would come back on a retry; other errors (the
// server is not up yet, a network fault, a server error) may pass.
func Permanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}

// Join asks the join server at server (https://host:port) for the credentials of node with
// tok, and for a serving certificate for addresses, where the node's agent serves logs. Before
// it sends the token's secret it checks that the server's certificate chains to the CA the
// token pins, and names the server's host.
func Join(ctx context.Context, server string, tok Token, node string, addresses []net.IP) (Credentials, error) {
	return join(ctx, server, tok, node, joinRequest{Addresses: ipStrings(addresses)})
}

func ipStrings(ips []net.IP) []string {
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.String()
	}
	return out
}

// JoinControlPlane is Join for a control-plane host whose etcd member will listen for the
// other members at peerURL (https://IP:PORT): the server adds the member to the cluster (as
// a learner, which the host promotes once it caught up) and sends the CA's key too.
func JoinControlPlane(ctx context.Context, server string, tok Token, node, peerURL string) (Credentials, error) {
	creds, err := join(ctx, server, tok, node, joinRequest{ControlPlane: &controlPlaneRequest{PeerURL: peerURL}})
	if err == nil && (len(creds.CAKey) == 0 || creds.InitialCluster == "") {
		err = permanent{fmt.Errorf("join %s: the server sent no CA key or initial cluster (an older gitfleet?)", server)}
	}
	return creds, err
}

// join posts req, completed with the token, node and a CSR.
func join(ctx context.Context, server string, tok Token, node string, req joinRequest) (Credentials, error) {
	u, err := url.Parse(server)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return Credentials{}, permanent{fmt.Errorf("join: server %q is not an https://HOST:PORT URL", server)}
	}
	key, err := pki.NewKey()
	if err != nil {
		return Credentials{}, err
	}
	csr, err := pki.CSR(key)
	if err != nil {
		return Credentials{}, err
	}
	pin := &pinnedCA{hash: tok.CAHash, host: u.Hostname()}
	req.TokenID, req.Secret, req.NodeName, req.CSR = tok.ID, string(tok.Secret), node, string(csr)
	body, err := json.Marshal(req)
	if err != nil {
		return Credentials{}, fmt.Errorf("encode join request: %w", err)
	}
	resp, err := post(ctx, u.JoinPath(Path).String(), body, pin)
	if err != nil {
		return Credentials{}, fmt.Errorf("join %s: %w", server, err)
	}
	keyPEM, err := pki.EncodeKey(key)
	if err != nil {
		return Credentials{}, err
	}
	creds := Credentials{CA: []byte(resp.CA), Cert: []byte(resp.Certificate), Key: keyPEM, EtcdEndpoints: resp.EtcdEndpoints,
		ServingCert: []byte(resp.ServingCertificate)}
	if resp.ControlPlane != nil {
		creds.CAKey, creds.InitialCluster = []byte(resp.ControlPlane.CAKey), resp.ControlPlane.InitialCluster
	}
	if err := creds.check(tok.CAHash, node, key.Public()); err != nil {
		return Credentials{}, permanent{fmt.Errorf("join %s: %w", server, err)}
	}
	return creds, nil
}

// post sends a join request and decodes the answer.
func post(ctx context.Context, endpoint string, body []byte, pin *pinnedCA) (joinResponse, error) {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12,
			// The host has no CA yet, only its hash: VerifyConnection checks the chain against it.
			InsecureSkipVerify: true, VerifyConnection: pin.verify}}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return joinResponse{}, permanent{err}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // it would repeat the URL
		}
		if errors.Is(err, ErrCAMismatch) {
			return joinResponse{}, permanent{ErrCAMismatch}
		}
		return joinResponse{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return joinResponse{}, fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e errorResponse
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			e.Error = string(bytes.TrimSpace(b))
		}
		switch {
		case resp.StatusCode == http.StatusForbidden:
			return joinResponse{}, permanent{fmt.Errorf("%w: %s", ErrRefused, e.Error)}
		case resp.StatusCode < 500:
			return joinResponse{}, permanent{fmt.Errorf("server answered %s: %s", resp.Status, e.Error)}
		}
		return joinResponse{}, fmt.Errorf("server answered %s: %s", resp.Status, e.Error)
	}
	var out joinResponse
	if err := json.Unmarshal(b, &out); err != nil {
		return joinResponse{}, permanent{fmt.Errorf("decode answer: %w", err)}
	}
	return out, nil
}

// pinnedCA checks a server's chain against the CA whose hash a token holds.
type pinnedCA struct {
	hash, host string
}

// verify finds the pinned CA among the certificates the server sent and verifies the server's
// certificate against it alone, for the server's host.
func (p *pinnedCA) verify(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return ErrCAMismatch
	}
	for _, c := range cs.PeerCertificates[1:] {
		if !c.IsCA || pki.Hash(c) != p.hash {
			continue
		}
		roots := x509.NewCertPool()
		roots.AddCert(c)
		_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, DNSName: p.host,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		if err != nil {
			return fmt.Errorf("%w: %w", ErrCAMismatch, err)
		}
		return nil
	}
	return ErrCAMismatch
}

// check makes sure the credentials are what was asked: the pinned CA, a certificate from it for
// node and for the host's own key.
func (c Credentials) check(caHash, node string, pub crypto.PublicKey) error {
	cas, err := pki.ParseCerts(c.CA)
	if err != nil {
		return fmt.Errorf("read the CA it sent: %w", err)
	}
	if pki.Hash(cas[0]) != caHash {
		return fmt.Errorf("the CA it sent is not the one the token pins")
	}
	roots := x509.NewCertPool()
	roots.AddCert(cas[0])
	if err := checkCert(c.Cert, "certificate", roots, x509.ExtKeyUsageClientAuth, node, pub); err != nil {
		return err
	}
	if len(c.ServingCert) > 0 {
		if err := checkCert(c.ServingCert, "serving certificate", roots, x509.ExtKeyUsageServerAuth, node, pub); err != nil {
			return err
		}
	}
	if len(c.EtcdEndpoints) == 0 {
		return fmt.Errorf("it sent no etcd endpoints")
	}
	return nil
}

// checkCert checks that the PEM chain b (what names it) holds a certificate from roots for
// usage, node's identity and pub.
func checkCert(b []byte, what string, roots *x509.CertPool, usage x509.ExtKeyUsage, node string, pub crypto.PublicKey) error {
	certs, err := pki.ParseCerts(b)
	if err != nil {
		return fmt.Errorf("read the %s it sent: %w", what, err)
	}
	leaf := certs[0]
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
		return fmt.Errorf("check the %s it sent: %w", what, err)
	}
	if leaf.Subject.CommonName != NodeIdentity(node) {
		return fmt.Errorf("the %s it sent is for %q, not %q", what, leaf.Subject.CommonName, NodeIdentity(node))
	}
	if eq, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(pub) {
		return fmt.Errorf("the %s it sent is for another key", what)
	}
	return nil
}
