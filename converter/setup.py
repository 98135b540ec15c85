"""Build the portable C core into the package (tinyml_converter._core).

The sources are the firmware's own: usermod_c/core_sources.txt, read from
the checkout beside this folder, or from csrc/ in an sdist (copied there
when the sdist is made). Only the C files are built: the listed assembler
files are the Cortex-M paths, which a PC never selects.
"""

import runpy
import shutil
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent
SDIST_C_DIR = "csrc"


def c_dir() -> Path:
    for d in (HERE / SDIST_C_DIR, HERE.parent / "usermod_c"):
        if (d / "core_sources.txt").is_file():
            return d
    raise SystemExit("tinyml_converter: the C core (usermod_c/core_sources.txt) is not here: "
                     "build from a tinyml checkout or from its sdist")


def core_files(d: Path) -> list:
    """Names of the files the host build needs: the C sources and every header."""
    c_sources = [n for n in (d / "core_sources.txt").read_text().split() if n.endswith(".c")]
    headers = sorted(p.name for p in d.glob("*.h"))
    return ["core_sources.txt", *c_sources, *headers]


class BuildCore(build_ext):
    """Compiles from a copy inside build_temp: sources named with '..' would
    put their object files outside the build folder."""

    def build_extension(self, ext):
        src = c_dir()
        staged = Path(self.build_temp) / "tinyml_core"
        staged.mkdir(parents=True, exist_ok=True)
        names = core_files(src)
        for name in names:
            shutil.copy2(src / name, staged / name)
        ext.sources = ["src/core_module.c"] + [str(staged / n) for n in names if n.endswith(".c")]
        ext.include_dirs = [str(staged)]
        if self.compiler.compiler_type == "unix":
            ext.extra_compile_args = ["-std=c99", "-O2"]
        super().build_extension(ext)


class SdistWithCore(sdist):
    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        src = c_dir()
        out = Path(base_dir) / SDIST_C_DIR
        out.mkdir(exist_ok=True)
        for name in core_files(src):
            shutil.copy2(src / name, out / name)


exported = runpy.run_path(str(HERE / "tinyml_converter" / "c_api.py"))["SIGNATURES"]

setup(
    ext_modules=[Extension("tinyml_converter._core", sources=["src/core_module.c"],
                           export_symbols=sorted(exported), py_limited_api=True)],
    cmdclass={"build_ext": BuildCore, "sdist": SdistWithCore},
    options={"bdist_wheel": {"py_limited_api": "cp39"}},
)
