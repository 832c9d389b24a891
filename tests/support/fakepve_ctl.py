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
        `emulate_images(pve)`, PVE's upload, download-url and appliance catalog,
        `emulate_disks(pve)`, PVE's disk resize, move, unlink and import,
        `emulate_access(pve)`, users, groups, roles, tokens and ACLs with PVE's permission checks,
        `emulate_node_usage(pve, usage)`, nodes' memory and CPU, `emulate_migration(pve, secs)`,
        VM migrations that move the VM, `emulate_ha(pve, secs=2.0)`, PVE 9's HA resources (kept as
        PVE keeps them), status and rules, `emulate_rrd(pve)`, statistics series,
        `emulate_pending_config(pve)`, a VM's config with its pending changes applied as PVE's GET
        answers it, and `emulate_cluster_tasks(pve)`, the cluster-wide task list (see each).
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
import uuid

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


def emulate_vzdump(pve, secs=1.0, job_warnings=(), size_line=True):
    """Make POST /nodes/{node}/vzdump behave like PVE's: back up only the listed guests that live on
    that node (answer "OK" when there are none), log PVE's lines guest by guest (QEMU with
    percentages), fail a locked guest with PVE's message, store the archives on the storage
    (`protected` and `notes-template` applied), and end the task with `job errors` when a guest
    failed. A storage that does not exist or holds no backups fails the whole task, as PVE's
    worker does. GET /nodes/{node}/vzdump/defaults?storage=S checks S the same way (PVE's 500).
    `job_warnings` are logged as job-level `WARN:` lines (outside any guest's part of the log), and
    a job that succeeds with them ends `WARNINGS: N`, as PVE's does. Without `size_line` the log
    does not say `archive file size` (as a backup to PBS does not).
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
                if size_line:
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


def report_storage_usage_in_resources():
    """PVE's /cluster/resources gives an active storage's usage as pvestatd read it on that node:
    `disk` the bytes used, `maxdisk` the total; fakepve says 0 of 100 GiB whatever the storage
    holds. Make every fake answer with the usage its storage status reports."""
    original = FakePve._storage_resource

    def storage_resource(self, node, name):
        item = original(self, node, name)
        store = self.storages[name]
        if item is not None and store.get('active', 1):
            total, used, _ = self._space(store)
            item['disk'], item['maxdisk'] = used, total
        return item

    FakePve._storage_resource = storage_resource


report_storage_usage_in_resources()


def report_backup_subtype_in_content():
    """PVE's storage content lists a backup with `subtype`: the guest type its archive name says
    (qemu, lxc, openvz), else `unknown` (pve-storage's list_volumes); fakepve leaves it out."""
    original = FakePve._item

    def item(self, name, volname, vol):
        entry = original(self, name, volname, vol)
        if vol.get('content') == 'backup':
            kind = re.match(r'^backup/vzdump-(qemu|lxc|openvz)-', volname)
            entry['subtype'] = kind.group(1) if kind else 'unknown'
        return entry

    FakePve._item = item


report_backup_subtype_in_content()


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


# PVE's privilege groups (PVE::AccessControl's $privgroups) and how its built-in roles come from them.
PRIVGROUPS = {
    'VM': {'root': [], 'admin': ['VM.Config.Disk', 'VM.Config.CPU', 'VM.Config.Memory', 'VM.Config.Network',
                                 'VM.Config.HWType', 'VM.Config.Options', 'VM.Allocate', 'VM.Clone',
                                 'VM.GuestAgent.Unrestricted', 'VM.Migrate', 'VM.Replicate', 'VM.Snapshot',
                                 'VM.Snapshot.Rollback'],
           'user': ['VM.Config.CDROM', 'VM.Config.Cloudinit', 'VM.Console', 'VM.Backup', 'VM.GuestAgent.FileRead',
                    'VM.GuestAgent.FileSystemMgmt', 'VM.GuestAgent.FileWrite', 'VM.PowerMgmt'],
           'audit': ['VM.Audit', 'VM.GuestAgent.Audit']},
    'Sys': {'root': ['Sys.PowerMgmt', 'Sys.Modify', 'Sys.Incoming', 'Sys.AccessNetwork'],
            'admin': ['Sys.Console', 'Sys.Syslog'], 'user': [], 'audit': ['Sys.Audit']},
    'Datastore': {'root': [], 'admin': ['Datastore.Allocate', 'Datastore.AllocateTemplate'],
                  'user': ['Datastore.AllocateSpace'], 'audit': ['Datastore.Audit']},
    'SDN': {'root': [], 'admin': ['SDN.Allocate', 'SDN.Audit'], 'user': ['SDN.Use'], 'audit': ['SDN.Audit']},
    'User': {'root': ['Realm.Allocate'], 'admin': ['User.Modify', 'Group.Allocate', 'Realm.AllocateUser'],
             'user': [], 'audit': []},
    'Pool': {'root': [], 'admin': ['Pool.Allocate'], 'user': ['Pool.Audit'], 'audit': ['Pool.Audit']},
    'Mapping': {'root': [], 'admin': ['Mapping.Modify'], 'user': ['Mapping.Use'], 'audit': ['Mapping.Audit']},
}


def builtin_roles():
    """PVE::AccessControl::create_roles: Administrator, NoAccess and the PVE* roles."""
    valid = {'Permissions.Modify'}
    roles = {'NoAccess': set()}
    for cat, groups in PRIVGROUPS.items():
        for level in ('root', 'admin', 'user', 'audit'):
            valid.update(groups[level])
        for priv in groups['admin'] + groups['user'] + groups['audit']:
            roles.setdefault('PVE{0}Admin'.format(cat), set()).add(priv)
            roles.setdefault('PVEAdmin', set()).add(priv)
        if groups['user']:
            for priv in groups['user'] + groups['audit']:
                roles.setdefault('PVE{0}User'.format(cat), set()).add(priv)
        for priv in groups['audit']:
            roles.setdefault('PVEAuditor', set()).add(priv)
    roles['PVEAdmin'].discard('Mapping.Modify')
    roles['PVETemplateUser'] = {'VM.Clone', 'VM.Audit'}
    roles['Administrator'] = set(valid)
    return roles, valid


def split_list(text):
    return [item for item in re.split(r'[\s,;\0]+', str(text or '')) if item]


def emulate_access(pve):
    """Keep users, groups, roles, API tokens and ACLs as PVE does, and check permissions PVE's way.

    fakepve answers /access/users, /groups, /roles, /acl and the token endpoints from its schema
    alone (nothing is kept), grants privileges without roles, lets a token use its user's grants
    beside its own and treats root@pam's tokens as root@pam. This follows pve-access-control
    (PVE::AccessControl::roles, PVE::RPCEnvironment::permissions and exec_api2_perm_check):

    - roles on a path come from the deepest ACL level that names the login (a token's own entries,
      else the user's, else its groups'), entries above it count only when they propagate; pools
      pass their roles to their guests and storages; NoAccess wins;
    - a privilege-separated token has what both it and its user have; one without privilege
      separation has its user's; root@pam alone is root (its tokens are not);
    - GET /access/permissions answers PVE's paths, or exactly the path asked for.

    State: pve.ac['users'][userid] = {enable, expire, comment, email, firstname, lastname, groups,
    tokens: {name: {privsep, expire, comment}}}, pve.ac['groups'][groupid] = {comment},
    pve.ac['roles'][roleid] = set of privileges, pve.ac['acl'] = [{path, type, ugid, roleid,
    propagate}]. Helpers: pve.ac_user(userid, password=None, **fields), pve.ac_token(userid, name,
    secret, privsep=1), pve.ac_group(groupid, *users), pve.ac_grant(path, roleid, ugid, type='user',
    propagate=1). The fixture's root@pam!cli stays a token without privilege separation."""
    from fakepve.server import API, GENERIC, USER, ok, params
    roles, valid = builtin_roles()
    special = set(roles)
    ac = pve.ac = {'users': {}, 'groups': {}, 'roles': roles, 'acl': []}
    pve.acl = {}  # permissions on for fakepve's own checks

    def user_entry(userid):
        return ac['users'].setdefault(userid, {'enable': 1, 'groups': set(), 'tokens': {}})

    user_entry(pve.user)
    for userid in pve.users:
        user_entry(userid)
    for tokenid in pve.apitokens:
        userid, _, name = tokenid.partition('!')
        user_entry(userid)['tokens'][name] = {'privsep': 0 if tokenid == 'root@pam!cli' else 1}

    def ac_user(userid, password=None, **fields):
        entry = user_entry(userid)
        entry.update(fields)
        if password is not None:
            pve.users[userid] = password
        return entry

    def ac_token(userid, name, secret, privsep=1):
        user_entry(userid)['tokens'][name] = {'privsep': privsep}
        pve.apitokens['{0}!{1}'.format(userid, name)] = secret

    def ac_group(groupid, *users):
        ac['groups'].setdefault(groupid, {})
        for u in users:
            user_entry(u)['groups'].add(groupid)

    def ac_grant(path, roleid, ugid, type='user', propagate=1):
        ac['acl'] = [e for e in ac['acl'] if not (e['path'] == path and e['type'] == type and e['ugid'] == ugid
                                                  and e['roleid'] == roleid)]
        ac['acl'].append({'path': path, 'type': type, 'ugid': ugid, 'roleid': roleid, 'propagate': propagate})

    pve.ac_user, pve.ac_token, pve.ac_group, pve.ac_grant = ac_user, ac_token, ac_group, ac_grant

    # ------------------------------------------------------------------ permissions

    def roles_at(ugid, path):
        comps = [''] if path == '/' else path.rstrip('/').split('/')
        token = '!' in ugid
        groups = set() if token else ac['users'].get(ugid, {}).get('groups', set())
        found = {}
        for i in range(len(comps)):
            node = '/' if i == 0 else '/'.join(comps[:i + 1])
            final = i == len(comps) - 1
            here = [e for e in ac['acl'] if e['path'] == node and (final or e['propagate'])]
            for kind, match in (('token', lambda e: token and e['ugid'] == ugid),
                                ('user', lambda e: not token and e['ugid'] == ugid),
                                ('group', lambda e: e['ugid'] in groups)):
                new = dict((e['roleid'], e['propagate']) for e in here if e['type'] == kind and match(e))
                if new:
                    found = new
                    break
        if 'NoAccess' in found:
            return {'NoAccess': found['NoAccess']}
        return found

    def compile_privs(ugid, path):
        found = roles_at(ugid, path)
        pool = None
        if path.startswith('/vms/'):
            try:
                pool = pve._pool_of_vm(int(path.split('/')[2]))
            except (ValueError, IndexError):
                pool = None
        elif path.startswith('/storage/'):
            pool = pve._pool_of_storage(path.split('/')[2])
        if pool and 'NoAccess' not in found:
            pool_roles = roles_at(ugid, '/pool/' + pool)
            if 'NoAccess' in pool_roles:
                found = {'NoAccess': 0}
            else:
                for r in pool_roles:
                    found.setdefault(r, 0)
        privs = {}
        for role, prop in found.items():
            for priv in ac['roles'].get(role, ()):
                privs[priv] = 1 if (privs.get(priv) or prop) else 0
        return privs

    def permissions(authid, path):
        """RPCEnvironment::permissions: {priv: propagate}."""
        if authid == 'root@pam':
            return dict.fromkeys(ac['roles']['Administrator'], 1)
        if '!' in authid:
            userid, _, name = authid.partition('!')
            info = ac['users'].get(userid, {}).get('tokens', {}).get(name)
            if info is None:
                return {}
            user_privs = permissions(userid, path)
            if not int(info.get('privsep', 1)):
                return user_privs
            own = compile_privs(authid, path)
            return dict((p, 1 if (user_privs[p] and own[p]) else 0) for p in own if p in user_privs)
        if authid not in ac['users']:
            return {}
        return compile_privs(authid, path)

    def allowed(user, path, priv):
        return priv in permissions(user, path)

    pve.allowed = allowed
    pve.ac_permissions = permissions

    def check(user, rule, values, declared=None):
        """exec_api2_perm_check: (ok, the reason PVE names when it refuses)."""
        form = rule[0]
        if form == 'perm':
            path = rule[1]
            opts = dict(zip(rule[3::2], rule[4::2]))
            for name in re.findall(r'\{(\w+)\}', path):
                if values.get(name) is None:
                    path = '/' + '/'.join(s for s in path.replace('{' + name + '}', '').split('/') if s)
                else:
                    path = path.replace('{' + name + '}', str(values[name]))
            if opts.get('require_param') and values.get(opts['require_param']) is None:
                return False, ''
            privs = rule[2]
            if opts.get('any'):
                return any(allowed(user, path, p) for p in privs), '{0}, {1}'.format(path, '|'.join(privs))
            for priv in privs:
                if not allowed(user, path, priv):
                    return False, '{0}, {1}'.format(path, priv)
            return True, ''
        if form == 'and':
            for sub in rule[1:]:
                ok_, why = check(user, sub, values, declared)
                if not ok_:
                    return False, why
            return True, ''
        if form == 'or':
            return any(check(user, sub, values, declared)[0] for sub in rule[1:]), ''
        if form == 'userid-param':
            userid = str(values.get('userid', ''))
            if rule[1] == 'self':
                return userid == user, ''
            path = '/access/realm/' + userid.rpartition('@')[2]
            return allowed(user, path, rule[1]), '{0}, {1}'.format(path, rule[1])
        if form == 'userid-group':
            privs = rule[1]
            opts = dict(zip(rule[2::2], rule[3::2]))
            joined = '|'.join(privs)
            if any(allowed(user, '/access/groups', p) for p in privs):
                return True, ''
            mine = set(g for g in ac['groups'] if any(allowed(user, '/access/groups/' + g, p) for p in privs))
            if opts.get('groups_param'):
                wanted = split_list(values.get('groups'))
                if not wanted:
                    return False, '/access/groups, ' + joined
                for g in wanted:
                    if g not in mine:
                        return False, '/access/groups/{0}, {1}'.format(g, joined)
            if opts.get('groups_param') != 'create':
                target = ac['users'].get(str(values.get('userid', '')), {})
                if not (target.get('groups', set()) & mine):
                    return False, ''
            return True, ''
        if form == 'perm-modify':
            path = str(values.get('path', ''))
            privs = ['Permissions.Modify']
            if re.match(r'^/storage/.+$', path):
                privs.append('Datastore.Allocate')
            elif re.match(r'^/vms/.+$', path):
                privs.append('VM.Allocate')
            elif re.match(r'^/pool/.+$', path):
                privs.append('Pool.Allocate')
            return any(allowed(user, path, p) for p in privs), '{0}, {1}'.format(path, '|'.join(privs))
        return False, 'user != root@pam'

    def check_permissions(user, perms, values, declared=None):
        if user is None:
            if (perms or {}).get('user') == 'world':
                return
            raise PveError(401, 'No ticket')
        if user == 'root@pam':
            return
        if not perms:
            raise PveError(403, 'Permission check failed (user != root@pam)')
        if perms.get('user') in ('all', 'world') and 'check' not in perms:
            return
        if 'check' not in perms:
            raise PveError(403, 'Permission check failed')
        ok_, why = check(user, perms['check'], values, declared)
        if not ok_:
            raise PveError(403, 'Permission check failed ({0})'.format(why) if why else 'Permission check failed')

    pve.check_permissions = check_permissions
    pve._check = check

    # ------------------------------------------------------------------ the endpoints

    def fail(prefix, message):
        return PveError(500, '{0}: {1}'.format(prefix, message) if prefix else message)

    def no_user(userid):
        return PveError(500, "no such user ('{0}')".format(userid))

    def user_view(userid, full):
        e = ac['users'][userid]
        out = dict((k, e[k]) for k in ('enable', 'expire', 'firstname', 'lastname', 'email', 'comment')
                   if e.get(k) not in (None, ''))
        if full:
            out['groups'] = sorted(e['groups'])
            out['tokens'] = dict((n, token_view(t)) for n, t in e['tokens'].items())
        return out

    def token_view(t):
        return dict((k, t[k]) for k in ('privsep', 'expire', 'comment') if t.get(k) not in (None, ''))

    def normalize(path):
        path = re.sub(r'/+', '/', '/' + str(path or '')).rstrip('/') or '/'
        return path

    async def users_index(v, user):
        can = any(allowed(user, '/access/groups', p) for p in ('User.Modify', 'Sys.Audit'))
        out = []
        for userid in sorted(ac['users']):
            if not (can or userid == user):
                continue
            e = user_view(userid, v.get('full'))
            if v.get('enabled') is not None and bool(e.get('enable', 1)) != bool(v['enabled']):
                continue
            if 'groups' in e:
                e['groups'] = ','.join(e['groups'])
            if 'tokens' in e:
                e['tokens'] = [dict(tokenid=n, **t) for n, t in sorted(e['tokens'].items())]
            e['userid'] = userid
            e['realm-type'] = userid.rpartition('@')[2]
            out.append(e)
        return out

    async def user_create(v, user):
        userid = v['userid']
        if userid in ac['users']:
            raise fail('create user failed', "user '{0}' already exists".format(userid))
        for g in split_list(v.get('groups')):
            if g not in ac['groups']:
                raise fail('create user failed', "no such group '{0}'".format(g))
        entry = user_entry(userid)
        entry['enable'] = 1 if v.get('enable') is None else int(bool(v['enable']))
        entry['groups'] = set(split_list(v.get('groups')))
        for k in ('expire', 'firstname', 'lastname', 'email', 'comment'):
            if v.get(k):
                entry[k] = v[k]
        if v.get('password') is not None:
            pve.users[userid] = v['password']

    async def user_read(v, user):
        if v['userid'] not in ac['users']:
            raise no_user(v['userid'])
        return user_view(v['userid'], True)

    async def user_update(v, user):
        userid = v['userid']
        if userid not in ac['users']:
            raise fail('update user failed', "no such user ('{0}')".format(userid))
        entry = ac['users'][userid]
        for g in split_list(v.get('groups')):
            if g not in ac['groups']:
                raise fail('update user failed', "no such group '{0}'".format(g))
        if v.get('enable') is not None:
            entry['enable'] = int(bool(v['enable']))
        if v.get('groups') is not None:
            if not v.get('append'):
                entry['groups'] = set()
            entry['groups'].update(split_list(v['groups']))
        for k in ('expire', 'firstname', 'lastname', 'email', 'comment'):
            if v.get(k) is not None:
                entry[k] = v[k]

    async def user_delete(v, user):
        userid = v['userid']
        if userid not in ac['users']:
            raise fail('delete user failed', "no such user ('{0}')".format(userid))
        for name in ac['users'][userid]['tokens']:
            pve.apitokens.pop('{0}!{1}'.format(userid, name), None)
        del ac['users'][userid]
        pve.users.pop(userid, None)
        ac['acl'] = [e for e in ac['acl'] if e['ugid'] != userid and not e['ugid'].startswith(userid + '!')]

    def token_of(v):
        userid, name = v['userid'], v['tokenid']
        if userid not in ac['users']:
            raise no_user(userid)
        token = ac['users'][userid]['tokens'].get(name)
        return userid, name, token

    async def tokens_index(v, user):
        userid = v['userid']
        if userid not in ac['users']:
            raise no_user(userid)
        return [dict(tokenid=n, **token_view(t)) for n, t in sorted(ac['users'][userid]['tokens'].items())]

    async def token_read(v, user):
        userid, name, token = token_of(v)
        if token is None:
            raise PveError(500, "no such token '{0}' for user '{1}'".format(name, userid))
        return token_view(token)

    async def token_create(v, user):
        userid, name, token = token_of(v)
        if token is not None:
            raise PveError(400, 'Parameter verification failed.', {'tokenid': 'Token already exists.'})
        token = {'privsep': 1 if v.get('privsep') is None else int(bool(v['privsep']))}
        if v.get('expire') is not None:
            token['expire'] = v['expire']
        if v.get('comment'):
            token['comment'] = v['comment']
        ac['users'][userid]['tokens'][name] = token
        full = '{0}!{1}'.format(userid, name)
        value = str(uuid.uuid4())
        pve.apitokens[full] = value
        return {'full-tokenid': full, 'info': token_view(token), 'value': value}

    async def token_update(v, user):
        userid, name, token = token_of(v)
        if token is None:
            raise PveError(500, "no such token '{0}' for user '{1}'".format(name, userid))
        for k in ('privsep', 'expire', 'comment'):
            if v.get(k) is not None:
                token[k] = int(bool(v[k])) if k == 'privsep' else v[k]
        out = token_view(token)
        if v.get('regenerate'):
            full = '{0}!{1}'.format(userid, name)
            out['value'] = pve.apitokens[full] = str(uuid.uuid4())
            out['full-tokenid'] = full
        return out

    async def token_delete(v, user):
        userid, name, token = token_of(v)
        if token is None:
            raise PveError(500, "no such token '{0}' for user '{1}'".format(name, userid))
        del ac['users'][userid]['tokens'][name]
        full = '{0}!{1}'.format(userid, name)
        pve.apitokens.pop(full, None)
        ac['acl'] = [e for e in ac['acl'] if e['ugid'] != full]

    async def groups_index(v, user):
        out = []
        for g in sorted(ac['groups']):
            if not any(allowed(user, '/access/groups/' + g, p) for p in ('User.Modify', 'Sys.Audit', 'Group.Allocate')):
                continue
            entry = {'groupid': g}
            if ac['groups'][g].get('comment'):
                entry['comment'] = ac['groups'][g]['comment']
            members = sorted(u for u, e in ac['users'].items() if g in e['groups'])
            entry['users'] = ','.join(members)
            out.append(entry)
        return out

    async def group_create(v, user):
        g = v['groupid']
        if g in ac['groups']:
            raise fail('create group failed', "group '{0}' already exists".format(g))
        ac['groups'][g] = {'comment': v.get('comment')}

    async def group_delete(v, user):
        g = v['groupid']
        if g not in ac['groups']:
            raise fail('delete group failed', "group '{0}' does not exist".format(g))
        del ac['groups'][g]
        for e in ac['users'].values():
            e['groups'].discard(g)
        ac['acl'] = [e for e in ac['acl'] if not (e['type'] == 'group' and e['ugid'] == g)]

    async def roles_index(v, user):
        return [{'roleid': r, 'privs': ','.join(sorted(p)), 'special': 1 if r in special else 0}
                for r, p in sorted(ac['roles'].items())]

    async def role_read(v, user):
        r = v['roleid']
        if r not in ac['roles']:
            raise PveError(500, "role '{0}' does not exist".format(r))
        return dict.fromkeys(sorted(ac['roles'][r]), 1)

    async def role_create(v, user):
        r = v['roleid']
        if r.lower().startswith('pve'):
            raise PveError(400, 'Parameter verification failed.',
                           {'roleid': "cannot use role ID starting with the (case-insensitive) 'PVE' namespace"})
        if r in ac['roles']:
            raise fail('create role failed', "role '{0}' already exists".format(r))
        privs = split_list(v.get('privs'))
        for p in privs:
            if p not in valid:
                raise fail('create role failed', "invalid privilege '{0}'".format(p))
        ac['roles'][r] = set(privs)

    async def role_delete(v, user):
        r = v['roleid']
        if r in special:
            raise PveError(500, "auto-generated role '{0}' cannot be deleted".format(r))
        if r not in ac['roles']:
            raise fail('delete role failed', "role '{0}' does not exist".format(r))
        del ac['roles'][r]
        ac['acl'] = [e for e in ac['acl'] if e['roleid'] != r]

    def perm_modify(user, path):
        return check(user, ['perm-modify', '{path}'], {'path': path})[0]

    async def acl_read(v, user):
        audit = allowed(user, '/access', 'Sys.Audit')
        return [dict(e) for e in sorted(ac['acl'], key=lambda e: (e['path'], e['type'], e['ugid'], e['roleid']))
                if audit or perm_modify(user, e['path'])]

    async def acl_update(v, user):
        if not (v.get('users') or v.get('groups') or v.get('tokens')):
            raise PveError(400, 'Parameter verification failed.',
                           dict((k, "either 'users', 'groups' or 'tokens' is required.")
                                for k in ('users', 'groups', 'tokens')))
        path = normalize(v['path'])
        propagate = 1 if v.get('propagate') is None else int(bool(v['propagate']))
        mine = permissions(user, path)
        delete = bool(v.get('delete'))
        for role in split_list(v['roles']):
            if role not in ac['roles']:
                raise fail('ACL update failed', "role '{0}' does not exist".format(role))
            if 'Permissions.Modify' not in mine:
                verb = 'remove' if delete else 'add'
                for priv in ac['roles'][role]:
                    if priv not in mine:
                        raise PveError(400, 'Parameter verification failed.', {
                            'role': "Cannot {0} role '{1}' - requires 'Permissions.Modify' or superset of "
                                    "privileges.".format(verb, role)})
            for kind, ids in (('group', split_list(v.get('groups'))), ('user', split_list(v.get('users'))),
                              ('token', split_list(v.get('tokens')))):
                for ugid in ids:
                    if kind == 'group' and ugid not in ac['groups']:
                        raise fail('ACL update failed', "group '{0}' does not exist".format(ugid))
                    if kind == 'user' and ugid not in ac['users']:
                        raise fail('ACL update failed', "user '{0}' does not exist".format(ugid))
                    if kind == 'token':
                        owner, _, name = ugid.partition('!')
                        if name not in ac['users'].get(owner, {}).get('tokens', {}):
                            raise fail('ACL update failed', "no such token '{0}' for user '{1}'".format(name, owner))
                    ac['acl'] = [e for e in ac['acl'] if not (e['path'] == path and e['type'] == kind
                                                              and e['ugid'] == ugid and e['roleid'] == role)]
                    if not delete:
                        ac['acl'].append({'path': path, 'type': kind, 'ugid': ugid, 'roleid': role,
                                          'propagate': propagate})

    async def permissions_read(v, user):
        userid = v.get('userid') or user
        owner = userid.partition('!')[0] if '!' in userid else None
        if not (userid == user or owner == user):
            if not allowed(user, '/access', 'Sys.Audit'):
                raise PveError(403, 'Permission check failed (/access, Sys.Audit)')
        if v.get('path'):
            return {v['path']: permissions(userid, v['path'])}
        paths = {'/', '/access', '/access/groups', '/nodes', '/pool', '/sdn', '/storage', '/vms'}
        paths.update(e['path'] for e in ac['acl'])
        for name, ids in pve.pools.items():
            paths.update('/vms/{0}'.format(i) for i in ids)
            paths.update('/storage/' + s for s in pve.pool_info.get(name, {}).get('storage', ()))
        out = {}
        for p in sorted(paths):
            privs = permissions(userid, p)
            if privs:
                out[p] = privs
        return out

    routes = {
        ('GET', '/access/users'): users_index, ('POST', '/access/users'): user_create,
        ('GET', '/access/users/{userid}'): user_read, ('PUT', '/access/users/{userid}'): user_update,
        ('DELETE', '/access/users/{userid}'): user_delete,
        ('GET', '/access/users/{userid}/token'): tokens_index,
        ('GET', '/access/users/{userid}/token/{tokenid}'): token_read,
        ('POST', '/access/users/{userid}/token/{tokenid}'): token_create,
        ('PUT', '/access/users/{userid}/token/{tokenid}'): token_update,
        ('DELETE', '/access/users/{userid}/token/{tokenid}'): token_delete,
        ('GET', '/access/groups'): groups_index, ('POST', '/access/groups'): group_create,
        ('DELETE', '/access/groups/{groupid}'): group_delete,
        ('GET', '/access/roles'): roles_index, ('POST', '/access/roles'): role_create,
        ('GET', '/access/roles/{roleid}'): role_read, ('DELETE', '/access/roles/{roleid}'): role_delete,
        ('GET', '/access/acl'): acl_read, ('PUT', '/access/acl'): acl_update,
        ('GET', '/access/permissions'): permissions_read,
    }
    original = pve._answer

    async def answer(request, handler, generic, path_node):
        match = generic or pve.resolve(request, API)
        fn = routes.get((request.method, match.template)) if match is not None else None
        if fn is not None:
            async def handler(request, match=match, fn=fn):
                async def call(_match, values):
                    return await fn(values, request[USER])
                return ok(await pve.answer(request, match, await params(request), request[USER], call))
        return await original(request, handler, generic, path_node)

    pve._answer = answer


GiB = 1024 ** 3


def guest_memory(guest):
    """The memory a guest is configured with, in bytes (PVE's default 512 MiB)."""
    text = str(guest.config.get('memory', 512))
    return int(text.split('=')[-1]) * 1024 * 1024


def emulate_node_usage(pve, usage=None):
    """Nodes with the memory and CPU of real ones: `usage` maps a node to {maxmem, mem, cpu, maxcpu}
    (bytes, a CPU fraction, a CPU count; fakepve's 8 GiB, 2 GiB, 0.02 and 4 where not given), and a
    node's `mem` grows by the configured memory of every guest running on it, as PVE's does. Served
    in GET /nodes and GET /cluster/resources; change pve.node_usage to change them. fakepve gives
    every online node the same fixed figures, whatever runs on it."""
    pve.node_usage = usage or {}
    original = pve._answer

    async def answer(request, handler, generic, path_node):
        response = await original(request, handler, generic, path_node)
        path = request.path
        for prefix in ('/api2/json', '/api2/extjs'):
            if path.startswith(prefix):
                path = path[len(prefix):]
        if request.method != 'GET' or path not in ('/nodes', '/cluster/resources') or response.status != 200:
            return response
        body = json.loads(response.text)
        for item in body.get('data') or []:
            if item.get('type') != 'node' or item.get('status') != 'online':
                continue
            node = item['node']
            given = pve.node_usage.get(node, {})
            running = sum(guest_memory(g) for g in pve.vms + pve.cts
                          if g.node == node and g.status == 'running')
            item['maxmem'] = int(given.get('maxmem', 8 * GiB))
            item['mem'] = int(given.get('mem', 2 * GiB)) + running
            item['cpu'] = float(given.get('cpu', 0.02))
            item['maxcpu'] = int(given.get('maxcpu', 4))
        return web.json_response(body)

    pve._answer = answer


DISK_KEY = re.compile(r'^(ide\d+|sata\d+|scsi\d+|virtio\d+|efidisk0|tpmstate0|unused\d+)$')


def vm_volumes(vm):
    """(key, volume id, is a CD-ROM) of a VM's disks that live on a storage."""
    out = []
    for key, value in sorted(vm.config.items()):
        if not DISK_KEY.match(key):
            continue
        volume = str(value).split(',')[0]
        if ':' not in volume or volume.startswith('/'):
            continue
        out.append((key, volume, 'media=cdrom' in str(value)))
    return out


def storage_on(pve, sid, node):
    """Whether storage `sid` is enabled on `node` (its `nodes` list)."""
    store = pve.storages.get(sid)
    if store is None or store.get('disable'):
        return False
    nodes = [n for n in re.split(r'[\s,;]+', str(store.get('nodes') or '')) if n]
    return not nodes or node in nodes


def emulate_migration(pve, secs=0.0):
    """Make POST /nodes/{node}/qemu/{vmid}/migrate behave like PVE's: the checks PVE makes before
    it starts the task (target is the local node, no such node, no quorum, a locked VM, a running
    VM without `online`, a disk on a storage the target does not have), then a `qmigrate` task that
    takes the `migrate` lock for `secs` PVE seconds and leaves the VM on the target. Inside the
    task, as PVE's QemuMigrate: an offline target cannot be reached, a running VM with a disk on a
    local storage needs `with-local-disks`, a CD-ROM image on a local storage cannot move. An
    HA-managed VM gets a `hamigrate` task that hands the request to the HA stack (see emulate_ha).
    `pve.migrate_errors[vmid] = message` makes that VM's migration task fail with message.
    fakepve answers with a generic task and the VM never moves."""
    original = pve.synthesise
    pve.migrate_errors = {}

    async def synthesise(match, method, info, user, values):
        if method != 'POST' or match.template != '/nodes/{node}/qemu/{vmid}/migrate':
            return await original(match, method, info, user, values)
        node, target, vmid = values['node'], values['target'], int(values['vmid'])
        if target == node:
            raise PveError(400, 'Parameter verification failed.', {'target': 'target is local node.'})
        pve.need_quorum()
        if target not in pve.nodes:
            raise PveError(500, "no such cluster node '{0}'".format(target))
        vm = pve.find(node, vmid)
        if vm.lock:
            raise PveError(500, 'VM is locked ({0})'.format(vm.lock))
        running = vm.status == 'running'
        if running and not truthy(values.get('online', 0)):
            raise PveError(500, "can't migrate running VM without --online")
        for _key, volume, _cdrom in vm_volumes(vm):
            sid = volume.split(':')[0]
            if sid in pve.storages and not storage_on(pve, sid, target):
                raise PveError(500, "storage '{0}' is not available on node '{1}'".format(sid, target))
        who = user or 'root@pam'
        if vm.ha_managed:
            async def ha():
                if hasattr(pve, 'ha_request'):
                    pve.ha_request('vm:{0}'.format(vmid), 'migrate', target)
            return await pve.task(node, 'hamigrate', vmid, who, ha, lock=False,
                                  log=['Requesting HA migration for VM {0} to node {1}'.format(vmid, target)])

        async def body():
            log = pve.tasks[[u for u, t in pve.tasks.items() if t['type'] == 'qmigrate' and t['id'] == str(vmid)
                             and t['status'] == 'running'][-1]]['log']
            if not pve.nodes[target].get('online', True):
                log.append("ERROR: migration aborted: Can't connect to destination address using public key")
                raise TaskError("Can't connect to destination address using public key")
            problems = []
            for key, volume, cdrom in vm_volumes(vm):
                store = pve.storages.get(volume.split(':')[0], {})
                if store.get('shared'):
                    continue
                if cdrom:
                    problems.append("can't migrate local disk '{0}': local cdrom image".format(volume))
                elif running and not truthy(values.get('with-local-disks', 0)):
                    problems.append("can't migrate local disk '{0}': can't live migrate attached local disks "
                                    "without with-local-disks option".format(volume))
                else:
                    log.append("found local disk '{0}' ({1})".format(volume, key))
            for problem in problems:
                log.append('WARN: ' + problem)
            if problems:
                log.append("ERROR: Problem found while scanning volumes - can't migrate VM - check log")
                raise TaskError("can't migrate VM - check log")
            vm.lock = 'migrate'
            vm.config['lock'] = 'migrate'
            try:
                await pve.pause(secs)
                if vmid in pve.migrate_errors:
                    log.append('ERROR: migration aborted: ' + pve.migrate_errors[vmid])
                    raise TaskError('migration problems')
                vm.node = target
            finally:
                vm.lock = None
                vm.config.pop('lock', None)
            return 'migration finished successfully (duration 00:00:{0:02d})'.format(int(secs))

        mode = 'online' if running else 'offline'
        return await pve.task(node, 'qmigrate', vmid, who, body, vm=vm,
                              log=["starting migration of VM {0} to node '{1}' (192.0.2.99)".format(vmid, target),
                                   'starting {0} migration'.format(mode)])

    pve.synthesise = synthesise


def ha_guest(pve, sid):
    """The guest of an HA resource id (`vm:100`, `ct:101`, or a bare VMID), or None."""
    kind, _, name = sid.rpartition(':')
    try:
        guest = pve.guest(int(name))
    except ValueError:
        return None
    if guest is None or (kind == 'vm' and guest not in pve.vms) or (kind == 'ct' and guest not in pve.cts):
        return None
    return guest


def ha_sid(pve, text):
    """PVE's parse_sid: `vm:100`, `ct:101`, or a bare VMID of either kind."""
    if ':' in text:
        return text
    guest = pve.guest(int(text)) if text.isdigit() else None
    if guest is None:
        raise PveError(500, 'unable to detect SID from VMID - VM/CT {0} does not exist'.format(text))
    return '{0}:{1}'.format('ct' if guest in pve.cts else 'vm', guest.vmid)


def emulate_ha(pve, secs=2.0):
    """PVE 9's HA stack, as far as its API shows it. Resources (GET/POST /cluster/ha/resources,
    GET/PUT/DELETE …/{sid}) are kept in pve.ha_resources with the settings PVE keeps (only those
    given, as pve-ha-manager's resources.cfg does; PUT takes `delete` and checks a `digest`) and
    mirrored in each guest's ha_state (which fakepve shows as `hastate` and uses for start and
    stop); a guest given an ha_state by a test is a resource too. GET /cluster/ha/status/current answers PVE's entries (quorum, master,
    fencing, an lrm per node, a service per resource). POST …/{sid}/migrate|relocate answers PVE 9's
    object and the CRM moves the guest `secs` PVE seconds later (at once with time_scale 0); the
    service shows `migrate`/`relocate` meanwhile. `pve.ha_stuck` holds resource ids the CRM never
    moves, `pve.ha_blocking[sid]` the blocking-resources answered for one (which then stays). Rules
    (GET/POST /cluster/ha/rules, GET/DELETE …/{rule}) are kept in pve.ha_rules with PVE's checks:
    an existing id, unmanaged resources, unknown nodes. fakepve synthesises all of these and keeps
    nothing."""
    original = pve.synthesise
    pve.ha_resources = {}
    pve.ha_rules = {}
    pve.ha_crm = {}
    pve.ha_stuck = set()
    pve.ha_blocking = {}

    def sync():
        for guest in pve.vms + pve.cts:
            sid = '{0}:{1}'.format('ct' if guest in pve.cts else 'vm', guest.vmid)
            if guest.ha_state and sid not in pve.ha_resources:
                pve.ha_resources[sid] = {'state': guest.ha_state}
            elif not guest.ha_state and sid in pve.ha_resources:
                del pve.ha_resources[sid]

    def request(sid, motion, node):
        """The CRM takes a migrate or relocate request."""
        guest = ha_guest(pve, sid)
        pve.ha_crm[sid] = {'state': motion, 'target': node}
        if sid in pve.ha_stuck:
            return

        async def move():
            await pve.pause(secs)
            if sid in pve.ha_stuck or pve.ha_crm.get(sid, {}).get('target') != node:
                return
            if pve.nodes.get(node, {}).get('online', True):
                guest.node = node
            pve.ha_crm.pop(sid, None)
        if pve.time_scale:
            asyncio.ensure_future(move())
        else:
            if pve.nodes.get(node, {}).get('online', True):
                guest.node = node
            pve.ha_crm.pop(sid, None)
    pve.ha_request = request

    def status():
        now = int(time.time())
        stamp = time.strftime('%a %b %d %H:%M:%S %Y', time.localtime(now))
        first = sorted(pve.nodes)[0]
        out = [{'id': 'quorum', 'type': 'quorum', 'node': first, 'quorate': 1 if pve.quorate else 0,
                'status': 'OK' if pve.quorate else "No quorum on node '{0}'!".format(first)},
               {'id': 'master', 'type': 'master', 'node': first, 'timestamp': now,
                'status': '{0} (active, {1})'.format(first, stamp)},
               {'id': 'fencing', 'type': 'fencing', 'node': first, 'armed-state': 'armed',
                'status': 'armed (CRM watchdog active)'}]
        for node, state in sorted(pve.nodes.items()):
            if state.get('online', True):
                out.append({'id': 'lrm:' + node, 'type': 'lrm', 'node': node, 'timestamp': now,
                            'status': '{0} (active, watchdog active, {1})'.format(node, stamp)})
            else:
                out.append({'id': 'lrm:' + node, 'type': 'lrm', 'node': node, 'timestamp': now - 600,
                            'status': '{0} (old timestamp - dead?, watchdog standby, {1})'.format(node, stamp)})
        for sid, conf in sorted(pve.ha_resources.items()):
            guest = ha_guest(pve, sid)
            if guest is None:
                continue
            crm = pve.ha_crm.get(sid)
            requested = conf.get('state', 'started')
            state = crm['state'] if crm else {'disabled': 'disabled', 'ignored': 'ignored'}.get(
                requested, 'started' if guest.status == 'running' else 'stopped')
            entry = {'id': 'service:' + sid, 'type': 'service', 'sid': sid, 'node': guest.node,
                     'crm_state': state, 'state': state, 'request_state': requested,
                     'status': '{0} ({1}, {2})'.format(sid, guest.node, state)}
            for key in ('max_restart', 'max_relocate', 'failback', 'comment'):
                if conf.get(key) is not None:
                    entry[key] = conf[key]
            out.append(entry)
        return out

    def digest():
        return hashlib.sha1(json.dumps(pve.ha_resources, sort_keys=True).encode()).hexdigest()

    def resource_view(sid):
        conf = pve.ha_resources[sid]
        view = {'sid': sid, 'type': sid.split(':')[0], 'digest': digest()}
        view.update((k, v) for k, v in conf.items() if v is not None)
        return view

    def set_options(conf, values):
        for key in ('state', 'max_restart', 'max_relocate', 'comment', 'failback', 'group'):
            if values.get(key) not in (None, ''):
                value = values[key]
                conf[key] = int(value) if key in ('max_restart', 'max_relocate', 'failback') else value
        if conf.get('state') == 'enabled':
            conf['state'] = 'started'

    def rule_view(name):
        rule = dict(pve.ha_rules[name])
        rule.update(rule=name, digest='0' * 40, order=sorted(pve.ha_rules).index(name) + 1)
        if rule['type'] == 'node-affinity':
            rule.setdefault('strict', 0)
        return rule

    async def synthesise(match, method, info, user, values):
        template = match.template
        if not template.startswith('/cluster/ha/') or template.startswith('/cluster/ha/groups'):
            return await original(match, method, info, user, values)
        sync()
        if template == '/cluster/ha/status/current':
            return status()
        if template == '/cluster/ha/resources' and method == 'GET':
            return [resource_view(sid) for sid in sorted(pve.ha_resources)
                    if not values.get('type') or sid.startswith(values['type'] + ':')]
        if template == '/cluster/ha/resources' and method == 'POST':
            pve.need_quorum()
            sid = ha_sid(pve, str(values['sid']))
            kind = sid.split(':')[0]
            guest = ha_guest(pve, sid)
            if guest is None:
                vmid = sid.split(':')[-1]
                other = pve.guest(int(vmid)) if vmid.isdigit() else None
                if other is not None:
                    raise PveError(500, "resource '{0}' - guest with ID {1} is not a {2}".format(
                        sid, vmid, 'VM' if kind == 'vm' else 'CT'))
                raise PveError(500, "resource '{0}' does not exist in cluster".format(sid))
            if sid in pve.ha_resources:
                raise PveError(500, "create resource failed: resource ID '{0}' already defined".format(sid))
            conf = {}
            set_options(conf, values)
            pve.ha_resources[sid] = conf
            guest.ha_state = conf.get('state', 'started')
            return None
        sid = ha_sid(pve, str(values.get('sid', ''))) if 'sid' in values else None
        if template == '/cluster/ha/resources/{sid}':
            if method == 'GET':
                if sid not in pve.ha_resources:
                    raise PveError(500, "no such resource '{0}'".format(sid))
                return resource_view(sid)
            if method == 'PUT':
                if sid not in pve.ha_resources:
                    raise PveError(500, "update resources config failed: no such resource '{0}'".format(sid))
                if values.get('digest') and values['digest'] != digest():
                    raise PveError(500, 'detected modified configuration - file changed by other user? Try again.')
                conf = pve.ha_resources[sid]
                for key in re.split(r'[,;\s]+', str(values.get('delete') or '')):
                    conf.pop(key, None)
                set_options(conf, values)
                ha_guest(pve, sid).ha_state = conf.get('state', 'started')
                return None
            if method == 'DELETE':
                if sid not in pve.ha_resources:
                    raise PveError(500, "cannot delete service '{0}', not HA managed!".format(sid))
                del pve.ha_resources[sid]
                ha_guest(pve, sid).ha_state = None
                for name in list(pve.ha_rules):
                    rule = pve.ha_rules[name]
                    left = [r for r in rule['resources'].split(',') if r != sid]
                    if not left:
                        del pve.ha_rules[name]
                    else:
                        rule['resources'] = ','.join(left)
                return None
        if template in ('/cluster/ha/resources/{sid}/migrate', '/cluster/ha/resources/{sid}/relocate'):
            if sid not in pve.ha_resources:
                raise PveError(500, "resource '{0}' is not HA managed".format(sid))
            motion = template.rsplit('/', 1)[1]
            answer = {'sid': sid, 'requested-node': values['node']}
            if pve.ha_blocking.get(sid):
                answer['blocking-resources'] = pve.ha_blocking[sid]
                return answer
            request(sid, motion, values['node'])
            return answer
        if template == '/cluster/ha/rules' and method == 'GET':
            out = []
            for name in sorted(pve.ha_rules):
                rule = rule_view(name)
                if values.get('type') and rule['type'] != values['type']:
                    continue
                if values.get('resource') and values['resource'] not in rule['resources'].split(','):
                    continue
                out.append(rule)
            return out
        if template == '/cluster/ha/rules' and method == 'POST':
            pve.need_quorum()
            name, kind = values.get('rule'), values.get('type')
            if not name or kind not in ('node-affinity', 'resource-affinity'):
                raise PveError(400, 'Parameter verification failed.', {'type': 'value is missing or invalid'})
            missing = [k for k in ('resources',) + (('nodes',) if kind == 'node-affinity' else ('affinity',))
                       if not values.get(k)]
            if missing:
                raise PveError(400, 'Parameter verification failed.',
                               dict((k, 'property is missing and it is not optional') for k in missing))
            if name in pve.ha_rules:
                raise PveError(500, "create ha rule failed: HA rule '{0}' already defined".format(name))
            resources = [r for r in re.split(r'[\s,;]+', str(values['resources'])) if r]
            unmanaged = [r for r in resources if r not in pve.ha_resources]
            if unmanaged:
                raise PveError(500, 'create ha rule failed: cannot use unmanaged resource(s) {0}.'.format(
                    ', '.join(unmanaged)))
            if kind == 'node-affinity':
                names = [n.split(':')[0] for n in re.split(r'[\s,;]+', str(values['nodes'])) if n]
                unknown = [n for n in names if n not in pve.nodes]
                if unknown:
                    raise PveError(500, 'create ha rule failed: cannot use non-existent node(s) {0}.'.format(
                        ', '.join(unknown)))
            rule = {'type': kind, 'resources': ','.join(resources)}
            for key in ('nodes', 'affinity', 'comment'):
                if values.get(key):
                    rule[key] = values[key]
            for key in ('strict', 'disable'):
                if truthy(values.get(key, 0)):
                    rule[key] = 1
            pve.ha_rules[name] = rule
            return None
        if template == '/cluster/ha/rules/{rule}':
            name = values['rule']
            if method == 'GET':
                if name not in pve.ha_rules:
                    raise PveError(500, "no such ha rule '{0}'".format(name))
                return rule_view(name)
            if method == 'DELETE':
                pve.ha_rules.pop(name, None)
                return None
        return await original(match, method, info, user, values)

    pve.synthesise = synthesise


def emulate_rrd(pve):
    """Make GET …/rrddata answer as PVE 9's does for nodes (/nodes/{node}/rrddata) and guests
    (…/qemu|lxc/{vmid}/rrddata): a point per step of the timeframe (hour: 60 of 60 s; day: 1440 of
    60 s; week: 336 of 30 min; month: 1440 of 30 min; year: 1440 of 6 h), each {time, and the
    values}. Values follow a fixed wave, so tests know them: cpu from 0.05 to 0.45 of the CPUs,
    memory from a quarter to three quarters of the maximum, network and disk rates up to 1 MiB/s;
    the first 5 points have only `time` (no data yet, as after a boot). fakepve answers one empty
    point."""
    import math
    original = pve.synthesise
    setups = {'hour': (60, 60), 'day': (60, 1440), 'week': (1800, 336), 'month': (1800, 1440),
              'year': (21600, 1440), 'decade': (604800, 570)}

    def series(timeframe, make):
        step, count = setups[timeframe]
        end = step * int(time.time() / step)
        out = []
        for i in range(count):
            point = {'time': end - step * (count - i)}
            if i >= 5:
                wave = (math.sin(i / 6.0) + 1) / 2
                point.update(make(wave))
            out.append(point)
        return out

    async def synthesise(match, method, info, user, values):
        if method != 'GET' or not match.template.endswith('/rrddata') or '/storage/' in match.template:
            return await original(match, method, info, user, values)
        timeframe = values.get('timeframe', 'hour')
        if match.template == '/nodes/{node}/rrddata':
            total = 8 * GiB
            return series(timeframe, lambda w: {
                'cpu': 0.05 + 0.4 * w, 'maxcpu': 4, 'iowait': 0.01 * w, 'loadavg': 2 * w,
                'memtotal': total, 'memused': total * (0.25 + 0.5 * w), 'memavailable': total * (0.75 - 0.5 * w),
                'swaptotal': 0, 'swapused': 0, 'roottotal': 64 * GiB, 'rootused': 4 * GiB,
                'netin': 1048576 * w, 'netout': 524288 * w})
        guest = pve.guest(int(values['vmid']))
        kind = 'lxc' if '/lxc/' in match.template else 'qemu'
        if guest is None or guest.node != values['node'] or (kind == 'lxc') != (guest in pve.cts):
            folder = 'lxc' if kind == 'lxc' else 'qemu-server'
            raise PveError(500, "Configuration file 'nodes/{0}/{1}/{2}.conf' does not exist".format(
                values['node'], folder, values['vmid']))
        maxmem = guest_memory(guest)
        return series(timeframe, lambda w: {
            'cpu': 0.05 + 0.4 * w, 'maxcpu': 2, 'mem': maxmem * (0.25 + 0.5 * w), 'maxmem': maxmem,
            'disk': 0, 'maxdisk': 8 * GiB, 'netin': 1048576 * w, 'netout': 262144 * w,
            'diskread': 1048576 * w, 'diskwrite': 524288 * w})

    pve.synthesise = synthesise


def jsonable(value):
    return json.loads(json.dumps(value, default=lambda o: repr(o)))


def emulate_pending_config(pve):
    """PVE's GET /nodes/{node}/qemu/{vmid}/config answers the configuration with the pending changes
    applied (qemu-server's load_current_config: a pending value replaces the current one, a pending
    deletion removes the key), and the running values only with `current=1`; fakepve answers the
    running values. Answer as PVE does (containers already do)."""
    async def config_get(request, match):
        response = await pve._config_get(request)
        body = json.loads(response.text)
        current = str(request.query.get('current', '0')).lower() in ('1', 'true', 'on', 'yes')
        vm = pve.vm(int(match.group(2)))
        if not current and vm is not None and isinstance(body.get('data'), dict):
            for key, value in vm.pending.items():
                if value is None:
                    body['data'].pop(key, None)
                else:
                    body['data'][key] = value
        return web.json_response(body, status=response.status)

    intercept(pve, 'GET', r'/nodes/([^/]+)/qemu/(\d+)/config', config_get)


async def run(request):
    pve = INSTANCES.get(request.match_info['id'])
    if pve is None:
        return web.json_response({'error': 'no such instance'}, status=404)
    source = await request.text()
    scope = {'pve': pve, 'result': None, 'asyncio': asyncio, 'emulate_vzdump': emulate_vzdump,
             'emulate_prune': emulate_prune, 'emulate_backup_jobs': emulate_backup_jobs,
             'emulate_agent': emulate_agent, 'emulate_lxc_console': emulate_lxc_console,
             'emulate_images': emulate_images, 'emulate_disks': emulate_disks,
             'emulate_access': emulate_access,
             'emulate_node_usage': emulate_node_usage, 'emulate_migration': emulate_migration,
             'emulate_ha': emulate_ha, 'emulate_rrd': emulate_rrd, 'GiB': GiB,
             'emulate_pending_config': emulate_pending_config,
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
