// Package services is the services controller of the control plane: it gives each Service a
// virtual IP out of the service CIDR and each NodePort Service its node ports, never one
// address or port to two Services, and takes them back when the Service is deleted. It writes
// /gitfleet/servicestatus/<namespace>/<name> and the ledgers /gitfleet/serviceips/<ip> and
// /gitfleet/nodeports/<port>.
package services
