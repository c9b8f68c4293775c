/*
 * The libjpeg-turbo floor: what decoding a JPEG at reduced scale and
 * encoding an output of the target size costs, with nothing in between.
 *
 *   floor FILE WIDTH [HEIGHT] [QUALITY] [ITERATIONS] [WARMUP]
 *
 * Per iteration: read the header, pick the largest DCT scale (1/8, 1/4,
 * 1/2, 1) that still leaves the scaled image at least WIDTH wide (and
 * HEIGHT high, for a box), decode to RGB at that scale, then encode the
 * top-left WIDTH x H region (H from the aspect ratio) as JPEG at QUALITY
 * with 4:2:0 subsampling below 90 (4:4:4 from 90). No resampling, so this
 * is a lower bound for any shrink-on-load thumbnailer built on
 * libjpeg-turbo. Prints one key=value line with the median CPU time
 * (user + system, getrusage) per image.
 *
 * Build: cc -O2 -o floor floor.c -lturbojpeg
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <turbojpeg.h>

static double cpu_ms(void)
{
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec * 1e3 + usage.ru_utime.tv_usec / 1e3 +
         usage.ru_stime.tv_sec * 1e3 + usage.ru_stime.tv_usec / 1e3;
}

static int compare(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
  if (argc < 3) {
    fprintf(stderr, "usage: floor FILE WIDTH [HEIGHT] [QUALITY] [ITERATIONS] [WARMUP]\n");
    return 2;
  }
  int target_w = atoi(argv[2]);
  int target_h = argc > 3 ? atoi(argv[3]) : 0;
  int quality = argc > 4 ? atoi(argv[4]) : 80;
  int iterations = argc > 5 ? atoi(argv[5]) : 20;
  int warmup = argc > 6 ? atoi(argv[6]) : 3;

  FILE *file = fopen(argv[1], "rb");
  if (!file) { perror(argv[1]); return 1; }
  fseek(file, 0, SEEK_END);
  long size = ftell(file);
  fseek(file, 0, SEEK_SET);
  unsigned char *jpeg = malloc(size);
  if (fread(jpeg, 1, size, file) != (size_t)size) { perror("read"); return 1; }
  fclose(file);

  tjhandle dec = tjInitDecompress(), enc = tjInitCompress();
  double *times = calloc(iterations, sizeof(double));
  int denom = 1, out_w = 0, out_h = 0;
  unsigned long out_size = 0;

  for (int i = -warmup; i < iterations; i++) {
    double start = cpu_ms();
    int width, height, subsamp, colorspace;
    if (tjDecompressHeader3(dec, jpeg, size, &width, &height, &subsamp, &colorspace)) {
      fprintf(stderr, "header: %s\n", tjGetErrorStr2(dec));
      return 1;
    }
    /* The box the output fits in, aspect ratio kept, never enlarged. */
    double scale = (double)target_w / width;
    if (target_h && (double)target_h / height < scale) scale = (double)target_h / height;
    if (scale > 1) scale = 1;
    out_w = (int)(width * scale + 0.5);
    out_h = (int)(height * scale + 0.5);
    for (denom = 8; denom > 1; denom /= 2)
      if ((width + denom - 1) / denom >= out_w && (height + denom - 1) / denom >= out_h)
        break;
    int scaled_w = (width + denom - 1) / denom, scaled_h = (height + denom - 1) / denom;
    unsigned char *rgb = malloc((size_t)scaled_w * scaled_h * 3);
    if (tjDecompress2(dec, jpeg, size, rgb, scaled_w, scaled_w * 3, scaled_h, TJPF_RGB, 0)) {
      fprintf(stderr, "decode: %s\n", tjGetErrorStr2(dec));
      return 1;
    }
    unsigned char *out = NULL;
    out_size = 0;
    if (tjCompress2(enc, rgb, out_w, scaled_w * 3, out_h, TJPF_RGB, &out, &out_size,
                    quality < 90 ? TJSAMP_420 : TJSAMP_444, quality, 0)) {
      fprintf(stderr, "encode: %s\n", tjGetErrorStr2(enc));
      return 1;
    }
    tjFree(out);
    free(rgb);
    if (i >= 0) times[i] = cpu_ms() - start;
  }
  double sum = 0;
  for (int i = 0; i < iterations; i++) sum += times[i];
  qsort(times, iterations, sizeof(double), compare);
  double median = iterations % 2 ? times[iterations / 2]
                                 : (times[iterations / 2 - 1] + times[iterations / 2]) / 2;
  printf("file=%s cpu_ms_median=%.2f cpu_ms_mean=%.2f n=%d out=%dx%d scale=1/%d bytes=%lu\n",
         argv[1], median, sum / iterations, iterations, out_w, out_h, denom, out_size);
  tjDestroy(dec);
  tjDestroy(enc);
  free(times);
  free(jpeg);
  return 0;
}
