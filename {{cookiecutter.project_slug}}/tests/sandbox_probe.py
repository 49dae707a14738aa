"""A workflow that reports, from inside Temporal's sandbox, which modules it shares with
the worker's own process. It imports nothing of the service at its top, so the sandbox
imports the service's modules only when the probe asks for them, in the order it asks.
"""

from __future__ import annotations

from temporalio import workflow

# Set by the test on the modules outside the sandbox: a module that carries it inside
# was passed through; a module imported afresh for the run does not carry it.
MARK = "_seen_outside_the_sandbox"


@workflow.defn(name="SandboxProbe")
class SandboxProbe:
    @workflow.run
    async def run(self, names: list[str]) -> list[str]:
        """Those of ``names`` whose module, imported here, is the worker's own."""
        shared = []
        for name in names:
            module = __import__(name, fromlist=["__name__"])
            if getattr(module, MARK, False):
                shared.append(name)
        return shared
