// Variant detection from names and shapes, strict loading, and the name schemes taec maps.
#include <gmock/gmock.h>

#include "graph/model.h"
#include "io/safetensors.h"
#include "test_util.h"

namespace {

using ::testing::HasSubstr;

taec::Checkpoint fixture(const std::string& file) {
  auto ckpt = taec::read_checkpoint(taec_test::model_path(file));
  EXPECT_TRUE(ckpt.ok()) << ckpt.status().message();
  return ckpt.ok() ? std::move(ckpt).value() : taec::Checkpoint{};
}

taec::Result<std::shared_ptr<taec::Model>> build(const taec::Checkpoint& ckpt, const std::string& variant = "",
                                                 int role = 0) {
  return taec::build_model(ckpt, {variant, role});
}

taec::RawTensor* find(taec::Checkpoint& ckpt, const std::string& name) {
  for (auto& t : ckpt.tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

struct DetectCase {
  const char* file;
  const char* variant;
  taec::Role role;
  int latent_channels;
  uint64_t parameters;
};

TEST(Zoo, DetectsVariantAndRoleFromTensors) {
  TAEC_REQUIRE_FIXTURES();
  const DetectCase cases[] = {
      {"taef2_decoder.pth", "taef2", taec::Role::decoder, 32, 1338499},
      {"taef2_encoder.safetensors", "taef2", taec::Role::encoder, 32, 1338528},
      {"taef1_synthetic_decoder.safetensors", "taef1", taec::Role::decoder, 16, 1229443},
      {"taef1_synthetic_encoder.pth", "taef1", taec::Role::encoder, 16, 1229456},
  };
  for (const auto& c : cases) {
    auto model = build(fixture(c.file));
    ASSERT_TRUE(model.ok()) << c.file << ": " << model.status().message();
    EXPECT_EQ((*model)->variant, c.variant) << c.file;
    EXPECT_EQ((*model)->role, c.role) << c.file;
    EXPECT_EQ((*model)->latent_channels, c.latent_channels) << c.file;
    EXPECT_EQ((*model)->parameter_count, c.parameters) << c.file;
  }
}

TEST(Zoo, NameOfTheFileDoesNotMatter) {
  TAEC_REQUIRE_FIXTURES();
  taec::Checkpoint ckpt = fixture("taef1_synthetic_decoder.pth");
  ckpt.path = "taef2_decoder.pth";  // misleading name: detection must ignore it
  auto model = build(ckpt);
  ASSERT_TRUE(model.ok());
  EXPECT_EQ((*model)->variant, "taef1");
}

TEST(Zoo, AmbiguousShapesSayHowToChoose) {
  TAEC_REQUIRE_FIXTURES();
  auto model = build(fixture("taef1_synthetic_decoder.pth"));
  ASSERT_TRUE(model.ok());
  EXPECT_THAT((*model)->variant_note, HasSubstr("taesd3"));
  auto sd3 = build(fixture("taef1_synthetic_decoder.pth"), "taesd3");
  ASSERT_TRUE(sd3.ok());
  EXPECT_EQ((*sd3)->variant, "taesd3");
}

TEST(Zoo, VariantOverrideMustMatchShapes) {
  TAEC_REQUIRE_FIXTURES();
  auto wrong = build(fixture("taef1_synthetic_decoder.pth"), "taef2");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), taec::Code::shape);
  EXPECT_THAT(wrong.status().message(), HasSubstr("taef2 expects 32 latent channels"));
  auto unknown = build(fixture("taef2_decoder.pth"), "taesd9");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(), HasSubstr("unknown variant \"taesd9\""));
}

TEST(Zoo, RoleMismatchIsAnError) {
  TAEC_REQUIRE_FIXTURES();
  auto r = build(fixture("taef2_encoder.pth"), "", static_cast<int>(taec::Role::decoder));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("is a encoder, not a decoder"));
}

TEST(Zoo, MissingTensorIsNamed) {
  TAEC_REQUIRE_FIXTURES();
  taec::Checkpoint ckpt = fixture("taef2_decoder.pth");
  ckpt.tensors.erase(ckpt.tensors.begin() + 2);  // 3.conv.0.weight
  auto r = build(ckpt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), taec::Code::shape);
  EXPECT_THAT(r.status().message(), HasSubstr("missing tensors: 3.conv.0.weight [64,64,3,3]"));
  EXPECT_THAT(r.status().message(), HasSubstr("taef2_decoder.pth"));
}

TEST(Zoo, UnexpectedTensorIsNamed) {
  TAEC_REQUIRE_FIXTURES();
  taec::Checkpoint ckpt = fixture("taef1_synthetic_decoder.pth");
  taec::RawTensor extra = ckpt.tensors[1];
  extra.name = "20.bias";
  ckpt.tensors.push_back(extra);
  auto r = build(ckpt);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("unexpected tensors: 20.bias [64]"));
}

TEST(Zoo, MisshapedTensorIsNamedWithBothShapes) {
  TAEC_REQUIRE_FIXTURES();
  taec::Checkpoint ckpt = fixture("taef2_encoder.pth");
  taec::RawTensor* t = find(ckpt, "5.conv.2.weight");
  ASSERT_NE(t, nullptr);
  t->shape = {64, 32, 3, 6};
  auto r = build(ckpt);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("5.conv.2.weight is [64,32,3,6], expected [64,64,3,3]"));
}

TEST(Zoo, PartialGroupNormBranchIsAnError) {
  TAEC_REQUIRE_FIXTURES();
  // One pool branch removed: the shapes say taef2, so the missing branch must be named.
  taec::Checkpoint ckpt = fixture("taef2_decoder.pth");
  std::erase_if(ckpt.tensors, [](const taec::RawTensor& t) { return t.name.rfind("4.pool.", 0) == 0; });
  auto r = build(ckpt);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("4.pool.0.weight"));
}

TEST(Zoo, NonTaesdCheckpointIsRefused) {
  taec::Checkpoint ckpt;
  ckpt.path = "resnet.safetensors";
  ckpt.tensors.push_back({"fc.weight", taec::DType::f32, {10, 10}, std::vector<uint8_t>(400)});
  auto r = build(ckpt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), taec::Code::unsupported);
  EXPECT_THAT(r.status().message(), HasSubstr("resnet.safetensors"));
}

// diffusers' AutoencoderTiny stores both halves in one file as encoder.layers.N / decoder.layers.N,
// with the decoder numbered one lower than taesd.py (its Clamp is not in `layers`).
TEST(Zoo, DiffusersCombinedFileLoadsEitherHalf) {
  TAEC_REQUIRE_FIXTURES();
  taec::Checkpoint dec = fixture("taef1_synthetic_decoder.safetensors");
  taec::Checkpoint enc = fixture("taef1_synthetic_encoder.safetensors");
  taec::Checkpoint combined;
  combined.path = "diffusion_pytorch_model.safetensors";
  for (auto t : enc.tensors) {
    t.name = "encoder.layers." + t.name;
    combined.tensors.push_back(t);
  }
  for (auto t : dec.tensors) {
    const size_t dot = t.name.find('.');
    t.name = "decoder.layers." + std::to_string(std::stoi(t.name.substr(0, dot)) - 1) + t.name.substr(dot);
    combined.tensors.push_back(t);
  }
  auto both = build(combined);
  ASSERT_FALSE(both.ok());
  EXPECT_THAT(both.status().message(), HasSubstr("both an encoder and a decoder"));

  auto d = build(combined, "", static_cast<int>(taec::Role::decoder));
  ASSERT_TRUE(d.ok()) << d.status().message();
  auto reference = build(dec);
  ASSERT_TRUE(reference.ok());
  ASSERT_EQ((*d)->graph.weights.size(), (*reference)->graph.weights.size());
  for (size_t i = 0; i < (*d)->graph.weights.size(); ++i) {
    EXPECT_EQ((*d)->graph.weights[i].data, (*reference)->graph.weights[i].data) << i;
  }
  auto e = build(combined, "", static_cast<int>(taec::Role::encoder));
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ((*e)->role, taec::Role::encoder);
}

TEST(Zoo, GraphHasTheArchitecturesOps) {
  TAEC_REQUIRE_FIXTURES();
  auto model = build(fixture("taef2_decoder.pth"));
  ASSERT_TRUE(model.ok());
  int convs = 0, upsamples = 0, norms = 0;
  for (const auto& n : (*model)->graph.nodes) {
    convs += n.op == taec::OpKind::conv2d;
    upsamples += n.op == taec::OpKind::upsample_nearest2x;
    norms += n.op == taec::OpKind::group_norm;
  }
  EXPECT_EQ(convs, 2 + 10 * 3 + 3 + 3 * 2);  // in/out, 10 blocks x 3, 3 post-upsample, 3 pools x 2
  EXPECT_EQ(upsamples, 3);
  EXPECT_EQ(norms, 3);
  auto shapes = (*model)->graph.infer_shapes(3, 5);
  EXPECT_EQ(shapes.back().channels, 3);
  EXPECT_EQ(shapes.back().height, 24);
  EXPECT_EQ(shapes.back().width, 40);
}

}  // namespace
