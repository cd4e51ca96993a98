package podnet

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"github.com/containerd/containerd/v2/pkg/netns"
	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
)

// removeNetNS unmounts and deletes a network namespace file; one that is no longer mounted is
// just deleted.
func removeNetNS(path string) error {
	if Mounted(path) {
		return netns.LoadNetNS(path).Remove()
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// loopbackUp brings up lo in the network namespace at path, which is all the loopback CNI plugin
// does, without a process of its own for it.
func loopbackUp(path string) error {
	ns, err := vnetns.GetFromPath(path)
	if err != nil {
		return fmt.Errorf("open network namespace: %w", err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("bring lo up: %w", err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("bring lo up: %w", err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		return fmt.Errorf("bring lo up: %w", err)
	}
	return nil
}

// Magic numbers of the filesystems a mounted network namespace shows as (statfs(2)): nsfs,
// and procfs on kernels before 3.19.
const (
	nsfsMagic   = 0x6e736673
	procfsMagic = 0x9fa0
)

// Mounted reports whether path is a mounted network namespace: false once a reboot unmounted a
// Pod's, which then must be made again. Unlike netns.NetNS.Closed it changes nothing: listing
// must not delete what Teardown still needs to find.
func Mounted(path string) bool {
	var st syscall.Statfs_t
	if path == "" || syscall.Statfs(path, &st) != nil {
		return false
	}
	return st.Type == nsfsMagic || st.Type == procfsMagic
}

// HostNetNS returns the network namespace hostNetwork Pods join: "" when this process runs in
// the machine's own (they then share the host's), else the path of this process's (the agent
// runs in a namespace, as in tests). The machine's is that of pid 1 or, where pid 1 may not be
// inspected (some sandboxes), of pid 2 (kthreadd, whose kernel threads live in the initial one).
func HostNetNS() (string, error) {
	var self, init syscall.Stat_t
	if err := syscall.Stat("/proc/self/ns/net", &self); err != nil {
		return "", fmt.Errorf("inspect network namespace: %w", err)
	}
	err := syscall.Stat("/proc/1/ns/net", &init)
	if err != nil {
		err = syscall.Stat("/proc/2/ns/net", &init)
	}
	if err != nil {
		return "", fmt.Errorf("inspect the machine's network namespace: %w", err)
	}
	if self.Ino == init.Ino && self.Dev == init.Dev {
		return "", nil
	}
	return "/proc/" + strconv.Itoa(os.Getpid()) + "/ns/net", nil
}
