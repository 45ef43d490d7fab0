#!/usr/bin/python3
"""PyTorch reference fixtures for the fused LRDif kernels and a few core ops.

Regenerate (needs PyTorch; CI does not — the JSON outputs are committed):

    /usr/bin/python3 scripts/torch-fixtures.py

Writes test/fixtures/torch/<op>.json, read by that op's own test, test/<op>.test.ts, through
test/torch-fixture.ts (the shared loader and comparison). Every fixture is
deterministic (fixed seed per fixture). Inputs are drawn in float64, rounded to float32 (what the
GPU sees) and stored as float32 values; the forward outputs and the autograd gradients are then
computed in float64 from those rounded inputs, with `(y * dy).sum().backward()` for a random
upstream gradient `dy` (itself float32-rounded and stored). Each file records the torch version.

File layout: {"torch": version, "seed": n, "cases": [{"name", "options", "tensors": {name:
{"shape", "data"}}}]}; the test knows which tensors are inputs, outputs and gradients by name
(gradients are "grad_<input>").
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'torch')


def f32(t):
    """Rounds to float32 and back, so the float64 reference starts from the GPU's exact inputs."""
    return t.float().double()


def randn(g, *shape, scale=1.0):
    return f32(torch.randn(*shape, generator=g) * scale)


def uniform(g, *shape, lo=-1.0, hi=1.0):
    return f32(lo + (hi - lo) * torch.rand(*shape, generator=g))


def enc(t, digits):
    t = t.detach()
    return {'shape': list(t.shape), 'data': [float(f'{x:.{digits}g}') for x in t.reshape(-1).tolist()]}


class Case:
    def __init__(self, name, options=None):
        self.name = name
        self.options = options or {}
        self.tensors = {}

    def input(self, name, t):
        """Stores an input (float32 values: 9 significant digits round-trip exactly)."""
        self.tensors[name] = enc(f32(t), 9)

    def output(self, name, t):
        """Stores a float64 result (12 significant digits: far below the tests' tolerances)."""
        self.tensors[name] = enc(t, 12)

    def json(self):
        return {'name': self.name, 'options': self.options, 'tensors': self.tensors}


def run_autograd(case, inputs, fn, g, out_name='y'):
    """inputs: {name: float64 tensor}; stores inputs, y = fn(**leaves), dy, and grad_<name> of every input."""
    leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    y = fn(**leaves)
    dy = randn(g, *y.shape)
    (y * dy).sum().backward()
    for k, v in inputs.items():
        case.input(k, v)
    case.output(out_name, y)
    case.input('dy', dy)
    for k, v in leaves.items():
        case.output(f'grad_{k}', v.grad)
    return y


def write(name, seed, cases):
    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, f'{name}.json')
    doc = {'torch': torch.__version__, 'generator': 'scripts/torch-fixtures.py', 'seed': seed, 'cases': [c.json() for c in cases]}
    with open(path, 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
        f.write('\n')
    print(f'{path}: {os.path.getsize(path)} bytes, {len(cases)} cases')


# 1. MDTA core (Restormer Attention between qkv_dwconv and project_out).
def mdta(q, k, v, temperature, heads):
    B, C, H, W = q.shape
    split = lambda t: t.reshape(B, heads, C // heads, H * W)
    q, k, v = split(q), split(k), split(v)
    q = F.normalize(q, dim=-1)
    k = F.normalize(k, dim=-1)
    attn = (q @ k.transpose(-2, -1)) * temperature
    attn = attn.softmax(dim=-1)
    return (attn @ v).reshape(B, C, H, W)


def gen_channel_attention():
    seed = 101
    g = torch.Generator().manual_seed(seed)
    cases = []
    for B, C, heads, H, W in [(2, 12, 3, 5, 7), (1, 10, 2, 3, 9)]:
        c = Case(f'mdta B{B} C{C} heads{heads} {H}x{W}', {'heads': heads})
        inputs = {'q': randn(g, B, C, H, W), 'k': randn(g, B, C, H, W), 'v': randn(g, B, C, H, W),
                  'temperature': uniform(g, heads, 1, 1, lo=0.5, hi=2.0)}
        run_autograd(c, inputs, lambda q, k, v, temperature: mdta(q, k, v, temperature, heads), g)
        cases.append(c)
    write('channel-attention', seed, cases)


# 2. GDFN gate (Restormer FeedForward between project_in and project_out).
def gen_gated_dwconv():
    seed = 202
    g = torch.Generator().manual_seed(seed)
    cases = []
    for B, Hd, H, W, bias in [(2, 7, 5, 6, True), (1, 5, 7, 3, False)]:
        c = Case(f'gdfn B{B} Hd{Hd} {H}x{W} bias={bias}', {'bias': bias})
        inputs = {'x': randn(g, B, 2 * Hd, H, W), 'weight': randn(g, 2 * Hd, 1, 3, 3, scale=0.5)}
        if bias:
            inputs['bias'] = randn(g, 2 * Hd, scale=0.3)

        def fn(x, weight, bias=None):
            y = F.conv2d(x, weight, bias, padding=1, groups=2 * Hd)
            x1, x2 = y.chunk(2, dim=1)
            return F.gelu(x1) * x2
        run_autograd(c, inputs, fn, g)
        cases.append(c)
    write('gated-dwconv', seed, cases)


# 3. EPR-modulated LayerNorm: Restormer's WithBias LayerNorm over channels (the one LRDif uses),
# then x*s + b. Without a bias our ops are torch's LayerNorm(bias=False): centred, weight only
# (not Restormer's BiasFree variant, which skips the centring).
def restormer_layernorm(x, weight, bias):
    x3 = x.permute(0, 2, 3, 1)  # to_3d, channel-last
    sigma = x3.var(-1, keepdim=True, unbiased=False)
    mu = x3.mean(-1, keepdim=True)
    y = (x3 - mu) / torch.sqrt(sigma + 1e-5) * weight
    if bias is not None:
        y = y + bias
    return y.permute(0, 3, 1, 2)


def gen_modulated_layernorm():
    seed = 303
    g = torch.Generator().manual_seed(seed)
    cases = []
    for B, C, H, W, with_bias in [(2, 12, 5, 7, True), (3, 9, 4, 3, True), (2, 12, 5, 7, False)]:
        kind = 'WithBias' if with_bias else 'weight only'
        c = Case(f'modulated LayerNorm {kind} B{B} C{C} {H}x{W}', {'withBias': with_bias})
        inputs = {'x': randn(g, B, C, H, W) + 0.5, 'lnWeight': uniform(g, C, lo=0.5, hi=1.5)}
        if with_bias:
            inputs['lnBias'] = randn(g, C, scale=0.3)
        inputs['scale'] = randn(g, B, C)
        inputs['shift'] = randn(g, B, C)

        def fn(x, lnWeight, scale, shift, lnBias=None):
            return restormer_layernorm(x, lnWeight, lnBias) * scale[:, :, None, None] + shift[:, :, None, None]
        run_autograd(c, inputs, fn, g)
        cases.append(c)
    write('modulated-layernorm', seed, cases)


# 4. POSTER++ WindowAttentionGlobal, with window partition / reverse around it.
def relative_position_index(w):
    coords = torch.stack(torch.meshgrid([torch.arange(w), torch.arange(w)], indexing='ij'))
    flat = torch.flatten(coords, 1)
    rel = (flat[:, :, None] - flat[:, None, :]).permute(1, 2, 0).contiguous()
    rel[:, :, 0] += w - 1
    rel[:, :, 1] += w - 1
    rel[:, :, 0] *= 2 * w - 1
    return rel.sum(-1)


def window_partition(x, w):
    B, H, W, C = x.shape
    x = x.view(B, H // w, w, W // w, w, C)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, w * w, C)


def window_reverse(x, w, H, W):
    B = x.shape[0] // ((H // w) * (W // w))
    x = x.view(B, H // w, W // w, w, w, -1)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(B, H, W, -1)


def window_attention_global(x, q_global, kv_weight, kv_bias, table, proj_weight, proj_bias, heads, w):
    """WindowAttentionGlobal.forward: x [B_, N, C] windows, q_global [B, 1, heads, N, hd] (or one per window)."""
    B_, N, C = x.shape
    B = q_global.shape[0]
    hd = C // heads
    kv = F.linear(x, kv_weight, kv_bias).reshape(B_, N, 2, heads, hd).permute(2, 0, 3, 1, 4)
    k, v = kv[0], kv[1]
    q_global = q_global.repeat(1, B_ // B, 1, 1, 1)
    q = q_global.reshape(B_, heads, N, hd) * hd ** -0.5
    attn = q @ k.transpose(-2, -1)
    bias = table[relative_position_index(w).view(-1)].view(N, N, -1).permute(2, 0, 1).contiguous()
    attn = (attn + bias.unsqueeze(0)).softmax(dim=-1)
    out = (attn @ v).transpose(1, 2).reshape(B_, N, C)
    return F.linear(out, proj_weight, proj_bias)


def to_query(lm, heads):
    """POSTER++ _to_query on a channel-last map: [B, h, w, d] → [B, 1, heads, h·w, hd]."""
    B, h, w, d = lm.shape
    return lm.reshape(B, 1, h * w, heads, d // heads).permute(0, 1, 3, 2, 4)


def gen_window_cross_attention():
    seed = 404
    g = torch.Generator().manual_seed(seed)
    cases = []
    # (B, map, d, heads, window, queries): 'full' = POSTER++ (window = map); 'partition' = the
    # landmark map partitioned like the image; 'pool' = landmarks average-pooled to w×w and shared by
    # every window (poolQueries); 'window' = landmark tokens given at w×w, shared.
    for B, M, d, heads, w, mode in [(2, 4, 8, 2, 4, 'full'), (1, 3, 6, 3, 3, 'full'), (2, 4, 8, 2, 2, 'partition'),
                                     (2, 6, 8, 2, 3, 'pool'), (1, 4, 8, 2, 2, 'window')]:
        c = Case(f'window cross-attention B{B} map{M} d{d} heads{heads} window{w} queries={mode}',
                 {'heads': heads, 'window': w, 'queries': mode})
        lm_side = w if mode == 'window' else M
        span = 2 * w - 1
        inputs = {'img': randn(g, B, M, M, d), 'lm': randn(g, B, lm_side, lm_side, d),
                  'kvWeight': randn(g, 2 * d, d, scale=d ** -0.5), 'kvBias': randn(g, 2 * d, scale=0.1),
                  'relTable': randn(g, span * span, heads, scale=0.5),
                  'projWeight': randn(g, d, d, scale=d ** -0.5), 'projBias': randn(g, d, scale=0.1)}

        def fn(img, lm, kvWeight, kvBias, relTable, projWeight, projBias):
            xw = window_partition(img, w)
            if mode == 'partition':
                qg = to_query(window_partition(lm, w).view(-1, w, w, d), heads)  # one query set per window
            elif mode == 'pool':
                pooled = F.avg_pool2d(lm.permute(0, 3, 1, 2), M // w).permute(0, 2, 3, 1)
                qg = to_query(pooled, heads)
            else:
                qg = to_query(lm, heads)
            out = window_attention_global(xw, qg, kvWeight, kvBias, relTable, projWeight, projBias, heads, w)
            return window_reverse(out, w, M, M)
        run_autograd(c, inputs, fn, g)
        cases.append(c)
    write('window-cross-attention', seed, cases)


# 5. Multi-head self-attention core (timm/POSTER++ ViT Attention between qkv and proj).
def gen_attention():
    seed = 505
    g = torch.Generator().manual_seed(seed)
    cases = []
    for B, heads, N, dh in [(2, 3, 11, 8), (1, 2, 37, 5)]:
        scale = dh ** -0.5
        c = Case(f'MHSA B{B} heads{heads} N{N} dh{dh}', {'scale': scale})
        inputs = {'q': randn(g, B, heads, N, dh), 'k': randn(g, B, heads, N, dh), 'v': randn(g, B, heads, N, dh)}
        run_autograd(c, inputs, lambda q, k, v: F.softmax(q @ k.transpose(-2, -1) * scale, dim=-1) @ v, g)
        cases.append(c)
    write('attention', seed, cases)


# 6. Losses (scalar outputs: dy is a random scalar).
def gen_losses():
    seed = 606
    g = torch.Generator().manual_seed(seed)
    cases = []
    B, K = 5, 7
    for smoothing in [0.0, 0.1]:
        c = Case(f'cross_entropy B{B} K{K} label_smoothing={smoothing}', {'labelSmoothing': smoothing})
        labels = torch.randint(0, K, (B,), generator=g)
        c.options['labels'] = labels.tolist()
        run_autograd(c, {'logits': randn(g, B, K, scale=2.0)},
                     lambda logits: F.cross_entropy(logits, labels, label_smoothing=smoothing).reshape(1), g)
        cases.append(c)
    for tau in [1.0, 0.15]:
        c = Case(f'kl_div batchmean B{B} K{K} tau={tau}', {'tau': tau})
        target = randn(g, B, K, scale=0.5)
        c.input('target', target)

        def kl(pred):
            return F.kl_div(F.log_softmax(pred / tau, 1), F.softmax(target / tau, 1), reduction='batchmean').reshape(1)
        run_autograd(c, {'pred': randn(g, B, K, scale=0.5)}, kl, g)
        cases.append(c)
    c = Case('l1_loss 3x5x7', {})
    run_autograd(c, {'a': randn(g, 3, 5, 7), 'b': randn(g, 3, 5, 7)}, lambda a, b: F.l1_loss(a, b).reshape(1), g)
    cases.append(c)
    write('losses', seed, cases)


# 7. Adam / AdamW over 10 steps with given gradients.
def gen_adam():
    seed = 707
    g = torch.Generator().manual_seed(seed)
    cases = []
    sizes = [5, 1, 37, 130]
    steps = 10
    configs = [
        ('Adam weight_decay=0.01', torch.optim.Adam, {'lr': 1e-2, 'weight_decay': 0.01}, {'lr': 1e-2, 'weightDecay': 0.01, 'decoupled': False}, None),
        ('Adam betas=(0.8,0.99) eps=1e-6', torch.optim.Adam, {'lr': 3e-3, 'betas': (0.8, 0.99), 'eps': 1e-6},
         {'lr': 3e-3, 'beta1': 0.8, 'beta2': 0.99, 'eps': 1e-6}, None),
        ('AdamW weight_decay=0.1', torch.optim.AdamW, {'lr': 1e-2, 'weight_decay': 0.1}, {'lr': 1e-2, 'weightDecay': 0.1, 'decoupled': True}, None),
        ('AdamW + clip_grad_norm_(1.0)', torch.optim.AdamW, {'lr': 1e-2, 'weight_decay': 0.05},
         {'lr': 1e-2, 'weightDecay': 0.05, 'decoupled': True, 'clipGradNorm': 1.0}, 1.0),
    ]
    for name, cls, torch_opts, our_opts, clip in configs:
        c = Case(f'{name}, {steps} steps', {'adam': our_opts, 'steps': steps, 'sizes': sizes})
        params = [randn(g, n) for n in sizes]
        for i, p in enumerate(params):
            c.input(f'p{i}', p)
        leaves = [p.clone().requires_grad_(True) for p in params]
        opt = cls(leaves, foreach=False, **torch_opts)
        for s in range(steps):
            for i, (n, leaf) in enumerate(zip(sizes, leaves)):
                grad = randn(g, n)
                c.input(f'grad{s}_{i}', grad)
                leaf.grad = grad.clone()
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(leaves, clip)
            opt.step()
        for i, leaf in enumerate(leaves):
            c.output(f'final_p{i}', leaf)
            c.output(f'final_m{i}', opt.state[leaf]['exp_avg'])
            c.output(f'final_v{i}', opt.state[leaf]['exp_avg_sq'])
        cases.append(c)
    write('adam', seed, cases)


# 8. Core ops: one generator across all of them (the draws stay those of the former single core
# fixture), each op's cases written to the fixture its own test reads (test/<op>.test.ts).
def gen_core():
    seed = 808
    g = torch.Generator().manual_seed(seed)
    cases = []
    c = Case('conv2d stride 2 padding 1 groups 2, 2x6x9x7 -> 4', {'stride': 2, 'padding': 1, 'groups': 2})
    run_autograd(c, {'x': randn(g, 2, 6, 9, 7), 'weight': randn(g, 4, 3, 3, 3, scale=0.3), 'bias': randn(g, 4, scale=0.1)},
                 lambda x, weight, bias: F.conv2d(x, weight, bias, stride=2, padding=1, groups=2), g)
    cases.append(c)
    c = Case('layer_norm last axis 3x5x13', {'eps': 1e-5})
    run_autograd(c, {'x': randn(g, 3, 5, 13) + 0.3, 'weight': uniform(g, 13, lo=0.5, hi=1.5), 'bias': randn(g, 13, scale=0.3)},
                 lambda x, weight, bias: F.layer_norm(x, (13,), weight, bias, eps=1e-5), g)
    cases.append(c)
    c = Case('layer_norm eps 1e-6 2x3x300', {'eps': 1e-6})
    run_autograd(c, {'x': randn(g, 2, 3, 300), 'weight': uniform(g, 300, lo=0.5, hi=1.5), 'bias': randn(g, 300, scale=0.3)},
                 lambda x, weight, bias: F.layer_norm(x, (300,), weight, bias, eps=1e-6), g)
    cases.append(c)
    for with_bias in [True, False]:
        kind = 'WithBias' if with_bias else 'weight only'
        c = Case(f'layer_norm channels axis 1 (Restormer {kind}) 2x9x4x5', {'eps': 1e-5, 'axis': 1, 'withBias': with_bias})
        inputs = {'x': randn(g, 2, 9, 4, 5) + 0.5, 'weight': uniform(g, 9, lo=0.5, hi=1.5)}
        if with_bias:
            inputs['bias'] = randn(g, 9, scale=0.3)
        run_autograd(c, inputs, lambda x, weight, bias=None: restormer_layernorm(x, weight, bias), g)
        cases.append(c)
    c = Case('gelu (erf) 4x37', {})
    run_autograd(c, {'x': randn(g, 4, 37, scale=3.0)}, lambda x: F.gelu(x), g)
    cases.append(c)
    c = Case('pixel_unshuffle r=2 2x3x6x4', {'r': 2})
    run_autograd(c, {'x': randn(g, 2, 3, 6, 4)}, lambda x: F.pixel_unshuffle(x, 2), g)
    cases.append(c)
    c = Case('pixel_shuffle r=2 2x12x3x2', {'r': 2})
    run_autograd(c, {'x': randn(g, 2, 12, 3, 2)}, lambda x: F.pixel_shuffle(x, 2), g)
    cases.append(c)
    fixture_of_op = {'conv2d': 'conv2d', 'layer_norm': 'layernorm', 'gelu': 'elementwise', 'pixel_unshuffle': 'layout', 'pixel_shuffle': 'layout'}
    by_file = {}
    for c in cases:
        by_file.setdefault(fixture_of_op[c.name.split(' ')[0]], []).append(c)
    for name, file_cases in by_file.items():
        write(name, seed, file_cases)


if __name__ == '__main__':
    print(f'torch {torch.__version__}', file=sys.stderr)
    gen_channel_attention()
    gen_gated_dwconv()
    gen_modulated_layernorm()
    gen_window_cross_attention()
    gen_attention()
    gen_losses()
    gen_adam()
    gen_core()
