package api

import "testing"

// runtimePod uses every Pod field of the node runtime, as manifests from the Kubernetes
// documentation write them.
const runtimePod = `apiVersion: v1
kind: Pod
metadata: {name: app}
spec:
  volumes:
    - name: scratch
      emptyDir: {}
    - name: cache
      emptyDir: {medium: Memory, sizeLimit: 64Mi}
  initContainers:
    - name: init
      image: busybox:1.36
      command: [sh, -c, "echo ready > /work/flag"]
      volumeMounts: [{name: scratch, mountPath: /work}]
    - name: proxy
      image: busybox:1.36
      restartPolicy: Always
  containers:
    - name: main
      image: acme/app:1
      imagePullPolicy: IfNotPresent
      workingDir: /work
      terminationMessagePath: /tmp/done
      securityContext:
        runAsUser: 1000
        runAsGroup: 3000
        readOnlyRootFilesystem: true
        allowPrivilegeEscalation: false
        capabilities: {drop: [ALL]}
      volumeMounts: [{name: scratch, mountPath: /work}, {name: cache, mountPath: /cache}]
`

func TestValidateRuntimeFields(t *testing.T) {
	d := mustDecodeOne(t, "pod.yaml", runtimePod)
	if errs := Validate(d); len(errs) > 0 {
		t.Fatalf("valid pod: %v", errs)
	}
	bad := `apiVersion: v1
kind: Pod
metadata: {name: app}
spec:
  volumes:
    - name: tmp
      emptyDir: {medium: HugePages, sizeLimit: lots}
  initContainers:
    - name: main
      image: busybox
      restartPolicy: OnFailure
      ports: [{containerPort: 80}]
  containers:
    - name: main
      image: busybox
      restartPolicy: Always
      workingDir: work
      terminationMessagePath: log
      securityContext:
        runAsUser: -1
        capabilities: {drop: [net_raw]}
`
	assertErrors(t, Validate(mustDecodeOne(t, "pod.yaml", bad)), []string{
		`pod.yaml:7: spec.volumes[0].emptyDir.medium: unsupported value "HugePages": use Memory, or leave it out for the node's disk`,
		`pod.yaml:7: spec.volumes[0].emptyDir.sizeLimit: invalid memory quantity "lots": not a number; use bytes ("1000000") or a suffix k, M, G, T, P, Ki, Mi, Gi, Ti, Pi ("64Mi")`,
		`pod.yaml:17: spec.containers[0].workingDir: must be an absolute path, not "work"`,
		`pod.yaml:18: spec.containers[0].terminationMessagePath: must be an absolute path, not "log"`,
		`pod.yaml:20: spec.containers[0].securityContext.runAsUser: must be between 0 and 4294967294, not -1`,
		`pod.yaml:21: spec.containers[0].securityContext.capabilities.drop[0]: invalid capability "net_raw": write it as NET_RAW, or ALL`,
		`pod.yaml:9: spec.initContainers[0].name: duplicate container name "main"; containers[0] has it too`,
		`pod.yaml:12: spec.initContainers[0].ports: not supported on init containers: only the containers' ports are mapped`,
		`pod.yaml:11: spec.initContainers[0].restartPolicy: unsupported value "OnFailure": an init container may only have Always (a sidecar)`,
		`pod.yaml:16: spec.containers[0].restartPolicy: only init containers may set a restartPolicy; the Pod's applies`,
	})
}
