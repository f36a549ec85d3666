"""The local AWS: moto plus what moto lacks, so that the labs' flows really flow.

See :class:`eventlab.sandbox.core.sandbox.Sandbox`, ``docs/differences.md`` and
:mod:`eventlab.sandbox.core.patches` (every change made to moto, with its reason).
"""

from eventlab.sandbox.core.code import zip_code
from eventlab.sandbox.core.sandbox import OfflineError, Sandbox, SandboxError, ServeOptions

__all__ = ["Sandbox", "SandboxError", "OfflineError", "ServeOptions", "zip_code"]
