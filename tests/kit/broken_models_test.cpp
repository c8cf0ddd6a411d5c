// The kit catches broken models: runs strata_broken_models (broken_models.cpp)
// once per model, in a child process, and asserts that it fails, and which
// laws said so; the same laws over the sound models pass.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>
#include <vector>

namespace {

struct LawRun {
  int status = -1;  ///< the child's exit status
  std::string output;
};

/// Runs the broken-models binary on the laws of one prefix.
LawRun run_laws(const std::string& prefix) {
  const std::string command =
      std::string(STRATA_BROKEN_MODELS) + " --gtest_filter='" + prefix + "/*' 2>&1";
  LawRun run;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), buffer.size(), pipe) != nullptr) run.output += buffer.data();
  const int status = ::pclose(pipe);
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

void expect_caught(const std::string& prefix, const std::vector<std::string>& laws) {
  const LawRun run = run_laws(prefix);
  EXPECT_EQ(run.status, 1) << run.output;
  for (const std::string& law : laws)
    EXPECT_NE(run.output.find("[  FAILED  ] " + prefix + "/" + law), std::string::npos)
        << prefix << ": " << law << " did not fail\n"
        << run.output;
}

TEST(BrokenModels, TheSameLawsPassOverTheSoundModels) {
  const LawRun run = run_laws("Sound");
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("[  PASSED  ]"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("[  FAILED  ]"), std::string::npos) << run.output;
}

TEST(BrokenModels, ARepositoryThatDropsWhatItReportedStoredFails) {
  expect_caught("DropsStored",
                {"RepositoryLaws/0.StoredRecordsComeBackByteExactAndFailuresAreNamed",
                 "RepositoryLaws/0.EveryBatchAgreesWithStorageAndAtomicBatchesAreAllOrNone",
                 "RepositoryLaws/0.HostileButValidKeysRoundTripAsDistinctRecords"});
}

TEST(BrokenModels, ARepositoryThatClaimsAtomicBatchesAndAppliesHalfFails) {
  expect_caught("HalfAtomic",
                {"RepositoryLaws/0.EveryBatchAgreesWithStorageAndAtomicBatchesAreAllOrNone"});
}

TEST(BrokenModels, ARepositoryThatReturnsExpiredRecordsFails) {
  expect_caught("ReturnsExpired",
                {"RepositoryLaws/0.AnExpiredRecordIsAbsentFromLoadScanAndTheEraseCount"});
}

TEST(BrokenModels, ACacheThatKeepsAnEntryAfterEraseFails) {
  expect_caught("KeepsErased", {"CacheLaws/0.EraseAndClearLeaveNothingBehind",
                                "CacheLaws/0.ABatchEraseDropsEveryKeyItIsGivenAndNoOther",
                                "StoreLaws/0.DeleteInvalidatesCacheEvenWhenBackendFails"});
}

}  // namespace
