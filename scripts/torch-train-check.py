# Replays scripts/torch-train-check.ts in PyTorch (float64) and prints relative differences.
# Run: bun scripts/torch-train-check.ts && /usr/bin/python3 scripts/torch-train-check.py
import json, struct, numpy as np, torch, torch.nn.functional as F
b = open('/tmp/torch-train-check.safetensors','rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8+n]); base = 8+n
def get(k):
    v = h[k]; s,e = v['data_offsets']; dt = np.float32 if v['dtype']=='F32' else np.int32
    return torch.from_numpy(np.frombuffer(b[base+s:base+e], dtype=dt).reshape(v['shape']).copy())
names = [f'c{i}.{p}' for i in range(4) for p in ('weight','bias')] + ['head.weight','head.bias']
P = {k: get('init.'+k).double().requires_grad_() for k in names}
opt = torch.optim.Adam(list(P.values()), lr=3e-3)
strides = [2,2,2,1]
def net(x):
    for i in range(4): x = F.relu(F.conv2d(x, P[f'c{i}.weight'], P[f'c{i}.bias'], stride=strides[i], padding=1))
    return F.linear(x.mean((2,3)), P['head.weight'], P['head.bias'])
losses=[]
for s in range(5):
    x = get(f'x{s}').double(); y = get(f'y{s}').long()
    loss = F.cross_entropy(net(x), y); opt.zero_grad(); loss.backward()
    if s == 0:
        for k in names:
            g = get('grad0.'+k).double(); print('grad0', k, float((g - P[k].grad).norm()/P[k].grad.norm()))
    opt.step(); losses.append(loss.item())
print('torch losses', losses)
print('ours  losses', get('losses').tolist())
for k in names:
    f = get('final.'+k).double(); print('final', k, float((f - P[k].detach()).norm()/P[k].detach().norm()))
