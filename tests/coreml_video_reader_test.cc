// taec's Core ML reader refuses what is wrong in the parts only video packages have (the MemBlock
// states): iOS18 state declarations (description and program), the state ops (read once, then
// written once, with a value of the state's type, the state used through them only) and the
// state tensors' I/O shapes of the tensor style. Each case starts from a valid exported taew2_1
// package (16x16 frames, chunk of 2) and breaks one field.
#include <gmock/gmock.h>

#include <functional>

#include "export/coreml/package_reader.h"
#include "export/coreml/package_writer.h"
#include "graph/model.h"
#include "test_util.h"

namespace {

using namespace taec::coreml;
using ::testing::HasSubstr;

const PackageContents& package_of(StateStyle style) {
  static const std::map<StateStyle, PackageContents> packages = [] {
    auto model = taec::load_model(taec_test::model_path("taehv/taew2_1_synthetic.safetensors"), taec::LoadRequest{"", 1});
    EXPECT_TRUE(model.ok()) << model.status().message();
    std::map<StateStyle, PackageContents> out;
    for (StateStyle s : {StateStyle::tensors, StateStyle::stateful}) {
      ExportOptions options;
      options.sizes = {{16, 16}};
      options.video = {2, s};
      auto built = build_packages(**model, options);
      EXPECT_TRUE(built.ok()) << built.status().message();
      out[s] = built->front();
    }
    return out;
  }();
  return packages.at(style);
}

taec::Result<ReadPackage> parse_with(StateStyle style, const std::function<void(spec::Model&)>& edit) {
  const PackageContents& p = package_of(style);
  spec::Model m = p.model;
  edit(m);
  PackageFiles f = package_files(p).value();
  EXPECT_TRUE(m.SerializeToString(&f.model));
  return parse_package("pkg", f);
}

mil::Function& main_function(spec::Model& m) { return m.mutable_mlprogram()->mutable_functions()->at("main"); }
mil::Block& main_block(spec::Model& m) { return main_function(m).mutable_block_specializations()->at("CoreML8"); }

// The n-th op of `type` in the main block.
mil::Operation& nth_op(spec::Model& m, const std::string& type, int n = 0) {
  for (auto& op : *main_block(m).mutable_operations()) {
    if (op.type() == type && n-- == 0) return op;
  }
  ADD_FAILURE() << "no " << type << " op";
  static mil::Operation none;
  return none;
}

void erase_op(spec::Model& m, const std::string& type) {
  auto& ops = *main_block(m).mutable_operations();
  for (int i = 0; i < ops.size(); ++i) {
    if (ops[i].type() == type) {
      ops.erase(ops.begin() + i);
      return;
    }
  }
}

struct Edit {
  const char* what;
  StateStyle style;
  std::function<void(spec::Model&)> edit;
  const char* expected;
};

TEST(CoremlVideoReader, UntouchedPackagesAreValid) {
  TAEC_REQUIRE_FIXTURES();
  for (StateStyle s : {StateStyle::tensors, StateStyle::stateful}) {
    auto read = parse_with(s, [](spec::Model&) {});
    ASSERT_TRUE(read.ok()) << read.status().message();
  }
}

TEST(CoremlVideoReader, RejectsBrokenStatesStateOpsAndStateShapes) {
  TAEC_REQUIRE_FIXTURES();
  const StateStyle stateful = StateStyle::stateful, tensors = StateStyle::tensors;
  auto state_array = [](spec::Model& m, int i) {
    return m.mutable_description()->mutable_state(i)->mutable_type()->mutable_statetype()->mutable_arraytype();
  };
  auto wrapped = [](spec::Model& m, int input) {
    return main_function(m).mutable_inputs(input)->mutable_type()->mutable_statetype()->mutable_wrappedtype()->mutable_tensortype();
  };
  const std::vector<Edit> edits = {
      // state declarations: description
      {"state dtype", stateful, [&](spec::Model& m) { state_array(m, 0)->set_datatype(spec::ArrayFeatureType::FLOAT32); },
       "must hold fp16"},
      {"state shape", stateful, [&](spec::Model& m) { state_array(m, 2)->set_shape(1, 7); }, "description shape does not match"},
      {"state missing", stateful, [](spec::Model& m) { m.mutable_description()->mutable_state()->RemoveLast(); },
       "disagree on the states"},
      {"state renamed", stateful, [](spec::Model& m) { m.mutable_description()->mutable_state(1)->set_name("memory"); },
       "state input is named"},
      {"state as a plain array", stateful,
       [](spec::Model& m) { m.mutable_description()->mutable_state(0)->mutable_type()->mutable_multiarraytype(); },
       "state of a multi-array"},
      // state declarations: program
      {"wrapped dtype", stateful, [&](spec::Model& m) { wrapped(m, 1)->set_datatype(mil::FLOAT32); },
       "must wrap a fixed-shape fp16 tensor"},
      {"wrapped shape", stateful, [&](spec::Model& m) { wrapped(m, 1)->mutable_dimensions(1)->mutable_constant()->set_size(3); },
       "but its inputs give"},
      // state ops
      {"read twice", stateful,
       [](spec::Model& m) {
         mil::Operation again = nth_op(m, "read_state");
         again.mutable_outputs(0)->set_name("again");
         *main_block(m).add_operations() = again;
       },
       "is read a second time"},
      {"written twice", stateful,
       [](spec::Model& m) {
         mil::Operation again = nth_op(m, "coreml_update_state");
         again.mutable_outputs(0)->set_name("again");
         *main_block(m).add_operations() = again;
       },
       "is written a second time"},
      {"never written", stateful, [](spec::Model& m) { erase_op(m, "coreml_update_state"); }, "is never written"},
      {"written before read", stateful,
       [](spec::Model& m) {  // a write of the last-read state, with a value of its type, before its read
         auto& ops = *main_block(m).mutable_operations();
         int read = 0;
         for (int i = 0; i < ops.size(); ++i) read = ops[i].type() == "read_state" ? i : read;
         int value = read - 1;
         while (value >= 0 && !(ops[value].outputs(0).type().SerializeAsString() ==
                                ops[read].outputs(0).type().SerializeAsString())) {
           --value;
         }
         ASSERT_GE(value, 0);
         mil::Operation write = nth_op(m, "coreml_update_state");
         write.mutable_outputs(0)->set_name("early_write");
         *write.mutable_outputs(0)->mutable_type() = ops[read].outputs(0).type();
         write.mutable_inputs()->at("state").mutable_arguments(0)->set_name(ops[read].inputs().at("input").arguments(0).name());
         write.mutable_inputs()->at("value").mutable_arguments(0)->set_name(ops[value].outputs(0).name());
         ops.Add();
         for (int i = ops.size() - 1; i > read; --i) ops.SwapElements(i, i - 1);
         ops[read] = write;
       },
       "written before it is read"},
      {"value of another shape", stateful,
       [](spec::Model& m) {  // the 256-channel state written with a 64-channel value
         mil::Operation& first = nth_op(m, "coreml_update_state", 0);
         const std::string other = nth_op(m, "read_state", 8).outputs(0).name();
         first.mutable_inputs()->at("value").mutable_arguments(0)->set_name(other);
       },
       "the value written is"},
      {"read of a plain tensor", stateful,
       [](spec::Model& m) { nth_op(m, "read_state").mutable_inputs()->at("input").mutable_arguments(0)->set_name("latents"); },
       "must be a state input"},
      {"state used directly", stateful,
       [](spec::Model& m) {
         const std::string state = nth_op(m, "read_state").inputs().at("input").arguments(0).name();
         nth_op(m, "relu").mutable_inputs()->at("x").mutable_arguments(0)->set_name(state);
       },
       "may only be read with read_state"},
      {"state concatenated directly", stateful,
       [](spec::Model& m) {
         const std::string state = nth_op(m, "read_state").inputs().at("input").arguments(0).name();
         nth_op(m, "concat").mutable_inputs()->at("values").mutable_arguments(1)->set_name(state);
       },
       "not bound to earlier tensor values"},
      {"state as a block output", stateful,
       [](spec::Model& m) { main_block(m).add_outputs(main_function(m).inputs(1).name()); }, "is a state"},
      // state tensors' I/O (tensor style)
      {"state input shape", tensors,
       [](spec::Model& m) { m.mutable_description()->mutable_input(1)->mutable_type()->mutable_multiarraytype()->set_shape(2, 5); },
       "description shape does not match"},
      {"next state output shape", tensors,
       [](spec::Model& m) { m.mutable_description()->mutable_output(3)->mutable_type()->mutable_multiarraytype()->set_shape(3, 5); },
       "description shape does not match"},
      {"state input dtype", tensors,
       [](spec::Model& m) {
         m.mutable_description()->mutable_input(2)->mutable_type()->mutable_multiarraytype()->set_datatype(
             spec::ArrayFeatureType::FLOAT32);
       },
       "input"},
      {"program state input shape", tensors,
       [](spec::Model& m) { main_function(m).mutable_inputs(1)->mutable_type()->mutable_tensortype()->mutable_dimensions(1)->mutable_constant()->set_size(9); },
       "declared"},
      {"next state output missing", tensors, [](spec::Model& m) { main_block(m).mutable_outputs()->RemoveLast(); },
       "disagree on the outputs"},
  };
  for (const Edit& e : edits) {
    SCOPED_TRACE(e.what);
    auto result = parse_with(e.style, e.edit);
    ASSERT_FALSE(result.ok());
    EXPECT_THAT(result.status().message(), HasSubstr(e.expected));
  }
}

}  // namespace
