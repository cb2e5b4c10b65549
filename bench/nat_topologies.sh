#!/bin/sh
# NAT traversal benchmark: shoal against libtorrent per topology (open, IPv6, UPnP,
# NAT-PMP/PCP, one side NATed, both NATed with the DHT only), time from the getter's start
# to its first payload byte. Needs root (network namespaces, nftables), miniupnpd and
# Debian's python3-libtorrent; every address lives inside namespaces the test makes.
# See crates/cli/tests/nat_bench.rs for the topologies and the method, and
# docs/nat-traversal.md for results.
#
#   NAT_BENCH_RUNS=5            measured runs per row (after one discarded warm-up)
#   NAT_BENCH_ONLY=open,ipv6    only these topologies
#
# Prints one `nat-bench:` line per (topology, pair, run), then a markdown table.
set -eu
cd "$(dirname "$0")/.."
exec cargo test -p shoal --test nat_bench -- --ignored --nocapture --test-threads 1 "$@"
