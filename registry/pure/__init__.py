"""Pure rules: functions of plain values that the public (and a test) can re-run without the
application — the selection methods (`selection_engine`), roadmap planning (`scheduling`), the
working-day calendar (`workdays`), the USCC check digit (`uscc`) and score files (`score_files`).

Nothing here imports Flask, SQLAlchemy, the models or the services; they import from here. The
only state is the calendar's entered layer, which `services/calendars.py` loads from the database
and hands to `workdays` (tests/test_architecture.py keeps it so).
"""
