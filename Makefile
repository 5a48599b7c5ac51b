# carpfw: OpenBSD's CARP, pfsync and pf.conf on Linux.
#
#   make              build bin/carpctl, bin/pfsyncctl, bin/pfconf
#   make install      install them into $(DESTDIR)$(PREFIX)/sbin, man pages into .../share/man
#   make demo         run the seed example (testdata/seed) with the installed commands
#   make test         vet, format and man page checks, unit and kernel tests (-race)
#   make conformance  OpenBSD's pfctl regression corpus against pfconf (not part of test)
#   make fuzz         every fuzz target for FUZZTIME each

GO          ?= go
PREFIX      ?= /usr/local
DESTDIR     ?=
SBINDIR      = $(DESTDIR)$(PREFIX)/sbin
MANDIR       = $(DESTDIR)$(PREFIX)/share/man
CMDS         = carpctl pfsyncctl pfconf
MANPAGES     = $(wildcard man/*.[0-9])
PFCTL_CORPUS ?= ../shared/conformance/pfctl
FUZZTIME    ?= 30s
TESTTIMEOUT ?= 25m

# Debian packages the tests and the demo use (.ci/run installs them too).
DEBS = iproute2 iputils-ping nftables conntrack tshark ucarp mandoc iperf3 socat tcpdump procps

.PHONY: all build install uninstall demo test check deps conformance fuzz clean

all: build

build:
	@mkdir -p bin
	$(GO) build -trimpath -o bin/ $(addprefix ./cmd/,$(CMDS))

install: build
	install -d $(SBINDIR)
	install -m 0755 $(addprefix bin/,$(CMDS)) $(SBINDIR)/
	@for p in $(MANPAGES); do \
		s=$${p##*.}; \
		install -d $(MANDIR)/man$$s && install -m 0644 $$p $(MANDIR)/man$$s/ || exit 1; \
	done

uninstall:
	rm -f $(addprefix $(SBINDIR)/,$(CMDS))
	@for p in $(MANPAGES); do s=$${p##*.}; rm -f $(MANDIR)/man$$s/$${p##*/}; done

demo:
	PATH="$(DESTDIR)$(PREFIX)/sbin:$$PATH" ./testdata/seed/demo.sh

# deps installs the Debian packages the tests need when one is missing
# (as root on Debian; elsewhere it only reports what is missing).
deps:
	@missing=$$(for d in $(DEBS); do dpkg -s $$d >/dev/null 2>&1 || echo $$d; done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing: $$missing"; \
			DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "missing Debian packages (kernel tests may fail): $$missing" >&2; \
		fi; \
	fi

check:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	@if [ -n "$(MANPAGES)" ]; then \
		out=$$(mandoc -T lint -W warning $(MANPAGES) 2>&1); \
		if [ -n "$$out" ]; then echo "$$out"; exit 1; fi; \
	fi

test: deps check
	$(GO) test -race -count=1 -timeout $(TESTTIMEOUT) ./...

conformance: build
	PFCONF_HOST=openbsd-regress $(GO) run ./internal/conformance -pfconf bin/pfconf -corpus "$(PFCTL_CORPUS)"

fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

clean:
	rm -rf bin
