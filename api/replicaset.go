package api

// ReplicaSet is the workload controller's record of one template of a Deployment, as a
// Kubernetes ReplicaSet is: one per (Deployment, pod-template-hash), numbered by revision in
// the order the templates were first (or again) current. History and rollback read what ran
// from it; a Pod belongs to the record whose TemplateHash its pod-template-hash label names.
type ReplicaSet struct {
	// Namespace and Deployment name the Deployment; Name is "<deployment>-<templateHash>", the
	// prefix of its Pods' names.
	Namespace  string `json:"namespace"`
	Deployment string `json:"deployment"`
	Name       string `json:"name"`
	// TemplateHash is the pod-template-hash of its Pods (workload.DeploymentHash).
	TemplateHash string `json:"templateHash"`
	// Revision numbers the templates of a Deployment from 1; a template that becomes current
	// again takes the next number, as in Kubernetes.
	Revision int64 `json:"revision"`
	// Commit is the commit the template was applied from, when it was first recorded.
	Commit string `json:"commit,omitempty"`
	// ConfigHash is the hash of the ConfigMap data the Pods read ("" for none).
	ConfigHash string `json:"configHash,omitempty"`
	// Template is the Pod template, so that its Pods can be made again (scaling a paused
	// rollout) and history shows what ran.
	Template PodTemplateSpec `json:"template"`
	// Replicas is how many Pods of this template the rollout wants now: the Deployment's
	// replicas once it is complete, 0 for an old template that is scaled down.
	Replicas int `json:"replicas"`
	// Created is the RFC 3339 time the record was made.
	Created string `json:"created"`
}
