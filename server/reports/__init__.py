"""Quota reports made as jobs: a county's (or a teacher's communities') report written to a file."""
