// Package endpoints is the endpoints controller of the control plane: it keeps, for every
// Service, the record /gitfleet/endpoints/<namespace>/<name> (api.Endpoints) of its addresses,
// ports and the Pods its selector matches with whether each is ready, which every node's proxy
// and DNS read.
package endpoints
