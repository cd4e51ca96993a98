package api

import "time"

// Probe is a check the node agent runs on a running container, as in Kubernetes: exactly one
// of Exec, HTTPGet and TCPSocket. Zero timing fields take Kubernetes' defaults (see the
// accessors), which Default leaves unset so that a Pod's stored form and spec hash stay as
// written.
type Probe struct {
	Exec      *ExecAction      `json:"exec,omitempty"`
	HTTPGet   *HTTPGetAction   `json:"httpGet,omitempty"`
	TCPSocket *TCPSocketAction `json:"tcpSocket,omitempty"`

	// InitialDelaySeconds passes after the container starts before the first probe.
	InitialDelaySeconds int32 `json:"initialDelaySeconds,omitempty"`
	// PeriodSeconds is the time between probes; DefaultProbePeriodSeconds when 0.
	PeriodSeconds int32 `json:"periodSeconds,omitempty"`
	// TimeoutSeconds bounds one probe, which fails past it; DefaultProbeTimeoutSeconds when 0.
	TimeoutSeconds int32 `json:"timeoutSeconds,omitempty"`
	// SuccessThreshold is how many successes in a row make a failed probe pass again; 1 when
	// 0, and only a readiness probe may set more.
	SuccessThreshold int32 `json:"successThreshold,omitempty"`
	// FailureThreshold is how many failures in a row make the probe fail;
	// DefaultProbeFailureThreshold when 0.
	FailureThreshold int32 `json:"failureThreshold,omitempty"`
}

// HTTPGetAction GETs Path on Port of the Pod's IP; a status from 200 to 399 passes.
type HTTPGetAction struct {
	Path string `json:"path,omitempty"`
	// Port is a number or the name of one of the container's ports.
	Port IntOrString `json:"port"`
	// Scheme is HTTP, the only one supported.
	Scheme      string       `json:"scheme,omitempty"`
	HTTPHeaders []HTTPHeader `json:"httpHeaders,omitempty"`
}

// HTTPHeader is one header an HTTPGetAction sends.
type HTTPHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// TCPSocketAction passes when a TCP connection to Port of the Pod's IP opens.
type TCPSocketAction struct {
	// Port is a number or the name of one of the container's ports.
	Port IntOrString `json:"port"`
}

// Probe defaults, as in Kubernetes.
const (
	DefaultProbePeriodSeconds    = 10
	DefaultProbeTimeoutSeconds   = 1
	DefaultProbeFailureThreshold = 3
	// SchemeHTTP is the one scheme an HTTPGetAction supports.
	SchemeHTTP = "HTTP"
)

// InitialDelay is p's initial delay.
func (p *Probe) InitialDelay() time.Duration { return seconds(p.InitialDelaySeconds, 0) }

// Period is p's period, defaulted.
func (p *Probe) Period() time.Duration {
	return seconds(p.PeriodSeconds, DefaultProbePeriodSeconds)
}

// Timeout is p's timeout, defaulted.
func (p *Probe) Timeout() time.Duration {
	return seconds(p.TimeoutSeconds, DefaultProbeTimeoutSeconds)
}

// Successes is p's success threshold, defaulted.
func (p *Probe) Successes() int {
	return int(max(p.SuccessThreshold, 1))
}

// Failures is p's failure threshold, defaulted.
func (p *Probe) Failures() int {
	if p.FailureThreshold == 0 {
		return DefaultProbeFailureThreshold
	}
	return int(p.FailureThreshold)
}

func seconds(n, def int32) time.Duration {
	if n == 0 {
		n = def
	}
	return time.Duration(n) * time.Second
}

// Probes reports whether c has any probe.
func (c *Container) Probes() bool {
	return c.LivenessProbe != nil || c.ReadinessProbe != nil || c.StartupProbe != nil
}

// PortNumber resolves port, a number or the name of one of c's ports, to a number; 0 when the
// name is not one of c's.
func (c *Container) PortNumber(port IntOrString) int32 {
	if !port.IsString {
		return port.IntVal
	}
	for _, p := range c.Ports {
		if p.Name == port.StrVal {
			return p.ContainerPort
		}
	}
	return 0
}
