"""Builds the Python module `taec` (python/): the pure-Python package and the extension
`taec._taec`, which CMake builds against the same library as the CLI.

TAEC_CMAKE_BUILD_DIR=DIR reuses an existing, configured build tree (scripts/build.sh's `build`):
only the `_taec` target is brought up to date there, so CI does not compile the library twice.
Without it, a tree is configured in setuptools' build folder (a fresh machine: minutes).
TAEC_CMAKE_ARGS adds configure arguments; TAEC_BUILD_JOBS sets the parallelism (default: all cores).
"""

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


class CMakeExtension(Extension):
    def __init__(self, name: str) -> None:
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext: Extension) -> None:
        dest = Path(self.get_ext_fullpath(ext.name)).resolve()
        jobs = os.environ.get("TAEC_BUILD_JOBS", str(os.cpu_count() or 1))
        tree = os.environ.get("TAEC_CMAKE_BUILD_DIR")
        if tree:
            build_dir = Path(tree).resolve()
            if not (build_dir / "CMakeCache.txt").exists():
                raise RuntimeError(f"TAEC_CMAKE_BUILD_DIR={tree}: not a configured CMake build tree")
        else:
            build_dir = Path(self.build_temp).resolve() / "cmake"
            generator = ["-G", "Ninja"] if shutil.which("ninja") else []
            subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build_dir), *generator, "-DCMAKE_BUILD_TYPE=Release",
                            "-DTAEC_BUILD_TESTS=OFF", "-DTAEC_BUILD_PYTHON=ON", f"-DPython_EXECUTABLE={sys.executable}",
                            *shlex.split(os.environ.get("TAEC_CMAKE_ARGS", ""))], check=True)
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "_taec", "-j", jobs], check=True)
        built = build_dir / "python" / "taec" / ("_taec" + sysconfig.get_config_var("EXT_SUFFIX"))
        if not built.exists():
            found = sorted(p.name for p in (build_dir / "python" / "taec").glob("_taec*"))
            raise RuntimeError(f"{built} was not built (the tree holds {found}): it was configured for another Python; "
                               f"reconfigure it with -DPython_EXECUTABLE={sys.executable}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, dest)


# setuptools' own scratch goes to build-python/, not into CMake's build/.
(ROOT / "build-python").mkdir(exist_ok=True)
setup(
    packages=["taec"],
    package_dir={"taec": "python/taec"},
    package_data={"taec": ["py.typed", "*.pyi"]},
    ext_modules=[CMakeExtension("taec._taec")],
    cmdclass={"build_ext": CMakeBuild},
    options={"build": {"build_base": "build-python"}, "egg_info": {"egg_base": "build-python"}},
    zip_safe=False,
)
