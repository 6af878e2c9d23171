"""Run report notebooks with papermill in a warm kernel.

Starting a kernel and importing pandas, matplotlib and assesskit costs about 2.5 s; executing a
report page in a kernel that has done it already costs a few tenths of a second (measured in
``benchmarks/bench_report.py``). A :class:`NotebookRunner` therefore keeps one kernel per worker
and runs page after page in it through papermill, resetting the user namespace between pages
(imported modules and the evaluation cache of :mod:`assesskit.report.context` stay).

Kernels started from many processes at once race for TCP ports (papermill issue #511, "ZMQError:
Address already in use"); the fix given there is to start the kernel with the IPC transport
(Unix sockets in a private folder), which uses no port at all. The kernel is always named
(``python3``) and its kernelspec, written to the runner's private folder, runs this interpreter,
so the notebooks run in the same environment as the command.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

KERNEL_NAME = "python3"
CELL_TIMEOUT = 300  # seconds for one cell of a report page


def write_kernelspec(root: Path) -> Path:
    """Write a ``python3`` kernelspec running ``sys.executable`` under ``root/kernels``."""
    spec_dir = root / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (ipykernel)", "language": "python",
            "env": {"PYTHONHASHSEED": "0", "MPLBACKEND": "Agg"}}
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1), encoding="utf-8")
    return root / "kernels"


def _warm_engine():
    """papermill's nbclient engine, closing its kernel client after each notebook (with a kernel
    manager passed in, nbclient leaves the client's sockets open)."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine
    from papermill.utils import merge_kwargs, remove_args

    class WarmKernelEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False,
                                     stdout_file=None, stderr_file=None, start_timeout=60,
                                     execution_timeout=None, **kwargs):
            kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
            final = merge_kwargs(kwargs, timeout=execution_timeout, startup_timeout=start_timeout,
                                 kernel_name=kernel_name, log_output=log_output,
                                 stdout_file=stdout_file, stderr_file=stderr_file)
            client = PapermillNotebookClient(nb_man, **final)
            try:
                return client.execute()
            finally:
                if client.kc is not None:
                    client.kc.stop_channels()

    return WarmKernelEngine


ENGINE_NAME = "assesskit-warm"


class NotebookRunner:
    """One warm kernel that executes notebooks one after another (papermill).

    Use as a context manager, or call :meth:`close`.

    Examples
    --------
    >>> with NotebookRunner() as runner:  # doctest: +SKIP
    ...     nb = runner.run("notebooks/unit-report.ipynb", {"unit": "511781"})
    """

    def __init__(self) -> None:
        from jupyter_client.kernelspec import KernelSpecManager
        from papermill.engines import papermill_engines

        papermill_engines.register(ENGINE_NAME, _warm_engine())
        # a short private folder: IPC socket paths must stay under ~100 characters
        self.folder = Path(tempfile.mkdtemp(prefix="ak-"))
        self.spec_manager = KernelSpecManager(kernel_dirs=[str(write_kernelspec(self.folder))])
        self.km = None
        self.pages_run = 0

    def _start(self) -> None:
        from jupyter_client.manager import KernelManager

        self.km = KernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=self.spec_manager,
                                transport="ipc", ip=str(self.folder / "k"),
                                connection_file=str(self.folder / "kernel.json"))
        self.km.start_kernel(cwd=str(self.folder), env={**os.environ,
                                                        "JUPYTER_RUNTIME_DIR": str(self.folder),
                                                        "IPYTHONDIR": str(self.folder / "ipy")})

    def _reset(self) -> None:
        """Clear the user namespace (modules and caches stay) and restart execution counts."""
        kc = self.km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=60)
            kc.execute_interactive("get_ipython().reset(new_session=True)", silent=True,
                                   store_history=False, timeout=60)
        finally:
            kc.stop_channels()

    def run(self, notebook, parameters: dict, *, cwd: str | Path | None = None):
        """Execute ``notebook`` (a path or a notebook node) with ``parameters``; return the
        executed notebook.

        Raises
        ------
        papermill.PapermillExecutionError
            A cell raised; the kernel stays usable for the next page.
        """
        import nbformat
        import papermill

        if not isinstance(notebook, (str, Path)):  # a notebook node: papermill wants a file
            path = self.folder / "page.ipynb"
            nbformat.write(notebook, path)
            notebook = path
        if self.km is None or not self.km.is_alive():
            self._start()
        else:
            self._reset()
        try:
            nb = papermill.execute_notebook(
                str(notebook), None, parameters=parameters, engine_name=ENGINE_NAME,
                kernel_name=KERNEL_NAME, km=self.km, progress_bar=False, log_output=False,
                request_save_on_cell_execute=False, execution_timeout=CELL_TIMEOUT,
                cwd=str(cwd or Path(notebook).parent))
        except Exception:
            if not self.km.is_alive():  # a dead kernel is replaced for the next page
                self.km = None
            raise
        finally:
            self.pages_run += 1
        for cell in nb.cells:  # papermill gives the injected cell a random id: fix it
            if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
                cell["id"] = "injected-parameters"
        return nb

    def kill(self) -> None:
        """Kill the kernel at once and remove the private folder.

        Safe in a signal handler: it sends no message and needs no event loop (it kills the
        kernel's process group, which jupyter_client starts in a session of its own).
        """
        provisioner = getattr(self.km, "provisioner", None)
        pgid, pid = getattr(provisioner, "pgid", None), getattr(provisioner, "pid", None)
        try:
            if pgid and hasattr(os, "killpg"):
                os.killpg(pgid, signal.SIGKILL)
            elif pid:
                os.kill(pid, signal.SIGKILL)
        except OSError:  # already gone
            pass
        self.km = None
        shutil.rmtree(self.folder, ignore_errors=True)

    def close(self) -> None:
        """Shut the kernel down and remove the private folder."""
        if self.km is not None:
            try:
                self.km.shutdown_kernel(now=True)
            finally:
                self.km = None
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> NotebookRunner:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
