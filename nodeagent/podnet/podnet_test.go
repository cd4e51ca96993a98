package podnet

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	gocni "github.com/containerd/go-cni"

	"github.com/gitfleet/gitfleet/api"
)

func TestConfList(t *testing.T) {
	cfg := Config{}
	cfg.setDefaults("/data/cni")
	b, err := confList(cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := confList(cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	var conf struct {
		CNIVersion string `json:"cniVersion"`
		Plugins    []struct {
			Type         string          `json:"type"`
			Bridge       string          `json:"bridge"`
			IsGateway    bool            `json:"isGateway"`
			IPMasq       bool            `json:"ipMasq"`
			Capabilities map[string]bool `json:"capabilities"`
			IPAM         struct {
				Type    string                `json:"type"`
				Ranges  [][]map[string]string `json:"ranges"`
				DataDir string                `json:"dataDir"`
			} `json:"ipam"`
		} `json:"plugins"`
	}
	if err := json.Unmarshal(b, &conf); err != nil {
		t.Fatal(err)
	}
	br, pm := conf.Plugins[0], conf.Plugins[1]
	if br.Type != "bridge" || br.Bridge != "gitfleet0" || !br.IsGateway || br.IPMasq ||
		br.IPAM.Type != "host-local" || br.IPAM.Ranges[0][0]["subnet"] != "10.244.0.0/24" || br.IPAM.DataDir != "/data/cni" {
		t.Errorf("bridge plugin %+v", br)
	}
	if pm.Type != "portmap" || !pm.Capabilities["portMappings"] {
		t.Errorf("portmap plugin %+v", pm)
	}
	conf.Plugins = nil
	if err := json.Unmarshal(plain, &conf); err != nil {
		t.Fatal(err)
	}
	if len(conf.Plugins) != 1 || !reflect.DeepEqual(conf.Plugins[0], br) {
		t.Errorf("the chain without portmap has %+v, want the bridge alone", conf.Plugins)
	}
}

func TestPortMappings(t *testing.T) {
	p := &api.Pod{Spec: api.PodSpec{Containers: []api.Container{{Name: "a"}, {Name: "b"}}}}
	p.Spec.Containers[0].Ports = []api.ContainerPort{{ContainerPort: 80, HostPort: 8080}, {ContainerPort: 81}}
	p.Spec.Containers[1].Ports = []api.ContainerPort{{ContainerPort: 53, HostPort: 5353, Protocol: "UDP"}}
	want := []gocni.PortMapping{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}, {HostPort: 5353, ContainerPort: 53, Protocol: "udp"}}
	if got := portMappings(p); !slices.Equal(got, want) {
		t.Errorf("portMappings = %+v", got)
	}
}
