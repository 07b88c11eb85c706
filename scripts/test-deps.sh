#!/bin/sh
# Installs the Debian 12 packages the tests need, through sudo only when not root (scripts/as-root.sh).
# The one list of them: .ci/run runs this script too, so the README and CI cannot drift apart.
#   iproute2: ip netns; iptables, nftables, ipset: the engines the generated scripts drive;
#   the shellcheck package lints the generated scripts; iperf3 and sockperf: the benchmark's smoke run
#   (throughput, latency);
#   conntrack: flushing flows between audit runs; busybox-static: the agent's health checks
#   (nslookup, nc), as the pod's init container provides them; dnsmasq-base: a real DNS server;
#   prometheus (promtool) and prometheus-node-exporter: checking and scraping the agent's metrics.
set -e
PACKAGES='iproute2 iptables nftables ipset shellcheck iperf3 sockperf conntrack busybox-static dnsmasq-base prometheus prometheus-node-exporter'
here=$(dirname "$0")
"$here/as-root.sh" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086 # PACKAGES is a list of words
"$here/as-root.sh" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PACKAGES
