package nodeagent

import (
	"context"
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
// climbs out of the Pod's directory. The desired Namespaces are read only when a Pod uses host
// access; failing to read them fails the pass, so that no running Pod is removed for it.
func (a *Agent) admit(ctx context.Context, wanted []*api.Pod) ([]*api.Pod, map[api.PodKey]error, error) {
	var out []*api.Pod
	refused := map[api.PodKey]error{}
	var desired map[api.Key]store.DesiredObject
	for _, pod := range wanted {
		key := api.PodKeyOf(pod)
		if err := validatePod(pod); err != nil {
			refused[key] = err
			continue
		}
		if path, _ := api.HostAccess(&pod.Spec); path != "" && desired == nil {
			var err error
			if desired, _, err = a.st.ListDesired(ctx); err != nil {
				return nil, nil, fmt.Errorf("read namespaces: %w", err)
			}
		}
		if err := checkHostAccess(pod, desired); err != nil {
			refused[key] = err
			continue
		}
		out = append(out, pod)
	}
	return out, refused, nil
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

// checkHostAccess refuses host access to a Pod whose Namespace, among the desired objects, is
// not labelled privileged.
func checkHostAccess(pod *api.Pod, desired map[api.Key]store.DesiredObject) error {
	path, field := api.HostAccess(&pod.Spec)
	if path == "" {
		return nil
	}
	ns := pod.Metadata.Namespace
	obj, _ := desired[api.Key{Kind: api.KindNamespace, Name: ns}].Object.(*api.Namespace)
	if api.Privileged(obj) {
		return nil
	}
	return &RefusedError{Reason: ReasonHostAccessForbidden, Message: "spec." + path + ": " + api.HostAccessMessage(field, ns)}
}
