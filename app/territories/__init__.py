"""Territories: reps and customer pools kept per sales area, their import, schedules and runs."""
