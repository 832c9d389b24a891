#!/usr/bin/env python3
"""Write src/api/permissions/table.rs: what PVE checks before each endpoint pvectl calls.

The checks come from PVE's API schema (the `permissions` of each method), as the PVE API viewer
publishes it in apidoc.js; fakepve ships that schema as `fakepve/data/pve-api.json.gz`:

    tools/permission_table.py [SCHEMA.json.gz] | rustfmt --edition 2021 > src/api/permissions/table.rs

Without an argument the schema of the installed fakepve is read. `tests/e2e_access.rs` checks that
the table still says what the schema says. pvectl carries this small table, not the whole schema
(about 2 MB): it needs the permissions of the endpoints it calls, and nothing else.
"""

import gzip
import json
import sys

# Every endpoint pvectl calls, as (method, path template). `{kind}` stands for qemu and lxc.
ENDPOINTS = '''
GET /version
GET /cluster/resources
GET /cluster/status
GET /cluster/nextid
GET /cluster/backup
GET /nodes
GET /nodes/{node}/status
GET /nodes/{node}/tasks
GET /nodes/{node}/tasks/{upid}/status
GET /nodes/{node}/tasks/{upid}/log
DELETE /nodes/{node}/tasks/{upid}
POST /nodes/{node}/vzdump
GET /nodes/{node}/vzdump/defaults
GET /nodes/{node}/vzdump/extractconfig
GET /nodes/{node}/storage
GET /nodes/{node}/storage/{storage}/status
GET /nodes/{node}/storage/{storage}/content
DELETE /nodes/{node}/storage/{storage}/content/{volume}
GET /nodes/{node}/storage/{storage}/prunebackups
DELETE /nodes/{node}/storage/{storage}/prunebackups
POST /nodes/{node}/{kind}
DELETE /nodes/{node}/{kind}/{vmid}
GET /nodes/{node}/{kind}/{vmid}/status/current
POST /nodes/{node}/{kind}/{vmid}/status/start
POST /nodes/{node}/{kind}/{vmid}/status/stop
POST /nodes/{node}/{kind}/{vmid}/status/shutdown
POST /nodes/{node}/{kind}/{vmid}/status/reboot
POST /nodes/{node}/qemu/{vmid}/status/reset
POST /nodes/{node}/{kind}/{vmid}/status/suspend
POST /nodes/{node}/{kind}/{vmid}/status/resume
GET /nodes/{node}/{kind}/{vmid}/config
POST /nodes/{node}/qemu/{vmid}/config
PUT /nodes/{node}/lxc/{vmid}/config
GET /nodes/{node}/{kind}/{vmid}/pending
POST /nodes/{node}/{kind}/{vmid}/clone
POST /nodes/{node}/{kind}/{vmid}/migrate
POST /nodes/{node}/{kind}/{vmid}/template
GET /nodes/{node}/{kind}/{vmid}/snapshot
POST /nodes/{node}/{kind}/{vmid}/snapshot
DELETE /nodes/{node}/{kind}/{vmid}/snapshot/{snapname}
POST /nodes/{node}/{kind}/{vmid}/snapshot/{snapname}/rollback
POST /nodes/{node}/{kind}/{vmid}/termproxy
POST /nodes/{node}/qemu/{vmid}/vncproxy
POST /nodes/{node}/qemu/{vmid}/spiceproxy
GET /nodes/{node}/{kind}/{vmid}/vncwebsocket
GET /nodes/{node}/lxc/{vmid}/interfaces
GET /nodes/{node}/qemu/{vmid}/agent/network-get-interfaces
POST /nodes/{node}/qemu/{vmid}/agent/exec
GET /nodes/{node}/qemu/{vmid}/agent/exec-status
GET /nodes/{node}/qemu/{vmid}/agent/file-read
POST /nodes/{node}/qemu/{vmid}/agent/file-write
PUT /nodes/{node}/qemu/{vmid}/config
GET /nodes/{node}/{kind}/{vmid}/rrddata
GET /nodes/{node}/rrddata
POST /nodes/{node}/status
GET /nodes/{node}/services
GET /nodes/{node}/apt/update
POST /nodes/{node}/apt/update
GET /cluster/ha/status/current
GET /cluster/ha/resources
POST /cluster/ha/resources
PUT /cluster/ha/resources/{sid}
DELETE /cluster/ha/resources/{sid}
POST /cluster/ha/resources/{sid}/migrate
POST /cluster/ha/resources/{sid}/relocate
GET /cluster/ha/rules
POST /cluster/ha/rules
GET /cluster/ha/rules/{rule}
DELETE /cluster/ha/rules/{rule}
GET /pools
POST /pools
PUT /pools
DELETE /pools
GET /access/users
POST /access/users
GET /access/users/{userid}
PUT /access/users/{userid}
DELETE /access/users/{userid}
GET /access/users/{userid}/token
GET /access/users/{userid}/token/{tokenid}
POST /access/users/{userid}/token/{tokenid}
PUT /access/users/{userid}/token/{tokenid}
DELETE /access/users/{userid}/token/{tokenid}
PUT /access/password
GET /access/groups
POST /access/groups
DELETE /access/groups/{groupid}
GET /access/roles
POST /access/roles
GET /access/roles/{roleid}
DELETE /access/roles/{roleid}
GET /access/acl
PUT /access/acl
GET /access/permissions
GET /cluster/firewall/macros
GET /cluster/firewall/groups
POST /cluster/firewall/groups
DELETE /cluster/firewall/groups/{group}
GET /cluster/firewall/groups/{group}
POST /cluster/firewall/groups/{group}
PUT /cluster/firewall/groups/{group}/{pos}
DELETE /cluster/firewall/groups/{group}/{pos}
'''

# The firewall endpoints of each scope: cluster, node (rules and options only), and guests.
FIREWALL_SCOPES = ('/cluster/firewall', '/nodes/{node}/firewall', '/nodes/{node}/{kind}/{vmid}/firewall')
FIREWALL = '''
GET {base}/options
PUT {base}/options
GET {base}/rules
POST {base}/rules
PUT {base}/rules/{pos}
DELETE {base}/rules/{pos}
GET {base}/aliases
POST {base}/aliases
PUT {base}/aliases/{name}
DELETE {base}/aliases/{name}
GET {base}/ipset
POST {base}/ipset
GET {base}/ipset/{name}
POST {base}/ipset/{name}
DELETE {base}/ipset/{name}
DELETE {base}/ipset/{name}/{cidr}
'''


def endpoints():
    lines = [line.split() for line in ENDPOINTS.strip().splitlines()]
    for base in FIREWALL_SCOPES:
        for line in FIREWALL.strip().splitlines():
            method, path = line.split()
            if base.startswith('/nodes/{node}/firewall') and ('/aliases' in path or '/ipset' in path):
                continue  # a node's firewall has rules and options only
            lines.append([method, path.replace('{base}', base)])
    out = []
    for method, path in lines:
        for kind in ('qemu', 'lxc') if '{kind}' in path else (None,):
            out.append((method, path.replace('{kind}', kind) if kind else path))
    return sorted(set(out), key=lambda e: (e[1], e[0]))


def strs(items):
    return '&[' + ', '.join(json.dumps(i) for i in items) + ']'


def check(expr):
    """One `check` of the schema as a Rust `Check`."""
    form = expr[0]
    if form == 'perm':
        path, privs = expr[1], expr[2]
        opts = dict(zip(expr[3::2], expr[4::2]))
        unknown = set(opts) - {'any', 'require_param'}
        if unknown:
            raise SystemExit('unknown perm options {0}'.format(unknown))
        require = opts.get('require_param')
        return 'Check::Perm {{ path: {0}, privs: {1}, any: {2}, require_param: {3} }}'.format(
            json.dumps(path), strs(privs), 'true' if opts.get('any') else 'false',
            'Some({0})'.format(json.dumps(require)) if require else 'None')
    if form in ('and', 'or'):
        return 'Check::{0}(&[{1}])'.format(form.capitalize(), ', '.join(check(e) for e in expr[1:]))
    if form == 'userid-param':
        if expr[1] == 'self':
            return 'Check::UseridSelf'
        return 'Check::UseridRealm({0})'.format(json.dumps(expr[1]))
    if form == 'userid-group':
        opts = dict(zip(expr[2::2], expr[3::2]))
        groups = opts.get('groups_param')
        return 'Check::UseridGroup {{ privs: {0}, groups_param: {1} }}'.format(
            strs(expr[1]), 'Some({0})'.format(json.dumps(groups)) if groups else 'None')
    if form == 'perm-modify':
        return 'Check::PermModify({0})'.format(json.dumps(expr[1]))
    raise SystemExit('unknown check {0!r}'.format(expr))


def permission(info):
    perms = info.get('permissions')
    if not perms:
        return 'Check::RootOnly'
    if 'check' in perms:
        return check(perms['check'])
    if perms.get('user') == 'all':
        return 'Check::Anyone'
    if perms.get('user') == 'world':
        return 'Check::World'
    return 'Check::RootOnly'


def main():
    if len(sys.argv) > 1:
        path = sys.argv[1]
    else:
        import fakepve
        import os
        path = os.path.join(os.path.dirname(fakepve.__file__), 'data', 'pve-api.json.gz')
    with gzip.open(path) as fh:
        paths = json.load(fh)['paths']
    print('// Generated by tools/permission_table.py from PVE\'s API schema: do not edit by hand.')
    print('// What PVE checks before each endpoint pvectl calls (the `permissions` of the method).')
    print()
    print('use super::{Check, Endpoint};')
    print()
    print('pub const TABLE: &[Endpoint] = &[')
    for method, template in endpoints():
        info = (paths.get(template) or {}).get(method)
        if info is None:
            raise SystemExit('{0} {1} is not in the schema'.format(method, template))
        token = 'true' if info.get('allowtoken', 1) else 'false'
        print('    Endpoint {{ method: "{0}", path: {1}, allowtoken: {2}, check: {3} }},'.format(
            method, json.dumps(template), token, permission(info)))
    print('];')


if __name__ == '__main__':
    main()
