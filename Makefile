# seosgw — build, test and demo. `make help` lists the targets.
GO       ?= go
SHARED   ?= $(abspath ../shared)
BUILD    := $(abspath build)
BIN      := $(BUILD)/seosgw
PEER     := $(BUILD)/dotnet-peer/SeosPeer.exe
FUZZTIME ?= 10s

# What `seosgw version`, the start log and seosgw_build_info report.
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT   ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DATE     ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS  := -s -w -X github.com/seosgw/seosgw/gateway/buildinfo.version=$(VERSION) \
            -X github.com/seosgw/seosgw/gateway/buildinfo.commit=$(COMMIT) \
            -X github.com/seosgw/seosgw/gateway/buildinfo.date=$(DATE)

# Debian packages the tests drive for real: tool=package.
DEB_TOOLS := xmllint=libxml2-utils xmlsec1=xmlsec1 mono=mono-runtime mcs=mono-mcs \
             openssl=openssl promtool=prometheus ip=iproute2 \
             clamd=clamav-daemon qpdf=qpdf pdfsig=poppler-utils soffice=libreoffice-writer-nogui zip=zip chromium=chromium \
             dpkg-deb=dpkg systemd-sysusers=systemd systemd-analyze=systemd swaks=swaks dovecot=dovecot-imapd doveadm=dovecot-core \
             java=default-jre-headless javac=default-jdk-headless
DEB_EXTRA := libmono-system-security4.0-cil libmono-system-xml4.0-cil
# Packages without a command of their own, by a file they install: the
# acceptance tests make Office files through LibreOffice's Python bridge and
# check test-made compound files with olefile; swaks needs Net::SSLeay for
# STARTTLS (the path is Debian 12's perl; elsewhere deps just reinstalls it);
# the .NET participant register (gateway/testkit/asmxregister) runs on Mono's
# ASP.NET web services, the Java one (axisregister) on Axis 1.4; the
# benchmarks read a command's peak memory with GNU time.
DEB_FILES := /usr/lib/python3/dist-packages/uno.py=python3-uno \
             /usr/lib/libreoffice/program/libsclo.so=libreoffice-calc-nogui \
             /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf=fonts-dejavu-core \
             /usr/lib/python3/dist-packages/olefile/__init__.py=python3-olefile \
             /usr/lib/x86_64-linux-gnu/perl5/5.36/Net/SSLeay.pm=libnet-ssleay-perl \
             /usr/lib/mono/4.5/System.Web.Services.dll=libmono-system-web-services4.0-cil \
             /usr/lib/mono/4.5/System.Web.dll=libmono-system-web4.0-cil \
             /usr/lib/mono/4.5/System.Web.Extensions.dll=libmono-system-web-extensions4.0-cil \
             /usr/share/java/axis.jar=libaxis-java \
             /usr/bin/time=time

export SEOSGW_SHARED := $(SHARED)
export SEOSGW_DOTNET_PEER := $(PEER)
export SEOSGW_REQUIRE_TOOLS := 1

.PHONY: help build deb test unit lint bench fuzz deps peer goldens demo clean

help:
	@echo "make demo   - two gateways exchange a document over mutual TLS (see README)"
	@echo "make test   - every test (installs the Debian packages it needs when root)"
	@echo "make build  - build $(BIN) (static, version-stamped)"
	@echo "make deb    - build the Debian package into $(BUILD)/ (see configs/README.md)"
	@echo "make lint   - go vet + gofmt check + go mod tidy -diff"
	@echo "make bench  - benchmarks with allocations"
	@echo "make fuzz   - each fuzz target for FUZZTIME ($(FUZZTIME))"
	@echo "make goldens - recapture register/daeu/testdata/asmx-*, axis-* from the .NET and Axis registers"

# Static (modernc SQLite is pure Go), so the package runs on any Debian.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/seosgw

deb: build
	sh configs/debian/build-deb.sh $(BIN) "$(VERSION)" $(BUILD)

# deps installs what the tests run (as root) or names exactly what is missing.
deps:
	@missing=""; \
	for pair in $(DEB_TOOLS); do tool=$${pair%%=*}; pkg=$${pair#*=}; \
	  command -v $$tool >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	[ -e /usr/lib/mono/4.5/System.Security.dll ] || missing="$$missing $(DEB_EXTRA)"; \
	for pair in $(DEB_FILES); do file=$${pair%%=*}; pkg=$${pair#*=}; \
	  [ -e $$file ] || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "deps: installing$$missing"; \
	    apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing $(DEB_EXTRA) >/dev/null; \
	  else \
	    echo "deps: missing Debian packages:$$missing"; \
	    echo "deps: run as root: apt-get install$$missing $(DEB_EXTRA)"; exit 1; \
	  fi; \
	fi

peer: deps
	@[ -d "$(SHARED)/tools/dotnet-peer" ] || { echo "peer: $(SHARED)/tools/dotnet-peer not found (set SHARED=...)"; exit 1; }
	@sh $(SHARED)/tools/dotnet-peer/build.sh $(BUILD)/dotnet-peer >/dev/null

# lint: vet, gofmt, and go.mod/go.sum exactly as `go mod tidy` leaves them.
lint:
	$(GO) vet ./...
	@$(GO) mod tidy -diff >/dev/null || { echo "go.mod/go.sum are not tidy: run go mod tidy (diff: go mod tidy -diff)"; exit 1; }
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

unit:
	$(GO) test -count=1 ./...

test: deps peer lint
	$(GO) test -count=1 -timeout 30m ./...

# goldens: the .NET and Axis register answers in register/daeu/testdata are
# captures of the running registers (see the README there), rewritten here.
goldens: deps
	$(GO) test -count=1 -run '^TestGoldensAreCaptures$$' ./register/daeu -update

bench: deps peer
	$(GO) test -run '^$$' -bench . -benchmem ./...

fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; done

# demo: a register, two gateways, one document end to end on loopback.
demo: build
	$(BIN) demo

clean:
	rm -rf $(BUILD)
