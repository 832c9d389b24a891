"""Benchmarks of pvectl against fakepve: HTTP requests per command, wall time, peak memory, and the
delay between a task's end and the command's exit. Run through bench/run.sh; prints Markdown."""

import argparse
import asyncio
import hashlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from fakepve import FakePve
from fakepve.certs import make_cert

TOKEN_ID = 'root@pam!bench'
TOKEN_SECRET = '5d0c3f3e-bench-4c1e-9a51-0123456789ab'


class Fake:
    """A FakePve served from a background thread, so commands can run synchronously."""

    def __init__(self, time_scale=0.0):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.dir = tempfile.mkdtemp(prefix='pvectl-bench-')
        self.pve = FakePve(port=0)
        self.pve.time_scale = time_scale
        self.pve.apitokens[TOKEN_ID] = TOKEN_SECRET
        certfile, keyfile, der = make_cert(self.dir, hosts=(self.pve.host,))
        self.cafile = certfile
        digest = hashlib.sha256(der).hexdigest().upper()
        self.fingerprint = ':'.join(digest[i:i + 2] for i in range(0, len(digest), 2))
        self.call(self.pve.start(certfile, keyfile))

    def call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def do(self, fn):
        """Run fn() on the fake's loop (the fake is not thread-safe)."""
        async def body():
            return fn()
        return self.call(body())

    def env(self):
        return {'PATH': os.environ.get('PATH', ''), 'HOME': self.dir,
                'PVECTL_CONFIG': os.path.join(self.dir, 'none.toml'),
                'PROXMOX_HOST': '{0}:{1}'.format(self.pve.host, self.pve.port),
                'PROXMOX_TOKEN': '{0}={1}'.format(TOKEN_ID, TOKEN_SECRET),
                'PROXMOX_FINGERPRINT': self.fingerprint}

    def close(self):
        self.call(self.pve.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        shutil.rmtree(self.dir, ignore_errors=True)


def run(argv, env):
    """Run a command; returns (exit code, wall seconds, stdout, stderr)."""
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    wall = time.monotonic() - t0
    return proc.returncode, wall, out, err


def run_timed(argv, env):
    """Run a command with its output discarded; returns (exit code, wall seconds)."""
    t0 = time.monotonic()
    code = subprocess.call(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return code, time.monotonic() - t0


def peak_rss_kib(argv, env):
    """Peak RSS of a command in KiB, measured by GNU time: a child of this (large) Python process
    would report Python's own peak, which the kernel carries across exec."""
    if not shutil.which('time') and not os.path.exists('/usr/bin/time'):
        sys.exit('bench: GNU time is needed to measure memory: install it (apt install time)')
    with tempfile.NamedTemporaryFile('r') as out:
        code = subprocess.call(['/usr/bin/time', '-f', '%M', '-o', out.name] + argv, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if code != 0:
            sys.exit('bench: {0} failed with {1}'.format(argv, code))
        return int(out.read().strip().splitlines()[-1])


def seed_cluster(fake, vms=70, cts=30):
    """3 nodes, `vms` VMs and `cts` containers spread over them, a task in the history."""
    def body():
        pve = fake.pve
        for n in ('pve1', 'pve2', 'pve3'):
            pve.add_node(n)
        for i in range(vms):
            pve.add_vm(100 + i, 'vm-{0:03d}'.format(i), node='pve{0}'.format(i % 3 + 1),
                       status='running' if i % 2 else 'stopped', config={'tags': 'bench'})
        for i in range(cts):
            pve.add_ct(500 + i, 'ct-{0:03d}'.format(i), node='pve{0}'.format(i % 3 + 1),
                       status='running' if i % 2 else 'stopped')
    fake.do(body)


def requests_of(fake, pvectl, args):
    fake.do(lambda: fake.pve.requests.clear())
    code, _, out, err = run([pvectl] + args, fake.env())
    reqs = fake.do(lambda: list(fake.pve.requests))
    if code != 0:
        sys.exit('bench: `pvectl {0}` failed ({1}): {2}'.format(' '.join(args), code, err.decode()))
    return reqs, out


def bench_reads(pvectl):
    fake = Fake()
    seed_cluster(fake)
    try:
        # A finished task to show.
        _, out = requests_of(fake, pvectl, ['vm', 'start', 'vm-000', '--no-wait'])
        upid = out.decode().strip()
        cases = [
            ['version'], ['cluster', 'status'], ['cluster', 'resources'], ['cluster', 'resources', '--type', 'vm'],
            ['cluster', 'nextid'], ['nodes', 'list'], ['nodes', 'status', 'pve1'],
            ['vm', 'list'], ['ct', 'list'], ['vm', 'list', '--node', 'pve2', '--status', 'running'],
            ['vm', 'status', 'vm-042'], ['vm', 'status', '142', '--node', 'pve1'], ['vm', 'config', 'vm-042'],
            ['vm', 'config', 'vm-042', '--pending'], ['ct', 'status', 'ct-007'], ['ct', 'config', 'ct-007'],
            ['storage', 'list'], ['storage', 'list', '--node', 'pve1'], ['storage', 'status', 'local'],
            ['storage', 'content', 'local'], ['tasks', 'list'], ['tasks', 'list', '--node', 'pve1'],
            ['tasks', 'status', upid], ['tasks', 'log', upid], ['api', 'get', '/cluster/resources'],
        ]
        print('### Requests per read command (3 nodes, 70 VMs, 30 containers)\n')
        print('| command | HTTP requests |')
        print('|---|---|')
        for args in cases:
            reqs, _ = requests_of(fake, pvectl, ['-o', 'json'] + args)
            shown = ' '.join(a if not a.startswith('UPID:') else '<UPID>' for a in args)
            print('| `pvectl {0}` | {1} |'.format(shown, len(reqs)))
        print()
    finally:
        fake.close()


def bench_wall(pvectl, rounds):
    fake = Fake()
    seed_cluster(fake)
    try:
        env = fake.env()
        url = 'https://{0}:{1}/api2/json/cluster/resources?type=vm'.format(fake.pve.host, fake.pve.port)
        curl = ['curl', '-sS', '-o', '/dev/null', '--fail', '--cacert', fake.cafile,
                '-H', 'Authorization: PVEAPIToken={0}={1}'.format(TOKEN_ID, TOKEN_SECRET), url]
        ours = [pvectl, '-o', 'json', 'vm', 'list']
        results = {}
        for name, argv in (('curl', curl), ('pvectl -o json vm list', ours)):
            run_timed(argv, env)  # warm-up
            walls = []
            for _ in range(rounds):
                code, wall = run_timed(argv, env)
                if code != 0:
                    sys.exit('bench: {0} failed with {1}'.format(argv, code))
                walls.append(wall)
            rss = max(peak_rss_kib(argv, env) for _ in range(5))
            results[name] = (statistics.median(walls), min(walls), rss)
        print('### `pvectl -o json vm list` against one curl of the same endpoint ({0} runs each)\n'.format(rounds))
        print('| command | median wall | fastest | peak RSS |')
        print('|---|---|---|---|')
        for name, (med, fast, rss) in results.items():
            print('| `{0}` | {1:.1f} ms | {2:.1f} ms | {3:.1f} MiB |'.format(name, med * 1000, fast * 1000, rss / 1024))
        ratio = results['pvectl -o json vm list'][0] / results['curl'][0]
        print('\nRatio of the medians: {0:.2f}× curl.\n'.format(ratio))
    finally:
        fake.close()


def bench_power(pvectl):
    fake = Fake()
    seed_cluster(fake)
    try:
        print('### Requests per power verb (task ends at once)\n')
        print('| command | HTTP requests | requests |')
        print('|---|---|---|')
        for args in (['vm', 'start', 'vm-010'], ['vm', 'start', 'vm-010'], ['vm', 'stop', '110', 'vm-012'],
                     ['ct', 'start', 'ct-000']):
            reqs, _ = requests_of(fake, pvectl, args)
            what = ', '.join('{0} {1}'.format(m, re.sub(r'UPID:[^/]*', '<UPID>', p.split('/api2/json')[-1]))
                             for m, p, _ in reqs)
            print('| `pvectl {0}` | {1} | {2} |'.format(' '.join(args), len(reqs), what))
        print()
    finally:
        fake.close()


def bench_waits(pvectl, lengths):
    fake = Fake(time_scale=1.0)
    try:
        vm = fake.do(lambda: fake.pve.add_vm(100, 'slow', node='pve1', status='stopped'))
        print('### Delay between the end of a task and the exit of `pvectl vm start` (time scale 1)\n')
        print('| task length | command wall time | delay after the task ended | status polls |')
        print('|---|---|---|---|')
        for secs in lengths:
            def prepare(secs=secs):
                vm.status = 'stopped'
                vm.start_secs = secs
                fake.pve.requests.clear()
            fake.do(prepare)
            code, wall, _, err = run([pvectl, 'vm', 'start', 'slow'], fake.env())
            if code != 0:
                sys.exit('bench: vm start failed: ' + err.decode())
            reqs = fake.do(lambda: list(fake.pve.requests))
            polls = sum(1 for m, p, _ in reqs if m == 'GET' and p.endswith('/status') and 'UPID' in p)
            print('| {0} s | {1:.2f} s | {2:.2f} s | {3} |'.format(secs, wall, wall - secs, polls))
        print()
    finally:
        fake.close()


def bench_parallel(pvectl):
    fake = Fake(time_scale=1.0)
    try:
        def body():
            pve = fake.pve
            for n in ('pve1', 'pve2', 'pve3'):
                pve.add_node(n)
            vms = [pve.add_vm(100 + i, 'p-{0:02d}'.format(i), node='pve{0}'.format(i % 3 + 1), status='stopped')
                   for i in range(20)]
            for vm in vms:
                vm.start_secs = 1
            pve.slow_network(0.05)
            return vms
        vms = fake.do(body)
        print('### Starting 20 stopped VMs on 3 nodes, 50 ms latency per response, 1 s start tasks\n')
        print('| command | wall time | HTTP requests |')
        print('|---|---|---|')
        for n in (1, 4):
            def reset():
                for vm in vms:
                    vm.status = 'stopped'
                fake.pve.requests.clear()
            fake.do(reset)
            code, wall, _, err = run([pvectl, 'vm', 'start', '--all', '--yes', '--parallel', str(n)], fake.env())
            if code != 0:
                sys.exit('bench: parallel start failed: ' + err.decode())
            reqs = fake.do(lambda: len(fake.pve.requests))
            print('| `pvectl vm start --all --yes --parallel {0}` | {1:.2f} s | {2} |'.format(n, wall, reqs))
        print()
    finally:
        fake.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--pvectl', required=True)
    parser.add_argument('--rounds', type=int, default=30)
    parser.add_argument('groups', nargs='*', default=['reads', 'wall', 'power', 'waits', 'parallel'])
    args = parser.parse_args()
    pvectl = os.path.abspath(args.pvectl)
    for group in args.groups:
        if group == 'reads':
            bench_reads(pvectl)
        elif group == 'wall':
            bench_wall(pvectl, args.rounds)
        elif group == 'power':
            bench_power(pvectl)
        elif group == 'waits':
            bench_waits(pvectl, (0, 2, 10, 60))
        elif group == 'parallel':
            bench_parallel(pvectl)
        else:
            sys.exit('bench: unknown group {0!r}'.format(group))


if __name__ == '__main__':
    main()
