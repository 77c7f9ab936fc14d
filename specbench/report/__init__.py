"""Reporters: turn a result dict into something a person reads."""

from specbench.report.summary import render_summary

__all__ = ["render_summary"]
