"""Benchmarks of pvectl against fakepve: HTTP requests per command, wall time, peak memory, and the
delay between a task's end and the command's exit. Run through bench/run.sh; prints Markdown."""

import argparse
import asyncio
import hashlib
import os
import re
import shlex
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
                'XDG_CONFIG_HOME': os.path.join(self.dir, '.config'),
                'PROXMOX_HOST': '{0}:{1}'.format(self.pve.host, self.pve.port),
                'PROXMOX_TOKEN': '{0}={1}'.format(TOKEN_ID, TOKEN_SECRET),
                'PROXMOX_FINGERPRINT': self.fingerprint}

    def env_first_use(self):
        """As env(), but pvectl can keep nothing between runs (its cache directory cannot be
        made): every command is its first, a guest given by VMID is looked up."""
        blocker = os.path.join(self.dir, 'no-cache')
        open(blocker, 'w').close()
        env = self.env()
        env['XDG_CACHE_HOME'] = os.path.join(blocker, 'cache')
        return env

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
    """3 nodes, `vms` VMs and `cts` containers spread over them."""
    fake.do(lambda: seed(fake.pve, vms, cts))


def seed(pve, vms, cts):
    """Run on the fake's loop: the nodes and guests of seed_cluster."""
    for n in ('pve1', 'pve2', 'pve3'):
        pve.add_node(n)
    for i in range(vms):
        pve.add_vm(100 + i, 'vm-{0:03d}'.format(i), node='pve{0}'.format(i % 3 + 1),
                   status='running' if i % 2 else 'stopped', config={'tags': 'bench'})
    for i in range(cts):
        pve.add_ct(500 + i, 'ct-{0:03d}'.format(i), node='pve{0}'.format(i % 3 + 1),
                   status='running' if i % 2 else 'stopped')


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


def add_backup_storages(pve):
    """2 shared and 3 node-local backup storages (fakepve keeps one volume set per storage name, so
    each local one is restricted to its node)."""
    for name, server in (('nfs-a', '10.0.0.1'), ('nfs-b', '10.0.0.2')):
        pve.storages[name] = {'type': 'nfs', 'shared': 1, 'content': 'backup', 'active': 1, 'files': set(),
                              'volumes': {}, 'server': server, 'export': '/backup', 'path': '/mnt/pve/' + name}
    for n in ('pve1', 'pve2', 'pve3'):
        pve.storages['dump-' + n] = {'type': 'dir', 'content': 'backup', 'active': 1, 'files': set(),
                                     'volumes': {}, 'path': '/srv/dump', 'nodes': n}
    # Keep 'local' out of the picture: it would be read on every node.
    pve.storages['local']['content'] = 'iso,vztmpl'


def bench_backup(pvectl):
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'tests', 'support'))
    from fakepve_ctl import emulate_vzdump
    fake = Fake(time_scale=1.0)
    try:
        def body():
            seed(fake.pve, 14, 7)
            add_backup_storages(fake.pve)
            emulate_vzdump(fake.pve, secs=0.3)
            for i in range(60):
                store = ('nfs-a', 'nfs-b', 'dump-pve1', 'dump-pve2', 'dump-pve3')[i % 5]
                fake.pve.storages[store]['volumes']['backup/vzdump-qemu-{0}-2026_01_{1:02d}-00_00_00.vma.zst'.format(
                    100 + i % 14, i % 28 + 1)] = {'content': 'backup', 'format': 'vma.zst', 'size': 10 ** 9,
                                                  'ctime': 1767225600 + i * 86400, 'vmid': 100 + i % 14}
        fake.do(body)
        print('### Backups: 3 nodes, 14 VMs and 7 containers, 2 shared and 3 local backup storages\n')
        print('| command | wall time | HTTP requests | vzdump requests |')
        print('|---|---|---|---|')
        for args in (['backup', 'list'], ['backup', 'list', 'vm-003'],
                     ['backup', 'create', '--all', '--storage', 'nfs-a']):
            fake.do(lambda: fake.pve.requests.clear())
            code, wall, _, err = run([pvectl, '-q'] + args, fake.env())
            if code != 0:
                sys.exit('bench: `pvectl {0}` failed ({1}): {2}'.format(' '.join(args), code, err.decode()))
            reqs = fake.do(lambda: list(fake.pve.requests))
            vz = sum(1 for m, p, _ in reqs if m == 'POST' and p.endswith('/vzdump'))
            print('| `pvectl {0}` | {1:.2f} s | {2} | {3} |'.format(' '.join(args), wall, len(reqs), vz))
        print('\nWith one vzdump per node started at once, `backup create --all` takes about as long as the '
              'busiest node (7 guests × 0.3 s here), not the sum over all nodes.\n')
    finally:
        fake.close()


def bench_provision(pvectl):
    fake = Fake()
    try:
        def body():
            pve = fake.pve
            pve.add_node('pve2')
            pve.add_vm(100, 'web', node='pve1', status='stopped',
                       config={'memory': '2048', 'scsi0': 'local-lvm:vm-100-disk-0,size=8G'})
            pve.add_ct(200, 'dns', node='pve1', status='stopped',
                       config={'rootfs': 'local-lvm:subvol-200-disk-0,size=8G', 'hostname': 'dns'})
            pve.store_file('local', 'debian.tar.zst', 1000, content='vztmpl')
        fake.do(body)
        print('### Requests per configuration and provisioning verb (tasks end at once)\n')
        print('| command | HTTP requests | requests |')
        print('|---|---|---|')
        cases = [
            ['vm', 'set', 'web', 'memory=4096'], ['ct', 'set', 'dns', 'memory=1024'],
            ['vm', 'config', 'web', '--get', 'memory'],
            ['ct', 'mount', 'add', 'dns', 'local-lvm:4', '/srv/data'], ['ct', 'mount', 'list', 'dns'],
            ['ct', 'mount', 'remove', 'dns', '/srv/data'],
            ['vm', 'snapshot', 'create', 'web', 'before'], ['vm', 'snapshot', 'list', 'web'],
            ['vm', 'snapshot', 'rollback', 'web', 'before', '--yes'],
            ['vm', 'snapshot', 'delete', 'web', 'before', '--yes'],
            ['vm', 'clone', 'web', '--name', 'web2'], ['vm', 'clone', 'web', '150'],
            ['vm', 'migrate', 'web', 'pve2'],
            ['vm', 'create', '--name', 'new', '--memory', '1024'],
            ['ct', 'create', '300', 'local:vztmpl/debian.tar.zst', '--hostname', 'c1', '--storage', 'local-lvm'],
            ['vm', 'template', '150'], ['vm', 'delete', 'new', '--yes'],
        ]
        for args in cases:
            reqs, _ = requests_of(fake, pvectl, args)
            what = ', '.join('{0} {1}'.format(m, re.sub(r'UPID:[^/]*', '<UPID>', p.split('/api2/json')[-1]))
                             for m, p, _ in reqs)
            print('| `pvectl {0}` | {1} | {2} |'.format(' '.join(args), len(reqs), what))
        print()
    finally:
        fake.close()


def bench_upload(pvectl, size_mib=1024):
    """`storage upload` of a 1 GiB file over loopback TLS into fakepve (which reads the multipart
    stream and hashes it, as pveproxy writes it to disk): wall time, transfer rate and pvectl's
    peak RSS, next to curl uploading the same file the same way."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'tests', 'support'))
    from fakepve_ctl import emulate_images
    fake = Fake()
    tmp = tempfile.mkdtemp(prefix='pvectl-bench-upload-')
    path = os.path.join(tmp, 'bench.iso')
    try:
        block = os.urandom(1 << 20)
        with open(path, 'wb') as out:
            for _ in range(size_mib):
                out.write(block)
        size = os.path.getsize(path)
        fake.do(lambda: emulate_images(fake.pve))
        env = fake.env()

        def forget():
            store = fake.pve.storages['local']
            store['files'].discard('bench.iso')
            store.get('volumes', {}).pop('iso/bench.iso', None)
            fake.pve.uploads.clear()

        def measure(argv):
            fake.do(forget)
            with tempfile.NamedTemporaryFile('r') as timing:
                t0 = time.monotonic()
                code = subprocess.call(['/usr/bin/time', '-f', '%M', '-o', timing.name] + argv, env=env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                wall = time.monotonic() - t0
                rss = int(timing.read().strip().splitlines()[-1])
            if code != 0:
                sys.exit('bench: {0} failed with {1}'.format(argv, code))
            got = fake.do(lambda: dict(fake.pve.uploads[-1]))
            if got['size'] != size or not got['complete']:
                sys.exit('bench: the server received {0} of {1} bytes'.format(got['size'], size))
            return wall, rss

        if not os.path.exists('/usr/bin/time'):
            sys.exit('bench: GNU time is needed to measure memory: install it (apt install time)')
        ours = [pvectl, '-q', 'storage', 'upload', 'local', path]
        url = 'https://{0}:{1}/api2/json/nodes/pve1/storage/local/upload'.format(fake.pve.host, fake.pve.port)
        curl = ['curl', '-sS', '--fail', '-o', '/dev/null', '--cacert', fake.cafile,
                '-H', 'Authorization: PVEAPIToken={0}={1}'.format(TOKEN_ID, TOKEN_SECRET),
                '-F', 'content=iso', '-F', 'filename=@{0};type=application/octet-stream'.format(path), url]
        rows = []
        for name, argv in (('pvectl -q storage upload local bench.iso', ours), ('curl -F content=iso -F filename=@bench.iso', curl)):
            measure(argv)  # warm-up: the file in the page cache
            runs = [measure(argv) for _ in range(3)]
            wall = statistics.median(w for w, _ in runs)
            rss = max(r for _, r in runs)
            rows.append((name, wall, size / wall / (1 << 20), rss))
        print('### Uploading a {0} MiB file over loopback TLS (medians of 3)\n'.format(size_mib))
        print('| command | wall time | throughput | peak RSS |')
        print('|---|---|---|---|')
        for name, wall, rate, rss in rows:
            print('| `{0}` | {1:.2f} s | {2:.0f} MiB/s | {3:.1f} MiB |'.format(name, wall, rate, rss / 1024))
        print('\npvectl\'s time includes finding the storage and node, checking what is there, and '
              'waiting for the imgcopy task; curl only sends the body.\n')
        # The same upload of a file 16 times smaller: pvectl's memory does not follow the size.
        small = os.path.join(tmp, 'bench.iso')
        with open(small, 'r+b') as f:
            f.truncate(size // 16)
        size = os.path.getsize(small)
        _, rss_small = measure(ours)
        print('Peak RSS of pvectl by file size: {0} MiB → {1:.1f} MiB, {2} MiB → {3:.1f} MiB.\n'.format(
            size_mib // 16, rss_small / 1024, size_mib, rows[0][3] / 1024))
    finally:
        fake.close()
        shutil.rmtree(tmp, ignore_errors=True)
# ------------------------------------------------------------------------------ speed (issue 12)

def timed(argv, env, shell=False):
    """Wall and CPU (user + system, of the command and what it ran) seconds of one run, from the
    kernel's accounting of the child (microseconds, not GNU time's hundredths)."""
    cmd = ['sh', '-c', argv] if shell else argv
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t0
    return os.waitstatus_to_exitcode(status), wall, usage.ru_utime + usage.ru_stime


def measure(argv, env, rounds, prepare=None, shell=False):
    """Median wall and CPU seconds over `rounds` runs (after a warm-up), and the peak RSS (GNU time)."""
    if prepare:
        prepare()
    timed(argv, env, shell)
    walls, cpus = [], []
    for _ in range(rounds):
        if prepare:
            prepare()
        code, wall, cpu = timed(argv, env, shell)
        if code != 0:
            sys.exit('bench: {0} failed with {1}'.format(argv, code))
        walls.append(wall)
        cpus.append(cpu)
    if prepare:
        prepare()
    rss = peak_rss_kib(['sh', '-c', argv] if shell else argv, env)
    return statistics.median(walls), statistics.median(cpus), rss


def measure_interleaved(cases, rounds, rss=False):
    """Like `measure` for several commands at once, taking turns (one run of each per round), so
    that a change in the machine's load falls on all of them alike: the side-by-side figures are
    comparable even where the absolute ones drift. `cases` holds (argv, env, prepare, shell);
    returns a (wall, cpu, rss) of medians for each, rss 0 unless asked for."""
    walls = [[] for _ in cases]
    cpus = [[] for _ in cases]
    for warmup in [True] + [False] * rounds:
        for i, (argv, env, prepare, shell) in enumerate(cases):
            if prepare:
                prepare()
            code, wall, cpu = timed(argv, env, shell)
            if code != 0:
                sys.exit('bench: {0} failed with {1}'.format(argv, code))
            if not warmup:
                walls[i].append(wall)
                cpus[i].append(cpu)
    out = []
    for i, (argv, env, prepare, shell) in enumerate(cases):
        peak = 0
        if rss:
            if prepare:
                prepare()
            peak = peak_rss_kib(['sh', '-c', argv] if shell else argv, env)
        out.append((statistics.median(walls[i]), statistics.median(cpus[i]), peak))
    return out


def proxctl_path():
    path = shutil.which('proxctl')
    if not path:
        print('> proxctl is not installed, so its column is empty: `cargo install proxctl --version 0.2.11` adds it.\n')
    return path


def proxctl_env(fake):
    env = dict(fake.env())
    env['PROXMOX_HOST'] = '{0}:{1}'.format(fake.pve.host, fake.pve.port)
    env['PROXMOX_TOKEN'] = '{0}={1}'.format(TOKEN_ID, TOKEN_SECRET)
    return env


def curl_argv(fake, method, path):
    return ['curl', '-sS', '-o', '/dev/null', '--fail', '-X', method, '--cacert', fake.cafile,
            '-H', 'Authorization: PVEAPIToken={0}={1}'.format(TOKEN_ID, TOKEN_SECRET),
            'https://{0}:{1}/api2/json{2}'.format(fake.pve.host, fake.pve.port, path)]


def bench_speed(pvectl, rounds):
    """Start + wait of an instant task, a list and a status, at 0 and 50 ms per response."""
    proxctl = proxctl_path()
    print('### Start + wait, list and status next to proxctl and curl ({0} runs each, taking turns; medians)\n'.format(rounds))
    print('| latency | command | pvectl | proxctl | curl | pvectl requests | proxctl requests |')
    print('|---|---|---|---|---|---|---|')
    for rtt in (0.0, 0.05):
        # Time runs at its real pace (latency is a pause); the start task itself takes no time.
        fake = Fake(time_scale=1.0)
        try:
            seed_cluster(fake)
            vm = fake.do(lambda: fake.pve.vm(110))
            vm.start_secs = 0
            if rtt:
                fake.do(lambda: fake.pve.slow_network(rtt))

            def stopped():
                fake.do(lambda: setattr(vm, 'status', 'stopped') or setattr(vm, 'qmpstatus', 'stopped'))
            curl_wait = ('upid=$({0} | sed -e \'s/.*"data": *"\\([^"]*\\)".*/\\1/\'); '
                         'while ! {1}/$(printf %s "$upid" | sed -e "s/:/%3A/g; s/@/%40/g; s/!/%21/g")/status '
                         '| grep -q \'"status": *"stopped"\'; do :; done').format(
                shlex.join(a for a in curl_argv(fake, 'POST', '/nodes/pve2/qemu/110/status/start')
                           if a not in ('-o', '/dev/null')),
                shlex.join(a for a in curl_argv(fake, 'GET', '/nodes/pve2/tasks') if a not in ('-o', '/dev/null')))
            # pvectl keeps where it saw each guest: a VMID goes to that node (`kept`); the first
            # command, or one that cannot keep anything, looks the guest up (`first`).
            kept, first = fake.env(), fake.env_first_use()
            proxctl_start = proxctl and [proxctl, '--insecure', 'vm', 'start', '110', '--node', 'pve2']
            proxctl_status = proxctl and [proxctl, '--insecure', '-o', 'json', 'vm', 'status', '110',
                                          '--node', 'pve2']
            curl_status = curl_argv(fake, 'GET', '/nodes/pve2/qemu/110/status/current')
            cases = [
                ('start + wait (VM 110, task ends at once; its node kept from a lookup before)',
                 [pvectl, 'vm', 'start', '110'], kept, proxctl_start, curl_wait, stopped),
                ('start + wait, first use (VM 110 looked up)',
                 [pvectl, 'vm', 'start', '110'], first, proxctl_start, curl_wait, stopped),
                ('start + wait, node given (VM 110 on pve2)', [pvectl, 'vm', 'start', '110', '--node', 'pve2'],
                 kept, proxctl_start, curl_wait, stopped),
                ('list (100 guests)', [pvectl, '-o', 'json', 'vm', 'list'], kept,
                 proxctl and [proxctl, '--insecure', '-o', 'json', 'vm', 'list'],
                 curl_argv(fake, 'GET', '/cluster/resources?type=vm'), None),
                ('status (VM 110 by VMID; its node kept)', [pvectl, '-o', 'json', 'vm', 'status', '110'],
                 kept, proxctl_status, curl_status, None),
                ('status, first use (VM 110 looked up)', [pvectl, '-o', 'json', 'vm', 'status', '110'],
                 first, proxctl_status, curl_status, None),
                ('status, node given', [pvectl, '-o', 'json', 'vm', 'status', '110', '--node', 'pve2'],
                 kept, proxctl_status, curl_status, None),
            ]
            # Where VM 110 is, as a command before this one saw it.
            subprocess.call([pvectl, 'vm', 'list'], env=kept, stdout=subprocess.DEVNULL)
            for name, ours, our_env, theirs, curl, prepare in cases:
                runs = [(argv, env) for argv, env in ((ours, our_env), (theirs, proxctl_env(fake)),
                                                     (curl, fake.env())) if argv]
                medians = iter(measure_interleaved(
                    [(argv, env, prepare, isinstance(argv, str)) for argv, env in runs], rounds))
                row = ['{0:.1f} ms'.format(next(medians)[0] * 1000) if argv else '–'
                       for argv in (ours, theirs, curl)]
                counts = []
                for argv, env in ((ours, our_env), (theirs, proxctl_env(fake))):
                    if not argv:
                        counts.append('–')
                        continue
                    if prepare:
                        prepare()
                    fake.do(lambda: fake.pve.requests.clear())
                    subprocess.call(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    counts.append(str(fake.do(lambda: len(fake.pve.requests))))
                print('| {0} ms | {1} | {2} | {3} |'.format(int(rtt * 1000), name, ' | '.join(row), ' | '.join(counts)))
        finally:
            fake.close()
    print()


def seed_large(pve, nodes=10, vms=3000, cts=2000):
    names = ['pve{0}'.format(i + 1) for i in range(nodes)]
    for n in names:
        pve.add_node(n)
    for i in range(vms):
        pve.add_vm(1000 + i, 'vm-{0:04d}'.format(i), node=names[i % nodes],
                   status='running' if i % 3 else 'stopped', config={'tags': 'web;prod'})
    for i in range(cts):
        pve.add_ct(5000 + i, 'ct-{0:04d}'.format(i), node=names[i % nodes],
                   status='running' if i % 2 else 'stopped')


def bench_scale(pvectl, rounds):
    """`vm list` of a large cluster in each output format: wall, CPU and peak RSS."""
    proxctl = proxctl_path()
    fake = Fake()
    try:
        fake.do(lambda: seed_large(fake.pve))
        url_curl = shlex.join(a for a in curl_argv(fake, 'GET', '/cluster/resources?type=vm')
                              if a not in ('-o', '/dev/null'))
        print('### `vm list` of 10 nodes, 3,000 VMs and 2,000 containers ({0} runs each, taking turns; medians)\n'.format(rounds))
        print('| command | wall | CPU | peak RSS |')
        print('|---|---|---|---|')
        cases = [
            ('`curl -s … | cat` (the raw answer)', url_curl + ' | cat', fake.env()),
            ('`pvectl -o json vm list`', [pvectl, '-o', 'json', 'vm', 'list'], fake.env()),
            ('`pvectl -o tsv vm list`', [pvectl, '-o', 'tsv', 'vm', 'list'], fake.env()),
            ('`pvectl vm list` (table)', [pvectl, 'vm', 'list'], fake.env()),
        ]
        if proxctl:
            cases += [
                ('`proxctl -o json vm list`', [proxctl, '--insecure', '-o', 'json', 'vm', 'list'], proxctl_env(fake)),
                ('`proxctl -o text vm list`', [proxctl, '--insecure', '-o', 'text', 'vm', 'list'], proxctl_env(fake)),
            ]
        medians = measure_interleaved([(argv, env, None, isinstance(argv, str)) for _, argv, env in cases],
                                      rounds, rss=True)
        for (name, _, _), (wall, cpu, rss) in zip(cases, medians):
            print('| {0} | {1:.1f} ms | {2:.1f} ms | {3:.1f} MiB |'.format(name, wall * 1000, cpu * 1000, rss / 1024))
        print()
    finally:
        fake.close()


def bench_bulk(pvectl):
    """Many instant starts on 3 nodes: at the default budget and without one."""
    fake = Fake()
    try:
        def body():
            for n in ('pve1', 'pve2', 'pve3'):
                fake.pve.add_node(n)
            return [fake.pve.add_vm(100 + i, 'b-{0:03d}'.format(i), node='pve{0}'.format(i % 3 + 1),
                                    status='stopped') for i in range(115)]
        vms = fake.do(body)
        print('### Starting 115 stopped VMs on 3 nodes (tasks end at once), `--parallel 16`\n')
        print('| command | wall time | HTTP requests | requests per guest |')
        print('|---|---|---|---|')
        for extra in ([], ['--max-rps', '0']):
            def reset():
                for vm in vms:
                    vm.status = vm.qmpstatus = 'stopped'
                fake.pve.requests.clear()
            fake.do(reset)
            argv = [pvectl, '-q', 'vm', 'start', '--all', '--yes', '--parallel', '16'] + extra
            code, wall, _, err = run(argv, fake.env())
            if code != 0:
                sys.exit('bench: bulk start failed: ' + err.decode())
            reqs = fake.do(lambda: len(fake.pve.requests))
            print('| `pvectl vm start --all --yes --parallel 16{0}` | {1:.2f} s | {2} | {3:.2f} |'.format(
                ' ' + ' '.join(extra) if extra else '', wall, reqs, reqs / len(vms)))
        print()
    finally:
        fake.close()


def bench_slowbulk(pvectl):
    """Shutdowns of uneven length: the slots stay busy, so the run lasts about as long as the work
    divided by the slots, not the sum of each batch's slowest."""
    fake = Fake(time_scale=0.05)
    try:
        def body():
            vms = [fake.pve.add_vm(100 + i, 's-{0:02d}'.format(i), status='running') for i in range(12)]
            for i, vm in enumerate(vms):
                # One slow guest in every four: 60 s, the others 20 s (at 1/20 of real time).
                vm.shutdown_secs = 60 if i % 4 == 0 else 20
            return vms
        vms = fake.do(body)
        print('### Shutting down 12 VMs, 2 at once: every fourth takes 3 s, the others 1 s\n')
        total = sum(vm.shutdown_secs for vm in vms) * 0.05
        ideal = total / 2
        print('| command | wall time | the work ÷ 2 slots | sum of the slowest per batch of 2 |')
        print('|---|---|---|---|')
        batches = sum(max(vms[i].shutdown_secs, vms[i + 1].shutdown_secs) for i in range(0, 12, 2)) * 0.05
        code, wall, _, err = run([pvectl, '-q', 'vm', 'shutdown', '--all', '--yes', '--parallel', '2',
                                  '--timeout', '100'], fake.env())
        if code != 0:
            sys.exit('bench: slow shutdown failed: ' + err.decode())
        print('| `pvectl vm shutdown --all --yes --parallel 2` | {0:.2f} s | {1:.2f} s | {2:.2f} s |'.format(
            wall, ideal, batches))
        print()
    finally:
        fake.close()


def bench_inside(pvectl):
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'tests', 'support'))
    from fakepve_ctl import emulate_agent
    fake = Fake()
    try:
        def body():
            seed(fake.pve, 70, 30)
            emulate_agent(fake.pve)
            vm = fake.pve.vm(142)
            vm.status = 'running'
            vm.config.update({'agent': '1', 'net0': 'virtio=BC:24:11:00:00:01,bridge=vmbr0'})
            vm.agent = {'exec': {'uptime': {'out-data': ' 10:00:00 up 3 days\n'}}}
            vm.agent_files = {'/etc/hostname': b'vm-042\n'}
            ct = fake.pve.guest(507)
            ct.status = 'running'
            ct.config['net0'] = 'name=eth0,bridge=vmbr0,ip=10.0.0.7/24'
        fake.do(body)
        hostname = os.path.join(fake.dir, 'hostname')
        with open(hostname, 'w') as f:
            f.write('vm-042\n')
        print('### Inside the guest: requests per command (3 nodes, 70 VMs, 30 containers; the agent answers at once)\n')
        print('| command | HTTP requests | requests |')
        print('|---|---|---|')
        cases = [
            ['vm', 'ip', 'vm-042'], ['vm', 'ip', '142', '--node', 'pve1'], ['ct', 'ip', 'ct-007'],
            ['vm', 'exec', 'vm-042', '--', 'uptime'], ['vm', 'exec', '142', '--node', 'pve1', '--', 'uptime'],
            ['vm', 'file', 'get', 'vm-042', '/etc/hostname'], ['vm', 'file', 'put', 'vm-042', hostname, '/etc/hostname'],
        ]
        for args in cases:
            reqs, _ = requests_of(fake, pvectl, args)
            what = ', '.join('{0} {1}'.format(m, p.split('/api2/json')[-1]) for m, p, _ in reqs)
            shown = ' '.join('FILE' if a == hostname else a for a in args)
            print('| `pvectl {0}` | {1} | {2} |'.format(shown, len(reqs), what))
        print()
    finally:
        fake.close()


def bench_drain(pvectl):
    """`nodes drain` of 30 guests at 50 ms RTT: the requests by kind and the wall time."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'tests', 'support'))
    from fakepve_ctl import GiB, emulate_ha, emulate_migration, emulate_node_usage
    secs = 2.0
    fake = Fake(time_scale=1.0)
    try:
        def body():
            pve = fake.pve
            for n in ('pve1', 'pve2', 'pve3', 'pve4'):
                pve.add_node(n)
            pve.storages['nfs'] = {'type': 'nfs', 'active': 1, 'content': 'images,rootdir', 'files': set(),
                                   'shared': 1}
            for i in range(22):
                disk = 'nfs:{0}/vm-{0}-disk-0.qcow2'.format(100 + i) if i % 4 else 'local-lvm:vm-{0}-disk-0'.format(100 + i)
                pve.add_vm(100 + i, 'd-{0:02d}'.format(i), node='pve1', status='running',
                           config={'scsi0': disk + ',size=32G', 'memory': 4096})
            for i in range(6):
                pve.add_ct(200 + i, node='pve1', status='running', config={'hostname': 'c-{0:02d}'.format(i),
                                                                            'memory': 1024})
            for i in range(2):
                pve.add_vm(300 + i, 'h-{0:02d}'.format(i), node='pve1', status='running',
                           config={'scsi0': 'nfs:{0}/d.qcow2'.format(300 + i), 'memory': 4096}).ha_state = 'started'
            pve.ct_secs['migrate'] = secs
            emulate_node_usage(pve, {'pve1': {'maxmem': 256 * GiB}, 'pve2': {'maxmem': 128 * GiB},
                                     'pve3': {'maxmem': 128 * GiB}, 'pve4': {'maxmem': 128 * GiB}})
            emulate_migration(pve, secs=secs)
            emulate_ha(pve, secs=secs)
            pve.slow_network(0.05)
        fake.do(body)
        print('### `nodes drain` of 30 guests (22 VMs, 5 with a local disk, 6 containers, 2 HA-managed VMs) '
              'to 3 nodes, 50 ms latency per response, each migration 2 s\n')
        print('| command | wall time | HTTP requests | of which |')
        print('|---|---|---|---|')
        kinds = (('resources', lambda m, p: p.endswith('/cluster/resources')),
                 ('configs', lambda m, p: m == 'GET' and p.endswith('/config')),
                 ('HA rules', lambda m, p: p.endswith('/cluster/ha/rules')),
                 ('migrate POSTs', lambda m, p: m == 'POST' and p.endswith('/migrate')),
                 ('task lists', lambda m, p: m == 'GET' and p.endswith('/tasks')),
                 ('task status', lambda m, p: m == 'GET' and '/tasks/' in p),
                 ('HA status', lambda m, p: p.endswith('/cluster/ha/status/current')))
        for extra in (['--parallel', '4'], ['--parallel', '8'], ['--parallel', '4', '--max-rps', '0']):
            def reset():
                for g in fake.pve.vms + fake.pve.cts:
                    g.node = 'pve1'
                fake.pve.requests.clear()
            fake.do(reset)
            shutil.rmtree(os.path.join(fake.dir, '.local'), ignore_errors=True)
            argv = [pvectl, '-q', 'nodes', 'drain', 'pve1', '--yes'] + extra
            code, wall, _, err = run(argv, fake.env())
            if code != 0:
                sys.exit('bench: drain failed: ' + err.decode())
            reqs = fake.do(lambda: list(fake.pve.requests))
            moved = fake.do(lambda: sum(1 for g in fake.pve.vms + fake.pve.cts if g.node != 'pve1'))
            if moved != 30:
                sys.exit('bench: the drain moved {0} guests, not 30'.format(moved))
            counts = ['{0} {1}'.format(sum(1 for m, p, _ in reqs if test(m, p)), name) for name, test in kinds]
            print('| `pvectl nodes drain pve1 --yes {0}` | {1:.1f} s | {2} | {3} |'.format(
                ' '.join(extra), wall, len(reqs), ', '.join(counts)))
        print()
    finally:
        fake.close()


# ------------------------------------------------------------------------ completion (issue 17)

def bench_complete(pvectl, rounds):
    """A TAB after `pvectl vm start vm-0` as bash asks for it: with nothing kept, with the answer
    kept (within 5 s), and against a server that answers after 2 s."""
    fake = Fake(time_scale=1.0)
    seed_cluster(fake)
    cache = os.path.join(fake.dir, '.cache', 'pvectl')
    env = dict(fake.env(), COMPLETE='bash', _CLAP_COMPLETE_INDEX='3', _CLAP_IFS='\n')
    argv = [pvectl, '--', 'pvectl', 'vm', 'start', 'vm-0']

    def clear():
        shutil.rmtree(cache, ignore_errors=True)

    def tab():
        fake.do(lambda: fake.pve.requests.clear())
        code, wall, out, _ = run(argv, env)
        if code != 0:
            sys.exit('bench: completion failed with {0}'.format(code))
        offered = [w for w in out.decode().splitlines() if w and not w.startswith('-')]
        return len(fake.do(lambda: list(fake.pve.requests))), len(offered)

    try:
        clear()
        cold_reqs, cold_offered = tab()
        warm_reqs, warm_offered = tab()
        cold = measure(argv, env, rounds, prepare=clear)
        warm = measure(argv, env, rounds)
        fake.do(lambda: fake.pve.slow_network(2.0))
        clear()
        slow_reqs, slow_offered = tab()
        slow = measure(argv, env, min(rounds, 10), prepare=clear)
        print('### A TAB: `pvectl vm start vm-0<TAB>` (3 nodes, 70 VMs, 30 containers; medians of {0})\n'.format(rounds))
        print('| case | requests answered | names offered | wall | CPU |')
        print('|---|---|---|---|---|')
        for name, reqs, offered, (wall, cpu, _) in (
                ('nothing kept: one request', cold_reqs, cold_offered, cold),
                ('kept (answer younger than 5 s)', warm_reqs, warm_offered, warm),
                ('nothing kept, server answers after 2 s', slow_reqs, slow_offered, slow)):
            print('| {0} | {1} | {2} | {3:.1f} ms | {4:.1f} ms |'.format(name, reqs, offered, wall * 1000, cpu * 1000))
        print()
    finally:
        fake.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--pvectl', required=True)
    parser.add_argument('--rounds', type=int, default=30)
    parser.add_argument('groups', nargs='*', default=['reads', 'wall', 'power', 'waits', 'parallel', 'backup', 'provision',
                                                      'speed', 'scale', 'bulk', 'slowbulk', 'inside', 'upload',
                                                      'drain', 'complete'])
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
        elif group == 'backup':
            bench_backup(pvectl)
        elif group == 'provision':
            bench_provision(pvectl)
        elif group == 'upload':
            bench_upload(pvectl)
        elif group == 'speed':
            bench_speed(pvectl, args.rounds)
        elif group == 'scale':
            bench_scale(pvectl, args.rounds)
        elif group == 'bulk':
            bench_bulk(pvectl)
        elif group == 'slowbulk':
            bench_slowbulk(pvectl)
        elif group == 'inside':
            bench_inside(pvectl)
        elif group == 'drain':
            bench_drain(pvectl)
        elif group == 'complete':
            bench_complete(pvectl, args.rounds)
        else:
            sys.exit('bench: unknown group {0!r}'.format(group))


if __name__ == '__main__':
    main()
