package nodeagent

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// Reasons of a Pod the agent refuses to run.
const (
	// ReasonInvalidPod: the Pod breaks the rules `gitfleet validate` applies. A Pod's spec does
	// not change, so it is Failed for good.
	ReasonInvalidPod = "InvalidPod"
	// ReasonHostAccessForbidden: the Pod uses host access its Namespace does not allow. It
	// stays Pending, and runs once the Namespace is labelled privileged.
	ReasonHostAccessForbidden = "HostAccessForbidden"
)

// RefusedError means the agent will not run a Pod; the agent reports Reason and Message as the
// Pod's status.
type RefusedError struct {
	Reason, Message string
}

func (e *RefusedError) Error() string { return e.Reason + ": " + e.Message }

// maxRefusalErrors bounds the validation errors a refusal's message names.
const maxRefusalErrors = 3

// admit splits the wanted Pods into those the agent runs and the refusals of the others. The
// agent checks every Pod again, whatever wrote it into etcd: a local user, or a Pod with the
// host's network, may write a Pod that no commit would pass, such as one whose volume name
// climbs out of the Pod's directory. A Pod's desired Namespace is read only when the Pod uses
// host access, once per pass; failing to read it fails the pass, so that no running Pod is
// removed for it.
func (a *Agent) admit(ctx context.Context, wanted []*api.Pod) ([]*api.Pod, map[api.PodKey]error, error) {
	var out []*api.Pod
	refused := map[api.PodKey]error{}
	namespaces := map[string]*api.Namespace{}
	for _, pod := range wanted {
		key := api.PodKeyOf(pod)
		if err := validatePod(pod); err != nil {
			refused[key] = err
			continue
		}
		if path, _ := api.HostAccess(&pod.Spec); path != "" {
			ns, err := a.namespace(ctx, pod.Metadata.Namespace, namespaces)
			if err != nil {
				return nil, nil, err
			}
			if err := checkHostAccess(pod, ns); err != nil {
				refused[key] = err
				continue
			}
		}
		out = append(out, pod)
	}
	return out, refused, nil
}

// namespace returns the desired Namespace name (nil when there is none), from read when this
// pass read it already.
func (a *Agent) namespace(ctx context.Context, name string, read map[string]*api.Namespace) (*api.Namespace, error) {
	if ns, ok := read[name]; ok {
		return ns, nil
	}
	obj, err := a.st.GetDesired(ctx, api.Key{Kind: api.KindNamespace, Name: name})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("read namespace %s: %w", name, err)
	}
	ns, _ := obj.Object.(*api.Namespace)
	read[name] = ns
	return ns, nil
}

// validatePod applies api.Validate to a Pod read from etcd, located by its key there.
func validatePod(pod *api.Pod) error {
	file := fmt.Sprintf("etcd:/gitfleet/pods/%s/%s", pod.Metadata.Namespace, pod.Metadata.Name)
	errs := api.Validate(api.Decoded{Object: pod, File: file})
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, 0, maxRefusalErrors+1)
	for i, e := range errs {
		if i == maxRefusalErrors {
			msgs = append(msgs, fmt.Sprintf("and %d more", len(errs)-i))
			break
		}
		msgs = append(msgs, e.Error())
	}
	return &RefusedError{Reason: ReasonInvalidPod, Message: strings.Join(msgs, "; ")}
}

// checkHostAccess refuses host access to a Pod whose Namespace ns (nil: not among the desired
// objects) is not labelled privileged.
func checkHostAccess(pod *api.Pod, ns *api.Namespace) error {
	path, field := api.HostAccess(&pod.Spec)
	if path == "" || api.Privileged(ns) {
		return nil
	}
	return &RefusedError{Reason: ReasonHostAccessForbidden, Message: "spec." + path + ": " + api.HostAccessMessage(field, pod.Metadata.Namespace)}
}
