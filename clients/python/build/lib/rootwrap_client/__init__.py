"""Client of rootwrap-daemon (standard library only).

``Client(daemon_cmd).execute(cmd, stdin=None) -> (returncode, stdout, stderr)``
behaves as ``oslo_rootwrap.client.Client``: a drop-in for services that set
``root_helper_daemon``.
"""

from rootwrap_client.client import Client, DaemonRefused, Exit, connect_and_run
from rootwrap_client.protocol import ProtocolError

__all__ = ["Client", "DaemonRefused", "Exit", "ProtocolError", "connect_and_run", "patch_oslo"]


def patch_oslo():
    """Makes ``oslo_rootwrap.client.Client`` this package's ``Client``, for
    services that import oslo's client themselves (Neutron's
    ``root_helper_daemon``, Nova's and Cinder's ``use_rootwrap_daemon``):
    call it once at start-up (e.g. from a ``sitecustomize`` module). Works
    whether or not oslo.rootwrap is installed."""
    import sys
    import types

    try:
        import oslo_rootwrap.client as oslo_client
    except ImportError:
        package = sys.modules.setdefault("oslo_rootwrap", types.ModuleType("oslo_rootwrap"))
        oslo_client = types.ModuleType("oslo_rootwrap.client")
        sys.modules["oslo_rootwrap.client"] = oslo_client
        package.client = oslo_client
    oslo_client.Client = Client
