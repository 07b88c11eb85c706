#!/bin/sh
# Runs a command with another major version of Node.js first on PATH, e.g.
#   scripts/with-node.sh 22 npx jest --ci --testPathIgnorePatterns /test/e2e/ /test/bench-smoke
# The binary comes from the npm registry (package node-<platform>-<arch>, a plain binary with no
# install script), once, into ${XDG_CACHE_HOME:-~/.cache}/cdk8s-hostnet/node<major>.
set -e
if [ "$#" -lt 2 ]; then
  echo 'usage: scripts/with-node.sh MAJOR COMMAND [ARG...]   e.g. scripts/with-node.sh 22 npx projen compile' >&2
  exit 2
fi
major=$1
shift
dir="${XDG_CACHE_HOME:-$HOME/.cache}/cdk8s-hostnet/node$major"
if ! "$dir/node_modules/.bin/node" --version >/dev/null 2>&1; then
  package="node-$(node -p 'process.platform + "-" + process.arch')@$major"
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "$package" >&2
fi
PATH="$dir/node_modules/.bin:$PATH"
export PATH
exec "$@"
