package nodeagent

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/containerd/containerd/v2/pkg/identifiers"

	"github.com/gitfleet/gitfleet/api"
)

// Labels gitfleet puts on every container it creates. Only containers with LabelManaged=true and
// this node's LabelNode are ever listed, changed or deleted.
const (
	LabelManaged      = "gitfleet.io/managed"
	LabelNode         = "gitfleet.io/node"
	LabelPodNamespace = "gitfleet.io/pod-namespace"
	LabelPodName      = "gitfleet.io/pod-name"
	LabelContainer    = "gitfleet.io/container"
	LabelSpecHash     = "gitfleet.io/spec-hash"
	LabelPodIP        = "gitfleet.io/pod-ip"
	// LabelNetNS is the path of the Pod's network namespace; unset for hostNetwork Pods.
	LabelNetNS       = "gitfleet.io/netns"
	LabelHostNetwork = "gitfleet.io/host-network"
	// LabelRestartCount and LabelStartedAt are updated each time gitfleet starts the task, so
	// they survive agent restarts.
	LabelRestartCount = "gitfleet.io/restart-count"
	LabelStartedAt    = "gitfleet.io/started-at"
)

// sandboxID names a Pod's network (CNI container ID and netns directory): "namespace_name",
// or a hash of the key when that is not a valid containerd identifier (too long).
func sandboxID(key api.PodKey) string {
	return idOrHash(key.Namespace + "_" + key.Name)
}

// containerID names a container in containerd: "namespace_pod_container", or a hash.
func containerID(key api.PodKey, container string) string {
	return idOrHash(key.Namespace + "_" + key.Name + "_" + container)
}

func idOrHash(id string) string {
	if identifiers.Validate(id) == nil {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "gf-" + hex.EncodeToString(sum[:10])
}

// podNet is where a Pod's containers get their network.
type podNet struct {
	Host      bool
	IP        string
	NetNSPath string
}

// containerLabels are the labels of a new container of a Pod.
func containerLabels(node string, key api.PodKey, container, hash string, net podNet) map[string]string {
	l := map[string]string{
		LabelManaged:      "true",
		LabelNode:         node,
		LabelPodNamespace: key.Namespace,
		LabelPodName:      key.Name,
		LabelContainer:    container,
		LabelSpecHash:     hash,
		LabelRestartCount: "0",
	}
	if net.Host {
		l[LabelHostNetwork] = "true"
	} else {
		l[LabelPodIP] = net.IP
		l[LabelNetNS] = net.NetNSPath
	}
	return l
}

// netOfLabels reads back the network containerLabels recorded.
func netOfLabels(l map[string]string) podNet {
	return podNet{Host: l[LabelHostNetwork] == "true", IP: l[LabelPodIP], NetNSPath: l[LabelNetNS]}
}

// keyOfLabels returns the Pod a container belongs to.
func keyOfLabels(l map[string]string) api.PodKey {
	return api.PodKey{Namespace: l[LabelPodNamespace], Name: l[LabelPodName]}
}

// startLabels are the label updates of starting a container's task at now: a container that
// was started before counts one more restart.
func startLabels(l map[string]string, now time.Time) map[string]string {
	n := restartCount(l)
	if l[LabelStartedAt] != "" {
		n++
	}
	return map[string]string{
		LabelRestartCount: strconv.Itoa(int(n)),
		LabelStartedAt:    now.UTC().Format(time.RFC3339Nano),
	}
}

func restartCount(l map[string]string) int32 {
	n, err := strconv.ParseInt(l[LabelRestartCount], 10, 32)
	if err != nil || n < 0 {
		return 0
	}
	return int32(n)
}

func startedAt(l map[string]string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, l[LabelStartedAt])
	if err != nil {
		return time.Time{}
	}
	return t
}
