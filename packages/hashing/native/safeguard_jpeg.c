/*
 * Exact-mode JPEG decoding for PDQ, through the system's libjpeg-turbo.
 *
 * Why it exists: Meta's reference hashes a JPEG by decoding it with libjpeg-turbo (through
 * ImageMagick), resampling to exactly 512x512 by nearest neighbour when a side is larger, and
 * hashing that. Decoding dominates the cost. Through sharp, every decoded pixel also passes
 * through libvips and is copied into a JavaScript buffer (25 MB for an 8 MP photograph), only for
 * 512x512 of them to be used. Here libjpeg-turbo writes each scanline into one reused row buffer
 * and only the sampled pixels are kept, so the output is at most 512x512x3 bytes.
 *
 * What it returns is exactly what the TypeScript side would get by decoding the whole image and
 * sampling it with the reference's rule (source index floor(dst * size / 512)); the tests compare
 * both on every vector and photograph. It decodes with libjpeg's defaults, which are the
 * reference's: accurate integer IDCT, smooth ("fancy") chroma upsampling, no EXIF orientation, no
 * ICC conversion.
 *
 * It only accepts what it decodes identically: 8-bit YCbCr (3 components) or greyscale
 * (1 component) JPEGs. Anything else (CMYK, YCCK, RGB-coded, 12-bit) returns undefined and the
 * caller decodes through sharp.
 *
 * Defences (the same as the sharp path's): width, height and width x height are checked against
 * the caller's limits from the header, before any pixel is decoded; a time budget and a scan
 * limit (progressive files with thousands of scans) are checked from libjpeg's progress hook;
 * any libjpeg warning aborts the decode, as libvips does with failOn "error" (premature end of
 * data: media_truncated; anything else: decode_failed). Errors are thrown as JavaScript Errors
 * with a `code` property holding the MediaError code; their messages give libjpeg's message
 * number only (some libjpeg texts quote bytes of the file), never any image content.
 *
 * Synchronous: call it from a worker thread (the hasher service does) or accept that it blocks
 * for the decode's duration, bounded by the time budget.
 */
#define NAPI_VERSION 8
#define _GNU_SOURCE
#include <node_api.h>

#include <dlfcn.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jpeglib.h>
#include <jerror.h>

typedef struct {
  struct jpeg_error_mgr pub;
  jmp_buf jump;
  const char *code;
  char message[JMSG_LENGTH_MAX + 64];
} safeguard_error_mgr;

typedef struct {
  struct jpeg_progress_mgr pub;
  struct timespec deadline;
  int max_scans;
} safeguard_progress_mgr;

static void fail_with(j_common_ptr cinfo, const char *code, const char *why) {
  safeguard_error_mgr *err = (safeguard_error_mgr *)cinfo->err;
  err->code = code;
  snprintf(err->message, sizeof err->message, "%s", why);
  longjmp(err->jump, 1);
}

/*
 * libjpeg's fatal errors. Only the message number is kept: some of libjpeg's texts quote bytes of
 * the file ("Not a JPEG file: starts with 0x.. 0x.."), and no content may reach a log.
 */
static void on_error_exit(j_common_ptr cinfo) {
  safeguard_error_mgr *err = (safeguard_error_mgr *)cinfo->err;
  err->code = "decode_failed";
  snprintf(err->message, sizeof err->message, "libjpeg error %d", cinfo->err->msg_code);
  longjmp(err->jump, 1);
}

/*
 * Warnings (level -1): premature end of data aborts as media_truncated; other warnings (corrupt
 * entropy data, which libjpeg conceals) are counted and decoding goes on, as libvips does with
 * failOn "error", so both paths hash the same damaged files the same way; like libvips, a file
 * that raises MAX_WARNINGS warnings is refused (decode_failed). Trace messages (level >= 0) are
 * ignored.
 */
#define MAX_WARNINGS 100
static void on_emit_message(j_common_ptr cinfo, int level) {
  if (level >= 0) return;
  safeguard_error_mgr *err = (safeguard_error_mgr *)cinfo->err;
  if (++cinfo->err->num_warnings >= MAX_WARNINGS) {
    err->code = "decode_failed";
    snprintf(err->message, sizeof err->message, "libjpeg: %d warnings (damaged data), last %d", MAX_WARNINGS, cinfo->err->msg_code);
    longjmp(err->jump, 1);
  }
  if (cinfo->err->msg_code != JWRN_JPEG_EOF) return;
  err->code = "media_truncated";
  snprintf(err->message, sizeof err->message, "libjpeg warning %d (premature end of data)", cinfo->err->msg_code);
  longjmp(err->jump, 1);
}

static int past(const struct timespec *deadline) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return now.tv_sec > deadline->tv_sec || (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

/* Called by libjpeg per iMCU row while reading scans and per output row. */
static void on_progress(j_common_ptr cinfo) {
  safeguard_progress_mgr *progress = (safeguard_progress_mgr *)cinfo->progress;
  if (past(&progress->deadline)) fail_with(cinfo, "decode_timeout", "decoding exceeded the time budget");
  if (cinfo->is_decompressor && ((j_decompress_ptr)cinfo)->input_scan_number > progress->max_scans) {
    fail_with(cinfo, "decode_failed", "too many progressive scans");
  }
}

static napi_value throw_coded(napi_env env, const char *code, const char *message) {
  napi_value msg, err, code_value;
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, NULL, msg, &err);
  napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_value);
  napi_set_named_property(env, err, "code", code_value);
  napi_throw(env, err);
  return NULL;
}

static double number_property(napi_env env, napi_value object, const char *name, double fallback) {
  napi_value value;
  napi_valuetype type;
  double out;
  if (napi_get_named_property(env, object, name, &value) != napi_ok) return fallback;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_number) return fallback;
  if (napi_get_value_double(env, value, &out) != napi_ok) return fallback;
  return out;
}

static void set_number(napi_env env, napi_value object, const char *name, double number) {
  napi_value value;
  napi_create_double(env, number, &value);
  napi_set_named_property(env, object, name, value);
}

/*
 * PDQ's luma and Jarosz downsampling of the sampled pixels, the same float32 operations in the
 * same order as @safeguard/domain's TypeScript (packages/domain/src/pdq/jarosz.ts and hasher.ts,
 * which follow the reference), so the 64x64 result is bit-identical (tested on every vector).
 * IEEE single precision throughout: built without -ffast-math and with -ffp-contract=off.
 */

/* Window of one pass for a line of `size` samples going to 64: ceil(size / 128). */
static int jarosz_window(int size) { return (size + 127) / 128; }

/*
 * Row pass: every row of a row-major plane (rows x cols) filtered along the row. A running sum is
 * a serial chain, slow when one row is walked alone, so ROW_GROUP rows advance together (their
 * sums are independent and overlap in the CPU); each row still sees exactly the reference's
 * sequence of float32 operations: add the entering sample, subtract the leaving one, divide by
 * the number of samples in range.
 */
#define ROW_GROUP 8
static void box_rows(const float *src, float *dst, int rows, int cols, int window) {
  const int half = (window + 2) / 2;
  const int lead = window - half + 1;
  const int middle = cols - window;
  for (int y0 = 0; y0 < rows; y0 += ROW_GROUP) {
    const int g = rows - y0 < ROW_GROUP ? rows - y0 : ROW_GROUP;
    const float *in = src + (size_t)y0 * cols;
    float *o = dst + (size_t)y0 * cols;
    float sum[ROW_GROUP] = {0};
    int enter = 0, leave = 0, out = 0, count = 0;
    for (int k = 1; k < half; k++, enter++, count++) {
      for (int r = 0; r < g; r++) sum[r] = sum[r] + in[(size_t)r * cols + enter];
    }
    for (int k = 0; k < lead; k++, enter++, out++) {
      count++;
      const float c = (float)count;
      for (int r = 0; r < g; r++) {
        sum[r] = sum[r] + in[(size_t)r * cols + enter];
        o[(size_t)r * cols + out] = sum[r] / c;
      }
    }
    {
      const float c = (float)count;
      for (int k = 0; k < middle; k++, enter++, leave++, out++) {
        for (int r = 0; r < g; r++) {
          float v = sum[r] + in[(size_t)r * cols + enter];
          v = v - in[(size_t)r * cols + leave];
          sum[r] = v;
          o[(size_t)r * cols + out] = v / c;
        }
      }
    }
    for (int k = 1; k < half; k++, leave++, out++) {
      count--;
      const float c = (float)count;
      for (int r = 0; r < g; r++) {
        sum[r] = sum[r] - in[(size_t)r * cols + leave];
        o[(size_t)r * cols + out] = sum[r] / c;
      }
    }
  }
}

/*
 * Column pass with every column advancing together (row-major plane, rows x cols): the same
 * arithmetic per column as box_rows along a column, but the inner loop runs over
 * columns, reading memory in order (the compiler vectorises it; lanes are independent, so the
 * result is unchanged).
 */
static void box_columns(const float *src, float *dst, float *sums, int rows, int cols, int window) {
  const int half = (window + 2) / 2;
  const int lead = window - half + 1;
  const int middle = rows - window;
  int enter = 0, leave = 0, out = 0, count = 0;
  for (int l = 0; l < cols; l++) sums[l] = 0.0f;
  for (int k = 1; k < half; k++, enter++, count++) {
    const float *e = src + (size_t)enter * cols;
    for (int l = 0; l < cols; l++) sums[l] = sums[l] + e[l];
  }
  for (int k = 0; k < lead; k++, enter++, out++) {
    const float *e = src + (size_t)enter * cols;
    float *o = dst + (size_t)out * cols;
    count++;
    const float c = (float)count;
    for (int l = 0; l < cols; l++) {
      sums[l] = sums[l] + e[l];
      o[l] = sums[l] / c;
    }
  }
  for (int k = 0; k < middle; k++, enter++, leave++, out++) {
    const float *e = src + (size_t)enter * cols;
    const float *d = src + (size_t)leave * cols;
    float *o = dst + (size_t)out * cols;
    const float c = (float)count;
    for (int l = 0; l < cols; l++) {
      float v = sums[l] + e[l];
      v = v - d[l];
      sums[l] = v;
      o[l] = v / c;
    }
  }
  for (int k = 1; k < half; k++, leave++, out++) {
    const float *d = src + (size_t)leave * cols;
    float *o = dst + (size_t)out * cols;
    count--;
    const float c = (float)count;
    for (int l = 0; l < cols; l++) {
      sums[l] = sums[l] - d[l];
      o[l] = sums[l] / c;
    }
  }
}

/*
 * Luma of the sampled pixels (grey: the value; RGB: 0.299 R + 0.587 G + 0.114 B in float32), two
 * Jarosz passes (rows then columns, twice), then the 64x64 centre decimation into block.
 * Returns 0 when out of memory.
 */
static int jarosz_block64(const unsigned char *pixels, int rows, int cols, int channels, float *block) {
  const size_t n = (size_t)rows * cols;
  float *luma = malloc(n * sizeof(float));
  float *tmp = malloc(n * sizeof(float));
  float *sums = malloc((size_t)cols * sizeof(float));
  if (!luma || !tmp || !sums) {
    free(luma);
    free(tmp);
    free(sums);
    return 0;
  }
  if (channels == 1) {
    for (size_t i = 0; i < n; i++) luma[i] = (float)pixels[i];
  } else {
    for (size_t i = 0; i < n; i++) {
      const unsigned char *p = pixels + i * 3;
      const float r = 0.299f * (float)p[0];
      const float g = 0.587f * (float)p[1];
      const float b = 0.114f * (float)p[2];
      const float rg = r + g;
      luma[i] = rg + b;
    }
  }
  const int wr = jarosz_window(cols);
  const int wc = jarosz_window(rows);
  for (int pass = 0; pass < 2; pass++) {
    box_rows(luma, tmp, rows, cols, wr);
    box_columns(tmp, luma, sums, rows, cols, wc);
  }
  for (int i = 0; i < 64; i++) {
    const int y = (int)(((i + 0.5) * rows) / 64);
    for (int j = 0; j < 64; j++) {
      const int x = (int)(((j + 0.5) * cols) / 64);
      block[i * 64 + j] = luma[(size_t)y * cols + x];
    }
  }
  free(luma);
  free(tmp);
  free(sums);
  return 1;
}

/*
 * decodeForPdq(bytes: Uint8Array, options: { maxPixels, maxDimension, timeoutMs, maxScans, presize, scaleDenom? })
 *   → undefined (not a JPEG this decoder handles; use sharp)
 *   | { width, height, sampledWidth, sampledHeight, channels: 1 | 3, grey: boolean, data: Uint8Array,
 *       downsampled?: Float32Array }
 * `data` holds sampledHeight rows of sampledWidth pixels (`channels` samples each): the whole image
 * when neither side exceeds `presize`, else the presize x presize nearest-neighbour sample.
 * scaleDenom 2, 4 or 8 (fast mode) decodes at 1/scaleDenom in the DCT domain first (libjpeg's
 * scaled IDCT); `width`/`height` stay the stored size, limits apply to the stored size. `grey`
 * is true when the image is greyscale-coded or every decoded pixel has R = G = B (then `data` has
 * one channel holding that value). `downsampled` is PDQ's 64x64 Jarosz output of `data` (absent for
 * images of exactly 64x64 or under 5 pixels a side, which the reference does not filter).
 */
static napi_value decode_for_pdq(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) {
    napi_throw_type_error(env, NULL, "decodeForPdq(bytes, options) expects two arguments");
    return NULL;
  }
  bool is_typed;
  napi_is_typedarray(env, argv[0], &is_typed);
  if (!is_typed) {
    napi_throw_type_error(env, NULL, "bytes must be a Uint8Array");
    return NULL;
  }
  napi_typedarray_type ta_type;
  size_t length;
  void *bytes;
  napi_get_typedarray_info(env, argv[0], &ta_type, &length, &bytes, NULL, NULL);
  if (ta_type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "bytes must be a Uint8Array");
    return NULL;
  }
  const double max_pixels = number_property(env, argv[1], "maxPixels", 100e6);
  const double max_dimension = number_property(env, argv[1], "maxDimension", 65500);
  const double timeout_ms = number_property(env, argv[1], "timeoutMs", 10000);
  const int max_scans = (int)number_property(env, argv[1], "maxScans", 1000);
  const int presize = (int)number_property(env, argv[1], "presize", 512);
  const int scale_denom = (int)number_property(env, argv[1], "scaleDenom", 1);
  if (length == 0 || presize < 1) return throw_coded(env, "decode_failed", "empty input or bad presize");
  if (scale_denom != 1 && scale_denom != 2 && scale_denom != 4 && scale_denom != 8) {
    napi_throw_range_error(env, NULL, "scaleDenom must be 1, 2, 4 or 8");
    return NULL;
  }

  struct jpeg_decompress_struct cinfo;
  safeguard_error_mgr jerr;
  safeguard_progress_mgr progress;
  /* Touched after setjmp returns: volatile so their values survive the longjmp. */
  unsigned char *volatile row = NULL;
  unsigned char *volatile out = NULL;
  int *volatile xs = NULL;
  int *volatile ys = NULL;

  memset(&jerr, 0, sizeof jerr);
  cinfo.err = jpeg_std_error(&jerr.pub);
  jerr.pub.error_exit = on_error_exit;
  jerr.pub.emit_message = on_emit_message;
  if (setjmp(jerr.jump)) {
    jpeg_destroy_decompress(&cinfo);
    free(row);
    free(out);
    free(xs);
    free(ys);
    return throw_coded(env, jerr.code ? jerr.code : "decode_failed", jerr.message[0] ? jerr.message : "image could not be decoded");
  }
  jpeg_create_decompress(&cinfo);
  memset(&progress, 0, sizeof progress);
  progress.pub.progress_monitor = on_progress;
  progress.max_scans = max_scans;
  clock_gettime(CLOCK_MONOTONIC, &progress.deadline);
  {
    const long long ns = (long long)(timeout_ms * 1e6);
    progress.deadline.tv_sec += (time_t)(ns / 1000000000LL);
    progress.deadline.tv_nsec += (long)(ns % 1000000000LL);
    if (progress.deadline.tv_nsec >= 1000000000L) {
      progress.deadline.tv_sec += 1;
      progress.deadline.tv_nsec -= 1000000000L;
    }
  }
  cinfo.progress = &progress.pub;
  jpeg_mem_src(&cinfo, (const unsigned char *)bytes, (unsigned long)length);
  jpeg_read_header(&cinfo, TRUE);

  const int grey_coded = cinfo.jpeg_color_space == JCS_GRAYSCALE && cinfo.num_components == 1;
  const int ycc_coded = cinfo.jpeg_color_space == JCS_YCbCr && cinfo.num_components == 3;
  if ((!grey_coded && !ycc_coded) || cinfo.data_precision != 8) {
    jpeg_destroy_decompress(&cinfo);
    napi_value undefined;
    napi_get_undefined(env, &undefined);
    return undefined;
  }
  const double width = cinfo.image_width;
  const double height = cinfo.image_height;
  if (width > max_dimension || height > max_dimension || width * height > max_pixels) {
    fail_with((j_common_ptr)&cinfo, "media_dimensions_exceeded", "image exceeds the limits");
  }

  /* The reference decoder's choices, which are libjpeg's defaults; set so nobody's default changes them. */
  cinfo.out_color_space = grey_coded ? JCS_GRAYSCALE : JCS_RGB;
  cinfo.dct_method = JDCT_ISLOW;
  cinfo.do_fancy_upsampling = TRUE;
  cinfo.scale_num = 1;
  cinfo.scale_denom = (unsigned int)scale_denom; /* 1 in exact mode; fast mode scales in the DCT domain */
  jpeg_start_decompress(&cinfo);

  const int w = (int)cinfo.output_width;
  const int h = (int)cinfo.output_height;
  const int nc = cinfo.output_components;
  const int resample = w > presize || h > presize;
  const int cols = resample ? presize : w;
  const int rows = resample ? presize : h;
  row = malloc((size_t)w * nc);
  out = malloc((size_t)cols * rows * nc);
  xs = malloc(sizeof(int) * cols);
  ys = malloc(sizeof(int) * rows);
  if (!row || !out || !xs || !ys) fail_with((j_common_ptr)&cinfo, "decode_failed", "out of memory");
  for (int x = 0; x < cols; x++) xs[x] = (int)(((int64_t)x * w) / cols) * nc;
  for (int y = 0; y < rows; y++) ys[y] = (int)(((int64_t)y * h) / rows);

  int all_grey = !grey_coded; /* only meaningful for RGB output: still possibly grey */
  int next = 0;               /* next output row to fill */
  while ((int)cinfo.output_scanline < h) {
    JSAMPROW r = row;
    const int y = (int)cinfo.output_scanline;
    if (!all_grey && next < rows && ys[next] > y) {
      /* Rows the sample never reads, once grey detection is settled: libjpeg-turbo still decodes
       * their entropy data (so damage and truncation are seen as in a full decode) but skips
       * colour conversion, and the inverse DCT of whole skipped iMCU rows. The rows after the
       * last sampled one are read normally, so a file cut short there is still refused. */
      jpeg_skip_scanlines(&cinfo, (JDIMENSION)(ys[next] - y));
      continue;
    }
    jpeg_read_scanlines(&cinfo, &r, 1);
    if (all_grey) {
      for (int i = 0; i < w * 3; i += 3) {
        if (row[i + 1] != row[i] || row[i + 2] != row[i]) {
          all_grey = 0;
          break;
        }
      }
    }
    while (next < rows && ys[next] == y) {
      unsigned char *o = out + (size_t)next * cols * nc;
      if (nc == 3) {
        for (int x = 0; x < cols; x++, o += 3) {
          const unsigned char *p = row + xs[x];
          o[0] = p[0];
          o[1] = p[1];
          o[2] = p[2];
        }
      } else {
        for (int x = 0; x < cols; x++) o[x] = row[xs[x]];
      }
      next++;
    }
  }
  /* No jpeg_finish_decompress: like libvips, stop after the last scanline. What follows the image
   * data (markers, garbage, a missing EOI) does not change the pixels and does not refuse the file. */
  jpeg_destroy_decompress(&cinfo);
  free(row);
  free(xs);
  free(ys);

  const int grey = grey_coded || all_grey;
  const int channels = grey ? 1 : nc;
  const size_t out_length = (size_t)cols * rows * channels;
  if (grey && nc == 3) {
    for (size_t i = 0; i < (size_t)cols * rows; i++) out[i] = out[i * 3];
  }
  /* The reference filters every image except one of exactly 64x64 (and hashes under-5-pixel ones to zeros). */
  float block[64 * 64];
  const int filtered = rows >= 5 && cols >= 5 && !(rows == 64 && cols == 64);
  if (filtered && !jarosz_block64(out, rows, cols, channels, block)) {
    free(out);
    return throw_coded(env, "decode_failed", "out of memory");
  }
  napi_value result, array_buffer, data, grey_value;
  void *target;
  napi_create_object(env, &result);
  if (filtered) {
    napi_value block_buffer, block_array;
    void *block_target;
    if (napi_create_arraybuffer(env, sizeof block, &block_target, &block_buffer) == napi_ok) {
      memcpy(block_target, block, sizeof block);
      napi_create_typedarray(env, napi_float32_array, 64 * 64, block_buffer, 0, &block_array);
      napi_set_named_property(env, result, "downsampled", block_array);
    }
  }
  if (napi_create_arraybuffer(env, out_length, &target, &array_buffer) != napi_ok) {
    free(out);
    return throw_coded(env, "decode_failed", "out of memory");
  }
  memcpy(target, out, out_length);
  free(out);
  napi_create_typedarray(env, napi_uint8_array, out_length, array_buffer, 0, &data);
  set_number(env, result, "width", width);
  set_number(env, result, "height", height);
  set_number(env, result, "sampledWidth", cols);
  set_number(env, result, "sampledHeight", rows);
  set_number(env, result, "channels", channels);
  napi_get_boolean(env, grey, &grey_value);
  napi_set_named_property(env, result, "grey", grey_value);
  napi_set_named_property(env, result, "data", data);
  return result;
}

/* libraryInfo() → { file, version }: which libjpeg this addon is bound to (diagnostics, benchmarks). */
static napi_value library_info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result, file, version;
  Dl_info dl;
  napi_create_object(env, &result);
  const char *name = dladdr((void *)jpeg_read_header, &dl) && dl.dli_fname ? dl.dli_fname : "unknown";
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &file);
  napi_set_named_property(env, result, "file", file);
  napi_create_int32(env, JPEG_LIB_VERSION, &version);
  napi_set_named_property(env, result, "jpegLibVersion", version);
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  napi_create_function(env, "decodeForPdq", NAPI_AUTO_LENGTH, decode_for_pdq, NULL, &fn);
  napi_set_named_property(env, exports, "decodeForPdq", fn);
  napi_create_function(env, "libraryInfo", NAPI_AUTO_LENGTH, library_info, NULL, &fn);
  napi_set_named_property(env, exports, "libraryInfo", fn);
  return exports;
}
