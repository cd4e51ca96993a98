package api

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
)

const validService = `apiVersion: v1
kind: Service
metadata:
  name: web
  labels: {app: web}
spec:
  type: NodePort
  selector: {app: web}
  clusterIP: 10.96.0.10
  ports:
    - name: http
      port: 80
      targetPort: 8080
      nodePort: 30080
    - name: dns
      port: 53
      protocol: UDP
      targetPort: dns
`

func TestServiceDecodeAndDefault(t *testing.T) {
	d := mustDecodeOne(t, "svc.yaml", validService)
	if errs := Validate(d); len(errs) > 0 {
		t.Fatalf("valid service: %v", errs)
	}
	s := d.Object.(*Service)
	if s.Spec.Ports[0].TargetPort != FromInt(8080) || s.Spec.Ports[1].TargetPort != FromString("dns") {
		t.Errorf("target ports = %+v", s.Spec.Ports)
	}
	bare := mustDecodeOne(t, "min.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports: [{port: 80}]\n")
	Default(bare.Object)
	b, err := json.Marshal(bare.Object)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"apiVersion":"v1","kind":"Service","metadata":{"name":"a","namespace":"default"},"spec":{"type":"ClusterIP","ports":[{"protocol":"TCP","port":80,"targetPort":80}]}}`
	if string(b) != want {
		t.Errorf("defaulted:\n%s\nwant\n%s", b, want)
	}
	if errs := Validate(bare); len(errs) > 0 {
		t.Errorf("defaulted service: %v", errs)
	}
	back := &Service{}
	if err := json.Unmarshal(b, back); err != nil || back.Spec.Ports[0].TargetPort != FromInt(80) {
		t.Errorf("round trip = %+v, %v", back.Spec.Ports, err)
	}
}

func TestServiceDecodeErrors(t *testing.T) {
	for _, tt := range []struct{ src, want string }{
		{"  ports: [{port: 80, targetPort: 1.5}]\n", "s.yaml:5: spec.ports[0].targetPort: expected an integer or a string, got number 1.5"},
		{"  ports: [{port: 80, targetPort: {a: 1}}]\n", "s.yaml:5: spec.ports[0].targetPort: expected an integer or a string, got an object"},
		{"  ports: [{port: \"80\"}]\n", `s.yaml:5: spec.ports[0].port: expected an integer, got string "80"`},
		{"  ports: [{port: 80, targetport: 8080}]\n", `s.yaml:5: spec.ports[0].targetport: unknown field; did you mean "targetPort"?`},
		{"  externalName: x\n", "s.yaml:5: spec.externalName: unknown field"},
		{"  ports: [{port: 80}]\nstatus: {}\n", "s.yaml:6: status: status is observed by the services controller and cannot be set in a manifest"},
	} {
		_, errs := Decode("s.yaml", []byte("apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n"+tt.src))
		assertErrors(t, errs, []string{tt.want})
	}
}

func TestServiceValidate(t *testing.T) {
	svc := func(f func(*ServiceSpec)) string {
		s := &Service{TypeMeta: TypeMeta{APIVersion: "v1", Kind: KindService}, Metadata: ObjectMeta{Name: "a"},
			Spec: ServiceSpec{Ports: []ServicePort{{Port: 80}}}}
		f(&s.Spec)
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	two := []ServicePort{{Name: "a", Port: 80}, {Name: "b", Port: 81}}
	for _, tt := range []struct {
		name string
		spec func(*ServiceSpec)
		want []string // field: message
	}{
		{"minimal", func(*ServiceSpec) {}, nil},
		{"type", func(s *ServiceSpec) { s.Type = "LoadBalancer" },
			[]string{`spec.type: unsupported value "LoadBalancer": use ClusterIP or NodePort`}},
		{"no ports", func(s *ServiceSpec) { s.Ports = nil },
			[]string{"spec.ports: at least one port is required (only a headless Service, clusterIP: None, may have none)"}},
		{"headless without ports", func(s *ServiceSpec) { s.Ports, s.ClusterIP = nil, ClusterIPNone }, nil},
		{"port range", func(s *ServiceSpec) { s.Ports[0].Port = 65536 },
			[]string{"spec.ports[0].port: must be between 1 and 65535, not 65536"}},
		{"port zero", func(s *ServiceSpec) { s.Ports[0].Port = 0 },
			[]string{"spec.ports[0].port: must be between 1 and 65535, not 0"}},
		{"protocol", func(s *ServiceSpec) { s.Ports[0].Protocol = "SCTP" },
			[]string{`spec.ports[0].protocol: unsupported value "SCTP": use TCP or UDP`}},
		{"names required with two ports", func(s *ServiceSpec) { s.Ports = []ServicePort{{Port: 80}, {Name: "b", Port: 81}} },
			[]string{"spec.ports[0].name: required when the Service has more than one port"}},
		{"names unique", func(s *ServiceSpec) { s.Ports = []ServicePort{{Name: "a", Port: 80}, {Name: "a", Port: 81}} },
			[]string{`spec.ports[1].name: duplicate port name "a"; ports[0] has it too`}},
		{"name is a DNS label", func(s *ServiceSpec) { s.Ports[0].Name = "Web_1" },
			[]string{`spec.ports[0].name: invalid name "Web_1": use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit`}},
		{"port and protocol unique", func(s *ServiceSpec) {
			s.Ports = []ServicePort{{Name: "a", Port: 80}, {Name: "b", Port: 80, Protocol: "TCP"}}
		},
			[]string{"spec.ports[1].port: duplicate port 80/TCP; ports[0] has it too"}},
		{"one port over TCP and UDP", func(s *ServiceSpec) {
			s.Ports = []ServicePort{{Name: "a", Port: 53}, {Name: "b", Port: 53, Protocol: "UDP"}}
		}, nil},
		{"target port number", func(s *ServiceSpec) { s.Ports[0].TargetPort = FromInt(70000) },
			[]string{"spec.ports[0].targetPort: must be between 1 and 65535, not 70000"}},
		{"target port name", func(s *ServiceSpec) { s.Ports[0].TargetPort = FromString("http-metrics-long") },
			[]string{`spec.ports[0].targetPort: invalid port name "http-metrics-long": use at most 15 lowercase letters, digits and '-', with at least one letter and no "--"`}},
		{"target port name without a letter", func(s *ServiceSpec) { s.Ports[0].TargetPort = FromString("8080") },
			[]string{`spec.ports[0].targetPort: invalid port name "8080": use at most 15 lowercase letters, digits and '-', with at least one letter and no "--"`}},
		{"node port needs type NodePort", func(s *ServiceSpec) { s.Ports[0].NodePort = 30080 },
			[]string{"spec.ports[0].nodePort: may only be set when type is NodePort"}},
		{"node port range", func(s *ServiceSpec) { s.Type, s.Ports[0].NodePort = ServiceTypeNodePort, 8080 },
			[]string{"spec.ports[0].nodePort: must be between 30000 and 32767, not 8080"}},
		{"node port unique", func(s *ServiceSpec) {
			s.Type, s.Ports = ServiceTypeNodePort, []ServicePort{{Name: "a", Port: 80, NodePort: 30001}, {Name: "b", Port: 81, NodePort: 30001}}
		}, []string{"spec.ports[1].nodePort: duplicate node port 30001/TCP; ports[0] has it too"}},
		{"headless NodePort", func(s *ServiceSpec) { s.Type, s.ClusterIP = ServiceTypeNodePort, ClusterIPNone },
			[]string{"spec.clusterIP: may not be None when type is NodePort: a headless Service has no address to forward from"}},
		{"cluster IP", func(s *ServiceSpec) { s.ClusterIP = "10.96.0.300" },
			[]string{`spec.clusterIP: invalid address "10.96.0.300": use an IPv4 address, None for a headless Service, or leave it out to have one allocated`}},
		{"cluster IP v6", func(s *ServiceSpec) { s.ClusterIP = "fd00::1" },
			[]string{`spec.clusterIP: invalid address "fd00::1": use an IPv4 address, None for a headless Service, or leave it out to have one allocated`}},
		{"cluster IP none lowercase", func(s *ServiceSpec) { s.ClusterIP = "none" },
			[]string{`spec.clusterIP: invalid address "none": use an IPv4 address, None for a headless Service, or leave it out to have one allocated`}},
		{"selector", func(s *ServiceSpec) { s.Selector = map[string]string{"app": "a b"} },
			[]string{`spec.selector[app]: invalid label value "a b": use at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`}},
		{"two named ports", func(s *ServiceSpec) { s.Ports = two }, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := mustDecodeOne(t, "s.json", svc(tt.spec))
			var got []string
			for _, e := range Validate(d) {
				got = append(got, e.Field+": "+e.Message)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestValidateSetServiceClaims(t *testing.T) {
	svc := func(name, extra string) string {
		return "apiVersion: v1\nkind: Service\nmetadata:\n  name: " + name + "\nspec:\n  type: NodePort\n" + extra
	}
	a := mustDecodeOne(t, "a.yaml", svc("a", "  clusterIP: 10.96.0.10\n  ports:\n    - {name: p, port: 80, nodePort: 30080}\n    - {name: q, port: 80, protocol: UDP, nodePort: 30080}\n"))
	b := mustDecodeOne(t, "b.yaml", svc("b", "  clusterIP: 10.96.0.10\n  ports:\n    - {name: p, port: 81, nodePort: 30081}\n    - {name: q, port: 82, nodePort: 30080}\n"))
	c := mustDecodeOne(t, "c.yaml", svc("c", "  clusterIP: 10.96.0.11\n  ports: [{port: 80}]\n"))
	assertErrors(t, ValidateSet([]Decoded{a, b, c}), []string{
		"b.yaml:7: spec.clusterIP: clusterIP 10.96.0.10 is already used by Service default/a at a.yaml:7",
		"b.yaml:10: spec.ports[1].nodePort: nodePort 30080 is already used by Service default/a at a.yaml:9",
	})
	if errs := ValidateSet([]Decoded{a, c}); len(errs) != 0 {
		t.Errorf("distinct claims: %v", errs)
	}
}

// TestValidateSetServiceCIDR refuses, whole-commit, a clusterIP the service CIDR cannot give.
func TestValidateSetServiceCIDR(t *testing.T) {
	svc := func(ip string) Decoded {
		return mustDecodeOne(t, "s.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  clusterIP: "+ip+"\n  ports: [{port: 80}]\n")
	}
	small := Rules{ServiceCIDR: netip.MustParsePrefix("10.0.0.0/24")}
	tests := []struct {
		name  string
		rules Rules
		ip    string
		want  []string
	}{
		{"inside the default", Rules{}, "10.96.3.4", nil},
		{"outside the default", Rules{}, "10.0.0.7",
			[]string{"s.yaml:6: spec.clusterIP: clusterIP 10.0.0.7 is outside the service CIDR 10.96.0.0/16 (up --service-cidr): leave it out to have one allocated"}},
		{"inside a configured one", small, "10.0.0.7", nil},
		{"outside a configured one", small, "10.96.3.4",
			[]string{"s.yaml:6: spec.clusterIP: clusterIP 10.96.3.4 is outside the service CIDR 10.0.0.0/24 (up --service-cidr): leave it out to have one allocated"}},
		{"network address", small, "10.0.0.0",
			[]string{"s.yaml:6: spec.clusterIP: clusterIP 10.0.0.0 is the network address of the service CIDR 10.0.0.0/24: no Service can have it"}},
		{"broadcast address", small, "10.0.0.255",
			[]string{"s.yaml:6: spec.clusterIP: clusterIP 10.0.0.255 is the broadcast address of the service CIDR 10.0.0.0/24: no Service can have it"}},
		{"headless", small, "None", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertErrors(t, tt.rules.ValidateSet([]Decoded{svc(tt.ip)}), tt.want)
		})
	}
}
