// SPDX-License-Identifier: MIT
// A small MLP (128-256-10, batch 256) trained with SGD: cuBLAS GEMMs and
// AXPYs plus custom kernels (bias+ReLU, softmax cross-entropy, reductions).
// Everything is deterministic, so the loss curve printed here must match
// bit for bit between a native run and a run through Wormhole.
//   mlp [steps=300] [print_every=10] [warmup=0]
// print_every 0 prints only the end; the steps/s figure leaves out the
// first `warmup` steps (lazy module loading, cuBLAS heuristics).
#include "common.h"
#include <chrono>
#include <cmath>
#include <cublas_v2.h>

#define CB(x)                                                                  \
	do {                                                                   \
		cublasStatus_t s_ = (x);                                       \
		if (s_ != CUBLAS_STATUS_SUCCESS) {                             \
			fprintf(stderr, "%s:%d: %s: status %d\n", __FILE__,     \
				__LINE__, #x, (int)s_);                        \
			exit(1);                                               \
		}                                                              \
	} while (0)

enum { D = 128, H = 256, C = 10, B = 256, N = 8192 };

__global__ void bias_relu(float *Z, const float *b, float *A, int rows, int cols)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < rows * cols) {
		float z = Z[i] + b[i % rows];
		Z[i] = z;
		A[i] = z > 0 ? z : 0;
	}
}

__global__ void add_bias(float *Z, const float *b, int rows, int cols)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < rows * cols)
		Z[i] += b[i % rows];
}

__global__ void softmax_xent(const float *Z, const int *y, float *dZ, float *loss, int cols)
{
	int j = blockIdx.x * blockDim.x + threadIdx.x;
	if (j >= cols)
		return;
	const float *z = Z + j * C;
	float m = z[0];
	for (int k = 1; k < C; k++)
		m = fmaxf(m, z[k]);
	float s = 0;
	for (int k = 0; k < C; k++)
		s += expf(z[k] - m);
	float ls = logf(s) + m;
	loss[j] = ls - z[y[j]];
	for (int k = 0; k < C; k++)
		dZ[j * C + k] = (expf(z[k] - ls) - (k == y[j] ? 1.0f : 0.0f)) / cols;
}

__global__ void mean_loss(const float *loss, int n, float *out)
{
	__shared__ float sh[256];
	float s = 0;
	for (int i = threadIdx.x; i < n; i += 256)
		s += loss[i];
	sh[threadIdx.x] = s;
	__syncthreads();
	for (int w = 128; w > 0; w >>= 1) {
		if (threadIdx.x < w)
			sh[threadIdx.x] += sh[threadIdx.x + w];
		__syncthreads();
	}
	if (threadIdx.x == 0)
		*out = sh[0] / n;
}

__global__ void row_sum(const float *dZ, float *db, int rows, int cols)
{
	int r = blockIdx.x * blockDim.x + threadIdx.x;
	if (r < rows) {
		float s = 0;
		for (int j = 0; j < cols; j++)
			s += dZ[r + j * rows];
		db[r] = s;
	}
}

__global__ void relu_back(float *dA, const float *Z, int n)
{
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n && Z[i] <= 0)
		dA[i] = 0;
}

static unsigned bits(float f)
{
	unsigned u;
	memcpy(&u, &f, 4);
	return u;
}

int main(int argc, char **argv)
{
	int steps = argc > 1 ? atoi(argv[1]) : 300;
	int every = argc > 2 ? atoi(argv[2]) : 10;
	int warmup = argc > 3 ? atoi(argv[3]) : 0;
	if (warmup >= steps)
		warmup = 0;
	uint32_t s = 12345;
	// Data: labels come from a random "teacher" layer.
	float *X = (float *)malloc((size_t)D * N * 4), *T = (float *)malloc(C * D * 4);
	int *Y = (int *)malloc(N * 4);
	for (int i = 0; i < D * N; i++)
		X[i] = frand(s) * 2;
	for (int i = 0; i < C * D; i++)
		T[i] = frand(s);
	for (int j = 0; j < N; j++) {
		int best = 0;
		float bv = -1e30f;
		for (int k = 0; k < C; k++) {
			float v = 0;
			for (int d = 0; d < D; d++)
				v += T[k + d * C] * X[d + (size_t)j * D];
			if (v > bv) {
				bv = v;
				best = k;
			}
		}
		Y[j] = best;
	}
	float *W1 = (float *)malloc(H * D * 4), *W2 = (float *)malloc(C * H * 4);
	for (int i = 0; i < H * D; i++)
		W1[i] = frand(s) * 0.2f;
	for (int i = 0; i < C * H; i++)
		W2[i] = frand(s) * 0.2f;

	float *dX, *dW1, *dW2, *db1, *db2, *dZ1, *dA1, *dZ2, *ddZ2, *ddA1, *dgW1, *dgW2, *dgb1, *dgb2, *dloss, *dmean;
	int *dY;
	CK(cudaMalloc(&dX, (size_t)D * N * 4));
	CK(cudaMalloc(&dY, N * 4));
	CK(cudaMalloc(&dW1, H * D * 4));
	CK(cudaMalloc(&dW2, C * H * 4));
	CK(cudaMalloc(&db1, H * 4));
	CK(cudaMalloc(&db2, C * 4));
	CK(cudaMalloc(&dZ1, H * B * 4));
	CK(cudaMalloc(&dA1, H * B * 4));
	CK(cudaMalloc(&dZ2, C * B * 4));
	CK(cudaMalloc(&ddZ2, C * B * 4));
	CK(cudaMalloc(&ddA1, H * B * 4));
	CK(cudaMalloc(&dgW1, H * D * 4));
	CK(cudaMalloc(&dgW2, C * H * 4));
	CK(cudaMalloc(&dgb1, H * 4));
	CK(cudaMalloc(&dgb2, C * 4));
	CK(cudaMalloc(&dloss, B * 4));
	CK(cudaMalloc(&dmean, 4));
	CK(cudaMemcpy(dX, X, (size_t)D * N * 4, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(dY, Y, N * 4, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(dW1, W1, H * D * 4, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(dW2, W2, C * H * 4, cudaMemcpyHostToDevice));
	CK(cudaMemset(db1, 0, H * 4));
	CK(cudaMemset(db2, 0, C * 4));

	cublasHandle_t h;
	CB(cublasCreate(&h));
	const float one = 1, zero = 0, lr = -0.05f;
	float loss = 0;
	CK(cudaDeviceSynchronize());
	auto t0 = std::chrono::steady_clock::now();
	for (int step = 0; step < steps; step++) {
		if (warmup && step == warmup) {
			CK(cudaDeviceSynchronize());
			t0 = std::chrono::steady_clock::now();
		}
		int b0 = (step * B) % N;
		const float *x = dX + (size_t)b0 * D;
		const int *y = dY + b0;
		CB(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, H, B, D, &one, dW1, H, x, D, &zero, dZ1, H));
		bias_relu<<<(H * B + 255) / 256, 256>>>(dZ1, db1, dA1, H, B);
		CB(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, C, B, H, &one, dW2, C, dA1, H, &zero, dZ2, C));
		add_bias<<<(C * B + 255) / 256, 256>>>(dZ2, db2, C, B);
		softmax_xent<<<(B + 127) / 128, 128>>>(dZ2, y, ddZ2, dloss, B);
		mean_loss<<<1, 256>>>(dloss, B, dmean);
		CB(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_T, C, H, B, &one, ddZ2, C, dA1, H, &zero, dgW2, C));
		row_sum<<<1, 32>>>(ddZ2, dgb2, C, B);
		CB(cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, H, B, C, &one, dW2, C, ddZ2, C, &zero, ddA1, H));
		relu_back<<<(H * B + 255) / 256, 256>>>(ddA1, dZ1, H * B);
		CB(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_T, H, D, B, &one, ddA1, H, x, D, &zero, dgW1, H));
		row_sum<<<(H + 255) / 256, 256>>>(ddA1, dgb1, H, B);
		CB(cublasSaxpy(h, H * D, &lr, dgW1, 1, dW1, 1));
		CB(cublasSaxpy(h, C * H, &lr, dgW2, 1, dW2, 1));
		CB(cublasSaxpy(h, H, &lr, dgb1, 1, db1, 1));
		CB(cublasSaxpy(h, C, &lr, dgb2, 1, db2, 1));
		CK(cudaGetLastError());
		if ((every && (step % every == 0)) || step == steps - 1) {
			CK(cudaMemcpy(&loss, dmean, 4, cudaMemcpyDeviceToHost));
			if (every)
				printf("step %4d loss %.9g (%08x)\n", step, loss, bits(loss));
		}
	}
	CK(cudaDeviceSynchronize());
	double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	CK(cudaMemcpy(W1, dW1, H * D * 4, cudaMemcpyDeviceToHost));
	CK(cudaMemcpy(W2, dW2, C * H * 4, cudaMemcpyDeviceToHost));
	uint64_t hash = fnv(W2, C * H * 4, fnv(W1, H * D * 4));
	printf("final loss %.9g (%08x) weights hash=%016llx\n", loss, bits(loss), (unsigned long long)hash);
	printf("# mlp %d steps in %.3f s: %.1f steps/s\n", steps - warmup, sec,
	       (steps - warmup) / sec);
	CB(cublasDestroy(h));
	bool ok = std::isfinite(loss) && loss < 2.3f;
	printf("%s\n", ok ? "PASS" : "FAIL");
	return ok ? 0 : 1;
}
