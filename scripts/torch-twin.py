#!/usr/bin/python3
"""PyTorch twin of LRDif (src/model): the same network at every preset, built from an LRDif
checkpoint's tensors by name, for checking our numbers and for timing a training step.

    bun scripts/torch-twin.ts --preset tiny --stage 2 [--frozen] --out /tmp/lrdif-twin
    /usr/bin/python3 scripts/torch-twin.py check /tmp/lrdif-twin
    /usr/bin/python3 scripts/torch-twin.py time CHECKPOINT.safetensors --batch 8 [--steps 5] [--json]

check: replays the batch that scripts/torch-twin.ts wrote, in float64, and prints the relative
error (|ours - torch| / |torch|, Frobenius) of the logits, the loss, the EPRs and every gradient;
exits 1 when one exceeds --tolerance (default 1e-4). time: one training step (forward, the trainer's
loss, backward, Adam) in float32 on one thread (torch.set_num_threads(1)), timed by process CPU time
(time.process_time()) after --warmup steps; prints the median ms per step and per image.

What the twin models: every trainable part of the model (DT network, DIL network, fusion head,
FPEN, the diffusion prior). The frozen pretrained networks of the default configuration (face-api's
recognition and landmark nets, backbone 'face-api' / landmarkFeatures 'backbone') are not part of a
training step: their features are inputs here, as they are for our trainer (cached). The from-
scratch configuration's stems are modelled. Checked against src/model; the per-op semantics are the
ones scripts/torch-fixtures.py pins (MDTA, GDFN, modulated LayerNorm, window cross-attention, MHSA,
losses). Needs PyTorch and NumPy (not CI: run by hand, or by `npm run bench -- --suite train --torch`).
"""
import argparse
import json
import math
import statistics
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

FROZEN_CHANNELS = (64, 128, 256)  # src/model/frozen-features.ts: both frozen maps, per DIL level
FROZEN_EMBEDDING_DIM = 384
NUM_LANDMARKS = 68
_DTYPES = {'F32': np.float32, 'I32': np.int32, 'U32': np.uint32}


def read_safetensors(path):
    """{name: torch tensor} and the string metadata of a safetensors file."""
    with open(path, 'rb') as f:
        raw = f.read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop('__metadata__', {})
    out = {}
    for name, h in header.items():
        start, end = h['data_offsets']
        arr = np.frombuffer(raw, dtype=_DTYPES[h['dtype']], count=(end - start) // 4, offset=8 + n + start)
        out[name] = torch.from_numpy(arr.astype(np.int64 if h['dtype'] != 'F32' else np.float32).reshape(h['shape']))
    return out, meta


class Params:
    """The checkpoint's tensors by name; records which were read, so that leftovers can be reported."""

    def __init__(self, tensors):
        self.t = tensors
        self.used = set()

    def __call__(self, name):
        if name not in self.t:
            raise KeyError(f'the checkpoint has no tensor {name} (the twin and src/model disagree)')
        self.used.add(name)
        return self.t[name]

    def get(self, name):
        return self(name) if name in self.t else None

    def has(self, name):
        return name in self.t


# ------------------------------------------------------------------ layers (src/model/layers.ts)

def conv(P, name, x, stride=1, padding=None, groups=1):
    w = P(f'{name}.weight')
    return F.conv2d(x, w, P.get(f'{name}.bias'), stride=stride, padding=w.shape[-1] // 2 if padding is None else padding, groups=groups)


def linear(P, name, x):
    return F.linear(x, P(f'{name}.weight'), P.get(f'{name}.bias'))


def layer_norm_tokens(P, name, x, eps=1e-5):
    return F.layer_norm(x, x.shape[-1:], P(f'{name}.weight'), P.get(f'{name}.bias'), eps)


def layer_norm_channels(P, name, x, eps=1e-5):
    """LayerNorm over the channels of NCHW (Restormer's WithBias LayerNorm)."""
    return layer_norm_tokens(P, name, x.permute(0, 2, 3, 1), eps).permute(0, 3, 1, 2)


def lrelu(x):
    return F.leaky_relu(x, 0.1)


# ------------------------------------------------------------------ DT network (dt-network.ts)

def normalise(P, block, i, x, z):
    """LN_i(x), modulated as LN(x)·s + b by the EPR when the block has a modulation and z is given."""
    y = layer_norm_channels(P, f'{block}.norm{i}', x)
    kernel = f'{block}.{"attn" if i == 1 else "ffn"}.kernel.weight'
    if z is None or not P.has(kernel):
        return y
    s, b = F.linear(z, P(kernel)).chunk(2, dim=1)
    return y * s[:, :, None, None] + b[:, :, None, None]


def mdta(P, pre, x, heads):
    qkv = conv(P, f'{pre}.qkv_dwconv', conv(P, f'{pre}.qkv', x), groups=3 * x.shape[1])
    q, k, v = qkv.chunk(3, dim=1)
    B, C, H, W = q.shape
    split = lambda t: t.reshape(B, heads, C // heads, H * W)
    q, k, v = F.normalize(split(q), dim=-1), F.normalize(split(k), dim=-1), split(v)
    attn = ((q @ k.transpose(-2, -1)) * P(f'{pre}.temperature')).softmax(dim=-1)
    return conv(P, f'{pre}.project_out', (attn @ v).reshape(B, C, H, W))


def gdfn(P, pre, x):
    h = conv(P, f'{pre}.project_in', x)
    g1, g2 = conv(P, f'{pre}.dwconv', h, groups=h.shape[1]).chunk(2, dim=1)
    return conv(P, f'{pre}.project_out', F.gelu(g1) * g2)


def dt_stage(P, pre, x, z, blocks, heads):
    for i in range(blocks):
        b = f'{pre}.{i}'
        x = x + mdta(P, f'{b}.attn', normalise(P, b, 1, x, z), heads)
        x = x + gdfn(P, f'{b}.ffn', normalise(P, b, 2, x, z))
    return x


def dt_network(P, cfg, image, z):
    d = cfg['dt']
    st = lambda name, x, i: dt_stage(P, f'dt.{name}', x, z, d['blocks'][i], d['heads'][i])
    down = lambda name, x: F.pixel_unshuffle(conv(P, f'dt.{name}.body.0', x), 2)
    up = lambda name, x: F.pixel_shuffle(conv(P, f'dt.{name}.body.0', x), 2)
    e1 = st('encoder_level1', conv(P, 'dt.patch_embed', F.pixel_unshuffle(image, 2)), 0)
    e2 = st('encoder_level2', down('down1_2', e1), 1)
    e3 = st('encoder_level3', down('down2_3', e2), 2)
    f3 = st('latent', down('down3_4', e3), 3)
    d3 = st('decoder_level3', conv(P, 'dt.reduce_chan_level3', torch.cat([up('up4_3', f3), e3], 1)), 2)
    d2 = st('decoder_level2', conv(P, 'dt.reduce_chan_level2', torch.cat([up('up3_2', d3), e2], 1)), 1)
    return d2, d3, f3


# ------------------------------------------------------------------ DIL network (dil-network.ts)

def level_projection(P, pre, maps):
    out = []
    for l, m in enumerate(maps):
        x = layer_norm_channels(P, f'{pre}.norm{l}', m) if P.has(f'{pre}.norm{l}.weight') else m
        out.append(conv(P, f'{pre}.{l}', x, padding=0) if P.has(f'{pre}.{l}.weight') else x)
    return out


def gaussian_heatmaps(points, size, sigma=1.0):
    """points [B, K, 2] (x, y) in [0, 1] → [B, K, size, size]; pixel centres at (j + 0.5) / size."""
    c = torch.arange(size, dtype=points.dtype) + 0.5
    dx = c[None, None, None, :] - points[:, :, 0, None, None] * size
    dy = c[None, None, :, None] - points[:, :, 1, None, None] * size
    return torch.exp(-(dx * dx + dy * dy) / (2 * sigma * sigma))


def heatmap_stem(P, heatmaps):
    s = 'dil.landmark_stem'
    l1 = conv(P, f'{s}.level1.2', lrelu(conv(P, f'{s}.level1.0', heatmaps)))
    l2 = conv(P, f'{s}.level2.3', lrelu(conv(P, f'{s}.level2.1', lrelu(l1), stride=2)))
    l3 = conv(P, f'{s}.level3.3', lrelu(conv(P, f'{s}.level3.1', lrelu(l2), stride=2)))
    return [l1, l2, l3]


def bottleneck(P, pre, x, stride):
    r = conv(P, f'{pre}.res.2', F.prelu(conv(P, f'{pre}.res.0', x), P(f'{pre}.res.1.weight')), stride=stride)
    if P.has(f'{pre}.shortcut.weight'):
        sc = conv(P, f'{pre}.shortcut', x, stride=stride, padding=0)
    else:
        sc = x[:, :, ::stride, ::stride]
    return r + sc


def image_stem(P, image):
    s = 'dil.image_stem'
    x = F.prelu(conv(P, f'{s}.input.0', image, stride=2), P(f'{s}.input.1.weight'))
    taps = []
    for l in range(3):
        x = bottleneck(P, f'{s}.body{l + 1}.0', x, 2)
        x = bottleneck(P, f'{s}.body{l + 1}.1', x, 1)
        taps.append(x)
    return taps


def relative_position_index(w):
    coords = torch.stack(torch.meshgrid(torch.arange(w), torch.arange(w), indexing='ij')).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (w - 1)
    return rel[:, :, 0] * (2 * w - 1) + rel[:, :, 1]


def window_partition(x, w):
    B, H, W, C = x.shape
    return x.reshape(B, H // w, w, W // w, w, C).permute(0, 1, 3, 2, 4, 5).reshape(-1, w * w, C)


def window_reverse(x, w, B, H, W):
    return x.reshape(B, H // w, W // w, w, w, -1).permute(0, 1, 3, 2, 4, 5).reshape(B, H, W, -1)


def window_cross_attention(P, pre, xn, q_tokens, heads, w):
    """src/engine/ops/window-cross-attention.ts: landmark queries (shared w×w, or one set per
    window) against each window's image keys/values, relative position bias, then proj."""
    B, H, W, d = xn.shape
    n, dh = w * w, d // heads
    shared = q_tokens.shape[1] == w
    lm = q_tokens.reshape(B, n, d) if shared else window_partition(q_tokens, w)
    if P.has(f'{pre}.q.weight'):
        lm = linear(P, f'{pre}.q', lm)
    split = lambda t: t.reshape(t.shape[0], n, heads, dh).permute(0, 2, 1, 3)
    q = split(lm)
    if shared:
        q = q.repeat_interleave((H // w) * (W // w), dim=0)
    k, v = [split(t) for t in linear(P, f'{pre}.kv', window_partition(xn, w)).chunk(2, dim=-1)]  # k: first d channels
    table = P(f'{pre}.rel_pos_bias_table')
    bias = table[relative_position_index(w).reshape(-1)].reshape(n, n, heads).permute(2, 0, 1)
    attn = ((q * dh ** -0.5) @ k.transpose(-2, -1) + bias).softmax(dim=-1)
    merged = (attn @ v).permute(0, 2, 1, 3).reshape(-1, n, d)
    return window_reverse(linear(P, f'{pre}.proj', merged), w, B, H, W)


def cross_attention_block(P, cfg, l, img, lm, map_size):
    pre = f'dil.level{l + 1}'
    dil = cfg['dil']
    w = dil['windows'][l] or map_size
    tokens = img.permute(0, 2, 3, 1)
    q = lm.permute(0, 2, 3, 1)
    if w < map_size and dil['windowQueries'] == 'pooled':
        q = F.avg_pool2d(lm, map_size // w).permute(0, 2, 3, 1)
    xn = layer_norm_tokens(P, f'{pre}.norm1', tokens)
    attn = window_cross_attention(P, f'{pre}.cross_attn', xn, q, dil['heads'][l], w)
    x = (tokens if dil['shortcut'] == 'input' else xn) + attn * P(f'{pre}.gamma1')
    m = linear(P, f'{pre}.mlp.fc2', F.gelu(linear(P, f'{pre}.mlp.fc1', layer_norm_tokens(P, f'{pre}.norm2', x))))
    return (x + m * P(f'{pre}.gamma2')).permute(0, 3, 1, 2)


def dil_network(P, cfg, batch):
    sizes = [cfg['inputSize'] // 4, cfg['inputSize'] // 8, cfg['inputSize'] // 16]
    if cfg['backbone'] == 'face-api':
        img = level_projection(P, 'dil.image_proj', batch['features.image'])
    else:
        img = image_stem(P, batch['image'])
    if cfg['landmarkFeatures'] == 'backbone':
        lm = level_projection(P, 'dil.landmark_proj', batch['features.landmark'])
    elif batch.get('landmarks') is not None:
        lm = heatmap_stem(P, gaussian_heatmaps(batch['landmarks'], sizes[0]))
    else:
        lm = img  # landmark-free path: the image features query themselves
    return [cross_attention_block(P, cfg, l, img[l], lm[l], sizes[l]) for l in range(3)]


# ------------------------------------------------------------------ fusion head (fusion.ts)

def vit_block(P, pre, x, heads):
    b, n, dim = x.shape
    dh = dim // heads

    def scaled(branch, name):
        return branch * P(f'{pre}.{name}') if P.has(f'{pre}.{name}') else branch

    qkv = linear(P, f'{pre}.attn.qkv', layer_norm_tokens(P, f'{pre}.norm1', x, 1e-6)).reshape(b, n, 3, heads, dh).permute(2, 0, 3, 1, 4)
    o = F.softmax(qkv[0] @ qkv[1].transpose(-2, -1) * dh ** -0.5, dim=-1) @ qkv[2]
    h = x + scaled(linear(P, f'{pre}.attn.proj', o.permute(0, 2, 1, 3).reshape(b, n, dim)), 'gamma1')
    m = linear(P, f'{pre}.mlp.fc2', F.gelu(linear(P, f'{pre}.mlp.fc1', layer_norm_tokens(P, f'{pre}.norm2', h, 1e-6))))
    return h + scaled(m, 'gamma2')


def fusion_head(P, cfg, x1, x2, x3):
    tokens = lambda t: t.flatten(2).transpose(1, 2)
    q = tokens(conv(P, 'fusion.embed_q.1', conv(P, 'fusion.embed_q.0', x1, stride=2), stride=2))
    k = tokens(conv(P, 'fusion.embed_k', x2, stride=2))
    v = tokens(conv(P, 'fusion.embed_v', x3))
    cls = P('fusion.cls_token').expand(x1.shape[0], -1, -1)
    x = torch.cat([cls, q, k, v], 1) + P('fusion.pos_embed')
    for i in range(cfg['vit']['depth']):
        x = vit_block(P, f'fusion.blocks.{i}', x, cfg['vit']['heads'])
    if cfg['vit']['readout'] == 'pooled':
        return linear(P, 'fusion.head', x.mean(1))
    c = layer_norm_tokens(P, 'fusion.norm', x, 1e-6)[:, 0]
    gated = c * torch.sigmoid(linear(P, 'fusion.se.fc2', F.relu(linear(P, 'fusion.se.fc1', c))))
    return linear(P, 'fusion.head', gated)


# ------------------------------------------------------------------ FPEN and diffusion (fpen.ts, diffusion.ts)

def image_encoder(P, pre, cfg, batch):
    if cfg['backbone'] == 'face-api':  # E_I over the frozen embedding
        e = batch['features.embedding']
        if P.has(f'{pre}.norm.weight'):
            e = layer_norm_tokens(P, f'{pre}.norm', e)
        return lrelu(linear(P, f'{pre}.proj', e))
    x = lrelu(conv(P, f'{pre}.E1', F.pixel_unshuffle(batch['image'], 4)))
    for i in range(cfg['imageEncoder']['resBlocks']):
        x = x + conv(P, f'{pre}.E2.{i}.body.2', lrelu(conv(P, f'{pre}.E2.{i}.body.0', x)))
    x = lrelu(conv(P, f'{pre}.E3.4', lrelu(conv(P, f'{pre}.E3.2', lrelu(conv(P, f'{pre}.E3.0', x))))))
    return x.mean((2, 3))


def fpen_mlp(P, pre, x):
    for i in (0, 2, 4):
        x = lrelu(linear(P, f'{pre}.{i}', x))
    return x


def fpen_s1(P, cfg, batch):
    e_l = P('fpen_s1.label_embedding.weight')[batch['labels']]
    return fpen_mlp(P, 'fpen_s1.mlp', torch.cat([e_l, image_encoder(P, 'fpen_s1.image_encoder', cfg, batch)], 1))


def schedule(T, start, end):
    """DiffIR's linear-in-√β schedule (diffusion.ts makeSchedule), float64."""
    betas = [(math.sqrt(start) + (math.sqrt(end) - math.sqrt(start)) * i / (T - 1)) ** 2 if T > 1 else start for i in range(T)]
    cum, acc = [], 1.0
    for b in betas:
        acc *= 1 - b
        cum.append(acc)
    prev = [1.0] + cum[:-1]
    return {
        'sqrt_cum': [math.sqrt(c) for c in cum], 'sqrt_one_minus_cum': [math.sqrt(1 - c) for c in cum],
        'coef1': [b * math.sqrt(p) / (1 - c) for b, p, c in zip(betas, prev, cum)],
        'coef2': [(1 - p) * math.sqrt(1 - b) / (1 - c) for b, p, c in zip(betas, prev, cum)],
    }


def stage2_prior(P, cfg, batch):
    """(Ẑ, Z_S1): the frozen stage-1 target, q_sample at T−1 with the batch's noise, the reverse chain."""
    with torch.no_grad():
        target = fpen_s1(P, cfg, batch)
    c = fpen_mlp(P, 'fpen_s2.mlp', image_encoder(P, 'fpen_s2.image_encoder', cfg, batch))
    diff = cfg['diffusion']
    if diff['mode'] != 'diffusion':
        return c, target
    if diff['insertNoise']:
        raise ValueError('diffusion.insertNoise: the twin replays the deterministic reverse chain only')
    T = diff['steps']
    s = schedule(T, diff['betaStart'], diff['betaEnd'])
    z = s['sqrt_cum'][T - 1] * target + batch['noise']
    for t in range(T - 1, -1, -1):
        tcol = torch.full((z.shape[0], 1), t / (10 * T), dtype=z.dtype)
        h = lrelu(linear(P, 'denoise.mlp.0', torch.cat([c, tcol, z], 1)))
        x0 = lrelu(linear(P, 'denoise.mlp.2', h))
        z = x0 * s['coef1'][t] + z * s['coef2'][t]
    return z, target


def forward(P, cfg, stage, batch):
    """(logits, loss, z, target) of one training step's forward (lrdif.ts, the trainer's losses)."""
    target = None
    if not cfg['modulation']:
        z = None
    elif stage == 1:
        z = fpen_s1(P, cfg, batch)
    else:
        z, target = stage2_prior(P, cfg, batch)
    f1, f2, f3 = dt_network(P, cfg, batch['image'], z)
    o1, o2, o3 = dil_network(P, cfg, batch)
    logits = fusion_head(P, cfg, torch.cat([f1, o1], 1), torch.cat([f2, o2], 1), torch.cat([f3, o3], 1))
    loss = F.cross_entropy(logits, batch['labels'])
    if target is not None:  # klTau 1, klWeight 1, l1Weight 0 (trainer defaults)
        loss = loss + F.kl_div(F.log_softmax(z, 1), F.softmax(target, 1), reduction='batchmean')
    return logits, loss, z, target


def load_model(path, dtype):
    """Config, stage and parameters (trainable ones with requires_grad) of an LRDif checkpoint."""
    tensors, meta = read_safetensors(path)
    if meta.get('format') != 'lrdif-webgpu':
        raise ValueError(f'{path}: not an LRDif checkpoint (metadata format {meta.get("format")!r})')
    cfg, stage = json.loads(meta['config']), int(meta['stage'])
    params = {}
    for name, t in tensors.items():
        frozen = stage == 2 and name.startswith('fpen_s1.')  # stage 2 freezes the stage-1 branch
        params[name] = t.to(dtype).requires_grad_(not frozen)
    return cfg, stage, params


# ------------------------------------------------------------------ check

def rel_err(ours, ref):
    ours, ref = ours.double().reshape(-1), ref.detach().double().reshape(-1)
    return float((ours - ref).norm() / ref.norm().clamp_min(1e-300))


def check(args):
    cfg, stage, params = load_model(f'{args.dir}/checkpoint.safetensors', torch.float64)
    data, _ = read_safetensors(f'{args.dir}/check.safetensors')
    batch = {k[len('input.'):]: (v if v.dtype == torch.int64 else v.double()) for k, v in data.items() if k.startswith('input.')}
    for part in ('image', 'landmark'):
        if f'features.{part}.0' in batch:
            batch[f'features.{part}'] = [batch[f'features.{part}.{l}'] for l in range(3)]
    P = Params(params)
    logits, loss, z, target = forward(P, cfg, stage, batch)
    loss.backward()
    rows = [('logits', rel_err(data['ours.logits'], logits)), ('loss', rel_err(data['ours.loss'], loss.reshape(1)))]
    if z is not None and 'ours.z' in data:
        rows.append(('z (EPR)', rel_err(data['ours.z'], z)))
    if target is not None:
        rows.append(('target Z_S1', rel_err(data['ours.target'], target)))
    if 'check.heatmaps' in data:
        rows.append(('landmark heatmaps', rel_err(data['check.heatmaps'], gaussian_heatmaps(batch['landmarks'], cfg['inputSize'] // 4))))
    unused = sorted(set(params) - P.used)
    trainable = [n for n, t in params.items() if t.requires_grad]
    grads = []
    for name in trainable:
        ours = data.get(f'grad.{name}')
        if ours is None:
            raise KeyError(f'check.safetensors has no gradient of the trainable {name}')
        ref = params[name].grad if params[name].grad is not None else torch.zeros_like(params[name])
        grads.append((name, rel_err(ours, ref), float(ref.norm())))
    print(f'{cfg["preset"]} stage {stage} ({cfg["backbone"]} backbone, {cfg["landmarkFeatures"]} landmarks), batch {batch["image"].shape[0]}: '
          f'{len(params)} tensors, {len(trainable)} trainable, torch {torch.__version__}, float64 reference')
    for name, e in rows:
        print(f'  {name:<60} rel. error {e:.2e}')
    grads.sort(key=lambda g: -g[1])
    print(f'  gradients: worst {grads[0][1]:.2e} ({grads[0][0]}), median {statistics.median(g[1] for g in grads):.2e}')
    for name, e, norm in grads[:8]:
        print(f'    {name:<58} rel. error {e:.2e} (|grad| {norm:.2e})')
    if unused:
        print(f'  tensors the twin did not read: {", ".join(unused)}')
    worst = max([e for _, e in rows] + [g[1] for g in grads])
    ok = worst <= args.tolerance and not unused
    print(f'{"PASS" if ok else "FAIL"}: worst relative error {worst:.2e} (tolerance {args.tolerance:.0e})')
    return 0 if ok else 1


# ------------------------------------------------------------------ time

def random_batch(cfg, B, dtype, g):
    S = cfg['inputSize']
    sizes = [S // 4, S // 8, S // 16]
    batch = {'image': torch.randn(B, 3, S, S, generator=g, dtype=dtype), 'labels': torch.arange(B) % cfg['numClasses'],
             'noise': torch.randn(B, cfg['eprDim'], generator=g, dtype=dtype) * schedule(cfg['diffusion']['steps'], cfg['diffusion']['betaStart'], cfg['diffusion']['betaEnd'])['sqrt_one_minus_cum'][-1]}
    if cfg['landmarkFeatures'] == 'heatmap':
        batch['landmarks'] = torch.rand(B, NUM_LANDMARKS, 2, generator=g, dtype=dtype)
    for part in ('image', 'landmark'):
        batch[f'features.{part}'] = [torch.rand(B, c, s, s, generator=g, dtype=dtype) for c, s in zip(FROZEN_CHANNELS, sizes)]
    batch['features.embedding'] = torch.rand(B, FROZEN_EMBEDDING_DIM, generator=g, dtype=dtype)
    return batch


def time_step(args):
    torch.set_num_threads(1)
    cfg, stage, params = load_model(args.checkpoint, torch.float32)
    P = Params(params)
    trainable = [t for t in params.values() if t.requires_grad]
    opt = torch.optim.Adam(trainable, lr=3.5e-4, weight_decay=1e-4)  # the trainer's defaults
    g = torch.Generator().manual_seed(1)
    batches = [random_batch(cfg, args.batch, torch.float32, g) for _ in range(2)]
    times = []
    for i in range(args.warmup + args.steps):
        batch = batches[i % 2]  # inputs made outside the timed region
        t0 = time.process_time()
        opt.zero_grad(set_to_none=True)
        _, loss, _, _ = forward(P, cfg, stage, batch)
        loss.backward()
        opt.step()
        dt = time.process_time() - t0
        if i >= args.warmup:
            times.append(dt * 1000)
    ms = statistics.median(times)
    result = {'preset': cfg['preset'], 'stage': stage, 'batch': args.batch, 'backbone': cfg['backbone'], 'torch': torch.__version__, 'threads': torch.get_num_threads(),
              'cpuMsPerStep': ms, 'cpuMsPerImage': ms / args.batch, 'steps': len(times), 'parameters': sum(t.numel() for t in trainable)}
    if args.json:
        print(json.dumps(result))
    else:
        print(f'{cfg["preset"]} stage {stage} batch {args.batch}: {ms:.1f} CPU ms per step, {ms / args.batch:.2f} per image '
              f'(torch {torch.__version__}, {torch.get_num_threads()} thread, median of {len(times)} after {args.warmup} warm-up)')
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    c = sub.add_parser('check', help='compare our logits and gradients (written by scripts/torch-twin.ts) with float64 PyTorch')
    c.add_argument('dir', help='the --out folder of scripts/torch-twin.ts')
    c.add_argument('--tolerance', type=float, default=1e-4)
    t = sub.add_parser('time', help='CPU time of one float32 training step on one thread')
    t.add_argument('checkpoint')
    t.add_argument('--batch', type=int, default=8)
    t.add_argument('--steps', type=int, default=5)
    t.add_argument('--warmup', type=int, default=2)
    t.add_argument('--json', action='store_true')
    args = ap.parse_args()
    torch.set_default_dtype(torch.float64 if args.cmd == 'check' else torch.float32)
    return check(args) if args.cmd == 'check' else time_step(args)


if __name__ == '__main__':
    sys.exit(main())
