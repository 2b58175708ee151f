// Measured kernel choice (plan/tune.h): every algorithm a conv can be given computes the same
// function, the measurement decides what runs (a fake timer decides here, so the outcome is
// known), the cache makes a second compile measure nothing and survives what is not a cache,
// and a package runs the algorithms it was validated with.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "graph/model.h"
#include "package/package.h"
#include "package/package_format.h"
#include "plan/plan.h"
#include "plan/program.h"
#include "plan/tune.h"
#include "taec/taec.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using taec::ConvAlgo;
using taec::ConvChoices;

std::shared_ptr<const taec::Model> load(const std::string& file) {
  auto model = taec::load_model(taec_test::model_path(file), {});
  EXPECT_TRUE(model.ok()) << model.status().message();
  return model.ok() ? model.value() : nullptr;
}

taec::PlanOptions options(int h, int w, taec::Precision p = taec::Precision::fp32) {
  taec::PlanOptions o;
  o.image_height = h;
  o.image_width = w;
  o.precision = p;
  o.threads = 2;
  return o;
}

std::vector<float> run(taec::Plan& plan, const taec::Model& model) {
  std::vector<float> input(plan.shapes().input_elems()), output(plan.shapes().output_elems());
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(model.role == taec::Role::decoder ? -2.0f : 0.0f, model.role == taec::Role::decoder ? 2.0f : 1.0f);
  for (float& v : input) v = dist(rng);
  EXPECT_TRUE(plan.run(input.data(), output.data()).ok());
  return output;
}

// Node name -> candidates, from the program compiled with every default.
std::map<std::string, std::vector<ConvAlgo>> tunables(const std::shared_ptr<const taec::Model>& model, taec::PlanOptions o) {
  o.tune = taec::TuneMode::off;
  o.conv_choices = std::make_shared<ConvChoices>();
  auto plan = taec::compile_plan(model, o);
  EXPECT_TRUE(plan.ok()) << plan.status().message();
  std::map<std::string, std::vector<ConvAlgo>> out;
  if (!plan.ok()) return out;
  for (const taec::FusedOp& op : (*plan)->program()->ops) {
    if (!op.choice.empty()) out[op.choice] = op.candidates;
  }
  return out;
}

// A cache file of this test's own, for the rest of the test.
class TuneCacheFile {
 public:
  // One name per cache in a test: temp_dir() is the test's, and the process memo is per file.
  explicit TuneCacheFile(const std::string& name = "tune-cache.json") : path_(taec_test::temp_dir() + "/" + name) {
    ::setenv("TAEC_TUNE_CACHE", path_.c_str(), 1);
  }
  ~TuneCacheFile() { ::unsetenv("TAEC_TUNE_CACHE"); }
  const std::string& path() const { return path_; }
  nlohmann::json read() const { return nlohmann::json::parse(std::ifstream(path_)); }

 private:
  std::string path_;
};

// Times a plan by its conv algorithms: seconds[algo] for each conv with a choice.
taec::TuneTimer timer_by_algo(std::map<ConvAlgo, double> seconds, int* calls = nullptr) {
  return [seconds, calls](taec::Plan& plan, int) -> taec::Result<std::map<std::string, double>> {
    if (calls) ++*calls;
    std::map<std::string, double> out;
    for (const taec::FusedOp& op : plan.program()->ops) {
      if (!op.choice.empty()) out[op.choice] = seconds.at(op.algo);
    }
    return out;
  };
}

struct AlgoCase {
  const char* file;
  taec::Precision precision;
  int h, w;
  float tolerance;
};

void PrintTo(const AlgoCase& c, std::ostream* os) { *os << c.file << " " << (c.precision == taec::Precision::bf16 ? "bf16 " : "fp32 ") << c.h << "x" << c.w; }

class EveryAlgorithm : public ::testing::TestWithParam<AlgoCase> {};

// Whatever a measurement picks must be correct: each candidate forced on every conv that has
// it, against the reference engine.
TEST_P(EveryAlgorithm, ForcedOnEveryConvMatchesTheReference) {
  TAEC_REQUIRE_FIXTURES();
  const AlgoCase c = GetParam();
  auto model = load(c.file);
  ASSERT_TRUE(model);
  auto ref_plan = taec::compile_plan(model, options(c.h, c.w, taec::Precision::reference));
  ASSERT_TRUE(ref_plan.ok()) << ref_plan.status().message();
  const std::vector<float> ref = run(**ref_plan, *model);
  const auto nodes = tunables(model, options(c.h, c.w, c.precision));
  ASSERT_FALSE(nodes.empty());
  std::set<ConvAlgo> algos;
  for (const auto& [node, candidates] : nodes) algos.insert(candidates.begin(), candidates.end());
  EXPECT_TRUE(algos.count(ConvAlgo::direct) && algos.count(ConvAlgo::winograd_f4) && algos.count(ConvAlgo::winograd_f6));
  for (ConvAlgo algo : algos) {
    SCOPED_TRACE(taec::conv_algo_name(algo));
    auto forced = std::make_shared<ConvChoices>();
    for (const auto& [node, candidates] : nodes) {
      if (std::find(candidates.begin(), candidates.end(), algo) != candidates.end()) (*forced)[node] = algo;
    }
    taec::PlanOptions o = options(c.h, c.w, c.precision);
    o.conv_choices = forced;
    auto plan = taec::compile_plan(model, o);
    ASSERT_TRUE(plan.ok()) << plan.status().message();
    size_t ran_as_forced = 0;
    for (const auto& op : (*plan)->stats().ops) ran_as_forced += forced->count(op.choice) && op.algo == taec::conv_algo_name(algo);
    EXPECT_EQ(ran_as_forced, forced->size());
    const std::vector<float> out = run(**plan, *model);
    ASSERT_EQ(out.size(), ref.size());
    EXPECT_LE(taec_test::max_abs_diff(out.data(), ref.data(), ref.size()), c.tolerance);
  }
}

INSTANTIATE_TEST_SUITE_P(Models, EveryAlgorithm,
                         ::testing::Values(AlgoCase{"taef2_decoder.pth", taec::Precision::fp32, 64, 96, 1e-4f},
                                           AlgoCase{"taef2_decoder.pth", taec::Precision::bf16, 64, 64, 0.05f},
                                           AlgoCase{"taef1_synthetic_decoder.pth", taec::Precision::fp32, 48, 64, 1e-4f},
                                           AlgoCase{"taef2_encoder.pth", taec::Precision::fp32, 96, 64, 1e-4f}));

TEST(Tune, TheMeasuredFastestRunsAndTheDefaultKeepsTies) {
  TAEC_REQUIRE_FIXTURES();
  auto model = load("taef2_decoder.pth");
  ASSERT_TRUE(model);
  taec::PlanOptions o = options(64, 64);
  o.tune = taec::TuneMode::fast;
  auto shapes = taec::plan_shapes(*model, o);
  ASSERT_TRUE(shapes.ok());
  const auto nodes = tunables(model, o);
  {
    TuneCacheFile cache;  // direct clearly fastest: every conv runs direct
    auto t = taec::tune_conv_choices(model, o, *shapes,
                                     timer_by_algo({{ConvAlgo::direct, 1.0}, {ConvAlgo::winograd_f4, 3.0}, {ConvAlgo::winograd_f6, 2.0}}));
    ASSERT_TRUE(t.ok()) << t.status().message();
    EXPECT_EQ(t->choices.size(), nodes.size());
    for (const auto& [node, algo] : t->choices) EXPECT_EQ(algo, ConvAlgo::direct) << node;
    EXPECT_GT(t->measured_shapes, 0);
    EXPECT_EQ(t->cached_shapes, 0);
    EXPECT_NE(t->measured.begin()->second.find("direct 1000.000 ms"), std::string::npos) << t->measured.begin()->second;
  }
  {
    TuneCacheFile cache("ties.json");  // within the 2% margin of the default: the default stays
    auto t = taec::tune_conv_choices(model, o, *shapes,
                                     timer_by_algo({{ConvAlgo::direct, 0.99}, {ConvAlgo::winograd_f4, 0.99}, {ConvAlgo::winograd_f6, 1.0}}));
    ASSERT_TRUE(t.ok()) << t.status().message();
    for (const auto& [node, algo] : t->choices) EXPECT_EQ(algo, nodes.at(node).front()) << node;
  }
}

TEST(Tune, TheCacheMakesASecondCompileMeasureNothingAndFullReplacesFast) {
  TAEC_REQUIRE_FIXTURES();
  auto model = load("taef2_decoder.pth");
  ASSERT_TRUE(model);
  TuneCacheFile cache;
  taec::PlanOptions o = options(64, 64);
  o.tune = taec::TuneMode::fast;
  auto shapes = taec::plan_shapes(*model, o);
  ASSERT_TRUE(shapes.ok());
  int calls = 0;
  const auto direct_fastest = timer_by_algo({{ConvAlgo::direct, 1.0}, {ConvAlgo::winograd_f4, 3.0}, {ConvAlgo::winograd_f6, 2.0}}, &calls);
  auto first = taec::tune_conv_choices(model, o, *shapes, direct_fastest);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(calls, 3);  // one strip plan per candidate
  const nlohmann::json file = cache.read();
  EXPECT_EQ(file["format"], "taec-tune-cache");
  ASSERT_EQ(file["machines"].size(), 1u);
  const nlohmann::json& entries = file["machines"].begin().value();
  EXPECT_EQ(static_cast<int>(entries.size()), first->measured_shapes);
  for (const auto& [key, e] : entries.items()) {
    EXPECT_EQ(e["algo"], "direct") << key;
    EXPECT_EQ(e["mode"], "fast") << key;
  }

  // Another process (the memo is per file, so a copy under another name stands for one).
  const std::string copy = cache.path() + ".copy.json";
  fs::copy_file(cache.path(), copy);
  ::setenv("TAEC_TUNE_CACHE", copy.c_str(), 1);
  calls = 0;
  auto second = taec::tune_conv_choices(model, o, *shapes, timer_by_algo({{ConvAlgo::direct, 9.0}, {ConvAlgo::winograd_f4, 1.0}, {ConvAlgo::winograd_f6, 1.0}}, &calls));
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(second->measured_shapes, 0);
  EXPECT_EQ(second->cached_shapes, first->measured_shapes);
  EXPECT_EQ(second->choices, first->choices);

  // full measures again and its entries replace the fast ones.
  o.tune = taec::TuneMode::full;
  auto full = taec::tune_conv_choices(model, o, *shapes, timer_by_algo({{ConvAlgo::direct, 9.0}, {ConvAlgo::winograd_f4, 9.0}, {ConvAlgo::winograd_f6, 1.0}}, &calls));
  ASSERT_TRUE(full.ok()) << full.status().message();
  EXPECT_EQ(calls, 3);
  for (const auto& [node, algo] : full->choices) EXPECT_EQ(algo, ConvAlgo::winograd_f6) << node;
  const nlohmann::json after = nlohmann::json::parse(std::ifstream(copy));
  for (const auto& [key, e] : after["machines"].begin().value().items()) {
    EXPECT_EQ(e["mode"], "full") << key;
    EXPECT_EQ(e["algo"], "winograd_f6") << key;
  }
}

TEST(Tune, AFileThatIsNotATuneCacheIsNeitherTrustedNorOverwritten) {
  TAEC_REQUIRE_FIXTURES();
  auto model = load("taef2_decoder.pth");
  ASSERT_TRUE(model);
  TuneCacheFile cache;
  int n = 0;
  for (const std::string text : {std::string("{\"not\": \"ours\"}"), std::string("\x7f" "ELF garbage"),
                                 std::string("{\"format\":\"taec-tune-cache\",\"version\":1,\"machines\":{\"x\":[1,2")}) {
    const std::string path = cache.path() + std::to_string(++n);  // the process memo is per file
    taec_test::write_bytes(path, std::vector<uint8_t>(text.begin(), text.end()));
    ::setenv("TAEC_TUNE_CACHE", path.c_str(), 1);
    taec::PlanOptions o = options(64, 64);
    o.tune = taec::TuneMode::fast;
    auto shapes = taec::plan_shapes(*model, o);
    ASSERT_TRUE(shapes.ok());
    auto t = taec::tune_conv_choices(model, o, *shapes, timer_by_algo({{ConvAlgo::direct, 1.0}, {ConvAlgo::winograd_f4, 2.0}, {ConvAlgo::winograd_f6, 2.0}}));
    ASSERT_TRUE(t.ok()) << t.status().message();
    for (const auto& [node, algo] : t->choices) EXPECT_EQ(algo, ConvAlgo::direct) << node;
    EXPECT_NE(t->note.find("memory only"), std::string::npos) << t->note;
    const auto bytes = taec_test::read_bytes(path);
    EXPECT_EQ(std::string(bytes.begin(), bytes.end()), text);
  }
}

TEST(Tune, ACompiledPlanMeasuresOnceAndSaysWhatItChose) {
  TAEC_REQUIRE_FIXTURES();
  auto model = load("taef2_decoder.pth");
  ASSERT_TRUE(model);
  TuneCacheFile cache;
  taec::PlanOptions o = options(64, 128);
  o.tune = taec::TuneMode::fast;
  auto plan = taec::compile_plan(model, o);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  const taec::PlanStats stats = (*plan)->stats();
  EXPECT_EQ(stats.tuning.rfind("tune fast: ", 0), 0u) << stats.tuning;
  EXPECT_EQ(stats.tuning.find(" 0 measured"), std::string::npos) << stats.tuning;
  size_t with_choice = 0;
  for (const auto& op : stats.ops) {
    if (op.choice.empty()) continue;
    ++with_choice;
    EXPECT_FALSE(op.algo.empty()) << op.name;
    EXPECT_NE(op.tuning.find(" ms"), std::string::npos) << op.name << ": " << op.tuning;
  }
  EXPECT_GT(with_choice, 5u);
  auto again = taec::compile_plan(model, o);
  ASSERT_TRUE(again.ok());
  EXPECT_NE((*again)->stats().tuning.find(" 0 measured"), std::string::npos) << (*again)->stats().tuning;
  EXPECT_EQ((*again)->program_description(), (*plan)->program_description());
  // The tuned plan is correct whatever it chose.
  auto ref = taec::compile_plan(model, options(64, 128, taec::Precision::reference));
  ASSERT_TRUE(ref.ok());
  const auto a = run(**plan, *model), b = run(**ref, *model);
  EXPECT_LE(taec_test::max_abs_diff(a.data(), b.data(), a.size()), 1e-4f);
}

// Packs a 64x64 taef2 decoder, tuned as `cache` says.
void pack_taef2(const std::string& out) {
  taec_pack_options po;
  taec_pack_options_init(&po);
  const int h = 64, w = 64;
  po.heights = &h;
  po.widths = &w;
  po.size_count = 1;
  po.precision = TAEC_PRECISION_FP32;
  po.random_inputs = 1;
  po.out_path = out.c_str();
  po.tune = TAEC_TUNE_FAST;
  ASSERT_EQ(taec_pack(taec_test::model_path("taef2_decoder.pth").c_str(), &po), TAEC_OK) << taec_last_error();
}

TEST(Tune, APackageRecordsItsAlgorithmsAndRunsThem) {
  TAEC_REQUIRE_FIXTURES();
  auto model = load("taef2_decoder.pth");
  ASSERT_TRUE(model);
  TuneCacheFile cache;
  taec::PlanOptions o = options(64, 64);
  o.tune = taec::TuneMode::fast;
  auto shapes = taec::plan_shapes(*model, o);
  ASSERT_TRUE(shapes.ok());
  // Not what the defaults are: the cache says direct, so the package must record direct.
  ASSERT_TRUE(taec::tune_conv_choices(model, o, *shapes, timer_by_algo({{ConvAlgo::direct, 1.0}, {ConvAlgo::winograd_f4, 2.0}, {ConvAlgo::winograd_f6, 2.0}})).ok());
  const std::string out = taec_test::temp_dir() + "/pkg";
  pack_taef2(out);
  const auto text = taec_test::read_bytes(out + "/plans/64x64.json");
  const nlohmann::json plan_file = nlohmann::json::parse(text);
  const auto nodes = tunables(model, options(64, 64));
  ASSERT_EQ(plan_file["options"]["conv_algos"].size(), nodes.size()) << plan_file.dump(1);
  for (const auto& [node, algo] : plan_file["options"]["conv_algos"].items()) EXPECT_EQ(algo, "direct") << node;

  // Another CPU of the same kind, whose cache says otherwise, loads the recorded program.
  ::setenv("TAEC_TUNE_CACHE", (out + "-other-cache.json").c_str(), 1);
  for (bool shared : {false, true}) {
    auto pkg = taec::Package::open(out);
    ASSERT_TRUE(pkg.ok()) << pkg.status().message();
    taec::PackagePlanOptions po;
    po.share_arena = shared;
    auto plan = (*pkg)->load_plan(64, 64, po);
    ASSERT_TRUE(plan.ok()) << plan.status().message();
    for (const auto& op : (*plan)->stats().ops) {
      if (!op.choice.empty()) EXPECT_EQ(op.algo, "direct") << op.name;
    }
    EXPECT_NE((*plan)->stats().tuning.find("as recorded"), std::string::npos) << (*plan)->stats().tuning;
  }

  // What the plan file may say.
  nlohmann::json bad = plan_file;
  bad["options"]["conv_algos"][nodes.begin()->first] = "winograd_f9";
  const std::string bad_text = bad.dump();
  auto parsed = taec::parse_plan_file("p.json", reinterpret_cast<const uint8_t*>(bad_text.data()), bad_text.size());
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("is not a conv algorithm"), std::string::npos) << parsed.status().message();
  nlohmann::json old = plan_file;  // a package made before measured choice: every default
  old["options"].erase("conv_algos");
  const std::string old_text = old.dump();
  auto parsed_old = taec::parse_plan_file("p.json", reinterpret_cast<const uint8_t*>(old_text.data()), old_text.size());
  ASSERT_TRUE(parsed_old.ok()) << parsed_old.status().message();
  ASSERT_NE(parsed_old->options.conv_choices, nullptr);
  EXPECT_TRUE(parsed_old->options.conv_choices->empty());
}

TEST(TuneCApi, ModesAreCheckedAndReported) {
  TAEC_REQUIRE_FIXTURES();
  TuneCacheFile cache;
  taec_model* model = nullptr;
  ASSERT_EQ(taec_model_load(taec_test::model_path("taef2_decoder.pth").c_str(), nullptr, &model), TAEC_OK) << taec_last_error();
  taec_plan_options o;
  taec_plan_options_init(&o);
  o.image_height = o.image_width = 64;
  o.tune = static_cast<taec_tune>(9);
  taec_plan* plan = nullptr;
  EXPECT_EQ(taec_plan_compile(model, &o, &plan), TAEC_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(taec_last_error()).find("tune"), std::string::npos);
  for (taec_tune t : {TAEC_TUNE_OFF, TAEC_TUNE_FAST}) {
    o.tune = t;
    ASSERT_EQ(taec_plan_compile(model, &o, &plan), TAEC_OK) << taec_last_error();
    taec_plan_stats s;
    ASSERT_EQ(taec_plan_get_stats(plan, &s), TAEC_OK);
    EXPECT_EQ(std::string(s.tuning).rfind(t == TAEC_TUNE_OFF ? "tune off" : "tune fast", 0), 0u) << s.tuning;
    size_t tuned = 0;
    for (size_t i = 0; i < s.op_count; ++i) {
      taec_op_profile p;
      ASSERT_EQ(taec_plan_get_op_profile(plan, i, &p), TAEC_OK);
      tuned += p.algo[0] != 0 && p.tuning[0] != 0;
    }
    EXPECT_EQ(tuned > 0, t == TAEC_TUNE_FAST);
    taec_plan_free(plan);
  }
  taec_model_free(model);
}

TEST(TuneCli, TuneOptionIsCheckedAndVerboseSaysWhatWasChosen) {
  TAEC_REQUIRE_FIXTURES();
  const std::string dir = taec_test::temp_dir();
  const std::string latent = taec_test::quote(taec_test::golden_dir() + "/taef2/dec_rand_24x40.input.npy") + " --layout nchw";
  const std::string env = "TAEC_TUNE_CACHE=" + taec_test::quote(dir + "/cache.json") + " ";
  const std::string weights = taec_test::quote(taec_test::model_path("taef2_decoder.pth"));
  auto r = taec_test::run_cli("decode " + weights + " " + latent + " --tune sometimes --npy " + taec_test::quote(dir + "/a.npy"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--tune"), std::string::npos) << r.err;
  r = taec_test::run_cli("decode " + weights + " " + latent + " --tune fast -v --npy " + taec_test::quote(dir + "/a.npy"), env);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("plan: tune fast: "), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(dir + "/cache.json"));
  r = taec_test::run_cli("decode " + weights + " " + latent + " -v --npy " + taec_test::quote(dir + "/b.npy"), env + "TAEC_TUNE=off ");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("plan: tune off"), std::string::npos) << r.err;
}

}  // namespace
