// Package join lets a host join the cluster with a token: the token format, the HTTPS join
// server that trades a valid token for a certificate signed by the cluster CA, and the client
// that checks the server against the CA the token pins; it writes /gitfleet/tokens/<id>
// (through the store) when it creates a token.
package join
