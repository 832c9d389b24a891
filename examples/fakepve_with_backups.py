"""fakepve as examples/start-fakepve.sh starts it: fakepve's own command line (the same options),
with a shared backup storage `nfs` and vzdump behaving as PVE's does (`emulate_vzdump` of the
test suite), so that `pvectl backup create --storage nfs` writes archives and `pvectl backup
list` shows them. (fakepve's `local` is one storage seen by every node, where PVE has one per
node: an archive there would be listed once per node.)"""

import atexit
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'support'))

import fakepve.__main__ as cli  # noqa: E402
import fakepve_ctl  # noqa: E402

atexit.register(shutil.rmtree, fakepve_ctl.WORKDIR, True)


class FakePveWithBackups(cli.FakePve):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.storages['nfs'] = {'type': 'nfs', 'shared': 1, 'content': 'backup', 'active': 1,
                                'files': set(), 'volumes': {}, 'server': '192.0.2.10',
                                'export': '/srv/backup', 'path': '/mnt/pve/nfs'}
        fakepve_ctl.emulate_vzdump(self)


cli.FakePve = FakePveWithBackups

if __name__ == '__main__':
    cli.main()
