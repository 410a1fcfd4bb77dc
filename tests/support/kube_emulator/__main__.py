"""python -m kube_emulator serve --kubeconfig PATH [--port N] [--crd-dir DIR] [--plain-http] [--manual-ready]"""
import argparse
import signal
import sys
import threading

from . import KubeEmulator


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m kube_emulator")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="run the emulator in the foreground until SIGTERM/SIGINT")
    s.add_argument("--kubeconfig", required=True, help="where to write the kubeconfig (bearer token)")
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--crd-dir", default=None, help="install the CRDs found in this directory")
    s.add_argument("--plain-http", action="store_true",
                   help="serve plain HTTP (kubectl then sends no token: use HTTPS, the default, for kubectl)")
    s.add_argument("--manual-ready", action="store_true", help="do not mark workloads ready automatically")
    args = ap.parse_args(argv)
    emu = KubeEmulator(crd_dir=args.crd_dir, auto_ready=not args.manual_ready, tls=not args.plain_http, port=args.port)
    emu.start()
    emu.write_kubeconfig(args.kubeconfig)
    print("kube_emulator serving %s (kubeconfig %s)" % (emu.url, args.kubeconfig), flush=True)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    while not done.wait(0.5):
        pass
    emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
