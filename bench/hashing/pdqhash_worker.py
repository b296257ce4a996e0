"""One benchmark process for Meta's PDQ through the PyPI `pdqhash` package, with the usual
PIL decoding (Image.open(...).convert('RGB') -> numpy). Prints one JSON document with per-file
timings (read, decode, hash) and hashes in the reference's hex layout. Run pinned to one core
by run.js with OMP/OPENBLAS/MKL threads = 1."""
import io
import json
import sys
import time

import numpy as np
import pdqhash
from PIL import Image


def to_hex(bits):
    out = []
    for i in range(0, 256, 4):
        out.append('%x' % int(''.join(str(int(b)) for b in bits[i:i + 4]), 2))
    return ''.join(out)


def main():
    list_file, reps = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1
    files = [l for l in open(list_file).read().split('\n') if l]
    # warm-up, not timed (same as the JS worker)
    for _ in range(5):
        pdqhash.compute(np.asarray(Image.open(files[0]).convert('RGB')))
    results = []
    for f in files:
        read = decode = hsh = 0.0
        for _ in range(reps):
            t0 = time.perf_counter()
            data = open(f, 'rb').read()
            t1 = time.perf_counter()
            img = np.asarray(Image.open(io.BytesIO(data)).convert('RGB'))
            t2 = time.perf_counter()
            bits, quality = pdqhash.compute(img)
            t3 = time.perf_counter()
            read += t1 - t0
            decode += t2 - t1
            hsh += t3 - t2
        results.append({'file': f, 'readMs': read * 1000 / reps, 'decodeMs': decode * 1000 / reps,
                        'hashMs': hsh * 1000 / reps, 'pdq': to_hex(bits), 'quality': int(quality)})
    sys.stdout.write(json.dumps({'impl': 'python-pdqhash', 'reps': reps, 'results': results}) + '\n')


if __name__ == '__main__':
    main()
