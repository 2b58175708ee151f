"""PEP 517 backend of taec: setuptools' own (setup.py drives CMake), found offline.

pip and `python -m build` build in an isolated environment that hides the interpreter's
site-packages and would install `setuptools` (and then `wheel`) from a package index; taec builds
without one. When setuptools is not importable there, the base interpreter's site directories
(where Debian's python3-setuptools and python3-wheel live) are appended, after everything else,
and requirements already importable are not asked for.
"""

import importlib.util
import re
import site
import sys

try:
    import setuptools  # noqa: F401
except ImportError:
    for path in site.getsitepackages([sys.base_prefix]):
        if path not in sys.path:
            sys.path.append(path)

from setuptools import build_meta as _setuptools  # noqa: E402
from setuptools.build_meta import *  # noqa: F401,F403,E402


def _missing(requirements):
    return [r for r in requirements if importlib.util.find_spec(re.split(r"[^A-Za-z0-9_.-]", r, maxsplit=1)[0]) is None]


def get_requires_for_build_wheel(config_settings=None):
    return _missing(_setuptools.get_requires_for_build_wheel(config_settings))


def get_requires_for_build_sdist(config_settings=None):
    return _missing(_setuptools.get_requires_for_build_sdist(config_settings))


def get_requires_for_build_editable(config_settings=None):
    return _missing(_setuptools.get_requires_for_build_editable(config_settings))
