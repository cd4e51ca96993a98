package containerd

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/containerd/containerd/v2/pkg/identifiers"

	"github.com/gitfleet/gitfleet/api"
)

// Labels gitfleet puts on every container it creates. Only containers with labelManaged=true and
// this node's labelNode are ever listed, changed or deleted.
const (
	labelManaged      = "gitfleet.io/managed"
	labelNode         = "gitfleet.io/node"
	labelPodNamespace = "gitfleet.io/pod-namespace"
	labelPodName      = "gitfleet.io/pod-name"
	labelContainer    = "gitfleet.io/container"
	labelSpecHash     = "gitfleet.io/spec-hash"
	labelPodIP        = "gitfleet.io/pod-ip"
	// labelNetNS is the path of the Pod's network namespace; unset for hostNetwork Pods.
	labelNetNS       = "gitfleet.io/netns"
	labelHostNetwork = "gitfleet.io/host-network"
	// labelRestartCount and labelStartedAt are updated each time gitfleet starts the task, so
	// they survive agent restarts.
	labelRestartCount = "gitfleet.io/restart-count"
	labelStartedAt    = "gitfleet.io/started-at"
	// labelStartAttempts counts the starts since the container last ran, the latest included:
	// a start that fails (or is cut short) is no restart, but is backed off.
	labelStartAttempts = "gitfleet.io/start-attempts"
	// labelImageID is the digest the container was made from, as imageID gives it.
	labelImageID = "gitfleet.io/image-id"
)

// sandboxID names a Pod on the node (its network's directory and CNI container ID in podnet,
// its pods/ directory): "namespace_name", or a hash of the key when that is not a valid
// containerd identifier (too long).
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
		labelManaged:      "true",
		labelNode:         node,
		labelPodNamespace: key.Namespace,
		labelPodName:      key.Name,
		labelContainer:    container,
		labelSpecHash:     hash,
		labelRestartCount: "0",
	}
	if net.Host {
		l[labelHostNetwork] = "true"
	} else {
		l[labelPodIP] = net.IP
		l[labelNetNS] = net.NetNSPath
	}
	return l
}

// netOfLabels reads back the network containerLabels recorded.
func netOfLabels(l map[string]string) podNet {
	return podNet{Host: l[labelHostNetwork] == "true", IP: l[labelPodIP], NetNSPath: l[labelNetNS]}
}

// keyOfLabels returns the Pod a container belongs to.
func keyOfLabels(l map[string]string) api.PodKey {
	return api.PodKey{Namespace: l[labelPodNamespace], Name: l[labelPodName]}
}

// startLabels are the label updates of starting a container's task at now. ran says the
// container's previous task ran (it exited): only then is it a restart; a start after one that
// failed, or was cut short by a killed agent, is only one more attempt.
func startLabels(l map[string]string, now time.Time, ran bool) map[string]string {
	n, attempts := restartCount(l), startAttempts(l)+1
	if ran {
		n, attempts = n+1, 1
	}
	return map[string]string{
		labelRestartCount:  strconv.Itoa(int(n)),
		labelStartAttempts: strconv.Itoa(int(attempts)),
		labelStartedAt:     now.UTC().Format(time.RFC3339Nano),
	}
}

func restartCount(l map[string]string) int32 { return count(l[labelRestartCount]) }

func startAttempts(l map[string]string) int32 { return count(l[labelStartAttempts]) }

// count reads a count label; a missing or bad one is 0.
func count(v string) int32 {
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil || n < 0 {
		return 0
	}
	return int32(n)
}

func startedAt(l map[string]string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, l[labelStartedAt])
	if err != nil {
		return time.Time{}
	}
	return t
}
