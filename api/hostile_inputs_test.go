package api

import (
	"fmt"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
	"time"
)

// hostileInput is a manifest file built to exhaust the decoder: the tester's findings, kept
// small in the source and built in memory.
type hostileInput struct {
	name, file string
	data       func() []byte
}

// aliasPod is a Pod whose containers each take their args from one list through an alias: a
// 49 KB file that expands to containers × items strings.
func aliasPod(docs, containers, items int) []byte {
	var b strings.Builder
	for range docs {
		b.WriteString("---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n")
		b.WriteString("  - name: c0\n    image: x\n    args: &a\n")
		b.WriteString(strings.Repeat("    - \"\"\n", items))
		for i := 1; i < containers; i++ {
			fmt.Fprintf(&b, "  - {name: c%d, image: x, args: *a}\n", i)
		}
	}
	return []byte(b.String())
}

// widePod is the most nodes an alias-free file of about size bytes can hold: a Pod with one
// container whose args are one-letter strings. It is honest input and must stay cheap.
func widePod(size int) []byte {
	head := "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: x\n    args: ["
	n := (size - len(head) - 4) / 2
	return []byte(head + strings.Repeat("a,", n) + "a]\n")
}

var hostileInputs = []hostileInput{
	{"alias-1000x4000", "pod.yaml", func() []byte { return aliasPod(1, 1000, 4000) }},
	{"alias-2docs", "pod.yaml", func() []byte { return aliasPod(2, 1000, 4000) }},
	{"deep-json", "deep.json", func() []byte { return []byte(strings.Repeat("[", 1_000_000)) }},
	{"deep-yaml", "deep.yaml", func() []byte { return []byte(strings.Repeat("[", 1_000_000)) }},
	{"wide-1MiB", "wide.yaml", func() []byte { return widePod(MaxFileBytes - 16) }},
}

// cost is what one LoadSet of a hostile input took.
type cost struct {
	elapsed time.Duration
	// alloc is every byte allocated; peak the most heap in use at once (sampled each ms).
	alloc, peak uint64
}

// measure loads data as LoadSet would and returns what it cost.
func measure(file string, data []byte) (cost, []FieldError) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	done := make(chan struct{})
	peak := make(chan uint64)
	go samplePeak(done, peak)
	start := time.Now()
	_, errs := LoadSet(map[string][]byte{file: data})
	c := cost{elapsed: time.Since(start)}
	close(done)
	c.peak = <-peak
	runtime.ReadMemStats(&after)
	c.alloc = after.TotalAlloc - before.TotalAlloc
	return c, errs
}

// samplePeak sends the largest heap it saw, sampling each millisecond until done closes.
func samplePeak(done <-chan struct{}, peak chan<- uint64) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var most uint64
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		metrics.Read(s)
		most = max(most, s[0].Value.Uint64())
		select {
		case <-done:
			peak <- most
			return
		case <-tick.C:
		}
	}
}

// BenchmarkHostile prints the time and memory each hostile input costs:
// go test -run '^$' -bench BenchmarkHostile ./api/
func BenchmarkHostile(b *testing.B) {
	for _, in := range hostileInputs {
		b.Run(in.name, func(b *testing.B) {
			data := in.data()
			var c cost
			for range b.N {
				c, _ = measure(in.file, data)
			}
			b.ReportMetric(float64(c.elapsed.Milliseconds()), "ms")
			b.ReportMetric(float64(c.alloc)/(1<<20), "MB-alloc")
			b.ReportMetric(float64(c.peak)/(1<<20), "MB-peak")
			b.ReportMetric(float64(len(data))/1024, "KB-input")
		})
	}
}
