// Times ONNX Runtime (CPU) on the exported decoder. Prints one JSON line like torch_worker.py.
import fs from "node:fs";
import ort from "onnxruntime-node";

const args = Object.fromEntries(process.argv.slice(2).map((a, i, all) => [a, all[i + 1]]).filter(([k]) => k.startsWith("--")));
const threads = Number(args["--threads"] ?? 2), warmup = Number(args["--warmup"] ?? 1), iters = Number(args["--iters"] ?? 3);

// Minimal .npy (v1, '<f4', C order) reader: the latent written by compare_peers.py.
function readNpy(path) {
  const buf = fs.readFileSync(path);
  const headerLen = buf.readUInt16LE(8);
  const header = buf.toString("latin1", 10, 10 + headerLen);
  const shape = header.match(/'shape': \(([^)]*)\)/)[1].split(",").filter((s) => s.trim()).map(Number);
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + 10 + headerLen, buf.byteOffset + buf.length));
  return { shape, data };
}

const session = await ort.InferenceSession.create(args["--model"], {
  intraOpNumThreads: threads, interOpNumThreads: 1, executionProviders: ["cpu"], graphOptimizationLevel: "all",
});
const latent = readNpy(args["--latent"]);
const feeds = { latent: new ort.Tensor("float32", latent.data, latent.shape) };
const times = [];
for (let i = 0; i < warmup + iters; i++) {
  const t = process.hrtime.bigint();
  await session.run(feeds);
  if (i >= warmup) times.push(Number(process.hrtime.bigint() - t) / 1e9);
}
console.log(JSON.stringify({ times, peak_rss_bytes: process.resourceUsage().maxRSS * 1024 }));
