/** Writes docs/checkpoint-format.md: the format and every tensor name/shape of the paper preset. */
import { writeFileSync } from 'node:fs';
import { Engine } from '../src/engine/engine.ts';
import { FROM_SCRATCH, makeConfig } from '../src/model/config.ts';
import { LrdifModel } from '../src/model/lrdif.ts';

const e = await Engine.create({ log: false });
const m = new LrdifModel(e, makeConfig('paper', FROM_SCRATCH), 2, 0);
const rows = [...m.namedParameters()].map(([n, t]) => `| \`${n}\` | [${t.shape.join(', ')}] | ${t.size.toLocaleString('en-US')} |`);
const doc = `# Checkpoint format

Checkpoints are [safetensors](https://huggingface.co/docs/safetensors) files: an 8-byte little-endian
header length, a JSON header, then raw little-endian data (the header is space-padded so the data
starts 8-byte aligned). Every tensor is \`F32\`.

## Header metadata (\`__metadata__\`, all strings)

| key | value |
|---|---|
| \`format\` | \`lrdif-webgpu\` |
| \`format_version\` | \`1\` |
| \`preset\` | \`paper\`, \`small\`, \`tiny\` (or the preset a custom config started from) |
| \`stage\` | \`1\` or \`2\` |
| \`input_size\` | input side in pixels; position embeddings and relative-position tables depend on it, so a checkpoint loads only into a model of the same input size |
| \`config\` | the full model config as JSON (\`src/model/config.ts\`, \`LrdifConfig\`) |
| \`epoch\`, \`test_accuracy\` | written by training |
| \`trained_with_landmarks\` | \`true\` when the DIL network saw landmarks in training (\`lrdif predict\` then predicts them for its images) |

Training also writes \`state.safetensors\` beside the weights: the Adam moments (\`opt.m.<i>\`, \`opt.v.<i>\`,
one pair per trainable parameter in model order; \`prior_opt.*\` for the stage-2 warm-up optimiser) and,
in its metadata, the step counts, epoch, global step, best accuracy, the training options and the epoch
history, which is everything \`--resume\` needs.

## Layouts

PyTorch conventions: linear weights are \`[out, in]\`, convolution weights \`[out, in/groups, kh, kw]\`,
activations NCHW. LayerNorm weights/biases are \`[C]\`; MDTA temperatures \`[heads, 1, 1]\`; the relative
position bias tables \`[(2w−1)², heads]\` indexed by \`(yi−yj+w−1)·(2w−1) + (xi−xj+w−1)\`; the class token
\`[1, 1, W]\` and the position embedding \`[1, 3·(S/16)²+1, W]\`. \`*.kernel.weight\` is the EPR modulation
\`Linear(C_epr → 2C, no bias)\`: rows \`0..C−1\` give the scale, rows \`C..2C−1\` the shift.

Stage-2 checkpoints hold the frozen stage-1 branch (\`fpen_s1.*\`) too: training needs it for the target,
inference does not use it. A stage-2 model is initialised from a stage-1 checkpoint by copying every
shared name, \`fpen_s2.image_encoder.*\` from \`fpen_s1.image_encoder.*\`, \`fpen_s2.mlp.0.weight\` from the
e_I columns (\`D..2D−1\`) of \`fpen_s1.mlp.0.weight\`, the other \`fpen_s2.mlp.*\` from \`fpen_s1.mlp.*\`; the
denoiser (\`denoise.*\`) starts fresh.

The fusion head's readout is part of the config (\`vit.readout\`): \`cls\` (paper, small; POSTER++) has
\`fusion.norm.*\` and \`fusion.se.*\`; \`pooled\` (tiny) has neither, and has per-channel layer scales
\`fusion.blocks.<i>.gamma1\` / \`gamma2\` \`[W]\` on the ViT blocks' attention and MLP branches.

## Tensors of the paper preset, stage 2 (${m.numParameters().toLocaleString('en-US')} parameters)

| name | shape | elements |
|---|---|---|
${rows.join('\n')}
`;
writeFileSync('docs/checkpoint-format.md', doc);
console.log(`wrote docs/checkpoint-format.md (${rows.length} tensors)`);
process.exit(0);
