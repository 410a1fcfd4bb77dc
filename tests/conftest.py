"""Shared pytest setup: make the test support packages (kube_emulator, qdrant_standin) importable."""
import os
import sys

SUPPORT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "support")
if SUPPORT not in sys.path:
    sys.path.insert(0, SUPPORT)
