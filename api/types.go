package api

import (
	"net"
	"strconv"
	"strings"
)

// Kinds that gitfleet understands.
const (
	KindDeployment = "Deployment"
	KindPod        = "Pod"
	KindNode       = "Node"
	KindNamespace  = "Namespace"
	KindConfigMap  = "ConfigMap"
	KindService    = "Service"
)

// TypeMeta names an object's schema, as in Kubernetes.
type TypeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// ObjectMeta is the metadata every object carries.
type ObjectMeta struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Object is any top-level manifest object.
type Object interface {
	GetTypeMeta() TypeMeta
	GetMeta() *ObjectMeta
}

// Key identifies an object within a repository and within etcd. The Namespace of a
// cluster-scoped object (a Namespace, a Node) is "".
type Key struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// String renders the key as kind/namespace/name; always three parts, so a cluster-scoped
// object renders as "Namespace//prod".
func (k Key) String() string { return k.Kind + "/" + k.Namespace + "/" + k.Name }

// KeyOf returns the identity of obj.
func KeyOf(obj Object) Key {
	m := obj.GetMeta()
	return Key{Kind: obj.GetTypeMeta().Kind, Namespace: m.Namespace, Name: m.Name}
}

// Deployment keeps a number of identical Pods running (apps/v1).
type Deployment struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta     `json:"metadata"`
	Spec     DeploymentSpec `json:"spec"`
}

// DeploymentSpec is the desired state of a Deployment.
type DeploymentSpec struct {
	Replicas *int32          `json:"replicas,omitempty"`
	Selector *LabelSelector  `json:"selector,omitempty"`
	Template PodTemplateSpec `json:"template"`

	// How a new template replaces the Pods of the old ones, and when a rollout is stuck (see
	// rollout.go). None of these is part of the template hash, and none is filled by Default,
	// so that Deployments stored before they existed keep their stored form.
	Strategy DeploymentStrategy `json:"strategy,omitzero"`
	// MinReadySeconds is how long a Pod must have been ready before it counts as available.
	MinReadySeconds int32 `json:"minReadySeconds,omitempty"`
	// RevisionHistoryLimit is how many records of old templates to keep; 10 when unset.
	RevisionHistoryLimit *int32 `json:"revisionHistoryLimit,omitempty"`
	// ProgressDeadlineSeconds is how long a rollout may go without a new Pod becoming
	// available before it is Degraded (ProgressDeadlineExceeded); the controller's
	// --progress-deadline (600 s by default) when unset.
	ProgressDeadlineSeconds *int32 `json:"progressDeadlineSeconds,omitempty"`
	// Paused stops new rollout steps; scaling still applies (see Deployment.Paused).
	Paused bool `json:"paused,omitempty"`
}

// LabelSelector selects objects by equality on labels.
type LabelSelector struct {
	MatchLabels map[string]string `json:"matchLabels,omitempty"`
}

// PodTemplateSpec describes the Pods a workload creates.
type PodTemplateSpec struct {
	Metadata ObjectMeta `json:"metadata,omitempty"`
	Spec     PodSpec    `json:"spec"`
}

// Restart policies.
const (
	RestartAlways    = "Always"
	RestartOnFailure = "OnFailure"
	RestartNever     = "Never"
)

// PodSpec is the desired state of a Pod.
type PodSpec struct {
	Containers    []Container       `json:"containers"`
	NodeSelector  map[string]string `json:"nodeSelector,omitempty"`
	RestartPolicy string            `json:"restartPolicy,omitempty"`
	HostNetwork   bool              `json:"hostNetwork,omitempty"`
	// NodeName is set by the scheduler when it binds the Pod; a manifest may set it to pin a Pod.
	NodeName string `json:"nodeName,omitempty"`

	// Where the scheduler may place the Pod (see scheduling.go).
	Affinity    *Affinity    `json:"affinity,omitempty"`
	Tolerations []Toleration `json:"tolerations,omitempty"`
	// TopologySpreadConstraints spread the Pods of a selector over the values of a node label.
	TopologySpreadConstraints []TopologySpreadConstraint `json:"topologySpreadConstraints,omitempty"`

	// Volumes the containers may mount: configMap and emptyDir volumes.
	Volumes []Volume `json:"volumes,omitempty"`

	// TerminationGracePeriodSeconds is how long the containers have to stop, preStop hooks
	// included, between SIGTERM and SIGKILL; DefaultTerminationGracePeriodSeconds when unset.
	TerminationGracePeriodSeconds *int64 `json:"terminationGracePeriodSeconds,omitempty"`

	// InitContainers run one after the other, each to a successful exit, before the containers
	// start; one with restartPolicy Always is a sidecar: started in its turn, kept running.
	InitContainers []Container `json:"initContainers,omitempty"`
}

// DefaultTerminationGracePeriodSeconds is the grace of a Pod that sets none, as in Kubernetes.
const DefaultTerminationGracePeriodSeconds = 30

// Container is one process of a Pod.
type Container struct {
	Name      string               `json:"name"`
	Image     string               `json:"image"`
	Command   []string             `json:"command,omitempty"`
	Args      []string             `json:"args,omitempty"`
	Env       []EnvVar             `json:"env,omitempty"`
	Ports     []ContainerPort      `json:"ports,omitempty"`
	Resources ResourceRequirements `json:"resources,omitempty"`
	// EnvFrom sets a variable per key of each source; Env, set after, overrides them.
	EnvFrom      []EnvFromSource `json:"envFrom,omitempty"`
	VolumeMounts []VolumeMount   `json:"volumeMounts,omitempty"`

	// Lifecycle holds the hooks the node agent runs around the container's life.
	Lifecycle *Lifecycle `json:"lifecycle,omitempty"`

	// Probes (see Probe): the node agent runs them while the container runs.
	// LivenessProbe restarts the container once it fails; ReadinessProbe decides whether it
	// is ready (Services send it traffic); StartupProbe holds both back until it passes.
	LivenessProbe  *Probe `json:"livenessProbe,omitempty"`
	ReadinessProbe *Probe `json:"readinessProbe,omitempty"`
	StartupProbe   *Probe `json:"startupProbe,omitempty"`
	// ImagePullPolicy is PullAlways, PullIfNotPresent or PullNever; empty is PullAlways for an
	// image tagged latest or not tagged, PullIfNotPresent for others (see PullPolicy).
	ImagePullPolicy string `json:"imagePullPolicy,omitempty"`
	// WorkingDir replaces the image's working directory.
	WorkingDir      string           `json:"workingDir,omitempty"`
	SecurityContext *SecurityContext `json:"securityContext,omitempty"`
	// TerminationMessagePath is the file in the container, default /dev/termination-log, whose
	// content becomes the status message once the container exits.
	TerminationMessagePath string `json:"terminationMessagePath,omitempty"`
	// RestartPolicy may only be Always, on an init container: it makes it a sidecar.
	RestartPolicy string `json:"restartPolicy,omitempty"`
}

// SecurityContext is the part of Kubernetes' container security context gitfleet applies:
// the user and group, a read-only root file system, no privilege escalation and dropped
// capabilities. It can only take rights away, never give them.
type SecurityContext struct {
	RunAsUser                *int64        `json:"runAsUser,omitempty"`
	RunAsGroup               *int64        `json:"runAsGroup,omitempty"`
	ReadOnlyRootFilesystem   *bool         `json:"readOnlyRootFilesystem,omitempty"`
	AllowPrivilegeEscalation *bool         `json:"allowPrivilegeEscalation,omitempty"`
	Capabilities             *Capabilities `json:"capabilities,omitempty"`
}

// Capabilities lists the Linux capabilities to drop ("NET_RAW", or "ALL").
type Capabilities struct {
	Drop []string `json:"drop,omitempty"`
}

// IsSidecar reports whether c, an init container, is a sidecar.
func (c *Container) IsSidecar() bool { return c.RestartPolicy == RestartAlways }

// Image pull policies, as in Kubernetes.
const (
	PullAlways       = "Always"
	PullIfNotPresent = "IfNotPresent"
	PullNever        = "Never"
)

// PullPolicy returns the container's image pull policy with Kubernetes' default filled in. It is
// not set by Default, so that Pods written without it keep their spec hash.
func (c *Container) PullPolicy() string {
	if c.ImagePullPolicy != "" {
		return c.ImagePullPolicy
	}
	name := c.Image[strings.LastIndex(c.Image, "/")+1:] // after a registry's host:port
	if strings.Contains(name, "@") {
		return PullIfNotPresent // pinned by digest
	}
	if _, tag, tagged := strings.Cut(name, ":"); !tagged || tag == "latest" {
		return PullAlways
	}
	return PullIfNotPresent
}

// Lifecycle holds a container's hooks; only preStop is supported.
type Lifecycle struct {
	// PreStop runs in the container before it is sent SIGTERM, within the Pod's grace period.
	PreStop *LifecycleHandler `json:"preStop,omitempty"`
}

// LifecycleHandler is what a hook does; only exec is supported.
type LifecycleHandler struct {
	Exec *ExecAction `json:"exec,omitempty"`
}

// ExecAction runs a command in the container, without a shell.
type ExecAction struct {
	Command []string `json:"command"`
}

// EnvVar is one environment variable: a literal Value, or a value read from ValueFrom.
type EnvVar struct {
	Name      string        `json:"name"`
	Value     string        `json:"value,omitempty"`
	ValueFrom *EnvVarSource `json:"valueFrom,omitempty"`
}

// EnvVarSource says where an environment variable's value comes from.
type EnvVarSource struct {
	ConfigMapKeyRef *ConfigMapKeySelector `json:"configMapKeyRef,omitempty"`
}

// ConfigMapKeySelector selects one key of a ConfigMap in the Pod's namespace.
type ConfigMapKeySelector struct {
	Name string `json:"name"`
	Key  string `json:"key"`
	// Optional lets the Pod start without the ConfigMap or the key; the variable is then unset.
	Optional bool `json:"optional,omitempty"`
}

// EnvFromSource sets a variable, named Prefix + key, for each key of a ConfigMap.
type EnvFromSource struct {
	Prefix       string              `json:"prefix,omitempty"`
	ConfigMapRef *ConfigMapEnvSource `json:"configMapRef,omitempty"`
}

// ConfigMapEnvSource names the ConfigMap of an EnvFromSource.
type ConfigMapEnvSource struct {
	Name string `json:"name"`
	// Optional lets the Pod start without the ConfigMap.
	Optional bool `json:"optional,omitempty"`
}

// Volume is a directory a Pod's containers may mount.
type Volume struct {
	Name      string                 `json:"name"`
	ConfigMap *ConfigMapVolumeSource `json:"configMap,omitempty"`
	EmptyDir  *EmptyDirVolumeSource  `json:"emptyDir,omitempty"`
}

// EmptyDirVolumeSource is a directory that starts empty and lives as long as the Pod: on the
// node's disk, or with Medium "Memory" a tmpfs of at most SizeLimit (half the node's memory
// when unset, the kernel's default).
type EmptyDirVolumeSource struct {
	Medium    string `json:"medium,omitempty"`
	SizeLimit string `json:"sizeLimit,omitempty"`
}

// StorageMediumMemory is the emptyDir medium of a tmpfs.
const StorageMediumMemory = "Memory"

// ConfigMapVolumeSource fills a volume with one file per key of a ConfigMap, or per item.
type ConfigMapVolumeSource struct {
	Name string `json:"name"`
	// Items, when set, choose the keys and the relative path of each one's file.
	Items []KeyToPath `json:"items,omitempty"`
	// Optional lets the Pod start without the ConfigMap (the volume is empty) or an item's key.
	Optional bool `json:"optional,omitempty"`
}

// KeyToPath maps a ConfigMap key to a relative file path within a volume.
type KeyToPath struct {
	Key  string `json:"key"`
	Path string `json:"path"`
}

// VolumeMount mounts a volume, or the SubPath within it, at MountPath in a container.
// ConfigMap volumes are always mounted read-only.
type VolumeMount struct {
	Name      string `json:"name"`
	MountPath string `json:"mountPath"`
	ReadOnly  bool   `json:"readOnly,omitempty"`
	SubPath   string `json:"subPath,omitempty"`
}

// ContainerPort is a port a container listens on; HostPort maps it on the node.
type ContainerPort struct {
	Name          string `json:"name,omitempty"`
	ContainerPort int32  `json:"containerPort"`
	HostPort      int32  `json:"hostPort,omitempty"`
	Protocol      string `json:"protocol,omitempty"`
}

// Resource names.
const (
	ResourceCPU    = "cpu"
	ResourceMemory = "memory"
	// ResourcePods is the number of Pods a node runs at most (a node capacity only).
	ResourcePods = "pods"
)

// ResourceList maps a resource name to a quantity such as "250m" or "64Mi".
type ResourceList map[string]string

// ResourceRequirements are a container's requests (for scheduling) and limits (enforced).
type ResourceRequirements struct {
	Requests ResourceList `json:"requests,omitempty"`
	Limits   ResourceList `json:"limits,omitempty"`
}

// Pod is one or more containers run together on one node (v1).
type Pod struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta `json:"metadata"`
	Spec     PodSpec    `json:"spec"`
	Status   PodStatus  `json:"status,omitempty"`
}

// Pod phases.
const (
	PodPending   = "Pending"
	PodRunning   = "Running"
	PodSucceeded = "Succeeded"
	PodFailed    = "Failed"
	// PodUnknown is the phase of a Pod whose node is NotReady: nothing reports on it.
	PodUnknown = "Unknown"
)

// ReasonNodeLost is the reason of a Pod whose node is NotReady.
const ReasonNodeLost = "NodeLost"

// PodStatus is what the node agent observed of a Pod.
type PodStatus struct {
	Phase    string `json:"phase,omitempty"`
	Ready    bool   `json:"ready"`
	Restarts int32  `json:"restarts"`
	PodIP    string `json:"podIP,omitempty"`
	// Reason says why a Pod is in its phase; while its init containers run it is, as
	// Kubernetes shows it, Init:N/M (N of M done), Init:CrashLoopBackOff or Init:Error.
	Reason            string            `json:"reason,omitempty"`
	Message           string            `json:"message,omitempty"`
	ContainerStatuses []ContainerStatus `json:"containerStatuses,omitempty"`
	// InitContainerStatuses are those of the Pod's init containers, in their order.
	InitContainerStatuses []ContainerStatus `json:"initContainerStatuses,omitempty"`
	// ObservedAt is an RFC 3339 time of the observation.
	ObservedAt string `json:"observedAt,omitempty"`
}

// ContainerStatus is the observed state of one container.
type ContainerStatus struct {
	Name         string `json:"name"`
	Image        string `json:"image"`
	State        string `json:"state"` // waiting, running or terminated
	ExitCode     int32  `json:"exitCode,omitempty"`
	RestartCount int32  `json:"restartCount"`
	Ready        bool   `json:"ready"`
	Message      string `json:"message,omitempty"`

	// Reason says why a container waits (CrashLoopBackOff: it exited and waits its back-off
	// to restart; ErrImageNeverPull, ErrImagePull) or why it ended (Completed, Error,
	// OOMKilled), as in Kubernetes.
	Reason string `json:"reason,omitempty"`
	// LastExitCode and LastReason are those of the last exit of a container that waits to
	// restart.
	LastExitCode int32  `json:"lastExitCode,omitempty"`
	LastReason   string `json:"lastReason,omitempty"`
	// ImageID is the image the container runs, by digest: docker.io/acme/app@sha256:….
	ImageID string `json:"imageID,omitempty"`
}

// Container status reasons.
const (
	ReasonCrashLoopBackOff  = "CrashLoopBackOff"
	ReasonCompleted         = "Completed"
	ReasonError             = "Error"
	ReasonErrImageNeverPull = "ErrImageNeverPull"
	ReasonErrImagePull      = "ErrImagePull"
	ReasonOOMKilled         = "OOMKilled"
	// ReasonPodInitializing is the waiting reason of an app container while the Pod's init
	// containers run.
	ReasonPodInitializing = "PodInitializing"
)

// ReasonInitPrefix begins the reasons of a Pod whose init containers have not all finished
// (Init:1/2, Init:CrashLoopBackOff, Init:Error), as Kubernetes shows them.
const ReasonInitPrefix = "Init:"

// Node is a machine that runs Pods. Its agent writes Metadata and Status; the control plane
// writes Spec; readers see the two merged, with Ready false once the agent's heartbeat stops.
type Node struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta `json:"metadata"`
	Spec     NodeSpec   `json:"spec"`
	Status   NodeStatus `json:"status"`
}

// NodeSpec is what the control plane decides for a node.
type NodeSpec struct {
	// PodCIDR is the node's share of the cluster CIDR, assigned when it registers.
	PodCIDR string `json:"podCIDR,omitempty"`
	// Unschedulable keeps new Pods off the node (gitfleet node cordon).
	Unschedulable bool `json:"unschedulable"`
	// Taints keep off the node the Pods that do not tolerate them (gitfleet node taint).
	Taints []Taint `json:"taints,omitempty"`
}

// Node address types.
const (
	NodeInternalIP = "InternalIP"
	NodeHostName   = "Hostname"
)

// NodeAddress is one address of a node.
type NodeAddress struct {
	Type    string `json:"type"`
	Address string `json:"address"`
}

// Node condition types, as in Kubernetes, and their statuses.
const (
	NodeReady           = "Ready"
	NodeRuntimeReady    = "RuntimeReady"
	NodeNetworkReady    = "NetworkReady"
	NodeMemoryPressure  = "MemoryPressure"
	NodeDiskPressure    = "DiskPressure"
	ConditionTrue       = "True"
	ConditionFalse      = "False"
	ConditionUnknown    = "Unknown"
	ReasonLeaseExpired  = "NodeLeaseExpired"
	ReasonAgentReported = "AgentReported"
)

// NodeCondition is one aspect of a node's state.
type NodeCondition struct {
	Type   string `json:"type"`
	Status string `json:"status"` // True, False or Unknown
	Reason string `json:"reason,omitempty"`
	// Message says why in words, for a condition that is not as it should be.
	Message string `json:"message,omitempty"`
	// LastTransitionTime is the RFC 3339 time the status last changed.
	LastTransitionTime string `json:"lastTransitionTime,omitempty"`
}

// NodeStatus is what a node's agent reports about the node.
type NodeStatus struct {
	// Capacity holds "cpu", "memory" and "pods" quantities; Allocatable what Pods may use.
	Capacity    ResourceList  `json:"capacity"`
	Allocatable ResourceList  `json:"allocatable,omitempty"`
	Addresses   []NodeAddress `json:"addresses,omitempty"`
	// Ready is true when the agent heartbeats and its Ready condition is True.
	Ready      bool            `json:"ready"`
	Conditions []NodeCondition `json:"conditions,omitempty"`
	// Heartbeat is the RFC 3339 time of the agent's last status report.
	Heartbeat string `json:"heartbeat,omitempty"`
	// HostID identifies the host (its data dir) that registered the node: another host is
	// refused the name.
	HostID string `json:"hostID,omitempty"`
	// DaemonEndpoints are where the node's agent serves (Kubernetes' field of that name).
	DaemonEndpoints *NodeDaemonEndpoints `json:"daemonEndpoints,omitempty"`
}

// NodeDaemonEndpoints are where the daemons of a node serve.
type NodeDaemonEndpoints struct {
	// AgentEndpoint is where the agent serves its containers' logs (Kubernetes'
	// kubeletEndpoint); gitfleet logs dials it.
	AgentEndpoint DaemonEndpoint `json:"agentEndpoint"`
}

// DaemonEndpoint is where one daemon serves.
type DaemonEndpoint struct {
	// Scheme is https when the daemon asks for a client certificate of the cluster CA, else
	// http (a node without the cluster's certificates, on loopback alone).
	Scheme  string `json:"scheme"`
	Address string `json:"address"`
	Port    int    `json:"port"`
}

// URL is the endpoint's base URL: scheme://address:port.
func (e DaemonEndpoint) URL() string {
	return e.Scheme + "://" + net.JoinHostPort(e.Address, strconv.Itoa(e.Port))
}

// InternalIP returns the node's first InternalIP address, or "".
func (s *NodeStatus) InternalIP() string {
	for _, a := range s.Addresses {
		if a.Type == NodeInternalIP {
			return a.Address
		}
	}
	return ""
}

// Condition returns the condition of type t, or nil.
func (s *NodeStatus) Condition(t string) *NodeCondition {
	for i := range s.Conditions {
		if s.Conditions[i].Type == t {
			return &s.Conditions[i]
		}
	}
	return nil
}

// GetTypeMeta implements Object.
func (d *Deployment) GetTypeMeta() TypeMeta { return d.TypeMeta }

// GetMeta implements Object.
func (d *Deployment) GetMeta() *ObjectMeta { return &d.Metadata }

// GetTypeMeta implements Object.
func (p *Pod) GetTypeMeta() TypeMeta { return p.TypeMeta }

// GetMeta implements Object.
func (p *Pod) GetMeta() *ObjectMeta { return &p.Metadata }

// GetTypeMeta implements Object.
func (n *Node) GetTypeMeta() TypeMeta { return n.TypeMeta }

// GetMeta implements Object.
func (n *Node) GetMeta() *ObjectMeta { return &n.Metadata }

// PodKey names a Pod within the cluster: the one key type of Pods in every package.
type PodKey struct {
	Namespace string
	Name      string
}

// String renders the key as namespace/name.
func (k PodKey) String() string { return k.Namespace + "/" + k.Name }

// PodKeyOf returns the key of pod.
func PodKeyOf(pod *Pod) PodKey {
	return PodKey{Namespace: pod.Metadata.Namespace, Name: pod.Metadata.Name}
}

// ReasonUnschedulable is the Pod status reason the scheduler writes on a Pod that fits on no
// node; health reads it.
const ReasonUnschedulable = "Unschedulable"

// IsReady reports whether a Pod with this status serves: running and ready.
func (s PodStatus) IsReady() bool { return s.Phase == PodRunning && s.Ready }
