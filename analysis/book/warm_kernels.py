"""Warm kernels for papermill: the client side of :mod:`analysis.book.kernel_server`.

:class:`KernelServer` starts the fork server (it imports what the notebooks import while the
builder validates the inputs); :func:`kernel_manager_class` gives the jupyter_client kernel
manager that papermill is handed (``kernel_manager_class=``), whose provisioner asks the server
for a forked kernel instead of starting an interpreter. Everything else (ports, connection file,
messaging, shutdown, interrupts) is jupyter_client's own: :class:`ForkedKernel` stands in for the
``subprocess.Popen`` its :class:`~jupyter_client.provisioning.LocalProvisioner` keeps.
"""

from __future__ import annotations

import ast
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from pathlib import Path

import nbformat

from analysis.book.params import ROOT


#: The parts of the package a chapter's kernel runs: the engine, the review, the figures, the
#: multiverse and the two book modules notebooks use. Their imports inside functions (myst-nb in
#: ``glue_value``, matplotlib's Figure, the engine's models) are preloaded too: a kernel would
#: otherwise import them in its first cell (matplotlib alone, 0.6 s in a chapter without a figure).
KERNEL_PACKAGES = ("analysis/meta", "analysis/review", "analysis/figures", "analysis/multiverse",
                   "analysis/book/glue.py", "analysis/book/params.py", "analysis/escape.py")


def _imports(code: str) -> set[str]:
    """The modules ``code`` imports by absolute name, anywhere in it."""
    try:
        tree = ast.parse(code)
    except SyntaxError:  # the kernel will report it, in its cell
        return set()
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def notebook_imports(paths) -> list[str]:
    """Every module the code cells of the notebooks at ``paths`` import by name, and every module
    the kernel's parts of the package (:data:`KERNEL_PACKAGES`) import, anywhere, sorted."""
    modules = set()
    for path in paths:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                modules |= _imports("\n".join(line for line in cell.source.splitlines()
                                              if not line.lstrip().startswith(("%", "!"))))
    for part in KERNEL_PACKAGES:
        root = ROOT / part
        for source in ([root] if root.suffix else sorted(root.rglob("*.py"))):
            modules |= _imports(source.read_text(encoding="utf-8"))
            modules.add(".".join(source.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"))
    return sorted(m for m in modules if m != "__main__" and not m.endswith(".__main__"))


def _read_line(conn: socket.socket, buffer: bytearray, timeout: float | None) -> str | None:
    """One line from ``conn`` (buffered in ``buffer``); None if none came within ``timeout``, "" at its end."""
    conn.settimeout(timeout)
    while b"\n" not in buffer:
        try:
            chunk = conn.recv(4096)
        except (TimeoutError, BlockingIOError, socket.timeout):
            return None
        except OSError:
            chunk = b""
        if not chunk:
            return ""
        buffer.extend(chunk)
    line, _, rest = bytes(buffer).partition(b"\n")
    buffer[:] = rest
    return line.decode()


class ForkedKernel:
    """A kernel forked by the server, with the part of ``subprocess.Popen`` jupyter_client uses."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int, conn: socket.socket, buffer: bytearray):
        self.pid, self._conn, self._buffer, self.returncode = pid, conn, buffer, None

    def _read(self, timeout: float | None) -> None:
        if self.returncode is not None:
            return
        line = _read_line(self._conn, self._buffer, timeout)
        if line is None:
            return
        self.returncode = json.loads(line)["returncode"] if line else -9  # the server died: the kernel with it
        self._conn.close()

    def poll(self) -> int | None:
        self._read(0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        self._read(timeout)
        if self.returncode is None:
            raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        import signal

        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        import signal

        self.send_signal(signal.SIGTERM)


class KernelServer:
    """The fork server of one build (a context manager): started at once, ready when first asked."""

    def __init__(self, notebooks):
        self._dir = tempfile.mkdtemp(prefix="analysis-kernels-")
        self.socket = os.path.join(self._dir, "server.sock")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "analysis.book.kernel_server", self.socket, *notebook_imports(notebooks)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT, text=True)
        self._ready = None
        self._lock = threading.Lock()  # the notebooks' threads ask at once; one reads the line

    def ready(self) -> str:
        """Wait until the server has imported its modules; its first line (``ready ...``)."""
        with self._lock:
            if self._ready is None:
                self._ready = self._process.stdout.readline().strip()
        if not self._ready.startswith("ready"):
            raise RuntimeError(f"the kernel server did not start (exit status {self._process.poll()})")
        return self._ready

    def launch(self, argv: list[str], env: dict, cwd: str) -> ForkedKernel:
        """Fork one kernel running ``argv`` (an ipykernel command) with ``env`` in ``cwd``."""
        self.ready()
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(self.socket)
        conn.sendall((json.dumps({"argv": list(argv), "env": dict(env), "cwd": str(cwd)}) + "\n").encode())
        buffer = bytearray()
        reply = json.loads(_read_line(conn, buffer, None) or '{"error": "the kernel server closed the connection"}')
        if "pid" not in reply:
            conn.close()
            raise RuntimeError(f"the kernel server refused: {reply['error']}")
        return ForkedKernel(reply["pid"], conn, buffer)

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.stdin.close()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process.stdout.close()
        try:
            os.unlink(self.socket)
        except OSError:
            pass
        os.rmdir(self._dir)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def kernel_manager_class(server: KernelServer):
    """An ``AsyncKernelManager`` whose kernels ``server`` forks (for papermill's ``kernel_manager_class``).

    Two waits of jupyter_client that cost a warm kernel most of its start are made exact: the
    client is ready when the IOPub ``idle`` of its ``kernel_info`` request has arrived (jupyter_client
    waits for 0.2 s of IOPub silence instead), and a kernel's exit is polled every 10 ms (100 ms)."""
    from jupyter_client.asynchronous import AsyncKernelClient
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_client.provisioning import LocalProvisioner
    from traitlets import default

    class WarmProvisioner(LocalProvisioner):
        async def launch_kernel(self, cmd, **kwargs):
            self.process = server.launch(cmd, kwargs.get("env") or os.environ, kwargs.get("cwd") or os.getcwd())
            self.pid = self.pgid = self.process.pid  # the child called setsid
            self.cwd = kwargs.get("cwd", Path.cwd())
            return self.connection_info

    class WarmKernelClient(AsyncKernelClient):
        async def wait_for_ready(self, timeout: float | None = None) -> None:
            await wait_for_ready(self, timeout)

    class WarmKernelManager(AsyncKernelManager):
        @default("client_factory")
        def _warm_client_factory(self):
            return WarmKernelClient

        async def _async_pre_start_kernel(self, **kw):
            if self.provisioner is None:
                self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
                self.provisioner = WarmProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self)
            return await super()._async_pre_start_kernel(**kw)

        async def _async_finish_shutdown(self, waittime=None, pollinterval=0.1, restart=False):
            await super()._async_finish_shutdown(waittime, min(pollinterval, 0.01), restart)

    return WarmKernelManager


async def wait_for_ready(client, timeout: float | None = None) -> None:
    """Until ``client``'s kernel has answered a ``kernel_info`` request on the shell channel and
    its IOPub ``idle`` for that request has arrived: then IOPub is connected and holds nothing of
    the start. As jupyter_client's ``wait_for_ready``, a request that IOPub missed (it was not yet
    subscribed) is sent again; RuntimeError if the kernel dies or ``timeout`` seconds pass."""
    import time
    from queue import Empty

    deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
    while True:
        request = client.kernel_info()
        try:
            reply = await client.shell_channel.get_msg(timeout=1)
        except Empty:
            reply = None
        if reply is not None and reply["msg_type"] == "kernel_info_reply":
            while True:
                try:
                    msg = await client.iopub_channel.get_msg(timeout=0.2)
                except Empty:
                    break  # IOPub missed this request: ask again
                if (msg["parent_header"].get("msg_id") == request and msg["msg_type"] == "status"
                        and msg["content"].get("execution_state") == "idle"):
                    client._handle_kernel_info_reply(reply)
                    return
        if not await client._async_is_alive():
            raise RuntimeError("Kernel died before replying to kernel_info")
        if time.monotonic() > deadline:
            raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
