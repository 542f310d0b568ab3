# leakgate — see README.md. Everything runs with the Go toolchain alone:
# ginkgo comes from go.mod's tool line (go tool ginkgo).

GO      ?= go
GINKGO  := $(GO) tool ginkgo
OUT     := reports/out
# Extra ginkgo flags, e.g. make scenarios GINKGO_FLAGS='--label-filter=policy:killgroup'
GINKGO_FLAGS ?=
# Parallel processes for the scenarios (ginkgo -procs).
PROCS   ?= 2

.PHONY: all build scenarios test unit vet clean

all: build

## build: bin/fakecli, bin/restore and bin/leakgate
build:
	$(GO) build -o bin/ ./cmd/fakecli ./cmd/restore ./cmd/leakgate

## scenarios: the main job — the fault × policy × config matrix; writes
## reports/out/{scenarios.json,junit.xml,summary.md} and prints the summary.
scenarios: build
	@mkdir -p $(OUT)
	@rm -f $(OUT)/scenarios.json $(OUT)/junit.xml $(OUT)/summary.md
	@status=0; \
	$(GINKGO) -procs=$(PROCS) --timeout=30m --poll-progress-after=120s \
		--output-dir=$(OUT) --json-report=scenarios.json --junit-report=junit.xml \
		$(GINKGO_FLAGS) ./scenarios || status=$$?; \
	if [ -f $(OUT)/scenarios.json ]; then \
		bin/leakgate summary -o $(OUT)/summary.md $(OUT)/scenarios.json || status=$${status:-1}; \
	else echo "no report written: $(OUT)/scenarios.json is missing" >&2; [ $$status -ne 0 ] || status=1; fi; \
	exit $$status

## vet: gofmt and go vet
vet:
	@unformatted=$$(gofmt -l .); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted" >&2; exit 1; fi
	$(GO) vet ./...

## unit: every package's own tests except the scenario suite, with the race detector
unit:
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v /scenarios)

## test: what CI runs (.ci/run): vet, unit tests, then the scenarios
test: vet unit scenarios

clean:
	rm -rf bin $(OUT)
