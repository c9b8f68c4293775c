# Shortcuts for the usual builds; the scripts do the real work.
#
#   make run        build release and serve the demo on 127.0.0.1:8080
#   make test       every test (what CI runs)
#   make release    build nginx and the module (target/release/)
#   make debug      debug build of the module (engine and codecs stay optimised)
#   make lint       rustfmt check and clippy on every target
#   make bench      benchmark against libvips, libjpeg-turbo and image_filter
#   make debian     build against Debian's nginx (see README), NGINX_SRC=dir
#   make deb        Debian package libnginx-mod-http-image (scripts/build-deb.sh)
#   make configure-build  build with nginx's ./configure --add-dynamic-module + smoke test

CARGO ?= cargo
NGINX_SRC ?= /tmp/nginx-src

.PHONY: run test release debug lint bench debian deb configure-build

run:
	scripts/run.sh

test:
	scripts/test.sh

release:
	$(CARGO) build --release --locked

debug:
	$(CARGO) build --locked

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --release --locked \
		--features ngx_http_image_module/fault-injection -- -D warnings

bench:
	scripts/bench.sh

debian:
	NGINX_SOURCE_DIR=$(NGINX_SRC) NGINX_BUILD_DIR=$(NGINX_SRC)/objs \
		$(CARGO) build --release --locked --no-default-features

deb:
	scripts/build-deb.sh

configure-build:
	scripts/build-with-nginx.sh
