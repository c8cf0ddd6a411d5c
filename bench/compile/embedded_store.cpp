// Compile-time probe (scripts/bench.sh compile): the embedded store (memory,
// SQLite, filesystem) from its one include, used once.
#include <strata/embedded.hpp>

int main(int argc, char** argv) {
  auto store = strata::open_embedded_store(argc > 1 ? argv[1] : "/tmp/strata-compile-probe");
  store.set("k", "v");
  return store.get("k").found() ? 0 : 1;
}
