"""The start/stop/status command line of a test server that runs as one detached background process
(tests/support/local_env.py, tests/support/real_cluster.py).

The background process serves until a signal (``serve_until_signal``) after writing ``env.json`` ({"pid", ...});
``start`` launches it and waits for that file, ``stop`` signals the pid in it, ``status`` reports it.
"""
import json
import os
import signal
import subprocess
import sys
import threading
import time


def alive(pid):
    """The process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except (OSError, TypeError):
        return False
    try:
        with open("/proc/%d/stat" % pid) as fh:
            return fh.read().split()[2] != "Z"
    except OSError:
        return True


def read_info(env_json):
    try:
        with open(env_json, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def serve_until_signal(name, env_json, info):
    """Write ``info`` to ``env_json`` (atomically: ``start`` polls it), then block until SIGTERM, SIGINT or SIGHUP;
    the caller stops its servers afterwards and calls ``remove``."""
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: done.set())
    tmp = env_json + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(info, fh, indent=2)
    os.replace(tmp, env_json)
    print("%s serving: %s" % (name, json.dumps(info)), flush=True)
    while not done.wait(0.5):
        pass


def remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def running(env_json, ready=lambda info: True):
    """The info of a live server that is ready, or None."""
    info = read_info(env_json)
    return info if info and alive(info.get("pid")) and ready(info) else None


def start(name, cmd, env_json, log, timeout, ready=lambda info: True, poll=0.1):
    """Print the running server's info, or launch ``cmd`` detached (output to ``log``) and wait until it wrote
    ``env_json`` and ``ready(info)`` holds. Returns the exit code."""
    info = running(env_json, ready)
    if info:
        print(json.dumps(info))
        return 0
    remove(env_json)  # a stale one, left by a process that was killed
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, close_fds=True)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            with open(log, encoding="utf-8", errors="replace") as fh:
                tail = fh.read()[-3000:]
            sys.stderr.write("%s: background process exited with %s\n%s\n" % (name, proc.returncode, tail))
            return 1
        info = read_info(env_json)
        if info and ready(info):
            print(json.dumps(info))
            return 0
        time.sleep(poll)
    sys.stderr.write("%s: not ready after %ss (see %s)\n" % (name, timeout, log))
    proc.terminate()
    return 1


def stop(name, env_json, grace):
    """SIGTERM the server, SIGKILL it after ``grace`` seconds; its env.json goes either way."""
    info = read_info(env_json)
    if not info:
        print("%s: not running (no env.json in %s)" % (name, os.path.dirname(env_json)))
        return 0
    pid = info.get("pid")
    if alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.time() + grace
        while alive(pid) and time.time() < deadline:
            time.sleep(0.05)
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    remove(env_json)
    print("%s: stopped" % name)
    return 0


def status(env_json, ready=lambda info: True):
    info = running(env_json, ready)
    if info:
        print(json.dumps(dict(info, running=True)))
        return 0
    print(json.dumps({"running": False}))
    return 3
