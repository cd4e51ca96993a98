package api

import (
	"cmp"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// This file is the one table of kinds, as a scheme is in Kubernetes: everything gitfleet knows
// of a kind is in its entry, so a new kind is one entry here plus its type. kinds_test.go fails
// when an Object type has no entry or an entry misses a part.

// HealthRule says how the health of an object of a kind is judged from what runs.
type HealthRule int

const (
	// HealthWhenApplied: the object is Healthy once applied (Namespace, ConfigMap).
	HealthWhenApplied HealthRule = iota + 1
	// HealthByReplicas: ReplicaCount Pods of the current template run ready, and no older ones
	// are left (Deployment).
	HealthByReplicas
	// HealthByPod: the one Pod made for the manifest runs ready, or succeeded (Pod).
	HealthByPod
	// HealthNotJudged: the object is not declared in git, so it has no health (Node).
	HealthNotJudged
	// HealthByEndpoints: at least one Pod the object Selects runs ready with an IP, as the
	// endpoints controller counts them; an object without a selector is Healthy once applied
	// (Service).
	HealthByEndpoints
)

// KindInfo is what gitfleet knows of one kind.
type KindInfo struct {
	Kind       string
	APIVersion string
	// New returns an empty object of the kind.
	New func() Object
	// Namespaced is false for cluster-scoped kinds, whose keys have Namespace "".
	Namespaced bool
	// Manifest is true for kinds a repository may declare; Nodes are registered by agents.
	Manifest bool
	// ApplyRank orders a sync: lower ranks are applied first and deleted last (Namespaces hold
	// everything, workloads read ConfigMaps).
	ApplyRank int
	// Forbidden are fields a manifest must not set, with the reason.
	Forbidden map[string]string
	// Default fills the fields a manifest may leave out; nil when there are none.
	Default func(Object)
	// validate adds the kind's problems to v.
	validate func(v *validator, obj Object)
	// PodSpec returns the spec of the Pods an object of the kind makes; nil when it makes none.
	PodSpec func(Object) *PodSpec
	// Health says how an object's health is judged.
	Health HealthRule
}

// The apply ranks.
const (
	rankNamespace = iota
	rankConfig
	rankWorkload
	rankCluster
)

// kinds is the table; read it through LookupKind and Kinds.
var kinds = [...]KindInfo{
	{
		Kind: KindNamespace, APIVersion: "v1", New: func() Object { return &Namespace{} },
		Manifest: true, ApplyRank: rankNamespace, Health: HealthWhenApplied,
		validate: func(v *validator, o Object) { v.namespaceMeta("metadata", &o.(*Namespace).Metadata) },
	},
	{
		Kind: KindConfigMap, APIVersion: "v1", New: func() Object { return &ConfigMap{} },
		Namespaced: true, Manifest: true, ApplyRank: rankConfig, Health: HealthWhenApplied,
		Forbidden: map[string]string{
			"binaryData": "binaryData is not supported; put text in data",
			"immutable":  "immutable is not supported",
		},
		Default: func(o Object) { defaultMeta(&o.(*ConfigMap).Metadata) },
		validate: func(v *validator, o Object) {
			cm := o.(*ConfigMap)
			v.meta("metadata", &cm.Metadata)
			v.configMapData("data", cm.Data)
		},
	},
	{
		Kind: KindService, APIVersion: "v1", New: func() Object { return &Service{} },
		Namespaced: true, Manifest: true, ApplyRank: rankConfig, Health: HealthByEndpoints,
		Forbidden: map[string]string{"status": "status is observed by the services controller and cannot be set in a manifest"},
		Default:   func(o Object) { defaultService(o.(*Service)) },
		validate: func(v *validator, o Object) {
			s := o.(*Service)
			v.meta("metadata", &s.Metadata)
			v.serviceSpec("spec", &s.Spec)
		},
	},
	{
		Kind: KindDeployment, APIVersion: "apps/v1", New: func() Object { return &Deployment{} },
		Namespaced: true, Manifest: true, ApplyRank: rankWorkload, Health: HealthByReplicas,
		Default: func(o Object) { defaultDeployment(o.(*Deployment)) },
		validate: func(v *validator, o Object) {
			d := o.(*Deployment)
			v.meta("metadata", &d.Metadata)
			v.deploymentSpec("spec", &d.Spec)
		},
		PodSpec: func(o Object) *PodSpec { return &o.(*Deployment).Spec.Template.Spec },
	},
	{
		Kind: KindPod, APIVersion: "v1", New: func() Object { return &Pod{} },
		Namespaced: true, Manifest: true, ApplyRank: rankWorkload, Health: HealthByPod,
		Forbidden: map[string]string{"status": "status is observed by the node agent and cannot be set in a manifest"},
		Default: func(o Object) {
			p := o.(*Pod)
			defaultMeta(&p.Metadata)
			defaultPodSpec(&p.Spec)
		},
		validate: func(v *validator, o Object) {
			p := o.(*Pod)
			v.meta("metadata", &p.Metadata)
			v.podSpec("spec", &p.Spec, false)
		},
		PodSpec: func(o Object) *PodSpec { return &o.(*Pod).Spec },
	},
	{
		Kind: KindNode, APIVersion: "v1", New: func() Object { return &Node{} },
		ApplyRank: rankCluster, Health: HealthNotJudged,
		validate: func(v *validator, o Object) { v.meta("metadata", &o.(*Node).Metadata) },
	},
}

// LookupKind returns the entry of kind.
func LookupKind(kind string) (KindInfo, bool) {
	for _, k := range kinds {
		if k.Kind == kind {
			return k, true
		}
	}
	return KindInfo{}, false
}

// Kinds returns every entry of the table, in apply order.
func Kinds() []KindInfo {
	out := slices.Clone(kinds[:])
	slices.SortStableFunc(out, func(a, b KindInfo) int { return a.ApplyRank - b.ApplyRank })
	return out
}

// New returns an empty object of kind, or an error when gitfleet does not know the kind.
func New(kind string) (Object, error) {
	k, ok := LookupKind(kind)
	if !ok {
		return nil, fmt.Errorf("unknown kind %q", kind)
	}
	return k.New(), nil
}

// Namespaced reports whether objects of kind live in a namespace; Nodes and Namespaces do not.
// An unknown kind is taken as namespaced.
func Namespaced(kind string) bool {
	k, ok := LookupKind(kind)
	return !ok || k.Namespaced
}

// ApplyRank is the place of kind in the apply order; unknown kinds come last.
func ApplyRank(kind string) int {
	if k, ok := LookupKind(kind); ok {
		return k.ApplyRank
	}
	return rankCluster + 1
}

// KindOf returns the entry of obj's Go type, which holds whatever its TypeMeta says.
func KindOf(obj Object) (KindInfo, bool) {
	t := reflect.TypeOf(obj)
	for _, k := range kinds {
		if reflect.TypeOf(k.New()) == t {
			return k, true
		}
	}
	return KindInfo{}, false
}

// PodSpecOf returns the spec of the Pods obj makes, or nil when its kind makes none.
func PodSpecOf(obj Object) *PodSpec {
	if k, ok := KindOf(obj); ok && k.PodSpec != nil {
		return k.PodSpec(obj)
	}
	return nil
}

// manifestAPIVersion returns the apiVersion serving kind in manifests.
func manifestAPIVersion(kind string) (string, bool) {
	k, ok := LookupKind(kind)
	if !ok || !k.Manifest {
		return "", false
	}
	return k.APIVersion, true
}

// supportedKinds lists the manifest kinds with their apiVersions, in name order.
func supportedKinds() string {
	byName := map[string]string{}
	for _, k := range kinds {
		if k.Manifest {
			byName[k.Kind] = k.APIVersion
		}
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(byName)) {
		parts = append(parts, fmt.Sprintf("%s (%s)", k, byName[k]))
	}
	last := len(parts) - 1
	return strings.Join(parts[:last], ", ") + " and " + parts[last]
}

// CompareKeys orders keys by apply rank, then kind, namespace and name: the order of a sync and
// of every listing of desired objects.
func CompareKeys(a, b Key) int {
	return cmp.Or(cmp.Compare(ApplyRank(a.Kind), ApplyRank(b.Kind)), cmp.Compare(a.Kind, b.Kind),
		cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
}
