#!/usr/bin/env bash
# Builds local stand-ins for the official `node:20-bookworm` and `node:20-bookworm-slim` images, for machines that
# cannot pull from Docker Hub (air-gapped, or only a Debian mirror and an npm registry reachable), so that
# deploy/docker/Dockerfile builds unchanged. NOT the official images: see README.md next to this file.
#
#   deploy/docker/local-base/build-base.sh            # tags node:20-bookworm-slim and node:20-bookworm
#
# Environment:
#   MIRROR      Debian mirror for debootstrap and the images' apt (default http://deb.debian.org/debian)
#   NODE_BIN    the Node.js 20 binary to copy in (default: `command -v node`; must be a v20.x built for glibc)
#   NPM_DIR     its npm package directory (default: <prefix of NODE_BIN>/lib/node_modules/npm)
#   EXTRA_CA    space-separated PEM files the images should trust besides Debian's CAs (default: this machine's
#               /usr/local/share/ca-certificates/*.crt — needed where egress goes through a TLS-inspecting proxy)
#   KEEP_ROOTFS=1  keep the debootstrap tree (in $WORK) for a second run
# Needs: root (debootstrap), docker, debootstrap (apt-get install debootstrap).
set -euo pipefail

MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
NODE_MAJOR=20
NODE_BIN=${NODE_BIN:-$(command -v node)}
NODE_BIN=$(readlink -f "$NODE_BIN")
NPM_DIR=${NPM_DIR:-$(dirname "$(dirname "$NODE_BIN")")/lib/node_modules/npm}
EXTRA_CA=${EXTRA_CA:-$(ls /usr/local/share/ca-certificates/*.crt 2>/dev/null || true)}
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=${WORK:-/var/tmp/nvlsched-local-base}
DEBIAN_TAG=nvlsched-local/debian:${SUITE}-slim

die() { echo "build-base: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "debootstrap needs root"
command -v debootstrap >/dev/null || die "debootstrap not found (apt-get install debootstrap)"
docker info >/dev/null 2>&1 || die "no Docker daemon (docker info failed)"
node_version=$("$NODE_BIN" -v) || die "NODE_BIN=$NODE_BIN does not run"
case "$node_version" in v${NODE_MAJOR}.*) ;; *) die "NODE_BIN=$NODE_BIN is $node_version, want v${NODE_MAJOR}.x";; esac
[ -f "$NPM_DIR/bin/npm-cli.js" ] || die "NPM_DIR=$NPM_DIR has no bin/npm-cli.js"
started=$(date +%s)

# 1. A minimal Debian rootfs (what debian:bookworm-slim is: debootstrap minbase, docs and apt lists trimmed),
#    imported as one layer. Reused when KEEP_ROOTFS=1 left one.
rootfs=$WORK/rootfs
if [ ! -x "$rootfs/usr/bin/apt-get" ]; then
  rm -rf "$rootfs"; mkdir -p "$rootfs"
  echo "build-base: debootstrap --variant=minbase $SUITE from $MIRROR ..."
  debootstrap --variant=minbase "$SUITE" "$rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -20 "$WORK/debootstrap.log" >&2; die "debootstrap failed (log: $WORK/debootstrap.log)"; }
fi
cat >"$rootfs/etc/apt/sources.list" <<EOT
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb ${MIRROR%/debian}/debian-security $SUITE-security main
EOT
# As the official image: no docs/man pages/apt caches, and `apt-get clean` after every install.
cp "$HERE/dpkg-slim.cfg" "$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim"
printf 'APT::Install-Recommends "false";\n' >"$rootfs/etc/apt/apt.conf.d/docker-no-recommends"
chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* \
  "$rootfs"/usr/share/locale/* "$rootfs"/var/log/*.log "$rootfs"/tmp/* 2>/dev/null || true
echo "build-base: importing $DEBIAN_TAG ..."
tar -C "$rootfs" --numeric-owner -c . | docker import \
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' -c 'CMD ["bash"]' \
  -m "debootstrap --variant=minbase $SUITE $MIRROR (nvlsched local stand-in)" - "$DEBIAN_TAG" >/dev/null
[ "${KEEP_ROOTFS:-0}" = 1 ] || rm -rf "$rootfs"

# 2. The two node images, built from a small context: node, npm, the extra CAs.
ctx=$(mktemp -d); trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/node/bin" "$ctx/node/lib/node_modules" "$ctx/ca"
cp "$NODE_BIN" "$ctx/node/bin/node"
cp -a "$NPM_DIR" "$ctx/node/lib/node_modules/npm"
for f in $EXTRA_CA; do cp "$f" "$ctx/ca/"; done
cp "$HERE/slim.Dockerfile" "$HERE/full.Dockerfile" "$ctx/"
echo "build-base: node:${NODE_MAJOR}-bookworm-slim (node $node_version, npm $("$NODE_BIN" "$NPM_DIR/bin/npm-cli.js" -v)) ..."
docker build -q --network host --build-arg "BASE=$DEBIAN_TAG" --build-arg "NODE_VERSION=$node_version" \
  -f "$ctx/slim.Dockerfile" -t "node:${NODE_MAJOR}-bookworm-slim" "$ctx" >/dev/null
echo "build-base: node:${NODE_MAJOR}-bookworm (+ build tools) ..."
docker build -q --network host --build-arg "BASE=node:${NODE_MAJOR}-bookworm-slim" \
  -f "$ctx/full.Dockerfile" -t "node:${NODE_MAJOR}-bookworm" "$ctx" >/dev/null
docker run --rm "node:${NODE_MAJOR}-bookworm" sh -c 'node -v && npm -v && g++ --version | head -1 && python3 --version' \
  | sed 's/^/build-base:   /'
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E "^(node:${NODE_MAJOR}-bookworm|nvlsched-local/)" \
  | sed 's/^/build-base: /'
echo "build-base: done in $(( $(date +%s) - started )) s"
