// Package proxy serves every Service's cluster IP and node ports from the kernel: it programs an
// nftables table of its own that DNATs new connections to a random ready endpoint, as
// kube-proxy's nftables mode does, and changes only what differs from what the table holds.
package proxy
