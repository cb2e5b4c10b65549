"""Where a transfer runs. Most pairs run on 127.0.0.1 in the machine's own
network namespace. Transmission never dials 127.0.0.0/8 (it treats those
addresses as martian), so pairs whose leecher is Transmission run inside a
network namespace made for the benchmark, with 10.99.0.1 added to that
namespace's own loopback device: traffic between two local addresses still
goes through the loopback device, so the transfer is a loopback transfer in
all but the address. Nothing leaves the namespace (it has no other device)."""

import os
import socket
import subprocess

DEBIAN_PYTHON = "/usr/bin/python3"
NS_ADDRESS = "10.99.0.1"
# The leecher's own address in the namespace: Transmission will not dial a
# peer that has its own address.
NS_LEECH_ADDRESS = "10.99.0.2"

_PORT_OPEN = """
import socket, sys
with socket.socket() as s:
    s.settimeout(0.2)
    sys.exit(0 if s.connect_ex((sys.argv[1], int(sys.argv[2]))) == 0 else 1)
"""


class Net:
    """A host address for clients to bind to and a command prefix that runs a
    program where that address lives."""

    def __init__(self, name, host, prefix, leech_host=None):
        self.name = name
        self.host = host
        self.leech_host = leech_host or host
        self.prefix = prefix

    def argv(self, argv):
        return self.prefix + list(argv)

    def addr(self, port):
        return "%s:%d" % (self.host, port)

    def port_open(self, port, host=None):
        """Whether something listens on `host` (default: the pair's address)."""
        host = host or self.host
        if not self.prefix:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.settimeout(0.2)
                return probe.connect_ex((host, port)) == 0
        done = subprocess.run(self.argv([DEBIAN_PYTHON, "-c", _PORT_OPEN, host, str(port)]),
                              capture_output=True, timeout=30)
        return done.returncode == 0


LOOPBACK = Net("loopback", "127.0.0.1", [])


def make_namespace(name):
    """A namespace with only its loopback device, up, holding NS_ADDRESS too."""
    delete_namespace(name)
    for argv in (["ip", "netns", "add", name],
                 ["ip", "-n", name, "link", "set", "lo", "up"],
                 ["ip", "-n", name, "addr", "add", NS_ADDRESS + "/32", "dev", "lo"],
                 ["ip", "-n", name, "addr", "add", NS_LEECH_ADDRESS + "/32", "dev", "lo"]):
        subprocess.run(argv, check=True, capture_output=True, timeout=30)
    return Net("namespace %s" % name, NS_ADDRESS, ["ip", "netns", "exec", name],
               NS_LEECH_ADDRESS)


def delete_namespace(name):
    if os.path.exists("/run/netns/" + name):
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30)
