# Can FPEN-like image encoders learn SynthFER from scratch? Trains an encoder + linear classifier on
# the files written by scripts/synthfer-torch-cnn.ts and prints held-out accuracy every 100 steps
# (batch 16, horizontal flips; chance 0.143). The README's "why stage 1 starts from the baseline"
# quotes these runs (490 / 210 faces):
#   bun scripts/synthfer-torch-cnn.ts --dir /tmp/sf03 --train 490 --test 210 --difficulty 0.3
#   /usr/bin/python3 scripts/fpen-torch-probe.py /tmp/sf03 toled strided,kaiming,3 2000
# VARIANT = stem,init,mlp[,lr]: stem unshuffle (FPEN's PixelUnshuffle(4)) | strided (2 stride-2
# convs) | patch (4×4 stride 4) | plain (the small CNN alone); init default | kaiming; mlp = FPEN MLP depth.
import sys, time, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
torch.set_num_threads(2)
d, kind, variant, steps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
S=64
def load(split):
    x = np.fromfile(f'{d}/{kind}-{split}-x.bin', np.uint8).reshape(-1,3,S,S).astype(np.float32)/255
    y = np.fromfile(f'{d}/{split}-y.bin', np.uint8).astype(np.int64)
    return torch.tensor((x-0.45)/0.225), torch.tensor(y)
xtr,ytr=load('train'); xte,yte=load('test')
lr_ = lambda: nn.LeakyReLU(0.1)
class Res(nn.Module):
    def __init__(s,W): super().__init__(); s.c1=nn.Conv2d(W,W,3,1,1); s.c2=nn.Conv2d(W,W,3,1,1)
    def forward(s,x): return x+s.c2(F.leaky_relu(s.c1(x),0.1))
def enc(stem, W=16, D=128, C=64, mlp=3):
    if stem=='unshuffle': st=[nn.PixelUnshuffle(4), nn.Conv2d(48,W,3,1,1), lr_()]
    elif stem=='strided': st=[nn.Conv2d(3,W,3,2,1), lr_(), nn.Conv2d(W,W,3,2,1), lr_()]
    elif stem=='plain':
        return nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), nn.ReLU(), nn.Conv2d(16, 32, 3, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 3, 2, 1), nn.ReLU(), nn.Conv2d(64, 64, 3, 1, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    elif stem=='patch': st=[nn.Conv2d(3,W,4,4,0), lr_()]
    layers = st+[Res(W), nn.Conv2d(W,2*W,3,1,1), lr_(), nn.Conv2d(2*W,2*W,3,1,1), lr_(), nn.Conv2d(2*W,D,3,1,1), lr_(), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    dims=[D]+[C]*mlp
    for i in range(mlp): layers += [nn.Linear(dims[i],dims[i+1]), lr_()]
    return nn.Sequential(*layers)
parts = variant.split(',')
stem = parts[0]; init = parts[1]; mlp=int(parts[2]); lr=float(parts[3]) if len(parts)>3 else 2e-3
torch.manual_seed(0)
e = enc(stem, mlp=mlp)
if init=='kaiming':
    for m in e.modules():
        if isinstance(m,(nn.Conv2d,nn.Linear)):
            nn.init.kaiming_normal_(m.weight, a=0.1, nonlinearity='leaky_relu'); nn.init.zeros_(m.bias)
    for m in e.modules():
        if isinstance(m,Res): m.c2.weight.data*=0.5
net = nn.Sequential(e, nn.Linear(64 if mlp>0 else 128,7))
opt=torch.optim.Adam(net.parameters(), lr)
g=torch.Generator().manual_seed(5); t0=time.time(); curve=[]
for s in range(1,steps+1):
    idx=torch.randint(0,len(xtr),(16,),generator=g)
    flip=torch.rand(16,generator=g)<0.5
    x=torch.where(flip[:,None,None,None], xtr[idx].flip(3), xtr[idx])
    loss=F.cross_entropy(net(x),ytr[idx]); opt.zero_grad(); loss.backward(); opt.step()
    if s%100==0:
        with torch.no_grad(): curve.append(f'{s}:{(net(xte).argmax(1)==yte).float().mean().item():.2f}')
print(f'{d[-4:]} {kind} {variant}: {" ".join(curve)} ({time.time()-t0:.0f}s)', flush=True)
