"""cudatrace workload: CuPy elementwise, reduction, matmul and a RawKernel.

Prints rounded results, the same natively and under the tracer."""
import cupy as cp

x = cp.arange(1 << 20, dtype=cp.float32)
y = cp.sin(x) * 2 + x / 3                       # elementwise (CuPy's NVRTC kernels)
print('elementwise', round(float(y[12345]), 3))
print('reduction', round(float(cp.sum(x) / 1e9), 6), float(cp.max(y) > 0))
a = cp.asarray(cp.random.RandomState(1).standard_normal((256, 256)), dtype=cp.float32)
b = a @ a.T                                      # cuBLAS
print('matmul', round(float(cp.trace(b)), 1))
k = cp.RawKernel(r'''
extern "C" __global__ void twice(const float *x, float *y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = 2.0f * x[i];
}''', 'twice')
out = cp.empty_like(x)
k(((x.size + 255) // 256,), (256,), (x, out, cp.int32(x.size)))
cp.cuda.Device().synchronize()
print('rawkernel', float(out[1000]), bool(cp.all(out == 2 * x)))
print('device', cp.cuda.runtime.getDeviceProperties(0)['name'].decode())
