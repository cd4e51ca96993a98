package api

import (
	"testing"
	"time"
)

// probedPod is a Pod of the Kubernetes documentation's probe examples, each handler once.
const probedPod = `apiVersion: v1
kind: Pod
metadata: {name: probed}
spec:
  containers:
    - name: web
      image: nginx
      ports: [{name: http, containerPort: 8080}]
      livenessProbe:
        httpGet:
          path: /healthz
          port: http
          httpHeaders: [{name: Custom-Header, value: Awesome}]
        initialDelaySeconds: 3
        periodSeconds: 3
      readinessProbe:
        tcpSocket: {port: 8080}
        successThreshold: 2
        timeoutSeconds: 2
      startupProbe:
        exec: {command: [cat, /tmp/healthy]}
        failureThreshold: 30
        periodSeconds: 10
`

func TestProbeDecode(t *testing.T) {
	d := mustDecodeOne(t, "pod.yaml", probedPod)
	if errs := Validate(d); len(errs) > 0 {
		t.Fatalf("valid probes: %v", errs)
	}
	c := d.Object.(*Pod).Spec.Containers[0]
	l, r, s := c.LivenessProbe, c.ReadinessProbe, c.StartupProbe
	if got := c.PortNumber(l.HTTPGet.Port); got != 8080 || l.HTTPGet.Path != "/healthz" || l.HTTPGet.HTTPHeaders[0].Value != "Awesome" {
		t.Errorf("liveness httpGet %+v, port %d", l.HTTPGet, got)
	}
	if l.InitialDelay() != 3*time.Second || l.Period() != 3*time.Second || l.Timeout() != time.Second || l.Failures() != 3 || l.Successes() != 1 {
		t.Errorf("liveness timing %v %v %v %d %d", l.InitialDelay(), l.Period(), l.Timeout(), l.Failures(), l.Successes())
	}
	if c.PortNumber(r.TCPSocket.Port) != 8080 || r.Successes() != 2 || r.Timeout() != 2*time.Second || r.Period() != 10*time.Second {
		t.Errorf("readiness %+v", r)
	}
	if s.Exec.Command[1] != "/tmp/healthy" || s.Failures() != 30 {
		t.Errorf("startup %+v", s)
	}
}

func TestProbeDecodeUnknownField(t *testing.T) {
	src := `apiVersion: v1
kind: Pod
metadata: {name: probed}
spec:
  containers:
    - name: web
      image: nginx
      livenessProbe:
        grpc: {port: 9000}
`
	_, errs := Decode("pod.yaml", []byte(src))
	if len(errs) != 1 || errs[0].Line != 9 || errs[0].Field != "spec.containers[0].livenessProbe.grpc" {
		t.Fatalf("errors %v; want an unknown field at line 9", errs)
	}
}

// TestProbeValidateLines checks each probe rule, located at the line of its field.
func TestProbeValidateLines(t *testing.T) {
	src := `apiVersion: v1
kind: Pod
metadata: {name: probed}
spec:
  containers:
    - name: web
      image: nginx
      ports: [{name: http, containerPort: 8080}]
      livenessProbe:
        httpGet: {path: healthz, port: metrics, scheme: HTTPS}
        successThreshold: 2
      readinessProbe:
        tcpSocket: {port: 0}
        exec: {command: ["true"]}
        periodSeconds: -1
      startupProbe:
        initialDelaySeconds: 5
    - name: side
      image: busybox
      readinessProbe:
        httpGet:
          port: 70000
          httpHeaders: [{name: "a b", value: x}]
`
	d := mustDecodeOne(t, "pod.yaml", src)
	assertErrors(t, Validate(d), []string{
		`pod.yaml:10: spec.containers[0].livenessProbe.httpGet.port: names no port of the container: "metrics" is not among its ports' names`,
		`pod.yaml:10: spec.containers[0].livenessProbe.httpGet.path: must start with /, not "healthz"`,
		`pod.yaml:10: spec.containers[0].livenessProbe.httpGet.scheme: unsupported value "HTTPS": use HTTP`,
		`pod.yaml:11: spec.containers[0].livenessProbe.successThreshold: must be 1, not 2: only a readiness probe may need several successes`,
		`pod.yaml:13: spec.containers[0].readinessProbe.tcpSocket.port: must be between 1 and 65535, not 0`,
		`pod.yaml:12: spec.containers[0].readinessProbe: only one of exec, httpGet and tcpSocket may be set, not exec and tcpSocket`,
		`pod.yaml:15: spec.containers[0].readinessProbe.periodSeconds: must be 0 or more, not -1`,
		`pod.yaml:16: spec.containers[0].startupProbe: one of exec, httpGet and tcpSocket is required`,
		`pod.yaml:22: spec.containers[1].readinessProbe.httpGet.port: must be between 1 and 65535, not 70000`,
		"pod.yaml:23: spec.containers[1].readinessProbe.httpGet.httpHeaders[0].name: invalid header name \"a b\": use letters, digits and !#$%&'*+-.^_`|~",
	})
}
