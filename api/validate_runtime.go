package api

import (
	"fmt"
	"regexp"
	"strings"
)

// initContainers checks a Pod's init containers as containers, with names unique among all
// of the Pod's containers, and restartPolicy Always as the only policy of a container (a
// sidecar). names holds the app containers' names by index.
func (v *validator) initContainers(path string, s *PodSpec, volumes map[string]bool, names map[string]int) {
	seen := map[string]int{}
	for i := range s.InitContainers {
		c := &s.InitContainers[i]
		p := fmt.Sprintf("%s.initContainers[%d]", path, i)
		v.container(p, c, volumes)
		if first, dup := seen[c.Name]; dup && c.Name != "" {
			v.add(p+".name", "duplicate container name %q; initContainers[%d] has it too", c.Name, first)
		} else if first, dup := names[c.Name]; dup && c.Name != "" {
			v.add(p+".name", "duplicate container name %q; containers[%d] has it too", c.Name, first)
		}
		seen[c.Name] = i
		if len(c.Ports) > 0 {
			v.add(p+".ports", "not supported on init containers: only the containers' ports are mapped")
		}
		switch c.RestartPolicy {
		case "", RestartAlways:
		default:
			v.add(p+".restartPolicy", "unsupported value %q: an init container may only have Always (a sidecar)", c.RestartPolicy)
		}
	}
	for i := range s.Containers {
		if s.Containers[i].RestartPolicy != "" {
			v.add(fmt.Sprintf("%s.containers[%d].restartPolicy", path, i), "only init containers may set a restartPolicy; the Pod's applies")
		}
	}
}

// runtimeFields checks the container fields of the node runtime.
func (v *validator) runtimeFields(path string, c *Container) {
	switch c.ImagePullPolicy {
	case "", PullAlways, PullIfNotPresent, PullNever:
	default:
		v.add(path+".imagePullPolicy", "unsupported value %q: use Always, IfNotPresent or Never", c.ImagePullPolicy)
	}
	if c.WorkingDir != "" && !strings.HasPrefix(c.WorkingDir, "/") {
		v.add(path+".workingDir", "must be an absolute path, not %q", c.WorkingDir)
	}
	if c.TerminationMessagePath != "" && !strings.HasPrefix(c.TerminationMessagePath, "/") {
		v.add(path+".terminationMessagePath", "must be an absolute path, not %q", c.TerminationMessagePath)
	}
	if sc := c.SecurityContext; sc != nil {
		v.securityContext(path+".securityContext", sc)
	}
}

// capabilityName is a capability as Kubernetes writes it (NET_RAW), or with its CAP_ prefix.
var capabilityName = regexp.MustCompile(`^[A-Z][A-Z_]*$`)

func (v *validator) securityContext(path string, sc *SecurityContext) {
	if sc.RunAsUser != nil && (*sc.RunAsUser < 0 || *sc.RunAsUser > 1<<32-2) {
		v.add(path+".runAsUser", "must be between 0 and 4294967294, not %d", *sc.RunAsUser)
	}
	if sc.RunAsGroup != nil && (*sc.RunAsGroup < 0 || *sc.RunAsGroup > 1<<32-2) {
		v.add(path+".runAsGroup", "must be between 0 and 4294967294, not %d", *sc.RunAsGroup)
	}
	if sc.Capabilities == nil {
		return
	}
	for i, c := range sc.Capabilities.Drop {
		if !capabilityName.MatchString(c) {
			v.add(fmt.Sprintf("%s.capabilities.drop[%d]", path, i), "invalid capability %q: write it as NET_RAW, or ALL", c)
		}
	}
}

// emptyDir checks an emptyDir volume source.
func (v *validator) emptyDir(path string, e *EmptyDirVolumeSource) {
	switch e.Medium {
	case "", StorageMediumMemory:
	default:
		v.add(path+".medium", "unsupported value %q: use Memory, or leave it out for the node's disk", e.Medium)
	}
	if e.SizeLimit == "" {
		return
	}
	if n, err := ParseMemory(e.SizeLimit); err != nil {
		v.add(path+".sizeLimit", "%v", err)
	} else if n <= 0 {
		v.add(path+".sizeLimit", "must be positive, not %s", e.SizeLimit)
	}
}
