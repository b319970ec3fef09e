"""Background jobs: plans too large (or asked) to solve inside the request."""
