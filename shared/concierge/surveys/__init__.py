"""Surveys and satisfaction scoring."""
