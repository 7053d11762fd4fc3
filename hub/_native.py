"""The compiled hot path: the normalize modules built by mypyc, and when they may run.

The worker's CPU per event is mostly the hub's own Python per field (docs/benchmarks.md). mypyc
compiles the modules in :data:`MODULES` — plain, type-annotated Python, unchanged — to C
extensions placed next to their sources (``make setup`` runs ``python -m hub._native build``).
The ``.py`` files stay the reference: ``HUB_PURE_PYTHON=1`` runs them, and the tests compare both
on every fixture.

Python imports an extension before a source of the same name, so a compiled module that no longer
matches its source would run old code without a sign. The build therefore records a digest of the
sources, and :func:`guard` (run by ``hub/__init__.py`` before any of these modules is imported)
makes them load from their ``.py`` files when the digest is missing or differs, or when
``HUB_PURE_PYTHON`` is set. A machine without a C compiler or mypy runs the pure Python modules.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.abc
import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path

# Everything a DVCQG dossier passes through between the consumed bytes and the Avro encoder.
MODULES = ("hub.contract.headers", "hub.normalize.budget", "hub.normalize.core", "hub.normalize.fields",
           "hub.normalize.validate", "hub.normalize.dialects.dvcqg", "hub.processors.process")
_GROUP = "hub._compiled"  # mypyc's shared library: hub/_compiled__mypyc.<abi>.so
_ROOT = Path(__file__).resolve().parent.parent
_STAMP = Path(__file__).with_name("_compiled.json")
_TRUE = {"1", "true", "yes", "on"}  # as hub.settings reads booleans


def source(module: str) -> Path:
    return _ROOT.joinpath(*module.split(".")).with_suffix(".py")


def digest() -> str:
    """SHA-256 over the compiled modules' names and sources, and the Python version they are for."""
    h = hashlib.sha256(sys.version.encode())
    for module in MODULES:
        h.update(module.encode() + b"\0" + source(module).read_bytes() + b"\0")
    return h.hexdigest()


def built() -> bool:
    """Whether compiled modules exist and were built from the sources as they are now."""
    try:
        return json.loads(_STAMP.read_text())["digest"] == digest()
    except (OSError, ValueError, KeyError, TypeError):
        return False


def pure_python_requested(env: dict[str, str] | os._Environ = os.environ) -> bool:
    return env.get("HUB_PURE_PYTHON", "").strip().lower() in _TRUE


class _SourcesFirst(importlib.abc.MetaPathFinder):
    """Loads :data:`MODULES` from their ``.py`` files, ahead of any extension beside them."""

    def find_spec(self, name, path=None, target=None):  # noqa: ANN001 - the finder protocol
        if name not in MODULES:
            return None
        return importlib.util.spec_from_file_location(name, source(name))


def guard() -> None:
    """Run the sources unless compiled modules of exactly these sources exist and are wanted."""
    wanted = not pure_python_requested() and built()
    if not wanted and not any(isinstance(f, _SourcesFirst) for f in sys.meta_path):
        sys.meta_path.insert(0, _SourcesFirst())


def in_use() -> bool:
    """Whether this process runs the compiled modules (for the worker's start line and the tests)."""
    from hub.normalize import fields

    return Path(fields.__file__ or "").suffix != ".py"


def _artifacts() -> list[Path]:
    dirs = {source(m).parent for m in MODULES}
    names = {source(m).stem for m in MODULES} | {_GROUP.rsplit(".", 1)[1] + "__mypyc"}
    return [p for d in dirs for p in d.glob("*.so") if p.name.split(".", 1)[0] in names]


def clean() -> None:
    for path in _artifacts():
        path.unlink()
    _STAMP.unlink(missing_ok=True)


def build(work: Path, *, force: bool = False) -> bool:
    """Compile :data:`MODULES` with mypyc (C compiler needed); True when compiled modules are ready.

    ``work`` holds the generated C and objects. On any failure the old artifacts are removed and
    the hub runs the pure Python modules; the reason is printed.
    """
    if built() and not force:
        return True
    clean()
    try:
        from mypyc.build import mypycify
        from setuptools import setup
    except ImportError as exc:
        print(f"hub._native: not compiled ({exc}); the pure Python modules run (slower)")
        return False
    work.mkdir(parents=True, exist_ok=True)
    lib = work / "lib"
    shutil.rmtree(lib, ignore_errors=True)
    cwd = Path.cwd()
    # setuptools reads pyproject.toml of the working directory: build elsewhere, copy back below.
    os.chdir(work)
    try:
        # Type errors in modules that are imported but not compiled are not this build's business.
        extensions = mypycify(["--follow-imports=silent", *(str(source(m)) for m in MODULES)], opt_level="3",
                              group_name=_GROUP, target_dir=str(work / "c"))
        # The compiler's command lines go to a log; mypy's and gcc's own messages still reach the terminal.
        with open(work / "build.log", "w") as log, contextlib.redirect_stdout(log):
            setup(name="hub-compiled", ext_modules=extensions,
                  script_args=["build_ext", "--build-lib", str(lib), "--build-temp", str(work / "obj")])
    except (SystemExit, Exception) as exc:  # noqa: BLE001 - a failed build must leave a working hub
        print(f"hub._native: not compiled ({type(exc).__name__}: {exc}); the pure Python modules run (slower)")
        return False
    finally:
        os.chdir(cwd)
    for built_file in lib.rglob("*.so"):
        shutil.copy2(built_file, _ROOT / built_file.relative_to(lib))
    _STAMP.write_text(json.dumps({"digest": digest(), "modules": list(MODULES)}) + "\n")
    print(f"hub._native: compiled {len(MODULES)} modules")
    return True


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "status"
    if command == "build":
        build(_ROOT / "var" / "native", force="--force" in argv)
        return 0  # the pure Python modules are a working hub: never fail `make setup` over this
    if command == "clean":
        clean()
        return 0
    print(json.dumps({"built": built(), "pure_python_requested": pure_python_requested(), "in_use": in_use()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
