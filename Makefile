# leakgate — see README.md. Everything runs with the Go toolchain alone:
# ginkgo comes from go.mod's tool line (go tool ginkgo).

GO      ?= go
GINKGO  := $(GO) tool ginkgo
OUT     := reports/out
# Extra ginkgo flags, e.g. make scenarios GINKGO_FLAGS='--label-filter=policy:killgroup'.
# They reach ginkgo through the environment, split on spaces, except that a
# word not starting with "-" continues a --flag=value argument: a label
# filter with spaces stays one argument and the shell never sees its &&
# (GINKGO_FLAGS='--label-filter=!realworld && !explore -v').
GINKGO_FLAGS ?=
export GINKGO_FLAGS
# Parallel processes for the scenarios (ginkgo -procs).
PROCS   ?= 2
# One stable part of the scenarios, i/n (e.g. SHARD=2/4): n jobs with
# i = 1…n run every spec once; merge their reports with
# bin/leakgate summary -html index.html -findings FINDINGS.md a.json b.json …
SHARD   ?=

# cargo for the Rust/tokio test subject: PATH's, else rustup's default home.
CARGO   ?= $(shell command -v cargo 2>/dev/null || ls $(HOME)/.cargo/bin/cargo 2>/dev/null)
SUBJECT := subjects/tokio-restore
# One of the Debian crates the subject pins (see its Cargo.toml): present
# when `make rust-subject` has installed them.
SUBJECT_CRATE := /usr/share/cargo/registry/tokio-1.24.2

.PHONY: all build scenarios test unit vet clean bench real-clis realworld-programs rust-subject tokio-subject subject-test explore fuzz browser install-browser

all: build

## build: bin/fakecli, bin/restore, bin/leakgate and bin/objserver, and
## bin/tokio-restore (the Rust/tokio test subject) when cargo is present
build:
	$(GO) build -o bin/ ./cmd/fakecli ./cmd/restore ./cmd/leakgate ./cmd/objserver
	@if [ -n "$(CARGO)" ] && [ -d $(SUBJECT_CRATE) ]; then $(MAKE) --no-print-directory tokio-subject; \
	else echo "build: no cargo or no Debian crates ($(SUBJECT_CRATE)): bin/tokio-restore not built (its specs skip; make rust-subject installs them)"; fi

## tokio-subject: bin/tokio-restore, built offline from Debian's crates
## (subjects/tokio-restore/.cargo/config.toml); prints the compile time.
tokio-subject:
	@mkdir -p bin
	@start=$$(date +%s); \
	cd $(SUBJECT) && $(CARGO) build --offline --release --quiet && \
	cp target/release/tokio-restore ../../bin/tokio-restore && \
	echo "tokio-subject: bin/tokio-restore built in $$(( $$(date +%s) - start ))s"

## subject-test: the tokio subject's own tests (its PoC under real tokio,
## its linger, its decoding) when cargo and Debian's crates are present
subject-test:
	@if [ -n "$(CARGO)" ] && [ -d $(SUBJECT_CRATE) ]; then cd $(SUBJECT) && $(CARGO) test --offline --release --quiet; \
	else echo "subject-test: no cargo or no Debian crates ($(SUBJECT_CRATE)): the tokio subject's tests not run"; fi

## rust-subject: Debian's cargo and the packaged crates the tokio subject
## builds from (apt-get, root or passwordless sudo). .ci/run runs it; with
## LEAKGATE_RUST_SUBJECT=require the subject's specs fail rather than skip
## when it is missing.
rust-subject:
	@.ci/install-rust-subject

## real-clis: the real storage CLIs of the real-cli specs (label real-cli):
## Debian's awscli (/usr/bin/aws), curl and python3, installed with apt-get
## when missing (root or passwordless sudo). Without them those specs skip
## and say why; with LEAKGATE_REAL_CLI=require (as .ci/run sets) they fail.
real-clis:
	@.ci/install-real-clis

## realworld-programs: the real programs of the realworld specs (label
## realworld: ssh-agent, gpg-agent, tmux, screen, dbus-launch, git's
## credential cache, timeout, xargs, make, GNU parallel, python3, curl, tar),
## installed from Debian with apt-get when missing (root or passwordless
## sudo). Without them those specs skip and say why; with
## LEAKGATE_REALWORLD=require (as .ci/run sets) they fail.
realworld-programs:
	@.ci/install-realworld

## scenarios: the main job — the fault × policy × config matrix; writes
## reports/out/{scenarios.json,junit.xml,summary.md,index.html,FINDINGS.md}
## and prints the summary. SHARD=i/n runs one stable part of it.
scenarios: build
	@mkdir -p $(OUT)
	@rm -f $(OUT)/scenarios.json $(OUT)/junit.xml $(OUT)/summary.md $(OUT)/index.html $(OUT)/FINDINGS.md
	@status=0; set -f; set --; arg=; \
	for w in $$GINKGO_FLAGS; do case $$w in \
		-*) [ -z "$$arg" ] || set -- "$$@" "$$arg"; arg=$$w;; \
		*) case $$arg in -*=*) arg="$$arg $$w";; *) [ -z "$$arg" ] || set -- "$$@" "$$arg"; arg=$$w;; esac;; \
	esac; done; [ -z "$$arg" ] || set -- "$$@" "$$arg"; \
	LEAKGATE_SHARD=$(SHARD) $(GINKGO) -procs=$(PROCS) --timeout=30m --poll-progress-after=120s \
		--output-dir=$(OUT) --json-report=scenarios.json --junit-report=junit.xml \
		"$$@" ./scenarios || status=$$?; \
	if [ -f $(OUT)/scenarios.json ]; then \
		bin/leakgate summary -o $(OUT)/summary.md -html $(OUT)/index.html -findings $(OUT)/FINDINGS.md \
			$(OUT)/scenarios.json || status=$${status:-1}; \
		echo "wrote $(OUT)/index.html ($$(wc -c < $(OUT)/index.html) bytes) and $(OUT)/FINDINGS.md"; \
	else echo "no report written: $(OUT)/scenarios.json is missing" >&2; [ $$status -ne 0 ] || status=1; fi; \
	exit $$status

## install-browser: Debian's chromium for the browser spec (label browser),
## installed with apt-get when missing (root or passwordless sudo).
install-browser:
	@.ci/install-browser

## browser: opens the index.html `make scenarios` wrote in headless
## Chromium (the spec labelled browser): no console errors, every family's
## grid, a leaky cell's chart and tree; screenshots in reports/out/.
## Without Chromium it skips and says why; LEAKGATE_BROWSER=require fails.
browser:
	@test -f $(OUT)/index.html || { echo "no $(OUT)/index.html: run make scenarios first" >&2; exit 1; }
	LEAKGATE_BROWSER_PAGE=$(abspath $(OUT))/index.html $(GINKGO) --label-filter=browser ./scenarios

## bench: the benchmarks; each package's benchmarks merge their figures
## (e.g. snapshot_ratio_to_floor_0/_100/_1000 and, beside 5,000 unrelated
## processes, snapshot_ratio_to_tree_0/_100/_1000 from ./harness;
## restore_throughput_ratio_vs_cat, restore_go_floor_ratio_vs_cat,
## restore_mb_per_s, restore_peak_rss_bytes from ./bench, about a minute) into
## reports/out/bench.json through reports.MergeBench, told the file by
## LEAKGATE_BENCH_JSON. Add a package's benchmarks to BENCH_PKGS.
BENCH_PKGS  ?= ./harness/... ./bench/...
BENCH_FLAGS ?=
bench:
	@mkdir -p $(OUT)
	LEAKGATE_BENCH_JSON=$(abspath $(OUT))/bench.json $(GO) test -run '^$$' -bench . $(BENCH_FLAGS) $(BENCH_PKGS)
	@echo "$(OUT)/bench.json:"; cat $(OUT)/bench.json

## fuzz: runs each go test -fuzz target of FUZZ_TARGETS for FUZZTIME (not
## part of make test); each target's seed corpus (testdata/fuzz/<Name> in
## its package) also runs in every plain go test. An entry is
## <package>:<FuzzName>; add a package's targets to the list.
FUZZTIME ?= 30s
FUZZ_TARGETS := \
	./faults:FuzzParse \
	./restore/adapter:FuzzParseConfig \
	./restore/manifest:FuzzParseEpochEnding \
	./restore/manifest:FuzzParseMetadata \
	./restore/record:FuzzReader \
	./restore/ledger:FuzzDecode \
	./objserver:FuzzChunkedReader \
	./objserver:FuzzS3Request \
	./fakecli:FuzzPersonaParse \
	./journal:FuzzRead
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz: $$name in $$pkg for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

## vet: gofmt and go vet
vet:
	@unformatted=$$(gofmt -l .); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted" >&2; exit 1; fi
	$(GO) vet ./...

## unit: every package's own tests except the scenario suite, with the race detector
unit:
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v /scenarios)

## test: what CI runs (.ci/run): vet, unit tests (the tokio subject's
## too), the scenarios, then the browser check of the report they wrote
test: vet unit subject-test scenarios browser

clean:
	rm -rf bin $(OUT) $(SUBJECT)/target

## explore: search fault plans against the restore subject for EXPLORE_BUDGET
## (default 5m) on EXPLORE_WORKERS runs at a time (2 cores: 2), shrink what
## fails, and write findings (plan files, evidence, explore.json) to
## reports/out/explore. Exits 1 when it found a failing plan that the
## regression corpus (testdata/explore) does not already hold. Another
## subject or seed: make explore EXPLORE_FLAGS='--policy drop --seed 7'.
EXPLORE_BUDGET  ?= 5m
EXPLORE_WORKERS ?= 2
EXPLORE_FLAGS   ?= --config testdata/configs/local.yaml --policy killgroup --seed 1
explore: build
	@mkdir -p $(OUT)/explore
	bin/leakgate explore --subject restore --budget $(EXPLORE_BUDGET) --workers $(EXPLORE_WORKERS) \
		--out $(OUT)/explore --json $(OUT)/explore/explore.json --corpus testdata/explore --quiet $(EXPLORE_FLAGS)
