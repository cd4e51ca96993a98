package api

// ClusterDomain is the DNS domain of the cluster's names: a Service is
// NAME.NAMESPACE.svc.ClusterDomain, as in Kubernetes; the node's DNS serves it and Pods search it.
const ClusterDomain = "cluster.local"
