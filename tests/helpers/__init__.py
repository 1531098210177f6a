"""What several test modules share. Test modules import from here, never from each other
or from a conftest (tests/test_suite_layout.py checks it)."""
