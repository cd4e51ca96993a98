package store

import (
	"slices"
	"testing"

	"github.com/gitfleet/gitfleet/api"
	"go.etcd.io/etcd/api/v3/authpb"
)

func TestDiffPermissions(t *testing.T) {
	read := func(k string) Permission { return Permission{Key: k, Type: authpb.READ} }
	write := func(k string) Permission { return Permission{Key: k, Type: authpb.WRITE} }
	cm := configMapRead(api.Key{Kind: api.KindConfigMap, Namespace: "default", Name: "app"})
	for _, tt := range []struct {
		name          string
		have, want    []Permission
		keep          func(Permission) bool
		grant, revoke []Permission
	}{
		{name: "equal changes nothing", have: []Permission{read("a"), write("b")}, want: []Permission{write("b"), read("a")}},
		{name: "missing are granted", have: []Permission{read("a")}, want: []Permission{read("a"), write("b")},
			grant: []Permission{write("b")}},
		{name: "extra are revoked", have: []Permission{read("a"), write("b")}, want: []Permission{read("a")},
			revoke: []Permission{write("b")}},
		{name: "a changed type is granted again, not revoked", have: []Permission{read("a")}, want: []Permission{write("a")},
			grant: []Permission{write("a")}},
		{name: "a range differs from its first key", have: []Permission{prefixPerm("a/", authpb.READ)}, want: []Permission{read("a/")},
			grant: []Permission{read("a/")}, revoke: []Permission{prefixPerm("a/", authpb.READ)}},
		{name: "kept extras stay", have: []Permission{cm, write("b")}, want: nil, keep: isConfigMapRead,
			revoke: []Permission{write("b")}},
		{name: "a wanted duplicate is granted once", want: []Permission{read("a"), read("a")}, grant: []Permission{read("a")}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			grant, revoke := diffPermissions(tt.have, tt.want, tt.keep)
			if !slices.Equal(grant, tt.grant) || !slices.Equal(revoke, tt.revoke) {
				t.Errorf("grant %v, revoke %v; want %v, %v", grant, revoke, tt.grant, tt.revoke)
			}
		})
	}
}

// TestPermissionRanges pins the ranges that say "all but the tokens" and "the node's own".
func TestPermissionRanges(t *testing.T) {
	all := readAllButTokens()
	if all[0] != (Permission{"/gitfleet/", "/gitfleet/tokens/", authpb.READ}) ||
		all[1] != (Permission{"/gitfleet/tokens0", "/gitfleet0", authpb.READ}) {
		t.Errorf("all but tokens = %v", all)
	}
	node := nodePermissions("a")
	for _, want := range []Permission{
		{"/gitfleet/nodepods/a/", "/gitfleet/nodepods/a0", authpb.READ},
		{"/gitfleet/podstatus/a/", "/gitfleet/podstatus/a0", authpb.WRITE},
		{"/gitfleet/nodes/a", "", authpb.WRITE},
		{"/gitfleet/nodeleases/a", "", authpb.WRITE},
		{"/gitfleet/desired/Namespace/", "/gitfleet/desired/Namespace0", authpb.READ},
		{"/gitfleet/servicestatus/", "/gitfleet/servicestatus0", authpb.READ},
		{"/gitfleet/events/node:a/", "/gitfleet/events/node:a0", authpb.READWRITE},
	} {
		if !slices.Contains(node, want) {
			t.Errorf("node a lacks %v", want)
		}
	}
	ctl := identityPermissions(UserController)
	for _, want := range []Permission{
		{"/gitfleet/servicestatus/", "/gitfleet/servicestatus0", authpb.WRITE},
		{"/gitfleet/serviceips/", "/gitfleet/serviceips0", authpb.WRITE},
		{"/gitfleet/nodeports/", "/gitfleet/nodeports0", authpb.WRITE},
		{"/gitfleet/leaders/services/", "/gitfleet/leaders/services0", authpb.WRITE},
		{"/gitfleet/replicasets/", "/gitfleet/replicasets0", authpb.WRITE},
		{"/gitfleet/events/controller/", "/gitfleet/events/controller0", authpb.WRITE},
	} {
		if !slices.Contains(ctl, want) {
			t.Errorf("controller lacks %v", want)
		}
	}
	if slices.Contains(identityPermissions(UserScheduler), Permission{"/gitfleet/replicasets/", "/gitfleet/replicasets0", authpb.WRITE}) {
		t.Error("the scheduler may write the template records")
	}
	if sch := identityPermissions(UserScheduler); !slices.Contains(sch, Permission{"/gitfleet/events/scheduler/", "/gitfleet/events/scheduler0", authpb.WRITE}) ||
		slices.Contains(sch, Permission{"/gitfleet/events/controller/", "/gitfleet/events/controller0", authpb.WRITE}) {
		t.Error("the scheduler's events: want its own prefix only")
	}
	cm := configMapRead(api.Key{Kind: api.KindConfigMap, Namespace: "default", Name: "app"})
	if cm != (Permission{"/gitfleet/desired/ConfigMap/default/app", "", authpb.READ}) || !isConfigMapRead(cm) {
		t.Errorf("configmap read = %v", cm)
	}
	if isConfigMapRead(Permission{"/gitfleet/desired/Deployment/default/app", "", authpb.READ}) {
		t.Error("a Deployment read taken for a ConfigMap grant")
	}
}
