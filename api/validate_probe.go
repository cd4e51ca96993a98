package api

import (
	"fmt"
	"strings"
)

// probes checks a container's probes.
func (v *validator) probes(path string, c *Container) {
	v.probe(path+".livenessProbe", c, c.LivenessProbe, false)
	v.probe(path+".readinessProbe", c, c.ReadinessProbe, true)
	v.probe(path+".startupProbe", c, c.StartupProbe, false)
}

// probe checks one probe of c; only a readiness probe may ask for more than one success, as
// in Kubernetes, since the others act on the first failure streak and stop at the first pass.
func (v *validator) probe(path string, c *Container, p *Probe, readiness bool) {
	if p == nil {
		return
	}
	v.probeHandler(path, c, p)
	for _, f := range []struct {
		name string
		n    int32
	}{{"initialDelaySeconds", p.InitialDelaySeconds}, {"periodSeconds", p.PeriodSeconds},
		{"timeoutSeconds", p.TimeoutSeconds}, {"successThreshold", p.SuccessThreshold},
		{"failureThreshold", p.FailureThreshold}} {
		if f.n < 0 {
			v.add(path+"."+f.name, "must be 0 or more, not %d", f.n)
		}
	}
	if !readiness && p.SuccessThreshold > 1 {
		v.add(path+".successThreshold", "must be 1, not %d: only a readiness probe may need several successes", p.SuccessThreshold)
	}
}

// probeHandler requires exactly one of exec, httpGet and tcpSocket and checks it.
func (v *validator) probeHandler(path string, c *Container, p *Probe) {
	var set []string
	if p.Exec != nil {
		set = append(set, "exec")
		if len(p.Exec.Command) == 0 || p.Exec.Command[0] == "" {
			v.add(path+".exec.command", "required")
		}
	}
	if h := p.HTTPGet; h != nil {
		set = append(set, "httpGet")
		v.httpGet(path+".httpGet", c, h)
	}
	if p.TCPSocket != nil {
		set = append(set, "tcpSocket")
		v.probePort(path+".tcpSocket.port", c, p.TCPSocket.Port)
	}
	switch len(set) {
	case 0:
		v.add(path, "one of exec, httpGet and tcpSocket is required")
	case 1:
	default:
		v.add(path, "only one of exec, httpGet and tcpSocket may be set, not %s", strings.Join(set, " and "))
	}
}

func (v *validator) httpGet(path string, c *Container, h *HTTPGetAction) {
	v.probePort(path+".port", c, h.Port)
	if h.Path != "" && !strings.HasPrefix(h.Path, "/") {
		v.add(path+".path", "must start with /, not %q", h.Path)
	}
	if strings.ContainsAny(h.Path, " \t\r\n") {
		v.add(path+".path", "must not contain whitespace: %q", h.Path)
	}
	switch h.Scheme {
	case "", SchemeHTTP:
	default:
		v.add(path+".scheme", "unsupported value %q: use HTTP", h.Scheme)
	}
	for i, hd := range h.HTTPHeaders {
		if msg := checkHeaderName(hd.Name); msg != "" {
			v.add(fmt.Sprintf("%s.httpHeaders[%d].name", path, i), "%s", msg)
		}
		if strings.ContainsAny(hd.Value, "\r\n\x00") {
			v.add(fmt.Sprintf("%s.httpHeaders[%d].value", path, i), "must not contain line breaks or NUL")
		}
	}
}

// probePort requires a port number, or the name of one of c's ports.
func (v *validator) probePort(path string, c *Container, port IntOrString) {
	switch {
	case port.IsString && port.StrVal == "":
		v.add(path, "required")
	case port.IsString && checkPortName(port.StrVal) != "":
		v.check(path, checkPortName(port.StrVal))
	case port.IsString && c.PortNumber(port) == 0:
		v.add(path, "names no port of the container: %q is not among its ports' names", port.StrVal)
	case !port.IsString && (port.IntVal < 1 || port.IntVal > 65535):
		v.add(path, "must be between 1 and 65535, not %d", port.IntVal)
	}
}

// checkHeaderName accepts an HTTP token (RFC 9110), the form of a header name.
func checkHeaderName(s string) string {
	if s == "" {
		return "required"
	}
	for _, r := range s {
		if r > 0x7e || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return fmt.Sprintf("invalid header name %q: use letters, digits and !#$%%&'*+-.^_`|~", s)
		}
	}
	return ""
}
