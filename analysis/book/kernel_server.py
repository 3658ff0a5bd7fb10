"""A fork server of warm notebook kernels: ``python -m analysis.book.kernel_server SOCKET MODULE...``.

Every chapter's kernel would otherwise start a Python interpreter and import numpy, pandas,
scipy, matplotlib and the analysis package afresh: about 2.5 s of CPU per notebook, a third of
the book's clean build on two cores. This process imports those modules once, then forks one
child per kernel asked for; the child becomes an ordinary ipykernel (``IPKernelApp``) with the
connection file, environment and working folder the kernel manager chose, so a notebook runs in
it exactly as in a kernel started cold (no name is bound in the user namespace; only
``sys.modules`` is warm). The same idea as the forkserver of :mod:`multiprocessing` and the
preloading of web servers such as gunicorn; Jupyter has no warm-kernel mechanism of its own.

Protocol, one connection per kernel on a Unix socket: the client sends one JSON line
``{"argv": kernel command, "env": {...}, "cwd": "..."}``; the server answers ``{"pid": N}`` (or
``{"error": "..."}``) and, when that child exits, ``{"returncode": R}``. The server prints
``ready`` once its modules are imported, and exits when its standard input closes (the builder
ended). The client side is :mod:`analysis.book.warm_kernels`.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import selectors
import signal
import socket
import sys
import traceback

INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def preload(modules) -> list[str]:
    """Import ``modules`` (as the kernel would: matplotlib with the inline backend); return those that failed."""
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
    failed = []
    for name in ["ipykernel.kernelapp", "ipykernel.ipkernel", *modules]:
        try:
            importlib.import_module(name)
        except Exception:  # the notebook's own import will raise it, in its cell, as in a cold kernel
            failed.append(name)
    return failed


def kernel_arguments(argv: list[str]) -> list[str]:
    """The ipykernel arguments of a kernel command ``[python, -m, ipykernel_launcher, ARGS...]``
    run by this interpreter; ValueError for any other command (that kernel is not ours to fork)."""
    if len(argv) < 3 or argv[1:3] != ["-m", "ipykernel_launcher"] or os.path.realpath(argv[0]) != os.path.realpath(sys.executable):
        raise ValueError(f"not an ipykernel of {sys.executable}: {argv[:3]}")
    return argv[3:]


def run_kernel(args: list[str]) -> None:
    """Become an ipykernel, as ``ipykernel_launcher`` does, and serve until shut down."""
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]  # ipykernel_launcher's first step; the shell puts the working folder back
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(args)
    if "matplotlib.pyplot" in sys.modules:
        # pyplot was imported before a shell existed, so the inline backend could not hook into it;
        # hook it now, as importing the backend inside the kernel would have done
        from IPython.core.pylabtools import activate_matplotlib
        from matplotlib import get_backend
        from matplotlib_inline.backend_inline import configure_inline_support

        if get_backend() == INLINE_BACKEND:
            activate_matplotlib(INLINE_BACKEND)
            configure_inline_support(app.shell, INLINE_BACKEND)
    app.start()


def _child(request: dict, inherited) -> None:
    """In the forked child: detach, take the requested environment and folder, run the kernel, exit."""
    code = 1
    try:
        for item in inherited:
            item.close()
        os.setsid()  # its own process group, as jupyter_client starts kernels
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(2, 1)  # the server's stdout is the builder's pipe for "ready"; the kernel logs to stderr
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        run_kernel(kernel_arguments(request["argv"]))
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 0
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            import atexit

            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _send(conn: socket.socket, message: dict) -> None:
    try:
        conn.sendall((json.dumps(message) + "\n").encode())
    except OSError:  # the client went away; the kernel is reaped all the same
        pass


def _read_request(conn: socket.socket) -> dict:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk:
            raise ValueError("the client closed the connection before its request")
        data += chunk
    return json.loads(data)


def serve(path: str, modules) -> None:
    """Preload ``modules``, then fork a kernel per request on the Unix socket ``path``."""
    failed = preload(modules)
    # the preloaded objects go to the permanent generation (Python's advice before fork without
    # exec): a kernel's collections skip them (IPython's exit collection took 0.12 s) and their
    # pages stay shared with the server
    gc.freeze()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    selector.register(sys.stdin, selectors.EVENT_READ)
    print("ready" + ("" if not failed else " (not preloaded: " + ", ".join(failed) + ")"), flush=True)
    children: dict[int, socket.socket] = {}
    try:
        while True:
            for key, _ in selector.select(timeout=0.05):
                if key.fileobj is sys.stdin:
                    if not sys.stdin.buffer.read1(4096):
                        return  # the builder is gone
                    continue
                conn, _ = listener.accept()
                try:
                    request = _read_request(conn)
                    kernel_arguments(request["argv"])
                except (ValueError, KeyError, OSError) as err:
                    _send(conn, {"error": str(err)})
                    conn.close()
                    continue
                pid = os.fork()
                if pid == 0:
                    _child(request, [listener, conn, *children.values()])
                children[pid] = conn
                _send(conn, {"pid": pid})
            _reap(children)
    finally:
        listener.close()
        try:
            os.unlink(path)
        except OSError:
            pass


def _reap(children: dict) -> None:
    """Collect every child that has exited and tell its client the return code."""
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = children.pop(pid, None)
        if conn is not None:
            _send(conn, {"returncode": os.waitstatus_to_exitcode(status)})
            conn.close()


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2:])
