#!/usr/bin/env python3
"""Checks conanfile.py without Conan (it cannot be installed on the CI
machine): both recipes compile, and the components and CMake target names the
recipe declares equal the targets the CMake package exports, so the two
cannot drift.

    scripts/check-conan-recipe.py PREFIX/share/cmake/strata/strataTargets.cmake

The recipe's package_info() is run for real, against stand-ins for the few
Conan classes it touches, with every backend option on.
"""
import importlib.util
import py_compile
import re
import sys
import tempfile
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def fail(message):
    print(f"check-conan-recipe: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


class Component:
    def __init__(self):
        self.properties = {}
        self.requires = []

    def set_property(self, name, value):
        self.properties[name] = value


class Components(dict):
    """cpp_info.components: a component springs into being when named."""

    def __missing__(self, name):
        self[name] = Component()
        return self[name]


class CppInfo(Component):
    def __init__(self):
        super().__init__()
        self.components = Components()


class Options(dict):
    def __getattr__(self, name):
        return self[name]

    def get_safe(self, name):
        return self.get(name)


def stub_conan():
    """Just enough of the conan package for the recipe module to import."""
    def module(name, **attributes):
        m = types.ModuleType(name)
        m.__dict__.update(attributes)
        sys.modules[name] = m
        return m

    class ConanFile:  # noqa: D401 - a stand-in
        pass

    module("conan", ConanFile=ConanFile)
    module("conan.errors", ConanInvalidConfiguration=Exception)
    module("conan.tools")
    module("conan.tools.build", check_min_cppstd=lambda *a: None, can_run=lambda *a: True)
    module("conan.tools.files", copy=lambda *a, **k: None, load=lambda *a: "")
    module("conan.tools.layout", basic_layout=lambda *a, **k: None)
    module("conan.tools.scm", Version=str)
    module("conan.tools.cmake", CMake=object, cmake_layout=lambda *a: None)


def recipe_targets():
    stub_conan()
    spec = importlib.util.spec_from_file_location("strata_recipe", ROOT / "conanfile.py")
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    conanfile = recipe.StrataConan()
    conanfile.options = Options({option: True for option in recipe.StrataConan.options})
    conanfile.cpp_info = CppInfo()
    conanfile.package_info()
    info = conanfile.cpp_info
    if info.properties.get("cmake_file_name") != "strata":
        fail("the recipe's cmake_file_name is not 'strata'")
    targets = {}
    for name, component in info.components.items():
        target = component.properties.get("cmake_target_name")
        if target != f"strata::{name}":
            fail(f"component '{name}' has cmake_target_name {target!r}, expected 'strata::{name}'")
        targets[name] = target
    return set(targets.values())


def required_packages(options):
    """The package names requirements() asks for under `options`."""
    spec = importlib.util.spec_from_file_location("strata_recipe", ROOT / "conanfile.py")
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    conanfile = recipe.StrataConan()
    conanfile.options = Options(options)
    asked = []
    conanfile.requires = lambda reference, **_: asked.append(reference.split("/")[0])
    conanfile.requirements()
    return set(asked)


def check_kit_is_opt_in():
    """GoogleTest and Google Benchmark are required only when their component is asked for."""
    spec = importlib.util.spec_from_file_location("strata_recipe", ROOT / "conanfile.py")
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    defaults = dict(recipe.StrataConan.default_options)
    for option, package in (("with_testing", "gtest"), ("with_bench", "benchmark")):
        if package in required_packages(defaults):
            fail(f"the recipe requires {package} by default")
        if package not in required_packages({**defaults, option: True}):
            fail(f"the recipe does not require {package} with {option}")


def exported_targets(targets_file):
    text = Path(targets_file).read_text()
    return set(re.findall(r"add_library\((strata::\w+) INTERFACE IMPORTED\)", text))


def main():
    if len(sys.argv) != 2:
        fail("usage: check-conan-recipe.py PATH/strataTargets.cmake")
    # Compiled into a temporary directory, and imported without writing
    # bytecode, so the check leaves no __pycache__ in the source tree.
    sys.dont_write_bytecode = True
    with tempfile.TemporaryDirectory() as scratch:
        for recipe in (ROOT / "conanfile.py", ROOT / "test_package" / "conanfile.py"):
            try:
                py_compile.compile(str(recipe), cfile=f"{scratch}/{recipe.parent.name}.pyc", doraise=True)
            except py_compile.PyCompileError as error:
                fail(f"{recipe.relative_to(ROOT)} does not compile: {error}")
    declared = recipe_targets()
    check_kit_is_opt_in()
    exported = exported_targets(sys.argv[1])
    if not exported:
        fail(f"no strata:: targets found in {sys.argv[1]}")
    if declared != exported:
        fail(f"the recipe declares {sorted(declared)} but CMake exports {sorted(exported)}")
    print(f"check-conan-recipe: recipe and CMake package agree on {', '.join(sorted(declared))}")


if __name__ == "__main__":
    main()
