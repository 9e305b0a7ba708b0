"""Training-free physical refinement (DSG guidance) and long-horizon composition.

The guidance terms land with issue 6; this package exports nothing yet.
"""

__all__: list[str] = []
