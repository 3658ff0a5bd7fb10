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


def notebook_imports(paths) -> list[str]:
    """Every module the code cells of the notebooks at ``paths`` import by name, sorted."""
    modules = set()
    for path in paths:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            code = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
            try:
                tree = ast.parse(code)
            except SyntaxError:  # the kernel will report it, in its cell
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    modules.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules.add(node.module)
    return sorted(modules)


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
    """An ``AsyncKernelManager`` whose kernels ``server`` forks (for papermill's ``kernel_manager_class``)."""
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_client.provisioning import LocalProvisioner

    class WarmProvisioner(LocalProvisioner):
        async def launch_kernel(self, cmd, **kwargs):
            self.process = server.launch(cmd, kwargs.get("env") or os.environ, kwargs.get("cwd") or os.getcwd())
            self.pid = self.pgid = self.process.pid  # the child called setsid
            self.cwd = kwargs.get("cwd", Path.cwd())
            return self.connection_info

    class WarmKernelManager(AsyncKernelManager):
        async def _async_pre_start_kernel(self, **kw):
            if self.provisioner is None:
                self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
                self.provisioner = WarmProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self)
            return await super()._async_pre_start_kernel(**kw)

    return WarmKernelManager
