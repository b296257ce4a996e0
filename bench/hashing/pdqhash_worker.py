"""Benchmark worker for Meta's PDQ through the PyPI `pdqhash` package, with the usual PIL
decoding (Image.open(...).convert('RGB') -> numpy). Reads file paths from stdin, one per line,
and answers one JSON line each with mean timings (read, decode, hash) and the hash in the
reference's hex layout. run.js pins it to one core with OMP/OPENBLAS/MKL threads = 1."""
import io
import json
import sys
import time

import numpy as np
import pdqhash
from PIL import Image


def to_hex(bits):
    return ''.join('%x' % int(''.join(str(int(b)) for b in bits[i:i + 4]), 2) for i in range(0, 256, 4))


def measure(f, reps):
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
    return {'file': f, 'readMs': read * 1000 / reps, 'decodeMs': decode * 1000 / reps,
            'hashMs': hsh * 1000 / reps, 'pdq': to_hex(bits), 'quality': int(quality)}


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    warm = sys.argv[2] if len(sys.argv) > 2 else None
    if warm:
        for _ in range(5):
            measure(warm, 1)
    sys.stdout.write('{"ready": true}\n')
    sys.stdout.flush()
    for line in sys.stdin:
        f = line.strip()
        if f:
            sys.stdout.write(json.dumps(measure(f, reps)) + '\n')
            sys.stdout.flush()


if __name__ == '__main__':
    main()
