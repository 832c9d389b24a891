"""Test harness: a pool of fakepve instances, driven over a small control API on loopback.

The end-to-end tests (Rust) talk to this process:

    POST /new                      -> {"id", "url", "host", "port", "cafile", "fingerprint"}
        body (JSON, optional): {"time_scale": 0, "user": "root@pam", "password": "secret"}
        A fresh FakePve on its own loopback address with its own certificate, so tests never share state.
    POST /exec/{id}                -> {"result": <JSON of the value of `result`>} or {"error": "..."}
        body: Python source run with `pve` (the FakePve) in scope; may use `await`. Set `result` to answer.
        Also in scope: `emulate_vzdump(pve, secs=1.0)`, a vzdump that behaves like PVE's (see there).
    POST /stop/{id}                -> {}

It binds 127.0.0.1 only and exists for the test suite; it is not part of pvectl.
"""

import argparse
import asyncio
import hashlib
import itertools
import json
import os
import sys
import tempfile
import textwrap
import time
import traceback

from aiohttp import web

from fakepve import FakePve
from fakepve.certs import make_cert
from fakepve.model import TaskError

INSTANCES = {}
# Never reused: ids taken from the size of INSTANCES collide when /new calls overlap or after a /stop.
IDS = itertools.count(1)
WORKDIR = tempfile.mkdtemp(prefix='pvectl-fakepve-')


def fingerprint(der):
    digest = hashlib.sha256(der).hexdigest().upper()
    return ':'.join(digest[i:i + 2] for i in range(0, len(digest), 2))


async def new(request):
    opts = await request.json() if request.can_read_body else {}
    pve = FakePve(user=opts.get('user', 'root@pam'), password=opts.get('password', 'secret'), port=0)
    pve.time_scale = float(opts.get('time_scale', 0))
    ident = str(next(IDS))
    directory = os.path.join(WORKDIR, ident)
    os.makedirs(directory)
    certfile, keyfile, der = make_cert(directory, hosts=(pve.host,))
    await pve.start(certfile, keyfile)
    INSTANCES[ident] = pve
    return web.json_response({'id': ident, 'url': pve.url, 'host': pve.host, 'port': pve.port,
                              'cafile': certfile, 'fingerprint': fingerprint(der)})


def emulate_vzdump(pve, secs=1.0):
    """Make POST /nodes/{node}/vzdump behave like PVE's: back up only the listed guests that live on
    that node (answer "OK" when there are none), log PVE's lines guest by guest (QEMU with
    percentages), fail a locked guest with PVE's message, store the archives on the storage, and
    end the task with `job errors` when a guest failed. fakepve's own vzdump does none of this."""
    original = pve.synthesise

    async def synthesise(match, method, info, user, values):
        if method != 'POST' or match.template != '/nodes/{node}/vzdump':
            return await original(match, method, info, user, values)
        node = values['node']
        storage = values.get('storage') or 'local'
        wanted = [int(v) for v in str(values.get('vmid', '')).split(',') if v]
        if values.get('all'):
            wanted = sorted(g.vmid for g in pve.vms + pve.cts if g.node == node)
        local = [v for v in wanted if pve.guest(v) is not None and pve.guest(v).node == node]
        missing = [v for v in wanted if pve.guest(v) is None]
        if not local and not missing:
            return 'OK'

        async def body():
            record = [r for r in pve.tasklog if r['type'] == 'vzdump' and r['node'] == node
                      and r['status'] == 'running'][-1]
            log = record['log']
            failed = False
            for vmid in missing:
                log.append("ERROR: Backup of VM {0} failed - unable to find VM '{0}'".format(vmid))
                failed = True
            for vmid in local:
                guest = pve.guest(vmid)
                kind = 'lxc' if guest in pve.cts else 'qemu'
                log.append('INFO: Starting Backup of VM {0} ({1})'.format(vmid, kind))
                if guest.lock:
                    log.append('ERROR: Backup of VM {0} failed - {1} is locked ({2})'.format(
                        vmid, 'CT' if kind == 'lxc' else 'VM', guest.lock))
                    log.append('INFO: Failed at 2026-11-28 10:00:00')
                    failed = True
                    continue
                stamp = time.strftime('%Y_%m_%d-%H_%M_%S', time.gmtime(time.time() + vmid))
                name = 'vzdump-{0}-{1}-{2}.{3}'.format(kind, vmid, stamp, 'tar.zst' if kind == 'lxc' else 'vma.zst')
                log.append("INFO: creating vzdump archive '/var/lib/vz/dump/{0}'".format(name))
                if kind == 'qemu':
                    for pct in (1, 50, 100):
                        await pve.pause(secs / 3)
                        log.append('INFO: {0:3d}% ({1}.0 MiB of 100.0 MiB) in {2}s, read: 10.0 MiB/s, '
                                   'write: 10.0 MiB/s'.format(pct, pct, pct // 10))
                else:
                    await pve.pause(secs)
                log.append('INFO: archive file size: 42MB')
                pve.storages[storage].setdefault('volumes', {})['backup/' + name] = {
                    'content': 'backup', 'format': name.split('.', 1)[1], 'size': 42 * 1024 * 1024,
                    'ctime': int(time.time()), 'vmid': vmid}
                log.append('INFO: Finished Backup of VM {0} (00:00:0{1})'.format(vmid, int(secs)))
            if failed:
                log.append('INFO: Backup job finished with errors')
                raise TaskError('job errors')
            log.append('INFO: Backup job finished successfully')
            return None

        tid = str(local[0]) if len(local) == 1 and not missing else ''
        return await pve.task(node, 'vzdump', tid, user or 'root@pam', body, lock=False,
                              log=['INFO: starting new backup job: vzdump {0} --storage {1} --node {2}'.format(
                                  ' '.join(map(str, wanted)), storage, node)])

    pve.synthesise = synthesise


def jsonable(value):
    return json.loads(json.dumps(value, default=lambda o: repr(o)))


async def run(request):
    pve = INSTANCES.get(request.match_info['id'])
    if pve is None:
        return web.json_response({'error': 'no such instance'}, status=404)
    source = await request.text()
    scope = {'pve': pve, 'result': None, 'asyncio': asyncio, 'emulate_vzdump': emulate_vzdump}
    code = 'async def __body():\n' + textwrap.indent(source, '    ') + '\n    return locals().get("result")\n'
    try:
        exec(compile(code, '<test>', 'exec'), scope)
        value = await scope['__body']()
        return web.json_response({'result': jsonable(value)})
    except Exception:  # noqa: BLE001 - the test shows the traceback
        return web.json_response({'error': traceback.format_exc()})


async def stop(request):
    pve = INSTANCES.pop(request.match_info['id'], None)
    if pve is not None:
        await pve.stop()
    return web.json_response({})


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--addr-file', required=True, help='write host:port here once listening')
    args = parser.parse_args()
    app = web.Application()
    app.router.add_post('/new', new)
    app.router.add_post('/exec/{id}', run)
    app.router.add_post('/stop/{id}', stop)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, '127.0.0.1', 0)
    await site.start()
    port = runner.addresses[0][1]
    tmp = args.addr_file + '.tmp'
    with open(tmp, 'w') as out:
        out.write('127.0.0.1:{0}\n'.format(port))
    os.replace(tmp, args.addr_file)
    print('fakepve control on 127.0.0.1:{0}'.format(port), file=sys.stderr, flush=True)
    await asyncio.Event().wait()


if __name__ == '__main__':
    asyncio.run(main())
