#!/usr/bin/env bash
# Installs what the test suite needs and checks that each piece works:
# the reference BitTorrent clients the interop tests run against
# (Transmission, aria2, libtorrent's Python binding, mktorrent, opentracker),
# iproute2, iperf3 and ping (for the LEDBAT benchmark), cargo-nextest, rustfmt
# and clippy.
#
# Idempotent: apt-get runs only if a package is missing, `apt-get update` at
# most once. Fails loudly, naming what is missing, if anything cannot be had.
set -euo pipefail

packages=(
    transmission-cli
    transmission-daemon
    aria2
    python3-libtorrent
    mktorrent
    opentracker
    iproute2
    # The LEDBAT benchmark (bench/ledbat.py): a competing TCP flow and the RTT under load.
    iperf3
    iputils-ping
    # Home routers for the NAT tests: NAT with nftables, miniupnpd as the UPnP-IGD / NAT-PMP /
    # PCP gateway, upnpc to list its mappings.
    nftables
    miniupnpd-nftables
    miniupnpc
)

say() { printf 'install-test-deps: %s\n' "$*"; }
die() { printf 'install-test-deps: ERROR: %s\n' "$*" >&2; exit 1; }

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
for package in "${packages[@]}"; do
    installed "$package" || missing+=("$package")
done

if ((${#missing[@]} > 0)); then
    say "installing ${missing[*]}"
    if [[ $(id -u) -eq 0 ]]; then
        sudo=()
    elif command -v sudo >/dev/null; then
        sudo=(sudo)
    else
        die "not root and no sudo: install ${missing[*]} by hand"
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update
    "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
else
    say "Debian packages present"
fi

# Each tool must now run. Debian's python is named explicitly: a python3 from
# pyenv earlier on PATH cannot import Debian's libtorrent module.
problems=()
for tool in transmission-cli transmission-daemon transmission-remote aria2c mktorrent opentracker ip tc stdbuf iperf3 ping nft miniupnpd upnpc; do
    command -v "$tool" >/dev/null || problems+=("$tool not found on PATH")
done
if ! lt_version=$(/usr/bin/python3 -c 'import libtorrent; print(libtorrent.__version__)' 2>&1); then
    problems+=("/usr/bin/python3 cannot import libtorrent: $lt_version")
fi

if ! cargo nextest --version >/dev/null 2>&1; then
    say "installing cargo-nextest"
    cargo install cargo-nextest --locked || problems+=("cargo install cargo-nextest failed")
fi
for component in rustfmt clippy; do
    if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
        say "adding rustup component $component"
        rustup component add "$component" || problems+=("rustup component add $component failed")
    fi
done

if ((${#problems[@]} > 0)); then
    for problem in "${problems[@]}"; do
        printf 'install-test-deps: MISSING: %s\n' "$problem" >&2
    done
    die "the test suite cannot run without these"
fi

say "ready: $(transmission-cli --version 2>&1 | head -n 1), $(aria2c --version | head -n 1), libtorrent $lt_version, $(cargo nextest --version | head -n 1)"
