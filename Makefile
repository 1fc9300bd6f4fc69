# lbd — see README.md. Targets run as root where they touch the network.
export PATH := /usr/local/go/bin:$(PATH)
GO        ?= go
BIN       ?= bin
PREFIX    ?= /usr/local
# 2 cores: packages run two at a time; network tests give each package its
# own namespace prefix, so that is safe.
TESTFLAGS ?= -count=1 -timeout 25m

.PHONY: all build generate check-generated test unit bench lint install deps demo vm-test clean

all: build

# lbd version prints these (GOFLAGS may disable Go's own VCS stamping).
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null)
COMMIT    ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS   ?= -X main.version=$(VERSION) -X main.commit=$(COMMIT)

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/lbd ./cmd/lbd

# Regenerate the bpf2go bindings (Go + objects, committed). Needs clang.
generate: deps
	$(GO) generate ./...

# CI: fails when the committed bindings differ from what `generate` makes.
check-generated: generate
	@git diff --exit-code --stat -- '*_bpfel.go' '*_bpfel.o' '*_bpfeb.go' '*_bpfeb.o' \
		|| { echo "generated BPF bindings are stale: run make generate and commit"; exit 1; }

# Every test layer that runs on this host: unit, BPF (BPF_PROG_TEST_RUN),
# network namespaces with real peers. Privileged layers need root.
test: deps
	$(GO) test $(TESTFLAGS) ./...

# Only the unprivileged layer (no root needed).
unit:
	$(GO) test -count=1 -short ./...

bench: deps build
	$(GO) test -run='^$$' -bench=. -benchmem ./...
	@for b in bench/*.sh; do echo "== $$b"; "$$b" || exit 1; done

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '_bpfe[lb]\.go$$')); \
		[ -z "$$out" ] || { echo "gofmt would change: $$out"; exit 1; }
	$(GO) vet ./...
	@if $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 -version >/dev/null 2>&1; then \
		$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...; \
	else echo "staticcheck unavailable; skipped"; fi

install: build
	install -D -m 0755 $(BIN)/lbd $(DESTDIR)$(PREFIX)/sbin/lbd

deps:
	@scripts/deps.sh

# As root: builds lbd and shows a VRRP failover in network namespaces.
demo:
	@scripts/demo.sh

# VM tests: Debian's kernel under qemu for what the host kernel lacks (IPVS,
# ipip, an older BPF verifier). Packages to run: tests/vm/packages.
vm-test: deps
	tests/vm/run.sh

clean:
	rm -rf $(BIN) tests/vm/out
