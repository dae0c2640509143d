"""A lab stand-in for a cluster component that cannot run here (kube-apiserver, kubelet, ...).

It listens on the component's TCP ports and answers each connection with one line naming
itself, so a probe through the firewall sees a real open port. Started as
`exec -a COMPONENT python3 stand-in.py --listen PORT ... -- COMPONENT-FLAGS`: argv[0] and the
flags after `--` are what the node's process table shows, as the real component's would.
The lab proves ports and detection, not Kubernetes itself.
"""
import argparse
import os
import selectors
import signal
import socket

parser = argparse.ArgumentParser()
parser.add_argument("--listen", type=int, action="append", default=[], help="a TCP port to answer on")
parser.add_argument("--answer", help="the line to answer with (default: the process name)")
parser.add_argument("flags", nargs="*", help="the component's own flags, for the process table only")
args = parser.parse_args()
answer = ((args.answer or os.path.basename(open("/proc/self/cmdline", "rb").read().split(b"\0")[0].decode()))
          + "\n").encode()

selector = selectors.DefaultSelector()
for port in args.listen:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", port))
    server.listen(64)
    selector.register(server, selectors.EVENT_READ)
if not args.listen:          # a process to be seen (its name, flags, environment), no port
    while True:
        signal.pause()
while True:
    for key, _events in selector.select():
        connection, _peer = key.fileobj.accept()
        try:
            connection.sendall(answer)
        except OSError:
            pass
        connection.close()
