"""FAISS reference engine for bench/matching (same protocol as node-server.js).

HMA's matcher: IndexBinaryMultiHash(256, 16, 16) with nflip=1, single-threaded.
    python faiss_server.py BANK.bin QUERIES.bin
Reads JSON commands on stdin, answers one JSON line each.
"""
import json
import re
import sys
import time

import faiss
import numpy as np

faiss.omp_set_num_threads(1)


def vm(field):
    with open('/proc/self/status') as f:
        m = re.search(r'^%s:\s+(\d+) kB' % field, f.read(), re.M)
    return int(m.group(1)) * 1024 if m else None


bank_path, query_path = sys.argv[1:3]
bank = np.fromfile(bank_path, dtype=np.uint8).reshape(-1, 32)
queries = np.fromfile(query_path, dtype=np.uint8).reshape(-1, 32)
t0 = time.perf_counter()
index = faiss.IndexBinaryMultiHash(256, 16, 16)
index.nflip = 1
index.add(bank)
build_seconds = time.perf_counter() - t0
n = bank.shape[0]
del bank


def send(o):
    sys.stdout.write(json.dumps(o) + '\n')
    sys.stdout.flush()


send({'ready': True, 'engine': 'faiss', 'n': n, 'buildSeconds': build_seconds,
      'rssBytes': vm('VmRSS'), 'peakRssBytes': vm('VmHWM'), 'faissVersion': faiss.__version__})
for line in sys.stdin:
    cmd = json.loads(line)
    if cmd['cmd'] == 'query':
        lat, res = [], []
        # range_search keeps distances < radius (strict): +1 for "<= radius".
        r = cmd['radius'] + 1
        cpu0 = time.process_time()
        for i in range(cmd['from'], cmd['to']):
            q = queries[i:i + 1]
            t = time.perf_counter()
            lims, D, I = index.range_search(q, r)
            lat.append((time.perf_counter() - t) * 1000)
            res.append(sorted([[int(a), int(b)] for a, b in zip(I, D)]))
        send({'latenciesMs': lat, 'results': res, 'cpuMs': (time.process_time() - cpu0) * 1000})
    elif cmd['cmd'] == 'memory':
        send({'rssBytes': vm('VmRSS'), 'peakRssBytes': vm('VmHWM')})
    elif cmd['cmd'] == 'exit':
        send({'bye': True})
        break
