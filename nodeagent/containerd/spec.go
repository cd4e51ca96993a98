package containerd

import (
	"context"
	"errors"
	"fmt"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/nodeagent"
)

// cfsPeriod is the CFS period of CPU limits, in microseconds (the kernel's default).
const cfsPeriod = 100_000

// specOpts builds the OCI spec of one container of pod from its image, the Pod's network and
// the ConfigMaps it reads.
func (c *Runtime) specOpts(ctx context.Context, pod *api.Pod, ctr api.Container, img client.Image,
	net podNet, cms nodeagent.ConfigMaps) ([]oci.SpecOpts, error) {
	cfg, err := img.Spec(ctx)
	if err != nil {
		return nil, fmt.Errorf("read config of image %s: %w", img.Name(), err)
	}
	args := processArgs(cfg.Config.Entrypoint, cfg.Config.Cmd, ctr.Command, ctr.Args)
	if len(args) == 0 {
		return nil, fmt.Errorf("container %s: no command, and image %s has none", ctr.Name, img.Name())
	}
	res, err := resourceOpts(ctr.Resources)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", ctr.Name, err)
	}
	vols, err := c.volumeMounts(pod, ctr)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", ctr.Name, err)
	}
	term, err := c.terminationMount(api.PodKeyOf(pod), ctr)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", ctr.Name, err)
	}
	mounts := append(append(c.dnsMounts(pod), vols...), term...)
	opts := []oci.SpecOpts{
		oci.WithImageConfig(img),
		oci.WithProcessArgs(args...),
		oci.WithEnv(containerEnv(ctr, cms)),
		oci.WithHostname(pod.Metadata.Name),
		oci.WithMounts(mounts),
	}
	opts = append(append(opts, processOpts(ctr)...), res...)
	return append(opts, c.networkOpts(net)...), nil
}

// processArgs applies Kubernetes semantics: command replaces the image's entrypoint (and drops
// its cmd), args replace the image's cmd.
func processArgs(entrypoint, cmd, command, args []string) []string {
	if len(command) > 0 {
		return append(append([]string{}, command...), args...)
	}
	if len(args) > 0 {
		cmd = args
	}
	return append(append([]string{}, entrypoint...), cmd...)
}

// resourceOpts turns the cpu limit into a CFS quota, the cpu request (else the limit, which
// Kubernetes makes the request when none is given) into CPU shares, and the memory limit into
// a memory limit. runc writes shares as cpu.weight under cgroup v2.
func resourceOpts(r api.ResourceRequirements) ([]oci.SpecOpts, error) {
	var opts []oci.SpecOpts
	if q, ok := r.Limits[api.ResourceCPU]; ok {
		milli, err := api.ParseCPU(q)
		if err != nil {
			return nil, err
		}
		opts = append(opts, oci.WithCPUCFS(cpuQuota(milli), cfsPeriod))
	}
	if q, ok := cpuRequest(r); ok {
		milli, err := api.ParseCPU(q)
		if err != nil {
			return nil, err
		}
		opts = append(opts, oci.WithCPUShares(cpuShares(milli)))
	}
	if q, ok := r.Limits[api.ResourceMemory]; ok {
		bytes, err := api.ParseMemory(q)
		if err != nil {
			return nil, err
		}
		if bytes <= 0 {
			return nil, errors.New("memory limit must be positive")
		}
		opts = append(opts, oci.WithMemoryLimit(uint64(bytes)))
	}
	return opts, nil
}

func cpuRequest(r api.ResourceRequirements) (string, bool) {
	if q, ok := r.Requests[api.ResourceCPU]; ok {
		return q, true
	}
	q, ok := r.Limits[api.ResourceCPU]
	return q, ok
}

// cpuShares converts millicores to CPU shares as the kubelet does: 1024 per core, at least 2.
func cpuShares(milli int64) uint64 {
	return uint64(max(milli*1024/1000, 2))
}

// cpuQuota is the CFS quota (µs per period) of a limit in millicores; the kernel takes no less
// than 1ms.
func cpuQuota(milli int64) int64 {
	return max(milli*cfsPeriod/1000, 1000)
}

func (c *Runtime) networkOpts(net podNet) []oci.SpecOpts {
	switch {
	case !net.Host:
		return []oci.SpecOpts{oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: net.NetNSPath})}
	case c.hostNetNS == "":
		return []oci.SpecOpts{oci.WithHostNamespace(specs.NetworkNamespace), oci.WithHostHostsFile, oci.WithHostResolvconf}
	}
	return []oci.SpecOpts{
		oci.WithLinuxNamespace(specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: c.hostNetNS}),
		oci.WithHostHostsFile, oci.WithHostResolvconf,
	}
}
