# Convenience targets; the README's two commands are the scripts these call.
.PHONY: build test bench

build:
	go build -o bin/gitfleet ./cmd/gitfleet

test:
	./scripts/test.sh

# Time from `git push` to all Pods Running for the example, end to end with the real parts
# (polling 5s, 200ms, and the push hook; then 50 replicas through the hook), then a sync of
# 10,000 objects (full and one file),
# then the time from a node's loss to its Pods Running elsewhere on three hosts.
bench:
	./scripts/deps.sh
	go test -run '^$$' -bench BenchmarkPushToRunning -benchtime 5x -count 1 ./cmd/gitfleet/
	go test -run '^$$' -bench BenchmarkSyncLarge -benchtime 3x -count 1 ./reconciler/
	go test -run '^$$' -bench BenchmarkNodeLoss -benchtime 5x -count 1 ./cmd/gitfleet/
