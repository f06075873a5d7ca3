# Build and install rootwrap (the book's "Installing rootwrap" chapter):
#
#   make                                   # release build and generated pages
#   sudo make install                      # into /usr/local
#   make install PREFIX=/usr DESTDIR=pkg   # for a package
#   sudo make uninstall                    # removes exactly what install put there
#
# Same PREFIX and DESTDIR for uninstall as for install.
PREFIX ?= /usr/local
DESTDIR ?=
CARGO ?= cargo
TARGET_DIR ?= target

BUILD := $(TARGET_DIR)/release
SHARE := $(TARGET_DIR)/release/share

.PHONY: all build install uninstall
all: build

# The runtime is built on its own, last: built with the compiler, cargo would
# unify features and link the compiler's parser code into it (.ci/run checks
# the same of the debug build).
build:
	$(CARGO) build --locked --release --target-dir $(TARGET_DIR) -p rootwrap-compile -p rootwrap-xtask
	$(CARGO) build --locked --release --target-dir $(TARGET_DIR) -p rootwrap
	rm -rf $(SHARE)
	$(BUILD)/rootwrap-xtask share $(SHARE)

install: build
	PREFIX='$(PREFIX)' DESTDIR='$(DESTDIR)' BUILD='$(BUILD)' SHARE='$(SHARE)' ./scripts/install.sh install

# No build: what install recorded is what goes.
uninstall:
	PREFIX='$(PREFIX)' DESTDIR='$(DESTDIR)' BUILD='$(BUILD)' SHARE='$(SHARE)' ./scripts/install.sh uninstall

# The Debian package, from the same build: target/debian/rootwrap_VERSION_ARCH.deb.
deb: build
	./dist/debian/build-deb.sh $(TARGET_DIR)/debian
.PHONY: deb
