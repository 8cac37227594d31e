# Stand-in for node:20-bookworm (see README.md): the slim stand-in plus the part of buildpack-deps:bookworm a native
# addon build uses (g++, make, python3, git, curl, ca-certificates), and the extra CAs this machine trusts, which npm
# is pointed at through the global npmrc (npm otherwise trusts only Node's bundled roots).
ARG BASE
FROM ${BASE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl wget git g++ make python3 xz-utils procps \
 && rm -rf /var/lib/apt/lists/*
COPY ca/ /usr/local/share/ca-certificates/
RUN update-ca-certificates \
 && mkdir -p /usr/local/etc \
 && printf 'cafile=/etc/ssl/certs/ca-certificates.crt\n' >/usr/local/etc/npmrc
