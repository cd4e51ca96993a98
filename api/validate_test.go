package api

import (
	"strings"
	"testing"
)

const validDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
  labels: {app.kubernetes.io/name: web}
  annotations: {example.com/owner: team-a}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web, tier: front}
    spec:
      nodeSelector: {disk: ssd}
      containers:
        - name: web
          image: busybox:1.36
          env: [{name: A, value: "1"}]
          ports:
            - {name: http, containerPort: 8080, hostPort: 80}
          resources:
            requests: {cpu: 100m, memory: 64Mi}
            limits: {cpu: "1", memory: 64Mi}
        - name: sidecar
          image: busybox:1.36
`

const validPod = `apiVersion: v1
kind: Pod
metadata:
  name: once.v1
spec:
  restartPolicy: OnFailure
  nodeName: node-1.example
  hostNetwork: true
  containers:
    - name: main
      image: busybox
      ports: [{containerPort: 53, hostPort: 53, protocol: UDP}]
      lifecycle:
        preStop:
          exec: {command: [sh, -c, "kill -HUP 1"]}
  terminationGracePeriodSeconds: 5
`

func TestValidateValid(t *testing.T) {
	for _, src := range []string{validDeployment, validPod} {
		d := mustDecodeOne(t, "ok.yaml", src)
		if errs := Validate(d); len(errs) > 0 {
			t.Errorf("valid object: %v", errs)
		}
		Default(d.Object)
		if errs := Validate(d); len(errs) > 0 {
			t.Errorf("valid object after Default: %v", errs)
		}
	}
}

func TestValidateRules(t *testing.T) {
	type want struct{ field, msg string }
	dep := func(f func(*Deployment)) func(Object) { return func(o Object) { f(o.(*Deployment)) } }
	pod := func(f func(*Pod)) func(Object) { return func(o Object) { f(o.(*Pod)) } }
	c0 := func(d *Deployment) *Container { return &d.Spec.Template.Spec.Containers[0] }
	tests := []struct {
		name   string
		src    string
		mutate func(Object)
		want   []want
	}{
		{"name required", validPod, pod(func(p *Pod) { p.Metadata.Name = "" }),
			[]want{{"metadata.name", "required"}}},
		{"name uppercase", validPod, pod(func(p *Pod) { p.Metadata.Name = "Web" }),
			[]want{{"metadata.name", `invalid name "Web"`}}},
		{"name too long", validPod, pod(func(p *Pod) { p.Metadata.Name = strings.Repeat("a", 254) }),
			[]want{{"metadata.name", "at most 253"}}},
		{"name 253 ok", validPod, pod(func(p *Pod) { p.Metadata.Name = strings.Repeat("a", 253) }), nil},
		{"name ends with dash", validPod, pod(func(p *Pod) { p.Metadata.Name = "web-" }),
			[]want{{"metadata.name", "invalid name"}}},
		{"namespace with dot", validPod, pod(func(p *Pod) { p.Metadata.Namespace = "a.b" }),
			[]want{{"metadata.namespace", "at most 63"}}},
		{"namespace too long", validPod, pod(func(p *Pod) { p.Metadata.Namespace = strings.Repeat("a", 64) }),
			[]want{{"metadata.namespace", "invalid name"}}},
		{"label key prefix", validPod, pod(func(p *Pod) { p.Metadata.Labels = map[string]string{"Example.com/a": "b"} }),
			[]want{{"metadata.labels[Example.com/a]", "prefix"}}},
		{"label key empty name", validPod, pod(func(p *Pod) { p.Metadata.Labels = map[string]string{"example.com/": "b"} }),
			[]want{{"metadata.labels[example.com/]", "invalid key"}}},
		{"label value", validPod, pod(func(p *Pod) { p.Metadata.Labels = map[string]string{"a": "b c"} }),
			[]want{{"metadata.labels[a]", "invalid label value"}}},
		{"label value empty ok", validPod, pod(func(p *Pod) { p.Metadata.Labels = map[string]string{"a": ""} }), nil},
		{"annotation key", validPod, pod(func(p *Pod) { p.Metadata.Annotations = map[string]string{"a b": "anything goes"} }),
			[]want{{"metadata.annotations[a b]", "invalid key"}}},
		{"rollback-on-failure value", validDeployment, dep(func(d *Deployment) {
			d.Metadata.Annotations = map[string]string{AnnotationRollbackOnFailure: "yes"}
		}), []want{{"metadata.annotations[gitfleet.io/rollback-on-failure]", `invalid value "yes": use "true" or "false"`}}},
		{"rollback-on-failure true", validDeployment, dep(func(d *Deployment) {
			d.Metadata.Annotations = map[string]string{AnnotationRollbackOnFailure: "true"}
		}), nil},
		{"no containers", validPod, pod(func(p *Pod) { p.Spec.Containers = nil }),
			[]want{{"spec.containers", "at least one container"}}},
		{"container name", validPod, pod(func(p *Pod) { p.Spec.Containers[0].Name = "a.b" }),
			[]want{{"spec.containers[0].name", "invalid name"}}},
		{"container name required", validPod, pod(func(p *Pod) { p.Spec.Containers[0].Name = "" }),
			[]want{{"spec.containers[0].name", "required"}}},
		{"duplicate container", validDeployment, dep(func(d *Deployment) { d.Spec.Template.Spec.Containers[1].Name = "web" }),
			[]want{{"spec.template.spec.containers[1].name", `duplicate container name "web"`}}},
		{"image required", validDeployment, dep(func(d *Deployment) { c0(d).Image = "" }),
			[]want{{"spec.template.spec.containers[0].image", "required"}}},
		{"image whitespace", validDeployment, dep(func(d *Deployment) { c0(d).Image = "busy box" }),
			[]want{{"spec.template.spec.containers[0].image", "whitespace"}}},
		{"image pull policy", validDeployment, dep(func(d *Deployment) { c0(d).ImagePullPolicy = "Sometimes" }),
			[]want{{"spec.template.spec.containers[0].imagePullPolicy", `unsupported value "Sometimes"`}}},
		{"env name", validDeployment, dep(func(d *Deployment) {
			c0(d).Env = []EnvVar{{Name: ""}, {Name: "A=B"}, {Name: "A\x1b[31m"}, {Name: "1A"}, {Name: "my.var-1"}}
		}),
			[]want{{"spec.template.spec.containers[0].env[0].name", "required"}, {"spec.template.spec.containers[0].env[1].name", "[-._a-zA-Z][-._a-zA-Z0-9]*"},
				{"spec.template.spec.containers[0].env[2].name", `"A\x1b[31m"`}, {"spec.template.spec.containers[0].env[3].name", "not starting with a digit"}}},
		{"selector required", validDeployment, dep(func(d *Deployment) { d.Spec.Selector = nil }),
			[]want{{"spec.selector.matchLabels", "required"}}},
		{"selector empty", validDeployment, dep(func(d *Deployment) { d.Spec.Selector.MatchLabels = nil }),
			[]want{{"spec.selector.matchLabels", "required"}}},
		{"selector value mismatch", validDeployment, dep(func(d *Deployment) { d.Spec.Selector.MatchLabels["app"] = "api" }),
			[]want{{"spec.selector.matchLabels[app]", "does not match the template's label app=web"}}},
		{"selector key missing", validDeployment, dep(func(d *Deployment) { d.Spec.Selector.MatchLabels["zone"] = "a" }),
			[]want{{"spec.selector.matchLabels[zone]", `has no "zone"`}}},
		{"selector label invalid", validDeployment, dep(func(d *Deployment) {
			d.Spec.Selector.MatchLabels = map[string]string{"app": "web!"}
			d.Spec.Template.Metadata.Labels["app"] = "web!"
		}), []want{{"spec.selector.matchLabels[app]", "invalid label value"}, {"spec.template.metadata.labels[app]", "invalid label value"}}},
		{"replicas negative", validDeployment, dep(func(d *Deployment) { *d.Spec.Replicas = -1 }),
			[]want{{"spec.replicas", "must be 0 or more"}}},
		{"replicas zero ok", validDeployment, dep(func(d *Deployment) { *d.Spec.Replicas = 0 }), nil},
		{"restart policy unknown", validPod, pod(func(p *Pod) { p.Spec.RestartPolicy = "always" }),
			[]want{{"spec.restartPolicy", `unsupported value "always"`}}},
		{"restart policy never in pod ok", validPod, pod(func(p *Pod) { p.Spec.RestartPolicy = RestartNever }), nil},
		{"restart policy in deployment", validDeployment, dep(func(d *Deployment) { d.Spec.Template.Spec.RestartPolicy = RestartOnFailure }),
			[]want{{"spec.template.spec.restartPolicy", "must use Always"}}},
		{"grace negative", validPod, pod(func(p *Pod) { g := int64(-1); p.Spec.TerminationGracePeriodSeconds = &g }),
			[]want{{"spec.terminationGracePeriodSeconds", "between 0 and 86400, not -1"}}},
		{"grace zero ok", validPod, pod(func(p *Pod) { g := int64(0); p.Spec.TerminationGracePeriodSeconds = &g }), nil},
		{"preStop without exec", validDeployment, dep(func(d *Deployment) { c0(d).Lifecycle = &Lifecycle{PreStop: &LifecycleHandler{}} }),
			[]want{{"spec.template.spec.containers[0].lifecycle.preStop", "exec is required"}}},
		{"preStop empty command", validDeployment, dep(func(d *Deployment) {
			c0(d).Lifecycle = &Lifecycle{PreStop: &LifecycleHandler{Exec: &ExecAction{}}}
		}), []want{{"spec.template.spec.containers[0].lifecycle.preStop.exec.command", "required"}}},
		{"preStop ok", validDeployment, dep(func(d *Deployment) {
			c0(d).Lifecycle = &Lifecycle{PreStop: &LifecycleHandler{Exec: &ExecAction{Command: []string{"sh", "-c", "sleep 1"}}}}
		}), nil},
		{"node name", validPod, pod(func(p *Pod) { p.Spec.NodeName = "Node_1" }),
			[]want{{"spec.nodeName", "invalid name"}}},
		{"node selector", validPod, pod(func(p *Pod) { p.Spec.NodeSelector = map[string]string{"disk": "-ssd"} }),
			[]want{{"spec.nodeSelector[disk]", "invalid label value"}}},
		{"container port range", validDeployment, dep(func(d *Deployment) { c0(d).Ports[0].ContainerPort = 0 }),
			[]want{{"spec.template.spec.containers[0].ports[0].containerPort", "between 1 and 65535"}}},
		{"container port high", validDeployment, dep(func(d *Deployment) { c0(d).Ports[0].ContainerPort = 65536 }),
			[]want{{"spec.template.spec.containers[0].ports[0].containerPort", "not 65536"}}},
		{"host port range", validDeployment, dep(func(d *Deployment) { c0(d).Ports[0].HostPort = -1 }),
			[]want{{"spec.template.spec.containers[0].ports[0].hostPort", "between 0 and 65535"}}},
		{"protocol", validDeployment, dep(func(d *Deployment) { c0(d).Ports[0].Protocol = "tcp" }),
			[]want{{"spec.template.spec.containers[0].ports[0].protocol", `unsupported value "tcp"`}}},
		{"port name", validDeployment, dep(func(d *Deployment) { c0(d).Ports[0].Name = "123" }),
			[]want{{"spec.template.spec.containers[0].ports[0].name", "at least one letter"}}},
		{"port name dashes", validDeployment, dep(func(d *Deployment) { c0(d).Ports[0].Name = "a--b" }),
			[]want{{"spec.template.spec.containers[0].ports[0].name", "invalid port name"}}},
		{"host port twice", validDeployment, dep(func(d *Deployment) {
			d.Spec.Template.Spec.Containers[1].Ports = []ContainerPort{{ContainerPort: 9090, HostPort: 80}}
		}), []want{{"spec.template.spec.containers[1].ports[0].hostPort", "already used by spec.template.spec.containers[0].ports[0]"}}},
		{"same host port other protocol ok", validDeployment, dep(func(d *Deployment) {
			d.Spec.Template.Spec.Containers[1].Ports = []ContainerPort{{ContainerPort: 9090, HostPort: 80, Protocol: ProtocolUDP}}
		}), nil},
		{"host network port mismatch", validPod, pod(func(p *Pod) { p.Spec.Containers[0].Ports[0].HostPort = 5353 }),
			[]want{{"spec.containers[0].ports[0].hostPort", "must equal containerPort 53"}}},
		{"resource name", validDeployment, dep(func(d *Deployment) { c0(d).Resources.Limits["nvidia.com/gpu"] = "1" }),
			[]want{{"spec.template.spec.containers[0].resources.limits[nvidia.com/gpu]", "unsupported resource"}}},
		{"cpu quantity", validDeployment, dep(func(d *Deployment) { c0(d).Resources.Requests["cpu"] = "1 core" }),
			[]want{{"spec.template.spec.containers[0].resources.requests[cpu]", `invalid cpu quantity "1 core"`}}},
		{"memory quantity", validDeployment, dep(func(d *Deployment) { c0(d).Resources.Limits["memory"] = "64MB" }),
			[]want{{"spec.template.spec.containers[0].resources.limits[memory]", `invalid memory quantity "64MB"`}}},
		{"request over limit", validDeployment, dep(func(d *Deployment) { c0(d).Resources.Requests["memory"] = "65Mi" }),
			[]want{{"spec.template.spec.containers[0].resources.requests[memory]", "request 65Mi is more than the limit 64Mi"}}},
		{"request equal to limit in other units ok", validDeployment, dep(func(d *Deployment) { c0(d).Resources.Requests["cpu"] = "1000m" }), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mustDecodeOne(t, "x.yaml", tt.src)
			tt.mutate(d.Object)
			errs := Validate(d)
			if len(errs) != len(tt.want) {
				t.Fatalf("got %d errors %v; want %d", len(errs), errs, len(tt.want))
			}
			for i, w := range tt.want {
				if errs[i].Field != w.field || !strings.Contains(errs[i].Message, w.msg) {
					t.Errorf("error %d = %q; want field %s, message containing %q", i, errs[i].Error(), w.field, w.msg)
				}
			}
		})
	}
}

// TestValidateLines checks that errors point at the line of the offending field, or of the
// nearest written parent when the field is absent.
func TestValidateLines(t *testing.T) {
	src := `apiVersion: apps/v1
kind: Deployment
metadata:
  name: Web
spec:
  replicas: -3
  template:
    metadata:
      labels: {app: web}
    spec:
      restartPolicy: Never
      containers:
        - name: web
          image: busybox
          resources:
            limits:
              cpu: lots
`
	d := mustDecodeOne(t, "deploy/web.yaml", src)
	Default(d.Object)
	assertErrors(t, Validate(d), []string{
		`deploy/web.yaml:4: metadata.name: invalid name "Web": use at most 253 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit`,
		`deploy/web.yaml:6: spec.replicas: must be 0 or more, not -3`,
		`deploy/web.yaml:5: spec.selector.matchLabels: required: apps/v1 needs a selector that matches the template's labels`,
		`deploy/web.yaml:17: spec.template.spec.containers[0].resources.limits[cpu]: invalid cpu quantity "lots": not a number; use cores ("0.5", "2") or millicores ("500m")`,
		`deploy/web.yaml:11: spec.template.spec.restartPolicy: unsupported value "Never": a Deployment's Pods must use Always`,
	})
}

func TestValidateUnknownObject(t *testing.T) {
	n := &Node{TypeMeta: TypeMeta{Kind: KindNode}, Metadata: ObjectMeta{Name: "node-1"}}
	if errs := Validate(Decoded{Object: n, File: "f", Line: 1}); len(errs) != 0 {
		t.Errorf("node: %v", errs)
	}
}
