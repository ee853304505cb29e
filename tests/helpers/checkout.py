"""Where the checkout is, for the tests and helpers that read its files."""

import os

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
