"""Helpers the test suite shares: real databases, free ports, the CI rule for missing services."""
