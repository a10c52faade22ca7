"""The runner ``smoke dev`` loads: the interpreter, this SDK and what the plugin imports, built into
a component once; the author's own modules are read again at every call from the project folder
the host hands it (read-only, at ``/project``), so an edit needs no new component and no compile.

``smoke-plugin-build --dev MODULE -o RUNNER.wasm`` builds it. The build imports MODULE once, so
the snapshot holds every module it imports (the standard library's, installed packages); an edit
that imports one more that the snapshot lacks fails with ModuleNotFoundError, and ``smoke dev``
builds the runner again.
"""

from __future__ import annotations

import importlib
import sys

PROJECT = "/project"


def _only_code(event: str, args: tuple) -> None:
    """The folder is handed over for the plugin's code and nothing else: a built component has no
    files, so a plugin that read a file of the project would pass here and fail when built."""
    if event == "open" and args and isinstance(args[0], str) and args[0].startswith(PROJECT + "/"):
        if not args[0].endswith((".py", ".pyc")):
            raise PermissionError(f"a plugin has no files: {args[0]} (smoke dev hands it only its code)")


_guarded = False


def _fresh(module: str, built_in: str):
    """MODULE as the project folder holds it now: the author's modules (those the build read from
    ``built_in``) are forgotten and imported again from ``/project``."""
    prefix = built_in.rstrip("/") + "/"
    for name, loaded in list(sys.modules.items()):
        if (getattr(loaded, "__file__", None) or "").startswith(prefix):
            del sys.modules[name]
    sys.path[:] = [PROJECT] + [p for p in sys.path if p not in (built_in, PROJECT)]
    global _guarded
    if not _guarded:
        sys.addaudithook(_only_code)
        _guarded = True
    sys.dont_write_bytecode = True  # the folder is read-only
    # Not importlib.invalidate_caches(): it imports importlib.metadata, which the snapshot may
    # lack. Nothing under /project was cached at build time; this drops what a call may have.
    sys.path_importer_cache.pop(PROJECT, None)
    return importlib.import_module(module)


def _root(module: str) -> str:
    """The folder MODULE was imported from at build time (as the build mounted it): the author's
    modules are those under it."""
    path = sys.modules[module].__file__ or ""
    levels = module.count(".") + (2 if path.endswith("__init__.py") else 1)
    for _ in range(levels):
        path = path.rsplit("/", 1)[0]
    return path


def runner(module: str) -> type:
    """The ``Guest`` class of the runner: each call imports MODULE afresh and delegates to its
    ``Guest``. MODULE must have been imported already (the entry does, at build time)."""
    from wit_world import exports

    built_in = _root(module)

    from ._wit import _fault

    def guest():
        try:
            return _fresh(module, built_in).Guest()
        except Exception as e:  # the module does not import: a fault in the plugin, saying where
            _fault(e)
            raise

    class Guest(exports.Guest):
        def info(self):
            return guest().info()

        def plan(self, input):
            return guest().plan(input)

        def check(self, input):
            return guest().check(input)

    Guest.__name__ = Guest.__qualname__ = "Guest"
    return Guest
