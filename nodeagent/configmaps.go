package nodeagent

import (
	"context"
	"errors"
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

// resolveConfigMaps looks up each ConfigMap pod references (by name, in its namespace; nil:
// it does not exist) and checks that every ConfigMap and key it needs is there. It returns a
// *ConfigError when one is not, and lookup's error when a lookup fails.
func resolveConfigMaps(pod *api.Pod, lookup func(name string) (*api.ConfigMap, error)) (ConfigMaps, error) {
	cms := ConfigMaps{}
	for _, name := range api.ConfigMapNames(&pod.Spec) {
		cm, err := lookup(name)
		if err != nil {
			return nil, err
		}
		if cm != nil {
			cms[name] = cm
		}
	}
	return cms, cms.Check(pod)
}

// DesiredGetter reads one desired object; *store.Store implements it.
type DesiredGetter interface {
	GetDesired(ctx context.Context, k api.Key) (store.DesiredObject, error)
}

// configMapReader reads the ConfigMaps of one pass, each once.
type configMapReader struct {
	st   DesiredGetter
	read map[api.Key]configMapRead
}

type configMapRead struct {
	cm  *api.ConfigMap
	err error
}

// get returns the desired ConfigMap k, nil when there is none (or its value is not one). A
// node may read a ConfigMap only once the control plane granted it the right (package
// noderights does when a Pod using it is bound here), so a refused read is a *ConfigError: the
// Pod waits, as for a missing ConfigMap, and a later pass reads again. It waits even when every
// reference is optional, since the ConfigMap may well exist.
func (r *configMapReader) get(ctx context.Context, k api.Key) (*api.ConfigMap, error) {
	if got, ok := r.read[k]; ok {
		return got.cm, got.err
	}
	var got configMapRead
	obj, err := r.st.GetDesired(ctx, k)
	switch {
	case err == nil:
		got.cm, _ = obj.Object.(*api.ConfigMap)
	case errors.Is(err, store.ErrNotFound):
	case errors.Is(err, store.ErrPermissionDenied):
		got.err = &ConfigError{Message: fmt.Sprintf("configmap %q is not readable by this node yet", k.Name)}
	default:
		got.err = fmt.Errorf("read configmap %s/%s: %w", k.Namespace, k.Name, err)
	}
	r.read[k] = got
	return got.cm, got.err
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
