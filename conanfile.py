"""Conan 2 recipe for strata: a header-only library with one component per
backend, so that a consumer who wants the embedded stack does not pull hiredis
or libpq, and one who wants Redis gets hiredis.

The component and target names must equal what the CMake package exports
(strata::core, strata::sqlite, ...): scripts/check-conan-recipe.py compares
them in scripts/test.sh, so the two cannot drift.
"""
import os
import re

from conan import ConanFile
from conan.errors import ConanInvalidConfiguration
from conan.tools.build import check_min_cppstd
from conan.tools.files import copy, load
from conan.tools.layout import basic_layout
from conan.tools.scm import Version

# component -> (the option that enables it, the Conan packages it needs)
COMPONENTS = {
    "sqlite": ("with_sqlite", ["sqlite3::sqlite3"]),
    "redis": ("with_redis", ["hiredis::hiredis"]),
    "postgres": ("with_postgres", ["libpq::libpq"]),
    "s3": ("with_s3", ["libcurl::libcurl", "openssl::crypto", "pugixml::pugixml"]),
    "json": ("with_json", ["nlohmann_json::nlohmann_json"]),
    "prometheus": ("with_prometheus", ["prometheus-cpp::prometheus-cpp-core"]),
    # The downstream kit (strata/testing/, strata/bench/): for a consumer's own
    # tests and benchmarks, so GoogleTest and Google Benchmark only when asked.
    "testing": ("with_testing", ["gtest::gtest"]),
    "bench": ("with_bench", ["benchmark::benchmark"]),
}

# The oldest compilers that build strata's C++20 (concepts, <span>, ranges,
# designated initializers, class-type template parameters).
MINIMUM_COMPILERS = {
    "gcc": "11",
    "clang": "14",
    "apple-clang": "14",
    "msvc": "193",
}


class StrataConan(ConanFile):
    name = "strata"
    description = "Batch-first, cache-coherent repository over tiered storage"
    license = "MIT"
    topics = ("cache", "redis", "postgresql", "s3", "tiered-storage", "header-only")
    package_type = "header-library"
    settings = "os", "arch", "compiler", "build_type"
    options = {option: [True, False] for option, _ in COMPONENTS.values()}
    default_options = {
        "with_sqlite": True,  # the embedded default
        "with_redis": False,
        "with_postgres": False,
        "with_s3": False,
        "with_json": False,
        "with_prometheus": False,
        "with_testing": False,
        "with_bench": False,
    }
    exports_sources = "include/*", "LICENSE*"
    no_copy_source = True

    def set_version(self):
        header = load(self, os.path.join(self.recipe_folder, "include", "strata", "version.hpp"))
        parts = [re.search(rf"#define STRATA_VERSION_{p} (\d+)", header).group(1)
                 for p in ("MAJOR", "MINOR", "PATCH")]
        self.version = ".".join(parts)

    def layout(self):
        basic_layout(self, src_folder=".")

    def requirements(self):
        self.requires("boost/[>=1.74]", transitive_headers=True)
        self.requires("fmt/[>=9]", transitive_headers=True)
        self.requires("xxhash/[>=0.8]", transitive_headers=True)
        if self.options.with_sqlite:
            self.requires("sqlite3/[>=3.40]", transitive_headers=True)
        if self.options.with_redis:
            self.requires("hiredis/[>=1.1]", transitive_headers=True)
        if self.options.with_postgres:
            self.requires("libpq/[>=15]", transitive_headers=True)
        if self.options.with_s3:
            self.requires("libcurl/[>=7.88]", transitive_headers=True)
            self.requires("openssl/[>=3]", transitive_headers=True)
            self.requires("pugixml/[>=1.13]", transitive_headers=True)
        if self.options.with_json:
            self.requires("nlohmann_json/[>=3.11]", transitive_headers=True)
        if self.options.with_prometheus:
            self.requires("prometheus-cpp/[>=1.0]", transitive_headers=True)
        if self.options.with_testing:
            self.requires("gtest/[>=1.12]", transitive_headers=True)
        if self.options.with_bench:
            self.requires("benchmark/[>=1.7]", transitive_headers=True)

    def package_id(self):
        self.info.clear()

    def validate(self):
        check_min_cppstd(self, 20)
        compiler = str(self.settings.compiler)
        minimum = MINIMUM_COMPILERS.get(compiler)
        if minimum and Version(self.settings.compiler.version) < minimum:
            raise ConanInvalidConfiguration(
                f"strata needs C++20: {compiler} {minimum} or newer "
                f"(this is {self.settings.compiler.version})")

    def package(self):
        copy(self, "LICENSE*", self.source_folder, os.path.join(self.package_folder, "licenses"))
        copy(self, "*.hpp", os.path.join(self.source_folder, "include"),
             os.path.join(self.package_folder, "include"))

    def package_info(self):
        self.cpp_info.set_property("cmake_file_name", "strata")
        self.cpp_info.bindirs = []
        self.cpp_info.libdirs = []

        core = self.cpp_info.components["core"]
        core.set_property("cmake_target_name", "strata::core")
        core.requires = ["boost::headers", "fmt::fmt", "xxhash::xxhash"]
        core.bindirs = []
        core.libdirs = []

        for name, (option, requires) in COMPONENTS.items():
            if not self.options.get_safe(option):
                continue
            component = self.cpp_info.components[name]
            component.set_property("cmake_target_name", f"strata::{name}")
            component.requires = ["core"] + requires
            component.bindirs = []
            component.libdirs = []
