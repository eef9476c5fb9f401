// SPDX-License-Identifier: MIT
/* 2D box blur over image objects: clCreateImage (RGBA8), a sampler,
 * read_imagef/write_imagef, clEnqueueWriteImage/ReadImage, and a map of
 * the output image. */
#include "common.h"

static const char *src =
	"__kernel void blur(__read_only image2d_t in, __write_only image2d_t out, sampler_t s) {\n"
	"  int2 p = (int2)(get_global_id(0), get_global_id(1));\n"
	"  float4 acc = (float4)(0.0f);\n"
	"  for (int dy = -2; dy <= 2; dy++)\n"
	"    for (int dx = -2; dx <= 2; dx++)\n"
	"      acc += read_imagef(in, s, p + (int2)(dx, dy));\n"
	"  write_imagef(out, p, acc / 25.0f);\n"
	"}\n";

int main(int argc, char **argv)
{
	size_t w = argc > 1 ? strtoul(argv[1], NULL, 0) : 317, h = argc > 2 ? strtoul(argv[2], NULL, 0) : 211;
	struct clenv e;
	clenv_init(&e);
	cl_int r;
	unsigned char *img = malloc(w * h * 4), *out = malloc(w * h * 4);
	for (size_t i = 0; i < w * h * 4; i++)
		img[i] = (unsigned char)((i * 7919u) ^ (i >> 5));
	cl_image_format fmt = { CL_RGBA, CL_UNORM_INT8 };
	cl_image_desc desc;
	memset(&desc, 0, sizeof(desc));
	desc.image_type = CL_MEM_OBJECT_IMAGE2D;
	desc.image_width = w;
	desc.image_height = h;
	cl_mem din = clCreateImage(e.ctx, CL_MEM_READ_ONLY, &fmt, &desc, NULL, &r);
	CHECKE(r, "image in");
	cl_mem dout = clCreateImage(e.ctx, CL_MEM_WRITE_ONLY, &fmt, &desc, NULL, &r);
	CHECKE(r, "image out");
	size_t origin[3] = { 0, 0, 0 }, region[3] = { w, h, 1 };
	CHECK(clEnqueueWriteImage(e.q, din, CL_TRUE, origin, region, 0, 0, img, 0, NULL, NULL));
	cl_sampler s = clCreateSampler(e.ctx, CL_FALSE, CL_ADDRESS_CLAMP_TO_EDGE, CL_FILTER_NEAREST, &r);
	CHECKE(r, "sampler");
	cl_program p = build(&e, src, "");
	cl_kernel k = kernel(p, "blur");
	CHECK(clSetKernelArg(k, 0, sizeof(cl_mem), &din));
	CHECK(clSetKernelArg(k, 1, sizeof(cl_mem), &dout));
	CHECK(clSetKernelArg(k, 2, sizeof(cl_sampler), &s));
	size_t g[2] = { w, h };
	CHECK(clEnqueueNDRangeKernel(e.q, k, 2, NULL, g, NULL, 0, NULL, NULL));
	CHECK(clEnqueueReadImage(e.q, dout, CL_TRUE, origin, region, 0, 0, out, 0, NULL, NULL));
	uint64_t h1 = fnv1a(out, w * h * 4);
	/* The same through a map (row pitch chosen by the implementation). */
	size_t rp = 0;
	unsigned char *m = clEnqueueMapImage(e.q, dout, CL_TRUE, CL_MAP_READ, origin, region, &rp, NULL,
					     0, NULL, NULL, &r);
	CHECKE(r, "map image");
	int same = 1;
	for (size_t y = 0; y < h; y++)
		if (memcmp(m + y * rp, out + y * w * 4, w * 4))
			same = 0;
	CHECK(clEnqueueUnmapMemObject(e.q, dout, m, 0, NULL, NULL));
	CHECK(clFinish(e.q));
	size_t esz = 0;
	CHECK(clGetImageInfo(dout, CL_IMAGE_ELEMENT_SIZE, sizeof(esz), &esz, NULL));
	printf("blur %zux%zu elsize=%zu map_matches_read=%d hash=%016llx\n", w, h, esz, same,
	       (unsigned long long)h1);
	clReleaseKernel(k);
	clReleaseProgram(p);
	clReleaseSampler(s);
	clReleaseMemObject(din);
	clReleaseMemObject(dout);
	clenv_fini(&e);
	free(img), free(out);
	return same ? 0 : 1;
}
