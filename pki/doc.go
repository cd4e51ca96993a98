// Package pki owns the cluster's certificate authority and the key pairs in DATA_DIR/pki (ca.*,
// server.*, client.*): it creates the CA, issues server and client certificates, hashes the CA
// as kubeadm's ca-cert-hash does, and builds TLS configurations from those files; it writes no
// etcd keys.
package pki
