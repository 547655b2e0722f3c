"""The pure domain core: calendars, recurrence, conflicts, lifecycle, attendance and quotas.

Nothing here does I/O or reads the clock: the current time is always passed in.
"""
