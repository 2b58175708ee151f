// The TAEHV family (madebyollin/taehv), built from tensor names and shapes. Both halves live in one
// file as nn.Sequential indices under "encoder." and "decoder." (docs/VIDEO.md restates the
// architecture this relies on):
//
//   decoder (base):  0 Clamp, 1 conv Cz->256, 2 ReLU, then three stages of
//                    3 x MemBlock(n), Upsample x2, TGrow(n, s), conv n->n' (no bias)
//                    (n = 256, 128, 64; n' = 128, 64, 64), then 21 ReLU, 22 conv 64->3p^2, and
//                    pixel_shuffle(p);
//   decoder (super): 0 conv1x1 Cz->512 (no bias, no Clamp), then three stages of
//                    3 x SuperMemBlock(n), conv3x3 n->4n', ReLU, PixelShuffle(2), TGrow(n', s)
//                    (n = 512, 256, 128; n' = 256, 128, 64), then 22 conv 64->3p^2, pixel_shuffle(p);
//   encoder:         pixel_unshuffle(p), 0 conv 3p^2->64, 1 ReLU, then three stages of
//                    TPool(64, s), conv stride 2 (no bias), 3 x MemBlock(64); then 17 conv 64->Cz.
//   MemBlock(C):      ReLU(conv.4(ReLU(conv.2(ReLU(conv.0(cat[x, past]))))) + x), 3x3 convs with bias;
//   SuperMemBlock(n): x + conv.3(ReLU(conv.1(conv.0(cat[x, past])))), conv.0 depthwise 7x7 over 2n
//                     channels (no bias), conv.1 1x1 2n->4n (bias), conv.3 1x1 4n->n (no bias).
#include "graph/zoo_taehv.h"

#include <regex>

#include "graph/graph_builder.h"
#include "graph/variants.h"

namespace taec {
namespace {

constexpr int kEncoderWidth = 64;

std::string idx(int i) { return std::to_string(i); }

int memblock(GraphBuilder& b, int x, const std::string& prefix) {
  const int channels = b.channels(x);
  int c = b.concat_past(x, prefix + ".past");
  c = b.conv(c, prefix + ".conv.0", channels, 3, 1, true);
  c = b.unary(OpKind::relu, c, prefix + ".conv.1");
  c = b.conv(c, prefix + ".conv.2", channels, 3, 1, true);
  c = b.unary(OpKind::relu, c, prefix + ".conv.3");
  c = b.conv(c, prefix + ".conv.4", channels, 3, 1, true);
  const int sum = b.add(c, x, prefix + ".skip_add");
  return b.unary(OpKind::relu, sum, prefix + ".act");
}

int super_memblock(GraphBuilder& b, int x, const std::string& prefix) {
  const int n = b.channels(x);
  int c = b.concat_past(x, prefix + ".past");
  c = b.conv(c, prefix + ".conv.0", 2 * n, 7, 1, false, 2 * n);
  c = b.conv(c, prefix + ".conv.1", 4 * n, 1, 1, true);
  c = b.unary(OpKind::relu, c, prefix + ".conv.2");
  c = b.conv(c, prefix + ".conv.3", n, 1, 1, false);
  return b.add(x, c, prefix + ".skip_add");
}

// What the tensors say before anything is built: the latent channels, patch, decoder kind and time
// strides (probed from both halves, so either half can name the variant).
struct Probe {
  int latent_channels = 0, patch = 0;
  bool super_decoder = false;
  int tgrow[3] = {0, 0, 0}, tpool[3] = {0, 0, 0};
};

const RawTensor* find(const Checkpoint& ckpt, const std::string& name) {
  for (const RawTensor& t : ckpt.tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

bool is_conv(const RawTensor* t, int k) { return t && t->shape.size() == 4 && t->shape[2] == k && t->shape[3] == k && t->shape[0] > 0 && t->shape[1] > 0; }

Result<Probe> probe(const Checkpoint& ckpt) {
  Probe p;
  const RawTensor* super_in = find(ckpt, "decoder.0.weight");
  const RawTensor* base_in = find(ckpt, "decoder.1.weight");
  const RawTensor* dec_out = find(ckpt, "decoder.22.weight");
  const RawTensor* enc_in = find(ckpt, "encoder.0.weight");
  const RawTensor* enc_out = find(ckpt, "encoder.17.weight");
  p.super_decoder = is_conv(super_in, 1);
  if (p.super_decoder) {
    p.latent_channels = static_cast<int>(super_in->shape[1]);
  } else if (is_conv(base_in, 3)) {
    p.latent_channels = static_cast<int>(base_in->shape[1]);
  } else if (is_conv(enc_out, 3)) {
    p.latent_channels = static_cast<int>(enc_out->shape[0]);
  }
  const int rgb = is_conv(dec_out, 3) ? static_cast<int>(dec_out->shape[0]) : is_conv(enc_in, 3) ? static_cast<int>(enc_in->shape[1]) : 0;
  for (int q = 1; q <= 8; ++q) {
    if (3 * q * q == rgb) p.patch = q;
  }
  if (p.latent_channels <= 0 || p.latent_channels > 4096 || p.patch == 0) {
    return Status(Code::shape, ckpt.path + ": TAEHV-style names, but no first decoder / last encoder convolution or RGB convolution "
                                           "says the latent channels and patch size");
  }
  const int tgrow_at[3] = {7, p.super_decoder ? 14 : 13, p.super_decoder ? 21 : 19};
  for (int s = 0; s < 3; ++s) {
    if (const RawTensor* t = find(ckpt, "decoder." + idx(tgrow_at[s]) + ".conv.weight"); is_conv(t, 1) && t->shape[0] % t->shape[1] == 0) {
      p.tgrow[s] = static_cast<int>(t->shape[0] / t->shape[1]);
    }
    if (const RawTensor* t = find(ckpt, "encoder." + idx(2 + 5 * s) + ".conv.weight"); is_conv(t, 1) && t->shape[1] % t->shape[0] == 0) {
      p.tpool[s] = static_cast<int>(t->shape[1] / t->shape[0]);
    }
  }
  return p;
}

Graph build_base_decoder(GraphBuilder& b, int latent_channels, int patch, const int* tgrow) {
  static const int kWidths[3] = {256, 128, 64}, kNext[3] = {128, 64, 64};
  int x = b.input(latent_channels);
  x = b.clamp(x, "0", 3.0f);
  x = b.conv(x, "1", kWidths[0], 3, 1, true);
  x = b.unary(OpKind::relu, x, "2");
  int at = 3;
  for (int s = 0; s < 3; ++s) {
    for (int i = 0; i < 3; ++i) x = memblock(b, x, idx(at++));
    x = b.unary(OpKind::upsample_nearest2x, x, idx(at++));
    x = b.tgrow(x, idx(at++) + ".conv", tgrow[s]);
    x = b.conv(x, idx(at++), kNext[s], 3, 1, false);
  }
  x = b.unary(OpKind::relu, x, idx(at++));
  x = b.conv(x, idx(at), 3 * patch * patch, 3, 1, true);
  if (patch > 1) b.pixel_shuffle(x, "pixel_shuffle", patch);
  return b.take_graph();
}

Graph build_super_decoder(GraphBuilder& b, int latent_channels, int patch, const int* tgrow) {
  static const int kWidths[3] = {512, 256, 128}, kNext[3] = {256, 128, 64};
  int x = b.input(latent_channels);
  x = b.conv(x, "0", kWidths[0], 1, 1, false);
  int at = 1;
  for (int s = 0; s < 3; ++s) {
    for (int i = 0; i < 3; ++i) x = super_memblock(b, x, idx(at++));
    x = b.conv(x, idx(at++), 4 * kNext[s], 3, 1, true);
    x = b.unary(OpKind::relu, x, idx(at++));
    x = b.pixel_shuffle(x, idx(at++), 2);
    x = b.tgrow(x, idx(at++) + ".conv", tgrow[s]);
  }
  x = b.conv(x, idx(at), 3 * patch * patch, 3, 1, true);
  if (patch > 1) b.pixel_shuffle(x, "pixel_shuffle", patch);
  return b.take_graph();
}

Graph build_encoder(GraphBuilder& b, int latent_channels, int patch, const int* tpool) {
  int x = b.input(3);
  if (patch > 1) x = b.pixel_unshuffle(x, "pixel_unshuffle", patch);
  x = b.conv(x, "0", kEncoderWidth, 3, 1, true);
  x = b.unary(OpKind::relu, x, "1");
  int at = 2;
  for (int s = 0; s < 3; ++s) {
    x = b.tpool(x, idx(at++) + ".conv", tpool[s]);
    x = b.conv(x, idx(at++), kEncoderWidth, 3, 2, false);
    for (int i = 0; i < 3; ++i) x = memblock(b, x, idx(at++));
  }
  b.conv(x, idx(at), latent_channels, 3, 1, true);
  return b.take_graph();
}

std::string strides_text(const int* s) { return idx(s[0]) + "," + idx(s[1]) + "," + idx(s[2]); }

}  // namespace

bool looks_like_taehv(const Checkpoint& ckpt) {
  // TGrow / TPool weights ("<half>.<index>.conv.weight") exist in no image TAE.
  static const std::regex kTimeConv(R"((encoder|decoder)\.\d+\.conv\.weight)");
  for (const RawTensor& t : ckpt.tensors) {
    if (std::regex_match(t.name, kTimeConv)) return true;
  }
  return false;
}

Result<std::shared_ptr<Model>> build_taehv_model(const Checkpoint& ckpt, const LoadRequest& request) {
  TAEC_ASSIGN_OR_RETURN(Probe p, probe(ckpt));
  TAEC_ASSIGN_OR_RETURN(NamedTensors named, normalize_names(ckpt, request.role));
  TAEC_ASSIGN_OR_RETURN(VideoVariantChoice choice, choose_video_variant(request.variant, p.latent_channels, p.patch, p.super_decoder));
  const VideoVariantSpec& v = *choice.spec;
  const bool decoder = named.role == Role::decoder;
  const int* found = decoder ? p.tgrow : p.tpool;
  const int* expected = decoder ? v.tgrow : v.tpool;
  if (!std::equal(found, found + 3, expected)) {
    return Status(Code::shape, ckpt.path + ": " + v.name + " " + role_name(named.role) + " has " + (decoder ? "TGrow" : "TPool") +
                                   " strides " + strides_text(expected) + ", the tensors say " + strides_text(found));
  }
  auto model = std::make_shared<Model>();
  model->role = named.role;
  model->latent_channels = p.latent_channels;
  model->spatial_factor = 8 * p.patch;
  model->variant = v.name;
  model->variant_note = choice.note;
  model->source_path = ckpt.path;
  model->source_format = ckpt.format;
  model->video.rule = v.rule;
  model->video.patch = p.patch;
  model->video.super_decoder = p.super_decoder;
  model->video.time_factor = expected[0] * expected[1] * expected[2];
  GraphBuilder builder(named);
  if (!decoder) {
    model->graph = build_encoder(builder, p.latent_channels, p.patch, v.tpool);
  } else if (p.super_decoder) {
    model->graph = build_super_decoder(builder, p.latent_channels, p.patch, v.tgrow);
  } else {
    model->graph = build_base_decoder(builder, p.latent_channels, p.patch, v.tgrow);
  }
  TAEC_RETURN_IF_ERROR(builder.finish(ckpt.path + ": " + model->variant + " " + role_name(named.role)));
  if (const std::string e = model->graph.temporal_error(); !e.empty()) {
    return Status(Code::internal, ckpt.path + ": built a malformed temporal graph (" + e + "): a taec bug");
  }
  for (const RawTensor& t : ckpt.tensors) model->tensors.push_back({t.name, t.dtype, t.shape});
  for (const Weight& w : model->graph.weights) model->parameter_count += w.data.size();
  return model;
}

}  // namespace taec
