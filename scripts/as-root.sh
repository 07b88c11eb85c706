#!/bin/sh
# Runs a command as root: directly when already root (a fresh Debian 12 may have no sudo at all),
# otherwise through sudo. sudo resets PATH to its secure_path, which would lose a Node.js installed
# for the user (nvm, ~/.local): the user's PATH is passed on, so root runs the same node and npm,
# with the sbin directories a user's PATH lacks appended (ip, iptables, nft, ipset live there). CI is
# passed on too: with CI=true the real-kernel tests fail instead of skipping.
set -e
if [ "$#" -eq 0 ]; then
  echo 'usage: scripts/as-root.sh COMMAND [ARG...]   e.g. scripts/as-root.sh npm test' >&2
  exit 2
fi
if [ "$(id -u)" -eq 0 ]; then
  exec "$@"
fi
if ! command -v sudo >/dev/null 2>&1; then
  echo "scripts/as-root.sh: not root and there is no sudo; run this as root: $*" >&2
  exit 1
fi
exec sudo env "PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin" ${CI:+"CI=$CI"} "$@"
