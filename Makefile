# Parley. `make run` starts the stack, `make test` runs every test.
.PHONY: run test build demo bench fuzz clean

build:
	go build -o bin/ ./cmd/...

run:
	bash scripts/run.sh

test:
	bash scripts/test.sh

# Benchmarks beside their ceilings (quick profile; LONG=1 for the long one);
# results go to docs/BENCHMARKS.md and docs/bench/chart.png.
bench:
	bash scripts/bench.sh

# A few threads through the running stack's public API.
demo:
	go run ./cmd/demo

# Fuzz the free-form parsers for a while each (FUZZTIME=30s by default).
FUZZTIME ?= 30s
fuzz:
	go test -run XXX -fuzz FuzzParsePath -fuzztime $(FUZZTIME) ./internal/comment/
	go test -run XXX -fuzz FuzzDecodeJSON -fuzztime $(FUZZTIME) ./internal/httpx/
	go test -run XXX -fuzz FuzzParseTime -fuzztime $(FUZZTIME) ./internal/reader/
	go test -run XXX -fuzz FuzzAppendString -fuzztime $(FUZZTIME) ./internal/reader/topictree/
	go test -run XXX -fuzz FuzzVerify -fuzztime $(FUZZTIME) ./internal/auth/
	go test -run XXX -fuzz FuzzParseNotification -fuzztime $(FUZZTIME) ./internal/store/

clean:
	rm -rf bin
