"""cudatrace workload: PyTorch, one case per process (argv[1]).

  import   import torch only
  query    import torch, is_available, device name, capability, mem_get_info
  mlp      an MLP, 20 training steps
  cnn      a small CNN with cuDNN convolutions and batch norm, 10 steps
  amp      a bf16 autocast training step (5 steps)
  graph    a training step captured in a CUDA graph and replayed
  compile  a torch.compile'd function (Inductor -> Triton kernels)
Prints losses rounded to 4 digits (deterministic settings), the same
natively and under the tracer."""
import sys
import torch

case = sys.argv[1]
torch.manual_seed(0)
torch.backends.cudnn.benchmark = False
torch.backends.cudnn.deterministic = True
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False


def show(tag, v):
    print(tag, '%.4f' % float(v))


if case == 'import':
    print('imported', torch.__version__.split('+')[0] != '')
elif case == 'query':
    print('available', torch.cuda.is_available())
    print('count', torch.cuda.device_count())
    print('name', torch.cuda.get_device_name(0))
    print('capability', torch.cuda.get_device_capability(0))
    free, total = torch.cuda.mem_get_info()
    print('mem_get_info total GiB', round(total / 2**30))
elif case == 'mlp':
    dev = 'cuda'
    m = torch.nn.Sequential(torch.nn.Linear(256, 512), torch.nn.ReLU(),
                            torch.nn.Linear(512, 512), torch.nn.ReLU(),
                            torch.nn.Linear(512, 10)).to(dev)
    opt = torch.optim.SGD(m.parameters(), lr=0.05)
    x = torch.randn(128, 256, device=dev)
    y = torch.randint(0, 10, (128,), device=dev)
    for step in range(20):
        loss = torch.nn.functional.cross_entropy(m(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 5 == 4:
            show('mlp step %d loss' % step, loss)
elif case == 'cnn':
    dev = 'cuda'
    m = torch.nn.Sequential(
        torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.BatchNorm2d(16), torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.BatchNorm2d(32), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(32, 10)).to(dev)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    x = torch.randn(32, 3, 32, 32, device=dev)
    y = torch.randint(0, 10, (32,), device=dev)
    for step in range(10):
        loss = torch.nn.functional.cross_entropy(m(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    show('cnn loss', loss)
    m.eval()
    with torch.no_grad():
        show('cnn eval mean', m(x).mean())
elif case == 'amp':
    dev = 'cuda'
    m = torch.nn.Sequential(torch.nn.Linear(512, 1024), torch.nn.GELU(),
                            torch.nn.Linear(1024, 512)).to(dev)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3)
    x = torch.randn(64, 512, device=dev)
    for step in range(5):
        with torch.autocast('cuda', dtype=torch.bfloat16):
            loss = (m(x).float() - x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    show('amp loss', loss)
elif case == 'graph':
    dev = 'cuda'
    m = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(),
                            torch.nn.Linear(128, 1)).to(dev)
    opt = torch.optim.SGD(m.parameters(), lr=0.01)
    sx = torch.randn(32, 64, device=dev)
    sy = torch.randn(32, 1, device=dev)
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(3):
            opt.zero_grad(set_to_none=True)
            torch.nn.functional.mse_loss(m(sx), sy).backward()
            opt.step()
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    opt.zero_grad(set_to_none=True)
    with torch.cuda.graph(g):
        sloss = torch.nn.functional.mse_loss(m(sx), sy)
        sloss.backward()
        opt.step()
    for i in range(10):
        sx.copy_(torch.randn(32, 64, device=dev))
        g.replay()
    torch.cuda.synchronize()
    show('graph replay loss', sloss)
elif case == 'compile':
    dev = 'cuda'

    def f(a, b):
        return torch.nn.functional.gelu(a @ b + 1.0).sum(dim=1) * torch.sigmoid(a[:, :1]).squeeze()

    cf = torch.compile(f)
    a = torch.randn(256, 256, device=dev)
    b = torch.randn(256, 256, device=dev)
    r = cf(a, b)
    torch.cuda.synchronize()
    print('compile close to eager', bool(torch.allclose(r, f(a, b), rtol=1e-3, atol=1e-3)))
    show('compile sum', r.sum() / 1000)
else:
    sys.exit('unknown case ' + case)
