GOLANGCI_LINT_VERSION ?= v2.15.0
GOBIN ?= $(shell go env GOPATH)/bin

.PHONY: help build plugin test test-unit e2e demo codegen verify lint fuzz bench bench-cluster bench-storage bench-plugin bench-export chaos release release-plugin cluster-up cluster-down

help: ## List the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  %-14s %s\n", $$1, $$2}'

build: ## Build the controller and the reader
	go build ./...

plugin: ## Build kubectl-rmat into bin/, tkn-rmat (the same binary) and kubectl's completion hook beside it (docs/cli.md)
	CGO_ENABLED=0 go build -trimpath -o bin/kubectl-rmat ./cmd/kubectl-rmat
	cp bin/kubectl-rmat bin/tkn-rmat
	printf '#!/bin/sh\nexec kubectl-rmat __complete "$$@"\n' > bin/kubectl_complete-rmat
	chmod +x bin/kubectl_complete-rmat

test: test-unit e2e ## Unit tests, then the e2e suite on a real cluster

test-unit: ## Unit tests (reconciler on fake clients, engine, reader, config)
	go test -count=1 ./...

e2e: ## The e2e suite; brings a local cluster up and down unless KUBECONFIG is set
	hack/e2e.sh

demo: ## Run the example pipeline and print what was materialized
	hack/demo.sh

codegen: ## Regenerate clients, listers, informers and injection
	hack/update-codegen.sh

verify: lint ## Codegen drift, gofmt, go vet, golangci-lint
	hack/verify-codegen.sh
	@test -z "$$(gofmt -l cmd pkg test hack)" || { gofmt -l cmd pkg test hack; echo "gofmt: files above need formatting"; exit 1; }
	go vet ./...
	go vet -tags e2e ./test/e2e/

lint: ## golangci-lint, installed at a pinned version if missing
	@command -v golangci-lint >/dev/null || GOBIN=$(GOBIN) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	PATH=$(GOBIN):$$PATH golangci-lint run ./...
	PATH=$(GOBIN):$$PATH golangci-lint run --build-tags e2e ./test/e2e/

fuzz: ## Run every fuzz target for 20 seconds
	go test -run '^$$' -fuzz FuzzParseQuantity -fuzztime 20s ./pkg/apis/resultmaterialize/v1alpha1/
	go test -run '^$$' -fuzz FuzzTruncateUTF8 -fuzztime 20s ./pkg/protocol/
	go test -run '^$$' -fuzz FuzzBudget -fuzztime 20s ./pkg/materialize/
	go test -run '^$$' -fuzz FuzzJSONLen -fuzztime 20s ./pkg/materialize/
	go test -run '^$$' -fuzz FuzzKeeperMatchesBudget -fuzztime 20s ./pkg/materialize/
	go test -run '^$$' -fuzz FuzzReadPath -fuzztime 20s ./pkg/reader/
	go test -run '^$$' -fuzz FuzzStreamMatchesParse -fuzztime 20s ./pkg/projection/
	go test -run '^$$' -fuzz FuzzYAML -fuzztime 20s ./pkg/projection/
	go test -run '^$$' -fuzz FuzzExpression -fuzztime 20s ./pkg/projection/
	go test -run '^$$' -fuzz FuzzMessagesNeverQuoteTheDocument -fuzztime 20s ./pkg/projection/
	go test -run '^$$' -fuzz FuzzCRDAgreesWithGo -fuzztime 20s ./pkg/apis/resultmaterialize/v1alpha1/
	go test -run '^$$' -fuzz FuzzKeyStaysInThePrefix -fuzztime 20s ./pkg/objectstore/

bench: ## Reader throughput against plain sha256, allocations by file size, and projection streaming against an encoding/json token scan
	go test -run '^$$' -bench . -benchtime 3x ./pkg/reader/
	go test -run '^$$' -bench . -benchtime 1x ./pkg/projection/

bench-cluster: ## Time runs on a cluster against TaskRuns and bare pods; keeps a dated table in bench-results/
	hack/bench-cluster.sh bench

bench-storage: ## Time a 200 MiB write and read through s3fs and rclone (the test CSI driver) against local-path
	hack/bench-cluster.sh storage

bench-export: ## Time exports (retain: oci) of 1 MiB, 100 MiB and 1 GiB against crane pushing the same file, with the reader's memory
	hack/bench-cluster.sh export

bench-plugin: ## Time kubectl rmat cat of 100 MiB against kubectl exec cat, with its RSS, and ls of 10 tasks of 20 results
	hack/bench-cluster.sh plugin

chaos: ## Kill leaders, restart the API server and delete reader pods under load; check every run
	hack/bench-cluster.sh chaos

release: ## release.yaml for VERSION=vX.Y.Z: images for linux/amd64 and linux/arm64 pushed to KO_DOCKER_REPO; then release-plugin
	hack/release.sh
	hack/release-plugin.sh

release-plugin: ## kubectl-rmat archives for linux and darwin, amd64 and arm64, and a krew manifest, in _output/plugin (VERSION=vX.Y.Z)
	hack/release-plugin.sh

cluster-up: ## Start the local cluster with Tekton and the controller
	hack/cluster.sh up

cluster-down: ## Stop the local cluster and remove its state
	hack/cluster.sh down
