# Stand-in for node:20-bookworm-slim (see README.md): a debootstrap'd bookworm + a copied Node 20 and npm, laid out
# as the official image lays them out (/usr/local/bin/node, /usr/local/lib/node_modules/npm, user node uid 1000).
ARG BASE
FROM ${BASE}
ARG NODE_VERSION
ENV NODE_VERSION=${NODE_VERSION}
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
COPY node/bin/node /usr/local/bin/node
COPY node/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node -v && npm -v
CMD ["node"]
