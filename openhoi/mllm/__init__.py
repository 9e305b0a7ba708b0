"""3D MLLM planner: instruction + object points → ordered sub-tasks with <AFF> affordance masks.

The planner lands with issue 7; this package exports nothing yet.
"""

__all__: list[str] = []
