// SPDX-License-Identifier: MIT
// cudatrace workload: one cuBLASLt matmul (fp32, 256x192x128), checked
// against a CPU product; prints a rounded checksum (same natively and
// under the tracer).
#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#define CK(x) do { auto e_ = (x); if ((int)e_ != 0) { \
	fprintf(stderr, "%s:%d: %s failed: %d\n", __FILE__, __LINE__, #x, (int)e_); exit(1); } } while (0)

int main()
{
	const int m = 256, n = 192, k = 128;
	std::vector<float> a(m * k), b(k * n), c(m * n), ref(m * n);
	unsigned s = 1;
	for (auto &x : a) { s = s * 1664525u + 1013904223u; x = (float)(s >> 9) / 8388608.0f - 0.5f; }
	for (auto &x : b) { s = s * 1664525u + 1013904223u; x = (float)(s >> 9) / 8388608.0f - 0.5f; }
	for (int j = 0; j < n; j++) /* column-major */
		for (int i = 0; i < m; i++) {
			double acc = 0;
			for (int p = 0; p < k; p++)
				acc += (double)a[p * m + i] * b[j * k + p];
			ref[j * m + i] = (float)acc;
		}
	float *da, *db, *dc;
	CK(cudaMalloc(&da, a.size() * 4));
	CK(cudaMalloc(&db, b.size() * 4));
	CK(cudaMalloc(&dc, c.size() * 4));
	CK(cudaMemcpy(da, a.data(), a.size() * 4, cudaMemcpyHostToDevice));
	CK(cudaMemcpy(db, b.data(), b.size() * 4, cudaMemcpyHostToDevice));
	cublasLtHandle_t lt;
	CK(cublasLtCreate(&lt));
	cublasLtMatmulDesc_t op;
	CK(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
	cublasLtMatrixLayout_t la, lb, lc;
	CK(cublasLtMatrixLayoutCreate(&la, CUDA_R_32F, m, k, m));
	CK(cublasLtMatrixLayoutCreate(&lb, CUDA_R_32F, k, n, k));
	CK(cublasLtMatrixLayoutCreate(&lc, CUDA_R_32F, m, n, m));
	size_t wsz = 4 << 20;
	void *ws;
	CK(cudaMalloc(&ws, wsz));
	cublasLtMatmulPreference_t pref;
	CK(cublasLtMatmulPreferenceCreate(&pref));
	CK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
						&wsz, sizeof wsz));
	cublasLtMatmulHeuristicResult_t heur;
	int found = 0;
	CK(cublasLtMatmulAlgoGetHeuristic(lt, op, la, lb, lc, lc, pref, 1, &heur, &found));
	if (!found) { fprintf(stderr, "no cublasLt algorithm\n"); return 1; }
	float alpha = 1, beta = 0;
	cudaStream_t st;
	CK(cudaStreamCreate(&st));
	CK(cublasLtMatmul(lt, op, &alpha, da, la, db, lb, &beta, dc, lc, dc, lc, &heur.algo, ws, wsz, st));
	CK(cudaStreamSynchronize(st));
	CK(cudaMemcpy(c.data(), dc, c.size() * 4, cudaMemcpyDeviceToHost));
	double err = 0, sum = 0;
	for (int i = 0; i < m * n; i++) {
		err = fmax(err, fabs(c[i] - ref[i]));
		sum += ref[i];
	}
	printf("cublasLt %dx%dx%d: max error %s, checksum %.3f\n", m, n, k,
	       err < 1e-2 ? "< 1e-2" : "TOO LARGE", sum);
	cublasLtMatmulPreferenceDestroy(pref);
	cublasLtMatrixLayoutDestroy(la);
	cublasLtMatrixLayoutDestroy(lb);
	cublasLtMatrixLayoutDestroy(lc);
	cublasLtMatmulDescDestroy(op);
	cublasLtDestroy(lt);
	return err < 1e-2 ? 0 : 1;
}
