package podnet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/containerd/containerd/v2/pkg/netns"
	gocni "github.com/containerd/go-cni"

	"github.com/gitfleet/gitfleet/api"
)

// Attachment is a Pod's network once set up: its address, and the namespace its containers join.
type Attachment struct {
	IP        string
	NetNSPath string
}

// Setup creates the Pod's network namespace under <data dir>/netns/<id>/ and attaches it to
// the bridge with the Pod's hostPorts. id names the Pod's network on this node (its directory
// and, with the namespace's name, its CNI container ID); the directory also records the Pod's
// key for Orphans. A failed Setup leaves nothing behind.
func (n *Network) Setup(ctx context.Context, id string, pod *api.Pod) (Attachment, error) {
	key := api.PodKeyOf(pod)
	dir := filepath.Join(n.dir, id)
	ports := portMappings(pod)
	if err := n.prepareDir(dir, key, ports); err != nil {
		return Attachment{}, fmt.Errorf("set up network of %s: %w", key, err)
	}
	ns, err := netns.NewNetNS(dir)
	if err != nil {
		return Attachment{}, fmt.Errorf("create network namespace of %s: %w", key, err)
	}
	if err := loopbackUp(ns.GetPath()); err != nil {
		return Attachment{}, errors.Join(fmt.Errorf("set up network of %s: %w", key, err), n.Teardown(ctx, id, key))
	}
	res, err := n.chain(ports).Setup(ctx, cniID(id, ns.GetPath()), ns.GetPath(), gocni.WithCapabilityPortMap(ports))
	if err != nil {
		return Attachment{}, errors.Join(fmt.Errorf("set up network of %s: %w", key, err), n.Teardown(ctx, id, key))
	}
	ip := firstIPv4(res)
	if ip == "" {
		return Attachment{}, errors.Join(fmt.Errorf("set up network of %s: cni gave no IPv4 address", key), n.Teardown(ctx, id, key))
	}
	n.log.Info("pod network up", "pod", key, "ip", ip, "netns", ns.GetPath())
	return Attachment{IP: ip, NetNSPath: ns.GetPath()}, nil
}

// portMappings are the hostPorts of a Pod, for the portmap plugin.
func portMappings(pod *api.Pod) []gocni.PortMapping {
	var pm []gocni.PortMapping
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.HostPort == 0 {
				continue
			}
			proto := strings.ToLower(p.Protocol)
			if proto == "" {
				proto = "tcp"
			}
			pm = append(pm, gocni.PortMapping{HostPort: p.HostPort, ContainerPort: p.ContainerPort, Protocol: proto})
		}
	}
	return pm
}

// chain returns the CNI chain that attaches a Pod with these hostPorts: portmap runs only for
// Pods that have some.
func (n *Network) chain(ports []gocni.PortMapping) gocni.CNI {
	if len(ports) == 0 {
		return n.plain
	}
	return n.cni
}

// prepareDir makes the Pod's network directory, recording the Pod's key and hostPorts in it. A
// new directory appears whole, made under a temporary name and then renamed: Orphans, listing
// the directories meanwhile, never finds one that names no Pod.
func (n *Network) prepareDir(dir string, key api.PodKey, ports []gocni.PortMapping) error {
	if _, err := os.Stat(dir); err == nil {
		return writeRecords(dir, key, ports)
	}
	tmp, err := os.MkdirTemp(n.dir, tempPrefix)
	if err != nil {
		return fmt.Errorf("create network directory: %w", err)
	}
	if err := writeRecords(tmp, key, ports); err != nil {
		return errors.Join(err, os.RemoveAll(tmp))
	}
	if err := os.Rename(tmp, dir); err != nil {
		return errors.Join(fmt.Errorf("create network directory: %w", err), os.RemoveAll(tmp))
	}
	return nil
}

// writeRecords records the Pod's key, for Orphans, and its hostPorts, before its network
// namespaces are set up: their teardown needs the ports (portmap removes its rules only when
// given the Pod's mappings) when the Pod may be gone from etcd, or setting up was cut short.
func writeRecords(dir string, key api.PodKey, ports []gocni.PortMapping) error {
	if err := writeFile(dir, sandboxKeyFile, []byte(key.String())); err != nil {
		return fmt.Errorf("record pod key: %w", err)
	}
	b, err := json.Marshal(ports)
	if err != nil {
		return fmt.Errorf("record host ports: %w", err)
	}
	if err := writeFile(dir, portsFile, b); err != nil {
		return fmt.Errorf("record host ports: %w", err)
	}
	return nil
}

// writeFile replaces dir/name with b whole (written aside, then renamed), since a directory
// already in place may be read meanwhile.
func writeFile(dir, name string, b []byte) error {
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, name))
}

// teardownChain returns the CNI chain that tears down the network in dir, with the hostPorts
// writeRecords recorded there. A network set up before they were recorded (by an earlier agent,
// with portmap and the loopback plugin) gets a placeholder mapping: given any mapping, portmap
// removes whatever it set up for the network (it finds its rules by the network's ID, not by
// port).
func (n *Network) teardownChain(dir string) (gocni.CNI, []gocni.PortMapping, error) {
	b, err := os.ReadFile(filepath.Join(dir, portsFile))
	if errors.Is(err, os.ErrNotExist) {
		return n.legacy, []gocni.PortMapping{{HostPort: 1, ContainerPort: 1, Protocol: "tcp"}}, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read host ports: %w", err)
	}
	var ports []gocni.PortMapping
	if err := json.Unmarshal(b, &ports); err != nil {
		return nil, nil, fmt.Errorf("read host ports: %w", err)
	}
	return n.chain(ports), ports, nil
}

func firstIPv4(res *gocni.Result) string {
	iface := res.Interfaces[podInterface]
	if iface == nil {
		return ""
	}
	for _, ipc := range iface.IPConfigs {
		if v4 := ipc.IP.To4(); v4 != nil {
			return v4.String()
		}
	}
	return ""
}

// Teardown detaches the network namespaces of the Pod's network id (key names it in errors and
// logs) from CNI, releasing their addresses and the port mappings Setup recorded, and removes
// them. A namespace that is no longer mounted (after a reboot) is released with no namespace
// path, which still frees its address. A Pod with no network directory has nothing to tear
// down.
func (n *Network) Teardown(ctx context.Context, id string, key api.PodKey) error {
	dir := filepath.Join(n.dir, id)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("tear down network of %s: %w", key, err)
	}
	cni, ports, err := n.teardownChain(dir)
	if err != nil {
		return fmt.Errorf("tear down network of %s: %w", key, err)
	}
	for _, e := range entries {
		if e.Name() == sandboxKeyFile || e.Name() == portsFile || strings.HasPrefix(e.Name(), ".") {
			continue // records, and a record's write cut short
		}
		if err := detach(ctx, cni, id, filepath.Join(dir, e.Name()), ports); err != nil {
			return fmt.Errorf("tear down network of %s: %w", key, err)
		}
	}
	if err := n.removeDir(dir); err != nil {
		return fmt.Errorf("tear down network of %s: %w", key, err)
	}
	n.log.Info("pod network down", "pod", key)
	return nil
}

// detach releases one network namespace of the Pod from CNI and removes it.
func detach(ctx context.Context, cni gocni.CNI, id, path string, ports []gocni.PortMapping) error {
	cniPath := path
	if !Mounted(path) {
		cniPath = "" // CNI then releases the address only
	}
	if err := cni.Remove(ctx, cniID(id, path), cniPath, gocni.WithCapabilityPortMap(ports)); err != nil {
		return err
	}
	return removeNetNS(path)
}

// cniID is the container ID CNI knows a Pod's network by: the network's id and the network
// namespace's generated name. Each network a Pod gets has its own, so that what a lost network
// left in iptables never collides with its successor's, and it can be rebuilt from the
// namespace's file even after a reboot unmounted it.
func cniID(id, nsPath string) string {
	return id + "_" + filepath.Base(nsPath)
}

// Orphans returns the Pod of each network directory whose id is not in used: the caller's
// containers use none of them (an agent killed between setting a network up and creating the
// first container). A directory that names no Pod is logged and left out.
func (n *Network) Orphans(used map[string]bool) ([]api.PodKey, error) {
	entries, err := os.ReadDir(n.dir)
	if err != nil {
		return nil, fmt.Errorf("list pod networks: %w", err)
	}
	var out []api.PodKey
	for _, e := range entries {
		if used[e.Name()] {
			continue
		}
		if strings.HasPrefix(e.Name(), tempPrefix) || strings.HasPrefix(e.Name(), gonePrefix) {
			n.removeUnfinished(e)
			continue
		}
		b, err := os.ReadFile(filepath.Join(n.dir, e.Name(), sandboxKeyFile))
		if errors.Is(err, os.ErrNotExist) && !exists(filepath.Join(n.dir, e.Name())) {
			continue // torn down since the listing
		}
		ns, name, ok := strings.Cut(string(b), "/")
		if err != nil || !ok {
			n.log.Warn("unknown pod network directory", "dir", e.Name(), "err", err)
			continue
		}
		out = append(out, api.PodKey{Namespace: ns, Name: name})
	}
	return out, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, os.ErrNotExist)
}

// removeDir removes a Pod's network directory, its namespaces detached. It goes under a
// temporary name first: Orphans, listing the directories meanwhile, never finds one whose key
// is already removed.
func (n *Network) removeDir(dir string) error {
	gone, err := os.MkdirTemp(n.dir, gonePrefix)
	if err != nil {
		return fmt.Errorf("remove network directory: %w", err)
	}
	if err := os.Rename(dir, filepath.Join(gone, "dir")); err != nil {
		return errors.Join(fmt.Errorf("remove network directory: %w", err), os.Remove(gone))
	}
	if err := os.RemoveAll(gone); err != nil {
		return fmt.Errorf("remove network directory: %w", err)
	}
	return nil
}

// removeUnfinished removes a directory prepareDir or removeDir left under its temporary name
// longer than unfinishedAge ago (its agent was killed). It holds no namespace: prepareDir makes
// them after its rename, removeDir renames after they are gone.
func (n *Network) removeUnfinished(e os.DirEntry) {
	info, err := e.Info()
	if err != nil || time.Since(info.ModTime()) < unfinishedAge {
		return
	}
	if err := os.RemoveAll(filepath.Join(n.dir, e.Name())); err != nil {
		n.log.Warn("cannot remove an unfinished pod network directory", "dir", e.Name(), "err", err)
		return
	}
	n.log.Info("removed an unfinished pod network directory", "dir", e.Name())
}
