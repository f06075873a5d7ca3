"""oslo.privsep entrypoints for bench/privsep.sh: the chown it measures
against the daemon's `@chown-action`, and a no-op (the channel's floor)."""
import os

from oslo_privsep import capabilities as caps
from oslo_privsep import priv_context

ctx = priv_context.PrivContext(
    "privsep_entry",
    cfg_section="privsep_bench",
    pypath="privsep_entry.ctx",
    capabilities=[caps.CAP_CHOWN],
)


@ctx.entrypoint
def chown(path, uid, gid):
    os.chown(path, uid, gid)


@ctx.entrypoint
def noop():
    return None
