package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/pki"
	"github.com/gitfleet/gitfleet/store"
)

// logsFlags are what `gitfleet logs` asks for.
type logsFlags struct {
	namespace, container string
	follow, previous     bool
	tail                 int
}

// query is the log server's query for f.
func (f logsFlags) query() string {
	q := url.Values{}
	if f.follow {
		q.Set("follow", "true")
	}
	if f.previous {
		q.Set("previous", "true")
	}
	if f.tail >= 0 {
		q.Set("tail", strconv.Itoa(f.tail))
	}
	return q.Encode()
}

func runLogs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("logs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	conn := connFlags{readOnly: true}
	conn.register(fs)
	var f logsFlags
	fs.StringVar(&f.namespace, "n", api.DefaultNamespace, "the Pod's namespace")
	fs.StringVar(&f.container, "c", "", "the container (may be left out when the Pod has one)")
	fs.BoolVar(&f.follow, "f", false, "keep printing what the container writes, until interrupted")
	fs.IntVar(&f.tail, "tail", -1, "print only the last N lines (-1: all)")
	fs.BoolVar(&f.previous, "previous", false, "print the log of the container's attempt before its last restart")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gitfleet logs POD [-n NAMESPACE] [-c CONTAINER] [-f] [--tail N] [--previous]\n\n"+
			"Prints a container's log, as the agent of the Pod's node serves it (over TLS with this host's certificate).")
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return errors.New("logs: want one POD")
	}
	ctx, s, done, err := conn.session(ctx, 0) // a follow lasts until interrupted
	if err != nil {
		return err
	}
	defer done()
	t, err := findLog(ctx, s, api.PodKey{Namespace: f.namespace, Name: pos[0]}, f.container, conn.agentClient)
	if err != nil {
		return err
	}
	err = t.copy(ctx, f.query(), stdout)
	if ctx.Err() != nil { // interrupted: what the user asked for
		return nil
	}
	return err
}

// logTarget is a container's log and the agent that serves it.
type logTarget struct {
	key             api.PodKey
	node, container string
	endpoint        api.DaemonEndpoint
	client          *http.Client
}

// agentDialer returns a client of node's agent at ep.
type agentDialer func(node string, ep api.DaemonEndpoint) (*http.Client, error)

// lookupTimeout bounds the reads from etcd and the agents before the log is read; agentTimeout
// bounds the answer of each agent asked for a Pod's containers, so that a node that is down
// does not hold up the others' answers for long.
const (
	lookupTimeout = 10 * time.Second
	agentTimeout  = 3 * time.Second
)

// findLog finds the node of the Pod key and its container (the Pod's only one when container
// is ""), from etcd. A worker host's identity, its node's, may not read the Pods of other
// nodes: then it asks every node's agent which containers of the Pod it has logs of.
func findLog(ctx context.Context, s *store.Store, key api.PodKey, container string, dial agentDialer) (logTarget, error) {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	pod, _, err := s.GetPod(ctx, key.Namespace, key.Name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return logTarget{}, fmt.Errorf("pod %s not found", key)
	case errors.Is(err, store.ErrPermissionDenied):
		return findOnNodes(ctx, s, key, container, dial)
	case err != nil:
		return logTarget{}, err
	}
	if container, err = pickContainer(key, pod.Spec, container); err != nil {
		return logTarget{}, err
	}
	if pod.Spec.NodeName == "" {
		return logTarget{}, fmt.Errorf("pod %s is not scheduled to a node yet: it has no logs", key)
	}
	node, err := s.GetNode(ctx, pod.Spec.NodeName)
	if errors.Is(err, store.ErrNotFound) {
		return logTarget{}, fmt.Errorf("pod %s is bound to node %s, which is not registered", key, pod.Spec.NodeName)
	}
	if err != nil {
		return logTarget{}, err
	}
	return target(key, node, container, dial)
}

// target is the log of container of key on node, whose agent's endpoint it needs.
func target(key api.PodKey, node api.Node, container string, dial agentDialer) (logTarget, error) {
	name := node.Metadata.Name
	if node.Status.DaemonEndpoints == nil {
		return logTarget{}, fmt.Errorf("node %s publishes no logs endpoint (its agent serves no logs: an older gitfleet, or a host that joined before logs were served; its agent's log says why)", name)
	}
	ep := node.Status.DaemonEndpoints.AgentEndpoint
	client, err := dial(name, ep)
	if err != nil {
		return logTarget{}, err
	}
	return logTarget{key: key, node: name, container: container, endpoint: ep, client: client}, nil
}

// pickContainer is container when the Pod has it (an init container too), else the Pod's only
// container when container is "".
func pickContainer(key api.PodKey, spec api.PodSpec, container string) (string, error) {
	var names []string
	for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
		names = append(names, c.Name)
	}
	switch {
	case container == "" && len(spec.Containers) == 1:
		return spec.Containers[0].Name, nil
	case container == "":
		return "", fmt.Errorf("pod %s has %d containers: name one with -c (%s)", key, len(names), strings.Join(names, ", "))
	case !slices.Contains(names, container):
		return "", fmt.Errorf("pod %s has no container %q (its containers: %s)", key, container, strings.Join(names, ", "))
	}
	return container, nil
}

// copy writes the log, with query, to w.
func (t logTarget) copy(ctx context.Context, query string, w io.Writer) error {
	u := t.endpoint.URL() + "/v1/logs/" + url.PathEscape(t.key.Namespace) + "/" + url.PathEscape(t.key.Name) + "/" + url.PathEscape(t.container)
	if query != "" {
		u += "?" + query
	}
	resp, err := agentGet(ctx, t.client, u)
	if err != nil {
		return fmt.Errorf("logs of pod %s from node %s: %w", t.key, t.node, err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("logs of pod %s from node %s: %w", t.key, t.node, err)
	}
	return nil
}

// agentGet asks an agent for u: the answer when it is 200, else an error with the agent's
// message.
func agentGet(ctx context.Context, client *http.Client, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return nil, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return resp, nil
}

// findOnNodes asks every node that serves logs for the containers of key it has logs of; one
// node must have them.
func findOnNodes(ctx context.Context, s *store.Store, key api.PodKey, container string, dial agentDialer) (logTarget, error) {
	nodes, _, err := s.ListNodes(ctx)
	if err != nil {
		return logTarget{}, err
	}
	type found struct {
		t          logTarget
		containers []string
		err        error
	}
	answers := make(chan found, len(nodes))
	for _, n := range nodes {
		go func() {
			t, err := target(key, n.Value, container, dial)
			if err != nil {
				answers <- found{err: err}
				return
			}
			var l struct {
				Containers []string `json:"containers"`
			}
			actx, cancel := context.WithTimeout(ctx, agentTimeout)
			defer cancel()
			resp, err := agentGet(actx, t.client, t.endpoint.URL()+"/v1/logs/"+url.PathEscape(key.Namespace)+"/"+url.PathEscape(key.Name))
			if err == nil {
				err = json.NewDecoder(resp.Body).Decode(&l)
				resp.Body.Close()
			}
			answers <- found{t: t, containers: l.Containers, err: err}
		}()
	}
	var hits []found
	for range nodes {
		if a := <-answers; a.err == nil {
			hits = append(hits, a)
		}
	}
	switch {
	case len(hits) == 0:
		return logTarget{}, fmt.Errorf("pod %s: no node has its logs (this host's identity may not read Pods, so gitfleet asked every node's agent; a Pod that has not started has none)", key)
	case len(hits) > 1:
		return logTarget{}, fmt.Errorf("pod %s: nodes %s and %s both have logs of it; read them from a control-plane host, which knows where it runs", key, hits[0].t.node, hits[1].t.node)
	}
	t := hits[0].t
	switch {
	case container == "" && len(hits[0].containers) == 1:
		t.container = hits[0].containers[0]
	case container == "":
		return logTarget{}, fmt.Errorf("pod %s has logs of %d containers: name one with -c (%s)", key, len(hits[0].containers), strings.Join(hits[0].containers, ", "))
	}
	return t, nil
}

// agentClient is a client of node's agent at ep: over TLS for https, with this host's
// certificate (as for etcd: the viewer's on a control-plane host, the node's on a worker). It
// checks that the agent's certificate is from the cluster CA and for node, whatever address
// it is reached at: the name is what the CA vouches for, and it stays right when a node's
// address changes after its certificate was issued.
func (c *connFlags) agentClient(node string, ep api.DaemonEndpoint) (*http.Client, error) {
	transport := &http.Transport{} // no proxy: nodes are reached directly
	if ep.Scheme == "https" {
		conf, err := c.agentTLS()
		if err != nil {
			return nil, fmt.Errorf("node %s serves logs over TLS: %w", node, err)
		}
		roots, want := conf.RootCAs, store.NodeUser(node)
		conf.InsecureSkipVerify = true // VerifyConnection checks the chain, and the name
		conf.VerifyConnection = func(cs tls.ConnectionState) error { return verifyAgent(cs, roots, want) }
		transport.TLSClientConfig = conf
	}
	return &http.Client{Transport: transport}, nil
}

// agentTLS is this host's TLS identity: --etcd-ca, --etcd-cert and --etcd-key when given, else
// DATA_DIR/pki's.
func (c *connFlags) agentTLS() (*tls.Config, error) {
	if c.ca != "" && c.cert != "" && c.key != "" {
		return pki.ClientTLS(c.ca, c.cert, c.key)
	}
	conf, err := c.dirTLS()
	if err != nil {
		return nil, fmt.Errorf("read this host's certificate (DATA_DIR/pki, or --etcd-ca, --etcd-cert and --etcd-key): %w", err)
	}
	return conf, nil
}

// verifyAgent checks that an agent's certificate chains to roots, for serving, and names want.
func verifyAgent(cs tls.ConnectionState, roots *x509.CertPool, want string) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("the agent sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	leaf := cs.PeerCertificates[0]
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		return fmt.Errorf("the agent's certificate: %w", err)
	}
	if cn := leaf.Subject.CommonName; cn != want {
		return fmt.Errorf("the agent's certificate is for %q, not %q", cn, want)
	}
	return nil
}
