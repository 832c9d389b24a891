"""Test harness: a pool of fakepve instances, driven over a small control API on loopback.

The end-to-end tests (Rust) talk to this process:

    POST /new                      -> {"id", "url", "host", "port", "cafile", "fingerprint"}
        body (JSON, optional): {"time_scale": 0, "user": "root@pam", "password": "secret"}
        A fresh FakePve on its own loopback address with its own certificate, so tests never share state.
    POST /exec/{id}                -> {"result": <JSON of the value of `result`>} or {"error": "..."}
        body: Python source run with `pve` (the FakePve) in scope; may use `await`. Set `result` to answer.
        Also in scope: `emulate_vzdump(pve, secs=1.0, job_warnings=())`, a vzdump that behaves like PVE's,
        `emulate_prune(pve)`, PVE's prune simulation and removal of backups,
        `emulate_backup_jobs(pve, jobs)`, scheduled backup jobs, `emulate_agent(pve)`, PVE's guest
        agent errors and byte-exact files, `emulate_lxc_console(pve)`, a container console,
        `emulate_images(pve)`, PVE's upload, download-url and appliance catalog, and
        `emulate_disks(pve)`, PVE's disk resize, move, unlink and import, and
        `emulate_cluster_tasks(pve)`, the cluster-wide task list (see each).
    POST /stop/{id}                -> {}

It binds 127.0.0.1 only and exists for the test suite; it is not part of pvectl.
"""

import argparse
import asyncio
import hashlib
import itertools
import json
import os
import re
import sys
import tempfile
import textwrap
import time
import traceback

from aiohttp import web

from fakepve import FakePve
from fakepve.certs import make_cert
from fakepve.model import PveError, TaskError
from fakepve.server import USER

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


def holds_backups(store):
    return 'backup' in [c.strip() for c in str(store.get('content', '')).split(',')]


def backup_storage_problem(pve, storage):
    """PVE's VZDump::storage_info: why `storage` cannot take backups, or None."""
    store = pve.storages.get(storage)
    if store is None:
        return "storage '{0}' does not exist".format(storage)
    if not holds_backups(store):
        return "can't use storage '{0}' for backups - wrong content type".format(storage)
    return None


def truthy(value):
    return str(value).lower() not in ('', '0', 'false', 'none')


def end_with_warnings(record, count):
    """fakepve ends a task `OK` or with an error; PVE's worker ends a task that logged warnings
    with the exit status `WARNINGS: N` and the last log line `TASK WARNINGS: N`. Called as the
    task's body returns: the verdict is corrected right after fakepve wrote it, before anything
    else runs on the event loop (so before any status request is answered)."""
    def fix():
        record['exitstatus'] = 'WARNINGS: {0}'.format(count)
        if record['log'] and record['log'][-1] == 'TASK OK':
            record['log'][-1] = 'TASK WARNINGS: {0}'.format(count)
    asyncio.get_running_loop().call_soon(fix)


def emulate_vzdump(pve, secs=1.0, job_warnings=()):
    """Make POST /nodes/{node}/vzdump behave like PVE's: back up only the listed guests that live on
    that node (answer "OK" when there are none), log PVE's lines guest by guest (QEMU with
    percentages), fail a locked guest with PVE's message, store the archives on the storage
    (`protected` and `notes-template` applied), and end the task with `job errors` when a guest
    failed. A storage that does not exist or holds no backups fails the whole task, as PVE's
    worker does. GET /nodes/{node}/vzdump/defaults?storage=S checks S the same way (PVE's 500).
    `job_warnings` are logged as job-level `WARN:` lines (outside any guest's part of the log), and
    a job that succeeds with them ends `WARNINGS: N`, as PVE's does.
    fakepve's own vzdump does none of this."""
    original = pve.synthesise

    async def synthesise(match, method, info, user, values):
        if method == 'GET' and match.template == '/nodes/{node}/vzdump/defaults' and values.get('storage'):
            problem = backup_storage_problem(pve, values['storage'])
            if problem:
                raise PveError(500, problem)
            return await original(match, method, info, user, values)
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
            for warning in job_warnings:
                log.append('WARN: ' + warning)
            problem = backup_storage_problem(pve, storage)
            if problem:
                raise TaskError("could not get storage information for '{0}': {1}".format(storage, problem))
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
                # Names have one-second resolution: a second backup of the guest in the same second
                # takes the next free one, as the time a real backup takes would.
                volumes = pve.storages[storage].setdefault('volumes', {})
                moment = time.time() + vmid
                while True:
                    stamp = time.strftime('%Y_%m_%d-%H_%M_%S', time.gmtime(moment))
                    name = 'vzdump-{0}-{1}-{2}.{3}'.format(kind, vmid, stamp, 'tar.zst' if kind == 'lxc' else 'vma.zst')
                    if 'backup/' + name not in volumes:
                        break
                    moment += 1
                log.append("INFO: creating vzdump archive '/var/lib/vz/dump/{0}'".format(name))
                if kind == 'qemu':
                    for pct in (1, 50, 100):
                        await pve.pause(secs / 3)
                        log.append('INFO: {0:3d}% ({1}.0 MiB of 100.0 MiB) in {2}s, read: 10.0 MiB/s, '
                                   'write: 10.0 MiB/s'.format(pct, pct, pct // 10))
                else:
                    await pve.pause(secs)
                log.append('INFO: archive file size: 42MB')
                volume = {'content': 'backup', 'format': name.split('.', 1)[1], 'size': 42 * 1024 * 1024,
                          'ctime': int(time.time()), 'vmid': vmid}
                if truthy(values.get('protected', '')):
                    volume['protected'] = True
                if values.get('notes-template'):
                    notes = values['notes-template']
                    for key, value in (('cluster', pve.cluster_name), ('guestname', guest.name),
                                       ('node', node), ('vmid', vmid)):
                        notes = notes.replace('{{' + key + '}}', str(value))
                    volume['notes'] = notes
                    log.append('INFO: adding notes to backup')
                volumes['backup/' + name] = volume
                took = int(secs)
                log.append('INFO: Finished Backup of VM {0} ({1:02d}:{2:02d}:{3:02d})'.format(
                    vmid, took // 3600, took // 60 % 60, took % 60))
            if failed:
                log.append('INFO: Backup job finished with errors')
                raise TaskError('job errors')
            log.append('INFO: Backup job finished successfully')
            if job_warnings:
                end_with_warnings(record, len(job_warnings))
            return None

        tid = str(local[0]) if len(local) == 1 and not missing else ''
        return await pve.task(node, 'vzdump', tid, user or 'root@pam', body, lock=False,
                              log=['INFO: starting new backup job: vzdump {0} --storage {1} --node {2}'.format(
                                  ' '.join(map(str, wanted)), storage, node)])

    pve.synthesise = synthesise


# vzdump's archive names: the kind, and for the standard name the VMID and time.
BACKUP_KIND = re.compile(r'^backup/vzdump-(qemu|lxc|openvz)-')
STANDARD_NAME = re.compile(r'^backup/vzdump-(?:qemu|lxc|openvz)-([1-9]\d{2,8})-\d{4}_\d\d_\d\d-\d\d_\d\d_\d\d\.')

# Retention options in the order PVE applies them, each with the period a kept backup stands for.
PERIODS = (
    ('keep-last', None),
    ('keep-hourly', '%Y/%m/%d/%H'),
    ('keep-daily', '%Y/%m/%d'),
    ('keep-weekly', '%G/%V'),
    ('keep-monthly', '%Y/%m'),
    ('keep-yearly', '%Y'),
)


def prune_plan(pve, storage, keep, vmid=None, kind=None):
    """PVE's prune simulation for the backups on `storage`: [{volid, type, vmid, ctime, mark}].

    Marks: 'protected' (never removed), 'renamed' (not vzdump's standard name: left alone), 'keep'
    and 'remove'. Backups are grouped by guest; within a group, newest first, each retention option
    keeps the newest backup of up to N periods not already covered by an earlier option."""
    opts = {}
    for part in filter(None, str(keep).split(',')):
        key, _, value = part.partition('=')
        opts[key.strip()] = int(value)
    groups = {}
    plan = []
    for volname, vol in sorted(pve.storages[storage].get('volumes', {}).items()):
        if vol.get('content') != 'backup':
            continue
        entry = {'volid': '{0}:{1}'.format(storage, volname), 'ctime': int(vol.get('ctime') or 0)}
        found = BACKUP_KIND.match(volname)
        entry['type'] = ('lxc' if found.group(1) in ('lxc', 'openvz') else 'qemu') if found else 'unknown'
        standard = STANDARD_NAME.match(volname)
        if standard:
            entry['vmid'] = int(standard.group(1))
        elif vol.get('vmid') is not None:
            entry['vmid'] = vol['vmid']
        if (vmid is not None and entry.get('vmid') != int(vmid)) or (kind and entry['type'] != kind):
            continue
        if standard:
            groups.setdefault((entry['type'], entry['vmid']), []).append(entry)
        else:
            entry['mark'] = 'renamed'
        if vol.get('protected'):
            entry['mark'] = 'protected'
        plan.append(entry)
    counted = [k for k, _ in PERIODS if opts.get(k, 0) > 0]
    for group in groups.values():
        group.sort(key=lambda e: e['ctime'], reverse=True)
        if opts.get('keep-all') or not counted:
            for entry in group:
                entry.setdefault('mark', 'keep')
            continue
        for key, fmt in PERIODS:
            wanted = opts.get(key, 0)
            if wanted <= 0:
                continue

            def period(entry):
                return entry['ctime'] if fmt is None else time.strftime(fmt, time.localtime(entry['ctime']))
            covered = {period(e) for e in group if e.get('mark') == 'keep'}
            taken = set()
            for entry in group:
                if 'mark' in entry or period(entry) in covered:
                    continue
                if period(entry) in taken:
                    entry['mark'] = 'remove'
                    continue
                if len(taken) >= wanted:
                    break
                taken.add(period(entry))
                entry['mark'] = 'keep'
        for entry in group:
            entry.setdefault('mark', 'remove')
    return plan


def emulate_prune(pve):
    """Make GET and DELETE /nodes/{node}/storage/{storage}/prunebackups behave like PVE's: GET
    answers the simulation (see prune_plan) for the `prune-backups` given, else the storage's own
    `prune-backups` option; DELETE starts a `prunebackups` task that removes the backups marked
    'remove'. An unknown storage, one without backup content, or no retention at all is PVE's 500.
    Every call is recorded in pve.prune_calls as (method, node, storage, parameters)."""
    original = pve.synthesise
    pve.prune_calls = []

    async def synthesise(match, method, info, user, values):
        if match.template != '/nodes/{node}/storage/{storage}/prunebackups' or method not in ('GET', 'DELETE'):
            return await original(match, method, info, user, values)
        node, storage = values['node'], values['storage']
        given = dict((k, values[k]) for k in ('prune-backups', 'type', 'vmid') if values.get(k) not in (None, ''))
        pve.prune_calls.append((method, node, storage, given))
        store = pve.storages.get(storage)
        if store is None:
            raise PveError(500, "storage '{0}' does not exist".format(storage))
        if not holds_backups(store):
            raise PveError(500, "storage '{0}' does not support backups".format(storage))
        keep = given.get('prune-backups') or store.get('prune-backups')
        if not keep:
            raise PveError(500, "no prune-backups options configured for storage '{0}'".format(storage))
        plan = prune_plan(pve, storage, keep, given.get('vmid'), given.get('type'))
        if method == 'GET':
            return plan

        async def body():
            record = [r for r in pve.tasklog if r['type'] == 'prunebackups' and r['status'] == 'running'][-1]
            for entry in plan:
                if entry['mark'] == 'remove':
                    record['log'].append("removing backup '{0}'".format(entry['volid']))
                    store['volumes'].pop(entry['volid'].split(':', 1)[1], None)
            return None
        tid = '{0}@{1}'.format(given['vmid'], storage) if given.get('vmid') else storage
        return await pve.task(node, 'prunebackups', tid, user or 'root@pam', body, lock=False)

    pve.synthesise = synthesise


def emulate_backup_jobs(pve, jobs):
    """GET /cluster/backup answers these jobs (dicts with PVE's keys; `type` vzdump and `enabled` 1
    unless given) instead of fakepve's sample job."""
    original = pve.synthesise

    async def synthesise(match, method, info, user, values):
        if method == 'GET' and match.template == '/cluster/backup':
            return [dict({'type': 'vzdump', 'enabled': 1}, **job) for job in jobs]
        return await original(match, method, info, user, values)

    pve.synthesise = synthesise


# ------------------------------------------------------------------------- images on storages

def _ok(data=None):
    return web.json_response({'data': data})


def _error(e):
    body = {'data': None, 'message': e.message + '\n'}
    if e.errors:
        body['errors'] = e.errors
    return web.json_response(body, status=e.status, reason=e.message.splitlines()[0][:200])


def _api_path(request):
    path = request.path
    for prefix in ('/api2/json', '/api2/extjs'):
        if path.startswith(prefix):
            return path[len(prefix):]
    return path


def intercept(pve, method, pattern, handler):
    """Serve requests `method` whose path (under /api2/json) matches `pattern` with
    `handler(request, match)` instead of fakepve's own route; fakepve's authentication, injected
    failures and offline nodes still apply first."""
    original = pve._answer
    regex = re.compile(pattern)

    async def answer(request, route, generic, path_node):
        found = request.method == method and regex.fullmatch(_api_path(request))
        if not found:
            return await original(request, route, generic, path_node)

        async def serve(req):
            try:
                return await handler(req, found)
            except PveError as e:
                return _error(e)
        return await original(request, serve, generic, path_node)
    pve._answer = answer


def emulate_cluster_tasks(pve):
    """GET /cluster/tasks as PVE answers it: the tasks of every node, newest first, each as the
    node's list shows it (the exit status in `status`); without Sys.Audit on / only the caller's
    own. fakepve answers with one fixed sample task instead."""
    async def tasks(request, match):
        user = request[USER]
        audit = pve.allowed(user, '/', 'Sys.Audit')
        data = [pve._task_view(t, True) for t in pve.tasklog if audit or pve._task_owner(user, t)]
        data.sort(key=lambda t: -t['starttime'])
        return _ok(data)
    intercept(pve, 'GET', r'/cluster/tasks', tasks)


ISO_EXT = re.compile(r'[^/]+\.(?:iso|img)$', re.I)
VZTMPL_EXT = re.compile(r'[^/]+\.(?:tar|tar\.(?:gz|xz|zst|bz2))$', re.I)
IMPORT_EXT = re.compile(r'[a-zA-Z0-9\-\.\+\=\_]+\.(ova|qcow2|raw|vmdk)$')
CHECKSUM_LEN = {'md5': 32, 'sha1': 40, 'sha224': 56, 'sha256': 64, 'sha384': 96, 'sha512': 128}


def normalize_filename(name):
    name = name.rstrip('\n').replace('\\', '/').rsplit('/', 1)[-1]
    return re.sub(r'[^a-zA-Z0-9_.-]', '_', name)


def check_name(content, filename):
    """PVE's extension checks of upload and download-url (400 on the filename)."""
    pattern = {'iso': ISO_EXT, 'vztmpl': VZTMPL_EXT, 'import': IMPORT_EXT}.get(content)
    if pattern is None:
        raise PveError(400, 'Parameter verification failed.',
                       {'content': "upload content type '{0}' not allowed".format(content)})
    if not pattern.fullmatch(filename):
        why = 'invalid filename or wrong extension' if content == 'import' else 'wrong file extension'
        raise PveError(400, 'Parameter verification failed.', {'filename': why})


def file_path(pve, storage, content, name):
    sub = {'iso': 'template/iso', 'vztmpl': 'template/cache', 'import': 'import'}[content]
    return '{0}/{1}/{2}'.format(pve._base_path(storage), sub, name)


def wget_log(url, size):
    """What `wget --progress=dot:giga` writes while downloading `size` bytes (PVE logs it)."""
    lines = ['--2026-11-28 10:00:00--  {0}'.format(url), 'HTTP request sent, awaiting response... 200 OK',
             'Length: {0} ({1}M) [application/octet-stream]'.format(size, max(size >> 20, 1))]
    dots = []
    for pct in (12, 45, 78, 100):
        offset = (size * (pct - 12) // 100) >> 10
        dots.append('{0:>7}K ........ ........ ........ ........ {1:3d}% 52.1M {2}'.format(
            offset, pct, '=0.5s' if pct == 100 else '1s'))
    return lines, dots


def emulate_images(pve, secs=0.0):
    """Make upload, download-url and the appliance catalog behave like PVE's.

    Upload (pve-http-server's multipart parser, pve-storage's upload API): the body is read as a
    stream and never kept (what arrived is hashed and counted), it needs a Content-Length (a chunked
    body is 501), the `content`, `checksum-algorithm` and `checksum` parts must come in that order
    before the file part, which must be called `filename`; a body that ends early stores nothing
    and starts no task. Then PVE's checks (content iso, vztmpl or import with their extensions,
    the storage's content types) and the `imgcopy` task: it verifies the checksum
    (`checksum mismatch: got '…' != expect '…'`, nothing stored) and stores the file with its size.
    Every upload is recorded in pve.uploads: {parts: [names in order], content_length, chunked,
    filename, size, sha256, complete}. `pve.upload_stall = S` makes the server wait S real seconds
    before it reads an upload's body (a slow link, for interrupting one).

    download-url: PVE's checks and a `download` task that logs wget's progress lines, verifies a
    checksum against pve.urls[url] ({'size': N, 'sha256': hex, …}; unknown URLs are 1 MiB with no
    known checksums) and refuses to overwrite an existing file. `secs` PVE seconds per download.

    aplinfo: GET answers pve.catalog (PVE's entries: template, package, version, section, os,
    headline, description, type, location, sha512sum…), POST checks the template and the storage
    and downloads it in a `download` task."""
    pve.uploads = []
    pve.upload_stall = 0
    pve.urls = {}
    pve.catalog = [
        {'template': 'debian-13-standard_13.1-2_amd64.tar.zst', 'package': 'debian-13-standard',
         'version': '13.1-2', 'section': 'system', 'os': 'debian', 'type': 'lxc',
         'headline': 'Debian 13 (standard)', 'description': 'A small Debian Trixie system including all standard packages.',
         'location': 'http://download.proxmox.com/images/system/debian-13-standard_13.1-2_amd64.tar.zst',
         'sha512sum': 'ab' * 64, 'maintainer': 'Proxmox Support Team <support@proxmox.com>', 'infopage': 'https://pve.proxmox.com',
         'architecture': 'amd64', 'source': 'http://download.proxmox.com/images/system'},
        {'template': 'alpine-3.22-default_20250617_amd64.tar.xz', 'package': 'alpine-3.22-default',
         'version': '20250617', 'section': 'system', 'os': 'alpine', 'type': 'lxc',
         'headline': 'LXC default image for alpine 3.22 (20250617)', 'description': 'LXC default image for alpine 3.22 (20250617)',
         'location': 'http://download.proxmox.com/images/system/alpine-3.22-default_20250617_amd64.tar.xz',
         'sha512sum': 'cd' * 64, 'architecture': 'amd64'},
        {'template': 'debian-12-turnkey-nextcloud_18.1-1_amd64.tar.gz', 'package': 'turnkey-nextcloud',
         'version': '18.1-1', 'section': 'turnkeylinux', 'os': 'debian-12', 'type': 'lxc',
         'headline': 'TurnKey Nextcloud', 'description': 'Share and collaborate on files',
         'location': 'https://releases.turnkeylinux.org/pve/debian-12-turnkey-nextcloud_18.1-1_amd64.tar.gz',
         'sha512sum': 'ef' * 64, 'architecture': 'amd64'},
    ]
    original_read = pve._read_body
    from fakepve.server import USER, params

    def is_upload(request):
        return request.method == 'POST' and re.fullmatch(r'/nodes/[^/]+/storage/[^/]+/upload', _api_path(request))

    async def read_body(request):
        if not is_upload(request):
            return await original_read(request)
        record = {'parts': [], 'content_length': request.headers.get('Content-Length'),
                  'chunked': 'chunked' in request.headers.get('Transfer-Encoding', '').lower(),
                  'fields': {}, 'filename': None, 'size': 0, 'sha256': None, 'complete': False}
        pve.uploads.append(record)
        request['upload'] = record
        if record['chunked'] or not record['content_length']:
            return b''
        if pve.upload_stall:
            await asyncio.sleep(pve.upload_stall)
        digest = hashlib.sha256()
        try:
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                record['parts'].append(part.name)
                if part.filename is not None:
                    record['filename'] = part.filename
                    while True:
                        chunk = await part.read_chunk(1 << 20)
                        if not chunk:
                            break
                        record['size'] += len(chunk)
                        digest.update(chunk)
                else:
                    record['fields'][part.name] = (await part.read()).decode()
            record['sha256'] = digest.hexdigest()
            record['complete'] = True
        except Exception as e:  # noqa: BLE001 - the client went away or sent garbage
            record['error'] = repr(e)
        return b''

    pve._read_body = read_body

    async def upload(request, match):
        node, storage = match.group(1), match.group(2)
        record = request.get('upload')
        if record is None:
            raise PveError(400, 'bad upload request')
        if record['chunked']:
            raise PveError(501, 'chunked transfer encoding not supported')
        if not record['content_length']:
            raise PveError(500, 'upload without content length header not supported')
        if not record['complete']:
            raise PveError(500, 'upload failed')
        parts = record['parts']
        # pveproxy reads content, checksum-algorithm and checksum, in this order, before the file.
        wanted = [p for p in ('content', 'checksum-algorithm', 'checksum') if p in record['fields']]
        if parts[:len(wanted)] != wanted or not parts or parts[-1] != 'filename' or len(parts) != len(wanted) + 1:
            if parts and parts[-1] != 'filename' and record['filename'] is not None:
                raise PveError(500, "wrong field name '{0}' for file upload, expected 'filename'".format(parts[-1]))
            raise PveError(500, 'upload failed')
        user = request[USER]
        pve.require(user, '/storage/' + storage, 'Datastore.AllocateTemplate')
        store = pve._check_enabled(storage, node)
        fields = record['fields']
        content = fields.get('content')
        algo, checksum = fields.get('checksum-algorithm'), fields.get('checksum')
        if content not in ('iso', 'vztmpl', 'import'):
            raise PveError(400, 'Parameter verification failed.',
                           {'content': "value '{0}' does not have a value in the enumeration 'iso, vztmpl, import'".format(content)})
        if bool(algo) != bool(checksum):
            missing = 'checksum' if algo else 'checksum-algorithm'
            raise PveError(400, 'Parameter verification failed.', {missing: 'property is missing and it is not optional'})
        if algo and algo not in CHECKSUM_LEN:
            raise PveError(400, 'Parameter verification failed.', {'checksum-algorithm': "value '{0}' does not have a value in the enumeration 'md5, sha1, sha224, sha256, sha384, sha512'".format(algo)})
        if store.get('type') not in ('dir', 'nfs', 'cifs', 'cephfs', 'btrfs'):
            raise PveError(500, "can't upload to storage type '{0}'".format(store.get('type')))
        filename = normalize_filename(record['filename'] or '')
        check_name(content, filename)
        if content not in [c.strip() for c in str(store.get('content', '')).split(',')]:
            raise PveError(500, "storage '{0}' does not support '{1}' content".format(storage, content))
        tmp = '/var/tmp/pveupload-{0}'.format(hashlib.md5(str(time.time()).encode()).hexdigest())
        size = record['size']

        async def body():
            log = [t for t in pve.tasklog if t['type'] == 'imgcopy' and t['status'] == 'running'][-1]['log']
            log.append('starting file import from: {0}'.format(tmp))
            if algo:
                # The fake keeps only the SHA-256 of what arrived; other algorithms are taken as matching.
                got = record['sha256'] if algo == 'sha256' else checksum
                if got.lower() != checksum.lower():
                    log.append('calculating checksum...')
                    raise TaskError("checksum mismatch: got '{0}' != expect '{1}'".format(got, checksum))
                log.append('calculating checksum...OK, checksum verified')
            dest = file_path(pve, storage, content, filename)
            log.extend(['target node: {0}'.format(node), 'target file: {0}'.format(dest),
                        'file size is: {0}'.format(size), 'command: cp -- {0} {1}'.format(tmp, dest)])
            pve.store_file(storage, filename, size, content)
            log.append('finished file import successfully')
        return _ok(await pve.task(node, 'imgcopy', '', user, body))

    intercept(pve, 'POST', r'/nodes/([^/]+)/storage/([^/]+)/upload', upload)

    async def download(node, storage, user, url, content, filename, algo, checksum, ident):
        meta = pve.urls.get(url, {})
        size = int(meta.get('size', 1 << 20))

        async def body():
            log = [t for t in pve.tasklog if t['type'] == 'download' and t['status'] == 'running'][-1]['log']
            dest = file_path(pve, storage, content, filename)
            log.append('downloading {0} to {1}'.format(url, dest))
            if '{0}/{1}'.format(content, filename) in pve._volumes(storage):
                if algo and meta.get(algo, checksum).lower() == checksum.lower():
                    log.append('calculating checksum of existing file...OK, got correct file already, no need to download')
                    return None
                raise TaskError("refusing to override existing file '{0}'".format(dest))
            if meta.get('status'):
                log.append('--2026-11-28 10:00:00--  {0}'.format(url))
                raise TaskError('download failed: wget: server returned error: HTTP/1.1 {0}'.format(meta['status']))
            head, dots = wget_log(url, size)
            log.extend(head)
            for line in dots:
                await pve.pause(secs / len(dots))
                log.append(line)
            if algo:
                got = meta.get(algo, checksum)
                if got.lower() != checksum.lower():
                    log.append('calculating checksum...')
                    raise TaskError("checksum mismatch: got '{0}' != expect '{1}'".format(got, checksum))
                log.append('calculating checksum...OK, checksum verified')
            pve.store_file(storage, filename, size, content)
            log.append("download of '{0}' to '{1}' finished".format(url, dest))
        return await pve.task(node, 'download', ident, user, body, lock=False)

    async def download_url(request, match):
        node, storage = match.group(1), match.group(2)
        user = request[USER]
        p = pve._verify(request, await params(request))
        store = pve._active_store(storage, node)
        pve.require(user, '/storage/' + storage, 'Datastore.AllocateTemplate')
        if store.get('type') not in ('dir', 'nfs', 'cifs', 'cephfs', 'btrfs'):
            raise PveError(500, "can't upload to storage type '{0}', not a file based storage!".format(store.get('type')))
        content = p['content']
        if content not in [c.strip() for c in str(store.get('content', '')).split(',')]:
            raise PveError(500, "storage '{0}' is not configured for content-type '{1}'".format(storage, content))
        filename = normalize_filename(p['filename'])
        check_name(content, filename)
        algo, checksum = p.get('checksum-algorithm'), p.get('checksum')
        return _ok(await download(node, storage, user, p['url'], content, filename, algo, checksum, filename))

    intercept(pve, 'POST', r'/nodes/([^/]+)/storage/([^/]+)/download-url', download_url)

    original = pve.synthesise

    async def synthesise(match, method, info, user, values):
        if match.template != '/nodes/{node}/aplinfo':
            return await original(match, method, info, user, values)
        if method == 'GET':
            return [dict(t) for t in pve.catalog]
        node, storage, template = values['node'], values['storage'], values['template']
        entry = next((t for t in pve.catalog if t['template'] == template), None)
        if entry is None:
            raise PveError(400, 'Parameter verification failed.', {'template': 'no such template'})
        store = pve._check_enabled(storage, node)
        if 'vztmpl' not in [c.strip() for c in str(store.get('content', '')).split(',')]:
            raise PveError(500, "storage '{0}' does not support templates".format(storage))
        pve.urls.setdefault(entry['location'], {'size': 120 << 20, 'sha512': entry['sha512sum']})
        return await download(node, storage, user or 'root@pam', entry['location'], 'vztmpl', template,
                              'sha512', entry['sha512sum'], template)

    pve.synthesise = synthesise


# ------------------------------------------------------------------------------------ disks

SIZE_RE = re.compile(r'^(\+)?(\d+(?:\.\d+)?)([KMGT])?$')
UNITS = {None: 1, 'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30, 'T': 1 << 40}


def _fmt_size(n):
    for unit in 'TGMK':
        if n and n % UNITS[unit] == 0:
            return '{0}{1}'.format(n // UNITS[unit], unit)
    return str(n)


def _split(value):
    first, props = None, {}
    for i, part in enumerate(str(value).split(',')):
        key, eq, val = part.partition('=')
        if eq and not (i == 0 and ':' in key):
            props[key] = val
        elif i == 0:
            first = part
    return first if first is not None else props.pop('file', props.pop('volume', '')), props


def _join(volume, props, rootfs=False):
    return ','.join([volume] + ['{0}={1}'.format(k, props[k]) for k in sorted(props)])


def _unused_key(config):
    n = 0
    while 'unused{0}'.format(n) in config:
        n += 1
    return 'unused{0}'.format(n)


def _volume_size(pve, volid, props):
    sid, _, name = volid.partition(':')
    vol = pve._volumes(sid).get(name) if sid in pve.storages else None
    if vol and vol.get('size'):
        return int(vol['size'])
    found = SIZE_RE.match(props.get('size', ''))
    return int(float(found.group(2)) * UNITS[found.group(3)]) if found else 0


def _transfer_lines(size):
    total = size / float(1 << 30)
    return ['transferred {0:.1f} GiB of {1:.1f} GiB ({2:.2f}%)'.format(total * p / 100, total, p)
            for p in (0.0, 33.33, 66.67, 100.0)]


def emulate_disks(pve):
    """Make the disk endpoints fakepve only synthesises behave like PVE's (qemu-server, pve-container):

    - QEMU `PUT …/resize`: a `resize` task that grows the disk's size= (and its volume), fails with
      `disk 'X' does not exist`, `you can't resize a cdrom`, `shrinking disks is not supported`;
      the same size is OK and changes nothing.
    - QEMU `POST …/move_disk` and LXC `POST …/move_volume`: to a storage (a new volume there, the
      old one kept as unusedN unless `delete`, progress lines `transferred … (N%)`), or to another
      guest with `target-vmid` (the volume renamed for it); PVE's refusals at once (no such disk,
      same storage and format, a running container, storage and target-vmid together…).
    - QEMU `PUT …/unlink`: disks become unusedN, or with `force` are destroyed.
    - QEMU `POST …/config` and `POST /nodes/{node}/qemu` with `STORAGE:0,import-from=SOURCE`: the
      source must exist and be an image or import volume; the new disk gets its size; progress
      lines in the task log. `STORAGE:cloudinit` becomes PVE's `STORAGE:vm-N-cloudinit,media=cdrom`.
    """
    from fakepve.server import USER, params
    from fakepve.storage import _is_file

    def qm_drive_key(key):
        return re.fullmatch(r'(ide[0-3]|sata[0-5]|scsi(?:[12]?[0-9]|30)|virtio(?:1[0-5]|[0-9])|efidisk0|tpmstate0|unused\d+)', key)

    def running_log(ttype):
        return [t for t in pve.tasklog if t['type'] == ttype and t['status'] == 'running'][-1]['log']

    def alloc(sid, vmid, fmt, size, content='images'):
        volid, _fmt = pve._qm_alloc(sid, vmid, fmt, size)
        pve.storages[sid]['volumes'][volid.split(':', 1)[1]]['content'] = content
        return volid

    def free(volid):
        pve._qm_free(volid)

    def rename_for(volid, target):
        """PVE's rename_volume: the volume now belongs to `target`."""
        sid, _, name = volid.partition(':')
        store = pve.storages[sid]
        vol = store.get('volumes', {}).pop(name, None) or {'content': 'images', 'size': 0}
        fmt = name.rsplit('.', 1)[1] if '.' in name.rsplit('/', 1)[-1] else 'raw'
        new = pve._qm_free_name(sid, target, fmt)
        if _is_file(store):
            new = '{0}/{1}'.format(target, new)
        vol['vmid'] = target
        store.setdefault('volumes', {})[new] = vol
        return '{0}:{1}'.format(sid, new)

    # ---- resize (QEMU; fakepve models the container's)
    original = pve.synthesise

    async def synthesise(match, method, info, user, values):
        t = match.template
        if t == '/nodes/{node}/qemu/{vmid}/resize' and method == 'PUT':
            return await qm_resize(values, user or 'root@pam')
        if t == '/nodes/{node}/qemu/{vmid}/move_disk' and method == 'POST':
            return await move(values, user or 'root@pam', 'qemu')
        if t == '/nodes/{node}/lxc/{vmid}/move_volume' and method == 'POST':
            return await move(values, user or 'root@pam', 'lxc')
        if t == '/nodes/{node}/qemu/{vmid}/unlink' and method == 'PUT':
            return unlink(values)
        return await original(match, method, info, user, values)

    pve.synthesise = synthesise

    async def qm_resize(v, user):
        vm = pve.find(v['node'], v['vmid'])
        disk, text = v['disk'], str(v['size'])

        async def body():
            if v.get('digest') and v['digest'] != vm.digest():
                raise TaskError('checksum mismatch (file change by other user?)')
            if not vm.config.get(disk):
                raise TaskError("disk '{0}' does not exist".format(disk))
            volume, props = _split(vm.config[disk])
            if props.get('media') == 'cdrom':
                raise TaskError("you can't resize a cdrom")
            size = _volume_size(pve, volume, props)
            found = SIZE_RE.match(text)
            new = int(float(found.group(2)) * UNITS[found.group(3)])
            if found.group(1):
                new += size
            if new < size:
                raise TaskError('shrinking disks is not supported')
            if new == size:
                return None
            props['size'] = _fmt_size(new)
            vm.config[disk] = _join(volume, props)
            sid, _, name = volume.partition(':')
            vol = pve.storages.get(sid, {}).get('volumes', {}).get(name)
            if vol is not None:
                vol['size'] = new
            return None
        return await pve.task(vm.node, 'resize', vm.vmid, user, body, vm=vm)

    async def move(v, user, kind):
        node, vmid = v['node'], int(v['vmid'])
        guest = pve.find(node, vmid) if kind == 'qemu' else pve._find_ct(node, vmid)
        key = v['disk'] if kind == 'qemu' else v['volume']
        target_key_name = 'target-disk' if kind == 'qemu' else 'target-volume'
        storage, target = v.get('storage'), v.get('target-vmid')
        if storage and target:
            if kind == 'qemu':
                msg = "either set 'storage' or 'target-vmid', but not both"
                raise PveError(400, 'Parameter verification failed.', {'target-vmid': msg, 'storage': msg})
            raise PveError(500, 'either set storage or target-vmid, but not both')
        if not storage and not target:
            msg = "both 'storage' and 'target-vmid' missing, either needs to be set"
            raise PveError(400, 'Parameter verification failed.', {'target-vmid': msg, 'storage': msg})
        if v.get('digest') and v['digest'] != guest.digest():
            raise PveError(500, 'checksum mismatch (file change by other user?)' if kind == 'qemu'
                           else 'detected modified configuration - file changed by other user? Try again.')
        if not guest.config.get(key):
            raise PveError(500, "disk '{0}' does not exist".format(key) if kind == 'qemu'
                           else "volume '{0}' for container '{1}' does not exist".format(key, vmid))
        volume, props = _split(guest.config[key])
        if kind == 'qemu' and props.get('media') == 'cdrom' and 'cloudinit' not in volume:
            raise PveError(500, "you can't move a cdrom")
        if storage:
            old_sid = volume.split(':', 1)[0]
            old_fmt = (volume.rsplit('.', 1)[1] if '.' in volume.rsplit('/', 1)[-1] else 'raw')
            fmt = v.get('format')
            if old_sid == storage and (not fmt or fmt == old_fmt):
                raise PveError(500, "you can't move to the same storage with same format")
            store = pve._store(storage)
            wanted = 'images' if kind == 'qemu' else 'rootdir'
            if wanted not in [c.strip() for c in str(store.get('content', '')).split(',')]:
                raise PveError(400, 'Parameter verification failed.',
                               {'storage': "storage '{0}' does not support vm images".format(storage)})
            if kind == 'lxc' and guest.status == 'running':
                raise PveError(500, 'cannot move volumes of a running container')
            size = _volume_size(pve, volume, props)
            ttype = 'qmmove' if kind == 'qemu' else 'move_volume'

            async def body():
                log = running_log(ttype)
                log.append("copying volume '{0}' from current storage '{1}' to target storage '{2}'".format(
                    volume, old_sid, storage))
                new = alloc(storage, vmid, fmt or (old_fmt if pve._store(storage).get('type') == 'dir' else None),
                            size, 'images' if kind == 'qemu' else 'rootdir')
                for line in _transfer_lines(size):
                    log.append(('drive-{0}: '.format(key) if kind == 'qemu' and guest.status == 'running' else '')
                               + line)
                guest.config[key] = _join(new, dict(props, size=_fmt_size(size)) if size else props)
                if v.get('delete'):
                    log.append("removing source volume '{0}' after successful copy".format(volume))
                    free(volume)
                else:
                    unused = _unused_key(guest.config)
                    guest.config[unused] = volume
                    log.append("adding source volume '{0}' as '{1}' to config".format(volume, unused))
            return await pve.task(node, ttype, vmid, user, body, vm=guest)
        target = int(target)
        if target == vmid:
            raise PveError(400, 'Parameter verification failed.',
                           {'target-vmid': 'must be different than source VMID to reassign disk'})
        other = pve.vm(target) if kind == 'qemu' else pve.ct(target)
        if other is None:
            raise PveError(500, 'could not find target VM {0}\n'.format(target) if kind == 'qemu'
                           else 'could not find CT {0}'.format(target))
        if other.node != guest.node:
            raise PveError(500, 'Both VMs need to be on the same node ({0} != {1})'.format(guest.node, other.node))
        tkey = v.get(target_key_name) or key
        if other.config.get(tkey):
            raise PveError(500, "Target disk key '{0}' is already in use for VM '{1}'".format(tkey, target))
        if kind == 'qemu' and guest.status == 'running' and not key.startswith('unused'):
            raise PveError(500, 'Cannot move disk to another VM while the source VM is running - detach first')
        if kind == 'lxc' and 'rootfs' in (key, tkey):
            raise PveError(500, "Cannot move to/from 'rootfs'")
        ttype = 'qmmove' if kind == 'qemu' else 'move_volume'

        async def reassign():
            log = running_log(ttype)
            log.append("reassign disk '{0}' from VM '{1}' as '{2}' to VM '{3}'".format(key, vmid, tkey, target))
            new = rename_for(volume, target)
            del guest.config[key]
            other.config[tkey] = _join(new, props)
            log.append("removing disk '{0}' from VM '{1}' config".format(key, vmid))
        return await pve.task(node, ttype, '{0}-{1}>{2}-{3}'.format(vmid, key, target, tkey), user, reassign)

    def unlink(v):
        vm = pve.find(v['node'], v['vmid'])
        keys = [k for k in re.split(r'[,;\s]+', v['idlist']) if k]
        for key in keys:
            value = vm.config.pop(key, None)
            if value is None:
                continue
            volume, props = _split(value)
            if props.get('media') == 'cdrom' and 'cloudinit' not in volume:
                continue
            if v.get('force') or key.startswith('unused'):
                free(volume)
            else:
                vm.config[_unused_key(vm.config)] = volume
        return None

    # ---- import-from and cloud-init drives in a VM's configuration
    def source_of(value):
        volume, props = _split(value)
        return volume, props, props.get('import-from')

    def check_import(key, value):
        volume, props, source = source_of(value)
        if not re.fullmatch(r'[^/:\s]+:0', volume):
            raise PveError(400, 'Parameter verification failed.', {
                key: "'import-from' requires special syntax - use <storage ID>:0,import-from=<source>"})
        if ':' in source and not source.startswith('/'):
            sid, _, name = source.partition(':')
            vtype = name.split('/', 1)[0] if '/' in name and name.split('/', 1)[0] in ('iso', 'vztmpl', 'backup', 'snippets', 'import') else 'images'
            if vtype not in ('images', 'import'):
                raise PveError(400, 'Parameter verification failed.', {
                    key: "{0} has wrong type '{1}' - needs to be 'images' or 'import'".format(source, vtype)})

    def source_size(source):
        sid, _, name = source.partition(':')
        if sid not in pve.storages:
            return None
        vol = pve._volumes(sid).get(name)
        return int(vol.get('size') or 0) if vol is not None else None

    async def config_post(request, match):
        node, vmid = match.group(1), int(match.group(2))
        p = await params(request)
        imports = [k for k, x in p.items() if qm_drive_key(k) and 'import-from=' in str(x)]
        cloud = [k for k, x in p.items() if qm_drive_key(k) and str(x).split(',')[0].endswith(':cloudinit')]
        user = request[USER]
        pve._verify(request, p)
        vm = pve._vm(request)
        for key in imports:
            check_import(key, p[key])

        async def body():
            log = running_log('qmconfig')
            values = dict(p)
            for key in imports:
                volume, props, source = source_of(values[key])
                size = source_size(source)
                if size is None:
                    raise TaskError("cannot import from '{0}' - could not get size of {0}".format(source))
                del props['import-from']
                new = alloc(volume.split(':')[0], vmid, props.pop('format', None), size)
                log.extend(_transfer_lines(size))
                values[key] = _join(new, dict(props, size=_fmt_size(size)))
            for key in cloud:
                values[key] = cloudinit_volume(values[key].split(',')[0].split(':')[0], vmid)
            try:
                await pve._apply_config(vm, user, values)
            except PveError as e:
                raise TaskError(e.message) from e
        return _ok(await pve.task(vm.node, 'qmconfig', vm.vmid, user, body))

    intercept(pve, 'POST', r'/nodes/([^/]+)/qemu/(\d+)/config', config_post)

    def cloudinit_volume(sid, vmid):
        store = pve.storages[sid]
        name = 'vm-{0}-cloudinit'.format(vmid)
        if _is_file(store):
            name = '{0}/{1}.qcow2'.format(vmid, name)
        store.setdefault('volumes', {})[name] = {'content': 'images', 'format': 'qcow2' if '/' in name else 'raw',
                                                 'size': 4 << 20, 'vmid': vmid, 'ctime': int(time.time())}
        return '{0}:{1},media=cdrom'.format(sid, name)

    async def create(request, match):
        from fakepve import schema as pve_schema
        node = match.group(1)
        user = request[USER]
        template = '/nodes/{node}/qemu'
        m = pve_schema.Match(template, {'node': node}, pve_schema.load().paths[template])
        p = await params(request)

        async def call(_m, values):
            vmid = int(values['vmid'])
            imports = {}
            cloud = []
            for key in list(values):
                if not qm_drive_key(key):
                    continue
                value = str(values[key])
                if 'import-from=' in value:
                    check_import(key, value)
                    volume, props, source = source_of(value)
                    size = source_size(source)
                    if size is None:
                        raise PveError(500, "unable to create VM {0} - cannot import from '{1}' - could not get size of {1}".format(vmid, source))
                    del props['import-from']
                    gib = size / float(1 << 30)
                    values[key] = _join('{0}:{1}'.format(volume.split(':')[0], repr(gib) if gib != int(gib) else int(gib)), props)
                    imports[key] = size
                elif value.split(',')[0].endswith(':cloudinit'):
                    # Made once the VM exists, under PVE's name for it (vm-N-cloudinit).
                    cloud.append((key, value.split(',')[0].split(':')[0]))
                    del values[key]
            upid = await pve._qm_create(values, user)

            async def finish():
                while pve.tasks[upid]['status'] == 'running':
                    await asyncio.sleep(0.01)
                record = pve.tasks[upid]
                vm = pve.vm(vmid)
                if record['exitstatus'] != 'OK' or vm is None:
                    return
                for key, sid in cloud:
                    vm.config[key] = cloudinit_volume(sid, vmid)
                lines = [l for size in imports.values() for l in _transfer_lines(size)]
                record['log'][-1:-1] = lines
            if pve.tasks[upid]['status'] == 'running':
                asyncio.ensure_future(finish())
            else:
                await finish()
            return upid
        return _ok(await pve.answer(request, m, p, user, call))

    intercept(pve, 'POST', r'/nodes/([^/]+)/qemu', create)
def report_qemu_state_in_resources():
    """PVE's /cluster/resources gives a VM's QEMU state as its status (pvestatd stores
    `qmpstatus || status`), so a paused VM is listed `paused`; fakepve lists its process state
    (`running`). Make every fake answer as PVE does."""
    original = FakePve._resources

    async def resources(self, request):
        response = await original(self, request)
        body = json.loads(response.text)
        # Only a QEMU state beside "running": tests that set `status` alone leave a stale one.
        states = dict((vm.vmid, vm.qmpstatus) for vm in self.vms if vm.qmpstatus not in ('running', 'stopped'))
        for item in body.get('data') or []:
            if item.get('type') == 'qemu' and item.get('status') == 'running' and item.get('vmid') in states:
                item['status'] = states[item['vmid']]
        return web.json_response(body)

    FakePve._resources = resources


report_qemu_state_in_resources()


def agent_enabled(vm):
    """The `agent` of a VM's configuration turns it on (`1`, `enabled=1,...`)."""
    first = str(vm.config.get('agent', '0')).split(',')[0]
    return first.split('=')[-1].strip() in ('1', 'on', 'yes', 'true')


def emulate_agent(pve):
    """Make the guest agent endpoints answer as PVE's do where fakepve simplifies:

    - PVE's reasons in PVE's order: no `agent` key in the config -> 500 "No QEMU guest agent
      configured"; a VM that is not running -> "VM <vmid> is not running"; an agent disabled
      (`agent: 0`) or not answering (vm.agent None) -> "QEMU guest agent is not running".
      fakepve says "QEMU guest agent is not running" for all of them.
    - file-read and file-write move bytes: files live in vm.agent_files (path -> bytes; a path of
      vm.agent['files'] is read as its UTF-8 text), file-read honours `offset`, `count` (PVE's 16
      MiB limit: `truncated` when the file goes on) and `decode` (0: base64 of PVE's 1 MiB pieces,
      joined as PVE joins them; 1: one character per byte), file-write honours `encode` (0: the
      content is base64). A file that is not there is qemu-ga's "No such file or directory".
      fakepve answers file-read with vm.agent['files'] as it is and writes nothing."""
    import base64
    from fakepve import agent as guest_agent
    original = pve._agent_call

    async def call(match, values):
        vm = pve.find(values['node'], values['vmid'])
        command = match.template.rsplit('/', 1)[1]
        if 'agent' not in vm.config:
            raise PveError(500, 'No QEMU guest agent configured')
        if vm.status != 'running':
            raise PveError(500, 'VM {0} is not running'.format(vm.vmid))
        if vm.agent is None or not agent_enabled(vm):
            raise PveError(500, 'QEMU guest agent is not running')
        if command not in ('file-read', 'file-write'):
            return await original(match, values)
        guest_agent.record(vm, command, values)
        files = getattr(vm, 'agent_files', None)
        if files is None:
            files = vm.agent_files = {}
        path = values['file']
        if command == 'file-write':
            content = values['content']
            data = content.encode('latin-1') if truthy(values.get('encode', 1)) else base64.b64decode(content)
            files[path] = data
            return None
        data = files.get(path)
        if data is None and path in ((vm.agent or {}).get('files') or {}):
            data = vm.agent['files'][path].encode()
        if data is None:
            raise PveError(500, "Agent error: failed to open file '{0}': No such file or directory".format(path))
        offset = int(values.get('offset') or 0)
        count = int(values.get('count') or 16 * 1024 * 1024)
        piece = data[offset:offset + count]
        if truthy(values.get('decode', 1)):
            content = piece.decode('latin-1')
        else:
            step = 1024 * 1024
            content = ''.join(base64.b64encode(piece[i:i + step]).decode() for i in range(0, len(piece), step))
        answer = {'content': content, 'bytes-read': len(piece)}
        if offset + len(piece) < len(data):
            answer['truncated'] = 1
        return answer

    pve._agent_call = call


def emulate_lxc_console(pve):
    """Serve a container's console as PVE does: POST /nodes/{node}/lxc/{vmid}/termproxy issues a
    ticket for one connection, and GET .../vncwebsocket speaks the terminal protocol of the VM
    console (`USER:TICKET` line, `OK`, then the terminal: a login prompt, and every `0:LEN:DATA`
    echoed back); every frame after the ticket is kept in pve.termdata. fakepve only synthesises
    an answer for the container's termproxy and has no container websocket."""
    import aiohttp
    from aiohttp import web as aioweb
    from fakepve.server import GENERIC, USER, ok, params
    original = pve._answer

    async def termproxy(request):
        async def call(match, values):
            ct = pve._find_ct(values['node'], values['vmid'])
            pve._issue_vnc_ticket(request, ct, False)
            return {'ticket': ct.vncticket, 'port': 5900, 'user': ct.vncuser,
                    'upid': 'UPID:{0}:00000000:00000000:00000000:vncproxy:{1}:{2}:'.format(
                        ct.node, ct.vmid, ct.vncuser)}
        return ok(await pve.answer(request, request[GENERIC], await params(request), request[USER], call))

    async def vncwebsocket(request):
        async def call(match, values):
            return pve._find_ct(values['node'], values['vmid'])
        ct = await pve.answer(request, request[GENERIC], await params(request), request[USER], call)
        user, ticket = pve._take_vnc_ticket(request, ct)
        ws = aioweb.WebSocketResponse(protocols=('binary',))
        await ws.prepare(request)
        hello = await ws.receive()
        if pve.refuse_terminal or hello.type != aiohttp.WSMsgType.TEXT or hello.data != '{0}:{1}\n'.format(user, ticket):
            await ws.close()
            return ws
        await ws.send_bytes(b'OK')
        await ws.send_bytes('\r\n{0} login: '.format(ct.config.get('hostname', 'ct')).encode())
        async for frame in ws:
            if frame.type != aiohttp.WSMsgType.TEXT:
                break
            pve.termdata.append(frame.data)
            kind, _, rest = frame.data.partition(':')
            if kind == '0':
                await ws.send_bytes(rest.partition(':')[2].encode())
        return ws

    async def answer(request, handler, generic, path_node):
        template = generic.template if generic is not None else None
        if request.method == 'POST' and template == '/nodes/{node}/lxc/{vmid}/termproxy':
            handler = termproxy
        elif request.method == 'GET' and template == '/nodes/{node}/lxc/{vmid}/vncwebsocket':
            handler = vncwebsocket
        return await original(request, handler, generic, path_node)

    pve._answer = answer


def jsonable(value):
    return json.loads(json.dumps(value, default=lambda o: repr(o)))


async def run(request):
    pve = INSTANCES.get(request.match_info['id'])
    if pve is None:
        return web.json_response({'error': 'no such instance'}, status=404)
    source = await request.text()
    scope = {'pve': pve, 'result': None, 'asyncio': asyncio, 'emulate_vzdump': emulate_vzdump,
             'emulate_prune': emulate_prune, 'emulate_backup_jobs': emulate_backup_jobs,
             'emulate_agent': emulate_agent, 'emulate_lxc_console': emulate_lxc_console,
             'emulate_images': emulate_images, 'emulate_disks': emulate_disks,
             'emulate_cluster_tasks': emulate_cluster_tasks}
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
