package nodeagent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/nodeagent/probe"
)

// Runtime runs Pods on this node; the agent declares it and package nodeagent/containerd
// implements it. Every method is idempotent and touches only what gitfleet created for this node
// (containers carrying gitfleet's ownership label and this node's name). Methods may be called
// concurrently for different Pods, not for the same Pod.
type Runtime interface {
	// List returns every Pod sandbox gitfleet owns on this node, each with its containers'
	// states, sorted by key. A Pod whose network exists but whose containers do not (an agent
	// killed while creating it) is listed with no containers and no spec hash.
	List(ctx context.Context) ([]Sandbox, error)
	// EnsurePod pulls the images, sets up the Pod's network, creates its missing containers and
	// starts those that have no task; it returns the Pod IP ("" for hostNetwork). When creating
	// fails for a Pod that had no containers, nothing of it is left; a container that fails to
	// start stays created, its attempt counted. It fails when the node holds containers of the
	// Pod made from another spec: remove those first.
	EnsurePod(ctx context.Context, pod *api.Pod) (podIP string, err error)
	// StartContainer starts a created container that has no running task. Each start after the
	// container's first one increments its restart count.
	StartContainer(ctx context.Context, key api.PodKey, container string) error
	// RestartContainer replaces the exited task of a container with a new one and increments
	// the restart count; a running container is left alone.
	RestartContainer(ctx context.Context, key api.PodKey, container string) error
	// RemovePod stops the Pod's containers (SIGTERM, then SIGKILL after a grace period), deletes
	// them with their snapshots and tears the Pod's network down. Removing a Pod that is not
	// there is not an error.
	RemovePod(ctx context.Context, key api.PodKey) error
}

// Sandbox is what runs on the node for one Pod: its network and its containers.
type Sandbox struct {
	Key api.PodKey
	// SpecHash is SpecHash of the Pod the containers were made from.
	SpecHash    string
	PodIP       string
	HostNetwork bool
	// NetworkLost is set when the Pod's network namespace no longer exists (after a reboot):
	// its containers cannot start again and the Pod must be recreated.
	NetworkLost bool
	// Containers are sorted by name.
	Containers []ContainerState
}

// Container returns the state of the named container and whether it exists.
func (s Sandbox) Container(name string) (ContainerState, bool) {
	for _, c := range s.Containers {
		if c.Name == name {
			return c, true
		}
	}
	return ContainerState{}, false
}

// State is what a container's process is doing.
type State int

// States of a container.
const (
	// StateUnknown is a task containerd reports in an unexpected state (paused, unknown).
	StateUnknown State = iota
	// StateCreated is a container with no task yet: never started, or its task was lost.
	StateCreated
	StateRunning
	StateExited
)

// String names the state.
func (s State) String() string {
	switch s {
	case StateCreated:
		return "created"
	case StateRunning:
		return "running"
	case StateExited:
		return "exited"
	}
	return "unknown"
}

// ContainerState is the observed state of one container of a Pod.
type ContainerState struct {
	// ID is the containerd container ID.
	ID    string
	Name  string
	Image string
	// ImageID is the image by digest (repository@sha256:…), as in api.ContainerStatus.
	ImageID string
	State   State
	// Reason is api.ReasonOOMKilled for a container the kernel killed for memory.
	Reason string
	// Message is what an exited container wrote to its terminationMessagePath.
	Message string
	// ExitCode and FinishedAt are set when State is StateExited.
	ExitCode   int32
	FinishedAt time.Time
	// StartedAt is when gitfleet last started the container's task; zero if never.
	StartedAt    time.Time
	RestartCount int32

	// FailedStarts counts the starts that failed since the container last ran, before the
	// latest: they are no restarts, but a container that keeps failing to start backs off.
	FailedStarts int32

	// Health is what the probes of the running instance found; the agent sets it, not the
	// runtime. The zero Health is that of a container none of whose probes passed yet.
	Health probe.Health
}

// EventRuntime is a Runtime that tells of its containers' exits as they happen, so that the
// agent restarts them without waiting for a resync.
type EventRuntime interface {
	Runtime
	// Exits sends the key of the Pod of each container of this node whose main process exits
	// or is killed for memory, from its call until ctx ends or the stream breaks (the runtime
	// restarted), when it closes the channel: exits meanwhile are not sent, so the caller
	// lists the runtime again after it subscribes again.
	Exits(ctx context.Context) <-chan api.PodKey
}

// ProbeRuntime is a Runtime that serves probes: it runs their commands in containers and kills
// a container whose liveness or startup probe failed.
type ProbeRuntime interface {
	Runtime
	// Exec runs cmd in the container's running task, as its main process runs, and returns
	// its exit code; the command is killed when ctx ends.
	Exec(ctx context.Context, key api.PodKey, container string, cmd []string) (int, error)
	// KillContainer stops the container's task as a removal does (preStop hook, SIGTERM,
	// SIGKILL after the grace) but leaves it exited, for the plan to restart it under the
	// Pod's restart policy, a restart counted. A container not running is left alone.
	KillContainer(ctx context.Context, key api.PodKey, container string) error
}

// SpecHash is a short, stable hash of what a Pod's containers are made from: the containers,
// hostNetwork, the volumes and the hash of the ConfigMap data the Pod was made with (its
// config-hash annotation). A container whose hash differs from its wanted Pod's is replaced, so
// a Pod replaced under the same name for a ConfigMap change gets new containers even when the
// agent never saw it gone. The restart policy and the node name are left out: neither changes
// what runs. Empty volumes and config hash are left out of the hashed form, which keeps the
// hashes of the containers of Pods without them as they were.
func SpecHash(pod *api.Pod) string {
	p := api.Clone(pod).(*api.Pod)
	api.Default(p)
	b, err := json.Marshal(struct {
		Containers  []api.Container `json:"containers"`
		HostNetwork bool            `json:"hostNetwork"`
		Volumes     []api.Volume    `json:"volumes,omitempty"`
		ConfigHash  string          `json:"configHash,omitempty"`
		Init        []api.Container `json:"initContainers,omitempty"`
	}{p.Spec.Containers, p.Spec.HostNetwork, p.Spec.Volumes, p.Metadata.Annotations[api.AnnotationConfigHash], p.Spec.InitContainers})
	if err != nil {
		panic(fmt.Sprintf("nodeagent.SpecHash: %v", err)) // plain structs always marshal
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}
