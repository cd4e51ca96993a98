package api

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gitfleet/gitfleet/api/internal/strict"
)

// Validate checks one decoded object against the rules Kubernetes applies to its kind and
// returns every problem found, each located with d.LineOf. Fields Default would fill may be
// empty, so it gives the same answer before and after Default.
func Validate(d Decoded) []FieldError {
	v := &validator{d: d}
	k, ok := KindOf(d.Object)
	if !ok {
		v.add("kind", "cannot validate %T", d.Object)
		return v.errs
	}
	k.validate(v, d.Object)
	return v.errs
}

type validator struct {
	d    Decoded
	errs []FieldError
}

func (v *validator) add(path, format string, args ...any) {
	v.errs = append(v.errs, v.d.errorAt(path, format, args...))
}

// check adds msg at path unless it is empty; the name checks return "" for valid input.
func (v *validator) check(path, msg string) {
	if msg != "" {
		v.add(path, "%s", msg)
	}
}

func (v *validator) meta(path string, m *ObjectMeta) {
	if m.Name == "" {
		v.add(path+".name", "required")
	} else {
		v.check(path+".name", checkSubdomain(m.Name))
	}
	if m.Namespace != "" {
		v.check(path+".namespace", checkLabel(m.Namespace))
	}
	v.labels(path+".labels", m.Labels)
	v.annotations(path+".annotations", m.Annotations)
}

// labels checks keys and values of a label map; selectors and node selectors follow the same
// rules. Keys are visited sorted so the errors come out in a stable order.
func (v *validator) labels(path string, labels map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		p := strict.JoinKey(path, k)
		v.check(p, checkQualifiedName(k))
		v.check(p, checkLabelValue(labels[k]))
	}
}

func (v *validator) annotations(path string, annotations map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(annotations)) {
		v.check(strict.JoinKey(path, k), checkQualifiedName(k))
	}
	if b, ok := annotations[AnnotationRollbackOnFailure]; ok && b != "true" && b != "false" {
		v.add(strict.JoinKey(path, AnnotationRollbackOnFailure), "invalid value %q: use \"true\" or \"false\"", b)
	}
}

func (v *validator) deploymentSpec(path string, s *DeploymentSpec) {
	if s.Replicas != nil && *s.Replicas < 0 {
		v.add(path+".replicas", "must be 0 or more, not %d", *s.Replicas)
	}
	v.selector(path+".selector.matchLabels", s.Selector, s.Template.Metadata.Labels)
	v.labels(path+".template.metadata.labels", s.Template.Metadata.Labels)
	v.annotations(path+".template.metadata.annotations", s.Template.Metadata.Annotations)
	v.podSpec(path+".template.spec", &s.Template.Spec, true)
	v.rollout(path, s)
}

// selector requires a selector, as apps/v1 does, and requires it to select the template's own
// Pods: otherwise the Deployment would create Pods it cannot see and create them forever.
func (v *validator) selector(path string, sel *LabelSelector, template map[string]string) {
	if sel == nil || len(sel.MatchLabels) == 0 {
		v.add(path, "required: apps/v1 needs a selector that matches the template's labels")
		return
	}
	v.labels(path, sel.MatchLabels)
	for _, k := range slices.Sorted(maps.Keys(sel.MatchLabels)) {
		want := sel.MatchLabels[k]
		got, ok := template[k]
		switch {
		case !ok:
			v.add(strict.JoinKey(path, k), "selector %s=%s does not match the template: spec.template.metadata.labels has no %q", k, want, k)
		case got != want:
			v.add(strict.JoinKey(path, k), "selector %s=%s does not match the template's label %s=%s", k, want, k, got)
		}
	}
}

func (v *validator) podSpec(path string, s *PodSpec, inDeployment bool) {
	if len(s.Containers) == 0 {
		v.add(path+".containers", "at least one container is required")
	}
	volumes := v.volumes(path+".volumes", s.Volumes)
	names := map[string]int{}
	hostPorts := map[string]string{}
	for i := range s.Containers {
		c := &s.Containers[i]
		p := fmt.Sprintf("%s.containers[%d]", path, i)
		v.container(p, c, volumes)
		if first, dup := names[c.Name]; dup && c.Name != "" {
			v.add(p+".name", "duplicate container name %q; containers[%d] has it too", c.Name, first)
		} else {
			names[c.Name] = i
		}
		v.hostPorts(p, c, s.HostNetwork, hostPorts)
	}
	v.initContainers(path, s, volumes, names)
	v.restartPolicy(path+".restartPolicy", s.RestartPolicy, inDeployment)
	if g := s.TerminationGracePeriodSeconds; g != nil && (*g < 0 || *g > maxGraceSeconds) {
		v.add(path+".terminationGracePeriodSeconds", "must be between 0 and %d, not %d", maxGraceSeconds, *g)
	}
	v.labels(path+".nodeSelector", s.NodeSelector)
	v.scheduling(path, s)
	if s.NodeName != "" {
		v.check(path+".nodeName", checkSubdomain(s.NodeName))
	}
}

func (v *validator) restartPolicy(path, policy string, inDeployment bool) {
	switch policy {
	case "", RestartAlways:
	case RestartOnFailure, RestartNever:
		if inDeployment {
			v.add(path, "unsupported value %q: a Deployment's Pods must use Always", policy)
		}
	default:
		v.add(path, "unsupported value %q: use Always, OnFailure or Never", policy)
	}
}

// container checks one container; volumes are the names the Pod declares.
func (v *validator) container(path string, c *Container, volumes map[string]bool) {
	if c.Name == "" {
		v.add(path+".name", "required")
	} else {
		v.check(path+".name", checkLabel(c.Name))
	}
	switch {
	case c.Image == "":
		v.add(path+".image", "required")
	case strings.ContainsAny(c.Image, " \t\r\n"):
		v.add(path+".image", "invalid image %q: must not contain whitespace", c.Image)
	}
	for j := range c.Env {
		v.envVar(fmt.Sprintf("%s.env[%d]", path, j), &c.Env[j])
	}
	for j := range c.EnvFrom {
		v.envFrom(fmt.Sprintf("%s.envFrom[%d]", path, j), &c.EnvFrom[j])
	}
	for j, port := range c.Ports {
		v.port(fmt.Sprintf("%s.ports[%d]", path, j), port)
	}
	v.runtimeFields(path, c)
	v.resources(path+".resources", c.Resources)
	v.volumeMounts(path+".volumeMounts", c.VolumeMounts, volumes)
	if c.Lifecycle != nil {
		v.preStop(path+".lifecycle.preStop", c.Lifecycle.PreStop)
	}
	v.probes(path, c)
}

// maxGraceSeconds bounds a Pod's grace period: a day, far above any real stop.
const maxGraceSeconds = 24 * 60 * 60

func (v *validator) preStop(path string, h *LifecycleHandler) {
	switch {
	case h == nil:
	case h.Exec == nil:
		v.add(path, "exec is required: it is the only hook gitfleet runs")
	case len(h.Exec.Command) == 0 || h.Exec.Command[0] == "":
		v.add(path+".exec.command", "required")
	}
}

func (v *validator) port(path string, p ContainerPort) {
	if p.ContainerPort < 1 || p.ContainerPort > 65535 {
		v.add(path+".containerPort", "must be between 1 and 65535, not %d", p.ContainerPort)
	}
	if p.HostPort < 0 || p.HostPort > 65535 {
		v.add(path+".hostPort", "must be between 0 and 65535, not %d", p.HostPort)
	}
	switch p.Protocol {
	case "", ProtocolTCP, ProtocolUDP, ProtocolSCTP:
	default:
		v.add(path+".protocol", "unsupported value %q: use TCP, UDP or SCTP", p.Protocol)
	}
	if p.Name != "" {
		v.check(path+".name", checkPortName(p.Name))
	}
}

// hostPorts rejects a host port used twice in one Pod, which could never be scheduled, and a
// host port that differs from the container port under hostNetwork, which cannot be mapped.
func (v *validator) hostPorts(path string, c *Container, hostNetwork bool, used map[string]string) {
	for j, p := range c.Ports {
		pp := fmt.Sprintf("%s.ports[%d].hostPort", path, j)
		if hostNetwork && p.HostPort != 0 && p.HostPort != p.ContainerPort {
			v.add(pp, "must equal containerPort %d when hostNetwork is true", p.ContainerPort)
		}
		if p.HostPort == 0 {
			continue
		}
		key := fmt.Sprintf("%d/%s", p.HostPort, cmp.Or(p.Protocol, ProtocolTCP))
		if first, dup := used[key]; dup {
			v.add(pp, "host port %s is already used by %s", key, first)
			continue
		}
		used[key] = parentPath(pp)
	}
}

// quantityParsers are the resources a container may request or limit.
var quantityParsers = map[string]func(string) (int64, error){
	ResourceCPU:    ParseCPU,
	ResourceMemory: ParseMemory,
}

func (v *validator) resources(path string, r ResourceRequirements) {
	for _, list := range []struct {
		name string
		rl   ResourceList
	}{{"requests", r.Requests}, {"limits", r.Limits}} {
		for _, k := range slices.Sorted(maps.Keys(list.rl)) {
			p := strict.JoinKey(path+"."+list.name, k)
			parse, ok := quantityParsers[k]
			if !ok {
				v.add(p, "unsupported resource %q: use cpu or memory", k)
			} else if _, err := parse(list.rl[k]); err != nil {
				v.add(p, "%v", err)
			}
		}
	}
	for _, name := range []string{ResourceCPU, ResourceMemory} {
		req, okReq := r.Requests[name]
		lim, okLim := r.Limits[name]
		if !okReq || !okLim {
			continue
		}
		a, errA := quantityParsers[name](req)
		b, errB := quantityParsers[name](lim)
		if errA == nil && errB == nil && a > b {
			v.add(strict.JoinKey(path+".requests", name), "request %s is more than the limit %s", req, lim)
		}
	}
}
