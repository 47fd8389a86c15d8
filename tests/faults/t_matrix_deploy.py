#!/usr/bin/env python3
"""The fault matrix's deploy and rollback cases (t_matrix.py says what
each case checks), against a simulator of its own."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import t_matrix  # noqa: E402  (it puts release on the path)
import release  # noqa: E402

if __name__ == "__main__":
    release.run(lambda tap, sim, app: t_matrix.main(tap, sim, app, "deploy"))
