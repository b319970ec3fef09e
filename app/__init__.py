"""The visit-planner service: HTTP API, pages, settings and orchestration."""
