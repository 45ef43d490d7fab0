# PyTorch cross-check of SynthFER's difficulty: a small plain CNN (4 strided 3x3 conv + ReLU, global
# average pool, linear; the same net as scripts/small-cnn.ts) trained on clean and UDC-degraded
# SynthFER written by scripts/synthfer-torch-cnn.ts; prints held-out accuracy along the way.
#   /usr/bin/python3 scripts/synthfer-torch-cnn.py DIR [steps=3000] [batch=32] [lr=3e-3]
import json, sys, time
import numpy as np, torch, torch.nn as nn

d = sys.argv[1]
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
batch = int(sys.argv[3]) if len(sys.argv) > 3 else 32
lr = float(sys.argv[4]) if len(sys.argv) > 4 else 3e-3
meta = json.load(open(f'{d}/meta.json'))
S = meta['size']
torch.set_num_threads(2)

def load(kind, split):
    x = np.fromfile(f'{d}/{kind}-{split}-x.bin', np.uint8).reshape(-1, 3, S, S).astype(np.float32) / 255
    y = np.fromfile(f'{d}/{split}-y.bin', np.uint8).astype(np.int64)
    return torch.tensor((x - 0.45) / 0.225), torch.tensor(y)

for kind in ['clean', 'toled', 'poled']:
    torch.manual_seed(0)
    xtr, ytr = load(kind, 'train')
    xte, yte = load(kind, 'test')
    net = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), nn.ReLU(), nn.Conv2d(16, 32, 3, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 3, 2, 1), nn.ReLU(),
                        nn.Conv2d(64, 64, 3, 1, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 7))
    opt = torch.optim.Adam(net.parameters(), lr)
    g = torch.Generator().manual_seed(5)
    t0 = time.time()
    curve = []
    for s in range(1, steps + 1):
        idx = torch.randint(0, len(xtr), (batch,), generator=g)
        flip = torch.rand(batch, generator=g) < 0.5
        x = torch.where(flip[:, None, None, None], xtr[idx].flip(3), xtr[idx])
        loss = nn.functional.cross_entropy(net(x), ytr[idx])
        opt.zero_grad(); loss.backward(); opt.step()
        if s % max(1, steps // 6) == 0 or s == steps:
            with torch.no_grad():
                curve.append(f'{s}:{(net(xte).argmax(1) == yte).float().mean().item():.3f}')
    print(f'{kind:6s} ({meta["train"]} train / {meta["test"]} test, {S}px, difficulty {meta["difficulty"]}): held-out accuracy by step {" ".join(curve)} ({time.time() - t0:.0f} s; chance 0.143)', flush=True)
