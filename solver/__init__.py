"""Pure planning code: travel models, area clustering and the OR-Tools routing model.

Nothing here imports web, database, network or ``app`` code (an import-linter contract
enforces it), so the planner can run in a worker process, a benchmark or a notebook alike.
"""
