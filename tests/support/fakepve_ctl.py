"""Test harness: a pool of fakepve instances, driven over a small control API on loopback.

The end-to-end tests (Rust) talk to this process:

    POST /new                      -> {"id", "url", "host", "port", "cafile", "fingerprint"}
        body (JSON, optional): {"time_scale": 0, "user": "root@pam", "password": "secret"}
        A fresh FakePve on its own loopback address with its own certificate, so tests never share state.
    POST /exec/{id}                -> {"result": <JSON of the value of `result`>} or {"error": "..."}
        body: Python source run with `pve` (the FakePve) in scope; may use `await`. Set `result` to answer.
    POST /stop/{id}                -> {}

It binds 127.0.0.1 only and exists for the test suite; it is not part of pvectl.
"""

import argparse
import asyncio
import hashlib
import json
import os
import sys
import tempfile
import textwrap
import traceback

from aiohttp import web

from fakepve import FakePve
from fakepve.certs import make_cert

INSTANCES = {}
WORKDIR = tempfile.mkdtemp(prefix='pvectl-fakepve-')


def fingerprint(der):
    digest = hashlib.sha256(der).hexdigest().upper()
    return ':'.join(digest[i:i + 2] for i in range(0, len(digest), 2))


async def new(request):
    opts = await request.json() if request.can_read_body else {}
    pve = FakePve(user=opts.get('user', 'root@pam'), password=opts.get('password', 'secret'), port=0)
    pve.time_scale = float(opts.get('time_scale', 0))
    ident = str(len(INSTANCES) + 1)
    directory = os.path.join(WORKDIR, ident)
    os.makedirs(directory)
    certfile, keyfile, der = make_cert(directory, hosts=(pve.host,))
    await pve.start(certfile, keyfile)
    INSTANCES[ident] = pve
    return web.json_response({'id': ident, 'url': pve.url, 'host': pve.host, 'port': pve.port,
                              'cafile': certfile, 'fingerprint': fingerprint(der)})


def jsonable(value):
    return json.loads(json.dumps(value, default=lambda o: repr(o)))


async def run(request):
    pve = INSTANCES.get(request.match_info['id'])
    if pve is None:
        return web.json_response({'error': 'no such instance'}, status=404)
    source = await request.text()
    scope = {'pve': pve, 'result': None, 'asyncio': asyncio}
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
