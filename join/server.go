package join

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/gitfleet/gitfleet/internal/httpserve"
	"github.com/gitfleet/gitfleet/pki"
	"github.com/gitfleet/gitfleet/store"
)

// Path is where the join server answers.
const Path = "/v1/join"

// joinRequest is what a joining host posts. The secret travels only once the host checked the
// server against the CA its token pins.
type joinRequest struct {
	TokenID  string `json:"tokenID"`
	Secret   string `json:"secret"`
	NodeName string `json:"nodeName"`
	// CSR is a PEM certificate request signed by the host's new key.
	CSR string `json:"csr"`
	// Addresses are the IPs where a worker's agent serves logs, which its serving
	// certificate names.
	Addresses []string `json:"addresses,omitempty"`
	// ControlPlane, set, asks to join as a control-plane host.
	ControlPlane *controlPlaneRequest `json:"controlPlane,omitempty"`
}

// controlPlaneRequest says where the new etcd member will listen for the other members.
type controlPlaneRequest struct {
	PeerURL string `json:"peerURL"`
}

// controlPlaneResponse is what a control-plane host gets besides a worker's answer.
type controlPlaneResponse struct {
	// CAKey is the cluster CA's private key (PEM), so that the host serves joins too.
	CAKey string `json:"caKey"`
	// InitialCluster is etcd's --initial-cluster for the new member.
	InitialCluster string `json:"initialCluster"`
}

// joinResponse is what a host gets for a valid token.
type joinResponse struct {
	// CA is the cluster CA's certificate (PEM).
	CA string `json:"ca"`
	// Certificate is the host's client certificate, "node:<name>", then the CA (PEM).
	Certificate string `json:"certificate"`
	// ServingCertificate is a worker's serving certificate for the same key, "node:<name>"
	// for its Addresses, then the CA (PEM); a control-plane host issues its own.
	ServingCertificate string                `json:"servingCertificate,omitempty"`
	EtcdEndpoints      []string              `json:"etcdEndpoints"`
	ControlPlane       *controlPlaneResponse `json:"controlPlane,omitempty"`
}

// errorResponse carries why a join failed.
type errorResponse struct {
	Error string `json:"error"`
}

// TokenReader reads token records; *store.Store is one.
type TokenReader interface {
	JoinToken(ctx context.Context, id string) (store.JoinToken, error)
}

var _ TokenReader = (*store.Store)(nil)

// Members adds etcd members; *store.Store is one.
type Members interface {
	AddLearner(ctx context.Context, name, peerURL string) (initialCluster string, clientURLs []string, err error)
	Members(ctx context.Context) ([]store.Member, error)
}

var _ Members = (*store.Store)(nil)

// NodeUsers gives a joining node its etcd user, whose rights its certificate carries;
// *store.Store is one.
type NodeUsers interface {
	EnsureNodeUser(ctx context.Context, node string) error
}

var _ NodeUsers = (*store.Store)(nil)

// ServerConfig is what the join server hands out.
type ServerConfig struct {
	CA *pki.CA
	// EtcdEndpoints are the etcd client URLs a joined host dials.
	EtcdEndpoints []string
	// Members adds control-plane hosts to the embedded etcd cluster; nil refuses them (an
	// external etcd has its own members).
	Members Members
	// Users, set, gives each joining node its etcd user before its certificate is signed.
	Users NodeUsers
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Server trades a valid token for a client certificate of the cluster CA.
type Server struct {
	tokens TokenReader
	cfg    ServerConfig
	log    *slog.Logger
}

// NewServer returns a join server that checks tokens against tokens.
func NewServer(tokens TokenReader, cfg ServerConfig, log *slog.Logger) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Server{tokens: tokens, cfg: cfg, log: log}
}

// nodeName is a DNS-1123 subdomain, as node names are.
var nodeName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// maxRequest bounds a join request's body; a CSR is well under 1 KiB.
const maxRequest = 64 << 10

// ServeHTTP answers POST Path: 200 with the host's certificate, 403 when the token is refused,
// 400 for a malformed request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != Path {
		reply(w, http.StatusNotFound, errorResponse{Error: "not found"})
		return
	}
	if r.Method != http.MethodPost {
		reply(w, http.StatusMethodNotAllowed, errorResponse{Error: "use POST"})
		return
	}
	var req joinRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		reply(w, http.StatusBadRequest, errorResponse{Error: "decode join request: " + err.Error()})
		return
	}
	log := s.log.With("token", req.TokenID, "node", req.NodeName, "remote", r.RemoteAddr)
	resp, code, err := s.join(r.Context(), req)
	switch {
	case code == http.StatusForbidden:
		log.Warn("join refused", "reason", err)
		reply(w, code, errorResponse{Error: err.Error()})
	case err != nil:
		log.Error("join failed", "err", err)
		reply(w, code, errorResponse{Error: err.Error()})
	default:
		log.Info("host joined")
		reply(w, http.StatusOK, resp)
	}
}

// join checks req and signs its CSR; on failure the status code says whose fault it is.
func (s *Server) join(ctx context.Context, req joinRequest) (joinResponse, int, error) {
	if len(req.NodeName) > 253 || !nodeName.MatchString(req.NodeName) {
		return joinResponse{}, http.StatusBadRequest, fmt.Errorf("invalid node name %q: use at most 253 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit", req.NodeName)
	}
	if !idFormat.MatchString(req.TokenID) {
		return joinResponse{}, http.StatusForbidden, ErrUnknownToken
	}
	rec, err := s.tokens.JoinToken(ctx, req.TokenID)
	if errors.Is(err, store.ErrNotFound) {
		return joinResponse{}, http.StatusForbidden, ErrUnknownToken
	}
	if err != nil {
		return joinResponse{}, http.StatusInternalServerError, fmt.Errorf("read join token: %w", err)
	}
	now := s.cfg.Now()
	if err := Verify(rec, Secret(req.Secret), now); err != nil {
		return joinResponse{}, http.StatusForbidden, err
	}
	if req.ControlPlane != nil && !rec.ControlPlane {
		return joinResponse{}, http.StatusForbidden, ErrWorkerToken
	}
	if s.cfg.Users != nil {
		if err := s.cfg.Users.EnsureNodeUser(ctx, req.NodeName); err != nil {
			return joinResponse{}, http.StatusInternalServerError, err
		}
	}
	cert, err := s.cfg.CA.SignCSR([]byte(req.CSR), pki.Request{CommonName: NodeIdentity(req.NodeName)}, now)
	if err != nil {
		return joinResponse{}, http.StatusBadRequest, err
	}
	resp := joinResponse{CA: string(s.cfg.CA.CertPEM), Certificate: string(cert), EtcdEndpoints: s.endpoints(ctx)}
	if req.ControlPlane == nil {
		if resp.ServingCertificate, err = s.servingCert(req, now); err != nil {
			return joinResponse{}, http.StatusBadRequest, err
		}
	}
	if req.ControlPlane != nil {
		code, err := s.addMember(ctx, req, &resp)
		if err != nil {
			return joinResponse{}, code, err
		}
	}
	return resp, http.StatusOK, nil
}

// endpoints are the client URLs of every etcd member, else the configured ones.
func (s *Server) endpoints(ctx context.Context) []string {
	if s.cfg.Members == nil {
		return s.cfg.EtcdEndpoints
	}
	members, err := s.cfg.Members.Members(ctx)
	if err != nil {
		s.log.Warn("list etcd members for a joining host; it gets this host's etcd only", "err", err)
		return s.cfg.EtcdEndpoints
	}
	var out []string
	for _, m := range members {
		if !m.Learner {
			out = append(out, m.ClientURLs...)
		}
	}
	if len(out) == 0 {
		return s.cfg.EtcdEndpoints
	}
	return out
}

// addMember adds the host's etcd member as a learner and fills in what it needs to start it.
func (s *Server) addMember(ctx context.Context, req joinRequest, resp *joinResponse) (int, error) {
	if s.cfg.Members == nil {
		return http.StatusBadRequest, errors.New("this cluster's etcd is external: control-plane hosts join with --etcd-endpoints, not --join")
	}
	u, err := url.Parse(req.ControlPlane.PeerURL)
	if err != nil || u.Scheme != "https" || net.ParseIP(u.Hostname()) == nil || u.Port() == "" || u.Path != "" {
		return http.StatusBadRequest, fmt.Errorf("peer URL %q: want https://IP:PORT", req.ControlPlane.PeerURL)
	}
	key, err := s.cfg.CA.KeyPEM()
	if err != nil {
		return http.StatusInternalServerError, err
	}
	cluster, clientURLs, err := s.cfg.Members.AddLearner(ctx, req.NodeName, u.String())
	if errors.Is(err, store.ErrMembersSettling) {
		return http.StatusServiceUnavailable, err
	}
	if err != nil {
		return http.StatusConflict, err
	}
	resp.EtcdEndpoints = clientURLs
	resp.ControlPlane = &controlPlaneResponse{CAKey: string(key), InitialCluster: cluster}
	return http.StatusOK, nil
}

// maxAddresses bounds the addresses a serving certificate names.
const maxAddresses = 8

// servingCert signs a worker's serving certificate: for the key of its client certificate (one
// key, one request proving it, two certificates: the server's chain is what its clients check,
// and the key never leaves the host either way), its node's identity and the addresses it
// asked for. The name, not the address, is what a client checks (gitfleet logs expects the
// Pod's node), so an address the host claims wrongly lets it impersonate no other node.
func (s *Server) servingCert(req joinRequest, now time.Time) (string, error) {
	if len(req.Addresses) > maxAddresses {
		return "", fmt.Errorf("%d addresses for the serving certificate: at most %d", len(req.Addresses), maxAddresses)
	}
	ips := make([]net.IP, len(req.Addresses))
	for i, a := range req.Addresses {
		if ips[i] = net.ParseIP(a); ips[i] == nil {
			return "", fmt.Errorf("address %q for the serving certificate is not an IP address", a)
		}
	}
	cert, err := s.cfg.CA.SignCSR([]byte(req.CSR), pki.Request{CommonName: NodeIdentity(req.NodeName), Usage: pki.Server, IPs: ips}, now)
	if err != nil {
		return "", err
	}
	return string(cert), nil
}

// NodeIdentity is the common name of node's certificate: its etcd user.
func NodeIdentity(node string) string { return store.NodeUser(node) }

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// Serve answers joins on l over TLS with cert (its chain holding the CA, which joining hosts
// check against their token) until ctx ends, then shuts down.
func (s *Server) Serve(ctx context.Context, l net.Listener, cert tls.Certificate) error {
	s.log.Info("serving joins", "addr", l.Addr().String())
	// A host with another cluster's token hangs up in the handshake: that is its error to
	// report, not the server's.
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if err := httpserve.Run(ctx, l, s, tlsConf, slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)); err != nil {
		return fmt.Errorf("serve joins: %w", err)
	}
	return nil
}
