package nodeagent

import (
	"context"
	"fmt"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// ConfigMaps are the ConfigMaps a Pod's spec references, by name, all of the Pod's namespace.
// One that does not exist (allowed when every reference to it is optional) has no entry.
type ConfigMaps map[string]*api.ConfigMap

// ConfigError means a Pod cannot be created because a ConfigMap, or a key of one, that it
// needs does not exist. The agent reports Message as the Pod's status and retries.
type ConfigError struct {
	Message string
}

func (e *ConfigError) Error() string { return e.Message }

// ConfigRuntime is a Runtime that gives containers the ConfigMaps their Pod reads: as
// environment variables (env valueFrom, envFrom) and as files in read-only volumes. The
// containerd runtime implements it.
type ConfigRuntime interface {
	Runtime
	// EnsurePodConfig is EnsurePod with the Pod's ConfigMaps, as the agent resolved them from
	// the desired objects. It fails with a *ConfigError (cms.Check), creating nothing, when one
	// the Pod needs is not in cms.
	EnsurePodConfig(ctx context.Context, pod *api.Pod, cms ConfigMaps) (podIP string, err error)
}

// resolveConfigMaps picks the ConfigMaps pod references out of the desired objects and checks
// that every ConfigMap and key it needs is there. It returns a *ConfigError when one is not.
func resolveConfigMaps(pod *api.Pod, desired map[api.Key]store.DesiredObject) (ConfigMaps, error) {
	cms := ConfigMaps{}
	for _, name := range api.ConfigMapNames(&pod.Spec) {
		k := api.Key{Kind: api.KindConfigMap, Namespace: pod.Metadata.Namespace, Name: name}
		if cm, ok := desired[k].Object.(*api.ConfigMap); ok {
			cms[name] = cm
		}
	}
	return cms, cms.Check(pod)
}

// Check returns a *ConfigError for the first ConfigMap or key pod needs that cms lacks.
func (cms ConfigMaps) Check(pod *api.Pod) error {
	for _, r := range api.ConfigMapRefs(&pod.Spec) {
		if r.Optional {
			continue
		}
		cm, ok := cms[r.Name]
		if !ok {
			return &ConfigError{Message: fmt.Sprintf("configmap %q not found", r.Name)}
		}
		for _, k := range r.Keys {
			if _, ok := cm.Data[k.Key]; !ok {
				return &ConfigError{Message: fmt.Sprintf("configmap %q has no key %q", r.Name, k.Key)}
			}
		}
	}
	return nil
}

// usesConfigMaps reports whether pod references any ConfigMap.
func usesConfigMaps(pod *api.Pod) bool { return len(api.ConfigMapRefs(&pod.Spec)) > 0 }
