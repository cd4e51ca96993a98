package api

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// objectTypes parses this package's source and returns the name of every type with a
// GetTypeMeta method: every Object type, whether or not anyone remembered to list it.
func objectTypes(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	out := map[string]bool{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || fn.Name.Name != "GetTypeMeta" {
				continue
			}
			if star, ok := fn.Recv.List[0].Type.(*ast.StarExpr); ok {
				out[star.X.(*ast.Ident).Name] = true
			}
		}
	}
	return out
}

func TestEveryObjectTypeHasAKindEntry(t *testing.T) {
	types := objectTypes(t)
	if len(types) < 5 {
		t.Fatalf("found only %d Object types: %v", len(types), types)
	}
	entries := map[string]KindInfo{}
	for _, k := range Kinds() {
		entries[reflect.TypeOf(k.New()).Elem().Name()] = k
	}
	for name := range types {
		if _, ok := entries[name]; !ok {
			t.Errorf("type %s implements Object but has no entry in the kinds table (kinds.go)", name)
		}
	}
}

func TestKindEntriesAreComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range Kinds() {
		name := reflect.TypeOf(k.New()).Elem().Name()
		switch {
		case k.Kind != name:
			t.Errorf("entry %s makes a %s", k.Kind, name)
		case seen[k.Kind]:
			t.Errorf("kind %s has two entries", k.Kind)
		case k.APIVersion == "":
			t.Errorf("kind %s has no apiVersion", k.Kind)
		case k.validate == nil:
			t.Errorf("kind %s has no validation", k.Kind)
		case k.Health == 0:
			t.Errorf("kind %s does not say how its health is judged", k.Kind)
		case k.Manifest && k.Health == HealthNotJudged:
			t.Errorf("kind %s is declared in git but its health is never judged", k.Kind)
		case (k.PodSpec != nil) != (k.Health == HealthByReplicas || k.Health == HealthByPod):
			t.Errorf("kind %s: a kind makes Pods exactly when its health is judged by them", k.Kind)
		}
		if _, ok := k.New().(interface{ ReplicaCount() int }); ok != (k.Health == HealthByReplicas) {
			t.Errorf("kind %s: health by replicas needs a ReplicaCount method, and only it", k.Kind)
		}
		if _, ok := k.New().(interface{ Selects(*Pod) bool }); ok != (k.Health == HealthByEndpoints) {
			t.Errorf("kind %s: health by endpoints needs a Selects method, and only it", k.Kind)
		}
		seen[k.Kind] = true
		if info, ok := KindOf(k.New()); !ok || info.Kind != k.Kind {
			t.Errorf("KindOf(new %s) = %v, %v", k.Kind, info.Kind, ok)
		}
	}
}

func TestApplyRankOrdersNamespacesConfigWorkloads(t *testing.T) {
	order := []string{KindNamespace, KindConfigMap, KindDeployment}
	for i := 1; i < len(order); i++ {
		if ApplyRank(order[i-1]) >= ApplyRank(order[i]) {
			t.Errorf("%s must be applied before %s", order[i-1], order[i])
		}
	}
	if ApplyRank(KindDeployment) != ApplyRank(KindPod) {
		t.Error("Deployments and Pods share a rank")
	}
	if ApplyRank("Unknown") <= ApplyRank(KindNode) {
		t.Error("an unknown kind goes last")
	}
}

func TestPodSpecOf(t *testing.T) {
	d := &Deployment{Spec: DeploymentSpec{Template: PodTemplateSpec{Spec: PodSpec{NodeName: "n"}}}}
	if s := PodSpecOf(d); s == nil || s.NodeName != "n" {
		t.Errorf("PodSpecOf(deployment) = %v", s)
	}
	if s := PodSpecOf(&ConfigMap{}); s != nil {
		t.Errorf("PodSpecOf(configmap) = %v, want nil", s)
	}
}
