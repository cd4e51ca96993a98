package endpoints

import (
	"context"
	"sync"

	"github.com/gitfleet/gitfleet/api"
	"github.com/gitfleet/gitfleet/store"
)

// caches hold what a pass reads, each listed once and then fed by its watch: the desired
// Services alone (see store.DesiredKindSource), their allocations, the Pods, their statuses,
// the nodes (a Pod on a node that is not Ready is not ready) and the records themselves (a
// record changed or deleted behind the controller's back is written again).
type caches struct {
	services  *store.Cache[store.DesiredEntry]
	statuses  *store.Cache[api.ServiceStatus]
	pods      *store.Cache[api.Pod]
	podStatus *store.Cache[api.PodStatus]
	nodes     *store.NodeCache
	records   *store.Cache[api.Endpoints]
}

func newCaches(src Store, opts store.CacheOptions) caches {
	return caches{
		services:  store.NewCache(src.DesiredKindSource(api.KindService), store.Desired, store.DecodeDesiredEntry, opts),
		statuses:  store.NewCache(src, store.ServiceStatus, store.DecodeJSON[api.ServiceStatus], opts),
		pods:      store.NewCache(src, store.Pods, store.DecodeJSON[api.Pod], opts),
		podStatus: store.NewCache(src, store.PodStatus, store.DecodeJSON[api.PodStatus], opts),
		nodes:     store.NewNodeCache(src, opts),
		records:   store.NewCache(src, store.Endpoints, store.DecodeJSON[api.Endpoints], opts),
	}
}

// run runs every cache until ctx ends.
func (cs caches) run(ctx context.Context, onChange func()) {
	var wg sync.WaitGroup
	wg.Go(func() { cs.services.Run(ctx, onChange) })
	wg.Go(func() { cs.statuses.Run(ctx, onChange) })
	wg.Go(func() { cs.pods.Run(ctx, onChange) })
	wg.Go(func() { cs.podStatus.Run(ctx, onChange) })
	wg.Go(func() { cs.nodes.Run(ctx, onChange) })
	wg.Go(func() { cs.records.Run(ctx, onChange) })
	wg.Wait()
}

// waitSynced waits for the first list of every cache: a pass before would delete the records
// of Services it has not read yet. It fails only when ctx ends first.
func (cs caches) waitSynced(ctx context.Context) error {
	for _, wait := range []func(context.Context) error{cs.services.WaitSynced, cs.statuses.WaitSynced,
		cs.pods.WaitSynced, cs.podStatus.WaitSynced, cs.nodes.WaitSynced, cs.records.WaitSynced} {
		if err := wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

// want is what the caches say every record should be (see Compute).
func (cs caches) want() map[string]*api.Endpoints {
	services := map[string]*api.Service{}
	for _, it := range cs.services.List() {
		k := it.Value.Key
		svc, _ := it.Value.Object.(*api.Service) // nil when it does not decode: kept as stored
		services[k.Namespace+"/"+k.Name] = svc
	}
	statuses := map[string]api.ServiceStatus{}
	for _, it := range cs.statuses.List() {
		statuses[it.Name] = it.Value
	}
	pods := cs.pods.List()
	merged := store.MergeStatuses(pods, store.BoundStatuses(pods, cs.podStatus.List()), store.ReadyNodes(cs.nodes.List()))
	return Compute(services, statuses, merged)
}
