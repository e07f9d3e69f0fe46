"""The primes demo on Python's ProcessPoolExecutor, as in the Python docs example (same PRIMES,
same is_prime by trial division, executor.map, results printed in input order), with the pool's
lifetime timed inside the script like the Node variants: from just before the executor is created
until the `with` block has closed it.

Usage: python3 bench/baselines/python_pool.py [max_workers=2]
Prints the six result lines, then `BENCH {...}` on stdout.
"""
import concurrent.futures
import json
import math
import sys
import time

PRIMES = [
    112272535095293,
    112582705942171,
    112272535095293,
    115280095190773,
    115797848077099,
    1099726899285419]


def is_prime(n):
    if n < 2:
        return False
    if n == 2:
        return True
    if n % 2 == 0:
        return False

    sqrt_n = int(math.floor(math.sqrt(n)))
    for i in range(3, sqrt_n + 1, 2):
        if n % i == 0:
            return False
    return True


def main():
    workers = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    t0 = time.perf_counter()
    with concurrent.futures.ProcessPoolExecutor(max_workers=workers) as executor:
        for number, prime in zip(PRIMES, executor.map(is_prime, PRIMES)):
            print('%d is prime: %s' % (number, prime))
        t_done = time.perf_counter()
    t1 = time.perf_counter()
    sys.stdout.flush()
    print('BENCH ' + json.dumps({
        'variant': 'python',
        'size': workers,
        'startMethod': concurrent.futures.process.mp.get_start_method(),
        'totalMs': (t1 - t0) * 1000,
        'closeMs': (t1 - t_done) * 1000,
    }))


if __name__ == '__main__':
    main()
