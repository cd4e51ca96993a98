package containerd

import (
	"fmt"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gitfleet/gitfleet/api"
)

// resolvConfName is a Pod's resolv.conf in its pod directory, removed with it.
const resolvConfName = "resolv.conf"

// resolvConf is the resolv.conf of a Pod of namespace ns that uses the cluster DNS at server,
// as Kubernetes' ClusterFirst policy writes it: the Pod's namespace searched first, so that
// "web" is a Service of its own namespace and "web.other" one of another; ndots:5, so that
// those short names try the cluster's domains before the world's.
func resolvConf(server, ns string) string {
	d := api.ClusterDomain
	return fmt.Sprintf("nameserver %s\nsearch %s.svc.%s svc.%s %s\noptions ndots:5\n", server, ns, d, d, d)
}

// usesClusterDNS reports whether pod's containers get the cluster DNS's resolv.conf: all but
// hostNetwork Pods, which keep the host's, when the node has a cluster DNS.
func (c *Runtime) usesClusterDNS(pod *api.Pod) bool {
	return c.cfg.DNSServer != "" && !pod.Spec.HostNetwork
}

// writeResolvConf writes the Pod's resolv.conf when it uses the cluster DNS, before its
// containers are created: their spec mounts it.
func (c *Runtime) writeResolvConf(pod *api.Pod) error {
	if !c.usesClusterDNS(pod) {
		return nil
	}
	key := api.PodKeyOf(pod)
	files := map[string]string{resolvConfName: resolvConf(c.cfg.DNSServer, key.Namespace)}
	if err := writeFiles(c.podDir(key), files); err != nil {
		return fmt.Errorf("write resolv.conf: %w", err)
	}
	return nil
}

// dnsMounts bind-mounts the Pod's resolv.conf, read-only, at /etc/resolv.conf when it uses the
// cluster DNS. It comes before the volumes' mounts, so that a volume mounted there wins.
func (c *Runtime) dnsMounts(pod *api.Pod) []specs.Mount {
	if !c.usesClusterDNS(pod) {
		return nil
	}
	src := filepath.Join(c.podDir(api.PodKeyOf(pod)), resolvConfName)
	return []specs.Mount{{Destination: "/etc/resolv.conf", Type: "bind", Source: src, Options: []string{"rbind", "ro"}}}
}
