// Package leader elects one leader per role among the processes that run it, through etcd, and
// runs the role's loop only while elected, with the fence that makes its writes fail once it
// is not.
package leader
