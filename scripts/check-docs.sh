#!/usr/bin/env bash
# Generates the API reference (build/docs/html) from the public headers and
# fails on any Doxygen warning: an undocumented public entity, a broken
# reference or a malformed comment. The Doxyfile is docs/Doxyfile.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

mkdir -p build/docs
if ! doxygen docs/Doxyfile; then
  echo "check-docs: Doxygen found problems in the public headers:" >&2
  cat build/docs/warnings.log >&2
  exit 1
fi
if [[ -s build/docs/warnings.log ]]; then  # a warning Doxygen did not count as failing
  cat build/docs/warnings.log >&2
  exit 1
fi
echo "check-docs: API reference in build/docs/html, no warnings"
