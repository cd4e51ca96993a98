package api

import (
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strings"
)

// decimal is the number part of a quantity: digits with an optional fraction, no sign, no
// exponent. Kubernetes accepts more forms; gitfleet takes the ones people write.
var decimal = regexp.MustCompile(`^([0-9]+(\.[0-9]*)?|\.[0-9]+)$`)

// memorySuffixes are the binary and decimal multipliers Kubernetes understands for bytes.
var memorySuffixes = []struct {
	suffix string
	mult   int64
}{
	// Two-letter suffixes first, so "Mi" is not read as "M" followed by junk.
	{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40}, {"Pi", 1 << 50},
	{"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"P", 1e15},
}

// ParseCPU parses a CPU quantity into millicores: "100m" is 100, "0.5" is 500, "2" is 2000.
// Fractions of a millicore round up, as in Kubernetes, so a positive request never becomes 0.
func ParseCPU(s string) (int64, error) {
	num, mult := s, int64(1000)
	if n, ok := strings.CutSuffix(s, "m"); ok {
		num, mult = n, 1
	}
	v, err := scale(num, mult)
	if err != nil {
		return 0, fmt.Errorf("invalid cpu quantity %q: %v; use cores (\"0.5\", \"2\") or millicores (\"500m\")", s, err)
	}
	return v, nil
}

// ParseMemory parses a memory quantity into bytes: "64Mi", "1Gi", "128M", "1000", "1.5Gi".
// Fractions of a byte round up.
func ParseMemory(s string) (int64, error) {
	num, mult := s, int64(1)
	for _, m := range memorySuffixes {
		if n, ok := strings.CutSuffix(s, m.suffix); ok {
			num, mult = n, m.mult
			break
		}
	}
	v, err := scale(num, mult)
	if err != nil {
		return 0, fmt.Errorf("invalid memory quantity %q: %v; use bytes (\"1000000\") or a suffix k, M, G, T, P, Ki, Mi, Gi, Ti, Pi (\"64Mi\")", s, err)
	}
	return v, nil
}

// scale returns ceil(num * mult), exactly: big.Rat keeps "0.1" from becoming 0.09999.
func scale(num string, mult int64) (int64, error) {
	if strings.HasPrefix(num, "-") {
		return 0, errors.New("must not be negative")
	}
	// Match before SetString: it also reads exponents, and "1e999999999" would take forever.
	if !decimal.MatchString(num) {
		return 0, errors.New("not a number")
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return 0, errors.New("not a number")
	}
	r.Mul(r, new(big.Rat).SetInt64(mult))
	q, rem := new(big.Int).QuoRem(r.Num(), r.Denom(), new(big.Int))
	if rem.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	if !q.IsInt64() {
		return 0, errors.New("too large")
	}
	return q.Int64(), nil
}

// CPUMilli returns the list's cpu quantity in millicores, 0 when unset or invalid.
func (r ResourceList) CPUMilli() int64 {
	v, _ := ParseCPU(r[ResourceCPU])
	return v
}

// MemoryBytes returns the list's memory quantity in bytes, 0 when unset or invalid.
func (r ResourceList) MemoryBytes() int64 {
	v, _ := ParseMemory(r[ResourceMemory])
	return v
}

// PodRequests sums what the Pod's containers request, which is what the scheduler fits onto a
// node. As in Kubernetes, a container that sets a limit but no request for a resource requests
// its limit, and init containers count as they run: sidecars with everything after them, each
// regular one with the sidecars started before it, the Pod needing the most of any moment.
func PodRequests(spec *PodSpec) (cpuMilli, memBytes int64) {
	var sideCPU, sideMem int64
	for _, c := range spec.InitContainers {
		cpu := requestOf(c.Resources, ResourceCPU, ResourceList.CPUMilli)
		mem := requestOf(c.Resources, ResourceMemory, ResourceList.MemoryBytes)
		if c.IsSidecar() {
			sideCPU, sideMem = sideCPU+cpu, sideMem+mem
			cpu, mem = 0, 0
		}
		cpuMilli, memBytes = max(cpuMilli, sideCPU+cpu), max(memBytes, sideMem+mem)
	}
	appCPU, appMem := sideCPU, sideMem
	for _, c := range spec.Containers {
		appCPU += requestOf(c.Resources, ResourceCPU, ResourceList.CPUMilli)
		appMem += requestOf(c.Resources, ResourceMemory, ResourceList.MemoryBytes)
	}
	return max(cpuMilli, appCPU), max(memBytes, appMem)
}

func requestOf(r ResourceRequirements, name string, get func(ResourceList) int64) int64 {
	if _, ok := r.Requests[name]; ok {
		return get(r.Requests)
	}
	return get(r.Limits)
}
