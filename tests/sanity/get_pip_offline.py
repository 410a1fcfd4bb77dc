"""Stand-in for pip's get-pip.py bootstrap script, which ansible-test downloads from a host these machines cannot reach.

ansible-test runs the cached script with get-pip's command line (pip install options and packages, no verb).
Bootstrapping pip from the interpreter's own ensurepip and then installing the requested pip from the package
index gives the same result: a virtual environment with the pinned pip. scripts/test.sh copies this file into
ansible-test's cache as ~/.ansible/test/cache/get_pip_<version>.py.
"""
import ensurepip
import subprocess
import sys

# get-pip.py's own switches, which `pip install` does not know.
OWN_SWITCHES = {"--no-setuptools", "--no-wheel"}

ensurepip.bootstrap(upgrade=True)
args = [a for a in sys.argv[1:] if a not in OWN_SWITCHES]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args))
